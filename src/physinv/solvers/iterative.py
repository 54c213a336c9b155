"""Iterative solvers: conjugate gradients, Landweber, ISTA and FISTA.

- ``cg``: (H'H + λD'D) x = H'g by conjugate gradients (per image in a batch).
- ``landweber``: x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α H'(g − Hx⁽ᵏ⁾) − αλ x⁽ᵏ⁾), 0 < α < 2/(‖H‖² + λ), P an
  optional projection (positivity, a box). Without λ it semi-converges: stopping regularises.
- ``ista``: x⁽ᵏ⁺¹⁾ = S_{αλ}(x⁽ᵏ⁾ + αH'(g − Hx⁽ᵏ⁾)) for ½‖g − Hx‖² + λ‖x‖₁, or in an orthogonal
  wavelet basis (``basis="wavelet"``: the iteration runs on c = Wx, the approximation band
  unpenalised). With α ≤ 1/‖H‖² its objective never increases.
- ``fista``: ISTA with Nesterov momentum (Beck & Teboulle 2009), O(1/k²).

Defaults: ``step`` = 1/‖H‖² (as the unrolled networks; for Landweber with λ ≥ ‖H‖² give a
step below 2/(‖H‖² + λ)), ``x0`` = 0. Every solver stops when
the relative change ‖x⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾‖/‖x⁽ᵏ⁾‖ falls below ``tol`` (``tol=None``: exactly
``n_iter`` iterations, as the unrolled networks do) and reports which; a hand-given step
beyond the convergence bound that makes the iteration blow up raises an ``InputError`` naming
the bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from physinv.errors import InputError, check_int, check_positive
from physinv.operators import Gradient, Identity, Wavelet
from physinv.operators.base import LinearOperator
from physinv.solvers.result import Result, check_problem, check_x0


def _dot(a, b):
    """Per-image inner product over all but the first two dimensions → (B, C, 1, ...)."""
    dims = tuple(range(2, a.dim()))
    return (a * b).sum(dim=dims, keepdim=True)


def solve_spd(apply: Callable, b: torch.Tensor, x0: torch.Tensor | None = None,
              n_iter: int = 200, tol: float = 1e-8) -> tuple[torch.Tensor, int, bool, list]:
    """Conjugate gradients for A x = b, A symmetric positive (semi-)definite, per image.

    Returns (x, iterations, converged, relative residual history).
    """
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x) if x0 is not None else b.clone()
    p = r.clone()
    rs = _dot(r, r)
    b_norm = _dot(b, b).sqrt().clamp_min(torch.finfo(b.dtype).tiny)
    history = []
    for k in range(1, n_iter + 1):
        ap = apply(p)
        denom = _dot(p, ap)
        alpha = torch.where(denom > 0, rs / torch.where(denom > 0, denom, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = _dot(r, r)
        rel = float((rs_new.sqrt() / b_norm).max().detach())
        history.append(rel)
        if rel <= tol:
            return x, k, True, history
        beta = torch.where(rs > 0, rs_new / torch.where(rs > 0, rs, 1.0), 0.0)
        p = r + beta * p
        rs = rs_new
    return x, n_iter, False, history


def estimate_diagonal(apply: Callable, like: torch.Tensor, n_probes: int = 8,
                      seed: int = 0) -> torch.Tensor:
    """diag(A) ≈ mean over Rademacher probes z of z ⊙ Az (Bekas et al. 2007), shape of ``like``."""
    gen = torch.Generator().manual_seed(seed)
    acc = torch.zeros_like(like)
    for _ in range(n_probes):
        z = (torch.randint(0, 2, like.shape, generator=gen) * 2 - 1).to(like)
        acc += z * apply(z)
    return acc / n_probes


def regulariser(op: LinearOperator, reg: str) -> LinearOperator:
    """The operator D of ‖Df‖²: ``identity`` or ``gradient`` (circular differences)."""
    if reg == "identity":
        return Identity(op.in_shape)
    if reg == "gradient":
        return Gradient(op.in_shape)
    raise InputError("reg", reg, "'identity' or 'gradient'")


def _check_common(lam, tol, n_iter):
    lam = check_positive("lam", lam, allow_zero=True)
    tol = None if tol is None else check_positive("tol", tol)
    n_iter = check_int("n_iter", n_iter)
    return lam, tol, n_iter


def cg(y, op, lam: float = 0.0, reg: str = "identity", n_iter: int = 200, tol: float = 1e-8,
       x0=None) -> Result:
    """Solve (H'H + λD'D) x = H'y by conjugate gradients (least squares when λ = 0)."""
    check_problem(y, op)
    lam, tol, n_iter = _check_common(lam, tol, n_iter)
    d = regulariser(op, reg).to(y.device)
    x_start = check_x0(x0, y, op)

    def apply(v):
        out = op.normal(v, check=False)
        return out + lam * d.normal(v, check=False) if lam > 0 else out

    x, k, ok, hist = solve_spd(apply, op.adjoint(y, check=False), x_start, n_iter,
                               0.0 if tol is None else tol)
    return Result(x=x, history={"residual": hist}, params={"lam": lam, "reg": reg, "path": "cg"},
                  n_iter=k, converged=ok, stop_reason="tolerance" if ok else "max_iter")


