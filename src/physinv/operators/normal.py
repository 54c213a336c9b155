"""``NormalApproximation``: H'H as a convolution, from its point response, on a padded grid.

For the parallel-beam Radon transform (and, less exactly, the fan beam) H'H is close to a
convolution with the kernel k(p) ≈ (n_angles / π)/|p| of back-projection: its response to a
point at the image centre, k = H'H δ_c, read as a function of the offset p from c. Applied by
FFT on a grid padded to ``pad`` × the image (zero-padding, so the kernel does not wrap around
inside the image),

.. math::

    H'H x ≈ P' F⁻¹[ k̂ · F(P x) ],   k̂ = F(k),  P: zero-padding N → pad·N

it costs two FFTs of the padded grid instead of a projection and a back-projection, and
(k̂ + λ|d̂|²)⁻¹ on the same grid is a good preconditioner of H'H + λD'D
(``physinv.solvers.pcg.CirculantPreconditioner``).

>>> import torch
>>> from physinv.operators import Radon
>>> from physinv.operators.normal import NormalApproximation
>>> op = Radon((32, 32), torch.arange(0, 180, 6.0))
>>> approx = NormalApproximation(op)
>>> approx.padded_shape, tuple(approx.transfer.shape)
((64, 64), (64, 33))
"""

from __future__ import annotations

import math

import torch

from physinv.errors import check_int
from physinv.operators.base import LinearOperator


def _positions(shape, n_points: int) -> list[tuple[int, int]]:
    """The image centre and ``n_points`` pixels on a circle of radius 0.45·min(H, W) around it."""
    h, w = shape
    cy, cx = h // 2, w // 2
    radius = 0.45 * min(h, w)
    ring = [(cy + round(radius * math.sin(2 * math.pi * j / n_points)),
             cx + round(radius * math.cos(2 * math.pi * j / n_points))) for j in range(n_points)]
    return [(cy, cx)] + ring


@torch.no_grad()
def support(op: LinearOperator) -> torch.Tensor:
    """The pixels H sees: where H'H 1 > 0 (e.g. the disk of ``Radon(..., circle=True)``).

    Parameters
    ----------
    op : LinearOperator
        Forward operator with non-negative weights (projections, blurs, masks); for another
        operator the result only steers ``NormalApproximation``, never a solution.

    Returns
    -------
    torch.Tensor, shape op.in_shape
        1.0 where (H'H 1) > 10⁻¹² max(H'H 1), else 0.0 (float64).
    """
    seen = op.normal(torch.ones(1, 1, *op.in_shape, dtype=torch.float64), check=False)[0, 0]
    return (seen > 1e-12 * float(seen.max())).to(torch.float64).cpu()


