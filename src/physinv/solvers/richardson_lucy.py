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
    """Richardson–Lucy deconvolution; ``x0`` defaults to the constant mean of ``y``."""
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
