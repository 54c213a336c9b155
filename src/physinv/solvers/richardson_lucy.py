"""Richardson–Lucy: the multiplicative EM iteration for Poisson data g ~ Poisson(Hx).

x⁽ᵏ⁺¹⁾ = x⁽ᵏ⁾ · H'(g / Hx⁽ᵏ⁾) / H'1 (Richardson 1972, Lucy 1974); keeps x ≥ 0, needs H ≥ 0 and
g ≥ 0: slightly negative values (read noise) are clipped to 0 and counted in
``params["clipped_negative"]``; data mostly negative is refused. Like Landweber it
semi-converges: the number of iterations regularises.
"""

from __future__ import annotations

import torch

from physinv.errors import InputError, check_int, check_positive
from physinv.solvers.iterative import _relative_change
from physinv.solvers.result import Result, check_problem, check_x0


def richardson_lucy(y, op, n_iter: int = 30, tol: float = 1e-5, x0=None,
                    eps: float = 1e-12, callback=None) -> Result:
    """Richardson–Lucy deconvolution: the EM iteration for Poisson data g ~ Poisson(Hx).

    .. math::

        x⁽ᵏ⁺¹⁾ = x⁽ᵏ⁾ · H'( g / Hx⁽ᵏ⁾ ) / H'1

    It keeps x ≥ 0 and, when H'1 = 1 (a circular convolution with a normalised PSF), makes
    the total flux of x equal that of g after every iteration; it semi-converges, so the
    number of iterations regularises.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Non-negative data g (intensities or counts); slightly negative values (read noise)
        are clipped to 0 and counted, data mostly negative is refused.
    op : LinearOperator
        A non-negative forward operator H with H'1 > 0 everywhere (e.g. a ``Convolution``
        with a non-negative PSF).
    n_iter : int, default 30
        Maximum number of iterations.
    tol : float or None, default 1e-5
        Stop when ‖x⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾‖ / ‖x⁽ᵏ⁾‖ < ``tol``; ``None`` runs exactly ``n_iter``.
    x0 : torch.Tensor, shape (B, C, *op.in_shape), optional
        Starting point (clipped to ≥ 0); default the constant image equal to the mean of
        each image of ``y``.
    eps : float, default 1e-12
        Floor of Hx in the division (and of the default start).
    callback : callable, optional
        ``callback(k, x)`` after iteration k.

    Returns
    -------
    Result
        ``x``: the non-negative estimate, shape (B, C, *op.in_shape); ``history["residual"]``:
        ‖Hx − g‖ / ‖g‖ per iteration; ``params["clipped_negative"]``: how many entries of
        ``y`` were below 0; ``n_iter``, ``converged``, ``stop_reason``.

    Raises
    ------
    InputError
        For data whose minimum is below −½ max |g|, or an operator with H'1 ≤ 0 somewhere.

    References
    ----------
    .. [1] W. H. Richardson, "Bayesian-based iterative method of image restoration",
           J. Opt. Soc. Am. 62(1), 55–59, 1972.
    .. [2] L. B. Lucy, "An iterative technique for the rectification of observed
           distributions", Astron. J. 79(6), 745–754, 1974.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Poisson, simulate
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import richardson_lucy
    >>> x = torch.full((1, 1, 16, 16), 0.1)
    >>> x[..., 4:12, 4:12] = 1.1
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Poisson(1000.0), seed=0)
    >>> r = richardson_lucy(y, op, n_iter=20)
    >>> float(r.x.min()) >= 0, bool(psnr(r.x, x) > psnr(y, x))
    (True, True)
    """
    check_problem(y, op)
    n_iter = check_int("n_iter", n_iter)
    tol = None if tol is None else check_positive("tol", tol)
    scale = max(float(y.abs().max()), 1e-30)
    if float(y.min()) < -0.5 * scale:
        raise InputError("y", f"minimum {float(y.min()):g}",
                         "non-negative data for Richardson–Lucy (Poisson counts)")
    n_negative = int((y < 0).sum())  # read noise makes a few slightly negative: clipped
    data = y.clamp_min(0)
    if x0 is None:
        x = torch.ones(*y.shape[:2], *op.in_shape, dtype=y.dtype, device=y.device)
        x = x * data.mean(dim=tuple(range(2, y.dim())), keepdim=True).reshape(
            *y.shape[:2], 1, 1).clamp_min(eps)
    else:
        x = check_x0(x0, y, op).clamp_min(0)
    norm = op.adjoint(torch.ones_like(y), check=False)
    if float(norm.min()) <= 0:
        raise InputError("op", type(op).__name__, "an operator with H'1 > 0 everywhere")
    history = {"residual": []}
    y_norm = float(torch.linalg.vector_norm(y)) or 1.0
    converged, k = False, 0
    for k in range(1, n_iter + 1):
        hx = op(x, check=False)
        new = x * op.adjoint(data / hx.clamp_min(eps), check=False) / norm
        change = _relative_change(new, x)
        x = new
        history["residual"].append(float(torch.linalg.vector_norm(hx - y)) / y_norm)
        if callback is not None:
            callback(k, x)
        if tol is not None and change < tol:
            converged = True
            break
    return Result(x=x, history=history, params={"clipped_negative": n_negative}, n_iter=k,
                  converged=converged, stop_reason="tolerance" if converged else "max_iter")
