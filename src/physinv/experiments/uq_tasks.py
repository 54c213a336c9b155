"""Calibrating the variance of a solver or a trained network on a protocol task's held-out crops.

``physinv calibrate`` and the end of ``physinv train`` call these. The variance of a method is
its posterior's where it has one (bayes-gauss, bayes-studentt) and the equivariant bootstrap's
(``physinv.uq.equivariant_bootstrap``, K reconstructions) otherwise; its split-conformal scales

.. math::

    s_α = r_{(⌈(n+1)α⌉)},   r_j = |x_j − x̂_j| / (z_α √v_j)

— or, by default, the two-parameter σ_α² = a_α v + b_α β² (``physinv.uq.fit_weights``; v the
bootstrap's spread or the posterior variance, β² = ``BIAS``: the smoothed squared high-pass of
x̂, the proxy of the error's bias part that was best on validation crops 12–15 for Tikhonov,
the Gaussian posterior and FBP in ``benchmarks/uq_coverage.py``) — are fitted on held-out
128×128 training crops (``patches.training_crops``), each measured with
``n_draws`` fresh noise draws of the task — never on test images. Which crops: a solver's start
after crop 3 (crops 0–3 tune the protocol's λ and TV weights), a network's after the crops it
was trained on.

>>> [tuple(x.shape) for x, _ in held_out(get_task("denoise"), 4, 2)]
[(1, 1, 128, 128), (1, 1, 128, 128)]
"""

from __future__ import annotations

import torch

from physinv.data import patches
from physinv.experiments.protocol import get_task
from physinv.uq import bias_proxy, calibrate, equivariant_bootstrap

CALIBRATION_FILE = "calibration.json"  # a run folder's calibration
N_IMAGES, N_DRAWS, SAMPLES = 4, 2, 16  # defaults: held-out crops, draws per crop, bootstrap K
SOLVER_START = 4  # a solver's calibration crops start here (0–3 tune the protocol's solvers)
DRAW_SEED = 50_000  # seeds of the calibration draws (training uses 10 000 + i)
BIAS = ("highpass", 2.0)  # the default bias proxy β² (kind, window px) of the calibration


def held_out(task, start: int, n: int) -> list:
    """[(x, op)]: the task's prepared training crops ``start`` … ``start + n − 1``."""
    crops = task.prepare(patches.training_crops(start + n).to(torch.float64))[start:]
    op = task.operator(tuple(crops.shape[-2:]))
    return [(crops[i: i + 1], op) for i in range(n)]


def _with_bias(x_hat, v, boot, bias):
    """(x̂, v) or, with ``bias`` = (kind, width), (x̂, v, β²) (``uq.bias_proxy``)."""
    if bias is None:
        return x_hat, v
    return x_hat, v, bias_proxy(bias[0], x_hat, None if boot is None else boot.mean, bias[1])


def solver_estimator(method: str, noise, samples: int, options: dict | None = None,
                     restrict=None, bias=None):
    """``(y, op) -> (x̂, v)`` for a solver of the registry, as ``physinv reconstruct`` makes
    them: the posterior variance if the solver gives one, else the bootstrap's (seed 0);
    ``restrict`` (e.g. ``task.restrict``: CT's disk) applied to every reconstruction. With
    ``bias`` = (kind, width): ``(x̂, v, β²)``, v the bootstrap's spread (noise part)."""
    from physinv.solvers.registry import run

    options = dict(options or {})
    restrict = restrict or (lambda x: x)

    def reconstruct(y, op):
        return restrict(run(method, y, op, **options).x)

    def estimate(y, op):
        result = run(method, y, op, **options)
        if result.variance is not None:
            return _with_bias(restrict(result.x), restrict(result.variance), None, bias)
        x_hat = restrict(result.x)
        boot = equivariant_bootstrap(reconstruct, y, op, noise, x_hat=x_hat,
                                     n_samples=samples, seed=0)
        return _with_bias(x_hat, boot.variance if bias is None else boot.spread, boot, bias)

    return estimate


