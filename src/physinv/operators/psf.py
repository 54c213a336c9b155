"""Point-spread functions: generators (gaussian, box, disk, motion, airy) and loading from files.

Every PSF is a 2-D float64 tensor that sums to 1, centred at ``(h // 2, w // 2)``, sizes in pixels.

>>> from physinv.operators import psf
>>> k = psf.gaussian(2.0, 25)
>>> tuple(k.shape), round(float(k.sum()), 12)
((25, 25), 1.0)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from scipy import special

from physinv.errors import InputError, check_int, check_positive


def _size(size, default: int) -> tuple[int, int]:
    if size is None:
        size = default
    if isinstance(size, int | np.integer) or (isinstance(size, float) and size.is_integer()):
        n = check_int("size", int(size))
        return n, n
    try:
        h, w = size
    except (TypeError, ValueError):
        raise InputError("size", size, "an integer or a pair (h, w) of integers >= 1") from None
    return check_int("size", h), check_int("size", w)


def _grid(shape: tuple[int, int], oversample: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) relative to the PSF centre, optionally supersampled."""
    h, w = shape
    o = oversample
    offs = (np.arange(o) + 0.5) / o - 0.5
    ys = (np.arange(h)[:, None] - h // 2 + offs[None, :]).reshape(-1)
    xs = (np.arange(w)[:, None] - w // 2 + offs[None, :]).reshape(-1)
    return np.meshgrid(ys, xs, indexing="ij")


def _bin(values: np.ndarray, shape: tuple[int, int], oversample: int) -> np.ndarray:
    h, w = shape
    o = oversample
    return values.reshape(h, o, w, o).mean(axis=(1, 3))


def normalize(psf) -> torch.Tensor:
    """Return ``psf`` as a float64 tensor scaled to sum 1 (validated: 2-D, finite, sum > 0)."""
    k = torch.as_tensor(np.asarray(psf) if not isinstance(psf, torch.Tensor) else psf)
    k = k.detach().to(torch.float64).cpu()
    if k.dim() == 3 and k.shape[-1] in (3, 4):
        raise InputError("psf", k, "a single-channel 2-D array",
                         "convert colour with skimage.color.rgb2gray first")
    if k.dim() != 2:
        raise InputError("psf", k, "a 2-D array")
    if not bool(torch.isfinite(k).all()):
        raise InputError("psf", k, "finite values (no NaN or inf)")
    total = float(k.sum())
    if not total > 0:
        raise InputError("psf", f"array with sum {total:g}", "a PSF with a positive sum")
    return k / total


def gaussian(sigma: float, size=None) -> torch.Tensor:
    """Isotropic Gaussian exp(−r²/2σ²), σ in pixels; default size 2⌈3σ⌉+1."""
    sigma = check_positive("sigma", sigma)
    shape = _size(size, 2 * math.ceil(3 * sigma) + 1)
    y, x = _grid(shape)
    return normalize(np.exp(-(x**2 + y**2) / (2 * sigma**2)))


def box(width: int, size=None) -> torch.Tensor:
    """Uniform ``width × width`` box (moving average), centred in a ``size`` support."""
    width = check_int("width", width)
    shape = _size(size, width)
    if width > min(shape):
        raise InputError("width", width, f"at most the support size {shape}")
    k = np.zeros(shape)
    cy, cx = shape[0] // 2, shape[1] // 2
    lo = width // 2
    k[cy - lo: cy - lo + width, cx - lo: cx - lo + width] = 1.0
    return normalize(k)


def disk(radius: float, size=None, oversample: int = 8) -> torch.Tensor:
    """Uniform disk of ``radius`` pixels (geometric defocus), anti-aliased by supersampling."""
    radius = check_positive("radius", radius)
    shape = _size(size, 2 * math.ceil(radius) + 1)
    y, x = _grid(shape, oversample)
    inside = (x**2 + y**2 <= radius**2).astype(np.float64)
    return normalize(_bin(inside, shape, oversample))


def motion(length: float, angle: float = 0.0, size=None, oversample: int = 8) -> torch.Tensor:
    """Linear motion blur: a segment of ``length`` pixels at ``angle`` degrees, rasterised.

    The angle is counter-clockwise from the +x axis (columns), with rows pointing down as in an
    image. The segment is centred on the PSF centre and drawn with sub-pixel (bilinear) weights.
    """
    length = check_positive("length", length)
    try:
        angle = float(angle)
    except (TypeError, ValueError):
        raise InputError("angle", angle, "an angle in degrees") from None
    if not math.isfinite(angle):
        raise InputError("angle", angle, "a finite angle in degrees")
    n = 2 * math.ceil(length / 2) + 1
    shape = _size(size, n)
    cy, cx = shape[0] // 2, shape[1] // 2
    t = np.linspace(-length / 2, length / 2, int(math.ceil(length * oversample)) + 1)
    a = math.radians(angle)
    px = cx + t * math.cos(a)
    py = cy - t * math.sin(a)
    k = np.zeros(shape)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dy, dx, wgt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                        (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < shape[0]) & (xx >= 0) & (xx < shape[1])
        np.add.at(k, (yy[ok], xx[ok]), wgt[ok])
    return normalize(k)


def airy(first_zero: float | None = None, size=None, *, wavelength: float | None = None,
         f_number: float | None = None, pixel_pitch: float | None = None,
         oversample: int = 5) -> torch.Tensor:
    """Airy pattern (2 J₁(v)/v)² of a diffraction-limited circular aperture.

    Give the radius of the first dark ring in pixels (``first_zero``), or the optics:
    ``wavelength`` and ``pixel_pitch`` in the same unit (e.g. µm) and ``f_number``, from which
    ``first_zero = 1.22 λ N / pitch``. Integrated over each pixel by supersampling.
    """
    if first_zero is None:
        if wavelength is None or f_number is None or pixel_pitch is None:
            raise InputError("first_zero", None,
                             "a radius in pixels, or wavelength, f_number and pixel_pitch")
        first_zero = 1.22 * check_positive("wavelength", wavelength) * check_positive(
            "f_number", f_number) / check_positive("pixel_pitch", pixel_pitch)
    first_zero = check_positive("first_zero", first_zero)
    shape = _size(size, 2 * math.ceil(3 * first_zero) + 1)
    y, x = _grid(shape, oversample)
    v = 3.8317059702075125 * np.sqrt(x**2 + y**2) / first_zero  # first zero of J1 at v = 3.8317
    with np.errstate(invalid="ignore", divide="ignore"):
        amp = np.where(v > 1e-12, 2 * special.j1(v) / v, 1.0)
    return normalize(_bin(amp**2, shape, oversample))


def load(path) -> torch.Tensor:
    """Read a PSF from PNG / TIFF / NPY (single channel), normalised to sum 1."""
    from physinv.io import read_image

    img = read_image(path, as_gray=False)
    if img.dim() == 3:
        if img.shape[0] == 1:
            img = img[0]
        else:
            raise InputError("path", str(path), "a single-channel PSF image",
                             "convert colour with skimage.color.rgb2gray first")
    return normalize(img)


GENERATORS = {"gaussian": gaussian, "box": box, "disk": disk, "motion": motion, "airy": airy}


def from_name(name: str, **params) -> torch.Tensor:
    """Build a PSF by generator name (``gaussian``, ``box``, ``disk``, ``motion``, ``airy``)."""
    if name not in GENERATORS:
        raise InputError("psf", name, f"one of {sorted(GENERATORS)} or a file path")
    return GENERATORS[name](**params)


def is_file(name: str) -> bool:
    return Path(name).suffix.lower() in {".png", ".npy", ".tif", ".tiff", ".jpg", ".jpeg"}
