"""``physinv bench --suite nets``: every network × training-set size N on the public protocol.

For each task: the networks the operator allows (``physinv.nets.registry``), each initialised
at the Tikhonov λ chosen on its N training crops (grid of λ/‖H‖², best mean PSNR), trained by
``physinv.train.fit`` on the N crops (128×128, fresh noise and symmetries every epoch, the
per-image log-MSE loss, early stopping on held-out crops, a time budget), then moved to the
256×256 test grid with ``for_operator`` and scored like every method (clipped to [−1, 2], CT
restricted to the disk). References in the same run: Tikhonov and TV tuned on training crops
(the classical suite's best solvers), and for the linear limit on deblurring the per-image
oracle Wiener filter (each test image's own spectrum and the true σ) and Tikhonov with the best
λ per test image in hindsight. One row per (task, method, n_train, image); a figure per task,
test PSNR against N.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
import torch

from physinv.errors import InputError, check_int
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.metrics import psnr, ssim
from physinv.nets.registry import NETWORKS, available, build
from physinv.solvers import tikhonov, tv, wiener
from physinv.train import Measurements, fit

NETS_TASKS = ("deblur_gauss", "sr_x2", "ct_sparse")
N_TRAINS = (1, 4, 16, 64)
LAM_GRID = [float(v) for v in np.logspace(-4, 0, 9)]  # λ / ‖H‖²
TV_GRID = {"deblur_gauss": [3e-4, 1e-3, 2e-3, 4e-3, 8e-3], "deblur_motion": [3e-4, 1e-3, 2e-3,
           4e-3, 8e-3], "sr_x2": [3e-4, 1e-3, 3e-3, 1e-2], "ct_sparse": [1e-4, 3e-4, 1e-3, 3e-3],
           "denoise": [0.02, 0.04, 0.06, 0.08, 0.12]}
MAX_TUNE_IMAGES = 4
PATIENCE = 15
PER_FREQUENCY = ("fourier", "analytic", "svd")


def score(task, est, x) -> tuple[float, float]:
    est = est.to(x.dtype) if task is None else task.restrict(est.to(x.dtype))
    est = est.clamp(-1, 2)
    return float(psnr(est, x)), float(ssim(est.clamp(0, 1), x))


def choose_lambda(task, train, grid=LAM_GRID) -> float:
    """Tikhonov λ (absolute) with the best mean PSNR on (at most 4 of) the training pairs
    [(x, y, op)] (``task`` None: over the whole image)."""
    pairs = train[:MAX_TUNE_IMAGES]
    norm2 = pairs[0][2].norm() ** 2
    best, best_score = grid[0], -math.inf
    for rel in grid:
        mean = np.mean([score(task, tikhonov(y, op, lam=rel * norm2, tol=1e-6,
                                                  max_iter=200).x, x)[0]
                         for x, y, op in pairs])
        if mean > best_score:
            best, best_score = rel, mean
    return best * norm2


def choose_tv(task, train, norm2: float | None = None) -> float:
    """TV's λ / ‖H‖² (``norm2`` = ‖H‖², by default the training operator's) with the best
    mean PSNR on (at most 4 of) the training pairs [(x, y, op)]."""
    pairs = train[:MAX_TUNE_IMAGES]
    norm2 = pairs[0][2].norm() ** 2 if norm2 is None else norm2
    grid = TV_GRID.get(task.name, TV_GRID["deblur_gauss"])
    best, best_score = grid[0], -math.inf
    for rel in grid:
        mean = np.mean([score(task, tv(y, op, lam=rel * norm2, n_iter=500,
                                       positivity=task.name == "ct_sparse").x, x)[0]
                        for x, y, op in pairs])
        if mean > best_score:
            best, best_score = rel, mean
    return best


def _references(task, tests, train, lam) -> list[dict]:
    """Rows for the classical references and (deblurring) the linear limit."""
    rows = []
    norm2 = tests[0][3].norm() ** 2
    t0 = time.perf_counter()
    tv_best = choose_tv(task, train, norm2)
    tv_s = time.perf_counter() - t0
    fine = [float(v) for v in np.logspace(-5, 0, 41)]
    for name, x, y, op in tests:
        entries = [("tikhonov-tuned", lambda y=y, op=op: tikhonov(y, op, lam=lam).x,
                    "classical", lam),
                   ("tv-tuned", lambda y=y, op=op: tv(y, op, lam=tv_best * norm2, n_iter=500,
                                                      positivity=task.name == "ct_sparse").x,
                    "classical", tv_best * norm2)]
        if op.has_fourier_diagonal:
            sigma2 = task.noise().variance(None)
            n = x[0, 0].numel()
            psd = torch.fft.fft2(x.to(torch.float64)).abs() ** 2 / n
            entries.append(("oracle-wiener", lambda y=y, op=op, s2=sigma2, psd=psd: wiener(
                y, op, noise_var=s2, signal_psd=psd[0, 0]).x, "limit", None))
        for method, fn, family, hyper in entries:
            t0 = time.perf_counter()
            est = fn()
            ms = 1e3 * (time.perf_counter() - t0)
            p, s = score(task, est, x)
            rows.append(_row(task.name, method, family, 0, name, p, s, ms,
                             tv_s if method == "tv-tuned" else 0.0, 0, _fixed(op), hyper))
        if op.has_fourier_diagonal or task.name == "sr_x2":
            scores = [(score(task, tikhonov(y, op, lam=rel * norm2).x, x), rel) for rel in fine]
            (p, s), rel = max(scores, key=lambda t: t[0][0])
            rows.append(_row(task.name, "tikhonov-hindsight", "limit", 0, name, p, s, 0.0, 0.0,
                             0, _fixed(op), rel * norm2))
    return rows


def _fixed(op) -> int:
    return int(sum(b.numel() for b in op.buffers()))


def _row(task, method, family, n_train, image, p, s, ms, train_s, trainable, fixed, hyper,
         **extra) -> dict:
    return {"task": task, "method": method, "family": family, "library": "physinv",
            "n_train": n_train, "image": image, "psnr": p, "ssim": s, "infer_ms": ms,
            "train_s": train_s, "params_trainable": trainable, "params_fixed": fixed,
            "hyper": hyper, **extra}


def train_network(name: str, task, n_train: int, budget_s: float, epochs: int, seed: int = 0,
                  lam: float | None = None, train=None):
    """(trained net on the 128×128 training grid, FitResult, λ used)."""
    if train is None:
        train = training_pairs(task, n_train, dtype=torch.float64)
    if lam is None:
        lam = choose_lambda(task, train)
    crops = torch.cat([x for x, _, _ in train]).float()
    op = train[0][2]
    torch.manual_seed(seed)
    net = build(name, op, lam)
    data = Measurements(crops, op, task.noise())
    result = fit(net, data, epochs=epochs, max_time=budget_s, seed=seed, norm="log",
                 patience=PATIENCE)
    return net, result, lam


def run_nets(tasks=NETS_TASKS, n_trains=N_TRAINS, networks=None, budget_s: float = 90.0,
             epochs: int = 60, n_images: int | None = None, seed: int = 0,
             progress: Callable | None = None) -> dict:
    """Run the suite; returns ``{"environment", "rows", "summary", ...}`` like ``run_suite``."""
    from physinv.experiments.bench import environment, summarize

    n_trains = [check_int("n_train", n) for n in n_trains]
    if networks is not None:
        for name in networks:
            if name not in NETWORKS:
                raise InputError("methods", name, f"network names from {sorted(NETWORKS)}")
    rows = []
    started = time.perf_counter()
    for task_name in tasks:
        task = get_task(task_name)
        tests = evaluation_pairs(task, n_images, dtype=torch.float32)
        tests64 = evaluation_pairs(task, n_images)
        ref_train = training_pairs(task, 4)
        lam_ref = choose_lambda(task, ref_train)
        if progress is not None:
            progress(f"{task_name}: references")
        rows += _references(task, tests64, ref_train, lam_ref)
        allowed = [n for n, why in available(tests[0][3]).items() if why is None]
        names = [n for n in allowed if networks is None or n in networks]
        for n_train in n_trains:
            train = training_pairs(task, n_train)
            lam = choose_lambda(task, train)
            for name in names:
                if progress is not None:
                    progress(f"{task_name}: {name}, N = {n_train}")
                net, result, _ = train_network(name, task, n_train, budget_s, epochs, seed, lam,
                                                train)
                for image, x, y, op in tests:
                    test_net = net.for_operator(op)
                    with torch.no_grad():
                        times = []
                        for _ in range(2):
                            t0 = time.perf_counter()
                            est = test_net(y)
                            times.append(time.perf_counter() - t0)
                    p, s = score(task, est, x)
                    rows.append(_row(task_name, name, NETWORKS[name].family, n_train, image, p,
                                     s, 1e3 * min(times), result.train_s,
                                     net.trainable_parameters(), net.fixed_parameters(), lam,
                                     stop_reason=result.stop_reason,
                                     best_epoch=result.best_epoch, n_steps=result.n_steps,
                                     best_val_s=_best_val_time(result)))
    summary = summarize_nets(rows)
    return {"suite": "nets", "protocol": "v1", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "seconds": time.perf_counter() - started,
        "budget_s": budget_s, "epochs": epochs, "seed": seed,
        "environment": environment(), "rows": rows, "summary": summary,
        "summary_by_method": summarize(rows)}


def _best_val_time(result) -> float:
    for h in result.history:
        if h["epoch"] == result.best_epoch:
            return float(h["seconds"])
    return 0.0


def summarize_nets(rows) -> list[dict]:
    """Mean PSNR / SSIM per (task, method, n_train)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], r["method"], r["n_train"]), []).append(r)
    out = []
    for (task, method, n_train), rs in groups.items():
        out.append({"task": task, "method": method, "family": rs[0]["family"],
                    "n_train": n_train, "psnr": float(np.mean([r["psnr"] for r in rs])),
                    "ssim": float(np.mean([r["ssim"] for r in rs])),
                    "infer_ms": float(np.median([r["infer_ms"] for r in rs])),
                    "train_s": rs[0]["train_s"], "params_trainable": rs[0]["params_trainable"],
                    "n_images": len(rs)})
    return out


