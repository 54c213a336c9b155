"""Calibrating the variance of a solver or a trained network on a protocol task's held-out crops.

``physinv calibrate`` and the end of ``physinv train`` call these. The variance of a method is
its posterior's where it has one (bayes-gauss, bayes-studentt) and the equivariant bootstrap's
(``physinv.uq.equivariant_bootstrap``, K reconstructions) otherwise; its split-conformal scales

.. math::

    s_α = r_{(⌈(n+1)α⌉)},   r_j = |x_j − x̂_j| / (z_α √v_j)

— or the two-parameter σ_α² = a_α v + b_α β² (``physinv.uq.fit_weights``; v the bootstrap's
spread or the posterior variance, β² a local bias proxy) — are fitted for every candidate of
``physinv.uq.select`` on held-out 128×128 training crops (``patches.training_crops``), each
measured with ``n_draws`` fresh noise draws of the task, and the candidate is chosen on the
``n_validation`` crops after them (one draw each) — never on test images. Which crops: a
solver's start after crop 3 (crops 0–3 tune the protocol's λ and TV weights), a network's after
the crops it was trained on.

>>> [tuple(x.shape) for x, _ in held_out(get_task("denoise"), 4, 2)]
[(1, 1, 128, 128), (1, 1, 128, 128)]
"""

from __future__ import annotations

import torch

from physinv.data import patches
from physinv.experiments.protocol import get_task
from physinv.uq import draws, equivariant_bootstrap
from physinv.uq.select import Maps, select

CALIBRATION_FILE = "calibration.json"  # a run folder's calibration
N_IMAGES, N_VALIDATION, N_DRAWS, SAMPLES = 8, 4, 2, 16  # defaults: calibration crops,
# validation crops (the choice of candidate), noise draws per calibration crop, bootstrap K
SOLVER_START = 4  # a solver's calibration crops start here (0–3 tune the protocol's solvers)
DRAW_SEED = 50_000  # seeds of the calibration draws (training uses 10 000 + i)
VALIDATION_SEED = 90_000  # seeds of the validation draws


def held_out(task, start: int, n: int) -> list:
    """[(x, op)]: the task's prepared training crops ``start`` … ``start + n − 1``."""
    crops = task.prepare(patches.training_crops(start + n).to(torch.float64))[start:]
    op = task.operator(tuple(crops.shape[-2:]))
    return [(crops[i: i + 1], op) for i in range(n)]


def bootstrap_maps(reconstruct, y, op, noise, samples: int, x_hat=None, restrict=None) -> Maps:
    """``Maps`` of ``reconstruct`` at y: x̂ and the equivariant bootstrap's mean square,
    spread and mean (K = ``samples``, seed 0, as ``reconstruct --variance``); ``restrict``
    (CT's disk) applied to each map."""
    restrict = restrict or (lambda t: t)
    x_hat = reconstruct(y, op) if x_hat is None else x_hat
    boot = equivariant_bootstrap(reconstruct, y, op, noise, x_hat=x_hat, n_samples=samples,
                                 seed=0)
    return Maps(x_hat, restrict(boot.variance), restrict(boot.spread), restrict(boot.mean))


def solver_maps(method: str, noise, samples: int, options: dict | None = None, restrict=None):
    """``(y, op) -> Maps`` for a solver of the registry, as ``physinv reconstruct`` makes
    them: its posterior variance if it gives one, else the bootstrap's; ``restrict`` (e.g.
    ``task.restrict``: CT's disk) applied to every reconstruction."""
    from physinv.solvers.registry import run

    options = dict(options or {})
    restrict = restrict or (lambda x: x)

    def reconstruct(y, op):
        return restrict(run(method, y, op, **options).x)

    def estimate(y, op):
        result = run(method, y, op, **options)
        if result.variance is not None:
            return Maps(restrict(result.x), restrict(result.variance))
        return bootstrap_maps(reconstruct, y, op, noise, samples, restrict(result.x), restrict)

    return estimate


def network_maps(net, noise, samples: int):
    """``(y, op) -> Maps`` for a trained network (float32 forward, as ``reconstruct --net``),
    by the bootstrap with K = ``samples``."""
    device = next(net.parameters()).device

    def reconstruct(y, op):
        with torch.no_grad():
            return net(y.to(device, torch.float32)).to("cpu", torch.float64)

    return lambda y, op: bootstrap_maps(reconstruct, y, op, noise, samples)


def _describe(task, start, n_images, n_draws, extra=""):
    draws_text = "1 noise draw" if n_draws == 1 else f"{n_draws} noise draws"
    return (f"{task.name} training crops {start}-{start + n_images - 1} (128×128), "
            f"{draws_text} each{extra}")


