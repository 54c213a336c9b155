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

    ``V`` and ``U`` are unitary on their ranges, so ``v`` and ``uh`` are the inverse maps and
    ``H^H H = V diag(s²) V^H``. Returned by ``LinearOperator.svd()``.

    Parameters
    ----------
    s : torch.Tensor
        Singular values in the coefficient layout (one per Fourier frequency, shape (H, W),
        for a circular convolution; a vector for a dense matrix).
    vh : callable
        Image (..., *in_shape) → coefficients (..., *s.shape): x ↦ V^H x.
    v : callable
        Coefficients → image: z ↦ V z.
    u : callable
        Coefficients → measurement (..., *out_shape): z ↦ U z.
    uh : callable
        Measurement → coefficients: y ↦ U^H y.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> svd = Identity((4, 4)).svd()
    >>> x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    >>> bool(torch.equal(svd.u(svd.s * svd.vh(x)), x))
    True
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
    """Base class of the linear forward models ``g = H f``.

    An operator maps images (..., *in_shape) to measurements (..., *out_shape); leading
    dimensions (batch, channels) are carried through. Subclasses implement ``_forward(x)`` and
    ``_adjoint(y)`` on tensors whose shapes were already checked; they may override
    ``_normal``, ``_exact_norm``, ``fourier_diagonal`` (with ``has_fourier_diagonal``) and
    ``svd`` when their structure gives them cheaply. The public ``forward``, ``adjoint`` and
    ``normal`` check the input, then call them in full precision (also under autocast).

    Parameters
    ----------
    in_shape : tuple of int
        Trailing shape of the images, e.g. (H, W).
    out_shape : tuple of int
        Trailing shape of the measurements, e.g. (H // s, W // s) or (n_detectors, n_angles).

    See Also
    --------
    dot_test : the relative adjoint error, to test a new operator.

    Examples
    --------
    A new operator needs its forward map and its adjoint:

    >>> import torch
    >>> from physinv.operators import LinearOperator, dot_test
    >>> class Flip(LinearOperator):
    ...     def __init__(self, shape):
    ...         super().__init__(shape, shape)
    ...     def _forward(self, x):
    ...         return torch.flip(x, dims=(-1,))
    ...     def _adjoint(self, y):
    ...         return torch.flip(y, dims=(-1,))
    >>> op = Flip((4, 4))
    >>> dot_test(op) < 1e-12, op.norm(), tuple(op.to_matrix().shape)
    (True, 1.0, (16, 16))
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
        """Apply the operator: ``g = H x``.

        Parameters
        ----------
        x : torch.Tensor, shape (..., *in_shape)
            Images, typically (B, C, H, W); float32 / float64 are preserved, float16 /
            bfloat16 are promoted to float32, complex input is accepted.
        check : bool, default True
            Also refuse NaN and infinite values. ``False`` skips that scan (shapes are always
            checked): for inner loops of solvers and networks, where it would cost a device
            synchronisation per call.

        Returns
        -------
        torch.Tensor, shape (..., *out_shape)

        Raises
        ------
        InputError
            For a non-tensor, an integer tensor, wrong trailing dimensions or non-finite
            values.

        Examples
        --------
        >>> import torch
        >>> from physinv.operators import Identity
        >>> (3.0 * Identity((2, 2)))(torch.ones(1, 1, 2, 2)).tolist()
        [[[[3.0, 3.0], [3.0, 3.0]]]]
        """
        self._check(x, self.in_shape, "x", check)
        return _full_precision(self._forward, x)

    def adjoint(self, y: torch.Tensor, check: bool = True) -> torch.Tensor:
        """Apply the adjoint (conjugate transpose): ``H' y``, with ⟨Hx, y⟩ = ⟨x, H'y⟩.

        Parameters
        ----------
        y : torch.Tensor, shape (..., *out_shape)
            Measurements.
        check : bool, default True
            Also refuse NaN and infinite values (see ``forward``).

        Returns
        -------
        torch.Tensor, shape (..., *in_shape)

        Raises
        ------
        InputError
            As ``forward``.
        """
        self._check(y, self.out_shape, "y", check)
        return _full_precision(self._adjoint, y)

    def normal(self, x: torch.Tensor, check: bool = True) -> torch.Tensor:
        """Apply the normal operator ``H'H x`` (one FFT pair for a circular convolution).

        Parameters
        ----------
        x : torch.Tensor, shape (..., *in_shape)
            Images.
        check : bool, default True
            Also refuse NaN and infinite values (see ``forward``).

        Returns
        -------
        torch.Tensor, shape (..., *in_shape)
        """
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
    def domain_mask(self) -> torch.Tensor | None:
        """The pixels H sees, when it ignores some (bool, ``in_shape``), else None.

        Pixels outside are in H's null space whatever the data: a loss or a score on them
        measures the prior's extension, not the reconstruction (``Radon(circle=True)``).
        """
        return None

    @property
    def has_fourier_diagonal(self) -> bool:
        """True when ``H = F⁻¹ diag(ĥ) F`` (then ``fourier_diagonal()`` returns ĥ)."""
        return False

    def fourier_diagonal(self) -> torch.Tensor:
        """The Fourier diagonal ĥ with ``H = F⁻¹ diag(ĥ) F``.

        Returns
        -------
        torch.Tensor, shape in_shape, complex128
            ĥ in full ``fft2`` layout (zero frequency at index (0, 0)).

        Raises
        ------
        NotImplementedError
            When ``has_fourier_diagonal`` is false.
        """
        raise NotImplementedError(f"{type(self).__name__} is not diagonal in the Fourier basis")

    def rfft_diagonal(self, dtype: torch.dtype = torch.float64, device=None):
        """(conj(ĥ), |ĥ|²) in ``rfft2`` layout, cached per dtype and device.

        The two λ-independent factors of every Fourier-domain filter, so that a solve costs one
        ``rfft2`` / ``irfft2`` pair and two element-wise operations.

        Parameters
        ----------
        dtype : torch.dtype, default torch.float64
            The real dtype of the images the filter will be applied to.
        device : torch.device or str, optional
            Device of the result (default: where ĥ lives).

        Returns
        -------
        conj : torch.Tensor, shape (H, W // 2 + 1), complex64 or complex128
            conj(ĥ).
        power : torch.Tensor, shape (H, W // 2 + 1), real of ``dtype``
            |ĥ|².
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
        """The singular value decomposition ``H = U diag(s) V^H``, where the structure gives it.

        Returns
        -------
        SpectralDecomposition

        Raises
        ------
        NotImplementedError
            When the operator has no cheap SVD (wrap its ``to_matrix()`` in ``Dense``).
        """
        raise NotImplementedError(f"{type(self).__name__} has no cheap SVD; use Dense")

    def _exact_norm(self) -> float | None:
        return None

    # ----------------------------------------------------------------- norm
    def norm(self, n_iter: int = 500, tol: float = 1e-10, seed: int = 0) -> float:
        """Spectral norm ‖H‖₂ (the largest singular value), exact where the structure gives it.

        Otherwise estimated by ``power_iteration`` and cached per ``(n_iter, tol, seed)``.
        The default step of the iterative solvers is 1/‖H‖².

        Parameters
        ----------
        n_iter : int, default 500
            Maximum power iterations.
        tol : float, default 1e-10
            Relative change of the estimate of ‖H‖² at which the power iteration stops.
        seed : int, default 0
            Seed of its random start.

        Returns
        -------
        float

        Examples
        --------
        >>> from physinv.operators import Convolution, psf
        >>> Convolution(psf.gaussian(1.0, 5), (16, 16)).norm()  # a PSF summing to 1
        1.0
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
        """The adjoint as an operator object: ``op.H(y) == op.adjoint(y)``, ``op.H.H is op``."""
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
        """The explicit matrix of the operator (column j = H applied to the j-th unit image).

        Parameters
        ----------
        dtype : torch.dtype, default torch.float64
            Dtype of the matrix.

        Returns
        -------
        torch.Tensor, shape (prod(out_shape), prod(in_shape))
            Images and measurements flattened row-major.

        Raises
        ------
        InputError
            For more than 4096 pixels (small problems and tests only).

        Examples
        --------
        >>> from physinv.operators import Gradient
        >>> tuple(Gradient((8, 8)).to_matrix().shape)
        (128, 64)
        """
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
        """The shapes, shown in the module's ``repr``."""
        return f"in_shape={self.in_shape}, out_shape={self.out_shape}"


def _device_of(module: nn.Module) -> torch.device:
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def power_iteration(op: LinearOperator, n_iter: int = 500, tol: float = 1e-10,
                    seed: int = 0) -> float:
    """Largest singular value of ``op`` by power iteration on ``H'H``, in float64.

    .. math::

        x⁽ᵏ⁺¹⁾ = H'Hx⁽ᵏ⁾ / ‖H'Hx⁽ᵏ⁾‖,   σ_max² ≈ ‖H'Hx⁽ᵏ⁾‖

    from a normalised Gaussian random start.

    Parameters
    ----------
    op : LinearOperator
        The operator H.
    n_iter : int, default 500
        Maximum number of iterations.
    tol : float, default 1e-10
        Stop when the estimate of σ_max² changes by at most ``tol`` relatively.
    seed : int, default 0
        Seed of the random start (CPU generator).

    Returns
    -------
    float
        σ_max = ‖H‖₂ (0 when H'H maps the start to 0).

    Examples
    --------
    >>> from physinv.operators import Convolution, power_iteration, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> abs(power_iteration(op) - op.norm()) < 1e-6
    True
    """
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
    """Relative adjoint error of ``op`` on random x, y: the test every operator passes.

    .. math::

        |⟨Hx, y⟩ − ⟨x, H'y⟩| / (‖Hx‖ ‖y‖)

    Zero in exact arithmetic for a correct adjoint; ~1e-16 in float64.

    Parameters
    ----------
    op : LinearOperator
        The operator to test.
    seed : int, default 0
        Seed of the Gaussian random x and y (CPU generator).
    dtype : torch.dtype, default torch.float64
        Dtype of x and y.
    batch : int, default 2
        Batch size of x and y.
    channels : int, default 1
        Channels of x and y.

    Returns
    -------
    float
        The relative error (``|⟨x, H'y⟩|`` when Hx or y is 0).

    Examples
    --------
    >>> from physinv.operators import Radon, dot_test
    >>> dot_test(Radon((16, 16), [0.0, 30.0, 60.0])) < 1e-12
    True
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
    """``H'`` as an operator: forward is ``H.adjoint``, adjoint is ``H.forward``.

    Usually obtained as ``op.H``; its norm is ‖H‖.

    Parameters
    ----------
    op : LinearOperator
        The operator H.

    Examples
    --------
    >>> from physinv.operators import Decimation
    >>> Decimation((8, 8), 2).H.out_shape
    (8, 8)
    """

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
        """The adjoint of the adjoint: the original operator."""
        return self.op


class Composition(LinearOperator):
    """The composition ``A @ B``: first ``B``, then ``A`` (adjoint B'A').

    Fourier-diagonal when both are, with ĥ = ĥ_A ĥ_B.

    Parameters
    ----------
    outer : LinearOperator
        A, applied second.
    inner : LinearOperator
        B, applied first; ``inner.out_shape`` must equal ``outer.in_shape``.

    Examples
    --------
    >>> from physinv.operators import Convolution, Decimation, psf
    >>> blur = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> (Decimation((16, 16), 2) @ blur).out_shape
    (8, 8)
    """

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
        """True when both factors are Fourier-diagonal."""
        return self.outer.has_fourier_diagonal and self.inner.has_fourier_diagonal

    def fourier_diagonal(self):
        """ĥ_A · ĥ_B (see ``LinearOperator.fourier_diagonal``)."""
        if not self.has_fourier_diagonal:
            return super().fourier_diagonal()
        return self.outer.fourier_diagonal() * self.inner.fourier_diagonal()

    def _exact_norm(self):
        if self.has_fourier_diagonal:
            return float(self.fourier_diagonal().abs().max())
        return None


class Scaled(LinearOperator):
    """The scaled operator ``c · H`` for a real scalar ``c`` (also ``c * op``, ``op / c``, ``-op``).

    Parameters
    ----------
    op : LinearOperator
        The operator H.
    scale : float
        The factor c.

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> (-2.0 * Identity((4, 4))).norm()
    2.0
    """

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
        """True when H is Fourier-diagonal."""
        return self.op.has_fourier_diagonal

    def fourier_diagonal(self):
        """c · ĥ (see ``LinearOperator.fourier_diagonal``)."""
        return self.scale * self.op.fourier_diagonal()

    def _exact_norm(self):
        return abs(self.scale) * self.op.norm()

    def extra_repr(self):
        """The factor, shown in the module's ``repr``."""
        return f"scale={self.scale}"


class Sum(LinearOperator):
    """The sum ``A + B`` of operators with the same shapes (also ``A - B``).

    Fourier-diagonal when both are, with ĥ = ĥ_A + ĥ_B.

    Parameters
    ----------
    first : LinearOperator
        A.
    second : LinearOperator
        B, with A's ``in_shape`` and ``out_shape``.

    Examples
    --------
    >>> from physinv.operators import Convolution, psf
    >>> blur = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> (blur - blur).norm()
    0.0
    """

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
        """True when both terms are Fourier-diagonal."""
        return self.first.has_fourier_diagonal and self.second.has_fourier_diagonal

    def fourier_diagonal(self):
        """ĥ_A + ĥ_B (see ``LinearOperator.fourier_diagonal``)."""
        if not self.has_fourier_diagonal:
            return super().fourier_diagonal()
        return self.first.fourier_diagonal() + self.second.fourier_diagonal()

    def _exact_norm(self):
        if self.has_fourier_diagonal:
            return float(self.fourier_diagonal().abs().max())
        return None


class Identity(LinearOperator):
    """The identity ``H = I`` on images of ``shape``: the denoising problem g = f + ε.

    Fourier-diagonal with ĥ = 1, its own SVD, norm 1.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W) in pixels.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> op = Identity((4, 4))
    >>> x = torch.rand(1, 3, 4, 4)
    >>> bool(torch.equal(op(x), x)), op.norm()
    (True, 1.0)
    """

    def __init__(self, shape):
        shape = check_shape("shape", shape)
        super().__init__(shape, shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y

    @property
    def has_fourier_diagonal(self):
        """Always True."""
        return True

    def fourier_diagonal(self):
        """ĥ = 1 (complex128, shape ``in_shape``)."""
        return torch.ones(self.in_shape, dtype=torch.complex128)

    def svd(self):
        """U = V = I, s = 1 (see ``LinearOperator.svd``)."""
        ident = _identity_map
        return SpectralDecomposition(torch.ones(self.in_shape, dtype=torch.float64),
                                     ident, ident, ident, ident)

    def _exact_norm(self):
        return 1.0


def _identity_map(x):
    return x
