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
    """A fixed (untrained) Tikhonov layer, the first stage of the decomposed networks.

    .. math::

        u = (H'H + λD'D)⁻¹ H'g

    with D the gradient where a closed form exists for it (Fourier-diagonal H), else the
    identity where that has one (super-resolution: polyphase), else ``cg_steps``
    conjugate-gradient steps from 0 (D = gradient) — truncated CG, itself a regulariser, and
    the price of a layer without closed form (CT at 128×128: ~0.1 s per step for 4 images).
    No gradient flows through it.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    lam : float
        Regularisation weight λ ≥ 0.
    cg_steps : int, default 20
        Conjugate-gradient steps where there is no closed form.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> layer = TikhonovLayer(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
    >>> layer.reg, tuple(layer(torch.rand(1, 1, 16, 16)).shape)
    ('gradient', (1, 1, 16, 16))
    """

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
        """The Tikhonov estimate u of measurements ``y``.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurements.

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            u = (H'H + λD'D)⁻¹H'y, without gradient.
        """
        with torch.no_grad():
            return tikhonov(y, self.op, lam=self.lam, reg=self.reg, tol=1e-6,
                            max_iter=self.cg_steps).x


class DecomposedNet(PhysicsNet):
    """The fixed adjoint H', then a learned stationary filter A (and a residual CNN).

    .. math::

        x̂ = A(H'g),   A(ω) = 1 / (p(ω) + λ|d̂(ω)|² exp(s(|ω|)))

    with p the stationary part of H'H (``layers.stationary_normal``: |ĥ|² for a convolution,
    |ĥ|²/s² for ×s super-resolution, ~1/|ω| for the Radon transform) and s a learned radial
    profile, 0 at init: the untrained network is a Tikhonov inverse of the stationary H'H
    (exact Tikhonov for convolutions). ``part="cnn"`` adds a residual CNN,
    x̂ = u + CNN(u), u = A(H'g), whose last layer starts at zero.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H (any: the structured network for super-resolution and CT).
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the filter (D the gradient).
    part : {"linear", "cnn"}, default "linear"
        The filter alone, or the filter then a residual CNN.
    n_knots : int, default 16
        Knots of the radial profile s.
    width, depth : int, default 32, 5
        Channels and 3×3 convolution layers of the CNN (``part="cnn"``).
    dropout : float, default 0.0
        Dropout before the CNN's last layer (for ``mc_dropout``).

    Raises
    ------
    InputError
        For an unknown ``part`` or a negative λ.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape). The filter is
    defined continuously in frequency and applies to any image size.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = DecomposedNet(op, lam=0.01)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), tikhonov(y, op, lam=0.01).x))
    (16, True)
    """

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
        """The learned filter A(ω) applied to H'g.

        Returns
        -------
        torch.Tensor, shape (H, W//2 + 1)
            A(ω), real float64, ``rfft2`` layout (differentiable in the profile).
        """
        denom = self.normal_power + self.reg_power * torch.exp(self.profile(self.rho))
        return 1 / denom.clamp_min(torch.finfo(torch.float64).tiny)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        z = self.op.adjoint(y, check=False)
        u = torch.fft.irfft2(torch.fft.rfft2(z) * self.filter().to(z.dtype),
                             s=self.op.in_shape)
        return u if self.cnn is None else u + apply_cnn(self.cnn, u)


class TikhonovResidual(PhysicsNet):
    """A fixed Tikhonov layer, then a residual CNN that learns what Tikhonov misses.

    .. math::

        x̂ = u + CNN(u),   u = (H'H + λD'D)⁻¹ H'g

    u is ``TikhonovLayer`` (a closed form where the operator has one, truncated CG
    otherwise); the CNN's last layer starts at zero, so the untrained network is
    ``tikhonov(y, op, lam)``.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the Tikhonov layer.
    width, depth : int, default 32, 5
        Channels and 3×3 convolution layers of the CNN.
    dropout : float, default 0.0
        Dropout before the CNN's last layer (for ``mc_dropout``).

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape); the CNN runs on
    each channel and on any image size.

    References
    ----------
    .. [1] K. H. Jin, M. T. McCann, E. Froustey, M. Unser, "Deep convolutional neural network
           for inverse problems in imaging", IEEE Trans. Image Process. 26(9), 4509–4522,
           2017 (a residual CNN after a classical reconstruction).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = TikhonovResidual(op, lam=0.01, width=8, depth=3)
    >>> y = torch.rand(1, 1, 16, 16)
    >>> bool(torch.allclose(net(y), tikhonov(y, op, lam=0.01).x, atol=1e-6))
    True
    """

    def __init__(self, op, lam: float = 0.01, width: int = 32, depth: int = 5,
                 dropout: float = 0.0):
        super().__init__(op)
        self.tikhonov = TikhonovLayer(op, lam)
        self.cnn = SmallCNN(1, 1, width, depth, dropout)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        u = self.tikhonov(y)
        return u + apply_cnn(self.cnn, u)
