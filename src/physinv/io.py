"""Image files in and out: PNG, JPEG, TIFF (8/16-bit and float), NPY; atomic writes.

``read_image`` returns a ``(C, H, W)`` float tensor: 8-bit and 16-bit integer images are scaled
to [0, 1] (unless ``raw=True``, which keeps counts, e.g. radiometric 16-bit TIFF), float data
(TIFF / NPY) is returned unchanged, in its physical units. ``write_image`` chooses the format
from the suffix: NPY and TIFF are lossless float32/float64, PNG/JPEG are clipped [0, 1]
previews. ``write_json`` is the one JSON writer (sorted keys, optionally the machine's
``environment()``) of checkpoints, benchmarks and the demo. Every write goes to a temporary
file in the same folder, is fsync-ed and renamed, so a failed write never leaves a
half-written file or destroys an earlier result.

Layer: the ground floor (it imports only ``physinv.errors``), so that every layer — operators
reading a PSF or a mask file, checkpoints, reports — may read and write files.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physinv.errors import InputError
from physinv.paths import (  # noqa: F401  (re-exported: io is where callers look)
    LOCK_NAME,
    LOSSLESS,
    PREVIEW,
    READABLE,
    check_output,
    file_mode,
    lock_folder,
    make_folder,
    unlock_folder,
)

if TYPE_CHECKING:  # torch is imported when a tensor is made, not with this module
    import torch


def _suffix(path: Path, allowed, argument: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InputError(argument, str(path), f"a file ending in one of {allowed}")
    return suffix


def read_image(path, as_gray: bool = False, raw: bool = False,
               argument: str = "path") -> torch.Tensor:
    """Read an image file into a ``(C, H, W)`` tensor (float32, or float64 for float64 data).

    The dtype rule: uint8 and uint16 images are divided by 255 / 65535, to [0, 1]; booleans
    become 0 / 1; float32 and float64 data (TIFF, NPY) are returned unchanged, in their
    physical units (float16 becomes float32). Other integers (signed, 32- and 64-bit) are
    refused unless ``raw``; complex, object, structured, string and date arrays are always
    refused, naming the file and the dtype — nothing is cast silently. An (H, W, C) array
    with 3 or 4 channels is moved to (C, H, W); an alpha channel is dropped with a
    ``UserWarning`` (the CLI prints it as a ``note:`` line).

    Parameters
    ----------
    path : str or Path
        A ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff`` or ``.npy`` file (NPY read without
        pickles).
    as_gray : bool, default False
        Convert an RGB image to one channel, 0.2125 R + 0.7154 G + 0.0721 B (as
        scikit-image's ``rgb2gray``).
    raw : bool, default False
        Keep integer counts as they are (e.g. the digital numbers of a radiometric 16-bit
        TIFF), as float32 (float64 beyond 2²⁴), instead of scaling them to [0, 1]; any
        integer dtype is then accepted.
    argument : str, default "path"
        The name the messages give the file (the CLI passes its own, e.g. ``measurement``).

    Returns
    -------
    torch.Tensor, shape (C, H, W)
        C = 1 or 3; finite values.

    Raises
    ------
    InputError
        For another suffix, a missing file or a folder, an unreadable file, an array that is
        not a 2-D or 3-D image, a dtype the rule above refuses, or NaN / inf values.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "counts.npy"
    >>> np.save(path, np.full((16, 16), 255, dtype=np.uint8))
    >>> x = read_image(path)
    >>> tuple(x.shape), x.dtype, float(x.max()), float(read_image(path, raw=True).max())
    ((1, 16, 16), torch.float32, 1.0, 255.0)
    """
    path = probe_image(path, argument, raw)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        else:
            import imageio.v3 as iio

            arr = iio.imread(path)
    except (OSError, ValueError, SyntaxError) as err:
        raise InputError(argument, str(path), "a readable image file",
                         str(err)[:120]) from None
    return _to_chw(arr, str(path), as_gray, raw, argument)


def probe_image(path, argument: str = "path", raw: bool = False) -> Path:
    """The checks of ``read_image`` that need no pixels, made without importing torch: the
    suffix, an existing file, and from the header alone the size (its working memory,
    ``limits.check_image_size``) and, for NPY, the dtype rule. ``argument`` names the option
    in the messages. Returns ``path`` as a ``Path``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "z.npy"
    >>> np.save(path, np.zeros((4, 4), complex))
    >>> probe_image(path, "measurement")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: measurement: got '.../z.npy', expected real pixel values (its ...
    """
    path = Path(path)
    suffix = _suffix(path, READABLE, argument)
    if not path.exists():
        raise InputError(argument, str(path), "an existing file", "no such file")
    if path.is_dir():
        raise InputError(argument, str(path), "a file, not a folder")
    _check_size(path, suffix, argument, raw)
    return path


def _check_size(path: Path, suffix: str, argument: str, raw: bool) -> None:
    """Read the header only and refuse a picture whose working memory is above what is
    available (``limits.check_image_size``), before its pixels are read."""
    from physinv.limits import check_image_size

    dtype = None
    try:
        if suffix == ".npy":
            header = np.load(path, mmap_mode="r", allow_pickle=False)
            shape, dtype = header.shape, header.dtype
        elif suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.series[0].shape
        else:
            from PIL import Image

            with Image.open(path) as img:
                shape = img.size[::-1]
    except Exception:  # noqa: BLE001 - unreadable headers are refused by the full read
        return
    if dtype is not None:
        _pixels(np.zeros((0,), dtype), str(path), raw, argument)
    if len(shape) >= 2:
        pixels = 1
        for side in shape:
            pixels *= int(side)
        check_image_size(argument, str(path), (pixels // max(int(shape[-1]), 1),
                                             max(int(shape[-1]), 1)))


def _pixels(arr: np.ndarray, source: str, raw: bool, argument: str = "path") -> np.ndarray:
    """The dtype rule of ``read_image``: float32 / float64 kept, float16 → float32, bool → 0 / 1,
    uint8 / uint16 → [0, 1] (or counts with ``raw``); everything else refused by name."""
    kind = arr.dtype
    if kind.fields is not None or kind.kind in "OVSUaMm":
        raise InputError(argument, source, "an array of real pixel values (float, bool or "
                         "unsigned integers)", f"its dtype is {kind}, which is not an image")
    if kind.kind == "c":
        raise InputError(argument, source, "real pixel values",
                         f"its dtype is {kind}: complex data is not converted silently; save "
                         "np.abs(a) or a.real as float")
    if kind == np.bool_:
        return arr.astype(np.float32)
    if kind in (np.uint8, np.uint16):
        return arr.astype(np.float32) if raw else arr.astype(np.float32) / np.iinfo(kind).max
    if kind.kind in "iu":
        if not raw:
            raise InputError(argument, source, "float, bool, uint8 or uint16 pixels",
                             f"its dtype is {kind}: save it as float (values kept) or as "
                             "uint8 / uint16 (scaled to [0, 1])")
        top = float(np.abs(arr).max()) if arr.size else 0.0
        return arr.astype(np.float32 if top <= 2**24 else np.float64)
    if kind not in (np.float32, np.float64):
        return arr.astype(np.float32)  # float16 / longdouble: exact enough, documented
    return arr


def _to_chw(arr: np.ndarray, source: str, as_gray: bool, raw: bool,
             argument: str = "path") -> torch.Tensor:
    arr = _pixels(np.asarray(arr), source, raw, argument)
    if arr.ndim == 3 and arr.shape[-1] == 4 and arr.shape[0] not in (1, 3, 4):
        _alpha_note(source)
    elif arr.ndim == 3 and arr.shape[0] == 4:
        _alpha_note(source)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] not in (1, 3, 4):
        arr = np.moveaxis(arr[..., :3], -1, 0)
    elif arr.ndim == 3 and arr.shape[0] in (1, 3, 4):
        arr = arr[:3]
    else:
        raise InputError(argument, source, "a 2-D image or a 3-D (H, W, C) / (C, H, W) image",
                         f"array of shape {arr.shape}")
    if as_gray and arr.shape[0] == 3:
        weights = np.array([0.2125, 0.7154, 0.0721], dtype=arr.dtype)  # as skimage's rgb2gray
        arr = np.tensordot(weights, arr, axes=1)[None]
    if not np.all(np.isfinite(arr)):
        raise InputError(argument, source, "finite pixel values (no NaN or inf)")
    import torch

    return torch.from_numpy(np.ascontiguousarray(arr))


def _alpha_note(source: str) -> None:
    import warnings

    warnings.warn(f"{source}: the alpha channel is dropped (RGBA read as RGB, then gray "
                  "where a gray image is asked for)", UserWarning, stacklevel=4)


def _as_hwc(x) -> np.ndarray:
    torch = sys.modules.get("torch")
    is_tensor = torch is not None and isinstance(x, torch.Tensor)
    arr = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3:
        if arr.shape[0] == 1:
            arr = arr[0]
        elif arr.shape[0] == 3:
            arr = np.moveaxis(arr, 0, -1)
        else:
            raise InputError("image", arr, "1 or 3 channels to write an image file")
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[-1] == 3):
        raise InputError("image", arr, "an (H, W), (C, H, W) or (1, C, H, W) image")
    return arr


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` then fsync and rename onto ``path`` (same folder).

    The temporary file (``.<name>.<random><suffix>`` beside ``path``) is removed if
    ``write`` or the rename fails, and the error is raised again: ``path`` is either its old
    content or the whole new one, never half written. The file gets the permissions a plain
    ``open()`` would give it (``file_mode()``: 0o644 under umask 022), not ``mkstemp``'s 0o600.

    Parameters
    ----------
    path : str or Path
        The file to (over)write; its folder must exist and be writable.
    write : callable
        ``write(tmp)`` writes the whole content to the file named by the string ``tmp``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Named ``output``, for a folder that does not exist, is a file or is not writable,
        or a ``path`` that is a folder.
    OSError
        When writing fails (a full disk, a permission lost): the message names ``path``,
        says the earlier file is intact and the temporary file removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "note.txt", lambda tmp: Path(tmp).write_text("done")).read_text()
    'done'
    >>> [p.name for p in folder.iterdir()]  # no temporary file is left
    ['note.txt']
    >>> oct((folder / "note.txt").stat().st_mode & 0o777) == oct(file_mode())
    True
    """
    path = Path(path)
    check_output("output", path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())  # after ``write``: some writers replace the file they get
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        kept = "the earlier file is intact" if path.exists() else "nothing was written"
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}; {kept}, "
                      "the temporary file was removed") from err
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_image(path, x, bit_depth: int = 8) -> Path:
    """Write ``x`` to ``path``: NPY / TIFF lossless float, PNG / JPEG a clipped [0, 1] preview.

    The format follows the suffix. NPY stores the array as it is (dtype kept) and TIFF as
    float32 or float64 (other dtypes as float32), both as (H, W) or (H, W, 3); PNG and JPEG
    store round(clip(x, 0, 1) · (2^bit_depth − 1)) as unsigned integers. The write is
    atomic (``atomic_write``).

    Parameters
    ----------
    path : str or Path
        A ``.npy``, ``.tif``/``.tiff``, ``.png`` or ``.jpg``/``.jpeg`` file in an existing
        folder.
    x : torch.Tensor or array_like
        One image of shape (H, W), (1 or 3, H, W) or with leading axes of size 1, e.g.
        (1, 1, H, W); finite.
    bit_depth : {8, 16}, default 8
        Bits per channel of a preview (16 only for PNG); ignored for NPY and TIFF.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        For another suffix, a shape that is not one 1- or 3-channel image, NaN / inf values,
        or a bad ``bit_depth``.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> x = torch.linspace(-0.5, 1.5, 256).reshape(1, 1, 16, 16)
    >>> path = write_image(Path(tempfile.mkdtemp()) / "x.png", x, bit_depth=16)
    >>> float(read_image(path, raw=True).max()), float(read_image(path).min())
    (65535.0, 0.0)
    """
    path = Path(path)
    suffix = _suffix(path, LOSSLESS + PREVIEW, "output")
    arr = _as_hwc(x)
    if not np.all(np.isfinite(arr)):
        raise InputError("image", f"array with {int((~np.isfinite(arr)).sum())} NaN/inf values",
                         "finite values: nothing non-finite is written to disk")
    if suffix == ".npy":
        def write(tmp):
            with open(tmp, "wb") as handle:
                np.save(handle, np.ascontiguousarray(arr))
    elif suffix in (".tif", ".tiff"):
        import tifffile

        data = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32)

        def write(tmp):
            tifffile.imwrite(tmp, data)
    else:
        import imageio.v3 as iio

        if bit_depth not in (8, 16) or (bit_depth == 16 and suffix != ".png"):
            raise InputError("bit_depth", bit_depth, "8, or 16 for PNG")
        top = 255 if bit_depth == 8 else 65535
        kind = np.uint8 if bit_depth == 8 else np.uint16
        data = np.round(np.clip(arr, 0.0, 1.0) * top).astype(kind)

        def write(tmp):
            iio.imwrite(tmp, data, extension=suffix)
    return atomic_write(path, write)


