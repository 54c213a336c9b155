"""Calibrated per-pixel uncertainty for solvers and a network: coverage on the public test images.

For each task (deblur_gauss, sr_x2, ct_sparse) and method — Tikhonov (λ tuned on training crops
0–3), TV (weight tuned on the same crops; not on ct_sparse), FBP (ct_sparse), the Gaussian
posterior (evidence; exact on the Fourier and ×2 polyphase paths; not on ct_sparse) and a
tikhonov-residual network trained on deblur_gauss crops 0–15 for ≤ 60 s —
a variance map per image: the equivariant bootstrap of ``physinv.uq`` (K = 16 reconstructions;
the group follows the operator: shifts + the 8 square symmetries for the symmetric Gaussian
blur, rotations by multiples of 3° for ct_sparse, the parametric bootstrap for ×2
super-resolution) or the posterior variance. The scale of each map is fitted by split-conformal
calibration (``physinv.uq.fit``) on training crops 4–11 (never used for tuning; the network:
crops 16–23, never trained on) with 2 noise draws each, at 50 / 80 / 90 / 95 / 99 %. The candidates,
all from the same K samples: one scale per level of the bootstrap ``mse`` (around x̂, the
paper's) or ``spread`` (around the samples' mean), or the two-parameter σ² = a·v + b·β² of
``physinv.uq.fit_weights`` (v = spread, β² a local bias proxy: the smoothed squared bootstrap
bias (x̄* − x̂)² at window 2 or 4 px, or the smoothed squared high-pass of x̂ at 2 px; for the
posterior its variance alone or with the high-pass proxy at 2 or 4 px). The candidate is chosen
per method on validation crops 12–15 (network: 24–27) — other images of the training pool —
by the smallest mean interval score over the levels (a proper score of coverage and
sharpness) among the candidates whose worst validation crop covers ≥ 0.90 at 95 %; every
two-parameter candidate is also tried with the noise floor a ≥ 0.5·s_α² (``+floor0.5``).
On the four public test images (never tuned on): empirical coverage of x̂ ± z·√v,
uncalibrated and calibrated, the mean σ and the mean 95 % half-width against the RMSE, Spearman's
rank correlation between σ and |error| across pixels (per image, then averaged), and seconds per
image. Writes ``benchmarks/results/uq_coverage-<timestamp>.json``.

    .venv/bin/python benchmarks/uq_coverage.py [--tasks deblur_gauss,sr_x2,ct_sparse]
        [--samples 16] [--no-net]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.experiments.protocol import TRAIN_SEED, evaluation_pairs, get_task, training_pairs
from physinv.experiments.uq_tasks import held_out
from physinv.operators import fbp
from physinv.solvers import gaussian_posterior, tikhonov, tv
from physinv.train import Measurements
from physinv.train.recipe import train_network
from physinv.uq import (
    LEVELS,
    bias_proxy,
    collect,
    equivariant_bootstrap,
    fit,
    group_for,
    interval_scores,
    normal_quantile,
)

N_TUNE, N_CAL, N_VAL, N_DRAWS = 4, 8, 4, 2
NOISE_FLOORS = (0.0, 0.5)  # two-parameter candidates: without and with a ≥ 0.5·s_α²
WORST_CROP_MIN = 0.90  # a candidate must cover ≥ this on every validation crop at 95 %
NET, NET_TRAIN, NET_SECONDS = "tikhonov-residual", 16, 60.0


def _methods(task, tune, only=None):
    """name → (reconstruct f(y, op), variance source, tuned value); ``only``: those names."""
    out = {}
    if only is None or "tikhonov" in only:
        lam = task.tikhonov_lambda(tune)

        def f_tik(y, op):  # ct_sparse: on the disk the scan covers (zero outside)
            return task.restrict(tikhonov(y, op, lam=lam).x)

        out["tikhonov"] = (f_tik, "bootstrap", {"lam": lam})
    if task.name == "ct_sparse":
        out["fbp"] = (lambda y, op: task.restrict(fbp(y, op)), "bootstrap", {})
        return {k: v for k, v in out.items() if only is None or k in only}
    if only is not None and "tv" not in only:
        out["bayes-gauss"] = (None, "posterior", {})
        return {k: v for k, v in out.items() if k in only}
    weight = task.tv_weight(tune)

    def f_tv(y, op):
        return tv(y, op, lam=weight * op.norm() ** 2, positivity=task.positivity).x

    out["tv"] = (f_tv, "bootstrap", {"weight_rel": weight})
    out["bayes-gauss"] = (None, "posterior", {})
    return {k: v for k, v in out.items() if only is None or k in only}


BOOT_PROXIES = (("bootstrap", 2.0), ("bootstrap", 4.0), ("highpass", 2.0))
POST_PROXIES = (("highpass", 2.0), ("highpass", 4.0))


def _estimator(f, source, noise, samples, seed):
    """(y, op) -> (x̂, {candidate: v or (v, β²)}), all from the same K samples: the
    one-parameter ``mse`` (around x̂) and ``spread`` (around their mean), and the
    two-parameter ``spread+<proxy>:<w>`` (v = spread, β² = ``uq.bias_proxy``); for the
    posterior its variance alone and ``posterior+highpass:<w>``."""
    def estimate(y, op):
        if source == "posterior":
            result = gaussian_posterior(y, op)
            out = {"posterior": result.variance}
            for kind, w in POST_PROXIES:
                out[f"posterior+{kind}:{w:g}"] = (result.variance,
                                                   bias_proxy(kind, result.x, width=w))
            return result.x, out
        x_hat = f(y, op)
        boot = equivariant_bootstrap(f, y, op, noise, x_hat=x_hat, n_samples=samples, seed=seed)
        out = {"mse": boot.variance, "spread": boot.spread}
        for kind, w in BOOT_PROXIES:
            out[f"spread+{kind}:{w:g}"] = (boot.spread,
                                           bias_proxy(kind, x_hat, boot.mean, width=w))
        return x_hat, out
    return estimate


def _split(value):
    """(v, β² or None) of a candidate's value."""
    return value if isinstance(value, tuple) else (value, None)


