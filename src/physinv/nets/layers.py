"""Building blocks shared by the networks: a small CNN, a radial frequency profile, and the
stationary part of H'H.

- ``SmallCNN``: conv 3×3 → ReLU stacks (no normalisation layers, so every state is a Parameter
  and nothing depends on the batch), optional dropout for MC-dropout, last layer zero-initialised
  on request so that a residual block starts as the identity.
- ``RadialProfile``: a learnable function r(ρ) of the radial frequency ρ = |ω| (cycles/pixel),
  piecewise linear between fixed knots over [0, √2/2]. Defined continuously in frequency, it is
  evaluated on the ``rfft2`` grid of any image size — how a filter learned on 128×128 patches
  applies to 256×256 images.
- ``stationary_normal(op)``: the Fourier response p(ω) of H'H's impulse response, averaged over
  the positions of one sampling period. For a Fourier-diagonal H it is exactly |ĥ|²; for
  super-resolution it is the stationary (alias-free) part |ĥ|²/s²; for the Radon transform the
  familiar ~1/|ω| of back-projection.
- ``resample_table``: a per-frequency table (``rfft2`` layout) moved to another grid through its
  spatial kernel (centred, zero-padded or cropped) — how the per-bin forms transfer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from physinv.errors import check_int
from physinv.operators.base import LinearOperator

RHO_MAX = math.sqrt(0.5)


def rfft_radius(shape, dtype=torch.float64, device=None) -> torch.Tensor:
    """The radial frequency ρ = |ω| = (f_y² + f_x²)^½ on the ``rfft2`` grid of an image.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    dtype : torch.dtype, default torch.float64
        Real dtype of the result.
    device : torch.device, optional
        Device of the result.

    Returns
    -------
    torch.Tensor, shape (H, W//2 + 1)
        ρ in cycles per pixel, in [0, √2/2].

    Examples
    --------
    >>> rho = rfft_radius((4, 4))
    >>> tuple(rho.shape), float(rho[0, 0]), round(float(rho.max()), 4)
    ((4, 3), 0.0, 0.7071)
    """
    h, w = shape
    fy = torch.fft.fftfreq(h, dtype=dtype, device=device)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=dtype, device=device)[None, :]
    return torch.sqrt(fy**2 + fx**2)


class RadialProfile(nn.Module):
    """A learnable function of the radial frequency, piecewise linear between fixed knots.

    .. math::

        r(ρ) = (1 − t) v_{j−1} + t v_j,   t = (ρ − ρ_{j−1}) / (ρ_j − ρ_{j−1}),
        ρ_j = (√2/2) (j / (n − 1))²

    knots spaced as squares over [0, √2/2] (denser at low frequency, where images keep their
    energy), constant beyond the last knot. Defined continuously in frequency, it is evaluated
    on the ``rfft2`` grid of any image size.

    Parameters
    ----------
    values : torch.Tensor, shape (n_knots,)
        Initial values v_j at the knots (n_knots ≥ 2); the learnable parameter.

    Examples
    --------
    >>> import torch
    >>> profile = RadialProfile(torch.tensor([0.0, 1.0]))
    >>> profile(torch.tensor([0.0, 0.5 ** 0.5 / 2], dtype=torch.float64)).tolist()
    [0.0, 0.5]
    """

    def __init__(self, values: torch.Tensor):
        super().__init__()
        n = values.numel()
        check_int("n_knots", n, minimum=2)
        self.register_buffer("knots", self.knot_positions(n))
        self.values = nn.Parameter(values.to(torch.float64).clone())

    @staticmethod
    def knot_positions(n_knots: int) -> torch.Tensor:
        """The knots ρ_j = (√2/2)(j / (n_knots − 1))², j = 0, …, n_knots − 1 (float64)."""
        return RHO_MAX * torch.linspace(0, 1, n_knots, dtype=torch.float64) ** 2

    def forward(self, rho: torch.Tensor) -> torch.Tensor:
        """r(ρ) at the radial frequencies ``rho``.

        Parameters
        ----------
        rho : torch.Tensor
            Radial frequencies ρ ≥ 0 in cycles per pixel, any shape (e.g. ``rfft_radius``).

        Returns
        -------
        torch.Tensor
            r(ρ), same shape and dtype as ``rho``.
        """
        knots = self.knots.to(rho)
        idx = torch.searchsorted(knots, rho.contiguous()).clamp(1, knots.numel() - 1)
        lo, hi = knots[idx - 1], knots[idx]
        t = ((rho - lo) / (hi - lo)).clamp(0, 1)
        v = self.values.to(rho.dtype)
        return v[idx - 1] * (1 - t) + v[idx] * t


class SmallCNN(nn.Sequential):
    """A plain stack of 3×3 convolutions and ReLUs, the learnable part of the residual nets.

    conv(in → width) ReLU [conv(width → width) ReLU] × (depth − 2) [Dropout2d]
    conv(width → out), zero padding, no normalisation layers (every state is a parameter and
    nothing depends on the batch).

    Parameters
    ----------
    in_channels, out_channels : int, default 1, 1
        Channels in and out.
    width : int, default 32
        Channels of the hidden layers.
    depth : int, default 5
        Convolution layers (≥ 2).
    dropout : float, default 0.0
        Channel dropout before the last layer (for MC-dropout) when > 0.
    zero_last : bool, default True
        Initialise the last layer at zero, so that a residual block x + CNN(x) starts as the
        identity.

    Examples
    --------
    >>> import torch
    >>> cnn = SmallCNN(width=4, depth=3)
    >>> out = cnn(torch.rand(1, 1, 8, 8)).detach()
    >>> sum(p.numel() for p in cnn.parameters()), float(out.abs().max())
    (225, 0.0)
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 32,
                 depth: int = 5, dropout: float = 0.0, zero_last: bool = True):
        check_int("depth", depth, minimum=2)
        check_int("width", width)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        last = nn.Conv2d(width, out_channels, 3, padding=1)
        if zero_last:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        layers.append(last)
        super().__init__(*layers)


