"""Which rule should choose the calibration's form? Compared on development images, never tests.

``physinv.uq.select`` fits every candidate form on calibration crops and chooses one on
validation crops. This script runs that selection exactly as ``physinv calibrate`` does
(``experiments.uq_tasks.calibrate_maps``) and scores every candidate on *development* images —
the centre 256² crops of scikit-image's bundled images outside both the training pool and the
public test set (``images.EXTRA``: cat, cell — its centre and its top-left corner —, horse,
the Shepp–Logan phantom; microaneurysms is smaller than 256²),
measured with the task's noise (seed 7000 + i) — then reports, for several rules applied to the
same validation figures, the development coverage of the form each rule would choose. The rule
the library uses is chosen from this table; the public test images are not read.

    .venv/bin/python benchmarks/uq_rule_dev.py [--tasks deblur_gauss,sr_x2,ct_sparse]
        [--methods tikhonov,bayes-gauss,fbp] [--net] [--samples 16] [--images 8]
        [--validation 4]

Writes ``benchmarks/results/uq_rule_dev-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.data import images
from physinv.data.patches import center_crop
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.experiments.uq_tasks import SOLVER_START, calibrate_maps, network_maps, solver_maps
from physinv.train import Measurements
from physinv.train.recipe import train_network
from physinv.uq import LEVELS, form_scores
from physinv.uq.select import choose

DEV = ("cat", "cell", "cell:corner", "horse", "shepp_logan_phantom")
DEV_SEED = 7000


def _dev_images() -> dict:
    out = {}
    for name in DEV:
        arr = images.load_array(name.split(":")[0])
        crop = arr[:256, :256] if name.endswith(":corner") else center_crop(arr, 256)
        out[name] = torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32))[None, None]
    return out


def _rules():
    """name → rule(validation) → candidate name; ``score`` and ``worst_crop`` are the
    library's ``choose`` (its default and ``worst_min=0.90``)."""
    def score(v, keys):
        return min(keys, key=lambda k: v[k]["interval_score"])

    def gap(v):
        fair = [k for k in v if v[k]["worst_gap"] <= 0.03]
        return score(v, fair) if fair else min(v, key=lambda k: v[k]["worst_gap"])

    def gap_then_crop(v):
        fair = [k for k in v if v[k]["worst_gap"] <= 0.03
                and v[k]["worst_crop_coverage_95"] >= 0.90]
        return score(v, fair) if fair else gap(v)

    def pooled95(v):
        return min(v, key=lambda k: abs(v[k]["coverage"]["0.95"] - 0.95))

    return {"score": choose, "worst_crop": lambda v: choose(v, worst_min=0.90), "gap": gap,
            "gap_then_crop": gap_then_crop, "pooled95": pooled95}


def _dev_scores(task, estimate, sel, dev):
    """candidate → mean development figures."""
    per = {k: [] for k in sel.calibrations}
    for i, (_, x, _, op) in enumerate(evaluation_pairs(task, images=dev)):
        m = estimate(task.measure(x, op, DEV_SEED + i), op)
        on = task.restrict(torch.ones_like(x)) > 0
        for k, cal in sel.calibrations.items():
            per[k].append(form_scores(x, m, cal, on))
    return {k: {m: float(np.nanmean([r[m] for r in rows])) for m in rows[0]}
            for k, rows in per.items()}


def _summary(sel, dev_scores):
    out = {}
    for rule, f in _rules().items():
        k = f(sel.validation)
        d = dev_scores[k]
        out[rule] = {"chosen": k, "dev_coverage": {f"{a:g}": d[f"coverage_{a:g}"] for a in LEVELS},
                     "dev_worst_gap": max(abs(d[f"coverage_{a:g}"] - a) for a in LEVELS),
                     "dev_sigma_over_rmse": d["mean_sigma"] / d["rmse"],
                     "dev_spearman": d["spearman"]}
    return out


def _row(task, name, source, estimate, start, dev, samples, sizes, op=None):
    """``sizes``: n_images / n_validation of calibrate_maps (--images, --validation)."""
    t0 = time.perf_counter()
    sel = calibrate_maps(estimate, task, start, method=name, operator=task.spec,
                         variance_source=source, op=op, **sizes,
                         samples=samples if source == "bootstrap" else None)
    dev_scores = _dev_scores(task, estimate, sel, dev)
    rules = _summary(sel, dev_scores)
    for rule, r in rules.items():
        print(f"{task.name:13s} {name:17s} {rule:14s} {r['chosen']:28s} dev cov95 "
              f"{r['dev_coverage']['0.95']:.3f} gap {r['dev_worst_gap']:.3f} "
              f"σ/rmse {r['dev_sigma_over_rmse']:.2f}", flush=True)
    return {"task": task.name, "method": name, "variance_source": source,
            "validation": sel.validation, "dev": dev_scores, "rules": rules,
            "seconds": time.perf_counter() - t0}


def _options(task, name, tune):
    if name == "tikhonov":
        return {"lam": task.tikhonov_lambda(tune)}
    if name == "tv":
        return {"lam": task.tv_weight(tune) * tune[0][2].norm() ** 2,
                "positivity": task.positivity}
    return {}


def _network(task, samples, dev, sizes, seed=0):
    train_set = training_pairs(task, 16)
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    net, _ = train_network("tikhonov-residual", Measurements(crops.float(), op, task.noise()),
                           task.tikhonov_lambda(train_set[:SOLVER_START]), "quick", epochs=40,
                           seed=seed, max_time=60.0)
    net.eval()
    nets = {}

    def estimate(y, o):
        shape = tuple(o.in_shape)
        if shape not in nets:
            nets[shape] = network_maps(net if shape == tuple(op.in_shape) else
                                       net.for_operator(o).eval(), task.noise(), samples)
        return nets[shape](y, o)

    return _row(task, "tikhonov-residual", "bootstrap", estimate, 16, dev, samples, sizes,
                op=net.op)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="deblur_gauss,sr_x2,ct_sparse")
    parser.add_argument("--methods", default="tikhonov,bayes-gauss,fbp")
    parser.add_argument("--net", action="store_true", help="also the deblur_gauss network")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--images", type=int, default=None, help="calibration crops")
    parser.add_argument("--validation", type=int, default=None, help="validation crops")
    args = parser.parse_args()
    sizes = {k: v for k, v in (("n_images", args.images), ("n_validation", args.validation))
             if v is not None}
    torch.set_num_threads(1)
    dev, rows, path, start = _dev_images(), [], None, time.perf_counter()

    def save(done):
        return save_result("uq_rule_dev", {"benchmark": "uq_rule_dev", "dev_images": list(DEV),
                                           "samples": args.samples, "rows": rows,
                                           "sizes": sizes,
                                           "complete": done, "threads": 1,
                                           "seconds": time.perf_counter() - start}, path=path)

    if args.net:
        rows.append(_network(get_task("deblur_gauss"), args.samples, dev, sizes))
        path = save(False)
    for task_name in args.tasks.split(","):
        task = get_task(task_name)
        tune = training_pairs(task, SOLVER_START)
        for name in args.methods.split(","):
            if (name == "fbp") != (task_name == "ct_sparse") and name != "tikhonov":
                continue
            source = "posterior" if name == "bayes-gauss" else "bootstrap"
            estimate = solver_maps(name, task.noise(), args.samples, _options(task, name, tune),
                                   task.restrict)
            rows.append(_row(task, name, source, estimate, SOLVER_START, dev, args.samples,
                             sizes))
            path = save(False)
    save(True)


if __name__ == "__main__":
    main()
