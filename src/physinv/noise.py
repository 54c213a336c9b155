"""Noise models and measurement simulation ``g = H f + ε``, reproducible through explicit seeds.

- ``Gaussian(sigma)``: ε ~ N(0, σ²), additive, σ in image units.
- ``Poisson(photons)``: g = Poisson(photons · Hf) / photons — photon counting with ``photons``
  expected counts at intensity 1 (Hf must be ≥ 0).
- ``PoissonGaussian(photons, sigma)``: Poisson counts plus Gaussian read noise.
- ``NoNoise()``.

Every model draws from a ``torch.Generator`` on the CPU and then moves the draw to the data's
device, so a seed gives the same measurement on every device.

>>> import torch
>>> from physinv.noise import Gaussian, simulate
>>> from physinv.operators import Identity
>>> x = torch.zeros(1, 1, 8, 8)
>>> y1 = simulate(x, Identity((8, 8)), Gaussian(0.1), seed=3)
>>> y2 = simulate(x, Identity((8, 8)), Gaussian(0.1), seed=3)
>>> bool((y1 == y2).all())
True
"""

from __future__ import annotations

import torch

from physinv.errors import InputError, check_image, check_int, check_positive


class NoiseModel:
    """Base class: ``model(clean, generator)`` returns a noisy copy of ``clean``."""

    name = "none"

    def __call__(self, clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def variance(self, clean: torch.Tensor) -> torch.Tensor | float:
        """Noise variance per entry (a float when constant)."""
        raise NotImplementedError

    def spec(self) -> str:
        return self.name

    def __repr__(self):
        return f"{type(self).__name__}({self.spec()!r})"


def _randn_like(t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    draw = torch.randn(t.shape, generator=generator, dtype=t.dtype, device="cpu")
    return draw.to(t.device)


class NoNoise(NoiseModel):
    name = "none"

    def __call__(self, clean, generator):
        return clean.clone()

    def variance(self, clean):
        return 0.0


class Gaussian(NoiseModel):
    """Additive white Gaussian noise of standard deviation ``sigma``."""

    name = "gaussian"

    def __init__(self, sigma: float):
        self.sigma = check_positive("sigma", sigma, allow_zero=True)

    def __call__(self, clean, generator):
        return clean + self.sigma * _randn_like(clean, generator)

    def variance(self, clean):
        return self.sigma**2

    def spec(self):
        return f"gaussian:sigma={self.sigma:g}"


class Poisson(NoiseModel):
    """Photon-counting noise: ``Poisson(photons · clean) / photons`` (clean must be ≥ 0)."""

    name = "poisson"

    def __init__(self, photons: float):
        self.photons = check_positive("photons", photons)

    def _counts(self, clean, generator):
        if bool((clean < 0).any()):
            raise InputError("clean", f"minimum {float(clean.min()):g}",
                             "non-negative intensities for Poisson noise")
        rate = (clean * self.photons).detach().to("cpu", torch.float64)
        counts = torch.poisson(rate, generator=generator)
        return (counts / self.photons).to(device=clean.device, dtype=clean.dtype)

    def __call__(self, clean, generator):
        return self._counts(clean, generator)

    def variance(self, clean):
        return clean.clamp_min(0) / self.photons

    def spec(self):
        return f"poisson:photons={self.photons:g}"


class PoissonGaussian(Poisson):
    """Poisson counts (``photons`` at intensity 1) plus Gaussian read noise ``sigma``."""

    name = "poisson-gaussian"

    def __init__(self, photons: float, sigma: float):
        super().__init__(photons)
        self.sigma = check_positive("sigma", sigma, allow_zero=True)

    def __call__(self, clean, generator):
        return self._counts(clean, generator) + self.sigma * _randn_like(clean, generator)

    def variance(self, clean):
        return clean.clamp_min(0) / self.photons + self.sigma**2

    def spec(self):
        return f"poisson-gaussian:photons={self.photons:g},sigma={self.sigma:g}"


class RelativeGaussian(NoiseModel):
    """Additive white Gaussian noise with σ = ``fraction`` × max |Hx|, per image (e.g. CT:
    1 % of each sinogram's maximum)."""

    name = "relative-gaussian"

    def __init__(self, fraction: float):
        self.fraction = check_positive("fraction", fraction, allow_zero=True)

    def sigmas(self, clean: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, clean.dim()))
        return self.fraction * clean.abs().amax(dim=dims, keepdim=True)

    def __call__(self, clean, generator):
        return clean + self.sigmas(clean) * _randn_like(clean, generator)

    def variance(self, clean):
        return self.sigmas(clean) ** 2

    def spec(self):
        return f"relative-gaussian:fraction={self.fraction:g}"


MODELS = {"none": NoNoise, "gaussian": Gaussian, "poisson": Poisson,
          "poisson-gaussian": PoissonGaussian, "relative-gaussian": RelativeGaussian}


def from_spec(spec: str) -> NoiseModel:
    """Parse ``gaussian:sigma=0.01``, ``poisson:photons=100``,
    ``poisson-gaussian:photons=100,sigma=0.01`` or ``none``."""
    from physinv.specs import parse_spec

    kind, _, params = parse_spec(spec, "noise")
    if kind not in MODELS:
        raise InputError("noise", spec, f"a noise spec starting with one of {sorted(MODELS)}")
    try:
        return MODELS[kind](**params)
    except TypeError:
        raise InputError("noise", spec, f"valid parameters for {kind!r}",
                         "e.g. gaussian:sigma=0.01, poisson:photons=100") from None


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (an integer ≥ 0)."""
    seed = check_int("seed", seed, minimum=0)
    return torch.Generator(device="cpu").manual_seed(seed)


def simulate(x: torch.Tensor, op, noise: NoiseModel | str | None = None,
             seed: int = 0) -> torch.Tensor:
    """Measurement ``g = H x + ε`` for ``x`` of shape ``(B, C, H, W)``; reproducible for a seed."""
    from physinv.operators.base import LinearOperator

    if not isinstance(op, LinearOperator):
        raise InputError("op", op, "a physinv.operators.LinearOperator")
    check_image("x", x, shape=op.in_shape)
    if noise is None:
        noise = NoNoise()
    elif isinstance(noise, str):
        noise = from_spec(noise)
    elif not isinstance(noise, NoiseModel):
        raise InputError("noise", noise, "a NoiseModel or a noise spec string")
    with torch.no_grad():
        clean = op(x)
    return noise(clean, make_generator(seed))


def estimate_sigma(y: torch.Tensor) -> float:
    """Robust estimate of white Gaussian noise σ from data (Donoho's MAD rule).

    σ̂ = median(|HH|) / 0.6745 over the finest diagonal Haar detail coefficients
    ``(a − b − c + d) / 2`` of non-overlapping 2×2 blocks, pooled over the batch; the image
    content barely enters this sub-band, so the estimate needs no clean reference.
    """
    if not isinstance(y, torch.Tensor) or y.dim() < 2 or min(y.shape[-2:]) < 2:
        raise InputError("y", y, "a tensor whose last two dimensions are at least 2×2")
    h, w = (y.shape[-2] // 2) * 2, (y.shape[-1] // 2) * 2
    z = y[..., :h, :w].to(torch.float64)
    hh = (z[..., 0::2, 0::2] - z[..., 0::2, 1::2] - z[..., 1::2, 0::2] + z[..., 1::2, 1::2]) / 2
    return float(hh.abs().flatten().median()) / 0.6744897501960817
