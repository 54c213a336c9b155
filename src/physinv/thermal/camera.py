"""The thermal camera: optics, detector integration, decimation, noise, fixed pattern, counts.

**Optics and detector** — the linear operator ``camera.operator(shape)``: an optics PSF
(Gaussian of a given FWHM, or Airy from f-number, wavelength and pixel pitch) convolved with
the detector's ``factor × factor`` integration box, then decimation by ``factor`` (1, 2, 4).

**Exposure** (``camera.expose``): temporal noise of standard deviation NETD (K); fixed-pattern
noise — per-column offsets (``column_offset`` K) and per-pixel gains (``gain_spread``) acting
around ``t_ref``; dead pixels stuck at 0 or full scale; 14-bit quantisation with a linear count
calibration T = t_min + counts · (t_max − t_min) / (2¹⁴ − 1).

**Flat fields** (``flat_fields``): mean raw frames of uniform blackbodies, the input of the
two-point NUC (``physinv.thermal.nuc``).

>>> camera = Camera(factor=2)
>>> tuple(camera.operator((64, 64)).out_shape)
(32, 32)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from physinv.errors import InputError, check_int, check_positive, check_shape
from physinv.operators import Convolution, SuperResolution
from physinv.operators import psf as psf_lib


@dataclass(frozen=True)
class Camera:
    """The thermal camera: optics, detector, noise and calibration.

    Parameters
    ----------
    factor : int, optional
        Decimation factor (1, 2, 4, ...): the detector pixel is ``factor × factor``
        object-grid pixels, over which it integrates.
    psf : {"gaussian", "airy", "none"}, optional
        Optics PSF; ``"none"`` is a perfect lens (detector integration only).
    fwhm : float, optional
        Gaussian optics FWHM, in low-resolution (detector) pixels.
    f_number : float, optional
        Airy: the lens' f-number.
    wavelength : float, optional
        Airy: wavelength, µm.
    pitch : float, optional
        Airy: detector pixel pitch, µm.
    netd : float, optional
        Noise-equivalent temperature difference: the temporal noise's σ, K (> 0).
    column_offset : float, optional
        Standard deviation of the per-column offsets, K.
    gain_spread : float, optional
        Standard deviation of the per-pixel gains around 1.
    dead_fraction : float, optional
        Fraction of dead pixels (stuck at 0 or full scale), in [0, 0.5).
    bits : int, optional
        Bits of the raw counts (≥ 8).
    t_min, t_max : float, optional
        Temperatures at 0 and full-scale counts, K (the linear calibration).
    t_ref : float, optional
        Temperature around which the gains act, K.
    camera_seed : int, optional
        Seed of the fixed pattern: it belongs to the camera, not to the scene.

    Raises
    ------
    InputError
        If a parameter is outside its domain.

    Examples
    --------
    >>> camera = Camera(factor=4, netd=0.05)
    >>> camera.full_scale, round(camera.kelvin_per_count, 5)
    (16383, 0.0116)
    """

    factor: int = 4
    psf: str = "gaussian"  # "gaussian", "airy" or "none" (detector integration only)
    fwhm: float = 1.0  # optics PSF FWHM, in low-resolution (detector) pixels
    f_number: float = 1.0
    wavelength: float = 10.0  # µm, Airy
    pitch: float = 17.0  # µm, detector pixel pitch, Airy
    netd: float = 0.05  # K
    column_offset: float = 0.1  # K, std of the column offsets
    gain_spread: float = 0.01  # std of the per-pixel gains around 1
    dead_fraction: float = 0.001
    bits: int = 14
    t_min: float = 233.15
    t_max: float = 423.15
    t_ref: float = 293.15
    camera_seed: int = 7  # the fixed pattern belongs to the camera, not to the scene

    def __post_init__(self):
        check_int("factor", self.factor)
        check_positive("netd", self.netd)
        check_positive("fwhm", self.fwhm)
        check_positive("column_offset", self.column_offset, allow_zero=True)
        check_positive("gain_spread", self.gain_spread, allow_zero=True)
        if not 0 <= self.dead_fraction < 0.5:
            raise InputError("dead_fraction", self.dead_fraction, "a fraction in [0, 0.5)")
        if self.psf not in ("gaussian", "airy", "none"):
            raise InputError("psf", self.psf, "'gaussian', 'airy' or 'none'")
        if not 0 < self.t_min < self.t_max:
            raise InputError("t_min/t_max", (self.t_min, self.t_max),
                             "a calibration range 0 < t_min < t_max in K")
        check_int("bits", self.bits, minimum=8)

    @property
    def full_scale(self) -> int:
        """The largest count, 2^bits − 1."""
        return 2**self.bits - 1

    @property
    def kelvin_per_count(self) -> float:
        """The calibration's slope (t_max − t_min) / full_scale, K per count."""
        return (self.t_max - self.t_min) / self.full_scale

    def to_counts(self, kelvin) -> torch.Tensor:
        """Kelvin → counts: round((T − t_min) / kelvin_per_count), clipped to [0, full_scale].

        Parameters
        ----------
        kelvin : array_like, any shape
            Temperatures, K.

        Returns
        -------
        torch.Tensor, the shape of ``kelvin``, int32
            Raw counts.

        Examples
        --------
        >>> Camera().to_counts([233.15, 1e4]).tolist()
        [0, 16383]
        """
        k = torch.as_tensor(kelvin, dtype=torch.float64)
        counts = torch.round((k - self.t_min) / self.kelvin_per_count)
        return counts.clamp(0, self.full_scale).to(torch.int32)

    def to_kelvin(self, counts) -> torch.Tensor:
        """Counts → kelvin: T = t_min + counts · kelvin_per_count.

        Parameters
        ----------
        counts : array_like, any shape
            Raw counts (integer, or finite floats such as averaged frames).

        Returns
        -------
        torch.Tensor, the shape of ``counts``, float64
            Temperatures, K.

        Raises
        ------
        InputError
            If floating-point counts are not finite.

        Examples
        --------
        >>> Camera().to_kelvin(torch.tensor([0])).tolist()
        [233.15]
        """
        c = torch.as_tensor(counts)
        if c.is_floating_point() and not bool(torch.isfinite(c).all()):
            raise InputError("counts", "non-finite values", "finite counts")
        return self.t_min + c.to(torch.float64) * self.kelvin_per_count

    def optics_psf(self) -> torch.Tensor:
        """The optics PSF on the high-resolution grid (sums to 1).

        Gaussian: σ = FWHM · factor / (2 √(2 ln 2)); Airy: first zero at
        1.22 λ N / pitch · factor pixels; ``"none"``: a single 1.

        Returns
        -------
        torch.Tensor, shape (k, k)
            The PSF.

        Examples
        --------
        >>> float(Camera(psf="none").optics_psf().sum())
        1.0
        """
        s = self.factor
        if self.psf == "none":  # a perfect lens: only the detector integrates
            return torch.ones(1, 1, dtype=torch.float64)
        if self.psf == "gaussian":
            sigma = self.fwhm * s / (2 * math.sqrt(2 * math.log(2)))
            return psf_lib.gaussian(sigma)
        first_zero = 1.22 * self.wavelength * self.f_number / self.pitch * s
        return psf_lib.airy(first_zero, 2 * math.ceil(3 * first_zero) + 1)

    def system_psf(self) -> torch.Tensor:
        """Optics ⊛ detector integration box (``factor`` wide), on the high-resolution grid.

        Returns
        -------
        torch.Tensor, shape (k, k), float64
            The system PSF, odd-sized, summing to 1.

        Examples
        --------
        >>> round(float(Camera(factor=2).system_psf().sum()), 12)
        1.0
        """
        optics = self.optics_psf().to(torch.float64)
        if self.factor == 1:
            return optics
        box = psf_lib.box(self.factor).to(torch.float64)
        size = optics.shape[-1] + self.factor + (1 - (optics.shape[-1] + self.factor) % 2)
        full = torch.zeros(size, size, dtype=torch.float64)
        o = (size - optics.shape[-1]) // 2
        full[o: o + optics.shape[-2], o: o + optics.shape[-1]] = optics
        out = torch.from_numpy(ndimage.convolve(full.numpy(), box.numpy(), mode="constant"))
        return out / out.sum()

    def operator(self, shape):
        """H: high-resolution apparent temperature → noise-free detector frame.

        H = S_factor ∘ (system PSF ⊛ ·): a ``Convolution`` for factor 1, else a
        ``SuperResolution`` (convolution then decimation).

        Parameters
        ----------
        shape : (int, int)
            The object grid (H, W), each divisible by ``factor``.

        Returns
        -------
        LinearOperator
            (H, W) → (H / factor, W / factor).

        Raises
        ------
        InputError
            If ``factor`` does not divide ``shape``.

        Examples
        --------
        >>> tuple(Camera(factor=4).operator((64, 64)).out_shape)
        (16, 16)
        """
        shape = check_shape("shape", shape)
        if shape[0] % self.factor or shape[1] % self.factor:
            raise InputError("factor", self.factor, f"a factor that divides the frame {shape}")
        psf = self.system_psf()
        if self.factor == 1:
            return Convolution(psf, shape)
        return SuperResolution(psf, shape, self.factor)

    def fixed_pattern(self, shape_lr):
        """This camera's fixed pattern on a detector of ``shape_lr`` (seeded by ``camera_seed``).

        Parameters
        ----------
        shape_lr : (int, int)
            Detector shape (h, w).

        Returns
        -------
        offsets : torch.Tensor, shape (h, w), float64
            Column offsets, K (one value per column).
        gains : torch.Tensor, shape (h, w), float64
            Per-pixel gains around 1.
        dead : torch.Tensor, shape (h, w), bool
            Dead pixels.
        stuck : torch.Tensor, shape (h, w), int64
            The counts a dead pixel is stuck at (0 or full scale).

        Examples
        --------
        >>> offsets, gains, dead, stuck = Camera().fixed_pattern((4, 6))
        >>> bool((offsets[0] == offsets[-1]).all())
        True
        """
        rng = np.random.default_rng(self.camera_seed)
        h, w = shape_lr
        offsets = np.broadcast_to(rng.normal(0, self.column_offset, (1, w)), (h, w))
        gains = 1 + rng.normal(0, self.gain_spread, (h, w))
        dead = rng.random((h, w)) < self.dead_fraction
        stuck = np.where(rng.random((h, w)) < 0.5, 0, self.full_scale)
        return (torch.from_numpy(offsets.copy()), torch.from_numpy(gains),
                torch.from_numpy(dead), torch.from_numpy(stuck))

    def expose(self, clean_lr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Raw counts of a noise-free low-resolution apparent-temperature frame.

        counts = Q(t_ref + G ⊙ (clean − t_ref) + o + NETD · n), n ~ N(0, I), dead pixels
        replaced by their stuck value.

        Parameters
        ----------
        clean_lr : torch.Tensor, shape (h, w)
            Noise-free detector frame, K.
        generator : torch.Generator
            Source of the temporal noise.

        Returns
        -------
        torch.Tensor, shape (h, w), int32
            Raw counts.

        Examples
        --------
        >>> camera = Camera(dead_fraction=0)
        >>> counts = camera.expose(torch.full((8, 8), 300.0), torch.Generator().manual_seed(0))
        >>> abs(float(camera.to_kelvin(counts).mean()) - 300.0) < 0.1
        True
        """
        offsets, gains, dead, stuck = self.fixed_pattern(tuple(clean_lr.shape[-2:]))
        noise = torch.randn(clean_lr.shape, generator=generator, dtype=torch.float64)
        signal = self.t_ref + gains * (clean_lr.to(torch.float64) - self.t_ref) + offsets
        counts = self.to_counts(signal + self.netd * noise)
        return torch.where(dead, stuck.to(torch.int32), counts)


def flat_fields(camera: Camera, shape_lr, temperatures=(293.15, 323.15), n_frames: int = 16,
                seed: int = 0) -> list[torch.Tensor]:
    """Mean raw frames of uniform blackbodies — the input of a two-point NUC.

    Each frame is ``camera.expose`` of a uniform field at one temperature, through the
    calibration to kelvin, averaged over ``n_frames`` (its temporal noise shrinks by √n).

    Parameters
    ----------
    camera : Camera
        The camera (its fixed pattern is in the frames).
    shape_lr : (int, int)
        Detector shape (h, w).
    temperatures : sequence of float, optional
        Blackbody temperatures, K.
    n_frames : int, optional
        Frames averaged per temperature.
    seed : int, optional
        Seed of the temporal noise.

    Returns
    -------
    list of torch.Tensor, each of shape (h, w), float64
        One mean frame per temperature, K.

    Examples
    --------
    >>> lo, hi = flat_fields(Camera(), (8, 8), n_frames=2)
    >>> bool(hi.mean() - lo.mean() > 25)
    True
    """
    n_frames = check_int("n_frames", n_frames)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in temperatures:
        flat = torch.full(tuple(shape_lr), float(t), dtype=torch.float64)
        frames = torch.stack([camera.to_kelvin(camera.expose(flat, gen))
                              for _ in range(n_frames)])
        out.append(frames.mean(0))
    return out
