"""Operator decomposition, fixed + learnable: ``DecomposedNet`` and ``TikhonovResidual``.

Both start at the Tikhonov solution u = (H'H + λD'D)⁻¹H'g (D the circular gradient), solved by
the exact path the operator has (``physinv.solvers.pcg.NormalSolver``: a Fourier filter for
convolutions, the polyphase blocks for ×s super-resolution, a direct solve for ``Dense``,
preconditioned CG to a tolerance for CT) — never a truncated iteration — so that, untrained,
both are ``tikhonov(y, op, lam, reg="gradient")``.

- ``DecomposedNet``: f̂ = (H'H + λD'D e^{s})⁻¹ H'g with the fixed H', H'H and a learned radial
  profile s of the regulariser's spectrum, 0 at init. ``part="cnn"``: then a residual CNN,
  f̂ = u + CNN(u).
- ``TikhonovResidual``: a fixed Tikhonov layer followed by a residual CNN whose last layer
  starts at zero.
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import RadialProfile, SmallCNN, apply_cnn, rfft_radius
from physinv.solvers.pcg import NormalSolver, tikhonov_power
from physinv.solvers.spectral import reg_power_half

PARTS = ("linear", "cnn")


class TikhonovLayer(nn.Module):
    """A fixed (untrained) Tikhonov layer, the first stage of the decomposed networks.

    .. math::

        u = (H'H + λD'D)⁻¹ H'g

    with D the circular gradient, by the exact path of ``NormalSolver``: closed forms for
    Fourier-diagonal H, circular super-resolution and ``Dense``, preconditioned CG to the
    relative residual ``tol`` otherwise (CT at 128², 60 angles: ~40 iterations to 1e-8).
    Untrained networks that start with it equal ``tikhonov(y, op, lam, reg="gradient")``;
    the gradient flows through it to ``y``.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    lam : float
        Regularisation weight λ ≥ 0.
    cg_steps : int, default 500
        Cap on the CG iterations where there is no closed form.
    tol : float, default 1e-8
        Relative residual of the preconditioned CG.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> layer = TikhonovLayer(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
    >>> layer.reg, layer.solver.path, tuple(layer(torch.rand(1, 1, 16, 16)).shape)
    ('gradient', 'fourier', (1, 1, 16, 16))
    """

    def __init__(self, op, lam: float, cg_steps: int = 500, tol: float = 1e-8):
        super().__init__()
        self.op = op
        self.lam = check_positive("lam", lam, allow_zero=True)
        self.reg = "gradient"
        self.solver = NormalSolver(op, tol=tol, max_iter=cg_steps)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """The Tikhonov estimate u of measurements ``y``.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurements.

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            u = (H'H + λD'D)⁻¹H'y.
        """
        return self.solver.invert(y, tikhonov_power(self.lam))


class DecomposedNet(PhysicsNet):
    """The fixed H' and H'H, then a learned regulariser spectrum (and a residual CNN).

    .. math::

        x̂ = (H'H + λ R_s)⁻¹ H'g,   R_s = F⁻¹ diag(|d̂(ω)|² exp(s(|ω|))) F

    with s a learned radial profile, 0 at init: the untrained network is
    ``tikhonov(y, op, lam, reg="gradient")`` on every operator. The inverse is exact where
    the operator's structure gives it (a Fourier filter for convolutions, the polyphase
    blocks for ×s super-resolution, a direct solve for ``Dense``), preconditioned CG to
    ``tol`` otherwise (CT), differentiated implicitly (the backward pass is the same solve).
    ``part="cnn"`` adds a residual CNN, x̂ = u + CNN(u), whose last layer starts at zero.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H (any: the structured network for super-resolution and CT).
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 (D the gradient).
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
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape). The profile is
    defined continuously in frequency and applies to any image size. Before the exact
    solves, super-resolution and CT used the stationary part of H'H instead of H'H.

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
        self.lam = lam
        self.solver = NormalSolver(op)  # CG to a relative residual of 1e-8 without closed form
        self.register_buffer("rho", rfft_radius(op.in_shape), persistent=False)
        self.profile = RadialProfile(torch.zeros(n_knots, dtype=torch.float64))
        self.cnn = SmallCNN(1, 1, width, depth, dropout) if part == "cnn" else None

    def regulariser_power(self, shape) -> torch.Tensor:
        """The learned multiplier λ|d̂(ω)|² exp(s(|ω|)) of λR_s on a grid of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            Image shape (H, W) (the operator's, or the preconditioner's padded grid).

        Returns
        -------
        torch.Tensor, shape (H, W // 2 + 1)
            Real float64, ``rfft2`` layout (differentiable in the profile).
        """
        device = self.rho.device
        rho = self.rho if tuple(shape) == tuple(self.op.in_shape) else rfft_radius(
            shape, device=device)
        d2 = reg_power_half(tuple(shape), "gradient", torch.float64, device)
        return self.lam * d2 * torch.exp(self.profile(rho))

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        u = self.solver.invert(y, self.regulariser_power)
        return u if self.cnn is None else u + apply_cnn(self.cnn, u)


class TikhonovResidual(PhysicsNet):
    """A fixed Tikhonov layer, then a residual CNN that learns what Tikhonov misses.

    .. math::

        x̂ = u + CNN(u),   u = (H'H + λD'D)⁻¹ H'g

    u is ``TikhonovLayer`` (D the gradient; a closed form where the operator has one,
    preconditioned CG to a tolerance otherwise); the CNN's last layer starts at zero, so the
    untrained network is ``tikhonov(y, op, lam, reg="gradient")``.

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
