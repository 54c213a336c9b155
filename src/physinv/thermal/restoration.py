"""Restoring a corrected thermal frame on the object grid, in kelvin.

Classical restorations of g = H f + n (f the apparent temperature, H the camera's operator,
n of standard deviation NETD): aligned cubic-spline interpolation (``upsample``), Tikhonov and
TV with λ relative to ‖H‖² (``tikhonov_k``, ``tv_k``; the grids ``TIK_GRID``, ``TV_GRID`` and
``tune`` choose it on training pairs), and ``restore`` — what ``physinv ir restore`` runs:
one of those, the Gaussian posterior (mean + variance) or a trained network
(``physinv.thermal.networks``).

>>> from physinv.thermal.camera import Camera
>>> g = torch.full((1, 1, 8, 8), 300.0, dtype=torch.float64)
>>> float(upsample(g, Camera(factor=2)).mean())
300.0
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage

from physinv.errors import InputError
from physinv.solvers import tikhonov, tv, wiener
from physinv.solvers.tuning import grid_search, mean_score
from physinv.thermal.camera import Camera
from physinv.thermal.fast import posterior_fast, tikhonov_fast, wiener_fast
from physinv.thermal.networks import net_restore_tiled

TIK_GRID = [float(v) for v in np.logspace(-5, -1, 9)]  # λ / ‖H‖²
TV_GRID = [float(v) for v in np.logspace(-4, -1, 7)]  # λ (K) / ‖H‖²
METHODS = ("bicubic", "tikhonov", "wiener", "tv", "bayes")


def upsample(g: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Cubic-spline interpolation of a frame to the object grid, aligned with the camera.

    Detector pixel (i, j) is placed at object coordinates (f i + d_y, f j + d_x), where f is
    the decimation factor and (d_y, d_x) the system PSF's centroid — where the camera samples;
    periodic boundaries. The identity for factor 1.

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w)
        Corrected frame, K.
    camera : Camera
        The camera that took it.

    Returns
    -------
    torch.Tensor, shape (1, 1, f h, f w), float64
        Interpolated temperatures, K.

    Examples
    --------
    >>> from physinv.thermal.camera import Camera
    >>> g = torch.full((1, 1, 4, 4), 300.0, dtype=torch.float64)
    >>> tuple(upsample(g, Camera(factor=4)).shape)
    (1, 1, 16, 16)
    """
    f = camera.factor
    if f == 1:
        return g.clone()
    psf = camera.system_psf()
    c = psf.shape[-1] // 2
    idx = torch.arange(psf.shape[-1], dtype=torch.float64) - c
    dy, dx = float((psf.sum(1) * idx).sum()), float((psf.sum(0) * idx).sum())
    h, w = g.shape[-2:]
    rows = (np.arange(h * f) + dy) / f
    cols = (np.arange(w * f) + dx) / f
    grid = np.meshgrid(rows, cols, indexing="ij")
    out = ndimage.map_coordinates(g[0, 0].numpy(), grid, order=3, mode="grid-wrap")
    return torch.from_numpy(out)[None, None]


def _rmse(x, truth) -> float:
    return float(((x - truth) ** 2).mean().sqrt())


def tune(fn: Callable, grid, pairs) -> float:
    r"""The grid value with the lowest mean RMSE of ``fn(g, op, value)`` on training pairs.

    .. math:: \hat v = \arg\min_{v \in \text{grid}} \frac{1}{N} \sum_i
              \| \text{fn}(g_i, H_i, v) - f_i \|_\text{RMS}

    Parameters
    ----------
    fn : callable
        ``fn(g, op, value) -> estimate`` (e.g. ``tikhonov_k``).
    grid : sequence of float
        Candidate values (e.g. ``TIK_GRID``).
    pairs : list of (truth, g, op)
        Training pairs (``physinv.thermal.tasks.training_pairs``), never test frames.

    Returns
    -------
    float
        The best value (the first on ties).

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> truth = torch.zeros(1, 1, 4, 4)
    >>> tune(lambda g, op, v: g * v, [2.0, 0.5, 1.0], [(truth, truth + 1, Identity((4, 4)))])
    0.5
    """
    best, _ = grid_search(lambda v: -mean_score(lambda g, op: fn(g, op, v), pairs, _rmse),
                          grid)
    return best


def tikhonov_k(g, op, rel):
    r"""Tikhonov on a frame in kelvin with λ relative to ‖H‖².

    .. math:: \hat f = \arg\min_f \|g - H f\|^2 + \lambda \|D f\|^2,
              \qquad \lambda = \text{rel}\,\|H\|^2

    with D the image gradient (``physinv.solvers.tikhonov``, tolerance 1e-8, at most 300
    iterations where it iterates): a uniform frame stays uniform.

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w)
        Corrected frame, K.
    op : LinearOperator
        The camera's operator H.
    rel : float
        λ / ‖H‖².

    Returns
    -------
    torch.Tensor, shape (1, 1, H, W)
        Restored temperatures, K.

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> g = torch.full((1, 1, 4, 4), 300.0, dtype=torch.float64)
    >>> round(float(tikhonov_k(g, Identity((4, 4)), 1e-3).mean()), 3)
    300.0
    """
    return tikhonov(g, op, lam=rel * op.norm() ** 2, tol=1e-8, max_iter=300).x