def _project(bounds):
    if bounds is None:
        return None
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise InputError("bounds", bounds, "a pair (low, high); None for no bound") from None
    if lo is not None and hi is not None and lo > hi:
        raise InputError("bounds", bounds, "low <= high")
    return lambda x: x.clamp(min=lo, max=hi)


def _relative_change(new, old):
    num = float(torch.linalg.vector_norm(new - old))
    den = float(torch.linalg.vector_norm(old))
    return num / den if den > 0 else (0.0 if num == 0 else math.inf)


def _diverged(op_name, step, bound, value, first):
    if not math.isfinite(value) or (first > 0 and value > 1e6 * first):
        raise InputError("step", step, f"a step below the convergence bound {bound:.4g} for "
                         f"{op_name}", "the iteration diverged and was stopped")


def landweber(y, op, n_iter: int = 100, step: float | None = None, lam: float = 0.0,
              x0=None, bounds=None, tol: float = 1e-6,
              callback: Callable | None = None) -> Result:
    """Landweber / projected gradient iteration for ½‖g − Hx‖² + ½λ‖x‖².

    ``bounds=(0, None)`` enforces positivity; ``callback(k, x)`` is called after each
    iteration (e.g. to record the error against a known truth).
    """
    check_problem(y, op)
    lam, tol, n_iter = _check_common(lam, tol, n_iter)
    bound = 2.0 / (op.norm() ** 2 + lam)
    step = 1.0 / op.norm() ** 2 if step is None else check_positive("step", step)
    project = _project(bounds)
    x = check_x0(x0, y, op)
    if project is not None:
        x = project(x)
    history = {"objective": [], "residual": []}
    y_norm = float(torch.linalg.vector_norm(y)) or 1.0
    first = None
    converged = False
    k = 0
    for k in range(1, n_iter + 1):
        r = y - op(x, check=False)
        new = x + step * op.adjoint(r, check=False) - (step * lam) * x
        if project is not None:
            new = project(new)
        change = _relative_change(new, x)
        x = new
        res = float(torch.linalg.vector_norm(y - op(x, check=False)))
        obj = 0.5 * res**2 + 0.5 * lam * float((x**2).sum())
        first = obj if first is None else first
        _diverged(type(op).__name__, step, bound, obj, max(first, 0.5 * y_norm**2))
        history["objective"].append(obj)
        history["residual"].append(res / y_norm)
        if callback is not None:
            callback(k, x)
        if tol is not None and change < tol:
            converged = True
            break
    return Result(x=x, history=history, params={"step": step, "lam": lam}, n_iter=k,
                  converged=converged, stop_reason="tolerance" if converged else "max_iter")


