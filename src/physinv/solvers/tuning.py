"""Choosing a hyper-parameter on training data: one grid search for every tuner.

``grid_search(objective, grid)`` returns the grid value with the highest objective (the first
one on ties). The tuners of physinv — λ of Tikhonov for a network's analytic initialisation,
TV's λ, a solver's option in the benchmarks, λ for infrared frames — are all this search over
``mean_score``: the mean over training pairs (x, y, op) of a score of the estimate, PSNR of the
estimate clipped to [−1, 2] by default (a diverging value cannot dominate the mean). Grids of
regularisation weights are relative, λ / ‖H‖², so one grid fits a blur (‖H‖ = 1) and a
projector (‖H‖² ≈ 10⁴) alike. Never pass test images: the pairs are training or validation
crops.

>>> grid_search(lambda v: -(v - 2.0) ** 2, [0.5, 1.0, 2.0, 4.0])
(2.0, -0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from physinv.errors import InputError
from physinv.metrics import psnr
from physinv.solvers.closed_form import tikhonov
from physinv.solvers.tv import tv

LAM_GRID = tuple(float(v) for v in np.logspace(-4, 0, 9))  # Tikhonov λ / ‖H‖²
MAX_TUNE_IMAGES = 4


def clipped_psnr(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR (dB) of ``estimate`` clipped to [−1, 2] against ``truth`` (peak 1).

    .. math::

        PSNR = 10 log₁₀( 1 / MSE(clip(x̂, −1, 2), x) )

    The clipping bounds the error of a diverging estimate, so that one bad candidate cannot
    dominate a ``mean_score``.

    Parameters
    ----------
    estimate, truth : torch.Tensor, shape (1, C, H, W)
        One image and its ground truth, intensities in [0, 1]; ``estimate`` is cast to
        ``truth``'s dtype. ``physinv.metrics.psnr`` gives one value per image and ``float``
        converts a single one, so a batch of several images is refused (``ValueError``).

    Returns
    -------
    float
        The PSNR of the image, in dB.

    Examples
    --------
    >>> import torch
    >>> truth = torch.zeros(1, 1, 16, 16)
    >>> estimate = truth.clone()
    >>> estimate[..., 0, 0] = 1e6  # clipped to 2: MSE = 4 / 256
    >>> round(clipped_psnr(estimate, truth), 2)
    18.06
    """
    return float(psnr(estimate.to(truth.dtype).clamp(-1, 2), truth))


def grid_search(objective: Callable[[object], float], grid: Sequence) -> tuple[object, float]:
    """The value of ``grid`` that maximises ``objective`` (the first one on ties).

    Parameters
    ----------
    objective : callable
        ``objective(value) -> float``, higher is better (a non-finite value never wins).
    grid : sequence
        Candidate values, tried in order.

    Returns
    -------
    (value, score)
        The best value and its objective (``-inf`` if no score beat ``-inf``, in which case
        the value is ``grid[0]``).

    Raises
    ------
    InputError
        For an empty grid.

    Examples
    --------
    >>> grid_search(lambda v: -abs(v - 3), [1, 2, 4, 5])  # 2 and 4 tie: the first wins
    (2, -1)
    >>> grid_search(lambda v: float("nan"), [0.1, 1.0])
    (0.1, -inf)
    """
    if len(grid) == 0:
        raise InputError("grid", list(grid), "at least one value")
    best, best_score = grid[0], -math.inf
    for value in grid:
        score = objective(value)
        if score > best_score:
            best, best_score = value, score
    return best, best_score