def _proxy(name):
    """(kind, width) of a two-parameter candidate's name, else (None, None)."""
    if "+" not in name:
        return None, None
    kind, width = name.split("+")[1].split(":")
    return kind, float(width)


def _collect_all(estimate, pairs, noise, n_draws, seed):
    """truth, estimates, {estimator: variances} on held-out pairs."""
    cache = []

    def first(y, op):
        x_hat, variances = estimate(y, op)
        cache.append(variances)
        return x_hat, next(iter(variances.values()))

    truth, xs, _ = collect(first, pairs, noise, n_draws=n_draws, seed=seed)

    def stacked(values):
        return torch.stack([v.to(torch.float64) for v in values]).reshape(xs.shape)

    vs = {}
    for k in cache[0]:
        parts = [_split(c[k]) for c in cache]
        vs[k] = stacked([p[0] for p in parts]) if parts[0][1] is None else (
            stacked([p[0] for p in parts]), stacked([p[1] for p in parts]))
    return truth, xs, vs


def _validate(truth, xs, value, cal):
    """On a validation set: the mean interval score over the levels (Gneiting & Raftery
    2007: 2h + (2 / (1 − α)) (|e| − h)₊ per pixel, h = z_α σ_α; proper, it rewards both
    coverage and sharpness) and the worst |coverage − level|."""
    v, b2 = _split(value)
    on = (v > 0) | (xs != truth)  # pixels known exactly (CT: outside the disk) left out
    err = (xs - truth).abs()[on]
    scores, gaps = [], []
    for a in LEVELS:
        h = normal_quantile(a) * cal.apply(v, a, b2).sqrt()[on]
        scores.append(float((2 * h + 2 / (1 - a) * (err - h).clamp_min(0)).mean()))
        gaps.append(abs(float((err <= h).double().mean()) - a))
    h95 = normal_quantile(0.95) * cal.apply(v, 0.95, b2).sqrt()
    per_crop = [float(((xs[i] - truth[i]).abs() <= h95[i])[on[i]].double().mean())
                for i in range(truth.shape[0])]
    return {"interval_score": float(np.mean(scores)), "worst_gap": max(gaps),
            "crop_coverage_95": per_crop, "worst_crop_coverage_95": min(per_crop)}


