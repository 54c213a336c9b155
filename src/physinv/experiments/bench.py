"""``physinv bench``: every method on the public protocol, side by side, one JSON per run.

Rows (one per task, method and test image) carry at least: task, method, library, n_train,
image, psnr, ssim, infer_ms, train_s, params_trainable, params_fixed, and the hyper-parameters
used. Estimates are clipped to [−1, 2] before scoring (a diverging method cannot dominate the
mean), and for ct_sparse restricted to the scanned disk, for every method alike.
Hyper-parameters that a method needs are chosen on the protocol's training crops only
(``n_train`` of them, with their own noise seeds): the grid value with the best mean PSNR.

Suites: ``classical`` (our solvers and scikit-image's), ``peers`` (scikit-image and, when
installed — extra ``[compare]`` —, DeepInverse and BM3D, beside our closest solvers; every
method timed as the best of two runs), ``nets`` (``experiments.nets_bench``). Every suite runs
on the public test set or on a folder of one's own images (``test_images``), prepared alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np

from physinv.errors import InputError
from physinv.experiments import peers
from physinv.experiments.protocol import (
    TASKS,
    evaluation_pairs,
    get_task,
    load_test_set,
    training_pairs,
)
from physinv.experiments.rows import Row, summarize
from physinv.io import environment
from physinv.operators import fbp
from physinv.solvers import (
    fista,
    gaussian_posterior,
    landweber,
    richardson_lucy,
    studentt,
    tikhonov,
    tv,
    wiener,
)
from physinv.solvers.tuning import grid_search, mean_score

SUITES = ("classical", "nets", "peers")
# our rows beside the other libraries in the peers suite (same protocol, same tuning)
PEER_REFERENCES = ("tikhonov-tuned", "tv", "fista-wavelet", "wiener", "fbp")


def _ours(task_name: str) -> list[tuple[str, Callable, list | None]]:
    """(method, fn(y, op, param) -> x, grid) for our classical and Bayesian solvers."""
    def tik_gcv(y, op, p):
        return tikhonov(y, op, lam="gcv").x

    def tik_tuned(y, op, p):  # λ relative to ‖H‖² (1 for blur, ~10⁴ for CT)
        return tikhonov(y, op, lam=p * op.norm() ** 2).x

    def gauss(y, op, p):
        return gaussian_posterior(y, op).x

    def vba(y, op, p):
        return studentt(y, op, method="vba").x

    def tv_fn(y, op, p):  # λ relative to ‖H‖²
        return tv(y, op, lam=p * op.norm() ** 2, positivity=task_name == "ct_sparse",
                  n_iter=500).x

    def fista_fn(y, op, p):
        return fista(y, op, lam=p, basis="wavelet", n_iter=200, tol=1e-5).x

    def lw(y, op, p):
        return landweber(y, op, n_iter=int(p), tol=None).x

    lam_grid = [float(v) for v in np.logspace(-4, 0, 17)]
    methods = [("tikhonov-gcv", tik_gcv, None), ("tikhonov-tuned", tik_tuned, lam_grid)]
    if task_name == "ct_sparse":
        methods += [
            ("fbp", lambda y, op, p: fbp(y, op, filter=p), ["ramp", "shepp-logan", "hann"]),
            ("tv", tv_fn, list(get_task(task_name).tv_grid)),
            ("landweber", lw, [10, 30, 100]),
        ]
        return methods
    methods += [("bayes-gauss", gauss, None), ("bayes-studentt", vba, None)]
    if task_name == "sr_x2":
        methods += [("tv", tv_fn, list(get_task(task_name).tv_grid))]
        return methods
    tv_grid = list(get_task(task_name).tv_grid)
    fista_grid = [0.02, 0.05, 0.1, 0.2, 0.3] if task_name == "denoise" else [
        1e-3, 3e-3, 1e-2, 3e-2]
    methods += [("tv", tv_fn, tv_grid), ("fista-wavelet", fista_fn, fista_grid)]
    if task_name.startswith("deblur"):
        methods += [("wiener", lambda y, op, p: wiener(y, op).x, None),
                    ("richardson_lucy", lambda y, op, p: richardson_lucy(
                        y, op, n_iter=int(p), tol=None).x, [5, 10, 20, 40, 80])]
    return methods


def _tune(task, fn, grid, train) -> tuple[object, float]:
    """(the grid value with the best mean protocol PSNR on the training pairs, seconds)."""
    start = time.perf_counter()
    if grid is None:
        return None, 0.0
    best, _ = grid_search(lambda value: mean_score(
        lambda y, op: fn(y, op, value), train, task.psnr), grid)
    return best, time.perf_counter() - start


def _params_fixed(op) -> int:
    return int(sum(b.numel() for b in op.buffers()))


def run_suite(suite: str = "classical", tasks=None, n_train: int = 4, n_images: int | None = None,
              methods=None, progress: Callable | None = None, test_images=None) -> dict:
    """Run the suite and return ``{"environment", "rows", "summary", ...}``.

    For each task, each method's hyper-parameter is chosen on ``n_train`` training crops
    (the grid value with the best mean protocol PSNR, ``grid_search`` over ``mean_score``),
    then every test image is reconstructed and scored by ``task.score``; the inference time
    is the best of two runs for physinv's methods and in the peers suite, one run otherwise.

    Parameters
    ----------
    suite : {"classical", "peers", "nets"}, default "classical"
        ``classical``: physinv's solvers and scikit-image's; ``peers``: scikit-image and
        DeepInverse (when installed) beside ``PEER_REFERENCES``; ``nets``: handed to
        ``nets_bench.run_nets`` (with ``tasks``, ``methods`` as networks, ``n_images`` and
        ``progress``; ``n_train`` is not used there).
    tasks : list of str, optional
        Protocol tasks (default: all five; for ``nets``, ``NETS_TASKS``).
    n_train : int, default 4
        Training crops for tuning.
    n_images : int, optional
        Only the first test images (default: all four).
    methods : list of str, optional
        Only these method names (default: all of the suite).
    progress : callable, optional
        Called with a ``"task: method"`` text before each method.
    test_images : str or Path, optional
        A folder of one's own test images instead of the public set (``protocol.load_test_set``:
        centre 256×256 crops, named after the files, seeds 1234 + i in file-name order); read
        and checked before any work.

    Returns
    -------
    dict
        ``suite``, ``protocol``, ``when`` (UTC, ISO 8601), ``seconds``, ``n_train``,
        ``test_set`` (``protocol.load_test_set``'s record), ``environment`` (with the DeepInverse
        and bm3d versions in the peers suite), ``notes`` (e.g. BM3D not installed), ``rows``
        (one ``Row.to_dict()`` per task, method and image) and ``summary``
        (``summarize(rows)``).

    Raises
    ------
    InputError
        For an unknown suite or task, or a test folder ``protocol.load_test_set`` refuses.
    """
    if suite not in SUITES:
        raise InputError("suite", suite, f"one of {SUITES}")
    if suite == "nets":
        from physinv.experiments.nets_bench import NETS_TASKS, run_nets

        return run_nets(tasks=tasks or NETS_TASKS, networks=methods, n_images=n_images,
                        progress=progress, test_images=test_images)
    tasks = list(TASKS) if tasks is None else list(tasks)
    for name in tasks:
        get_task(name)
    own, record = load_test_set(test_images)
    record["images"] = record["images"][: n_images or None]
    notes = []
    if suite == "peers" and peers.bm3d_module() is None:
        notes.append(peers.BM3D_NOTE)
    rows = []
    started = time.perf_counter()
    for task_name in tasks:
        task = get_task(task_name)
        train = training_pairs(task, n_train)
        tests = evaluation_pairs(task, n_images, images=own)
        entries = [("physinv", *m) for m in _ours(task_name)] + [
            ("scikit-image", *m) for m in peers.peers_for(task_name)]
        if suite == "peers":
            entries = [e for e in entries if e[0] != "physinv" or e[1] in PEER_REFERENCES]
            entries += [("deepinv", *m) for m in peers.deepinv_peers_for(task_name)]
            entries += [("bm3d", *m) for m in peers.bm3d_peers_for(
                task_name, getattr(task.noise(), "sigma", None))]
        for library, method, fn, grid in entries:
            if methods is not None and method not in methods:
                continue
            if progress is not None:
                progress(f"{task_name}: {method}")
            value, train_s = _tune(task, fn, grid, train)
            for name, x, y, op in tests:
                times = []
                for _ in range(2 if library == "physinv" or suite == "peers" else 1):
                    t0 = time.perf_counter()
                    est = fn(y, op, value)
                    times.append(time.perf_counter() - t0)
                p, s = task.score(est, x)
                rows.append(Row(task_name, method, name, library=library,
                                n_train=n_train if grid is not None else 0, psnr=p, ssim=s,
                                infer_ms=1e3 * float(np.min(times)), train_s=train_s,
                                params_fixed=_params_fixed(op),
                                hyper=_hyper(fn, grid, value)).to_dict())
    env = environment()
    if suite == "peers":
        dinv = peers.deepinv_module()
        env["deepinv"] = dinv.__version__ if dinv is not None else "not available"
        env["bm3d"] = _version("bm3d") if peers.bm3d_module() is not None else "not available"
    return {"suite": suite, "protocol": "v1.1", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "seconds": time.perf_counter() - started, "n_train": n_train,
        "test_set": record, "environment": env, "notes": notes, "rows": rows,
        "summary": summarize(rows)}


def _hyper(fn, grid, value):
    """What a row records as its hyper-parameter: the tuned value, or for a method with fixed
    settings (``fn.hyper``, e.g. BM3D's true σ) those, with the tuned one (``fn.tuned``)."""
    fixed = getattr(fn, "hyper", None)
    if fixed is None:
        return value if grid is not None else None
    return dict(fixed, **({fn.tuned: value} if grid is not None else {}))


def _version(package: str) -> str:
    """The installed version of a distribution ("unknown" without metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
