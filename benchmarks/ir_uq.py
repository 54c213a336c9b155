"""Calibrated intervals of ``physinv ir restore`` on simulated thermal test frames.

For each IR task (``ir_denoise``, ``ir_deconvolve``, ``ir_sr_x4``) and method — the Gaussian
posterior (``bayes``), Tikhonov (GCV) and, with ``--net``, a tikhonov-residual network trained
on 16 training scenes (≤ 60 s) — the variance ``ir restore`` writes for the posterior and a
network (and, for comparison only, the same construction around Tikhonov's estimate, which
``ir restore`` does not write): the camera's exact posterior variance around the method's
estimate, calibrated by ``thermal.uncertainty.calibrate_restoration`` on 8 simulated
validation acquisitions of the task (scene seeds from ``VAL_SEED + N_SELECT``; the form chosen
on 4 more). On ``--frames`` test
acquisitions (``TEST_SEED`` + i, never used for calibration): coverage at 50 / 80 / 90 / 95 /
99 %, raw (the posterior's own variance) and calibrated, mean σ against the RMSE (K), Spearman's
ρ between σ and |error|, seconds per frame. Writes
``benchmarks/results/ir_uq-<timestamp>.json``.

    .venv/bin/python benchmarks/ir_uq.py [--tasks ir_denoise,ir_deconvolve,ir_sr_x4]
        [--frames 8] [--net]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.thermal import (
    TEST_SEED,
    TIK_GRID,
    acquire,
    calibration,
    get_ir_task,
    tikhonov_k,
    train_net,
    training_pairs,
    tune,
)
from physinv.thermal.uncertainty import calibrate_restoration, restoration_maps
from physinv.uq import form_scores


def _row(task, name, method, lam, net, nuc, frames):
    t0 = time.perf_counter()
    cal = calibrate_restoration(task.camera, method, lam, net, scene=task.scene)
    cal_s = time.perf_counter() - t0
    per = []
    for i in range(frames):
        frame, g = acquire(task, TEST_SEED + i, nuc)
        t0 = time.perf_counter()
        maps, _ = restoration_maps(g[0, 0], task.camera, method, lam, net)
        seconds = time.perf_counter() - t0
        per.append({"seconds": seconds, **form_scores(frame.apparent[None, None], maps, cal)})
    mean = {k: float(np.nanmean([p[k] for p in per])) for k in per[0]}
    print(f"{task.name:14s} {name:18s} {cal.selection['chosen']:28s} cov95 "
          f"{mean['coverage_0.95']:.3f} (raw {mean['coverage_raw_0.95']:.3f}) σ "
          f"{mean['mean_sigma']:.3f} K (raw {mean['mean_sigma_raw']:.3f}) rmse "
          f"{mean['rmse']:.3f} K ρ {mean['spearman']:.2f}", flush=True)
    return {"task": task.name, "method": name, "form": cal.selection["chosen"],
            "at_95": cal.describe_at(0.95), "calibration_set": cal.calibration_set,
            "validation": cal.selection["candidates"], "calibration_s": cal_s,
            "mean": mean, "frames": per}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="ir_denoise,ir_deconvolve,ir_sr_x4")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--net", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, path, start = [], None, time.perf_counter()
    for name in args.tasks.split(","):
        task = get_ir_task(name)
        op = task.operator()
        nuc = calibration(task.camera, tuple(op.out_shape))
        methods = [("bayes-gauss", "bayes", None, None), ("tikhonov (GCV)", "tikhonov", None,
                                                          None)]
        if args.net:
            lam_rel = tune(tikhonov_k, TIK_GRID, training_pairs(task, 16, nuc))
            net, _ = train_net("tikhonov-residual", task, 16, lam_rel, 60.0, 0)
            methods.append(("tikhonov-residual", "bayes", None, net.eval()))
        for label, method, lam, net in methods:
            rows.append(_row(task, label, method, lam, net, nuc, args.frames))
            path = save_result("ir_uq", {"benchmark": "ir_uq", "rows": rows, "threads": 1,
                                         "frames": args.frames, "complete": False,
                                         "seconds": time.perf_counter() - start}, path=path)
    save_result("ir_uq", {"benchmark": "ir_uq", "rows": rows, "threads": 1,
                          "frames": args.frames, "complete": True,
                          "seconds": time.perf_counter() - start}, path=path)


if __name__ == "__main__":
    main()
