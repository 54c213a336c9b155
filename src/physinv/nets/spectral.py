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


class SVDNet(PhysicsNet):
    """SVD-domain network: 4 layers g → H' → V' → Λ → V (Λ = 1/(δᵢ + λ), H'H = V diag(δ) V'),
    or 3 layers g → U' → Λ → V (Λ = σᵢ/(σᵢ² + λ)); only Λ is learnable.

    For ``Dense`` operators V, U come from the cached SVD (D = I); for Fourier-diagonal
    operators V, V' are the inverse / forward unitary DFT and the regulariser may be the
    gradient (δᵢ = |ĥᵢ|², λ|d̂ᵢ|²). A non-convolutional operator (e.g. the Radon transform on a
    small grid) enters through ``Dense(op.to_matrix(), shape, out_shape)``.
    """

    def __init__(self, op, lam: float = 0.01, layers: int = 4, reg: str = "identity"):
        super().__init__(op)
        lam = check_positive("lam", lam, allow_zero=True)
        if layers not in (3, 4):
            raise InputError("layers", layers, "3 (U' → Λ → V) or 4 (H' → V' → Λ → V)")
        if reg not in ("identity", "gradient"):
            raise InputError("reg", reg, "'identity' or 'gradient'")
        self.layers = layers
        from physinv.operators import Dense

        if op.has_fourier_diagonal:
            self.kind = "fourier"
            conj, power = op.rfft_diagonal(torch.float64)
            denom = (power + lam * reg_power_half(op.in_shape, reg)).clamp_min(
                torch.finfo(torch.float64).tiny)
            lam_init = 1 / denom if layers == 4 else power.sqrt() / denom
            if layers == 3:
                phase = torch.where(power > 0, conj / power.sqrt().clamp_min(1e-300),
                                    torch.ones_like(conj))
                self.register_buffer("phase", phase)  # U' = diag(conj(ĥ)/|ĥ|) F
        elif isinstance(op, Dense):
            if reg != "identity":
                raise InputError("reg", reg, "'identity' for a Dense SVDNet")
            self.kind = "dense"
            u, s, vh = op.svd_matrices()
            self.register_buffer("u", u.clone())
            self.register_buffer("vh", vh.clone())
            lam_init = 1 / (s**2 + lam) if layers == 4 else s / (s**2 + lam)
        else:
            raise InputError("op", type(op).__name__, "a Fourier-diagonal or Dense operator")
        self.diagonal = nn.Parameter(lam_init.clone())

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        self.op._check(y, self.op.out_shape, "y")
        lam = self.diagonal.to(y.dtype)
        if self.kind == "fourier":
            cdtype = torch.complex128 if y.dtype == torch.float64 else torch.complex64
            if self.layers == 4:
                coef = torch.fft.rfft2(self.op.adjoint(y, check=False)) * lam
            else:
                coef = torch.fft.rfft2(y) * self.phase.to(cdtype) * lam
            return torch.fft.irfft2(coef, s=self.op.in_shape)
        lead = y.shape[:2]
        if self.layers == 4:
            coef = self.op.adjoint(y, check=False).reshape(*lead, -1) @ self.vh.to(y.dtype).T
        else:
            coef = y.reshape(*lead, -1) @ self.u.to(y.dtype)
        return ((coef * lam) @ self.vh.to(y.dtype)).reshape(*lead, *self.op.in_shape)