def _base(key: str) -> str:
    """The variance estimate a candidate uses (``+floor…`` only changes its fit)."""
    return key.split("+floor")[0]


def _choose(validation: dict) -> str:
    """The candidate with the smallest validation interval score among those whose worst
    validation crop covers ≥ ``WORST_CROP_MIN`` at 95 % (all of them if none does): a pooled
    score alone let a fit with no noise floor leave a smooth crop at 0.53."""
    fair = [k for k, r in validation.items() if r["worst_crop_coverage_95"] >= WORST_CROP_MIN]
    return min(fair or validation, key=lambda k: validation[k]["interval_score"])


def _scored(x, x_hat, value, cal, on):
    """``interval_scores`` of one candidate on the pixels ``on``."""
    var, b2 = _split(value)
    return interval_scores(x[on], x_hat[on], var[on], cal, bias2=None if b2 is None else b2[on])


def _mean(values) -> float:
    finite = [v for v in values if np.isfinite(v)]  # ρ of a flat posterior map is NaN
    return float(np.mean(finite)) if finite else float("nan")


def _row(task, name, f, source, tuned, estimate, cal_pairs, val_pairs, tests, samples,
         group, calibration_set):
    noise = task.noise()
    start = time.perf_counter()
    truth, xs, vs = _collect_all(estimate, cal_pairs, noise, N_DRAWS, TRAIN_SEED + 500)
    cal_s = time.perf_counter() - start
    cals = {}
    for k, value in list(vs.items()):
        v, b2 = _split(value)
        kind, width = _proxy(k)
        for floor in (0.0,) if b2 is None else NOISE_FLOORS:
            key = k if floor == 0 else f"{k}+floor{floor:g}"
            cals[key] = fit(truth, xs, v, method=name, operator=task.spec, noise=noise.spec(),
                            variance_source=source, levels=LEVELS,
                            calibration_set=calibration_set, bias2=b2, bias_proxy=kind,
                            bias_width=width, noise_floor=floor)
    # the candidate is chosen on validation crops of the training pool, never on tests
    vt, vx, vv = _collect_all(estimate, val_pairs, noise, 1, TRAIN_SEED + 900)
    validation = {k: _validate(vt, vx, vv[_base(k)], cals[k]) for k in cals}
    chosen = _choose(validation)
    cal = cals[chosen]
    images, others = [], []
    for img_name, x, y, op in tests:
        start = time.perf_counter()
        x_hat, v = estimate(y, op)
        seconds = time.perf_counter() - start
        # ct_sparse: scored on the disk the scan covers (outside it every estimate is 0)
        on = task.restrict(torch.ones_like(x)) > 0
        images.append({"image": img_name, "seconds": seconds,
                       **_scored(x, x_hat, v[_base(chosen)], cals[chosen], on)})
        others.append({k: _scored(x, x_hat, v[_base(k)], cals[k], on)
                       for k in cals if k != chosen})
    means = {k: _mean([im[k] for im in images]) for k in images[0] if k != "image"}
    not_chosen = {k: {m: _mean([o[k][m] for o in others]) for m in others[0][k]}
                  for k in others[0]}
    print(f"{task.name:13s} {name:17s} {chosen:20s} cov95 {means['coverage_0.95']:.3f} "
          f"(raw {means['coverage_raw_0.95']:.3f}) σ {means['mean_sigma']:.4f} "
          f"rmse {means['rmse']:.4f} ρ {means['spearman']:.2f} "
          f"{means['seconds']:.2f} s/img", flush=True)
    return {"task": task.name, "method": name, "variance_source": source, "estimator": chosen,
            "validation": validation, "group": group,
            "samples": samples if source == "bootstrap" else None, "tuned": tuned,
            "scales": cal.scales, "weights": cal.weights, "bias_proxy": cal.bias_proxy,
            "bias_width": cal.bias_width, "calibration_seconds": cal_s,
            "calibration_pixels": cal.n_pixels, "calibration_set": calibration_set,
            "mean": means, "images": images, "not_chosen_mean": not_chosen}


