"""Equivariant bootstrap: a per-pixel error variance for any reconstructor ``f(y, op) -> x̂``.

.. math::

    x⁽ⁱ⁾ = T_{gᵢ}⁻¹ f(H T_{gᵢ} x̂ + εᵢ),   v̂ = (1/K) Σᵢ (x⁽ⁱ⁾ − x̂)²

(Tachella & Pereyra 2023): x̂ plays the unknown image, a transform T_g drawn from a group under
which the problem is equivariant moves it, the forward model re-measures it with fresh noise εᵢ
from the noise model, ``f`` reconstructs and T_g⁻¹ moves the result back. The error x⁽ⁱ⁾ − x̂ of
the bootstrap world stands for the unknown error x̂ − x. The estimator is the paper's: the mean
square of x⁽ⁱ⁾ around x̂ (``estimator="mse"``, bias included); ``estimator="spread"`` gives the
sample variance of the x⁽ⁱ⁾ around their own mean (the noise part only), which for a linear
``f`` is exactly σ²·diag(A Aᵀ) in expectation.

The group is chosen from the operator (``group_for``):

- a Fourier-diagonal H (a circular convolution) whose PSF is symmetric — invariant under both
  flips and, on a square grid, the transpose: every circular shift and the 8 symmetries of the
  square (the 4 flips on a rectangular grid);
- another Fourier-diagonal H: circular shifts only;
- a parallel-beam ``Radon`` whose angles are uniformly spaced by Δθ over 180° (``k·Δθ``,
  k = 0 … n − 1): rotations of the image by multiples of Δθ about the rotation centre
  (H // 2, W // 2) — they permute the projections (the one past 180° is the flipped first):
  exact for multiples of 90° (``torch.rot90``), bilinear interpolation otherwise, so the
  group is equivariant only up to that interpolation; other angle sets: parametric;
- any other operator (reflected-border blur, super-resolution, masks, fan beam, dense
  matrices):
  the group is too small to be of use (or the problem is not equivariant under it) and the
  **parametric bootstrap** is used instead: T_g = identity, fresh noise only.

Cost: K reconstructions (the CLI allows K ≤ 32).

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.solvers import tikhonov
>>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
>>> y = op(torch.rand(1, 1, 16, 16, dtype=torch.float64))
>>> out = equivariant_bootstrap(lambda g, o: tikhonov(g, o, lam=1e-2).x, y, op,
...                             "gaussian:sigma=0.01", n_samples=4, seed=0)
>>> out.group.name, tuple(out.variance.shape), out.n_samples
('shifts+d4', (1, 1, 16, 16), 4)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from physinv.errors import InputError, check_int
from physinv.noise import NoiseModel, from_spec, make_generator
from physinv.operators.base import LinearOperator

ESTIMATORS = ("mse", "spread")


@dataclass(frozen=True)
class Group:
    """The transforms of a bootstrap: ``name`` (``shifts+d4``, ``shifts+flips``, ``shifts``,
    ``rotations`` or ``parametric``), whether circular shifts and which square symmetries are
    drawn, and the rotation step in degrees (0: no rotations)."""

    name: str
    shifts: bool
    flips: bool
    transpose: bool
    rotation_step: float = 0.0

    def draw(self, shape, generator: torch.Generator) -> tuple:
        """A random element (dy, dx, flip_rows, flip_cols, transpose, degrees) on ``shape``."""
        h, w = shape
        bits = torch.randint(0, 2, (3,), generator=generator).tolist()
        dy = int(torch.randint(0, h, (1,), generator=generator)) if self.shifts else 0
        dx = int(torch.randint(0, w, (1,), generator=generator)) if self.shifts else 0
        degrees = 0.0
        if self.rotation_step:
            n = max(1, round(360.0 / self.rotation_step))
            degrees = float(torch.randint(0, n, (1,), generator=generator)) * self.rotation_step
        return (dy, dx, bits[0] * self.flips, bits[1] * self.flips, bits[2] * self.transpose,
                degrees)

    @staticmethod
    def apply(x: torch.Tensor, g) -> torch.Tensor:
        """T_g x: shift, then flips, then transpose, then the rotation."""
        dy, dx, fr, fc, tr, degrees = (*g, 0.0)[:6]
        x = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        if fr:
            x = torch.flip(x, dims=(-2,))
        if fc:
            x = torch.flip(x, dims=(-1,))
        x = x.transpose(-2, -1) if tr else x
        return rotate(x, degrees) if degrees else x

    @staticmethod
    def invert(x: torch.Tensor, g) -> torch.Tensor:
        """T_g⁻¹ x (the steps of ``apply`` undone in reverse order)."""
        dy, dx, fr, fc, tr, degrees = (*g, 0.0)[:6]
        x = rotate(x, -degrees) if degrees else x
        if tr:
            x = x.transpose(-2, -1)
        if fc:
            x = torch.flip(x, dims=(-1,))
        if fr:
            x = torch.flip(x, dims=(-2,))
        return torch.roll(x, shifts=(-dy, -dx), dims=(-2, -1))


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """x rotated by ``degrees`` about pixel (H // 2, W // 2), the Radon rotation centre.

    The image is turned the way the Radon transform's angle runs (a projection at θ of the
    rotated image is the projection at θ − degrees of x). Multiples of 90° on a square grid
    with odd centre offsets are exact (``torch.rot90`` about the centre); other angles sample
    x bilinearly at R(−φ)(p − c) + c (zero outside the grid).
    """
    h, w = x.shape[-2:]
    quarter = degrees / 90.0
    if h == w and h % 2 == 1 and abs(quarter - round(quarter)) < 1e-12:
        return torch.rot90(x, int(round(quarter)) % 4, dims=(-2, -1))
    phi = math.radians(degrees)
    cy, cx = h // 2, w // 2
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) - cy,
                            torch.arange(w, dtype=torch.float64) - cx, indexing="ij")
    # the source point of each output pixel: (x, y) rotated by −φ in the image's (x right,
    # y down) frame, so that R_φ applied to the source gives the pixel
    sx = math.cos(phi) * xx - math.sin(phi) * yy + cx
    sy = math.sin(phi) * xx + math.cos(phi) * yy + cy
    grid = torch.stack([2 * sx / max(w - 1, 1) - 1, 2 * sy / max(h - 1, 1) - 1], dim=-1)
    flat = x.reshape(-1, 1, h, w)
    out = torch.nn.functional.grid_sample(flat, grid[None].expand(flat.shape[0], h, w, 2)
                                          .to(flat.dtype), mode="bilinear",
                                          padding_mode="zeros", align_corners=True)
    return out.reshape(x.shape)


def _radon_step(op) -> float | None:
    """Δθ if ``op`` is a parallel-beam Radon with angles k·Δθ + θ₀, k = 0 … n − 1, n·Δθ = 180°."""
    from physinv.operators.radon import Radon

    if not isinstance(op, Radon):
        return None
    angles = op.angles.to(torch.float64)
    n = angles.numel()
    step = 180.0 / n
    if n < 2 or float((torch.diff(angles) - step).abs().max()) > 1e-6 * step:
        return None
    return step


def _symmetric(kernel: torch.Tensor, transform) -> bool:
    other = transform(kernel)
    scale = float(kernel.abs().max()) or 1.0
    return float((other - kernel).abs().max()) <= 1e-9 * scale


def group_for(op: LinearOperator) -> Group:
    """The transform group of the bootstrap for ``op`` (see the module docstring).

    The PSF's symmetry is read from the operator itself: the kernel k = F⁻¹ĥ of its Fourier
    diagonal must equal its row flip k[−i, j], its column flip k[i, −j] and, on a square grid,
    its transpose (to 1e-9 of its maximum).

    Parameters
    ----------
    op : LinearOperator

    Returns
    -------
    Group

    Examples
    --------
    >>> from physinv.operators import Convolution, Dense, psf
    >>> group_for(Convolution(psf.gaussian(2.0, 9), (32, 32))).name
    'shifts+d4'
    >>> group_for(Convolution(psf.motion(9, 30), (32, 32))).name
    'shifts'
    >>> group_for(Dense(torch.eye(4), (2, 2))).name
    'parametric'
    >>> from physinv.operators import Radon
    >>> group_for(Radon((32, 32), torch.arange(0, 180, 3.0))).rotation_step
    3.0
    """
    if not isinstance(op, LinearOperator):
        raise InputError("op", op, "a physinv.operators.LinearOperator")
    step = _radon_step(op)
    if step is not None:
        return Group("rotations", False, False, False, step)
    if not op.has_fourier_diagonal or tuple(op.in_shape) != tuple(op.out_shape):
        return Group("parametric", False, False, False)
    kernel = torch.fft.ifft2(op.fourier_diagonal().to(torch.complex128)).real
    h, w = kernel.shape

    def row_flip(k):
        return torch.roll(torch.flip(k, dims=(0,)), 1, dims=0)

    def col_flip(k):
        return torch.roll(torch.flip(k, dims=(1,)), 1, dims=1)

    flips = _symmetric(kernel, row_flip) and _symmetric(kernel, col_flip)
    transpose = flips and h == w and _symmetric(kernel, lambda k: k.T)
    if transpose:
        return Group("shifts+d4", True, True, True)
    if flips:
        return Group("shifts+flips", True, True, False)
    return Group("shifts", True, False, False)


@dataclass
class BootstrapResult:
    """``variance`` (the shape of x̂), the ``group`` used, ``n_samples`` K, the ``estimator``,
    ``seconds`` spent and, with ``keep_samples``, the K back-transformed reconstructions;
    ``mean`` is the samples' mean x̄* (x̄* − x̂: the bootstrap's bias estimate, see
    ``uq.bias``) and ``spread`` their sample variance around x̄* (the noise part, divisor
    K − 1), whatever the estimator."""

    variance: torch.Tensor
    group: Group
    n_samples: int
    estimator: str
    seconds: float
    samples: list = field(default_factory=list)
    mean: torch.Tensor | None = None
    spread: torch.Tensor | None = None

    def describe(self) -> str:
        """``bootstrap (shifts+d4, K=16, mse)``."""
        return f"bootstrap ({self.group.name}, K={self.n_samples}, {self.estimator})"


def _noise_model(noise) -> NoiseModel:
    if isinstance(noise, NoiseModel):
        return noise
    if isinstance(noise, str):
        return from_spec(noise)
    raise InputError("noise", noise, "a NoiseModel or a noise spec string",
                     "the bootstrap draws fresh noise from it")


def equivariant_bootstrap(reconstruct, y: torch.Tensor, op: LinearOperator, noise,
                          x_hat: torch.Tensor | None = None, n_samples: int = 16,
                          seed: int = 0, estimator: str = "mse", group: Group | None = None,
                          keep_samples: bool = False) -> BootstrapResult:
    """Per-pixel error variance of ``reconstruct`` at its estimate, by equivariant bootstrap.

    .. math::

        v̂ = (1/K) Σᵢ (T_{gᵢ}⁻¹ f(H T_{gᵢ} x̂ + εᵢ) − x̂)²

    Parameters
    ----------
    reconstruct : callable
        ``f(y, op) -> x̂`` (a tensor shaped like the image), e.g. a solver's ``.x`` or a
        network's forward pass.
    y : torch.Tensor, shape (B, C, *op.out_shape)
        The measurement.
    op : LinearOperator
        The forward model H.
    noise : NoiseModel or str
        The noise model of the measurement (a spec such as ``"gaussian:sigma=0.01"``).
    x_hat : torch.Tensor, optional
        ``f(y, op)`` if already computed.
    n_samples : int, default 16
        K ≥ 2 reconstructions.
    seed : int, default 0
        Seed of the transforms and of the noise draws.
    estimator : {"mse", "spread"}
        Mean square around x̂ (the paper's, bias included) or sample variance around the
        samples' mean (noise part only; unbiased, divisor K − 1).
    group : Group, optional
        Default ``group_for(op)``; ``Group("parametric", False, False, False)`` forces the
        parametric bootstrap.
    keep_samples : bool
        Keep the K back-transformed reconstructions in ``samples``.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        For K < 2, an unknown estimator, a noise argument that is no model, or a sample that
        is not finite (named by its index).

    References
    ----------
    J. Tachella and M. Pereyra, "Equivariant bootstrapping for uncertainty quantification in
    imaging inverse problems", AISTATS 2024 (arXiv 2310.11838).
    """
    check_int("n_samples", n_samples, minimum=2)
    if estimator not in ESTIMATORS:
        raise InputError("estimator", estimator, f"one of {ESTIMATORS}")
    model = _noise_model(noise)
    group = group_for(op) if group is None else group
    start = time.perf_counter()
    with torch.no_grad():
        x_hat = reconstruct(y, op) if x_hat is None else x_hat
        generator = make_generator(seed)
        total = torch.zeros_like(x_hat)
        square = torch.zeros_like(x_hat)
        kept = []
        for i in range(n_samples):
            g = group.draw(tuple(op.in_shape), generator)
            moved = Group.apply(x_hat, g)
            y_star = model(op(moved), generator)
            sample = Group.invert(reconstruct(y_star, op), g).to(x_hat.dtype)
            if not bool(torch.isfinite(sample).all()):
                raise InputError("sample", i, "a finite reconstruction",
                                 f"bootstrap sample {i} of {n_samples} has NaN or inf; "
                                 "the reconstructor failed on a re-measured image")
            delta = sample - x_hat
            total += delta
            square += delta * delta
            if keep_samples:
                kept.append(sample)
    mean = total / n_samples
    spread = (square - n_samples * mean * mean).clamp_min(0) / (n_samples - 1)
    variance = square / n_samples if estimator == "mse" else spread
    return BootstrapResult(variance, group, n_samples, estimator,
                           time.perf_counter() - start, kept, x_hat + mean, spread)
