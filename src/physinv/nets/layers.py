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
    """|ω| in cycles/pixel on the ``rfft2`` grid of an (H, W) image."""
    h, w = shape
    fy = torch.fft.fftfreq(h, dtype=dtype, device=device)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=dtype, device=device)[None, :]
    return torch.sqrt(fy**2 + fx**2)


class RadialProfile(nn.Module):
    """r(ρ), piecewise linear in ρ between ``n_knots`` knots spaced as √ over [0, √2/2]
    (denser at low frequency, where images keep their energy)."""

    def __init__(self, values: torch.Tensor):
        super().__init__()
        n = values.numel()
        check_int("n_knots", n, minimum=2)
        self.register_buffer("knots", self.knot_positions(n))
        self.values = nn.Parameter(values.to(torch.float64).clone())

    @staticmethod
    def knot_positions(n_knots: int) -> torch.Tensor:
        return RHO_MAX * torch.linspace(0, 1, n_knots, dtype=torch.float64) ** 2

    def forward(self, rho: torch.Tensor) -> torch.Tensor:
        knots = self.knots.to(rho)
        idx = torch.searchsorted(knots, rho.contiguous()).clamp(1, knots.numel() - 1)
        lo, hi = knots[idx - 1], knots[idx]
        t = ((rho - lo) / (hi - lo)).clamp(0, 1)
        v = self.values.to(rho.dtype)
        return v[idx - 1] * (1 - t) + v[idx] * t


class SmallCNN(nn.Sequential):
    """conv(in→width) ReLU [conv(width→width) ReLU]×(depth−2) [Dropout2d] conv(width→out)."""

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
    """Run a float32 CNN on (B, C, H, W) images of any float dtype, channels folded into B."""
    b, c = x.shape[:2]
    out = cnn(x.reshape(b * c, 1, *x.shape[2:]).to(next(cnn.parameters()).dtype))
    return out.reshape(b, c, *out.shape[2:]).to(x.dtype)


@torch.no_grad()
def stationary_normal(op: LinearOperator, period: int = 1) -> torch.Tensor:
    """Real, even Fourier response (``rfft2`` layout, float64) of H'H, averaged over the
    ``period × period`` impulse positions next to the image centre."""
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
    """A per-frequency filter (``rfft2`` layout on ``old_shape``) on ``new_shape`` via its
    spatial kernel, centred and zero-padded (or cropped)."""
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
