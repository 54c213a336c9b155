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

from physinv.errors import InputError, check_int, check_memory, check_positive


def _size(size, default: int) -> tuple[int, int]:
    if size is None:
        size = default
    if isinstance(size, int | np.integer) or (isinstance(size, float) and size.is_integer()):
        n = check_int("size", int(size))
        return _fits(n, n)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise InputError("size", size, "an integer or a pair (h, w) of integers >= 1") from None
    return _fits(check_int("size", h), check_int("size", w))


def _fits(h: int, w: int) -> tuple[int, int]:
    """A support whose 8×-oversampled float64 grid fits in memory (refused before allocating)."""
    check_memory("size", (h, w), h * w * 8 * 64 * 3, "h × w × 8 × 64 × 3 bytes: the 8× "
                 "oversampled float64 grids")
    return h, w


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
    """A PSF scaled to sum 1, validated: h / Σh.

    Parameters
    ----------
    psf : array_like or torch.Tensor, shape (h, w)
        Single-channel, finite, with a positive sum.

    Returns
    -------
    torch.Tensor, shape (h, w), float64, on the CPU

    Raises
    ------
    InputError
        For a colour, non-2-D or non-finite array, or a sum ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from physinv.operators import psf
    >>> psf.normalize(np.ones((2, 2))).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
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
    """Isotropic Gaussian PSF h(r) ∝ exp(−r² / 2σ²), sampled at the pixel centres.

    Parameters
    ----------
    sigma : float
        Standard deviation σ > 0 in pixels.
    size : int or tuple of int, optional
        Support (h, w) in pixels, or one integer for a square; default 2⌈3σ⌉ + 1 (±3σ).

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        Sums to 1, centred at (h // 2, w // 2).

    Examples
    --------
    >>> from physinv.operators import psf
    >>> k = psf.gaussian(1.0)
    >>> tuple(k.shape), round(float(k.sum()), 12), bool(k[3, 3] == k.max())
    ((7, 7), 1.0, True)
    """
    sigma = check_positive("sigma", sigma)
    shape = _size(size, 2 * math.ceil(3 * sigma) + 1)
    y, x = _grid(shape)
    return normalize(np.exp(-(x**2 + y**2) / (2 * sigma**2)))


def box(width: int, size=None) -> torch.Tensor:
    """Uniform ``width`` × ``width`` box PSF (a moving average), centred in its support.

    Parameters
    ----------
    width : int
        Box side in pixels, ≥ 1 and at most the support.
    size : int or tuple of int, optional
        Support (h, w) in pixels, or one integer for a square; default ``width``.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        1/width² inside the box, 0 outside.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> [round(v, 4) for v in psf.box(3, size=5)[2].tolist()]
    [0.0, 0.1111, 0.1111, 0.1111, 0.0]
    """
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
    """Uniform disk PSF of ``radius`` pixels: geometric defocus (a pillbox).

    Each pixel holds the fraction of its area inside the disk r ≤ radius, estimated on an
    ``oversample`` × ``oversample`` sub-grid (anti-aliased edges).

    Parameters
    ----------
    radius : float
        Disk radius > 0 in pixels.
    size : int or tuple of int, optional
        Support (h, w) in pixels, or one integer for a square; default 2⌈radius⌉ + 1.
    oversample : int, default 8
        Sub-samples per pixel and axis.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        Sums to 1.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> k = psf.disk(2.0)
    >>> tuple(k.shape), float(k[0, 0]), bool(k[2, 2] == k.max())
    ((5, 5), 0.0, True)
    """
    radius = check_positive("radius", radius)
    shape = _size(size, 2 * math.ceil(radius) + 1)
    y, x = _grid(shape, oversample)
    inside = (x**2 + y**2 <= radius**2).astype(np.float64)
    return normalize(_bin(inside, shape, oversample))


def motion(length: float, angle: float = 0.0, size=None, oversample: int = 8) -> torch.Tensor:
    """Linear motion-blur PSF: a segment of ``length`` pixels at ``angle`` degrees.

    The segment is centred on the PSF centre and rasterised with sub-pixel (bilinear) weights
    from ``⌈length · oversample⌉ + 1`` points along it. The angle is counter-clockwise from
    the +x axis (columns), with rows pointing down as in an image.

    Parameters
    ----------
    length : float
        Segment length > 0 in pixels.
    angle : float, default 0.0
        Direction in degrees (0: horizontal, 90: vertical).
    size : int or tuple of int, optional
        Support (h, w) in pixels, or one integer for a square; default 2⌈length / 2⌉ + 1.
    oversample : int, default 8
        Points per pixel of length.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        Sums to 1.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> k = psf.motion(5, angle=0)
    >>> tuple(k.shape), round(float(k[3].sum()), 12)  # all of it in the centre row
    ((7, 7), 1.0)
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
    """Airy PSF of a diffraction-limited circular aperture.

    .. math::

        h(r) ∝ (2 J₁(v) / v)²,   v = 3.8317 r / r₀,   r₀ = 1.22 λ N / pitch

    with J₁ the Bessel function of the first kind and r₀ the radius of the first dark ring in
    pixels; integrated over each pixel on an ``oversample`` × ``oversample`` sub-grid.

    Parameters
    ----------
    first_zero : float, optional
        r₀ in pixels; or give ``wavelength``, ``f_number`` and ``pixel_pitch`` instead.
    size : int or tuple of int, optional
        Support (h, w) in pixels, or one integer for a square; default 2⌈3 r₀⌉ + 1.
    wavelength : float, optional
        λ, in the unit of ``pixel_pitch`` (e.g. µm: 10 for thermal infrared).
    f_number : float, optional
        N, the focal ratio of the lens.
    pixel_pitch : float, optional
        Detector pixel pitch, in the unit of ``wavelength``.
    oversample : int, default 5
        Sub-samples per pixel and axis.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        Sums to 1.

    Raises
    ------
    InputError
        Without ``first_zero`` and without all three optics parameters.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> k = psf.airy(wavelength=10.0, f_number=1.0, pixel_pitch=12.2)  # r₀ = 1 pixel
    >>> tuple(k.shape), round(float(k.sum()), 12)
    ((7, 7), 1.0)
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
    """Read a PSF from a PNG / TIFF / NPY file (single channel), normalised to sum 1.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; its values are used as given (linear), then scaled to sum 1.

    Returns
    -------
    torch.Tensor, shape (h, w), float64

    Raises
    ------
    InputError
        For a colour image or an invalid PSF (see ``normalize``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from physinv.operators import psf
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "psf.npy"
    ...     np.save(path, np.ones((3, 3)))
    ...     round(float(psf.load(path).sum()), 12)
    1.0
    """
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
    """Build a PSF by generator name, as the operator specs do.

    Parameters
    ----------
    name : {"gaussian", "box", "disk", "motion", "airy"}
        The generator.
    **params
        Its keyword arguments (e.g. ``sigma=2, size=25``).

    Returns
    -------
    torch.Tensor, shape (h, w), float64

    Raises
    ------
    InputError
        For an unknown name.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> tuple(psf.from_name("disk", radius=1.5).shape)
    (5, 5)
    """
    if name not in GENERATORS:
        raise InputError("psf", name, f"one of {sorted(GENERATORS)} or a file path")
    import inspect

    generator = GENERATORS[name]
    try:
        inspect.signature(generator).bind(**params)
    except TypeError as err:
        raise InputError("psf", f"{name} with {params}", f"valid parameters for {name}"
                         f"{inspect.signature(generator)}", str(err)) from None
    return generator(**params)


def is_file(name: str) -> bool:
    """Whether ``name`` reads as an image file (by its suffix) rather than a generator name.

    Parameters
    ----------
    name : str
        A PSF name from a spec, e.g. ``gaussian`` or ``kernels/psf.npy``.

    Returns
    -------
    bool
        True for the suffixes .png, .npy, .tif, .tiff, .jpg, .jpeg.

    Examples
    --------
    >>> from physinv.operators import psf
    >>> psf.is_file("kernels/psf.npy"), psf.is_file("gaussian")
    (True, False)
    """
    return Path(name).suffix.lower() in {".png", ".npy", ".tif", ".tiff", ".jpg", ".jpeg"}
