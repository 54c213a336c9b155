"""The linear-operator abstraction: ``H`` with ``forward``, ``adjoint``, ``normal`` and algebra.

An operator maps images ``(B, C, *in_shape)`` to measurements ``(B, C, *out_shape)``; leading
dimensions are carried through untouched, so colour images are handled channel by channel.
Operators are ``torch.nn.Module``s with buffers only (no trainable parameters); their buffers
are built in float64 and cast to the input's dtype, so float32 and float64 inputs are preserved.

Algebra: ``A @ B`` (composition), ``c * A`` (scaling), ``A + B``, ``A - B``, ``A.H`` (adjoint as
an operator object). ``A.norm()`` is the spectral norm ‖A‖₂ (exact where the structure gives
it, else power iteration), cached.

>>> import torch
>>> from physinv.operators import Identity, dot_test
>>> op = 2.0 * Identity((4, 4))
>>> op(torch.ones(1, 1, 4, 4)).sum().item()
32.0
>>> dot_test(op) < 1e-12
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from physinv.errors import (
    InputError,
    check_finite,
    check_image,
    check_int,
    check_positive,
    check_shape,
)


@dataclass(frozen=True)
class SpectralDecomposition:
    """``H = U diag(s) V^H`` given as maps: ``vh(x)`` → coefficients, ``u(z)`` → measurement.

    ``s`` holds the singular values in the coefficient layout (e.g. one per Fourier frequency
    for a convolution, a vector for a dense matrix). ``v`` and ``uh`` are the inverse maps
    (``V`` and ``U`` are unitary on their ranges), so ``H^H H = V diag(s²) V^H``.
    """

    s: torch.Tensor
    vh: Callable[[torch.Tensor], torch.Tensor]
    v: Callable[[torch.Tensor], torch.Tensor]
    u: Callable[[torch.Tensor], torch.Tensor]
    uh: Callable[[torch.Tensor], torch.Tensor]


def _full_precision(apply, x: torch.Tensor) -> torch.Tensor:
    """The physics runs in float32 / float64 even inside a mixed-precision (autocast) region:
    half-precision input is promoted and autocast is switched off for the FFTs and projections."""
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    if torch.is_autocast_enabled(x.device.type):
        with torch.autocast(x.device.type, enabled=False):
            return apply(x)
    return apply(x)


class LinearOperator(nn.Module):
    """Base class of forward models ``g = H f``.

    Subclasses implement ``_forward(x)`` and ``_adjoint(y)`` on tensors whose trailing
    dimensions are ``in_shape`` / ``out_shape``; they may override ``_normal``, ``_exact_norm``,
    ``fourier_diagonal`` and ``svd`` when their structure gives them cheaply.
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    spec: str | None = None  # set by ``operators.spec.from_spec``: how to rebuild it

    def __init__(self, in_shape, out_shape):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)
        self._norm_cache: dict[tuple, float] = {}

    # ----------------------------------------------------------------- application
    def forward(self, x: torch.Tensor, check: bool = True) -> torch.Tensor:
        """``H x`` for ``x`` of shape ``(B, C, *in_shape)``.

        ``check=False`` skips the NaN/inf scan (shapes are always checked): for inner loops
        of solvers and networks, where it would cost a device synchronisation per call.
        """
        self._check(x, self.in_shape, "x", check)
        return _full_precision(self._forward, x)

    def adjoint(self, y: torch.Tensor, check: bool = True) -> torch.Tensor:
        """``H' y`` (the adjoint, conjugate transpose) for ``y`` of shape ``(B, C, *out_shape)``."""
        self._check(y, self.out_shape, "y", check)
        return _full_precision(self._adjoint, y)

    def normal(self, x: torch.Tensor, check: bool = True) -> torch.Tensor:
        """``H' H x``."""
        self._check(x, self.in_shape, "x", check)
        return _full_precision(self._normal, x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _normal(self, x: torch.Tensor) -> torch.Tensor:
        return self._adjoint(self._forward(x))

    def _check(self, x, shape, name, finite=True):
        if not isinstance(x, torch.Tensor) or x.dim() < len(shape) or not (
            x.is_floating_point() or x.is_complex()
        ) or tuple(x.shape[x.dim() - len(shape):]) != tuple(shape):
            check_image(name, x, finite=False)  # gives the precise message for non-tensors
            raise InputError(
                name, x, f"trailing dimensions {tuple(shape)} for {type(self).__name__}"
            )
        if finite:
            check_finite(name, x)

    def check_input(self, x: torch.Tensor, name: str = "x", finite: bool = True) -> torch.Tensor:
        """Refuse ``x`` unless it is an image batch this operator applies to; return it.

        The check ``forward`` and ``normal`` run first, public for code that takes images of
        this operator's domain (networks, solvers, training helpers).

        Parameters
        ----------
        x : torch.Tensor, shape (..., *in_shape)
            A real or complex floating-point tensor whose trailing dimensions are
            ``in_shape``.
        name : str
            The argument's name in the error message.
        finite : bool
            Also refuse NaN and infinite values (a scan of the tensor).

        Returns
        -------
        torch.Tensor
            ``x`` itself.

        Raises
        ------
        physinv.errors.InputError
            Naming ``name``, the value received and what was expected.

        Examples
        --------
        >>> import torch
        >>> from physinv.operators import Identity
        >>> Identity((4, 4)).check_input(torch.zeros(1, 1, 4, 4)).shape
        torch.Size([1, 1, 4, 4])
        """
        self._check(x, self.in_shape, name, finite)
        return x

    def check_measurement(self, y: torch.Tensor, name: str = "y",
                          finite: bool = True) -> torch.Tensor:
        """Refuse ``y`` unless it is a measurement batch of this operator; return it.

        The check ``adjoint`` runs first, public for code that takes measurements (a network's
        ``forward``, a solver, a closed-form fit).

        Parameters
        ----------
        y : torch.Tensor, shape (..., *out_shape)
            A real or complex floating-point tensor whose trailing dimensions are
            ``out_shape``.
        name : str
            The argument's name in the error message.
        finite : bool
            Also refuse NaN and infinite values (a scan of the tensor).

        Returns
        -------
        torch.Tensor
            ``y`` itself.

        Raises
        ------
        physinv.errors.InputError
            Naming ``name``, the value received and what was expected.

        Examples
        --------
        >>> import torch
        >>> from physinv.operators import Identity
        >>> Identity((4, 4)).check_measurement(torch.zeros(1, 1, 3, 4), "ys")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        physinv.errors.InputError: ys: got tensor of shape (1, 1, 3, 4) ... (4, 4) for Identity
        """
        self._check(y, self.out_shape, name, finite)
        return y

    # ----------------------------------------------------------------- structure hooks
    @property
    def has_fourier_diagonal(self) -> bool:
        """True when ``H = F⁻¹ diag(ĥ) F`` (then ``fourier_diagonal()`` returns ĥ)."""
        return False

    def fourier_diagonal(self) -> torch.Tensor:
        """ĥ of shape ``in_shape`` (complex, full ``fft2`` layout) with ``H = F⁻¹ diag(ĥ) F``."""
        raise NotImplementedError(f"{type(self).__name__} is not diagonal in the Fourier basis")

    def rfft_diagonal(self, dtype: torch.dtype = torch.float64, device=None):
        """(conj(ĥ), |ĥ|²) in ``rfft2`` layout ``(H, W//2+1)`` for real ``dtype``, cached.

        The two λ-independent factors of every Fourier-domain filter, so that a solve costs one
        ``rfft2`` / ``irfft2`` pair and two element-wise operations.
        """
        cache = self.__dict__.setdefault("_rfft_cache", {})
        key = (dtype, str(device))
        if key not in cache:
            half = self._rfft_half()
            cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
            half = half.to(device=device if device is not None else half.device, dtype=cdtype)
            cache[key] = (half.conj().resolve_conj(), (half.real**2 + half.imag**2))
        return cache[key]

    def _rfft_half(self) -> torch.Tensor:
        return self.fourier_diagonal()[..., : self.in_shape[1] // 2 + 1]

    def svd(self) -> SpectralDecomposition:
        """The singular value decomposition, where the operator's structure provides it."""
        raise NotImplementedError(f"{type(self).__name__} has no cheap SVD; use Dense")

    def _exact_norm(self) -> float | None:
        return None

    # ----------------------------------------------------------------- norm
    def norm(self, n_iter: int = 500, tol: float = 1e-10, seed: int = 0) -> float:
        """Spectral norm ‖H‖₂ (largest singular value), exact where known, else power iteration.

        The value is cached per ``(n_iter, tol, seed)``.
        """
        exact = self._exact_norm()
        if exact is not None:
            return float(exact)
        key = (n_iter, tol, seed)
        if key not in self._norm_cache:
            self._norm_cache[key] = power_iteration(self, n_iter=n_iter, tol=tol, seed=seed)
        return self._norm_cache[key]

    # ----------------------------------------------------------------- algebra
    @property
    def H(self) -> LinearOperator:  # noqa: N802 - the field's name for the adjoint
        """The adjoint as an operator object (``op.H(y) == op.adjoint(y)``)."""
        return Adjoint(self)

    def __matmul__(self, other):
        if isinstance(other, LinearOperator):
            return Composition(self, other)
        if isinstance(other, torch.Tensor):
            return self(other)
        return NotImplemented

    def __mul__(self, scalar):
        if isinstance(scalar, int | float):
            return Scaled(self, float(scalar))
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, scalar):
        if isinstance(scalar, int | float):
            return Scaled(self, 1.0 / float(scalar))
        return NotImplemented

    def __neg__(self):
        return Scaled(self, -1.0)

    def __add__(self, other):
        if isinstance(other, LinearOperator):
            return Sum(self, other)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, LinearOperator):
            return Sum(self, Scaled(other, -1.0))
        return NotImplemented

    # nn.Module defines __hash__/__eq__ by identity; keep that.
    __hash__ = nn.Module.__hash__

    def to_matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The explicit matrix (``prod(out_shape)`` × ``prod(in_shape)``); small problems only."""
        n = 1
        for s in self.in_shape:
            n *= s
        if n > 4096:
            raise InputError("in_shape", self.in_shape, "at most 4096 pixels for to_matrix()")
        device = _device_of(self)
        eye = torch.eye(n, dtype=dtype, device=device).reshape(n, 1, *self.in_shape)
        cols = self(eye).reshape(n, -1)
        return cols.T.contiguous()

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, out_shape={self.out_shape}"


def _device_of(module: nn.Module) -> torch.device:
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def power_iteration(op: LinearOperator, n_iter: int = 500, tol: float = 1e-10,
                    seed: int = 0) -> float:
    """Largest singular value of ``op`` by power iteration on ``H'H`` in float64."""
    n_iter = check_int("n_iter", n_iter)
    tol = check_positive("tol", tol)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    device = _device_of(op)
    x = torch.randn((1, 1, *op.in_shape), generator=gen, dtype=torch.float64).to(device)
    x = x / torch.linalg.vector_norm(x)
    sigma2 = 0.0
    for _ in range(n_iter):
        z = op.normal(x, check=False)
        new = float(torch.linalg.vector_norm(z))
        if new == 0.0:
            return 0.0
        x = z / new
        if abs(new - sigma2) <= tol * new:
            sigma2 = new
            break
        sigma2 = new
    return sigma2 ** 0.5


