"""Blind deconvolution on the protocol's images: the PSF estimated from each measurement
(``physinv.solvers.blind.estimate_psf``) against the true one, and the restorations with the
estimated PSF beside those with the true PSF.

Cases: Gaussian σ ∈ {1, 1.5, 2, 3} (25×25 support) and linear motion 9 px at 30°, noise
σ = 0.01, circular blur, the test images (``--images test``, seeds 1234 + i as in the protocol)
or training crops (``--images train``, seeds 10 000 + i). Restorations: Tikhonov with the
gradient prior and λ by GCV (no tuning), and TV with λ / ‖H‖² chosen on 4 training crops
blurred with the true PSF (the protocol's TV grid), the same λ for both PSFs. Infrared: the
×4 camera's optics FWHM ∈ {0.8, 1.2, 2.0} detector pixels from 1 and from 8 NUC-corrected
frames (test or training scene seeds).

Free-form kernels (``--mode free``, ``physinv.solvers.blind_kernel.estimate_kernel``):
deblur_motion (9 px at 30°, noise σ = 0.01) with a 15 × 15 support; the kernel's relative L2
error against the true kernel embedded in the support (the estimate re-centred on its
centroid; also the smallest error over shifts of ±2 px), the TV restoration with the
estimated kernel beside TV with the true kernel (the same λ / ‖H‖², chosen on 4 training
crops), and the seconds per image. ``--images train`` runs the schedule grid ``FREE_GRID``
on 6 training crops (160 × 160, seeds 10 000 + i) blurred by motion 9 px at 30°, 11 px at
120° and 7 px at −60° — where the default schedule is chosen; ``--images test`` runs the
default schedule on the 4 public test images.

Training crops are 160 × 160 in both modes (the pool's smallest image is 172 px; the test
images are 256 × 256).

    python benchmarks/blind_psf.py [--images test|train] [--mode parametric|free]
        [--grid map|em] [--em] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
from timing import save_result

from physinv.data import patches
from physinv.experiments.protocol import get_task
from physinv.io import environment
from physinv.metrics import psnr
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, psf
from physinv.solvers import tikhonov, tv
from physinv.solvers.blind import estimate_psf
from physinv.solvers.tuning import tune_tv

CASES = [("gaussian", {"sigma": s}) for s in (1.0, 1.5, 2.0, 3.0)] + [
    ("motion", {"length": 9.0, "angle": 30.0})]
NOISE = 0.01


def _kernel(kind, params):
    return psf.gaussian(params["sigma"], 25) if kind == "gaussian" else psf.motion(**params)


FREE_SUPPORT = 15
FREE_GRID = [{"prior": "l0", "lam": 1e-3, "kernel_reg": reg, "edge_r": edge}
             for edge in (0.0, 0.3, 1.0) for reg in (0.1, 0.3)]
# Levin et al.'s EM (physinv.solvers.blind_em: E-step on the gradients alone, k ≥ 0 kernel
# step, η annealed), ``--grid em``
FREE_EM_GRID = [{"prior": "l0", "lam": 1e-3, "kernel_reg": 0.0, "kernel_update": "em",
                 "n_iter": 11, "em_eta": eta, "em_alpha": alpha}
                for eta, alpha in ((2e-4, 3.0), (2e-4, 10.0), (2e-4, 30.0), (5e-5, 10.0),
                                   (5e-4, 10.0), (1e-3, 10.0))]
FREE_EM_TEST = FREE_EM_GRID[1]  # best restored PSNR of the EM grid on training crops (…182339)
# training crops: the test's kernel and two others (length, angle), against over-fitting
FREE_TRAIN_KERNELS = [(9.0, 30.0), (11.0, 120.0), (7.0, -60.0)]


def _images(which: str, n: int = 8, size: int = 160):
    if which == "test":
        return list(patches.test_images().items()), 1234
    crops = patches.training_crops(n, size=size)
    return [(f"crop{i}", crops[i: i + 1]) for i in range(len(crops))], 10_000


def _tv_weight(kernel) -> float:
    crops = patches.training_crops(4).to(torch.float64)
    op = Convolution(kernel, (128, 128))
    pairs = [(crops[i: i + 1], simulate(crops[i: i + 1], op, Gaussian(NOISE), seed=20_000 + i),
              op) for i in range(4)]
    return tune_tv(pairs, get_task("deblur_gauss").tv_grid)


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


def run(which: str) -> list[dict]:
    rows = []
    images, seed0 = _images(which)
    for kind, truth in CASES:
        kernel = _kernel(kind, truth)
        tv_rel = _tv_weight(kernel)
        for i, (name, x) in enumerate(images):
            x = x.to(torch.float64)
            op = Convolution(kernel, tuple(x.shape[-2:]))
            y = simulate(x, op, Gaussian(NOISE), seed=seed0 + i)
            t0 = time.perf_counter()
            est = estimate_psf(y, kind)
            seconds = time.perf_counter() - t0
            op_est = est.operator(tuple(x.shape[-2:]))
            row = {"kind": kind, "truth": truth, "image": name, "estimate": est.params,
                   "std": est.std, "exponent": est.exponent, "noise_var": est.noise_var,
                   "seconds": seconds, "notes": est.notes}
            for method, solve in (
                    ("tikhonov-gcv", lambda y, o: tikhonov(y, o, lam="gcv",
                                                           reg="gradient").x),
                    ("tv", lambda y, o, r=tv_rel: tv(y, o, lam=r * o.norm() ** 2, n_iter=500).x)):
                known = float(psnr(solve(y, op).clamp(-1, 2), x))
                blind = float(psnr(solve(y, op_est).clamp(-1, 2), x))
                row[f"psnr_{method}_true_psf"] = known
                row[f"psnr_{method}_estimated_psf"] = blind
            if kind == "gaussian":
                row["rel_error"] = est.params["sigma"] / truth["sigma"] - 1
            else:
                row["length_error"] = est.params["length"] - truth["length"]
                row["angle_error"] = _angle_error(est.params["angle"], truth["angle"])
            rows.append(row)
            print(kind, truth, name, {k: round(v, 3) for k, v in est.params.items()},
                  f"TV {row['psnr_tv_true_psf']:.2f} → {row['psnr_tv_estimated_psf']:.2f}",
                  f"{seconds:.1f} s", flush=True)
    return rows


def run_ir(which: str) -> list[dict]:
    """The ×4 infrared camera's optics FWHM ∈ {0.8, 1.2, 2.0} detector px from 1 and from 8
    NUC-corrected frames (``physinv.thermal.estimate_fwhm``)."""
    from physinv.thermal import Camera, IRTask, Scene, acquire, calibration, estimate_fwhm
    from physinv.thermal.tasks import TEST_SEED, TRAIN_SEED

    seed0 = TEST_SEED if which == "test" else TRAIN_SEED
    rows = []
    for fwhm in (0.8, 1.2, 2.0):
        camera = Camera(factor=4, fwhm=fwhm, netd=0.05)
        task = IRTask("ir_sr_x4", "", Scene(shape=(128, 128)), camera)
        nuc = calibration(camera, (32, 32))
        frames = torch.cat([acquire(task, seed0 + i, nuc)[1] for i in range(8)])
        for n in (1, 8):
            t0 = time.perf_counter()
            est = estimate_fwhm(frames[:n], camera)
            rows.append({"kind": "ir-camera-fwhm", "truth": {"fwhm": fwhm}, "frames": n,
                         "estimate": est.params, "std": est.std, "exponent": est.exponent,
                         "rel_error": est.params["fwhm"] / fwhm - 1, "notes": est.notes,
                         "seconds": time.perf_counter() - t0})
            print("ir fwhm", fwhm, n, "frames:", round(est.params["fwhm"], 3), flush=True)
    return rows


def _kernel_errors(estimate: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
    """Relative L2 error of ``estimate`` against ``truth`` embedded centred in its support,
    as it is and at the best whole-pixel shift within ±2 px."""
    size = estimate.shape
    full = torch.zeros(size, dtype=torch.float64)
    oy, ox = (size[0] - truth.shape[0]) // 2, (size[1] - truth.shape[1]) // 2
    full[oy: oy + truth.shape[0], ox: ox + truth.shape[1]] = truth
    norm = float(full.norm())
    plain = float((estimate - full).norm()) / norm
    shifted = min(float((torch.roll(estimate, (a, b), (0, 1)) - full).norm()) / norm
                  for a in range(-2, 3) for b in range(-2, 3))
    return plain, shifted


def run_free(which: str, grid: str = "map", config: dict | None = None) -> list[dict]:
    """Free-form kernels on deblur_motion: the grid on training crops, or the default
    schedule on the test images."""
    from dataclasses import asdict

    from physinv.solvers.blind_kernel import Schedule, estimate_kernel

    images, seed0 = _images(which, n=6)
    configs = (FREE_GRID if grid == "map" else FREE_EM_GRID) if which == "train" else [
        config or {}]
    motions = FREE_TRAIN_KERNELS if which == "train" else [(9.0, 30.0)]
    weights = {m: _tv_weight(psf.motion(*m)) for m in motions}
    rows = []
    for (length, angle), config in itertools.product(motions, configs):
        truth = psf.motion(length, angle)
        tv_rel = weights[(length, angle)]
        schedule = Schedule(**config)
        for i, (name, x) in enumerate(images):
            x = x.to(torch.float64)
            op = Convolution(truth, tuple(x.shape[-2:]))
            y = simulate(x, op, Gaussian(NOISE), seed=seed0 + i)
            est = estimate_kernel(y, FREE_SUPPORT, schedule=schedule,
                                  restore_lam=tv_rel * op.norm() ** 2)
            error, error_shift = _kernel_errors(est.psf, truth)
            known = float(psnr(tv(y, op, lam=tv_rel * op.norm() ** 2, n_iter=300).x.clamp(
                -1, 2), x))
            row = {"kind": "free", "truth": {"length": length, "angle": angle},
                   "support": FREE_SUPPORT, "image": name, "schedule": asdict(schedule),
                   "kernel_rel_error": error, "kernel_rel_error_best_shift": error_shift,
                   "psnr_tv_true_psf": known,
                   "psnr_tv_estimated_psf": float(psnr(est.restored.clamp(-1, 2), x)),
                   "tv_rel_weight": tv_rel, "seconds": est.seconds,
                   "shape": list(x.shape[-2:])}
            rows.append(row)
            print("free", (length, angle), config, name, f"error {error:.3f} ({error_shift:.3f})",
                  f"TV {known:.2f} → {row['psnr_tv_estimated_psf']:.2f}",
                  f"{est.seconds:.1f} s", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", choices=("test", "train"), default="test")
    parser.add_argument("--mode", choices=("parametric", "free"), default="parametric")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--grid", choices=("map", "em"), default="map",
                        help="free mode, training crops: the MAP schedule grid or the EM one")
    parser.add_argument("--em", action="store_true",
                        help="free mode, test images: the EM kernel update (FREE_EM_TEST)")
    args = parser.parse_args()
    torch.set_num_threads(1 if args.mode == "free" else 2)
    started = time.perf_counter()
    if args.mode == "free":
        rows = run_free(args.images, args.grid, FREE_EM_TEST if args.em else None)
    else:
        rows = run(args.images) + run_ir(args.images)
    name = "blind_psf" if args.mode == "parametric" else "blind_psf_free"
    save_result(f"{name}-{args.images}", {
        "benchmark": name, "images": args.images, "noise_sigma": NOISE, "rows": rows,
        "seconds": time.perf_counter() - started, "environment": environment()}, args.json)


if __name__ == "__main__":
    main()
