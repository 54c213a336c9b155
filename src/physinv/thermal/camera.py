"""Seeded thermography scenes with ground truth, and the camera that films them.

**Scene** (``Scene``), on the high-resolution grid, in kelvin:

- ambient background uniform in ``ambient`` (290–310 K) plus a smooth random field of
  ``variation`` K (a Gaussian-filtered white field);
- heated components: separate rectangles ``heating`` K above ambient (sides a fraction
  ``component_size`` of the frame), each with its own emissivity;
- hot-spot defects (discs, ellipses and thin cracks) of contrast ``contrast`` K (0.5–20 K),
  spread by heat diffusion: the heat equation's solution for a diffusion time t is the
  convolution with a Gaussian of σ = √(2αt) pixels (``diffusion`` gives σ). The label map marks
  each defect where its diffused rise is at least half of its peak.

**Radiometry**: band radiance L(T) = ∫ Planck(λ, T) dλ over ``band`` (8–14 µm), the camera sees
L_app = ε L(T) + (1 − ε) L(T_refl); the apparent temperature is L⁻¹(L_app). With
``radiometry="linear"`` the linearised form T_app = ε T + (1 − ε) T_refl is used (accurate to
~0.1 K within ±15 K of T_refl, worse beyond — say which one you use).

**Camera** (``Camera``): optics PSF (Gaussian of a given FWHM, or Airy from f-number,
wavelength and pixel pitch) convolved with the detector's ``factor × factor`` integration
box, then decimation by ``factor`` (1, 2, 4) — the linear operator ``camera.operator(shape)``;
temporal noise of standard deviation NETD (K); fixed-pattern noise: per-column offsets
(``column_offset`` K) and per-pixel gains (``gain_spread``) acting around ``t_ref``; dead pixels
stuck at 0 or full scale; 14-bit quantisation with a linear count calibration
T = t_min + counts · (t_max − t_min) / (2¹⁴ − 1).

``simulate(scene, camera, seed)`` returns a ``ThermalFrame`` with the high-resolution true and
apparent temperatures, emissivity, labels, the raw frame (counts and kelvin), the noise-free
low-resolution frame, the fixed-pattern maps, the operator and the noise model.
``ThermalScenes(n, scene, camera, seed)`` holds n scenes for training (apparent temperature,
labels, operator, noise).

>>> frame = simulate(Scene(shape=(64, 64)), Camera(factor=2), seed=0)
>>> tuple(frame.counts.shape), frame.counts.dtype == torch.int32
((32, 32), True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy import ndimage

from physinv.errors import InputError, check_int, check_positive, check_shape
from physinv.noise import Gaussian
from physinv.operators import Convolution, SuperResolution
from physinv.operators import psf as psf_lib

H_PLANCK, C_LIGHT, K_BOLTZMANN = 6.62607015e-34, 2.99792458e8, 1.380649e-23
T_GRID = np.linspace(150.0, 900.0, 15001)  # K, for inverting the band radiance


# --------------------------------------------------------------------------- radiometry
def band_radiance(temperature, band=(8.0, 14.0), n: int = 121) -> np.ndarray:
    """Planck radiance integrated over ``band`` (µm), W m⁻² sr⁻¹, for temperatures in K."""
    t = np.asarray(temperature, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperature", float(np.min(t)), "temperatures above 0 K")
    lam = np.linspace(band[0], band[1], n) * 1e-6
    c1, c2 = 2 * H_PLANCK * C_LIGHT**2, H_PLANCK * C_LIGHT / K_BOLTZMANN
    spectral = c1 / lam**5 / np.expm1(c2 / (lam * t[..., None]))
    return np.trapezoid(spectral, lam, axis=-1)


def inverse_band_radiance(radiance, band=(8.0, 14.0)) -> np.ndarray:
    """Temperature (K) whose band radiance is ``radiance`` (monotone table + interpolation)."""
    table = band_radiance(T_GRID, band)
    return np.interp(np.asarray(radiance, dtype=np.float64), table, T_GRID)


def apparent_temperature(temperature, emissivity, reflected: float, band=(8.0, 14.0),
                         radiometry: str = "planck") -> np.ndarray:
    """What a band camera reads for an object at ``temperature`` with ``emissivity``."""
    t, e = np.asarray(temperature, np.float64), np.asarray(emissivity, np.float64)
    if radiometry == "linear":
        return e * t + (1 - e) * reflected
    if radiometry != "planck":
        raise InputError("radiometry", radiometry, "'planck' or 'linear'")
    radiance = e * band_radiance(t, band) + (1 - e) * band_radiance(reflected, band)
    return inverse_band_radiance(radiance, band)


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Scene:
    """What is filmed (ranges are drawn uniformly per scene)."""

    shape: tuple = (128, 128)
    ambient: tuple = (290.0, 310.0)
    variation: float = 1.5
    components: tuple = (1, 4)
    component_size: tuple = (0.25, 0.4)  # side, as a fraction of the frame
    heating: tuple = (3.0, 25.0)
    defects: tuple = (2, 6)
    contrast: tuple = (0.5, 20.0)
    radius: tuple = (2.0, 8.0)
    diffusion: tuple = (0.5, 2.5)
    emissivity_background: tuple = (0.90, 0.97)
    emissivity_components: tuple = (0.80, 0.98)
    reflected: float = 293.15
    band: tuple = (8.0, 14.0)
    radiometry: str = "planck"

    def __post_init__(self):
        check_shape("shape", self.shape)
        lo, hi = self.ambient
        if not 0 < lo <= hi < 2000:
            raise InputError("ambient", self.ambient, "a range of temperatures in K above 0")
        if min(self.contrast) < 0 or self.contrast[0] > self.contrast[1]:
            raise InputError("contrast", self.contrast, "a range (low, high) of K ≥ 0")
        for name in ("emissivity_background", "emissivity_components"):
            e = getattr(self, name)
            if not 0 < e[0] <= e[1] <= 1:
                raise InputError(name, e, "a range inside (0, 1]")
        if self.reflected <= 0:
            raise InputError("reflected", self.reflected, "a temperature above 0 K")


@dataclass(frozen=True)
class Camera:
    """The thermal camera: optics, detector, noise and calibration."""

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
        return 2**self.bits - 1

    @property
    def kelvin_per_count(self) -> float:
        return (self.t_max - self.t_min) / self.full_scale

    def to_counts(self, kelvin) -> torch.Tensor:
        """Linear calibration, rounded and clipped to the ``bits``-bit range (int32)."""
        k = torch.as_tensor(kelvin, dtype=torch.float64)
        counts = torch.round((k - self.t_min) / self.kelvin_per_count)
        return counts.clamp(0, self.full_scale).to(torch.int32)

    def to_kelvin(self, counts) -> torch.Tensor:
        c = torch.as_tensor(counts)
        if c.is_floating_point() and not bool(torch.isfinite(c).all()):
            raise InputError("counts", "non-finite values", "finite counts")
        return self.t_min + c.to(torch.float64) * self.kelvin_per_count

    def optics_psf(self) -> torch.Tensor:
        """The optics PSF on the high-resolution grid (sums to 1)."""
        s = self.factor
        if self.psf == "none":  # a perfect lens: only the detector integrates
            return torch.ones(1, 1, dtype=torch.float64)
        if self.psf == "gaussian":
            sigma = self.fwhm * s / (2 * math.sqrt(2 * math.log(2)))
            return psf_lib.gaussian(sigma)
        first_zero = 1.22 * self.wavelength * self.f_number / self.pitch * s
        return psf_lib.airy(first_zero, 2 * math.ceil(3 * first_zero) + 1)

    def system_psf(self) -> torch.Tensor:
        """Optics ⊛ detector integration box (``factor`` wide), high-resolution grid."""
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
        """H: high-resolution apparent temperature → noise-free detector frame."""
        shape = check_shape("shape", shape)
        if shape[0] % self.factor or shape[1] % self.factor:
            raise InputError("factor", self.factor, f"a factor that divides the frame {shape}")
        psf = self.system_psf()
        if self.factor == 1:
            return Convolution(psf, shape)
        return SuperResolution(psf, shape, self.factor)

    def fixed_pattern(self, shape_lr):
        """(column offsets K, pixel gains, dead mask, dead values in counts) of this camera."""
        rng = np.random.default_rng(self.camera_seed)
        h, w = shape_lr
        offsets = np.broadcast_to(rng.normal(0, self.column_offset, (1, w)), (h, w))
        gains = 1 + rng.normal(0, self.gain_spread, (h, w))
        dead = rng.random((h, w)) < self.dead_fraction
        stuck = np.where(rng.random((h, w)) < 0.5, 0, self.full_scale)
        return (torch.from_numpy(offsets.copy()), torch.from_numpy(gains),
                torch.from_numpy(dead), torch.from_numpy(stuck))

    def expose(self, clean_lr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Raw counts of a noise-free low-resolution apparent-temperature frame."""
        offsets, gains, dead, stuck = self.fixed_pattern(tuple(clean_lr.shape[-2:]))
        noise = torch.randn(clean_lr.shape, generator=generator, dtype=torch.float64)
        signal = self.t_ref + gains * (clean_lr.to(torch.float64) - self.t_ref) + offsets
        counts = self.to_counts(signal + self.netd * noise)
        return torch.where(dead, stuck.to(torch.int32), counts)


