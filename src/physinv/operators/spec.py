"""Build an operator from a CLI spec and an image shape (see ``physinv.specs``).

=====================================  ===============================================
spec                                   operator
=====================================  ===============================================
``identity``                           ``Identity(shape)`` (denoising)
``blur:gaussian:sigma=2[,size=25]``    ``Convolution(psf.gaussian(2, 25), shape)``
``blur:motion:length=9,angle=30``      motion blur; also ``box:width=``, ``disk:radius=``,
                                       ``airy:first_zero=`` (add ``boundary=reflect``)
``blur:path/to/psf.npy``               a PSF read from NPY / PNG / TIFF, normalised
``sr:gaussian:sigma=1,factor=2``       ``SuperResolution`` (any PSF as for ``blur``)
``decimate:factor=2``                  ``Decimation``
``mask:ratio=0.5[,seed=0]``            random ``Mask`` keeping ``ratio`` of the pixels
``mask:path/to/mask.png``              a mask read from a file (non-zero = observed)
``radon:angles=60[,start=0,stop=180]`` ``Radon`` with equally spaced angles in degrees
``fan:angles=360[,source=,detector=]`` ``FanBeam`` over [0°, 360°): source / detector distances
                                       in px (default 2·max(H, W), twice that); also
                                       ``spacing=``, ``detectors=``, ``size=`` (N × N images)
``fan:angles=210,arc=210``             a short scan: views over [start, start + arc], both
                                       ends included, arc ≥ 180° + the fan angle
                                       (``short_scan=true``: that minimum); FBP applies
                                       Parker weights
=====================================  ===============================================
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import InputError, check_int, check_memory, check_positive, check_shape
from physinv.limits import check_angles
from physinv.operators import psf as psf_lib
from physinv.operators.base import Identity, LinearOperator
from physinv.operators.blur import Convolution
from physinv.operators.fan import FanBeam, minimum_arc
from physinv.operators.radon import CACHE_BYTES, Radon
from physinv.operators.sampling import Decimation, Mask, SuperResolution
from physinv.specs import parse_spec

KINDS = ("identity", "blur", "sr", "decimate", "mask", "radon", "fan")


def _finite(name: str, value) -> float:
    """``value`` as a finite float, or an ``InputError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number):
        raise InputError(name, value, "a finite number")
    return number


def _psf(words, params, spec):
    if not words:
        raise InputError("op", spec,
                         "a PSF name or file after the kind, e.g. blur:gaussian:sigma=2")
    name = words[0]
    if psf_lib.is_file(name):
        return psf_lib.load(name)
    try:
        return psf_lib.from_name(name, **params)
    except TypeError:
        raise InputError("op", spec, f"valid parameters for the {name!r} PSF",
                         "e.g. gaussian:sigma=2,size=25; motion:length=9,angle=30") from None


def from_spec(spec: str, shape, record: str | None = None) -> LinearOperator:
    """Build the operator described by a spec string for images of ``shape``.

    The operator remembers its spec (``op.spec``) so that checkpoints can rebuild it. The
    mini-language is in the module docstring and ``physinv.specs``.

    Parameters
    ----------
    spec : str
        E.g. ``identity``, ``blur:gaussian:sigma=2``, ``sr:gaussian:sigma=1,factor=2``,
        ``decimate:factor=2``, ``mask:ratio=0.5``, ``radon:angles=60``; a PSF or mask may be
        a file path.
    shape : tuple of int
        Image shape (H, W).
    record : str, optional
        What ``op.spec`` records instead of ``spec`` (e.g. the spec with a file name
        relative to a run folder).

    Returns
    -------
    LinearOperator

    Raises
    ------
    InputError
        For an unknown kind, a missing PSF, or parameters the kind or PSF does not take.

    Examples
    --------
    >>> from physinv.operators.spec import from_spec
    >>> op = from_spec("sr:gaussian:sigma=1,factor=2", (16, 16))
    >>> type(op).__name__, op.out_shape, op.spec
    ('SuperResolution', (8, 8), 'sr:gaussian:sigma=1,factor=2')
    """
    op = _build(spec, shape)
    op.spec = record if record is not None else spec
    return op


