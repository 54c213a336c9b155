"""Operator decomposition, fixed + learnable: ``DecomposedNet`` and ``TikhonovResidual``.

- ``DecomposedNet``: f̂ = A(H'g) with H' fixed and A learned. ``part="linear"``: A is a Fourier
  filter 1/(p(ω) + λ|d̂(ω)|² e^{s(|ω|)}), p the stationary part of H'H (exactly |ĥ|² for a
  convolution, |ĥ|²/s² for ×s super-resolution, ~1/|ω| for the Radon transform) and s a learned
  radial profile, 0 at init — so the untrained network is a Tikhonov inverse of the stationary
  H'H (exact Tikhonov for convolutions). ``part="cnn"``: the same linear A followed by a
  residual CNN, f̂ = u + CNN(u), u = A(H'g).
- ``TikhonovResidual``: a fixed Tikhonov layer (the closed form where the operator has one, CG
  otherwise) followed by a residual CNN whose last layer starts at zero, so that the untrained
  network is ``tikhonov(y, op, lam)``.
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import RadialProfile, SmallCNN, apply_cnn, rfft_radius, stationary_normal
from physinv.operators import SuperResolution
from physinv.solvers.closed_form import tikhonov
from physinv.solvers.spectral import reg_power_half, spectrum

PARTS = ("linear", "cnn")


def _period(op) -> int:
    return int(op.factor) if isinstance(op, SuperResolution) else 1


class TikhonovLayer(nn.Module):
    """Fixed x = (H'H + λD'D)⁻¹H'y with D the gradient where a closed form exists for it,
    else the identity where that has one (super-resolution: polyphase), else ``cg_steps``
    conjugate-gradient steps from 0 (D = gradient) — truncated CG, itself a regulariser, and
    the price of a layer without closed form (CT at 128×128: ~0.1 s per step for 4 images)."""

    def __init__(self, op, lam: float, cg_steps: int = 20):
        super().__init__()
        self.op = op
        self.lam = check_positive("lam", lam, allow_zero=True)
        self.cg_steps = cg_steps
        if op.has_fourier_diagonal or spectrum(op, "identity") is None:
            self.reg = "gradient"
        else:
            self.reg = "identity"

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return tikhonov(y, self.op, lam=self.lam, reg=self.reg, tol=1e-6,
                            max_iter=self.cg_steps).x


class DecomposedNet(PhysicsNet):
    """f̂ = A(H'g), A a learned stationary filter (+ residual CNN); see the module docstring."""

    def __init__(self, op, lam: float = 0.01, part: str = "linear", n_knots: int = 16,
                 width: int = 32, depth: int = 5, dropout: float = 0.0):
        super().__init__(op)
        if part not in PARTS:
            raise InputError("part", part, f"one of {PARTS}")
        lam = check_positive("lam", lam, allow_zero=True)
        self.record_resolved(lam=lam)
        self.register_buffer("normal_power", stationary_normal(op, _period(op)),
                             persistent=False)
        self.register_buffer("reg_power", lam * reg_power_half(op.in_shape, "gradient"),
                             persistent=False)
        self.register_buffer("rho", rfft_radius(op.in_shape), persistent=False)
        self.profile = RadialProfile(torch.zeros(n_knots, dtype=torch.float64))
        self.cnn = SmallCNN(1, 1, width, depth, dropout) if part == "cnn" else None

    def filter(self) -> torch.Tensor:
        """A(ω) (real, ``rfft2`` layout)."""
        denom = self.normal_power + self.reg_power * torch.exp(self.profile(self.rho))
        return 1 / denom.clamp_min(torch.finfo(torch.float64).tiny)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        z = self.op.adjoint(y, check=False)
        u = torch.fft.irfft2(torch.fft.rfft2(z) * self.filter().to(z.dtype),
                             s=self.op.in_shape)
        return u if self.cnn is None else u + apply_cnn(self.cnn, u)


class TikhonovResidual(PhysicsNet):
    """Fixed Tikhonov layer, then a residual CNN (zero at init)."""

    def __init__(self, op, lam: float = 0.01, width: int = 32, depth: int = 5,
                 dropout: float = 0.0):
        super().__init__(op)
        self.tikhonov = TikhonovLayer(op, lam)
        self.cnn = SmallCNN(1, 1, width, depth, dropout)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        u = self.tikhonov(y)
        return u + apply_cnn(self.cnn, u)
