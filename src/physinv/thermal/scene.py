"""Seeded thermography scenes with ground truth, on the high-resolution grid, in kelvin.

- ambient background uniform in ``ambient`` (290–310 K) plus a smooth random field of
  ``variation`` K (a Gaussian-filtered white field);
- heated components: separate rectangles ``heating`` K above ambient (sides a fraction
  ``component_size`` of the frame), each with its own emissivity;
- hot-spot defects (discs, ellipses and thin cracks) of contrast ``contrast`` K (0.5–20 K),
  spread by heat diffusion: the heat equation's solution for a diffusion time t is the
  convolution with a Gaussian of σ = √(2αt) pixels (``diffusion`` gives σ). The label map marks
  each defect where its diffused rise is at least half of its peak.

What the camera reads of it (emissivity, reflections) is ``physinv.thermal.radiometry``; the
camera itself is ``physinv.thermal.camera``.

>>> temperature, emissivity, labels, defects = scene_temperature(Scene(shape=(32, 32)), seed=0)
>>> temperature.shape, labels.dtype.name
((32, 32), 'int64')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from physinv.errors import InputError, check_shape


@dataclass(frozen=True)
class Scene:
    """What is filmed: the ranges each scene's features are drawn from (uniformly).

    Parameters
    ----------
    shape : (int, int), optional
        High-resolution grid (H, W) in pixels.
    ambient : (float, float), optional
        Range of the ambient temperature, K.
    variation : float, optional
        Standard deviation of the smooth ambient field, K.
    components : (int, int), optional
        Range of the number of heated rectangular components.
    component_size : (float, float), optional
        Range of a component's side, as a fraction of the frame.
    heating : (float, float), optional
        Range of a component's rise above ambient, K.
    defects : (int, int), optional
        Range of the number of hot-spot defects.
    contrast : (float, float), optional
        Range of a defect's peak rise, K (≥ 0).
    radius : (float, float), optional
        Range of a defect's radius, high-resolution pixels.
    diffusion : (float, float), optional
        Range of the heat-diffusion σ = √(2αt), pixels.
    emissivity_background, emissivity_components : (float, float), optional
        Ranges of the emissivities, inside (0, 1].
    reflected : float, optional
        Reflected (surroundings') temperature, K.
    band : (float, float), optional
        The camera's spectral band, µm.
    radiometry : {"planck", "linear"}, optional
        How the apparent temperature is computed (``physinv.thermal.radiometry``).

    Raises
    ------
    InputError
        If a range is empty or outside its physical domain.

    Examples
    --------
    >>> Scene(shape=(64, 64)).reflected
    293.15
    """

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


def scene_temperature(scene: Scene, seed: int):
    """One seeded scene on the high-resolution grid (see the module docstring).

    Parameters
    ----------
    scene : Scene
        The ranges to draw from.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same scene.

    Returns
    -------
    temperature : numpy.ndarray, shape (H, W), float64
        Object temperature, K.
    emissivity : numpy.ndarray, shape (H, W), float64
        Emissivity map.
    labels : numpy.ndarray, shape (H, W), int64
        1 where a defect's diffused rise is at least half of its peak, else 0.
    defects : list of dict
        Per defect: ``radius`` (px), ``contrast`` (K), ``sigma`` (px), ``pixels`` (labelled).

    Examples
    --------
    >>> t, e, labels, defects = scene_temperature(Scene(shape=(32, 32)), seed=1)
    >>> bool(0.8 <= e.min() and e.max() <= 0.98), len(defects) >= 2
    (True, True)
    """
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