def dot_test(op: LinearOperator, seed: int = 0, dtype: torch.dtype = torch.float64,
             batch: int = 2, channels: int = 1) -> float:
    """Relative adjoint error ``|⟨Hx, y⟩ − ⟨x, H'y⟩| / (‖Hx‖ ‖y‖)`` on random x, y.

    Zero in exact arithmetic for a correct adjoint; ~1e-16 in float64.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    device = _device_of(op)
    x = torch.randn((batch, channels, *op.in_shape), generator=gen, dtype=dtype).to(device)
    y = torch.randn((batch, channels, *op.out_shape), generator=gen, dtype=dtype).to(device)
    hx = op(x)
    hty = op.adjoint(y)
    lhs = torch.sum(hx * y)
    rhs = torch.sum(x * hty)
    scale = torch.linalg.vector_norm(hx) * torch.linalg.vector_norm(y)
    if float(scale) == 0.0:
        return float(abs(rhs))
    return float(abs(lhs - rhs) / scale)


# --------------------------------------------------------------------- combinators
class Adjoint(LinearOperator):
    """``H'`` as an operator: forward is ``H.adjoint``, adjoint is ``H.forward``."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape)
        self.op = op

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    def _exact_norm(self):
        return self.op.norm()

    @property
    def H(self):  # noqa: N802
        return self.op