def plot_nets(result: dict, path_for_task: Callable, n_images: int = 4) -> list:
    """One figure per task: test PSNR against N (log axis), a line per network, references
    as horizontal lines. ``path_for_task(task)`` gives each PNG's path; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from physinv.data.io import atomic_write

    written = []
    summary = result["summary"]
    for task in sorted({r["task"] for r in summary}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        rows = [r for r in summary if r["task"] == task]
        colours = plt.get_cmap("tab20").colors
        for i, method in enumerate(sorted({r["method"] for r in rows if r["n_train"] > 0})):
            pts = sorted((r["n_train"], r["psnr"]) for r in rows if r["method"] == method)
            style = "--" if NETWORKS[method].family == "black-box" else "-"
            ax.plot(*zip(*pts, strict=True), style, marker="o", label=method,
                    color=colours[i % len(colours)])
        refs = [r for r in rows if r["n_train"] == 0]
        for r, colour in zip(refs, ("k", "grey", "tab:red", "tab:brown"), strict=False):
            ax.axhline(r["psnr"], color=colour, lw=1, ls=":", label=f"{r['method']} "
                       f"({r['psnr']:.2f})")
        ax.set_xscale("log")
        ax.set_xlabel("training crops N (128×128)")
        plural = "s" if n_images > 1 else ""
        ax.set_ylabel(f"test PSNR (dB, {n_images} public image{plural})")
        ax.set_title(f"{task}: physics-constrained vs black-box networks")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = path_for_task(task)
        atomic_write(path, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format="png"))
        plt.close(fig)
        written.append(path)
    return written
