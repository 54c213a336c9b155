"""Infrared restoration at real frame sizes: every method's time, beside today's path (ratio).

Frames: a simulated scene (seed 4242, not a benchmark seed) seen by the camera — 640×512
denoise (factor 1, no optics) and deconvolve (factor 1, Gaussian optics FWHM 1 px), and
640×512 object grids from 160×128 (×4) and 320×256 (×2) detectors (optics FWHM 1 detector
px ⊛ detector box) — with NETD 0.08 K white noise on the detector frame.

``physinv.thermal.restoration.restore`` is timed for bicubic / tikhonov (λ by GCV) / wiener
(fitted power law; polyphase for ×2 / ×4) / bayes (mean + per-pixel variance) / tv (300
iterations). "today" is the path ``restore`` took before the camera's closed forms
(``physinv.thermal.fast``): ``physinv.solvers.tikhonov(y, op, lam="gcv")`` and
``gaussian_posterior(y, op)`` — for a decimating camera CG (the λ rule on CG solves) and 16
perturb-and-MAP CG samples for the variance, for factor 1 the library's Fourier path.
Today's sampled posterior for a decimating camera is timed on a 320×256 object grid (beside
the closed form there): at 640×512 its 17 CG solves take minutes. Targets: 640×512 denoise /
deconvolve ≤ 0.3 s, ×4 and ×2 Tikhonov ≤ 0.5 s, posterior with variance ≤ 1 s.

Times: median of ``--repeats`` runs (today's slow paths: one run), wall clock, torch threads
as given (``--threads``; the machine is shared, its load average is recorded). Writes
``benchmarks/results/ir_speed-<UTC timestamp>.json``.

Run: nice -n 10 .venv/bin/python benchmarks/ir_speed.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from physinv.io import write_json
from physinv.runtime import keep_freed_memory
from physinv.solvers import gaussian_posterior, tikhonov
from physinv.thermal import Camera, Scene, simulate
from physinv.thermal.restoration import restore

SHAPE = (512, 640)  # object grid (rows, columns)
SMALL = (256, 320)  # where today's sampled posterior is timed (minutes at SHAPE)
CASES = {"denoise": Camera(factor=1, psf="none", netd=0.08),
         "deconvolve": Camera(factor=1, fwhm=1.0, netd=0.08),
         "sr_x4": Camera(factor=4, fwhm=1.0, netd=0.08),
         "sr_x2": Camera(factor=2, fwhm=1.0, netd=0.08)}
TARGETS = {("denoise", "tikhonov"): 0.3, ("denoise", "wiener"): 0.3,
           ("denoise", "bayes"): 0.3, ("deconvolve", "tikhonov"): 0.3,
           ("deconvolve", "wiener"): 0.3, ("deconvolve", "bayes"): 0.3,
           ("sr_x4", "tikhonov"): 0.5, ("sr_x2", "tikhonov"): 0.5,
           ("sr_x4", "bayes"): 1.0, ("sr_x2", "bayes"): 1.0}


def frame(camera: Camera, seed: int = 4242):
    """(truth apparent temperature (H, W), detector frame (h, w)) with NETD noise."""
    truth = simulate(Scene(shape=SHAPE), camera, seed=seed).apparent
    g = camera.operator(SHAPE)(truth[None, None])[0, 0]
    gen = torch.Generator().manual_seed(seed)
    return truth, g + camera.netd * torch.randn(g.shape, generator=gen, dtype=torch.float64)


def timed(fn, repeats: int):
    """(median seconds, last output) of ``repeats`` calls."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def rmse(x, truth) -> float:
    return float(((x.reshape(truth.shape) - truth) ** 2).mean().sqrt())


def today(name, camera, g):
    """Today's path: ``physinv.solvers.tikhonov`` / ``gaussian_posterior`` (CG and
    perturb-and-MAP samples for a decimating camera, the Fourier path for factor 1)."""
    op = camera.operator(SHAPE)
    y = g[None, None]
    if name == "tikhonov":
        return lambda: (tikhonov(y, op, lam="gcv").x, None)
    return lambda: (lambda p: (p.x, p.variance))(gaussian_posterior(y, op))


def small_grid(camera, repeats):
    """Today's sampled posterior on a quarter object grid (SMALL) beside the closed form
    there: at 640×512 it takes minutes (16 CG solves)."""
    op = camera.operator(SMALL)
    truth = simulate(Scene(shape=SMALL), camera, seed=4242).apparent
    y = op(truth[None, None])
    y = y + camera.netd * torch.randn(y.shape, generator=torch.Generator().manual_seed(1),
                                      dtype=torch.float64)
    fast, _ = timed(lambda: restore(y[0, 0], camera, "bayes"), repeats)
    slow, post = timed(lambda: gaussian_posterior(y, op), 1)
    return {"today_object": list(SMALL), "today_seconds": slow, "fast_seconds_there": fast,
            "speedup": slow / fast, "today_rmse_k": rmse(post.x, truth),
            "today_mean_std_k": float(post.variance.sqrt().mean())}


def run_case(case, camera, methods, repeats, with_today):
    truth, g = frame(camera)
    rows = []
    for method in methods:
        n = 1 if method == "tv" else repeats
        seconds, (x, var, note) = timed(lambda m=method: restore(g, camera, m), n)
        row = {"case": case, "method": method, "note": note, "seconds": seconds,
               "detector": list(g.shape), "object": list(SHAPE), "rmse_k": rmse(x, truth),
               "mean_std_k": None if var is None else float(var.sqrt().mean()),
               "target_s": TARGETS.get((case, method))}
        if row["target_s"] is not None:
            row["meets_target"] = seconds <= row["target_s"]
        if with_today and method == "tikhonov" or (with_today and method == "bayes"
                                                   and camera.factor == 1):
            slow, (xs, vs) = timed(today(method, camera, g), 1)
            row.update(today_seconds=slow, speedup=slow / seconds, today_rmse_k=rmse(xs, truth),
                       today_mean_std_k=None if vs is None else float(vs.sqrt().mean()))
        elif with_today and method == "bayes":
            row.update(small_grid(camera, repeats))
        rows.append(row)
        print(case, method, f"{seconds:.3f} s", {k: row[k] for k in row
                                                 if k in ("today_seconds", "rmse_k")},
              flush=True)
    return rows


def main():
    keep_freed_memory()  # the allocator settings of the physinv command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-today", action="store_true", help="skip today's slow paths")
    parser.add_argument("--no-tv", action="store_true", help="skip TV (300 iterations)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    methods = ["bicubic", "tikhonov", "wiener", "bayes"] + ([] if args.no_tv else ["tv"])
    rows = []
    for case, camera in CASES.items():
        rows += run_case(case, camera, methods, args.repeats, not args.no_today)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    result = {"benchmark": "ir_speed", "when": stamp, "rows": rows,
              "load_average": list(os.getloadavg()), "threads": args.threads,
              "repeats": args.repeats, "scene_seed": 4242, "netd_k": 0.08}
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_json(args.out / f"ir_speed-{stamp}.json", result, with_environment=True)
    print(path)


if __name__ == "__main__":
    main()