# --------------------------------------------------------------------------- scenes
def _smooth_field(rng, shape, sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return field / (field.std() + 1e-12)


def _defect_mask(rng, shape, radius: float) -> np.ndarray:
    h, w = shape
    cy, cx = rng.uniform(radius + 2, h - radius - 2), rng.uniform(radius + 2, w - radius - 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    kind = rng.choice(["disc", "ellipse", "crack"])
    angle = rng.uniform(0, np.pi)
    u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
    v = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
    if kind == "disc":
        return (u**2 + v**2) <= radius**2
    if kind == "ellipse":
        return (u / radius) ** 2 + (v / (0.5 * radius)) ** 2 <= 1
    return (np.abs(u) <= 2.5 * radius) & (np.abs(v) <= max(1.0, 0.3 * radius))


@dataclass
class ThermalFrame:
    """One simulated acquisition (high-resolution truth, low-resolution raw frame)."""

    temperature: torch.Tensor  # (H, W) K, object temperature
    apparent: torch.Tensor  # (H, W) K, what an ideal camera reads (emissivity applied)
    emissivity: torch.Tensor  # (H, W)
    labels: torch.Tensor  # (H, W) int64, 1 = defect
    clean: torch.Tensor  # (h, w) K, H(apparent): noise-free detector frame
    counts: torch.Tensor  # (h, w) int32, raw
    kelvin: torch.Tensor  # (h, w) K, raw counts through the calibration (FPN still in)
    op: object
    noise: Gaussian
    scene: Scene
    camera: Camera
    seed: int
    defects: list = field(default_factory=list)

    def describe(self) -> dict:
        return {"scene": asdict(self.scene), "camera": asdict(self.camera), "seed": self.seed,
                "operator": type(self.op).__name__, "noise": self.noise.spec(),
                "defects": self.defects}


def scene_temperature(scene: Scene, seed: int):
    """(temperature K, emissivity, labels, defect list) of one scene, high resolution."""
    rng = np.random.default_rng(seed)
    h, w = scene.shape
    ambient = rng.uniform(*scene.ambient)
    temp = ambient + scene.variation * _smooth_field(rng, (h, w), min(h, w) / 6)
    emissivity = np.full((h, w), rng.uniform(*scene.emissivity_background))
    taken = np.zeros((h, w), bool)
    for _ in range(rng.integers(scene.components[0], scene.components[1] + 1)):
        lo, hi = scene.component_size
        for _attempt in range(20):  # components do not overlap (4 px apart at least)
            ch = int(rng.integers(int(lo * h), int(hi * h) + 1))
            cw = int(rng.integers(int(lo * w), int(hi * w) + 1))
            r0, c0 = int(rng.integers(0, h - ch)), int(rng.integers(0, w - cw))
            if not taken[max(r0 - 4, 0): r0 + ch + 4, max(c0 - 4, 0): c0 + cw + 4].any():
                break
        else:
            continue
        block = np.zeros((h, w), bool)
        block[r0: r0 + ch, c0: c0 + cw] = True
        taken |= block
        heat = ndimage.gaussian_filter(block.astype(float) * rng.uniform(*scene.heating), 1.5,
                                       mode="wrap")
        temp += heat
        emissivity[block] = rng.uniform(*scene.emissivity_components)
    labels = np.zeros((h, w), np.int64)
    defects = []
    for _ in range(rng.integers(scene.defects[0], scene.defects[1] + 1)):
        radius = rng.uniform(*scene.radius)
        mask = _defect_mask(rng, (h, w), radius)
        contrast = rng.uniform(*scene.contrast)
        sigma = rng.uniform(*scene.diffusion)
        rise = ndimage.gaussian_filter(mask.astype(float), sigma, mode="wrap")
        if rise.max() <= 0:
            continue
        rise *= contrast / rise.max()
        temp += rise
        labels[rise >= 0.5 * contrast] = 1
        defects.append({"radius": float(radius), "contrast": float(contrast),
                        "sigma": float(sigma), "pixels": int((rise >= 0.5 * contrast).sum())})
    return temp, emissivity, labels, defects


def simulate(scene: Scene | None = None, camera: Camera | None = None,
             seed: int = 0) -> ThermalFrame:
    """One seeded acquisition; see the module docstring."""
    scene = scene or Scene()
    camera = camera or Camera()
    seed = check_int("seed", seed, minimum=0)
    temp, emissivity, labels, defects = scene_temperature(scene, seed)
    apparent = apparent_temperature(temp, emissivity, scene.reflected, scene.band,
                                    scene.radiometry)
    op = camera.operator(scene.shape)
    apparent_t = torch.from_numpy(apparent)
    clean = op(apparent_t[None, None], check=False)[0, 0]
    counts = camera.expose(clean, torch.Generator().manual_seed(seed * 7919 + 1))
    return ThermalFrame(temperature=torch.from_numpy(temp), apparent=apparent_t,
                        emissivity=torch.from_numpy(emissivity), labels=torch.from_numpy(labels),
                        clean=clean, counts=counts, kelvin=camera.to_kelvin(counts), op=op,
                        noise=Gaussian(camera.netd), scene=scene, camera=camera, seed=seed,
                        defects=defects)


def flat_fields(camera: Camera, shape_lr, temperatures=(293.15, 323.15), n_frames: int = 16,
                seed: int = 0) -> list[torch.Tensor]:
    """Mean raw frames (kelvin through the calibration) of uniform blackbodies at
    ``temperatures``, averaged over ``n_frames`` — the input of a two-point NUC."""
    n_frames = check_int("n_frames", n_frames)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in temperatures:
        flat = torch.full(tuple(shape_lr), float(t), dtype=torch.float64)
        frames = torch.stack([camera.to_kelvin(camera.expose(flat, gen))
                              for _ in range(n_frames)])
        out.append(frames.mean(0))
    return out


class ThermalScenes:
    """``n`` seeded scenes for training: apparent temperatures (N, 1, H, W) in K, labels
    (N, 1, H, W), the camera operator and its temporal noise (FPN is corrected before)."""

    def __init__(self, n: int, scene: Scene | None = None, camera: Camera | None = None,
                 seed: int = 0):
        self.n = check_int("n", n)
        self.scene = scene or Scene()
        self.camera = camera or Camera()
        self.seed = seed
        temps, labels = [], []
        for i in range(self.n):
            t, e, lab, _ = scene_temperature(self.scene, seed + i)
            temps.append(apparent_temperature(t, e, self.scene.reflected, self.scene.band,
                                              self.scene.radiometry))
            labels.append(lab)
        self.apparent = torch.from_numpy(np.stack(temps))[:, None]
        self.labels = torch.from_numpy(np.stack(labels))[:, None]
        self.op = self.camera.operator(self.scene.shape)
        self.noise = Gaussian(self.camera.netd)

    def __len__(self) -> int:
        return self.n
