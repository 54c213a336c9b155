"""Learned regularisers: trained once as denoisers, then used on any operator.

A ridge regulariser (``physinv.nets.ridge``: ``crr``, ``wcrr``) is trained by the one recipe
(``physinv.train.recipe.train_network``, preset ``regulariser``) as a gradient-step denoiser

.. math::

    x_0 = y,\\quad x_{k+1} = \\text{FISTA step on } ½‖x − y‖² + (λ/μ)R(μx),\\quad
    \\mathcal L = \\log \\text{MSE}(x_T, f)

on random 40×40 patches of the training crops, one of the 8 symmetries and a fresh noise draw
of a level σ log-uniform in ``SIGMA_RANGE`` per sample. ``for_task`` then carries it to an
operator H and ``tune_scales`` chooses the per-task factors (s_λ, s_μ) on training pairs by
the one grid search (``physinv.solvers.tuning``): a regulariser trained once serves every task.
"""

from __future__ import annotations

import itertools

import torch

from physinv.errors import InputError
from physinv.noise import GaussianRange
from physinv.operators.spec import from_spec
from physinv.solvers.tuning import MAX_TUNE_IMAGES, clipped_psnr, grid_search, mean_score
from physinv.train.data import Measurements
from physinv.train.recipe import train_network

SIGMA_RANGE = (0.005, 0.2)
PATCH = 40
LAM_FACTORS = (0.06, 0.25, 1.0, 4.0)
# μ's factors reach 64: with the top at 16 the training pairs chose 16 on four of five tasks
# (regulariser_tasks-20261202T181753 / …185342.json), the grid's edge
MU_FACTORS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# the second, local search around the coarse grid's best: λ's grid steps by 4, TV's by ~2
REFINE_FACTORS = (2.0 ** -0.5, 1.0, 2.0 ** 0.5)
TRAIN_TOL, TRAIN_MAX_ITER = 1e-4, 300  # the training solves (patches, many noise levels)
SOLVE_TOL, SOLVE_MAX_ITER = 1e-5, 1000  # the solves of a task


