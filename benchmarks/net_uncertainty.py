"""Calibration of network uncertainty on deblur_gauss: coverage of the 95 % intervals.

A ``TikhonovResidual`` (fixed Tikhonov + residual CNN) trained on the first N = 16 protocol
crops, (a) with dropout 0.1 and MC-dropout at test time (32 passes), (b) as a deep ensemble of
three members trained with seeds 0, 1, 2 (no dropout). On the four public test images: PSNR of
the mean, mean predicted standard deviation, RMSE, and the fraction of pixels whose truth lies
in mean ± 1.96 std (a calibrated map gives 0.95). Writes
``benchmarks/results/net_uncertainty-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import torch
from timing import save_result

from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.io import environment
from physinv.metrics import coverage, psnr, rmse
from physinv.nets import TikhonovResidual
from physinv.nets.uncertainty import ensemble, mc_dropout
from physinv.solvers.tuning import tune_tikhonov
from physinv.train import Measurements
from physinv.train.recipe import train_network


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    task = get_task("deblur_gauss")
    train = training_pairs(task, args.n_train)
    lam = tune_tikhonov(train, score=task.psnr)
    op = train[0][2]
    data = Measurements(torch.cat([x for x, _, _ in train]).float(), op, task.noise())
    tests = evaluation_pairs(task, dtype=torch.float32)

    def trained(seed, dropout):
        torch.manual_seed(seed)
        return train_network(None, data, lam, "default", seed=seed, epochs=100,
                             max_time=args.budget,
                             net=TikhonovResidual(op, lam=lam, dropout=dropout))

    mc_net, mc_fit = trained(0, 0.1)
    members = [trained(seed, 0.0) for seed in range(3)]
    rows = []
    for name, x, y, test_op in tests:
        for method, (mean, var) in (
                ("mc-dropout", mc_dropout(mc_net.for_operator(test_op), y, n_samples=32)),
                ("ensemble-3", ensemble([m.for_operator(test_op) for m, _ in members], y))):
            std = var.clamp_min(0).sqrt()
            rows.append({"image": name, "method": method, "psnr": float(psnr(mean, x)),
                         "rmse": float(rmse(mean, x)), "mean_std": float(std.mean()),
                         "coverage95": float(coverage(mean, std, x))})
            print(f"{name:22s} {method:11s} PSNR {rows[-1]['psnr']:.2f}  RMSE "
                  f"{rows[-1]['rmse']:.4f}  mean std {rows[-1]['mean_std']:.4f}  coverage "
                  f"{rows[-1]['coverage95']:.3f}")
    summary = {}
    for method in ("mc-dropout", "ensemble-3"):
        rs = [r for r in rows if r["method"] == method]
        summary[method] = {k: sum(r[k] for r in rs) / len(rs)
                           for k in ("psnr", "rmse", "mean_std", "coverage95")}
        print(method, summary[method])
    save_result("net_uncertainty", {
        "benchmark": "net_uncertainty", "when": datetime.now(timezone.utc).isoformat(
            timespec="seconds"), "environment": environment(), "n_train": args.n_train,
        "budget_s": args.budget, "lam": lam, "train_s": [mc_fit.train_s] + [
            r.train_s for _, r in members], "rows": rows, "summary": summary}, args.json)


if __name__ == "__main__":
    main()