def tv_k(g, op, rel):
    r"""Total-variation restoration of a frame in kelvin with λ relative to ‖H‖².

    .. math:: \hat f = \arg\min_f \tfrac12 \|g - H f\|^2 + \lambda\,\text{TV}(f),
              \qquad \lambda = \text{rel}\,\|H\|^2

    (``physinv.solvers.tv``, 200 iterations).

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w)
        Corrected frame, K.
    op : LinearOperator
        The camera's operator H.
    rel : float
        λ / ‖H‖², in kelvin.

    Returns
    -------
    torch.Tensor, shape (1, 1, H, W)
        Restored temperatures, K.

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> g = torch.full((1, 1, 8, 8), 300.0, dtype=torch.float64)
    >>> round(float(tv_k(g, Identity((8, 8)), 1e-3).mean()), 3)
    300.0
    """
    return tv(g, op, lam=rel * op.norm() ** 2, n_iter=200).x


def restore(g: torch.Tensor, camera: Camera, method: str = "bayes", lam: float | None = None,
            net=None, tile: int | None = None):
    """A frame restored on the object grid by one method — what ``physinv ir restore`` runs.

    ``"bicubic"``: ``upsample``; ``"tikhonov"``: λ given or by GCV; ``"wiener"``: the
    Wiener filter with a fitted power-law spectrum (polyphase for a decimating camera);
    ``"tv"``: λ given or 10⁻³ ‖H‖², 300 iterations;
    ``"bayes"``: the Gaussian posterior's mean and variance (its hyper-parameters
    estimated); ``net``: the network's estimate (by overlapping tiles when the frame's
    activations exceed the memory rule, ``physinv.thermal.networks.net_restore_tiled``), with
    the Gaussian posterior's variance.
    Tikhonov and the posterior are computed in closed form for the camera's operator, the
    variance exact (``physinv.thermal.fast``: polyphase blocks, 1 × 1 for factor 1).

    Parameters
    ----------
    g : torch.Tensor, shape (h, w)
        Corrected frame, K.
    camera : Camera
        The camera that took it (its operator is built for the object grid (f h, f w)).
    method : {"bicubic", "tikhonov", "wiener", "tv", "bayes"}, optional
        The restoration (ignored when ``net`` is given).
    lam : float, optional
        λ for ``"tikhonov"`` / ``"tv"``.
    net : PhysicsNet, optional
        A network trained for the camera (``physinv.thermal.pipeline.train_network``); moved
        to the frame's operator when its grid differs.
    tile : int, optional
        With ``net``: tile side in detector pixels (default: tiles only when memory requires).

    Returns
    -------
    x : torch.Tensor, shape (1, 1, f h, f w)
        Temperature, K.
    variance : torch.Tensor, shape (1, 1, f h, f w), or None
        Variance, K².
    note : str
        What was run (with the λ chosen).

    Raises
    ------
    InputError
        For an unknown method.

    Examples
    --------
    >>> from physinv.thermal.camera import Camera
    >>> g = torch.full((8, 8), 300.0, dtype=torch.float64)
    >>> x, variance, note = restore(g, Camera(factor=2), "bicubic")
    >>> tuple(x.shape), variance, note
    ((1, 1, 16, 16), None, 'cubic-spline interpolation')
    """
    shape = (g.shape[-2] * camera.factor, g.shape[-1] * camera.factor)
    op = camera.operator(shape)
    y = g.to(torch.float64)[None, None]
    if net is not None:
        x, info = net_restore_tiled(net, y, camera, tile=tile)
        post = posterior_fast(y, op)
        tiles = f" ({info['tiles']} tiles of {info['tile']}, overlap {info['overlap']})" \
            if info["tiles"] > 1 else ""
        return x, post.variance, (f"network {type(net).__name__}{tiles}; variance: Gaussian "
                                  "posterior")
    if method not in METHODS:
        raise InputError("method", method, f"one of {METHODS} or --net RUN")
    if method == "bicubic":
        return upsample(y, camera), None, "cubic-spline interpolation"
    if method == "tikhonov":
        result = tikhonov_fast(y, op, "gcv" if lam is None else lam)  # exact closed form
        return result.x, None, f"Tikhonov λ={result.params['lam']:.3g}"
    if method == "wiener":
        result = wiener(y, op) if camera.factor == 1 else wiener_fast(y, op)  # polyphase
        return result.x, None, "Wiener (fitted spectrum)"
    if method == "tv":
        value = 1e-3 * op.norm() ** 2 if lam is None else lam
        return tv(y, op, lam=value, n_iter=300).x, None, f"TV λ={value:.3g}"
    post = posterior_fast(y, op)
    return post.x, post.variance, f"Gaussian posterior ({post.params['hyper']})"
