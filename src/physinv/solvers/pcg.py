"""The regularised normal equations (H'H + R) x = b by the exact path the operator has.

R = F⁻¹ diag(r) F is a circulant regulariser given by its Fourier multiplier r(ω) ≥ 0 — e.g.
λ|d̂|² + μ for Tikhonov with the gradient D and a proximal weight μ (``tikhonov_power``), or a
learned λ|d̂|² e^{s(|ω|)}. ``NormalSolver(op)`` picks the path once:

=========  ===========================================  ==================================
path       operator                                     solve
=========  ===========================================  ==================================
fourier    Fourier-diagonal H                           x̂ = b̂ / (|ĥ|² + r), exact
polyphase  circular ``SuperResolution`` (×s)            s² × s² blocks of aliased frequencies,
                                                        (diag(r) + h̄hᵀ/s²) x̂ = b̂, exact
dense      ``Dense``                                    (AᵀA + R) x = b, exact
pcg        anything else (``Radon``, ``FanBeam``, …)    preconditioned CG to ``tol``
=========  ===========================================  ==================================

The preconditioner of the ``pcg`` path is ``CirculantPreconditioner``: H'H replaced by the
convolution with its centre point response on a 2N × 2N grid
(``physinv.operators.normal.NormalApproximation``), inverted by FFT together with R.

Every path is differentiable in b and in r (so in learnable parameters that r or b depend
on): the closed forms through autograd, the ``pcg`` path by implicit differentiation — the
backward pass of x = A⁻¹b is the same symmetric solve, A⁻¹ applied to the incoming gradient.

>>> import torch
>>> from physinv.operators import Radon
>>> from physinv.solvers.pcg import NormalSolver, tikhonov_power
>>> op = Radon((32, 32), torch.arange(0, 180, 6.0))
>>> solver = NormalSolver(op)
>>> x = solver.solve(op.adjoint(torch.rand(1, 1, *op.out_shape, dtype=torch.float64)),
...                  tikhonov_power(10.0))
>>> solver.path, solver.converged
('pcg', True)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from physinv.errors import InputError, check_int, check_positive
from physinv.operators import Dense, SuperResolution
from physinv.operators.base import LinearOperator
from physinv.operators.normal import NormalApproximation
from physinv.solvers.iterative import solve_spd
from physinv.solvers.spectral import reg_power_half

PATHS = ("fourier", "polyphase", "dense", "pcg")

Power = Callable[[tuple], torch.Tensor]


def tikhonov_power(lam, reg: str = "gradient", mu=0.0) -> Power:
    """The Fourier multiplier r(ω) = λ|d̂(ω)|² + μ of R = λD'D + μI, on any grid.

    Parameters
    ----------
    lam : float or torch.Tensor
        λ ≥ 0.
    reg : {"gradient", "identity"}, default "gradient"
        D: circular finite differences (|d̂|² = 4 sin²(πf_y) + 4 sin²(πf_x)) or the identity.
    mu : float or torch.Tensor, default 0.0
        μ ≥ 0 (a tensor keeps its gradient).

    Returns
    -------
    callable
        ``power(shape) -> r``, shape (H, W // 2 + 1), ``rfft2`` layout, float64.

    Examples
    --------
    >>> from physinv.solvers.pcg import tikhonov_power
    >>> [round(v, 12) for v in tikhonov_power(2.0, mu=1.0)((4, 4))[0].tolist()]
    [1.0, 5.0, 9.0]
    """
    if reg not in ("gradient", "identity"):
        raise InputError("reg", reg, "'identity' or 'gradient'")

    def power(shape):
        return lam * reg_power_half(tuple(shape), reg) + mu

    return power


def _full_layout(half: torch.Tensor, shape) -> torch.Tensor:
    """A real even multiplier from ``rfft2`` layout (H, W//2 + 1) to ``fft2`` layout (H, W)."""
    h, w = shape
    cols = torch.arange(w // 2 + 1, w, device=half.device)
    rows = (-torch.arange(h, device=half.device)) % h
    return torch.cat([half, half[rows][:, w - cols]], dim=1)


def _circulant(x: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
    """R x = F⁻¹[r · F x] for the multiplier r in ``rfft2`` layout."""
    return torch.fft.irfft2(torch.fft.rfft2(x) * half.to(x.dtype), s=x.shape[-2:])


class CirculantPreconditioner:
    """M⁻¹ ≈ (H'H + R)⁻¹ by FFT: H'H as the convolution with its point response, 2N grid.

    .. math::

        M⁻¹ v = S P' F⁻¹[ F(P S v) / (k̂ + r) ] + (1 − S) F⁻¹[ F((1 − S) v) / (r + δ) ]

    with k̂ the transfer function of ``NormalApproximation`` (H'H's point response on the
    padded grid), r the regulariser's multiplier (on the padded grid in the first term, the
    image grid in the second), P the zero-padding, S the pixels H sees and δ the smallest
    positive value of r (outside S only R acts: the second term inverts it). Symmetric
    positive definite, so it changes the number of CG iterations, never the solution.

    Parameters
    ----------
    approx : NormalApproximation
        The convolution approximation of H'H.
    power : callable
        ``power(shape) -> r`` of the regulariser (``rfft2`` layout, ≥ 0), called on the
        padded and on the image grid (detached).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Radon
    >>> from physinv.operators.normal import NormalApproximation
    >>> from physinv.solvers.pcg import CirculantPreconditioner, tikhonov_power
    >>> approx = NormalApproximation(Radon((16, 16), torch.arange(0, 180, 10.0)))
    >>> m = CirculantPreconditioner(approx, tikhonov_power(1.0))
    >>> tuple(m(torch.rand(2, 1, 16, 16, dtype=torch.float64)).shape)
    (2, 1, 16, 16)
    """

    def __init__(self, approx: NormalApproximation, power: Power):
        self.approx = approx
        denom = approx.transfer + power(approx.padded_shape).detach().to(approx.transfer)
        floor = float(denom.max()) * torch.finfo(torch.float64).eps
        self.inside = 1 / denom.clamp_min(floor)
        half = power(approx.in_shape).detach().to(approx.transfer)
        delta = half[half > 0].min() if bool((half > 0).any()) else torch.ones(())
        self.outside = 1 / (half + delta)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        """M⁻¹ v for images v of shape (B, C, H, W)."""
        mask = self.approx.support.to(device=v.device, dtype=v.dtype)
        inside = mask * self.approx.filter(mask * v, self.inside.to(v.device))
        return inside + (1 - mask) * _circulant((1 - mask) * v, self.outside.to(v.device))


class _AdjointSolve(torch.autograd.Function):
    """Zero forward, A⁻¹ backward: x = x̄ + _AdjointSolve(b − A x̄) has dx = A⁻¹(db − dA x̄)."""

    @staticmethod
    def forward(ctx, residual, solve):
        ctx.solve = solve
        return torch.zeros_like(residual)

    @staticmethod
    def backward(ctx, grad):
        return ctx.solve(grad), None


class NormalSolver:
    """Solves (H'H + R) x = b exactly (closed form) or to a tolerance (preconditioned CG).

    .. math::

        x = (H'H + R)⁻¹ b,   R = F⁻¹ diag(r) F

    The path follows the operator (see the module docstring): ``fourier``, ``polyphase``,
    ``dense`` or ``pcg``. Not a module: it holds no state a checkpoint needs (the
    preconditioner's point response is computed on first use and kept).

    Parameters
    ----------
    op : LinearOperator
        Forward operator H with 2-D images.
    tol : float, default 1e-8
        Relative residual ‖b − Ax‖/‖b‖ at which the ``pcg`` path stops (ct_sparse at 128²,
        λ = 10⁻³‖H‖²: 39 iterations, within 1.5e-6 of the exact solution; 1e-6: 27
        iterations, 1e-4).
    max_iter : int, default 500
        Cap on the CG iterations of the ``pcg`` path.
    precondition : bool, default True
        Use ``CirculantPreconditioner`` on the ``pcg`` path (False: plain CG).

    Attributes
    ----------
    path : str
        One of ``PATHS``.
    n_iter, converged : int, bool
        Iterations and convergence of the last solve (0 and True for a closed form).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import SuperResolution, psf
    >>> from physinv.solvers.pcg import NormalSolver, tikhonov_power
    >>> op = SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2)
    >>> b = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> x = NormalSolver(op).solve(b, tikhonov_power(0.01))
    >>> lhs = op.normal(x) + 0.01 * torch.fft.irfft2(torch.fft.rfft2(x)
    ...     * tikhonov_power(1.0)((16, 16)), s=(16, 16))
    >>> bool(torch.allclose(lhs, b))
    True
    """

    def __init__(self, op: LinearOperator, tol: float = 1e-8, max_iter: int = 500,
                 precondition: bool = True):
        if len(op.in_shape) != 2:
            raise InputError("op", type(op).__name__, "an operator on 2-D images")
        self.op = op
        self.tol = check_positive("tol", tol)
        self.max_iter = check_int("max_iter", max_iter)
        self.precondition = precondition
        self.path = self._path(op)
        self.n_iter, self.converged = 0, True
        self._approx = None

    @staticmethod
    def _path(op) -> str:
        if op.has_fourier_diagonal:
            return "fourier"
        if isinstance(op, SuperResolution) and op.conv.boundary == "circular":
            return "polyphase"
        if isinstance(op, Dense):
            return "dense"
        return "pcg"

    def solve(self, b: torch.Tensor, power: Power, x0: torch.Tensor | None = None
              ) -> torch.Tensor:
        """x = (H'H + R)⁻¹ b.

        Parameters
        ----------
        b : torch.Tensor, shape (B, C, *op.in_shape)
            Right-hand side, e.g. H'g (+ μz).
        power : callable
            ``power(shape) -> r`` (``rfft2`` layout, float64, ≥ 0) of R on a grid of the given
            shape, e.g. ``tikhonov_power(lam)``; may carry gradients.
        x0 : torch.Tensor, optional
            Warm start of the ``pcg`` path (ignored by the closed forms).

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            x, in the dtype of ``b`` (the Fourier path computes in that precision, the others
            in float64).
        """
        self.n_iter, self.converged = 0, True
        half = power(self.op.in_shape).to(b.device)
        if self.path == "fourier":
            return self._fourier(b, half)
        b64 = b.to(torch.float64)
        if self.path == "polyphase":
            x = self._polyphase(b64, half.to(torch.float64))
        elif self.path == "dense":
            x = self._dense(b64, half.to(torch.float64))
        else:
            x = self._pcg(b64, half.to(torch.float64), power, x0)
        return x.to(b.dtype)

    def invert(self, y: torch.Tensor, power: Power) -> torch.Tensor:
        """The regularised inverse x = (H'H + R)⁻¹ H'g of measurements g.

        On the Fourier path one filter conj(ĥ) / (|ĥ|² + r) in the data's precision (as
        ``tikhonov``'s), else ``solve(H'g, power)``.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurements g.
        power : callable
            ``power(shape) -> r`` as for ``solve``.

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            x, in the dtype of ``y``.
        """
        if self.path != "fourier":
            return self.solve(self.op.adjoint(y, check=False), power)
        self.n_iter, self.converged = 0, True
        conj, h2 = self.op.rfft_diagonal(y.dtype, y.device)
        denom = h2 + power(self.op.in_shape).to(device=y.device, dtype=y.dtype)
        filt = conj * denom.clamp_min(torch.finfo(y.dtype).tiny).reciprocal()
        return torch.fft.irfft2(torch.fft.rfft2(y) * filt, s=self.op.in_shape)

    def _fourier(self, b, half):
        _, h2 = self.op.rfft_diagonal(b.dtype, b.device)
        denom = h2 + half.to(b.dtype)
        inv = torch.where(denom > 0, 1 / denom.clamp_min(torch.finfo(b.dtype).tiny), 0)
        return torch.fft.irfft2(torch.fft.rfft2(b) * inv, s=self.op.in_shape)

    def _blocks(self, t: torch.Tensor) -> torch.Tensor:
        """(..., H, W) in ``fft2`` layout → (..., H/s, W/s, s²): the aliased frequencies."""
        s = self.op.factor
        h, w = self.op.in_shape
        lead = t.shape[:-2]
        n = len(lead)
        t = t.reshape(*lead, s, h // s, s, w // s)
        t = t.permute(*range(n), n + 1, n + 3, n, n + 2)
        return t.reshape(*lead, h // s, w // s, s * s)

    def _unblocks(self, t: torch.Tensor) -> torch.Tensor:
        """The inverse of ``_blocks``."""
        s = self.op.factor
        h, w = self.op.in_shape
        lead = t.shape[:-3]
        n = len(lead)
        t = t.reshape(*lead, h // s, w // s, s, s)
        return t.permute(*range(n), n + 2, n, n + 3, n + 1).reshape(*lead, h, w)

    def _polyphase(self, b, half):
        s2 = self.op.factor ** 2
        otf = self._blocks(self.op.conv.fourier_diagonal().to(b.device))
        r = self._blocks(_full_layout(half, self.op.in_shape)).to(otf.dtype)
        gram = torch.diag_embed(r) + otf.conj()[..., :, None] * otf[..., None, :] / s2
        rhs = self._blocks(torch.fft.fft2(b))
        x = torch.linalg.solve(gram, rhs.unsqueeze(-1)).squeeze(-1)
        return torch.fft.ifft2(self._unblocks(x)).real

    def _dense(self, b, half):
        a = self.op.matrix.to(device=b.device, dtype=torch.float64)
        n = a.shape[1]
        basis = torch.eye(n, dtype=torch.float64, device=b.device).reshape(n, *self.op.in_shape)
        reg = _circulant(basis, half).reshape(n, n)
        flat = b.reshape(-1, n)
        x = torch.linalg.solve(a.T @ a + reg, flat.T).T
        return x.reshape(b.shape)

    def approximation(self, device=None) -> NormalApproximation:
        """The convolution approximation of H'H (computed on first use, then kept)."""
        if self._approx is None:
            self._approx = NormalApproximation(self.op)
        return self._approx.to(device) if device is not None else self._approx

    def _iterate(self, b, half, power, x0):
        def apply(v):
            return self.op.normal(v, check=False) + _circulant(v, half)

        precond = None
        if self.precondition:
            approx = self.approximation(b.device)
            precond = CirculantPreconditioner(approx, power)
        x, k, ok, _ = solve_spd(apply, b, x0, self.max_iter, self.tol, precond)
        self.n_iter, self.converged = k, ok
        return x

    def _pcg(self, b, half, power, x0):
        with torch.no_grad():
            x = self._iterate(b.detach(), half.detach(), power, None if x0 is None
                              else x0.detach().to(torch.float64))
        if not (torch.is_grad_enabled() and (b.requires_grad or half.requires_grad)):
            return x
        n_iter, converged = self.n_iter, self.converged

        def adjoint(grad):
            with torch.no_grad():
                return self._iterate(grad, half.detach(), power, None)

        residual = b - self.op.normal(x, check=False) - _circulant(x, half)
        out = x + _AdjointSolve.apply(residual, adjoint)
        self.n_iter, self.converged = n_iter, converged
        return out


__all__ = ["PATHS", "CirculantPreconditioner", "NormalSolver", "tikhonov_power"]