def soft_threshold(x: torch.Tensor, threshold) -> torch.Tensor:
    """S_θ(x) = sign(x) max(|x| − θ, 0)."""
    return torch.sign(x) * torch.clamp(x.abs() - threshold, min=0)


def _sparsity(op, basis, wavelet, level, device):
    if basis == "pixel":
        return None, None
    if basis == "wavelet":
        w = Wavelet(op.in_shape, wavelet, level).to(device)
        weight = (w.subband_index != 0).to(torch.float64)  # approximation band unpenalised
        return w, weight
    raise InputError("basis", basis, "'pixel' or 'wavelet'")


def _shrinkage_solver(y, op, lam, n_iter, step, x0, basis, wavelet, level, tol, callback,
                      momentum: bool) -> Result:
    check_problem(y, op)
    if lam is None:
        raise InputError("lam", lam, "the ℓ1 weight λ > 0 (choose it on training data)")
    lam, tol, n_iter = _check_common(lam, tol, n_iter)
    norm2 = op.norm() ** 2
    step = 1.0 / norm2 if step is None else check_positive("step", step)
    bound = (1.0 if momentum else 2.0) / norm2
    w, weight = _sparsity(op, basis, wavelet, level, y.device)
    x = check_x0(x0, y, op)
    c = w(x, check=False) if w is not None else x
    thresh = step * lam if weight is None else step * lam * weight.to(y.dtype)

    def synth(coef):
        return w.adjoint(coef, check=False) if w is not None else coef

    def objective(coef):
        res = float(torch.linalg.vector_norm(y - op(synth(coef), check=False)))
        l1 = float((coef.abs() * (1 if weight is None else weight.to(coef.dtype))).sum())
        return 0.5 * res**2 + lam * l1, res

    history = {"objective": [], "residual": []}
    y_norm = float(torch.linalg.vector_norm(y)) or 1.0
    first = objective(c)[0]
    z, t = c, 1.0
    converged = False
    k = 0
    for k in range(1, n_iter + 1):
        xz = synth(z)
        grad = op.adjoint(op(xz, check=False) - y, check=False)
        g = w(grad, check=False) if w is not None else grad
        new = soft_threshold(z - step * g, thresh)
        change = _relative_change(new, c)
        if momentum:
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            z = new + ((t - 1) / t_next) * (new - c)
            t = t_next
        else:
            z = new
        c = new
        obj, res = objective(c)
        _diverged(type(op).__name__, step, bound, obj, max(first, 0.5 * y_norm**2))
        history["objective"].append(obj)
        history["residual"].append(res / y_norm)
        if callback is not None:
            callback(k, synth(c))
        if tol is not None and change < tol:
            converged = True
            break
    params = {"lam": lam, "step": step, "basis": basis}
    if w is not None:
        params.update(wavelet=wavelet, level=w.level)
    return Result(x=synth(c), history=history, params=params, n_iter=k, converged=converged,
                  stop_reason="tolerance" if converged else "max_iter")


def ista(y, op, lam: float | None = None, n_iter: int = 100, step: float | None = None,
         x0=None, basis: str = "pixel", wavelet: str = "db2", level: int | None = None,
         tol: float = 1e-6, callback: Callable | None = None) -> Result:
    """ISTA for ½‖g − Hx‖² + λ‖x‖₁ (``basis="pixel"``) or + λ‖Wx‖₁ (``basis="wavelet"``)."""
    return _shrinkage_solver(y, op, lam, n_iter, step, x0, basis, wavelet, level, tol,
                             callback, momentum=False)


def fista(y, op, lam: float | None = None, n_iter: int = 100, step: float | None = None,
          x0=None, basis: str = "pixel", wavelet: str = "db2", level: int | None = None,
          tol: float = 1e-6, callback: Callable | None = None) -> Result:
    """FISTA: ISTA with momentum t_{k+1} = (1 + √(1 + 4t_k²))/2 (same problem and defaults)."""
    return _shrinkage_solver(y, op, lam, n_iter, step, x0, basis, wavelet, level, tol,
                             callback, momentum=True)