def write_with_preview(path, x) -> list[Path]:
    """Write ``x`` losslessly (NPY/TIFF) and a clipped PNG preview beside it; PNG only as is.

    Parameters
    ----------
    path : str or Path
        The file to write (see ``write_image`` for the suffixes); for a ``.npy`` or TIFF file
        the 8-bit preview goes to the same name with the suffix ``.png``. A PNG or JPEG path
        is written alone.
    x : torch.Tensor or array_like
        One image (see ``write_image``).

    Returns
    -------
    list of Path
        The files written, the lossless one first.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> paths = write_with_preview(Path(tempfile.mkdtemp()) / "x.tif", torch.rand(1, 16, 16))
    >>> [p.name for p in paths]
    ['x.tif', 'x.png']
    """
    path = Path(path)
    written = [write_image(path, x)]
    if path.suffix.lower() in LOSSLESS:
        written.append(write_image(path.with_suffix(".png"), x))
    return written


def environment() -> dict:
    """The machine and library versions a result was computed with (recorded in every
    benchmark and demo JSON): physinv, torch, NumPy, SciPy, scikit-image, Python, the CPU model,
    the number of torch threads, whether freed memory is kept (``physinv.runtime``)."""
    import platform

    import scipy
    import skimage
    import torch

    import physinv
    from physinv.runtime import freed_memory_kept

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"physinv": physinv.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__,
            "python": platform.python_version(), "machine": platform.machine(), "cpu": cpu,
            "threads": torch.get_num_threads(), "device": "cpu",
            "freed_memory_kept": freed_memory_kept()}


def write_json(path, data: dict, *, with_environment: bool = False) -> Path:
    """Write ``data`` as JSON to ``path`` atomically: keys sorted, one-space indent, NaN and
    infinities kept (as ``NaN`` / ``Infinity``, which Python's json reads back); a value JSON
    does not know (a tensor, a path) is a ``TypeError``, never silently turned into text.

    Parameters
    ----------
    path : path-like
        The file (its folder must exist).
    data : dict
        JSON-like values.
    with_environment : bool
        Add ``"environment": environment()`` unless ``data`` has it already.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import json, tempfile
    >>> path = write_json(Path(tempfile.mkdtemp()) / "r.json", {"b": 1, "a": [0.5]})
    >>> path.read_text()
    '{\\n "a": [\\n  0.5\\n ],\\n "b": 1\\n}\\n'
    """
    if with_environment and "environment" not in data:
        data = {**data, "environment": environment()}
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
