"""``physinv bench --suite nets``: every network × training-set size N on the public protocol.

For each task: the networks the operator allows (``physinv.nets.registry``), each initialised at
the Tikhonov λ chosen on its N training crops (grid of λ/‖H‖², best mean PSNR), trained by the
recipe (``physinv.train.recipe``, preset ``default``) on the N crops (128×128, fresh noise and
symmetries every epoch, the per-image log-MSE loss, early stopping on held-out crops, a time
budget), then moved to the 256×256 test grid with ``for_operator`` and scored like every method
(clipped to [−1, 2], CT restricted to the disk). References in the same run: Tikhonov and TV tuned
on training crops (the classical suite's best solvers), and for the linear limit on deblurring the
per-image oracle Wiener filter (each test image's own spectrum and the true σ) and Tikhonov with
the best λ per test image in hindsight. One row per (task, method, n_train, image); a figure per
task, test PSNR against N.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
import torch

from physinv.errors import InputError, check_int
from physinv.experiments.protocol import evaluation_pairs, get_task, load_test_set, training_pairs
from physinv.experiments.rows import Row, summarize
from physinv.nets.registry import NETWORKS, available
from physinv.solvers import tikhonov, tv, wiener
from physinv.solvers.tuning import grid_search
from physinv.train import Measurements
from physinv.train.recipe import train_network as recipe_train

NETS_TASKS = ("deblur_gauss", "sr_x2", "ct_sparse")
N_TRAINS = (1, 4, 16, 64)
HINDSIGHT_GRID = [float(v) for v in np.logspace(-5, 0, 41)]  # λ / ‖H‖², per test image


def _references(task, tests, train, lam) -> list[Row]:
    """Rows for the classical references and (deblurring) the linear limit."""
    rows = []
    norm2 = tests[0][3].norm() ** 2
    t0 = time.perf_counter()
    tv_best = task.tv_weight(train, norm2)
    tv_s = time.perf_counter() - t0
    for name, x, y, op in tests:
        entries = [("tikhonov-tuned", lambda y=y, op=op: tikhonov(y, op, lam=lam).x,
                    "classical", lam),
                   ("tv-tuned", lambda y=y, op=op: tv(y, op, lam=tv_best * norm2, n_iter=500,
                                                      positivity=task.positivity).x,
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
            p, s = task.score(est, x)
            rows.append(Row(task.name, method, name, family=family, psnr=p, ssim=s,
                            infer_ms=ms, train_s=tv_s if method == "tv-tuned" else 0.0,
                            params_fixed=_fixed(op), hyper=hyper))
        if op.has_fourier_diagonal or task.name == "sr_x2":
            scores = {rel: task.score(tikhonov(y, op, lam=rel * norm2).x, x)
                      for rel in HINDSIGHT_GRID}
            rel, _ = grid_search(lambda r, scores=scores: scores[r][0], HINDSIGHT_GRID)
            p, s = scores[rel]
            rows.append(Row(task.name, "tikhonov-hindsight", name, family="limit", psnr=p,
                            ssim=s, params_fixed=_fixed(op), hyper=rel * norm2))
    return rows


def _fixed(op) -> int:
    return int(sum(b.numel() for b in op.buffers()))


def train_network(name: str, task, n_train: int, budget_s: float, epochs: int, seed: int = 0,
                  lam: float | None = None, train=None):
    """(net trained by the recipe's ``default`` preset on the 128×128 training grid,
    FitResult, λ used).

    Parameters
    ----------
    name : str
        A network of ``physinv.nets.registry.NETWORKS``.
    task : Task
        The protocol task (operator, noise, λ tuning).
    n_train : int
        Training crops (used when ``train`` is not given).
    budget_s : float
        Time budget of the training, in seconds (``max_time``).
    epochs : int
        Maximum number of epochs (early stopping as the preset says).
    seed : int, default 0
        Seed of the weights, the data order and the noise.
    lam : float, optional
        λ of the analytic initialisation (default: ``task.tikhonov_lambda(train)``).
    train : list of (x, y, op), optional
        The training pairs (default: ``training_pairs(task, n_train)``, float64); the
        network trains on their clean crops with fresh noise (``Measurements``).

    Returns
    -------
    (net, FitResult, float)
    """
    if train is None:
        train = training_pairs(task, n_train, dtype=torch.float64)
    if lam is None:
        lam = task.tikhonov_lambda(train)
    crops = torch.cat([x for x, _, _ in train]).float()
    data = Measurements(crops, train[0][2], task.noise())
    net, result = recipe_train(name, data, lam, "default", epochs=epochs, max_time=budget_s,
                               seed=seed)
    return net, result, lam


def run_nets(tasks=NETS_TASKS, n_trains=N_TRAINS, networks=None, budget_s: float = 90.0,
             epochs: int = 60, n_images: int | None = None, seed: int = 0,
             progress: Callable | None = None, test_images=None) -> dict:
    """Run the suite; returns ``{"environment", "rows", "summary", ...}`` like ``run_suite``.

    For each task: the reference rows (Tikhonov and TV tuned on 4 training crops, the
    linear limit where it applies), then for each N of ``n_trains`` each network the
    operator allows trained on N crops (``train_network``) and scored on the 256×256 test
    images (inference time: the best of two runs).

    Parameters
    ----------
    tasks : sequence of str, default NETS_TASKS
        Protocol tasks (deblur_gauss, sr_x2, ct_sparse).
    n_trains : sequence of int, default N_TRAINS
        Training-set sizes N (1, 4, 16, 64).
    networks : list of str, optional
        Only these networks (default: every one the operator allows).
    budget_s : float, default 90.0
        Training time budget per network and N, in seconds.
    epochs : int, default 60
        Maximum epochs per training.
    n_images : int, optional
        Only the first test images.
    seed : int, default 0
        Training seed.
    progress : callable, optional
        Called with a text before each step.
    test_images : str or Path, optional
        A folder of one's own test images instead of the public set (``protocol.load_test_set``).

    Returns
    -------
    dict
        ``suite``, ``protocol``, ``when``, ``seconds``, ``budget_s``, ``epochs``, ``seed``,
        ``test_set`` (``protocol.load_test_set``'s record),
        ``environment``, ``rows`` (with ``stop_reason``, ``best_epoch``, ``n_steps`` and
        ``best_val_s`` for networks), ``summary`` (``summarize_nets``) and
        ``summary_by_method``.

    Raises
    ------
    InputError
        For a non-positive N or an unknown network name.
    """
    from physinv.io import environment

    n_trains = [check_int("n_train", n) for n in n_trains]
    if networks is not None:
        for name in networks:
            if name not in NETWORKS:
                raise InputError("methods", name, f"network names from {sorted(NETWORKS)}")
    own, record = load_test_set(test_images)
    rows = []
    started = time.perf_counter()
    for task_name in tasks:
        task = get_task(task_name)
        tests = evaluation_pairs(task, n_images, dtype=torch.float32, images=own)
        tests64 = evaluation_pairs(task, n_images, images=own)
        ref_train = training_pairs(task, 4)
        lam_ref = task.tikhonov_lambda(ref_train)
        if progress is not None:
            progress(f"{task_name}: references")
        rows += _references(task, tests64, ref_train, lam_ref)
        allowed = [n for n, why in available(tests[0][3]).items() if why is None]
        names = [n for n in allowed if networks is None or n in networks]
        for n_train in n_trains:
            train = training_pairs(task, n_train)
            lam = task.tikhonov_lambda(train)
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
                    p, s = task.score(est, x)
                    rows.append(Row(task_name, name, image, family=NETWORKS[name].family,
                                    n_train=n_train, psnr=p, ssim=s, infer_ms=1e3 * min(times),
                                    train_s=result.train_s,
                                    params_trainable=net.trainable_parameters(),
                                    params_fixed=net.fixed_parameters(), hyper=lam,
                                    extra={"stop_reason": result.stop_reason,
                                           "best_epoch": result.best_epoch,
                                           "n_steps": result.n_steps,
                                           "best_val_s": _best_val_time(result)}))
    rows = [r.to_dict() for r in rows]
    summary = summarize_nets(rows)
    return {"suite": "nets", "protocol": "v1", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "seconds": time.perf_counter() - started,
        "budget_s": budget_s, "epochs": epochs, "seed": seed, "test_set": record,
        "environment": environment(), "rows": rows, "summary": summary,
        "summary_by_method": summarize(rows)}


def _best_val_time(result) -> float:
    for h in result.history:
        if h["epoch"] == result.best_epoch:
            return float(h["seconds"])
    return 0.0


def summarize_nets(rows) -> list[dict]:
    """Mean PSNR / SSIM per (task, method, n_train), with the network's family and size.

    Parameters
    ----------
    rows : list of dict
        ``Row.to_dict()`` outputs of ``run_nets``.

    Returns
    -------
    list of dict
        ``summarize`` grouped by (task, method, n_train), with ``family``, ``train_s`` and
        ``params_trainable`` of the group's first row.
    """
    return summarize(rows, by=("task", "method", "n_train"),
                     first=("family", "train_s", "params_trainable"))


def plot_nets(result: dict, path_for_task: Callable, n_images: int = 4) -> list:
    """One figure per task: test PSNR against N (log axis), a line per network, references
    as horizontal lines. ``path_for_task(task)`` gives each PNG's path; returns the paths.

    Parameters
    ----------
    result : dict
        ``run_nets``' output (its ``summary`` is plotted; rows with ``n_train`` 0 are the
        references, black-box networks are dashed).
    path_for_task : callable
        ``path_for_task(task) -> path`` of the PNG file (written atomically).
    n_images : int, default 4
        The number of test images, for the axis label.

    Returns
    -------
    list
        The paths written, one per task in name order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from physinv.io import atomic_write

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