def network_estimator(net, noise, samples: int, bias=None):
    """``(y, op) -> (x̂, v)`` for a trained network (float32 forward, as ``reconstruct
    --net``), the bootstrap variance with K = ``samples`` (seed 0); with ``bias``:
    ``(x̂, spread, β²)`` as ``solver_estimator``."""
    device = next(net.parameters()).device

    def reconstruct(y, op):
        with torch.no_grad():
            return net(y.to(device, torch.float32)).to("cpu", torch.float64)

    def estimate(y, op):
        x_hat = reconstruct(y, op)
        boot = equivariant_bootstrap(reconstruct, y, op, noise, x_hat=x_hat, n_samples=samples,
                                     seed=0)
        return _with_bias(x_hat, boot.variance if bias is None else boot.spread, boot, bias)

    return estimate


def _describe(task, start, n_images, n_draws, extra=""):
    return (f"{task.name} training crops {start}-{start + n_images - 1} (128×128), "
            f"{n_draws} noise draws each{extra}")


def calibrate_solver(method: str, task_name: str, n_images: int = N_IMAGES,
                     n_draws: int = N_DRAWS, samples: int = SAMPLES,
                     options: dict | None = None, bias=BIAS):
    """The calibration of a registry solver on ``task_name``'s held-out crops.

    Parameters
    ----------
    method : str
        A solver of ``physinv.solvers.registry.METHODS``.
    task_name : str
        A protocol task (its operator spec and noise are recorded).
    n_images, n_draws, samples : int
        Held-out crops (≥ 2, from crop ``SOLVER_START``), noise draws per crop, bootstrap K.
    options : dict, optional
        The solver's options (e.g. ``{"lam": "gcv"}``), as ``reconstruct`` will pass them.
    bias : (str, float) or None, default ``BIAS``
        The bias proxy of the two-parameter calibration; None: one scale per level.

    Returns
    -------
    physinv.uq.Calibration
    """
    from physinv.solvers.registry import run

    task = get_task(task_name)
    pairs = held_out(task, SOLVER_START, n_images)
    noise = task.noise()
    options = {k: v for k, v in (options or {}).items() if v is not None}
    x, op = pairs[0]
    probe = run(method, task.measure(x, op, DRAW_SEED), op, **options)
    source = "posterior" if probe.variance is not None else "bootstrap"
    estimator = ("mse" if bias is None else "spread") if source == "bootstrap" else None
    return calibrate(solver_estimator(method, noise, samples, options, task.restrict, bias),
                     pairs, noise,
                     method=method, operator=task.spec, variance_source=source,
                     calibration_set=_describe(task, SOLVER_START, n_images, n_draws),
                     n_draws=n_draws, seed=DRAW_SEED,
                     samples=samples if source == "bootstrap" else None,
                     estimator=estimator, options=options, **_bias_record(bias))


def _bias_record(bias) -> dict:
    return {} if bias is None else {"bias_proxy": bias[0], "bias_width": float(bias[1])}


def calibrate_network(net, task_name: str, operator: str, start: int,
                      n_images: int = N_IMAGES, n_draws: int = N_DRAWS,
                      samples: int = SAMPLES, bias=BIAS):
    """The bootstrap calibration of a trained network on ``task_name``'s crops ``start`` …
    (the first ones it was not trained on).

    Parameters
    ----------
    net : PhysicsNet
        The trained network, built on the task's 128×128 operator.
    task_name : str
        The protocol task it was trained for.
    operator : str
        The operator spec its checkpoint records (what ``reconstruct --net`` compares).
    start : int
        The first held-out crop (the number of training crops).
    n_images, n_draws, samples : int
        Held-out crops (≥ 2), noise draws per crop, bootstrap K.
    bias : (str, float) or None, default ``BIAS``
        As ``calibrate_solver``.

    Returns
    -------
    physinv.uq.Calibration
    """
    task = get_task(task_name)
    pairs = [(x, net.op) for x, _ in held_out(task, start, n_images)]
    noise = task.noise()
    return calibrate(network_estimator(net, noise, samples, bias), pairs, noise,
                     method=type(net).__name__, operator=operator,
                     variance_source="bootstrap",
                     calibration_set=_describe(task, start, n_images, n_draws,
                                               " (not trained on)"),
                     n_draws=n_draws, seed=DRAW_SEED, samples=samples,
                     estimator="mse" if bias is None else "spread", **_bias_record(bias))
