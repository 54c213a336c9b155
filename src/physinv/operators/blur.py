"""Convolution with a PSF: circular (FFT, Fourier-diagonal) or with reflected borders.

``H f = h ⊛ f``. In the circular mode ``H = F⁻¹ diag(ĥ) F`` with ĥ the DFT of the PSF embedded
in the image grid with its centre at pixel (0, 0), so ``fourier_diagonal()`` and ``svd()`` are
exact. ``boundary="reflect"`` extends the image by half-sample symmetric reflection (as
``numpy.pad(mode="symmetric")``), convolves circularly on the extended grid and crops: real
photographs are not periodic, and this avoids ringing at their borders. Its adjoint folds the
reflected margins back (exact, not an approximation).

>>> import torch
>>> from physinv.operators import Convolution, psf, dot_test
>>> op = Convolution(psf.gaussian(1.5, 9), (32, 32))
>>> y = op(torch.rand(2, 3, 32, 32))
>>> tuple(y.shape), dot_test(op) < 1e-12
((2, 3, 32, 32), True)
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import InputError, check_shape
from physinv.operators.base import LinearOperator, SpectralDecomposition
from physinv.operators.psf import normalize

BOUNDARIES = ("circular", "reflect")


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real one (float32 → complex64, float64 → complex128).

    Parameters
    ----------
    dtype : torch.dtype
        A real floating-point dtype (a complex one is returned unchanged; float16 / bfloat16
        map to complex64).

    Returns
    -------
    torch.dtype

    Examples
    --------
    >>> import torch
    >>> from physinv.operators.blur import complex_dtype
    >>> complex_dtype(torch.float64)
    torch.complex128
    """
    if dtype.is_complex:
        return dtype
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def embed_centered(kernel: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Zero-pad ``kernel`` to ``shape`` and roll its centre ``(kh//2, kw//2)`` to pixel (0, 0).

    Its DFT is then the transfer function ĥ of the circular convolution with ``kernel``,
    without a phase ramp.

    Parameters
    ----------
    kernel : torch.Tensor, shape (kh, kw)
        A centred PSF, kh ≤ H and kw ≤ W.
    shape : tuple of int
        The grid (H, W).

    Returns
    -------
    torch.Tensor, shape (H, W)
        In the dtype of ``kernel``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators.blur import embed_centered
    >>> k = torch.arange(9.0).reshape(3, 3)
    >>> embed_centered(k, (4, 4))[0, 0].item()  # the centre of k
    4.0
    """
    kh, kw = kernel.shape
    out = torch.zeros(shape, dtype=kernel.dtype)
    out[:kh, :kw] = kernel
    return torch.roll(out, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))


class Convolution(LinearOperator):
    """Convolution ``H f = h ⊛ f`` of ``(B, C, H, W)`` images with a centred PSF.

    .. math::

        (Hf)[i, j] = Σ_{k,l} h[k, l] f[i − k + kh//2, j − l + kw//2]

    with f extended periodically (``"circular"``: H = F⁻¹ diag(ĥ) F, so
    ``fourier_diagonal()`` and ``svd()`` are exact and ‖H‖ = max |ĥ|) or by half-sample
    symmetric reflection (``"reflect"``, as ``numpy.pad(mode="symmetric")``: no ringing at the
    borders of non-periodic photographs; the adjoint folds the margins back, exactly).

    Parameters
    ----------
    psf : array_like or torch.Tensor, shape (kh, kw)
        The point-spread function h, centred at (kh // 2, kw // 2), with a positive sum; used
        as given (``psf.normalize`` scales it to sum 1). At most the image size.
    shape : tuple of int
        Image shape (H, W) in pixels.
    boundary : {"circular", "reflect"}, default "circular"
        How the image is extended beyond its borders.

    Raises
    ------
    InputError
        For a PSF that is not 2-D, not finite, sums to ≤ 0 or is larger than the image, or an
        unknown boundary.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, dot_test, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = op(torch.rand(2, 3, 16, 16))
    >>> tuple(y.shape), op.has_fourier_diagonal, dot_test(op) < 1e-12
    ((2, 3, 16, 16), True, True)
    >>> flat = torch.ones(1, 1, 16, 16)
    >>> bool(torch.allclose(Convolution(psf.box(3), (16, 16), "reflect")(flat), flat))
    True
    """

    def __init__(self, psf, shape, boundary: str = "circular"):
        shape = check_shape("shape", shape)
        kernel = torch.as_tensor(np.asarray(psf) if not isinstance(psf, torch.Tensor) else psf)
        kernel = kernel.detach().to(torch.float64).cpu()
        normalize(kernel)  # validates: 2-D, finite, positive sum
        if boundary not in BOUNDARIES:
            raise InputError("boundary", boundary, f"one of {BOUNDARIES}")
        kh, kw = kernel.shape
        if kh > shape[0] or kw > shape[1]:
            raise InputError("psf", kernel, f"a PSF no larger than the image shape {shape}",
                             "crop the PSF or use a larger image")
        super().__init__(shape, shape)
        self.boundary = boundary
        self.register_buffer("psf", kernel)
        if boundary == "circular":
            grid = shape
        else:
            before = (kh - 1 - kh // 2, kw - 1 - kw // 2)
            after = (kh // 2, kw // 2)
            self._pads = (before, after)
            grid = (shape[0] + kh - 1, shape[1] + kw - 1)
            index = np.pad(np.arange(shape[0] * shape[1]).reshape(shape),
                           ((before[0], after[0]), (before[1], after[1])), mode="symmetric")
            self.register_buffer("pad_index", torch.from_numpy(index.reshape(-1)))
        self.grid = grid
        self.register_buffer("otf", torch.fft.rfft2(embed_centered(kernel, grid)))

    # ---- circular convolution on the working grid
    def _circular(self, x, conj: bool):
        otf = self.otf.to(device=x.device, dtype=complex_dtype(x.dtype))
        if conj:
            otf = otf.conj()
        if x.is_complex():
            full = torch.fft.fft2(embed_centered(self.psf, self.grid)).to(otf)
            full = full.conj() if conj else full
            return torch.fft.ifft2(torch.fft.fft2(x) * full)
        return torch.fft.irfft2(torch.fft.rfft2(x) * otf, s=self.grid)

    def _pad(self, x):
        h, w = self.in_shape
        flat = x.reshape(*x.shape[:-2], h * w)
        return flat.index_select(-1, self.pad_index.to(x.device)).reshape(*x.shape[:-2], *self.grid)

    def _unpad(self, z):
        h, w = self.in_shape
        flat = z.reshape(*z.shape[:-2], -1)
        out = torch.zeros(*z.shape[:-2], h * w, dtype=z.dtype, device=z.device)
        out = out.index_add(-1, self.pad_index.to(z.device), flat)
        return out.reshape(*z.shape[:-2], h, w)

    def _crop(self, z):
        (bh, bw), _ = self._pads
        h, w = self.in_shape
        return z[..., bh: bh + h, bw: bw + w]

    def _uncrop(self, y):
        (bh, bw), (ah, aw) = self._pads
        return torch.nn.functional.pad(y, (bw, aw, bh, ah))

    def _forward(self, x):
        if self.boundary == "circular":
            return self._circular(x, conj=False)
        return self._crop(self._circular(self._pad(x), conj=False))

    def _adjoint(self, y):
        if self.boundary == "circular":
            return self._circular(y, conj=True)
        return self._unpad(self._circular(self._uncrop(y), conj=True))

    def _normal(self, x):
        if self.boundary == "circular" and not x.is_complex():
            otf = self.otf.to(device=x.device, dtype=complex_dtype(x.dtype))
            return torch.fft.irfft2(torch.fft.rfft2(x) * (otf.abs() ** 2), s=self.grid)
        return self._adjoint(self._forward(x))

    # ---- structure
    @property
    def has_fourier_diagonal(self):
        """True for circular boundaries."""
        return self.boundary == "circular"

    def fourier_diagonal(self) -> torch.Tensor:
        """ĥ, the DFT of the centred PSF on the image grid (circular boundaries).

        Returns
        -------
        torch.Tensor, shape (H, W), complex128
            Full ``fft2`` layout, on the operator's device; ``"reflect"`` raises
            ``NotImplementedError``.
        """
        if self.boundary != "circular":
            return super().fourier_diagonal()
        return torch.fft.fft2(embed_centered(self.psf.cpu(), self.grid)).to(self.psf.device)

    def _rfft_half(self):
        if self.boundary != "circular":
            return super()._rfft_half()
        return self.otf

    def svd(self) -> SpectralDecomposition:
        """H = U diag(|ĥ|) V^H with V = unitary DFT⁻¹ and U = V diag(ĥ/|ĥ|) (complex maps).

        Returns
        -------
        SpectralDecomposition
            ``s = |ĥ|`` of shape (H, W); ``"reflect"`` raises ``NotImplementedError``.
        """
        if self.boundary != "circular":
            return super().svd()
        otf = self.fourier_diagonal()
        s = otf.abs()
        phase = torch.where(s > 0, otf / torch.where(s > 0, s, 1.0), torch.ones_like(otf))

        def vh(x):
            return torch.fft.fft2(x, norm="ortho")

        def v(z):
            return torch.fft.ifft2(z, norm="ortho")

        def u(z):
            return torch.fft.ifft2(z * phase.to(z.device), norm="ortho")

        def uh(y):
            return torch.fft.fft2(y, norm="ortho") * phase.conj().to(y.device)

        return SpectralDecomposition(s, vh, v, u, uh)

    def _exact_norm(self):
        if self.boundary == "circular":
            return float(self.otf.abs().max())
        return None

    def extra_repr(self):
        """PSF size, image shape and boundary, shown in the module's ``repr``."""
        return f"psf={tuple(self.psf.shape)}, shape={self.in_shape}, boundary={self.boundary!r}"
