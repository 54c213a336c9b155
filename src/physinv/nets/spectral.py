"""``FourierNet``: FFT (fixed) → learnable diagonal Λ → inverse FFT (fixed).

f̂ = F⁻¹ Λ F g for Fourier-diagonal operators, Λ stored per frequency (``rfft2`` layout, real
and imaginary parts as two Parameters). ``init="tikhonov"`` sets Λ = conj(ĥ)/(|ĥ|² + λ|d̂|²), so
the untrained network is ``tikhonov(y, op, lam, reg)``; ``fit_closed_form(ys, xs)`` solves the
per-frequency least squares Λ = Σ conj(Ŷ)X̂ / Σ|Ŷ|² in one pass (the empirical LMMSE filter).

The per-frequency table is tied to the operator's grid; the structured forms (a radial profile
or a parametric spectrum, defined continuously in frequency) are still to come (networks issue).

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.nets import FourierNet
>>> net = FourierNet(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
>>> net.trainable_parameters()
288
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.solvers.spectral import reg_power_half


class FourierNet(PhysicsNet):
    """Learnable Fourier diagonal for a Fourier-diagonal operator; see the module docstring."""

    def __init__(self, op, init: str = "tikhonov", lam: float = 0.01, reg: str = "gradient"):
        super().__init__(op)
        if not op.has_fourier_diagonal:
            raise InputError("op", type(op).__name__, "a Fourier-diagonal operator for FourierNet")
        if init not in ("tikhonov", "zeros"):
            raise InputError("init", init, "'tikhonov' or 'zeros'")
        if reg not in ("identity", "gradient"):
            raise InputError("reg", reg, "'identity' or 'gradient'")
        lam = check_positive("lam", lam, allow_zero=True)
        conj, power = op.rfft_diagonal(torch.float64)
        if init == "tikhonov":
            denom = power + lam * reg_power_half(op.in_shape, reg)
            filt = conj / denom.clamp_min(torch.finfo(torch.float64).tiny)
        else:
            filt = torch.zeros_like(conj)
        self.real = nn.Parameter(filt.real.clone())
        self.imag = nn.Parameter(filt.imag.clone())

    def filter(self) -> torch.Tensor:
        """Λ (complex, ``rfft2`` layout)."""
        return torch.complex(self.real, self.imag)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        self.op._check(y, self.op.out_shape, "y")
        cdtype = torch.complex128 if y.dtype == torch.float64 else torch.complex64
        filt = self.filter().to(cdtype)
        return torch.fft.irfft2(torch.fft.rfft2(y) * filt, s=self.op.in_shape)

    @torch.no_grad()
    def fit_closed_form(self, ys: torch.Tensor, xs: torch.Tensor, ridge: float = 1e-12):
        """Per-frequency least squares over training pairs (ys, xs); returns ``self``."""
        self.op._check(ys, self.op.out_shape, "ys")
        self.op._check(xs, self.op.in_shape, "xs")
        if ys.shape[:2] != xs.shape[:2]:
            raise InputError("xs", xs, f"as many images as ys ({tuple(ys.shape[:2])})")
        yf = torch.fft.rfft2(ys.to(torch.float64))
        xf = torch.fft.rfft2(xs.to(torch.float64))
        num = (yf.conj() * xf).sum(dim=(0, 1))
        den = (yf.abs() ** 2).sum(dim=(0, 1))
        filt = num / (den + ridge * float(den.max()))
        self.real.copy_(filt.real)
        self.imag.copy_(filt.imag)
        return self
