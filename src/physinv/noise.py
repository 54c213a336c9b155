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

import math

import torch

from physinv.errors import InputError, check_image, check_int, check_positive


class NoiseModel:
    """Base class of the noise models: ``model(clean, generator)`` returns a noisy copy.

    Subclasses implement ``__call__(clean, generator)`` (drawing on the CPU generator, then
    moving the draw to ``clean``'s device, so that a seed gives the same noise on every
    device), ``variance(clean)`` and ``spec()`` (the string ``from_spec`` parses back), and
    set the class attribute ``name``.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, make_generator
    >>> model = Gaussian(0.1)
    >>> y = model(torch.zeros(1, 1, 4, 4), make_generator(0))
    >>> tuple(y.shape), model.spec()
    ((1, 1, 4, 4), 'gaussian:sigma=0.1')
    """

    name = "none"

    def __call__(self, clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def variance(self, clean: torch.Tensor) -> torch.Tensor | float:
        """Noise variance of each entry of a measurement whose noise-free value is ``clean``.

        Parameters
        ----------
        clean : torch.Tensor
            The noise-free measurement Hf.

        Returns
        -------
        float or torch.Tensor
            A float when the variance is constant, else a tensor shaped like (or broadcastable
            to) ``clean``; in (data units)².
        """
        raise NotImplementedError

    def spec(self) -> str:
        """The spec string that ``from_spec`` parses back into this model."""
        return self.name

    def __repr__(self):
        return f"{type(self).__name__}({self.spec()!r})"


def _randn_like(t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    draw = torch.randn(t.shape, generator=generator, dtype=t.dtype, device="cpu")
    return draw.to(t.device)


class NoNoise(NoiseModel):
    """No noise: the measurement is a copy of Hf (spec ``none``).

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import NoNoise, make_generator
    >>> NoNoise()(torch.ones(2), make_generator(0)).tolist(), NoNoise().variance(None)
    ([1.0, 1.0], 0.0)
    """

    name = "none"

    def __call__(self, clean, generator):
        return clean.clone()

    def variance(self, clean):
        """0."""
        return 0.0


class Gaussian(NoiseModel):
    """Additive white Gaussian noise: g = Hf + ε, ε ~ N(0, σ² I).

    Parameters
    ----------
    sigma : float
        Standard deviation σ ≥ 0, in the data's units (e.g. 0.01 for images in [0, 1]).

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, make_generator
    >>> y = Gaussian(0.1)(torch.zeros(1, 1, 64, 64), make_generator(0))
    >>> abs(float(y.std()) - 0.1) < 0.01, Gaussian(0.1).spec()
    (True, 'gaussian:sigma=0.1')
    """

    name = "gaussian"

    def __init__(self, sigma: float):
        self.sigma = check_positive("sigma", sigma, allow_zero=True)

    def __call__(self, clean, generator):
        return clean + self.sigma * _randn_like(clean, generator)

    def variance(self, clean):
        """σ² (constant)."""
        return self.sigma**2

    def spec(self):
        """``gaussian:sigma=<σ>``."""
        return f"gaussian:sigma={self.sigma:g}"


class Poisson(NoiseModel):
    """Photon-counting (shot) noise: g = Poisson(N · Hf) / N.

    With N = ``photons`` the expected count at intensity 1, E g = Hf and Var g = Hf / N:
    the fewer the photons, the noisier. Hf must be ≥ 0.

    Parameters
    ----------
    photons : float
        N > 0, expected photon count at intensity 1.

    Raises
    ------
    InputError
        When called on a negative intensity.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Poisson, make_generator
    >>> y = Poisson(100.0)(torch.full((1, 1, 4, 4), 0.5), make_generator(0))
    >>> bool(torch.allclose(y * 100, (y * 100).round()))  # whole counts
    True
    """

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
        """Hf / N, per entry."""
        return clean.clamp_min(0) / self.photons

    def spec(self):
        """``poisson:photons=<N>``."""
        return f"poisson:photons={self.photons:g}"


class PoissonGaussian(Poisson):
    """Poisson counts plus Gaussian read noise: g = Poisson(N · Hf) / N + ε, ε ~ N(0, σ²).

    Var g = Hf / N + σ², the usual model of a camera sensor's raw data.

    Parameters
    ----------
    photons : float
        N > 0, expected photon count at intensity 1.
    sigma : float
        Read-noise standard deviation σ ≥ 0, in the data's units.

    References
    ----------
    .. [1] A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian
           noise modeling and fitting for single-image raw-data", IEEE Trans. Image Process.
           17(10), 1737–1754, 2008.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import PoissonGaussian
    >>> model = PoissonGaussian(100.0, 0.01)
    >>> round(float(model.variance(torch.tensor(0.5))), 6), model.spec()
    (0.0051, 'poisson-gaussian:photons=100,sigma=0.01')
    """

    name = "poisson-gaussian"

    def __init__(self, photons: float, sigma: float):
        super().__init__(photons)
        self.sigma = check_positive("sigma", sigma, allow_zero=True)

    def __call__(self, clean, generator):
        return self._counts(clean, generator) + self.sigma * _randn_like(clean, generator)

    def variance(self, clean):
        """Hf / N + σ², per entry."""
        return clean.clamp_min(0) / self.photons + self.sigma**2

    def spec(self):
        """``poisson-gaussian:photons=<N>,sigma=<σ>``."""
        return f"poisson-gaussian:photons={self.photons:g},sigma={self.sigma:g}"


class RelativeGaussian(NoiseModel):
    """Additive white Gaussian noise relative to each measurement's peak: σ = r · max |Hf|.

    One σ per image (per batch and channel entry), e.g. CT with r = 0.01: 1 % of each
    sinogram's maximum.

    Parameters
    ----------
    fraction : float
        r ≥ 0.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import RelativeGaussian
    >>> sigma = RelativeGaussian(0.01).sigmas(torch.tensor([[[[1.0, -3.0]]]]))
    >>> tuple(sigma.shape), round(float(sigma), 6)
    ((1, 1, 1, 1), 0.03)
    """

    name = "relative-gaussian"

    def __init__(self, fraction: float):
        self.fraction = check_positive("fraction", fraction, allow_zero=True)

    def sigmas(self, clean: torch.Tensor) -> torch.Tensor:
        """σ = r · max |Hf| of each image, shape (B, C, 1, …, 1)."""
        dims = tuple(range(2, clean.dim()))
        return self.fraction * clean.abs().amax(dim=dims, keepdim=True)

    def __call__(self, clean, generator):
        return clean + self.sigmas(clean) * _randn_like(clean, generator)

    def variance(self, clean):
        """σ² per image, shape (B, C, 1, …, 1)."""
        return self.sigmas(clean) ** 2

    def spec(self):
        """``relative-gaussian:fraction=<r>``."""
        return f"relative-gaussian:fraction={self.fraction:g}"


class GaussianRange(NoiseModel):
    r"""White Gaussian noise of a level drawn per call, log-uniformly in [σ_lo, σ_hi].

    .. math::

        g = Hf + σ ε,\quad \log σ \sim U(\log σ_{lo}, \log σ_{hi}),\; ε \sim N(0, I)

    What a denoiser that must serve every noise level is trained on (each training sample is
    one call). Spec ``gaussian-range:lo=0.01,hi=0.2``.

    Parameters
    ----------
    lo, hi : float
        The range of σ, 0 < lo ≤ hi, in the data's units.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import GaussianRange, make_generator
    >>> y = GaussianRange(0.05, 0.1)(torch.zeros(1, 1, 64, 64), make_generator(0))
    >>> 0.04 < float(y.std()) < 0.11
    True
    """

    name = "gaussian-range"

    def __init__(self, lo: float, hi: float):
        self.lo = check_positive("lo", lo)
        self.hi = check_positive("hi", hi)
        if self.hi < self.lo:
            raise InputError("hi", hi, f"at least lo = {lo}")

    def draw_sigma(self, generator: torch.Generator) -> float:
        """One σ, log-uniform in [lo, hi]."""
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        return math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))

    def __call__(self, clean, generator):
        return clean + self.draw_sigma(generator) * _randn_like(clean, generator)

    def variance(self, clean):
        """E[σ²] = (hi² − lo²) / (2 ln(hi/lo)) (lo² when lo = hi)."""
        if self.hi == self.lo:
            return self.lo**2
        return (self.hi**2 - self.lo**2) / (2 * math.log(self.hi / self.lo))

    def spec(self):
        """``gaussian-range:lo=<lo>,hi=<hi>``."""
        return f"gaussian-range:lo={self.lo:g},hi={self.hi:g}"