def apply_cnn(cnn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run a single-channel CNN on every channel of images of any float dtype.

    Parameters
    ----------
    cnn : torch.nn.Module
        A module from (N, 1, H, W) to (N, 1, H', W') in its parameters' dtype (float32).
    x : torch.Tensor, shape (B, C, H, W)
        Images; channels are folded into the batch.

    Returns
    -------
    torch.Tensor, shape (B, C, H', W')
        The CNN's output, in ``x``'s dtype.
    """
    b, c = x.shape[:2]
    out = cnn(x.reshape(b * c, 1, *x.shape[2:]).to(next(cnn.parameters()).dtype))
    return out.reshape(b, c, *out.shape[2:]).to(x.dtype)


@torch.no_grad()
def stationary_normal(op: LinearOperator, period: int = 1) -> torch.Tensor:
    """The stationary part p(ω) of H'H: the Fourier response of its impulse response.

    .. math::

        p(ω) = (1/P²) Σ_{(i, j) ∈ period²} Re F[shift_{−(i, j)} H'H δ_{(i, j)}](ω)

    averaged over the P × P impulse positions next to the image centre, clamped at 0. For a
    Fourier-diagonal H it is exactly |ĥ|²; for ×s super-resolution (P = s) the alias-free
    part |ĥ|²/s²; for the Radon transform the familiar ~1/|ω| of back-projection.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    period : int, default 1
        Sampling period P of a shift-variant H (the super-resolution factor).

    Returns
    -------
    torch.Tensor, shape (H, W//2 + 1)
        p(ω) ≥ 0, real float64, ``rfft2`` layout.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> bool(torch.allclose(stationary_normal(op), op.rfft_diagonal()[1]))
    True
    """
    if op.has_fourier_diagonal:
        return op.rfft_diagonal(torch.float64)[1].clone()
    h, w = op.in_shape
    acc = torch.zeros(h, w // 2 + 1, dtype=torch.float64)
    for dy in range(period):
        for dx in range(period):
            delta = torch.zeros(1, 1, h, w, dtype=torch.float64)
            cy, cx = h // 2 + dy, w // 2 + dx
            delta[..., cy, cx] = 1.0
            response = op.normal(delta, check=False)[0, 0]
            response = torch.roll(response, (-cy, -cx), dims=(0, 1))
            acc += torch.fft.rfft2(response).real
    return (acc / period**2).clamp_min(0)


def resample_table(table: torch.Tensor, old_shape, new_shape) -> torch.Tensor:
    """A per-frequency filter moved to another grid through its spatial kernel.

    The kernel F⁻¹(table), centred, is zero-padded (or cropped) to ``new_shape`` and
    transformed back: the same filter on another image size.

    Parameters
    ----------
    table : torch.Tensor, shape (H, W//2 + 1)
        The filter in ``rfft2`` layout on ``old_shape`` (complex).
    old_shape, new_shape : tuple of int
        Image shapes (H, W) before and after.

    Returns
    -------
    torch.Tensor, shape (H', W'//2 + 1)
        The filter on ``new_shape`` (a copy when the shapes are equal).

    Examples
    --------
    >>> import torch
    >>> delta = torch.fft.rfft2(torch.eye(1, 64).reshape(8, 8))  # the identity filter
    >>> bool(torch.allclose(resample_table(delta, (8, 8), (16, 16)).real, torch.ones(16, 9)))
    True
    """
    if tuple(old_shape) == tuple(new_shape):
        return table.clone()
    kernel = torch.fft.fftshift(torch.fft.irfft2(table, s=tuple(old_shape)))
    out = torch.zeros(tuple(new_shape), dtype=kernel.dtype)
    oh, ow = old_shape
    nh, nw = new_shape
    h, w = min(oh, nh), min(ow, nw)
    out[nh // 2 - h // 2: nh // 2 - h // 2 + h, nw // 2 - w // 2: nw // 2 - w // 2 + w] = \
        kernel[oh // 2 - h // 2: oh // 2 - h // 2 + h, ow // 2 - w // 2: ow // 2 - w // 2 + w]
    return torch.fft.rfft2(torch.fft.ifftshift(out))
