"""Iterative solvers: conjugate gradients, Landweber, ISTA and FISTA.

- ``cg``: (H'H + λD'D) x = H'g by conjugate gradients (per image in a batch); ``solve_spd`` is
  the (optionally preconditioned) CG for any symmetric A, e.g. with the circulant
  preconditioner of ``physinv.solvers.pcg`` for CT.
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
              n_iter: int = 200, tol: float = 1e-8,
              precond: Callable | None = None) -> tuple[torch.Tensor, int, bool, list]:
    """(Preconditioned) conjugate gradients for A x = b, A symmetric positive (semi-)definite.

    .. math::

        α_k = ⟨r_k, z_k⟩ / ⟨p_k, A p_k⟩,   x_{k+1} = x_k + α_k p_k,   r_{k+1} = r_k − α_k A p_k,
        z_{k+1} = M⁻¹ r_{k+1},   p_{k+1} = z_{k+1} + (⟨r_{k+1}, z_{k+1}⟩ / ⟨r_k, z_k⟩) p_k

    with M⁻¹ = ``precond`` (the identity without: plain CG). Every image of the batch (the
    first two dimensions) is its own system: inner products run over the remaining
    dimensions, so one call solves B·C systems with the same operator.

    Parameters
    ----------
    apply : callable
        ``apply(v) -> A v`` for tensors shaped like ``b``; A must be symmetric positive
        (semi-)definite (e.g. H'H + λD'D).
    b : torch.Tensor, shape (B, C, ...)
        Right-hand side.
    x0 : torch.Tensor, optional
        Starting point, shaped like ``b`` (default zeros).
    n_iter : int, default 200
        Maximum number of iterations.
    tol : float, default 1e-8
        Stop when the relative residual ‖b − Ax‖ / ‖b‖ of every image is at most ``tol``
        (0: run ``n_iter`` iterations). The residual is the unpreconditioned one, so counts
        with and without ``precond`` compare.
    precond : callable, optional
        ``precond(r) -> M⁻¹ r``, a symmetric positive definite approximation of A⁻¹ (e.g.
        ``physinv.solvers.pcg.CirculantPreconditioner``); default none.

    Returns
    -------
    x : torch.Tensor
        The solution, shaped like ``b``.
    n_iter : int
        Iterations run.
    converged : bool
        Whether the tolerance was met.
    history : list of float
        The largest relative residual over the batch after each iteration.

    References
    ----------
    .. [1] M. R. Hestenes, E. Stiefel, "Methods of conjugate gradients for solving linear
           systems", J. Res. Natl. Bur. Stand. 49(6), 409–436, 1952.
    .. [2] Y. Saad, "Iterative Methods for Sparse Linear Systems", 2nd ed., SIAM, 2003,
           Algorithm 9.1 (preconditioned CG).

    Examples
    --------
    >>> import torch
    >>> from physinv.solvers import solve_spd
    >>> a = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> b = torch.tensor([[[1.0, 2.0]]], dtype=torch.float64)
    >>> x, k, ok, _ = solve_spd(lambda v: v @ a.T, b, tol=1e-12)
    >>> k, ok, bool(torch.allclose(x @ a.T, b))
    (2, True, True)
    """
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x) if x0 is not None else b.clone()
    z = r.clone() if precond is None else precond(r)
    p = z.clone()
    rz = _dot(r, z)
    b_norm = _dot(b, b).sqrt().clamp_min(torch.finfo(b.dtype).tiny)
    history = []
    for k in range(1, n_iter + 1):
        ap = apply(p)
        denom = _dot(p, ap)
        alpha = torch.where(denom > 0, rz / torch.where(denom > 0, denom, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * ap
        rel = float((_dot(r, r).sqrt() / b_norm).max().detach())
        history.append(rel)
        if rel <= tol:
            return x, k, True, history
        z = r if precond is None else precond(r)
        rz_new = _dot(r, z)
        beta = torch.where(rz > 0, rz_new / torch.where(rz > 0, rz, 1.0), 0.0)
        p = z + beta * p
        rz = rz_new
    return x, n_iter, False, history


def estimate_diagonal(apply: Callable, like: torch.Tensor, n_probes: int = 8,
                      seed: int = 0) -> torch.Tensor:
    """Stochastic estimate of the diagonal of a symmetric operator A.

    .. math::

        diag(A) ≈ (1/K) Σ_k z_k ⊙ A z_k,   z_k with independent ±1 (Rademacher) entries

    unbiased, and exact for a diagonal A.

    Parameters
    ----------
    apply : callable
        ``apply(v) -> A v`` for tensors shaped like ``like``.
    like : torch.Tensor
        Gives the shape, dtype and device of the probes (its values are not used).
    n_probes : int, default 8
        Number K of probes.
    seed : int, default 0
        Seed of the probes' CPU generator.

    Returns
    -------
    torch.Tensor
        The estimated diagonal, shaped like ``like``.

    References
    ----------
    .. [1] C. Bekas, E. Kokiopoulou, Y. Saad, "An estimator for the diagonal of a matrix",
           Appl. Numer. Math. 57(11–12), 1214–1229, 2007.

    Examples
    --------
    >>> import torch
    >>> from physinv.solvers.iterative import estimate_diagonal
    >>> estimate_diagonal(lambda v: 3.0 * v, torch.zeros(1, 1, 4, 4)).unique().tolist()
    [3.0]
    """
    gen = torch.Generator().manual_seed(seed)
    acc = torch.zeros_like(like)
    for _ in range(n_probes):
        z = (torch.randint(0, 2, like.shape, generator=gen) * 2 - 1).to(like)
        acc += z * apply(z)
    return acc / n_probes


def regulariser(op: LinearOperator, reg: str) -> LinearOperator:
    """The regularisation operator D of ‖Df‖² for images of ``op``'s input shape.

    Parameters
    ----------
    op : LinearOperator
        The forward operator; D acts on its ``in_shape``.
    reg : {"identity", "gradient"}
        D = I, or the forward-difference ``Gradient`` with circular boundaries.

    Returns
    -------
    LinearOperator
        ``Identity(op.in_shape)`` or ``Gradient(op.in_shape)``.

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> from physinv.solvers.iterative import regulariser
    >>> regulariser(Identity((8, 8)), "gradient").out_shape
    (2, 8, 8)
    """
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
    """Regularised least squares by conjugate gradients on the normal equations.

    .. math::

        (H'H + λD'D) x = H'g

    i.e. argmin ‖g − Hx‖² + λ‖Dx‖², matrix-free for any operator (least squares when λ = 0;
    stopped early, CG itself regularises). Each image of the batch is solved on its own.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (the estimate has the same dtype).
    op : LinearOperator
        Forward operator H.
    lam : float, default 0.0
        Regularisation weight λ ≥ 0.
    reg : {"identity", "gradient"}, default "identity"
        The regulariser D (see ``regulariser``).
    n_iter : int, default 200
        Maximum number of CG iterations.
    tol : float or None, default 1e-8
        Stop when the relative residual of the normal equations is at most ``tol`` for every
        image; ``None`` runs exactly ``n_iter`` iterations.
    x0 : torch.Tensor, shape (B, C, *op.in_shape), optional
        Starting point (default zeros).

    Returns
    -------
    Result
        ``x``: the estimate, shape (B, C, *op.in_shape); ``history["residual"]``: relative
        residual per iteration; ``params``: ``lam``, ``reg``, ``path`` (``"cg"``);
        ``n_iter``, ``converged``, ``stop_reason`` (``"tolerance"`` or ``"max_iter"``).

    See Also
    --------
    tikhonov : the same problem by the fastest path the operator has, with λ rules.

    References
    ----------
    .. [1] M. R. Hestenes, E. Stiefel, "Methods of conjugate gradients for solving linear
           systems", J. Res. Natl. Bur. Stand. 49(6), 409–436, 1952.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> from physinv.solvers import cg
    >>> r = cg(y, op, lam=1e-2, reg="gradient")
    >>> r.converged, r.stop_reason, bool(psnr(r.x, x) > psnr(y, x))
    (True, 'tolerance', True)
    """
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
    """Landweber (projected gradient) iteration for ½‖g − Hx‖² + ½λ‖x‖².

    .. math::

        x⁽ᵏ⁺¹⁾ = P( x⁽ᵏ⁾ + α H'(g − Hx⁽ᵏ⁾) − αλ x⁽ᵏ⁾ ),   0 < α < 2 / (‖H‖² + λ)

    with P the projection on ``bounds`` (the identity without). Without λ the iteration
    semi-converges: the number of iterations is the regularisation. ``UnrolledLandweber(op,
    n_layers=K)`` at its initial weights computes the same K iterations.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (the estimate has the same dtype).
    op : LinearOperator
        Forward operator H.
    n_iter : int, default 100
        Maximum number of iterations K.
    step : float, optional
        Step α > 0; default 1/‖H‖² (``op.norm()``). For λ ≥ ‖H‖² give a step below
        2/(‖H‖² + λ).
    lam : float, default 0.0
        Weight λ ≥ 0 of the quadratic penalty ½λ‖x‖².
    x0 : torch.Tensor, shape (B, C, *op.in_shape), optional
        Starting point (default zeros; projected on ``bounds``).
    bounds : tuple (low, high), optional
        Box constraint, either side ``None`` for no bound: ``(0, None)`` enforces positivity.
    tol : float or None, default 1e-6
        Stop when ‖x⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾‖ / ‖x⁽ᵏ⁾‖ < ``tol``; ``None`` runs exactly ``n_iter``
        iterations (as the unrolled networks do).
    callback : callable, optional
        ``callback(k, x)`` after iteration k (e.g. to record the error against a known truth).

    Returns
    -------
    Result
        ``x``: the estimate, shape (B, C, *op.in_shape); ``history``: ``objective`` and
        ``residual`` (‖g − Hx‖ / ‖g‖) per iteration; ``params``: ``step``, ``lam``;
        ``n_iter``, ``converged``, ``stop_reason``.

    Raises
    ------
    InputError
        For invalid arguments, or when a hand-given step makes the iteration diverge (the
        message names the bound 2/(‖H‖² + λ)).

    References
    ----------
    .. [1] L. Landweber, "An iteration formula for Fredholm integral equations of the first
           kind", Amer. J. Math. 73(3), 615–624, 1951.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> from physinv.solvers import landweber
    >>> r = landweber(y, op, n_iter=30, bounds=(0, None))
    >>> r.n_iter, float(r.x.min()) >= 0, bool(psnr(r.x, x) > psnr(y, x))
    (30, True, True)
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
    """Soft-thresholding S_θ(x) = sign(x) · max(|x| − θ, 0), the proximal map of θ‖·‖₁.

    Parameters
    ----------
    x : torch.Tensor
        Input, any shape.
    threshold : float or torch.Tensor
        θ ≥ 0, a scalar or a tensor broadcastable to ``x`` (e.g. one θ per sub-band).

    Returns
    -------
    torch.Tensor
        S_θ(x), shaped like ``x``.

    Examples
    --------
    >>> import torch
    >>> from physinv.solvers import soft_threshold
    >>> soft_threshold(torch.tensor([-2.0, 0.5, 3.0]), 1.0).tolist()
    [-1.0, 0.0, 2.0]
    """
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
    """ISTA: iterative soft-thresholding for ℓ1-regularised least squares.

    .. math::

        min_x ½‖g − Hx‖² + λ‖Wx‖₁,   c⁽ᵏ⁺¹⁾ = S_{αλ}( c⁽ᵏ⁾ − α W H'(H W'c⁽ᵏ⁾ − g) )

    with W = I (``basis="pixel"``: sparsity of the pixels) or an orthogonal wavelet transform
    (``basis="wavelet"``: the iteration runs on c = Wx, the approximation band unpenalised).
    With α ≤ 1/‖H‖² the objective never increases. An untrained ``LISTA(op, n_layers=K, ...)``
    computes the same K iterations.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (the estimate has the same dtype).
    op : LinearOperator
        Forward operator H.
    lam : float
        The ℓ1 weight λ ≥ 0 (required; in data units, choose it on training data).
    n_iter : int, default 100
        Maximum number of iterations.
    step : float, optional
        Step α > 0; default 1/‖H‖². Convergence needs α < 2/‖H‖².
    x0 : torch.Tensor, shape (B, C, *op.in_shape), optional
        Starting image (default zeros).
    basis : {"pixel", "wavelet"}, default "pixel"
        Where the solution is sparse.
    wavelet : str, default "db2"
        Orthogonal wavelet name for ``basis="wavelet"`` (haar, dbN, symN, coifN).
    level : int, optional
        Decomposition levels (default: as many as the image allows, at most 3).
    tol : float or None, default 1e-6
        Stop when the relative change of the iterate is below ``tol``; ``None`` runs exactly
        ``n_iter`` iterations.
    callback : callable, optional
        ``callback(k, x)`` after iteration k, with x the current image.

    Returns
    -------
    Result
        ``x``: the estimate, shape (B, C, *op.in_shape); ``history``: ``objective`` and
        ``residual`` (‖g − Hx‖ / ‖g‖) per iteration; ``params``: ``lam``, ``step``,
        ``basis`` (and ``wavelet``, ``level``); ``n_iter``, ``converged``, ``stop_reason``.

    Raises
    ------
    InputError
        Without ``lam``, for an unknown basis or wavelet, or when a hand-given step makes the
        iteration diverge (the message names the bound).

    References
    ----------
    .. [1] I. Daubechies, M. Defrise, C. De Mol, "An iterative thresholding algorithm for
           linear inverse problems with a sparsity constraint", Comm. Pure Appl. Math.
           57(11), 1413–1457, 2004.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> from physinv.solvers import ista
    >>> r = ista(y, op, lam=1e-3, n_iter=50)
    >>> obj = r.history["objective"]
    >>> all(b <= a + 1e-12 for a, b in zip(obj, obj[1:])), bool(psnr(r.x, x) > psnr(y, x))
    (True, True)
    """
    return _shrinkage_solver(y, op, lam, n_iter, step, x0, basis, wavelet, level, tol,
                             callback, momentum=False)


def fista(y, op, lam: float | None = None, n_iter: int = 100, step: float | None = None,
          x0=None, basis: str = "pixel", wavelet: str = "db2", level: int | None = None,
          tol: float = 1e-6, callback: Callable | None = None) -> Result:
    """FISTA: ISTA with Nesterov momentum, O(1/k²) in the objective.

    .. math::

        c⁽ᵏ⁾ = S_{αλ}( z⁽ᵏ⁾ − α W H'(H W'z⁽ᵏ⁾ − g) ),   t_{k+1} = (1 + √(1 + 4t_k²)) / 2,
        z⁽ᵏ⁺¹⁾ = c⁽ᵏ⁾ + ((t_k − 1) / t_{k+1}) (c⁽ᵏ⁾ − c⁽ᵏ⁻¹⁾),   t₁ = 1

    for the same problem min ½‖g − Hx‖² + λ‖Wx‖₁ as ``ista``. Unlike ISTA the objective may
    rise on some iterations; convergence needs α ≤ 1/‖H‖² (the default).

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (the estimate has the same dtype).
    op : LinearOperator
        Forward operator H.
    lam : float
        The ℓ1 weight λ ≥ 0 (required; choose it on training data).
    n_iter : int, default 100
        Maximum number of iterations.
    step : float, optional
        Step α > 0; default 1/‖H‖².
    x0 : torch.Tensor, shape (B, C, *op.in_shape), optional
        Starting image (default zeros).
    basis : {"pixel", "wavelet"}, default "pixel"
        Where the solution is sparse.
    wavelet : str, default "db2"
        Orthogonal wavelet name for ``basis="wavelet"``.
    level : int, optional
        Decomposition levels (default: as many as the image allows, at most 3).
    tol : float or None, default 1e-6
        Stop when the relative change of the iterate is below ``tol``; ``None`` runs exactly
        ``n_iter`` iterations.
    callback : callable, optional
        ``callback(k, x)`` after iteration k, with x the current image.

    Returns
    -------
    Result
        As ``ista``: ``x``, ``history`` (``objective``, ``residual``), ``params``
        (``lam``, ``step``, ``basis``), ``n_iter``, ``converged``, ``stop_reason``.

    References
    ----------
    .. [1] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
           linear inverse problems", SIAM J. Imaging Sci. 2(1), 183–202, 2009.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> from physinv.solvers import fista, ista
    >>> fast = fista(y, op, lam=1e-3, n_iter=50)
    >>> slow = ista(y, op, lam=1e-3, n_iter=50)
    >>> fast.history["objective"][-1] <= slow.history["objective"][-1]
    True
    """
    return _shrinkage_solver(y, op, lam, n_iter, step, x0, basis, wavelet, level, tol,
                             callback, momentum=True)