MODELS = {"none": NoNoise, "gaussian": Gaussian, "poisson": Poisson,
          "poisson-gaussian": PoissonGaussian, "relative-gaussian": RelativeGaussian,
          "gaussian-range": GaussianRange}


def from_spec(spec: str) -> NoiseModel:
    """Build a noise model from a spec string (the CLI's ``--noise``).

    Parameters
    ----------
    spec : str
        ``none``, ``gaussian:sigma=0.01``, ``poisson:photons=100``,
        ``poisson-gaussian:photons=100,sigma=0.01`` or ``relative-gaussian:fraction=0.01``
        (the mini-language of ``physinv.specs``).

    Returns
    -------
    NoiseModel

    Raises
    ------
    InputError
        For an unknown kind or parameters the model does not take.

    Examples
    --------
    >>> from physinv.noise import from_spec
    >>> from_spec("poisson-gaussian:photons=100,sigma=0.01")
    PoissonGaussian('poisson-gaussian:photons=100,sigma=0.01')
    """
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
    """A CPU ``torch.Generator`` seeded with ``seed``: the one source of noise randomness.

    Parameters
    ----------
    seed : int
        An integer ≥ 0.

    Returns
    -------
    torch.Generator

    Examples
    --------
    >>> from physinv.noise import make_generator
    >>> make_generator(3).initial_seed()
    3
    """
    seed = check_int("seed", seed, minimum=0)
    return torch.Generator(device="cpu").manual_seed(seed)


