"""Calibrated per-pixel uncertainty for solvers and a network: coverage on the public test images.

For each task (deblur_gauss, sr_x2, ct_sparse) and method — Tikhonov (λ tuned on training crops
0–3), TV (weight tuned on the same crops; not on ct_sparse), FBP (ct_sparse), the Gaussian
posterior (evidence; exact on the Fourier and ×2 polyphase paths; not on ct_sparse) and a
tikhonov-residual network trained on deblur_gauss crops 0–15 for ≤ 60 s —
a variance map per image: the equivariant bootstrap of ``physinv.uq`` (K = 16 reconstructions;
the group follows the operator: shifts + the 8 square symmetries for the symmetric Gaussian
blur, rotations by multiples of 3° for ct_sparse, the parametric bootstrap for ×2
super-resolution) or the posterior variance. Calibrated exactly as ``physinv calibrate`` does
(``experiments.uq_tasks.calibrate_maps`` → ``physinv.uq.select``): every candidate form — one
scale per level of the bootstrap ``mse`` or ``spread``, or the two-parameter σ² = a·v + b·β²
with a local bias proxy (bootstrap bias at 2 / 4 px, high-pass at 2 px; the posterior: alone or
with the high-pass at 2 / 4 px), each also with the noise floor a ≥ 0.5·s_α² — fitted on
training crops 4–11 (never used for tuning; the network: crops 16–23, never trained on) with 2
noise draws each, and the one chosen on validation crops 12–15 (network: 24–27) by the smallest
mean interval score (``uq.select``; the rule chosen on development images by
``benchmarks/uq_rule_dev.py``).
On the four public test images (never tuned on): empirical coverage of x̂ ± z·√v,
uncalibrated and calibrated, the mean σ and the mean 95 % half-width against the RMSE, Spearman's
rank correlation between σ and |error| across pixels (per image, then averaged), and seconds per
image; the same figures for every candidate not chosen (``not_chosen_mean``). Writes
``benchmarks/results/uq_coverage-<timestamp>.json``.

    .venv/bin/python benchmarks/uq_coverage.py [--tasks deblur_gauss,sr_x2,ct_sparse]
        [--samples 16] [--no-net] [--methods tikhonov,tv]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.experiments.uq_tasks import (
    N_DRAWS,
    N_IMAGES,
    N_VALIDATION,
    SOLVER_START,
    calibrate_maps,
    network_maps,
    solver_maps,
)
from physinv.train import Measurements
from physinv.train.recipe import train_network
from physinv.uq import LEVELS, form_scores, group_for

NET, NET_TRAIN, NET_SECONDS = "tikhonov-residual", 16, 60.0


def _methods(task, tune, only=None):
    """name → (the registry solver's options, tuned on ``tune``; its variance source)."""
    if task.name == "ct_sparse":
        out = {"tikhonov": ({"lam": task.tikhonov_lambda(tune)}, "bootstrap"),
               "fbp": ({}, "bootstrap")}
    else:
        out = {"tikhonov": ({"lam": task.tikhonov_lambda(tune)}, "bootstrap")}
        if only is None or "tv" in only:
            weight = task.tv_weight(tune)
            out["tv"] = ({"lam": weight * tune[0][2].norm() ** 2,
                          "positivity": task.positivity}, "bootstrap")
        out["bayes-gauss"] = ({}, "posterior")
    return {k: v for k, v in out.items() if only is None or k in only}


def _mean(values) -> float:
    finite = [v for v in values if np.isfinite(v)]  # ρ of a flat posterior map is NaN
    return float(np.mean(finite)) if finite else float("nan")


def _row(task, name, source, tuned, estimate, start, tests, samples, group, op=None):
    t0 = time.perf_counter()
    sel = calibrate_maps(estimate, task, start, method=name, operator=task.spec,
                         variance_source=source, op=op,
                         samples=samples if source == "bootstrap" else None)
    cal_s = time.perf_counter() - t0
    cal, chosen = sel.chosen, sel.chosen.selection["chosen"]
    images, others = [], []
    for img_name, x, y, o in tests:
        t0 = time.perf_counter()
        m = estimate(y, o)
        seconds = time.perf_counter() - t0
        # ct_sparse: scored on the disk the scan covers (outside it every estimate is 0)
        on = task.restrict(torch.ones_like(x)) > 0
        images.append({"image": img_name, "seconds": seconds, **form_scores(x, m, cal, on)})
        others.append({k: form_scores(x, m, c, on) for k, c in sel.calibrations.items()
                       if k != chosen})
    means = {k: _mean([im[k] for im in images]) for k in images[0] if k != "image"}
    not_chosen = {k: {m: _mean([o[k][m] for o in others]) for m in others[0][k]}
                  for k in others[0]}
    print(f"{task.name:13s} {name:17s} {chosen:28s} cov95 {means['coverage_0.95']:.3f} "
          f"(raw {means['coverage_raw_0.95']:.3f}) σ {means['mean_sigma']:.4f} "
          f"rmse {means['rmse']:.4f} ρ {means['spearman']:.2f} "
          f"{means['seconds']:.2f} s/img", flush=True)
    return {"task": task.name, "method": name, "variance_source": source, "estimator": chosen,
            "validation": sel.validation, "group": group,
            "samples": samples if source == "bootstrap" else None, "tuned": tuned,
            "scales": cal.scales, "weights": cal.weights, "bias_proxy": cal.bias_proxy,
            "bias_width": cal.bias_width, "noise_floor": cal.noise_floor,
            "calibration_seconds": cal_s, "calibration_pixels": cal.n_pixels,
            "calibration_set": cal.calibration_set,
            "validation_set": cal.selection["validation_set"], "mean": means,
            "images": images, "not_chosen_mean": not_chosen}


def run_task(task_name, samples, only=None):
    task = get_task(task_name)
    tune = training_pairs(task, SOLVER_START)  # crops 0–3: the protocol's tuning crops
    tests = evaluation_pairs(task)
    for name, (options, source) in _methods(task, tune, only).items():
        estimate = solver_maps(name, task.noise(), samples, options, task.restrict)
        group = group_for(tune[0][2]).name if source == "bootstrap" else None
        yield _row(task, name, source, options, estimate, SOLVER_START, tests, samples, group)


def run_network(samples, seed):
    """tikhonov-residual trained on deblur_gauss crops 0–15 (≤ 60 s), calibrated on 16–23,
    its form chosen on 24–27."""
    task = get_task("deblur_gauss")
    train_set = training_pairs(task, NET_TRAIN)
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    lam = task.tikhonov_lambda(train_set[:SOLVER_START])
    start = time.perf_counter()
    net, result = train_network(NET, Measurements(crops.float(), op, task.noise()), lam,
                                "quick", epochs=40, seed=seed, max_time=NET_SECONDS)
    train_s = time.perf_counter() - start
    net.eval()
    nets = {}

    def estimate(y, o):  # the network for the measurement's size (test images are 256²)
        shape = tuple(o.in_shape)
        if shape not in nets:
            nets[shape] = network_maps(net if shape == tuple(op.in_shape) else
                                       net.for_operator(o).eval(), task.noise(), samples)
        return nets[shape](y, o)

    row = _row(task, NET, "bootstrap", {"lam_init": lam}, estimate, NET_TRAIN,
               evaluation_pairs(task), samples, group_for(op).name, op=net.op)
    row.update(train_s=train_s, train_steps=result.n_steps, train_stop=result.stop_reason)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="deblur_gauss,sr_x2,ct_sparse")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-net", action="store_true")
    parser.add_argument("--methods", default=None, help="only these (comma-separated)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows, path = [], None

    def save(done: bool):  # after every row: an interrupted run keeps what it measured
        return save_result("uq_coverage", {
            "benchmark": "uq_coverage", "levels": list(LEVELS), "n_tune": SOLVER_START,
            "n_calibration": N_IMAGES, "n_validation": N_VALIDATION, "n_draws": N_DRAWS,
            "network": None if args.no_net else NET, "tasks": args.tasks,
            "samples": args.samples, "seed": args.seed, "rows": rows, "complete": done,
            "seconds": time.perf_counter() - start, "threads": 1}, path=path)

    if not args.no_net:
        rows.append(run_network(args.samples, args.seed))
        path = save(False)
    only = None if args.methods is None else args.methods.split(",")
    for task_name in args.tasks.split(","):
        for row in run_task(task_name.strip(), args.samples, only):
            rows.append(row)
            path = save(False)
    save(True)


if __name__ == "__main__":
    main()
