"""Sampling operators: ``Decimation`` (keep every s-th pixel), ``SuperResolution`` (blur, then
decimate) and ``Mask`` (inpainting, diagonal in pixels).

Decimation ``D`` keeps pixels ``offset + s·k``; its adjoint ``D'`` puts them back on the fine
grid with zeros between, so ``D D' = I``. ``SuperResolution(psf, shape, s) = D ∘ Convolution``.

>>> import torch
>>> from physinv.operators import SuperResolution, psf, dot_test
>>> op = SuperResolution(psf.gaussian(1.0, 7), (32, 32), factor=2)
>>> op.out_shape, dot_test(op) < 1e-12
((16, 16), True)
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import InputError, check_int, check_shape
from physinv.operators.base import LinearOperator
from physinv.operators.blur import Convolution


class Decimation(LinearOperator):
    """Decimation D: keep every ``factor``-th pixel along each axis, starting at ``offset``.

    .. math::

        (Df)[k, l] = f[o + s·k, o + s·l],   D'D = diag(kept pixels),   DD' = I

    The adjoint puts the samples back on the fine grid with zeros between.

    Parameters
    ----------
    shape : tuple of int
        High-resolution image shape (H, W), both multiples of ``factor``; the measurement is
        (H // factor, W // factor).
    factor : int
        Sampling step s ≥ 1 in pixels.
    offset : int, default 0
        Position o ∈ [0, factor) of the first kept pixel.

    Raises
    ------
    InputError
        For a shape that is not a multiple of ``factor`` or an offset outside [0, factor).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Decimation
    >>> op = Decimation((8, 8), 2, offset=1)
    >>> op(torch.arange(64.0).reshape(1, 1, 8, 8))[0, 0, 0].tolist()
    [9.0, 11.0, 13.0, 15.0]
    """

    def __init__(self, shape, factor: int, offset: int = 0):
        shape = check_shape("shape", shape)
        factor = check_int("factor", factor)
        offset = check_int("offset", offset, minimum=0)
        if offset >= factor:
            raise InputError("offset", offset, f"an integer in [0, factor={factor})")
        if shape[0] % factor or shape[1] % factor:
            raise InputError("shape", shape, f"dimensions divisible by factor={factor}",
                             "crop the image to a multiple of the factor")
        super().__init__(shape, (shape[0] // factor, shape[1] // factor))
        self.factor = factor
        self.offset = offset

    def _forward(self, x):
        s, o = self.factor, self.offset
        return x[..., o::s, o::s]

    def _adjoint(self, y):
        s, o = self.factor, self.offset
        out = torch.zeros(*y.shape[:-2], *self.in_shape, dtype=y.dtype, device=y.device)
        out[..., o::s, o::s] = y
        return out

    def _exact_norm(self):
        return 1.0

    def extra_repr(self):
        """Shape, factor and offset, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, factor={self.factor}, offset={self.offset}"


class SuperResolution(LinearOperator):
    """Super-resolution forward model: blur by the optics' PSF, then sample every s-th pixel.

    .. math::

        H = D_s ∘ (h ⊛ ·),   HH' = F⁻¹ diag((1/s²) Σ_aliases |ĥ|²) F  (circular blur)

    ``conv`` (a ``Convolution``) and ``decimation`` (a ``Decimation``) are its two fixed parts.
    With circular blur HH' is diagonal in the low-resolution Fourier basis (the polyphase
    structure, ``aliased_power()``), which gives the closed-form Tikhonov and λ rules.

    Parameters
    ----------
    psf : array_like or torch.Tensor, shape (kh, kw)
        The PSF h on the high-resolution grid (see ``Convolution``).
    shape : tuple of int
        High-resolution image shape (H, W), multiples of ``factor``.
    factor : int
        Decimation factor s; measurements have shape (H // s, W // s).
    boundary : {"circular", "reflect"}, default "circular"
        Boundary of the blur (the polyphase structure needs ``"circular"``).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import SuperResolution, dot_test, psf
    >>> op = SuperResolution(psf.gaussian(1.0, 5), (16, 16), factor=2)
    >>> op.out_shape, tuple(op.aliased_power().shape), dot_test(op) < 1e-12
    ((8, 8), (8, 8), True)
    """

    def __init__(self, psf, shape, factor: int, boundary: str = "circular"):
        shape = check_shape("shape", shape)
        factor = check_int("factor", factor)
        decimation = Decimation(shape, factor)
        conv = Convolution(psf, shape, boundary=boundary)
        super().__init__(shape, decimation.out_shape)
        self.factor = factor
        self.conv = conv
        self.decimation = decimation

    def _forward(self, x):
        return self.decimation._forward(self.conv._forward(x))

    def _adjoint(self, y):
        return self.conv._adjoint(self.decimation._adjoint(y))

    def aliased_power(self) -> torch.Tensor:
        """Diagonal of ``H H'`` in the low-resolution Fourier basis (circular blur only).

        Decimation by ``s`` folds the ``s × s`` frequencies ω + (k·H/s, l·W/s) onto ω, so
        ``H H' = F⁻¹ diag((1/s²) Σ_aliases |ĥ|²) F`` on the coarse grid.

        Returns
        -------
        torch.Tensor, shape (H // s, W // s), float64
            (1/s²) Σ_aliases |ĥ|² in full ``fft2`` layout of the coarse grid; its maximum is
            ‖H‖².

        Raises
        ------
        NotImplementedError
            For ``boundary="reflect"``.
        """
        if self.conv.boundary != "circular":
            raise NotImplementedError("the polyphase structure needs circular boundaries")
        s = self.factor
        h, w = self.in_shape
        power = self.conv.fourier_diagonal().abs() ** 2
        return power.reshape(s, h // s, s, w // s).sum(dim=(0, 2)) / (s * s)

    def _exact_norm(self):
        if self.conv.boundary != "circular":
            return None
        return float(self.aliased_power().max()) ** 0.5

    def extra_repr(self):
        """Shape and factor, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, factor={self.factor}"


class Mask(LinearOperator):
    """Pixel mask ``H = diag(m)`` (inpainting): observed pixels keep their value, others → 0.

    Self-adjoint (H' = H), diagonal in pixels, ‖H‖ = max m.

    Parameters
    ----------
    mask : array_like or torch.Tensor, shape (H, W)
        Booleans (True = observed) or weights in [0, 1]; it sets the image shape.

    Raises
    ------
    InputError
        For a mask that is not 2-D or has values outside [0, 1].

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Mask
    >>> op = Mask(torch.tensor([[True, False], [False, True]]))
    >>> op(torch.ones(1, 1, 2, 2)).tolist()
    [[[[1.0, 0.0], [0.0, 1.0]]]]
    """

    def __init__(self, mask):
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
        m = m.detach().cpu()
        if m.dim() != 2:
            raise InputError("mask", m, "a 2-D (H, W) array")
        m = m.to(torch.float64)
        if not bool(torch.isfinite(m).all()) or float(m.min()) < 0 or float(m.max()) > 1:
            raise InputError("mask", m, "values in [0, 1] (booleans or weights)")
        super().__init__(tuple(m.shape), tuple(m.shape))
        self.register_buffer("mask", m)

    def _forward(self, x):
        return x * self.mask.to(device=x.device, dtype=x.real.dtype)

    _adjoint = _forward

    def _exact_norm(self):
        return float(self.mask.abs().max())

    def extra_repr(self):
        """Shape and observed fraction, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, observed={float(self.mask.mean()):.3f}"