def run_task(task_name, samples, seed, only=None):
    task = get_task(task_name)
    tune = training_pairs(task, N_TUNE)
    cal_pairs = held_out(task, N_TUNE, N_CAL)
    val_pairs = held_out(task, N_TUNE + N_CAL, N_VAL)
    tests = evaluation_pairs(task)
    for name, (f, source, tuned) in _methods(task, tune, only).items():
        group = group_for(cal_pairs[0][1]).name if source == "bootstrap" else None
        yield (_row(task, name, f, source, tuned,
                         _estimator(f, source, task.noise(), samples, seed), cal_pairs,
                         val_pairs, tests, samples, group,
                         f"training crops {N_TUNE}-{N_TUNE + N_CAL - 1} (128×128), {N_DRAWS} "
                         f"noise draws each; tuned on crops 0-{N_TUNE - 1}"))


def run_network(samples, seed):
    """tikhonov-residual trained on deblur_gauss crops 0–15 (≤ 60 s), calibrated on 16–23."""
    task = get_task("deblur_gauss")
    train_set = training_pairs(task, NET_TRAIN)
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    lam = task.tikhonov_lambda(train_set[:N_TUNE])
    start = time.perf_counter()
    net, result = train_network(NET, Measurements(crops.float(), op, task.noise()), lam,
                                "quick", epochs=40, seed=seed, max_time=NET_SECONDS)
    train_s = time.perf_counter() - start
    net.eval()
    nets = {}

    def f_net(y, o):
        shape = tuple(o.in_shape)
        if shape not in nets:
            nets[shape] = net if shape == tuple(op.in_shape) else net.for_operator(o).eval()
        with torch.no_grad():
            return nets[shape](y.float()).double()

    cal_pairs = held_out(task, NET_TRAIN, N_CAL)
    val_pairs = held_out(task, NET_TRAIN + N_CAL, N_VAL)
    row = _row(task, NET, f_net, "bootstrap", {"lam_init": lam},
               _estimator(f_net, "bootstrap", task.noise(), samples, seed), cal_pairs,
               val_pairs, evaluation_pairs(task), samples, group_for(op).name,
               f"training crops {NET_TRAIN}-{NET_TRAIN + N_CAL - 1} (never trained on), "
               f"{N_DRAWS} noise draws each")
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
            "benchmark": "uq_coverage", "levels": list(LEVELS), "n_tune": N_TUNE,
            "n_calibration": N_CAL, "n_validation": N_VAL, "n_draws": N_DRAWS,
            "network": None if args.no_net else NET, "tasks": args.tasks,
            "samples": args.samples, "seed": args.seed, "rows": rows, "complete": done,
            "seconds": time.perf_counter() - start, "threads": 1}, path=path)

    if not args.no_net:
        rows.append(run_network(args.samples, args.seed))
        path = save(False)
    for task_name in args.tasks.split(","):
        only = None if args.methods is None else args.methods.split(",")
        for row in run_task(task_name.strip(), args.samples, args.seed, only):
            rows.append(row)
            path = save(False)
    save(True)


if __name__ == "__main__":
    main()