@torch.no_grad()
def point_response(op: LinearOperator, padded_shape, n_points: int = 8,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """The response of H'H to a point, as an even kernel of the offset on a padded grid.

    .. math::

        k(p) = mean_j { (H'H δ_{c_j})(c_j + p) : c_j + p seen },
        k ← ½ [k(p) + k(−p)]

    over the image centre c₀ and ``n_points`` points c_j on a circle of radius 0.45·min(H, W):
    the centre alone gives the offsets |p| ≤ N/2, the ring points the longer ones, up to the
    support's diameter. Offsets no response covers are 0; the symmetrisation makes k̂ real.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H with 2-D images.
    padded_shape : tuple of int
        The grid (H', W') ≥ 2 × the image's on which the kernel is laid out (offset 0 at
        index 0, negative offsets wrapped).
    n_points : int, default 8
        Points on the ring (0: the centre only).
    mask : torch.Tensor, shape op.in_shape, optional
        The pixels whose responses count (default ``support(op)``).

    Returns
    -------
    torch.Tensor, shape padded_shape
        k, float64.
    """
    h, w = op.in_shape
    mask = support(op) if mask is None else mask
    points = _positions((h, w), n_points)
    deltas = torch.zeros(len(points), 1, h, w, dtype=torch.float64)
    for i, (py, px) in enumerate(points):
        deltas[i, 0, py, px] = 1.0
    responses = op.normal(deltas, check=False)[:, 0].cpu()
    total = torch.zeros(tuple(padded_shape), dtype=torch.float64)
    count = torch.zeros_like(total)
    for (py, px), response in zip(points, responses, strict=True):
        if not mask[py, px]:
            continue
        total += torch.roll(_embed(response * mask, padded_shape), (-py, -px), dims=(0, 1))
        count += torch.roll(_embed(mask, padded_shape), (-py, -px), dims=(0, 1))
    kernel = torch.where(count > 0, total / count.clamp_min(1), 0)
    flipped = torch.roll(torch.flip(kernel, dims=(0, 1)), (1, 1), dims=(0, 1))  # k(−p)
    return 0.5 * (kernel + flipped)


def _embed(image: torch.Tensor, padded_shape) -> torch.Tensor:
    out = torch.zeros(tuple(padded_shape), dtype=image.dtype)
    out[:image.shape[0], :image.shape[1]] = image
    return out


class NormalApproximation(LinearOperator):
    """H'H approximated by a convolution with its point response, applied on a padded grid.

    .. math::

        A x = S P' F⁻¹[ k̂ · F(P S x) ],   k̂ = max(Re F(k), 0)

    with k the point response of H'H (``point_response``) on a grid of ``pad`` × the image
    size, P the zero-padding and S the pixels H sees (``support``). Self-adjoint and positive
    semi-definite; for the parallel-beam Radon transform within 1 % of H'H on a random image
    (128², 60 angles: 0.7 %, against 19 % from the centre response alone).

    Parameters
    ----------
    op : LinearOperator
        Forward operator H with 2-D images (``Radon``, ``FanBeam``, …).
    pad : int, default 2
        Padding factor of the FFT grid (≥ 2: no wrap-around inside the image).
    n_points : int, default 8
        Ring points of ``point_response`` besides the centre.

    Attributes
    ----------
    padded_shape : tuple of int
        The FFT grid (pad·H, pad·W).
    transfer : torch.Tensor, shape (pad·H, pad·W // 2 + 1)
        k̂ ≥ 0 in ``rfft2`` layout, float64 (a buffer).
    support : torch.Tensor, shape op.in_shape
        S, 1.0 on the pixels H sees (a buffer).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Radon
    >>> from physinv.operators.normal import NormalApproximation
    >>> op = Radon((32, 32), torch.arange(0, 180, 6.0))
    >>> x = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    >>> exact, approx = op.normal(x), NormalApproximation(op)(x)
    >>> bool(torch.linalg.vector_norm(approx - exact) < 0.05 * torch.linalg.vector_norm(exact))
    True
    """

    def __init__(self, op: LinearOperator, pad: int = 2, n_points: int = 8):
        super().__init__(op.in_shape, op.in_shape)
        pad = check_int("pad", pad, minimum=2)
        n_points = check_int("n_points", n_points, minimum=0)
        h, w = op.in_shape
        self.padded_shape = (pad * h, pad * w)
        mask = support(op)
        kernel = point_response(op, self.padded_shape, n_points, mask)
        self.register_buffer("support", mask)
        self.register_buffer("transfer", torch.fft.rfft2(kernel).real.clamp_min(0))

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-pad images (..., H, W) to the FFT grid (..., pad·H, pad·W) (P)."""
        h, w = self.in_shape
        ph, pw = self.padded_shape
        return torch.nn.functional.pad(x, (0, pw - w, 0, ph - h))

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """The image part (..., H, W) of padded images (P')."""
        h, w = self.in_shape
        return x[..., :h, :w]

    def filter(self, x: torch.Tensor, multiplier: torch.Tensor) -> torch.Tensor:
        """P' F⁻¹[m · F(P x)] for a real multiplier m on the padded grid (``rfft2`` layout)."""
        spectrum = torch.fft.rfft2(self.pad(x)) * multiplier.to(x.dtype)
        return self.crop(torch.fft.irfft2(spectrum, s=self.padded_shape))

    def _forward(self, x):
        mask = self.support.to(device=x.device, dtype=x.dtype)
        return mask * self.filter(mask * x, self.transfer.to(x.device))

    def _adjoint(self, y):
        return self._forward(y)

    def extra_repr(self):
        """Image and padded shapes, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, padded={self.padded_shape}"