def denoising_data(images: torch.Tensor, sigma_range=SIGMA_RANGE, patch: int = PATCH
                   ) -> Measurements:
    """Denoising training data from clean images: identity operator, a noise level per sample.

    Parameters
    ----------
    images : torch.Tensor, shape (N, 1, H, W)
        Clean training crops (e.g. ``physinv.data.patches.training_crops(16)``), H, W ≥ patch.
    sigma_range : (float, float)
        σ range of ``physinv.noise.GaussianRange``.
    patch : int
        Side of the random training patches.

    Returns
    -------
    Measurements
        Random patches with symmetries and fresh noise at every step.

    Raises
    ------
    InputError
        For images that are not (N, 1, H, W) or smaller than the patch.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 1:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise InputError("images", got, "a (N, 1, H, W) tensor of clean images")
    shape = tuple(images.shape[-2:])
    return Measurements(images, _identity(shape), GaussianRange(*sigma_range), patch=patch,
                        operator_for=_identity)


def _identity(shape):
    """The identity on ``shape``, built from its spec (so that a checkpoint rebuilds it)."""
    return from_spec("identity", tuple(shape))


def train_regulariser(name: str, images: torch.Tensor, config="regulariser", *, out=None,
                      sigma_range=SIGMA_RANGE, tol: float = TRAIN_TOL,
                      max_iter: int = TRAIN_MAX_ITER, **options):
    """Train the learned regulariser ``name`` (``crr`` or ``wcrr``) as a denoiser.

    Parameters
    ----------
    name : str
        ``"crr"`` or ``"wcrr"`` (registry family ``regulariser``).
    images : torch.Tensor, shape (N, 1, H, W)
        Clean training crops in the data range the regulariser will be used on.
    config : str or TrainConfig, default "regulariser"
        A preset of ``physinv.train.recipe.PRESETS`` or a configuration.
    out : path, optional
        Run folder (checkpoints, logs), as for ``train_network``.
    sigma_range : (float, float)
        Noise levels trained on.
    tol, max_iter : float, int
        Tolerance and cap of the denoising solves while training and validating (the deep
        equilibrium is differentiated at the solution; ``for_task`` solves to its own, tighter
        tolerance).
    **options
        Passed on to ``train_network`` (``resume``, ``overwrite``, ``progress``, overrides).

    Returns
    -------
    (RidgeNet, FitResult)
        The trained denoiser (on the patch grid; ``for_task`` carries it to an operator).
    """
    from physinv.nets.registry import NETWORKS

    if name not in NETWORKS or NETWORKS[name].family != "regulariser":
        regs = [n for n, e in NETWORKS.items() if e.family == "regulariser"]
        raise InputError("net", name, f"a learned regulariser: one of {regs}")
    data = denoising_data(images, sigma_range)
    lo, hi = float(images.min()), float(images.max())
    info = {"regulariser": {"data_range": [lo, hi], "sigma_range": list(sigma_range)}}
    info.update(options.pop("run_info", None) or {})
    net = NETWORKS[name].make(data.op, 0.0).for_operator(data.op, data_range=[lo, hi], tol=tol,
                                                         max_iter=max_iter)
    return train_network(None, data, 0.0, config, net=net, out=out, run_info=info, **options)


def fine_tune(net, data: Measurements, config="regulariser", *, lam_scale: float = 1.0,
              mu_scale: float = 1.0, sigma: float | None = None, positivity: bool = False,
              out=None, tol: float = TRAIN_TOL, max_iter: int = TRAIN_MAX_ITER, **options):
    r"""Fine-tune a trained regulariser on one task: the deep equilibrium of its solve.

    Starting from ``net``'s weights and the task's factors (s_λ, s_μ) (``tune_scales``), the
    one recipe minimises the log-MSE of the minimiser

    .. math::

        \hat x(g) = \arg\min_x ½‖Hx − g‖² + (λ/μ)R(μx), \qquad
        \mathcal L = \log \text{MSE}(\hat x(g), f)

    over the task's training data (H on their grid, e.g. random patches measured through the
    task's operator on the patch), its gradient taken at the minimiser (implicit function
    theorem, as in the denoising training). The result applies to any grid of the same
    physics (``for_task``); its factors are re-tuned there like any regulariser's.

    Parameters
    ----------
    net : RidgeNet
        A trained regulariser (``train_regulariser``), not changed.
    data : Measurements
        The task's training data (clean crops, operator, noise; ``patch`` recommended).
    config : str or TrainConfig
        A preset of ``physinv.train.recipe.PRESETS`` or a configuration.
    lam_scale, mu_scale, sigma, positivity
        The task's factors, its noise level (estimated per measurement when None) and x ≥ 0.
    out, tol, max_iter, **options
        As for ``train_regulariser``.

    Returns
    -------
    (RidgeNet, FitResult)
        The fine-tuned regulariser on ``data``'s operator.
    """
    if not isinstance(data, Measurements):
        raise InputError("data", type(data).__name__, "Measurements of the task (clean images "
                         "measured through its operator)")
    info = {"fine_tuned": {"lam_scale": lam_scale, "mu_scale": mu_scale, "sigma": sigma}}
    info.update(options.pop("run_info", None) or {})
    new = net.for_operator(data.op, sigma=sigma, positivity=positivity, lam_scale=lam_scale,
                           mu_scale=mu_scale, tol=tol, max_iter=max_iter)
    return train_network(None, data, 0.0, config, net=new.train(), out=out, run_info=info,
                         **options)


def for_task(net, op, *, sigma: float | None = None, positivity: bool = False,
             lam_scale: float = 1.0, mu_scale: float = 1.0, tol: float = SOLVE_TOL,
             max_iter: int = SOLVE_MAX_ITER):
    """The trained regulariser ``net`` as the variational solver for operator ``op``.

    Parameters
    ----------
    net : RidgeNet
        A trained regulariser (any grid, any operator).
    op : LinearOperator
        The task's operator H.
    sigma : float, optional
        The noise level of the task's measurements (estimated per measurement when None).
    positivity : bool
        Constrain x ≥ 0.
    lam_scale, mu_scale : float
        The per-task factors on λ(σ), μ(σ).
    tol, max_iter : float, int
        Tolerance and iteration cap of the solve.

    Returns
    -------
    RidgeNet
        In evaluation mode: ``net_for_task(g)`` solves min ½‖Hx − g‖² + (λ/μ)R(μx).
    """
    new = net.for_operator(op, sigma=sigma, positivity=positivity, lam_scale=lam_scale,
                           mu_scale=mu_scale, tol=tol, max_iter=max_iter)
    return new.eval()


def tune_scales(net, pairs, *, sigma: float | None = None, positivity: bool = False,
                score=clipped_psnr, lam_factors=LAM_FACTORS, mu_factors=MU_FACTORS,
                refine=REFINE_FACTORS):
    """Choose (s_λ, s_μ) on training pairs: the grid search of ``physinv.solvers.tuning``.

    Parameters
    ----------
    net : RidgeNet
        The trained regulariser.
    pairs : list of (x, y, op)
        Training pairs of the task (at most ``MAX_TUNE_IMAGES`` are used); never test images.
    sigma, positivity
        As for ``for_task``.
    score : callable
        ``score(estimate, x) -> float``, higher is better.
    lam_factors, mu_factors : sequence of float
        The grid of factors (every pair is tried).
    refine : sequence of float
        Then a second grid search on (s_λ·a, s_μ·b) for a, b in ``refine`` around the first
        one's best (its value kept, not solved again); empty: the coarse grid alone.

    Returns
    -------
    ((float, float), float)
        The best (s_λ, s_μ) and its mean score.
    """
    pairs = list(pairs)[:MAX_TUNE_IMAGES]
    if not pairs:
        raise InputError("pairs", 0, "at least one training pair (x, y, op)")
    cache = {}

    def objective(factors):
        def reconstruct(y, op):
            key = id(op)
            if key not in cache:
                cache[key] = for_task(net, op, sigma=sigma, positivity=positivity)
            solver = cache[key]
            solver.config.update(lam_scale=factors[0], mu_scale=factors[1])
            with torch.no_grad():
                return solver(y.to(torch.float32)).to(y.dtype)
        return mean_score(reconstruct, pairs, score)

    best, value = grid_search(objective, list(itertools.product(lam_factors, mu_factors)))
    local = [(best[0] * a, best[1] * b) for a, b in itertools.product(refine, refine)]
    local = [f for f in local if f != best]
    if not local:
        return best, value
    near, near_value = grid_search(objective, local)
    return (near, near_value) if near_value > value else (best, value)