def calibrate_maps(estimate, task, start: int, *, method: str, operator: str,
                   variance_source: str | None = None, n_images: int = N_IMAGES,
                   n_validation: int = N_VALIDATION, n_draws: int = N_DRAWS, op=None,
                   extra: str = "", only=None, **recorded):
    """``uq.select`` on a task's held-out crops: calibrate on crops ``start`` …
    ``start + n_images − 1`` (``n_draws`` draws each), choose on the ``n_validation`` after.

    Parameters
    ----------
    estimate : callable
        ``(y, op) -> Maps`` (``solver_maps``, ``network_maps``).
    task : Task
        The protocol task (its noise and crops).
    start : int
        The first held-out crop.
    method, operator : str
        Recorded in the calibration.
    variance_source : {"bootstrap", "posterior"}, optional
        What made the maps (default: ``posterior`` if the first ``Maps`` has no bootstrap
        ``spread``); a posterior's calibration records no ``samples``.
    n_images, n_validation, n_draws : int
        Calibration crops (≥ 2), validation crops (≥ 1), draws per calibration crop.
    op : LinearOperator, optional
        The operator to measure with (default the task's at 128×128; a network's own).
    extra : str
        Appended to the calibration set's description.
    only : sequence of str, optional
        Candidate names (default: all).
    **recorded
        ``samples``, ``options``.

    Returns
    -------
    physinv.uq.select.Selection
    """
    from physinv.errors import InputError, check_int

    if n_images < 2:
        raise InputError("images", n_images, "at least 2 calibration images",
                         "one image cannot stand for the images the calibration will meet")
    check_int("validation", n_validation, minimum=1)
    noise = task.noise()
    pairs = held_out(task, start, n_images + n_validation)
    if op is not None:
        pairs = [(x, op) for x, _ in pairs]
    truth, outputs = draws(estimate, pairs[:n_images], noise, n_draws, DRAW_SEED)
    val_truth, val_outputs = draws(estimate, pairs[n_images:], noise, 1, VALIDATION_SEED)
    last = start + n_images
    source = variance_source or ("posterior" if outputs[0][0].spread is None else "bootstrap")
    if source == "posterior" and "samples" in recorded:
        recorded["samples"] = None
    return select(truth, outputs, val_truth, val_outputs, variance_source=source,
                  method=method, operator=operator, noise=noise.spec(),
                  calibration_set=_describe(task, start, n_images, n_draws, extra),
                  validation_set=_describe(task, last, n_validation, 1, extra), only=only,
                  **recorded)


def calibrate_solver(method: str, task_name: str, n_images: int = N_IMAGES,
                     n_draws: int = N_DRAWS, samples: int = SAMPLES,
                     options: dict | None = None, n_validation: int = N_VALIDATION,
                     only=None):
    """The calibration of a registry solver on ``task_name``'s held-out crops.

    Parameters
    ----------
    method : str
        A solver of ``physinv.solvers.registry.METHODS``.
    task_name : str
        A protocol task (its operator spec and noise are recorded).
    n_images, n_draws, samples : int
        Calibration crops (≥ 2, from crop ``SOLVER_START``), noise draws per crop, bootstrap K.
    options : dict, optional
        The solver's options (e.g. ``{"lam": "gcv"}``), as ``reconstruct`` will pass them.
    n_validation : int
        Validation crops (after the calibration ones) that choose the candidate.
    only : sequence of str, optional
        Candidate names (``uq.select.candidates``; default all).

    Returns
    -------
    physinv.uq.Calibration
        The chosen one (``selection`` records the choice).
    """

    task = get_task(task_name)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    return calibrate_maps(solver_maps(method, task.noise(), samples, options, task.restrict),
                          task, SOLVER_START, method=method, operator=task.spec,
                          n_images=n_images, n_validation=n_validation, n_draws=n_draws,
                          only=only, samples=samples, options=options).chosen


def calibrate_network(net, task_name: str, operator: str, start: int,
                      n_images: int = N_IMAGES, n_draws: int = N_DRAWS,
                      samples: int = SAMPLES, n_validation: int = N_VALIDATION, only=None):
    """The bootstrap calibration of a trained network on ``task_name``'s crops ``start`` …
    (the first ones it was not trained on), the candidate chosen on the crops after them.

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
    n_images, n_draws, samples, n_validation : int
        As ``calibrate_solver``.
    only : sequence of str, optional
        Candidate names (default all).

    Returns
    -------
    physinv.uq.Calibration
    """
    task = get_task(task_name)
    return calibrate_maps(network_maps(net, task.noise(), samples), task, start,
                          method=type(net).__name__, operator=operator,
                          variance_source="bootstrap", n_images=n_images,
                          n_validation=n_validation, n_draws=n_draws, op=net.op,
                          extra=" (not trained on)", only=only, samples=samples).chosen
