"""Many frames in: a folder of frames, a multi-page TIFF or an ``.npy`` stack (N, H, W).

``read_stack`` returns the named frames in kelvin, all checked before anything is restored
(so that a refused stack writes nothing): one shape, one bit depth, at least one frame.

>>> import pathlib, tempfile
>>> from physinv.thermal.camera import Camera
>>> npy = pathlib.Path(tempfile.mkdtemp()) / "s.npy"
>>> np.save(npy, np.full((3, 4, 5), 300.0))
>>> [name for name, _ in read_stack(npy, Camera())]
['s_000', 's_001', 's_002']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from physinv.errors import InputError
from physinv.thermal.readers import UNITS, check_temperatures

FRAME_SUFFIXES = (".tif", ".tiff", ".csv", ".npy")


def is_stack(path: Path) -> bool:
    """True for a folder, a TIFF of several pages or a 3-D ``.npy``."""
    path = Path(path)
    if path.is_dir():
        return True
    if path.suffix.lower() in (".tif", ".tiff") and path.is_file():
        import tifffile

        with tifffile.TiffFile(path) as tif:  # pages, or one page of (N, H, W) samples
            return len(tif.pages) > 1 or len(tif.pages[0].shape) == 3
    if path.suffix.lower() == ".npy" and path.is_file():
        return np.load(path, mmap_mode="r", allow_pickle=False).ndim == 3
    return False


def _tiff_pages(path: Path, gain: float, offset: float, unit: str):
    import tifffile

    frames = []
    with tifffile.TiffFile(path) as tif:
        for i, page in enumerate(tif.pages):
            arr = page.asarray()
            if arr.dtype != np.uint16:
                raise InputError("frames", f"{path.name} page {i} ({arr.dtype}, "
                                 f"{arr.dtype.itemsize * 8}-bit)",
                                 "16-bit unsigned counts on every page")
            for a in arr.reshape(-1, *arr.shape[-2:]):
                kelvin = torch.from_numpy(offset + gain * a.astype(np.float64) + UNITS[unit])
                k = len(frames)
                frames.append((f"{path.stem}_{k:03d}",
                               check_temperatures(f"{path.name} frame {k}", kelvin)))
    return frames


def _npy_stack(path: Path, unit: str):
    arr = np.load(path, allow_pickle=False)
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError("frames", f"{path.name} ({arr.dtype})", "a numeric (N, H, W) stack")
    return [(f"{path.stem}_{i:03d}",
             check_temperatures(f"{path.name} frame {i}",
                                torch.from_numpy(a.astype(np.float64)) + UNITS[unit]))
            for i, a in enumerate(arr)]


def _folder(path: Path, read_one):
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not files:
        raise InputError("frames", str(path), "a folder holding .tif / .csv / .npy frames")
    kinds = {p.suffix.lower().replace(".tiff", ".tif") for p in files}
    if len(kinds) > 1:
        raise InputError("frames", f"{path.name} holds {sorted(kinds)} files",
                         "frames of one format")
    return [(p.stem, read_one(p)) for p in files]


def read_stack(path, camera, unit: str = "K", gain: float | None = None,
               offset: float | None = None) -> list[tuple[str, torch.Tensor]]:
    """The frames of a folder, multi-page TIFF or (N, H, W) ``.npy``, in kelvin, checked.

    Parameters
    ----------
    path : Path
        A folder (its .tif / .csv / .npy frames, sorted by name), a multi-page 16-bit TIFF or
        a 3-D ``.npy``.
    camera : Camera
        Its count calibration is the TIFF default (as ``pipeline.read_raw``).
    unit : {"K", "C"}, optional
        Unit of the values.
    gain, offset : float, optional
        TIFF: unit per count and value at 0 counts.

    Returns
    -------
    list of (str, torch.Tensor of shape (h, w), float64)
        Named frames, K.

    Raises
    ------
    InputError
        For an empty folder, a page or file of another bit depth, frames of different
        shapes (naming the file and its shape), or what the frame readers refuse.
    """
    from physinv.thermal.pipeline import read_raw

    path = Path(path)
    if unit not in UNITS:
        raise InputError("unit", unit, "'K' or 'C'")
    gain = camera.kelvin_per_count if gain is None else gain
    offset = camera.t_min if offset is None else offset
    if path.is_dir():
        frames = _folder(path, lambda p: read_raw(p, camera, unit, gain, offset))
    elif path.suffix.lower() in (".tif", ".tiff"):
        frames = _tiff_pages(path, gain, offset, unit)
    elif path.suffix.lower() == ".npy":
        frames = _npy_stack(path, unit)
    else:
        raise InputError("frames", str(path), "a folder, a multi-page TIFF or an .npy stack")
    first_name, first = frames[0]
    for name, frame in frames[1:]:
        if frame.shape != first.shape:
            raise InputError("frames", f"{name} of shape {tuple(frame.shape)}",
                             f"the shape {tuple(first.shape)} of {first_name} (one camera)")
    return frames