def mean_score(reconstruct: Callable, pairs, score: Callable = clipped_psnr) -> float:
    r"""Mean of ``score(reconstruct(y, op), x)`` over training ``pairs`` [(x, y, op)].

    .. math:: \bar s = \frac1n \sum_{i=1}^{n} s\big(\hat f(g_i, H_i), f_i\big)

    Parameters
    ----------
    reconstruct : callable
        ``reconstruct(y, op) -> estimate``.
    pairs : list of (x, y, op)
        Ground truth, measurement and operator of each training image.
    score : callable, default clipped_psnr
        ``score(estimate, x) -> float``, higher is better.

    Returns
    -------
    float
        The mean score (``nan`` for no pairs).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> op = Identity((16, 16))
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> pairs = [(x, x + 0.1, op), (x, x + 0.01, op)]  # PSNR 20 dB and 40 dB
    >>> round(mean_score(lambda y, op: y, pairs), 3)
    30.0
    """
    return float(np.mean([score(reconstruct(y, op), x) for x, y, op in pairs]))


def tune_tikhonov(pairs, grid: Sequence[float] = LAM_GRID, score: Callable = clipped_psnr
                  ) -> float:
    r"""Tikhonov's λ with the best mean score on (at most 4 of) the training ``pairs``.

    For each λ = r‖H‖², r in ``grid``, solves
    :math:`\hat f = \arg\min_f \|Hf - g\|^2 + \lambda \|Df\|^2` (CG, tol 1e-6, 200 iterations
    where no closed form applies) and keeps the r with the best ``mean_score``.

    Parameters
    ----------
    pairs : list of (x, y, op)
        Training images, their measurements and operator (only the first 4 are used; the
        first one's ‖H‖ is used).
    grid : sequence of float, default LAM_GRID
        Relative weights r = λ / ‖H‖² (``LAM_GRID``: 9 values from 10⁻⁴ to 1, log-spaced).
    score : callable, default clipped_psnr
        ``score(estimate, x) -> float``.

    Returns
    -------
    float
        The absolute λ = r‖H‖².

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> lam = tune_tikhonov([(x, op(x) + 0.01 * torch.randn_like(x), op)], grid=[1e-3, 1e-1])
    >>> lam in (1e-3 * op.norm() ** 2, 1e-1 * op.norm() ** 2)
    True
    """
    pairs = pairs[:MAX_TUNE_IMAGES]
    norm2 = pairs[0][2].norm() ** 2
    best, _ = grid_search(lambda rel: mean_score(
        lambda y, op: tikhonov(y, op, lam=rel * norm2, tol=1e-6, max_iter=200).x, pairs,
        score), list(grid))
    return best * norm2


def tune_tv(pairs, grid: Sequence[float], score: Callable = clipped_psnr,
            norm2: float | None = None, positivity: bool = False, n_iter: int = 500) -> float:
    r"""TV's relative weight r = λ / ‖H‖² with the best mean score on (at most 4 of) ``pairs``.

    Each candidate solves :math:`\arg\min_f \tfrac12\|Hf - g\|^2 + \lambda\, TV(f)`
    (``physinv.solvers.tv``, ``n_iter`` iterations, optionally f ≥ 0).

    Parameters
    ----------
    pairs : list of (x, y, op)
        Training images, measurements and operator; only the first 4 are used.
    grid : sequence of float
        Relative weights r, tried in order (the first wins a tie).
    score : callable, default clipped_psnr
        ``score(estimate, x) -> float``.
    norm2 : float, optional
        ‖H‖² that r is relative to (default: the first training operator's); pass the test
        grid's ‖H‖² when the weight is applied there.
    positivity : bool, default False
        Constrain the estimate to f ≥ 0.
    n_iter : int, default 500
        Iterations of the TV solver.

    Returns
    -------
    float
        The best relative weight r (multiply by ‖H‖² for λ).

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.05), seed=0)
    >>> tune_tv([(x, y, op)], grid=[1e-4, 1e-2, 1.0], n_iter=50)
    0.01
    """
    pairs = pairs[:MAX_TUNE_IMAGES]
    norm2 = pairs[0][2].norm() ** 2 if norm2 is None else norm2
    best, _ = grid_search(lambda rel: mean_score(
        lambda y, op: tv(y, op, lam=rel * norm2, n_iter=n_iter, positivity=positivity).x,
        pairs, score), list(grid))
    return best