def _build(spec: str, shape) -> LinearOperator:
    shape = check_shape("shape", shape)
    kind, words, params = parse_spec(spec, "op")
    if kind not in KINDS:
        raise InputError("op", spec, f"a spec starting with one of {KINDS}")
    if kind == "identity":
        return Identity(shape)
    if kind == "blur":
        boundary = params.pop("boundary", "circular")
        return Convolution(_psf(words, params, spec), shape, boundary=boundary)
    if kind == "sr":
        factor = params.pop("factor", 2)
        boundary = params.pop("boundary", "circular")
        return SuperResolution(_psf(words, params, spec), shape, factor, boundary=boundary)
    if kind == "decimate":
        return Decimation(shape, params.get("factor", 2), params.get("offset", 0))
    if kind == "mask":
        if words:
            from physinv.io import read_image

            m = read_image(words[0])
            if m.dim() == 3:
                m = m[0]
            return Mask((m > 0).to(torch.float64))
        ratio = check_positive("ratio", params.get("ratio", 0.5))
        if ratio > 1:
            raise InputError("ratio", ratio, "a fraction in (0, 1]")
        rng = np.random.default_rng(check_int("seed", params.get("seed", 0), minimum=0))
        return Mask(rng.random(shape) < ratio)
    if kind == "fan":
        return _fan(shape, params)
    # radon
    n = check_int("angles", params.get("angles", 180))
    check_angles("angles", n, shape, CACHE_BYTES)  # refused before allocating: physinv.limits
    start, stop = (_finite(name, params.get(name, default))
                   for name, default in (("start", 0.0), ("stop", 180.0)))
    angles = np.linspace(start, stop, n, endpoint=False)
    return Radon(shape, angles, circle=bool(params.get("circle", True)))


def _fan(shape, params) -> FanBeam:
    n = check_int("angles", params.get("angles", 360))
    side = 2 * max(shape) + 1  # about the default detector's bins
    # refused before allocating: sinograms and their indices, and the cached blocks' budget
    check_memory("angles", n, n * side * 64 + CACHE_BYTES,
                 f"{n} × {side} × 64 bytes + the 768 MiB cache")
    source = check_positive("source", params.get("source", 2.0 * max(shape)))
    detector = check_positive("detector", params.get("detector", 2.0 * source))
    circle = bool(params.get("circle", True))
    spacing = params.get("spacing")
    detectors = params.get("detectors")
    return FanBeam(shape, _fan_angles(shape, params, n, source, circle), source, detector,
                   n_detectors=None if detectors is None else check_int("detectors", detectors),
                   detector_spacing=None if spacing is None else check_positive("spacing",
                                                                                spacing),
                   circle=circle)


def _fan_angles(shape, params, n: int, source: float, circle: bool) -> np.ndarray:
    """n views over [start, stop) (a full scan by default), or over the closed arc
    [start, start + arc] of a short scan (``arc=``; ``short_scan=true``: the minimum)."""
    start = _finite("start", params.get("start", 0.0))
    short = params.get("short_scan", False)
    if not isinstance(short, bool):
        raise InputError("short_scan", short, "true or false")
    if "arc" not in params and not short:
        return np.linspace(start, _finite("stop", params.get("stop", 360.0)), n,
                           endpoint=False)
    if "stop" in params or ("arc" in params and short):
        raise InputError("arc", params.get("arc", "short_scan=true"),
                         "one of stop=, arc= or short_scan=true, not two")
    least = minimum_arc(shape, source, circle)
    arc = least if short else _finite("arc", params["arc"])
    if not least - 1e-9 <= arc <= 360:
        raise InputError("arc", arc, f"an arc from {least:.3f}° (180° + the fan angle "
                         f"{least - 180:.3f}°) to 360°",
                         "a shorter scan leaves lines unmeasured")
    if arc == 360:
        return np.linspace(start, start + 360.0, n, endpoint=False)
    return np.linspace(start, start + arc, n)


def image_shape(spec: str, measurement_shape) -> tuple[int, int]:
    """The image shape that ``spec`` implies for a measurement of ``measurement_shape``.

    Parameters
    ----------
    spec : str
        An operator spec (see ``from_spec``).
    measurement_shape : tuple of int
        The measurement's (h, w): an image, or a sinogram (n_detectors, n_angles).

    Returns
    -------
    tuple of int
        (H, W): ×factor for ``sr`` and ``decimate``, N × N for a sinogram of N detector bins,
        the measurement's shape otherwise.

    Raises
    ------
    InputError
        For ``radon`` with ``circle=false`` (the image size is not determined).

    Examples
    --------
    >>> from physinv.operators.spec import image_shape
    >>> image_shape("sr:gaussian:sigma=1,factor=2", (8, 8))
    (16, 16)
    >>> image_shape("radon:angles=30", (16, 30))
    (16, 16)
    """
    kind, _, params = parse_spec(spec, "op")
    h, w = (int(s) for s in measurement_shape)
    if kind in ("sr", "decimate"):
        factor = check_int("factor", params.get("factor", 2))
        return h * factor, w * factor
    if kind == "fan":
        if "size" not in params:
            raise InputError("op", spec, "fan with size=N to infer the image size",
                             "a fan-beam sinogram does not determine it; add e.g. size=256")
        size = check_int("size", params["size"])
        return size, size
    if kind == "radon":
        if params.get("circle", True) is False:
            raise InputError("op", spec, "radon with circle=true to infer the image size")
        return h, h
    return h, w