def simulate(x: torch.Tensor, op, noise: NoiseModel | str | None = None,
             seed: int = 0) -> torch.Tensor:
    """Simulate a measurement g = H x + ε, reproducibly for a seed.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, *op.in_shape)
        The clean image(s).
    op : LinearOperator
        Forward operator H.
    noise : NoiseModel or str, optional
        A noise model or a spec string (see ``from_spec``); default no noise.
    seed : int, default 0
        Seed of the noise (the same measurement on every device).

    Returns
    -------
    torch.Tensor, shape (B, C, *op.out_shape)
        Computed without gradients, in the dtype of ``x``.

    Raises
    ------
    InputError
        For an operator that is not a ``LinearOperator``, an image of the wrong shape, or a
        noise argument that is neither a model nor a spec.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import simulate
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> x = torch.rand(1, 1, 16, 16)
    >>> bool(torch.equal(simulate(x, op, "gaussian:sigma=0.01", seed=3),
    ...                  simulate(x, op, "gaussian:sigma=0.01", seed=3)))
    True
    """
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
    """Robust estimate of the standard deviation of white Gaussian noise (Donoho's MAD rule).

    .. math::

        σ̂ = median(|HH|) / 0.6745

    over the finest diagonal Haar detail coefficients HH = (a − b − c + d) / 2 of the
    non-overlapping 2×2 blocks [[a, b], [c, d]], pooled over the batch. Image content barely
    enters this sub-band, so the estimate needs no clean reference; smooth images give the
    most accurate values (edges and texture bias it upwards).

    Parameters
    ----------
    y : torch.Tensor, shape (..., H, W)
        Noisy data, H, W ≥ 2 (an odd last row / column is dropped).

    Returns
    -------
    float
        σ̂, in the data's units.

    Raises
    ------
    InputError
        For a non-tensor or an image smaller than 2×2.

    References
    ----------
    .. [1] D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
           Biometrika 81(3), 425–455, 1994.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, estimate_sigma, simulate
    >>> from physinv.operators import Identity
    >>> y = simulate(torch.zeros(1, 1, 64, 64), Identity((64, 64)), Gaussian(0.05), seed=1)
    >>> abs(estimate_sigma(y) - 0.05) < 0.005
    True
    """
    if not isinstance(y, torch.Tensor) or y.dim() < 2 or min(y.shape[-2:]) < 2:
        raise InputError("y", y, "a tensor whose last two dimensions are at least 2×2")
    h, w = (y.shape[-2] // 2) * 2, (y.shape[-1] // 2) * 2
    z = y[..., :h, :w].to(torch.float64)
    hh = (z[..., 0::2, 0::2] - z[..., 0::2, 1::2] - z[..., 1::2, 0::2] + z[..., 1::2, 1::2]) / 2
    return float(hh.abs().flatten().median()) / 0.6744897501960817
