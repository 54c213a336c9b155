"""Unrolled (unfolded) iterations as networks: ``UnrolledLandweber``, ``LISTA``, ``UnrolledHQS``.

K layers f⁽ᵏ⁺¹⁾ = φ_k(f⁽ᵏ⁾ + α_k H'(g − Hf⁽ᵏ⁾) − α_k λ_k f⁽ᵏ⁾) with H, H' fixed and only the
per-layer scalars learnable (α_k, λ_k; for LISTA the thresholds θ_k of φ_k = S_θk). Defaults
match the solvers: α = 1/‖H‖², λ = 0, x0 = 0, so that untrained

    UnrolledLandweber(op, n_layers=K)(y) == landweber(y, op, n_iter=K, tol=None).x
    LISTA(op, n_layers=K, lam=λ)(y)      == ista(y, op, lam=λ, n_iter=K, tol=None).x

With ``tied=True`` all layers share one α (and λ or θ). On the singular vectors of H the
untrained Landweber network is the spectral filter σ(1 − (1 − α(σ² + λ))ᴷ)/(σ² + λ).

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.nets import UnrolledLandweber
>>> net = UnrolledLandweber(Convolution(psf.gaussian(1.0, 7), (16, 16)), n_layers=5)
>>> net.trainable_parameters(), tuple(net(torch.rand(1, 1, 16, 16)).shape)
(10, (1, 1, 16, 16))
"""

from __future__ import annotations

import math

import torch
from torch import nn

from physinv.errors import InputError, check_int, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import SmallCNN, apply_cnn
from physinv.operators import Wavelet
from physinv.solvers.iterative import soft_threshold, solve_spd


def _layer_values(value: float, n_layers: int, tied: bool) -> nn.Parameter:
    return nn.Parameter(torch.full((1 if tied else n_layers,), float(value), dtype=torch.float64))


class UnrolledLandweber(PhysicsNet):
    """K Landweber layers with learnable step sizes α_k and weights λ_k (optionally clamped ≥ 0)."""

    def __init__(self, op, n_layers: int, step: float | None = None, lam: float = 0.0,
                 tied: bool = False, positivity: bool = False):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        step = 1.0 / op.norm() ** 2 if step is None else check_positive("step", step)
        lam = check_positive("lam", lam, allow_zero=True)
        self.step = _layer_values(step, self.n_layers, tied)
        self.lam = _layer_values(lam, self.n_layers, tied)
        self.tied = tied
        self.positivity = positivity
        self.record_resolved(n_layers=self.n_layers, step=step, lam=lam)

    def _reconstruct(self, y: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.zeros(*y.shape[:2], *self.op.in_shape, dtype=y.dtype, device=y.device) \
            if x0 is None else self.op.check_input(x0, "x0")
        for k in range(self.n_layers):
            i = 0 if self.tied else k
            alpha = self.step[i].to(y.dtype)
            lam = self.lam[i].to(y.dtype)
            x = x + alpha * self.op.adjoint(y - self.op(x, check=False), check=False) \
                - (alpha * lam) * x
            if self.positivity:
                x = x.clamp_min(0)
        return x


class LISTA(PhysicsNet):
    """K ISTA layers with learnable steps α_k and thresholds θ_k (pixel or wavelet domain)."""

    def __init__(self, op, n_layers: int, lam: float, step: float | None = None,
                 basis: str = "pixel", wavelet: str = "db2", level: int | None = None,
                 tied: bool = False):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        lam = check_positive("lam", lam)
        step = 1.0 / op.norm() ** 2 if step is None else check_positive("step", step)
        if basis not in ("pixel", "wavelet"):
            raise InputError("basis", basis, "'pixel' or 'wavelet'")
        self.basis = basis
        self.transform = Wavelet(op.in_shape, wavelet, level) if basis == "wavelet" else None
        if self.transform is not None:
            self.register_buffer("weight", (self.transform.subband_index != 0).to(
                torch.float64))
        self.step = _layer_values(step, self.n_layers, tied)
        self.threshold = _layer_values(step * lam, self.n_layers, tied)
        self.tied = tied
        self.record_resolved(n_layers=self.n_layers, lam=lam, step=step)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        w = self.transform
        x = torch.zeros(*y.shape[:2], *self.op.in_shape, dtype=y.dtype, device=y.device)
        c = w(x, check=False) if w is not None else x
        for k in range(self.n_layers):
            i = 0 if self.tied else k
            xk = w.adjoint(c, check=False) if w is not None else c
            grad = self.op.adjoint(self.op(xk, check=False) - y, check=False)
            g = w(grad, check=False) if w is not None else grad
            theta = self.threshold[i].to(y.dtype)
            if w is not None:
                theta = theta * self.weight.to(y.dtype)
            c = soft_threshold(c - self.step[i].to(y.dtype) * g, theta)
        return w.adjoint(c, check=False) if w is not None else c


class UnrolledHQS(PhysicsNet):
    """Half-quadratic splitting with a learned proximal step (MoDL-style, Aggarwal et al. 2019).

    x⁽⁰⁾ = (H'H + μ₀I)⁻¹H'g, then K times: z = x + CNN_k(x) (a residual CNN, zero at init, so
    the prox starts as the identity), x = (H'H + μ_k I)⁻¹(H'g + μ_k z). The data-consistency
    step is the closed form for Fourier-diagonal operators and ``cg_steps`` conjugate-gradient
    steps (warm-started at z) otherwise. Learnable: the CNN (shared by all layers when
    ``tied``) and log μ_k, initialised at ``mu``.
    """

    def __init__(self, op, n_layers: int = 5, mu: float = 0.01, tied: bool = True,
                 width: int = 32, depth: int = 5, cg_steps: int = 10, dropout: float = 0.0):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        mu = check_positive("mu", mu)
        self.cg_steps = check_int("cg_steps", cg_steps)
        self.record_resolved(n_layers=self.n_layers, mu=mu, cg_steps=self.cg_steps)
        self.tied = tied
        self.log_mu = nn.Parameter(torch.full((self.n_layers + 1,), math.log(mu),
                                              dtype=torch.float64))
        n_cnn = 1 if tied else self.n_layers
        self.prox = nn.ModuleList([SmallCNN(1, 1, width, depth, dropout) for _ in range(n_cnn)])

    def data_consistency(self, rhs: torch.Tensor, mu: torch.Tensor,
                         start: torch.Tensor | None) -> torch.Tensor:
        """(H'H + μI)⁻¹ rhs."""
        if self.op.has_fourier_diagonal:
            _, power = self.op.rfft_diagonal(rhs.dtype, rhs.device)
            return torch.fft.irfft2(torch.fft.rfft2(rhs) / (power + mu), s=self.op.in_shape)
        x, _, _, _ = solve_spd(lambda v: self.op.normal(v, check=False) + mu * v, rhs, start,
                               n_iter=self.cg_steps, tol=0.0)
        return x

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        back = self.op.adjoint(y, check=False)
        mu = torch.exp(self.log_mu).to(y.dtype)
        x = self.data_consistency(back, mu[0], None)
        for k in range(self.n_layers):
            z = x + apply_cnn(self.prox[0 if self.tied else k], x)
            x = self.data_consistency(back + mu[k + 1] * z, mu[k + 1], z)
        return x