class Composition(LinearOperator):
    """``A @ B``: first ``B``, then ``A``."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if tuple(outer.in_shape) != tuple(inner.out_shape):
            raise InputError("inner.out_shape", inner.out_shape,
                             f"{outer.in_shape} to compose with {type(outer).__name__}")
        super().__init__(inner.in_shape, outer.out_shape)
        self.outer = outer
        self.inner = inner

    def _forward(self, x):
        return self.outer._forward(self.inner._forward(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))

    @property
    def has_fourier_diagonal(self):
        return self.outer.has_fourier_diagonal and self.inner.has_fourier_diagonal

    def fourier_diagonal(self):
        if not self.has_fourier_diagonal:
            return super().fourier_diagonal()
        return self.outer.fourier_diagonal() * self.inner.fourier_diagonal()

    def _exact_norm(self):
        if self.has_fourier_diagonal:
            return float(self.fourier_diagonal().abs().max())
        return None


class Scaled(LinearOperator):
    """``c · H`` for a real scalar ``c``."""

    def __init__(self, op: LinearOperator, scale: float):
        super().__init__(op.in_shape, op.out_shape)
        self.op = op
        self.scale = float(scale)

    def _forward(self, x):
        return self.scale * self.op._forward(x)

    def _adjoint(self, y):
        return self.scale * self.op._adjoint(y)

    def _normal(self, x):
        return (self.scale * self.scale) * self.op._normal(x)

    @property
    def has_fourier_diagonal(self):
        return self.op.has_fourier_diagonal

    def fourier_diagonal(self):
        return self.scale * self.op.fourier_diagonal()

    def _exact_norm(self):
        return abs(self.scale) * self.op.norm()

    def extra_repr(self):
        return f"scale={self.scale}"


class Sum(LinearOperator):
    """``A + B`` for operators with the same input and output shapes."""

    def __init__(self, first: LinearOperator, second: LinearOperator):
        if first.in_shape != second.in_shape or first.out_shape != second.out_shape:
            raise InputError("second", f"{second.in_shape}->{second.out_shape}",
                             f"shapes {first.in_shape}->{first.out_shape} to add")
        super().__init__(first.in_shape, first.out_shape)
        self.first = first
        self.second = second

    def _forward(self, x):
        return self.first._forward(x) + self.second._forward(x)

    def _adjoint(self, y):
        return self.first._adjoint(y) + self.second._adjoint(y)

    @property
    def has_fourier_diagonal(self):
        return self.first.has_fourier_diagonal and self.second.has_fourier_diagonal

    def fourier_diagonal(self):
        if not self.has_fourier_diagonal:
            return super().fourier_diagonal()
        return self.first.fourier_diagonal() + self.second.fourier_diagonal()

    def _exact_norm(self):
        if self.has_fourier_diagonal:
            return float(self.fourier_diagonal().abs().max())
        return None


class Identity(LinearOperator):
    """``H = I`` on images of shape ``shape`` (denoising). Fourier-diagonal with ĥ = 1."""

    def __init__(self, shape):
        shape = check_shape("shape", shape)
        super().__init__(shape, shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y

    @property
    def has_fourier_diagonal(self):
        return True

    def fourier_diagonal(self):
        return torch.ones(self.in_shape, dtype=torch.complex128)

    def svd(self):
        ident = _identity_map
        return SpectralDecomposition(torch.ones(self.in_shape, dtype=torch.float64),
                                     ident, ident, ident, ident)

    def _exact_norm(self):
        return 1.0


def _identity_map(x):
    return x
