"""Reading real thermal frames: 16-bit radiometric TIFF (counts, with the camera's gain and
offset), CSV temperature exports (one value per cell, as thermal-camera desktop software
writes them: ``,`` ``;`` or tab separated, decimal point or comma, °C or K) and NPY.

Every reader returns a float64 (H, W) tensor in kelvin and refuses what it cannot trust:
a TIFF that is not 16-bit integer, ragged or non-numeric CSV rows (naming the line),
temperatures below 0 K or absurdly high.

>>> import numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = path.write_text("20,5;21,0\\n22,5;23,0\\n")
>>> read_csv_temperatures(path, unit="C")[0].tolist()
[293.65, 294.15]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from physinv.errors import InputError

ABSURD_K = 5000.0  # hotter than any scene a thermal camera calibrates for
UNITS = {"K": 0.0, "C": 273.15}


def check_temperatures(name: str, kelvin: torch.Tensor) -> torch.Tensor:
    """Finite, above 0 K and below 5000 K (``ABSURD_K``) — or an error naming the worst value.

    Parameters
    ----------
    name : str
        What the values are (named in the error, e.g. the file).
    kelvin : torch.Tensor, any shape
        Temperatures, K.

    Returns
    -------
    torch.Tensor
        ``kelvin`` itself.

    Raises
    ------
    InputError
        If a value is not finite, not above 0 K or above 5000 K.

    Examples
    --------
    >>> float(check_temperatures("frame", torch.tensor([300.0]))[0])
    300.0
    """
    if not bool(torch.isfinite(kelvin).all()):
        raise InputError(name, "non-finite values", "finite temperatures")
    low, high = float(kelvin.min()), float(kelvin.max())
    if low <= 0:
        raise InputError(name, f"{low:g} K", "temperatures above 0 K (absolute zero); "
                         "wrong unit, gain or offset?")
    if high > ABSURD_K:
        raise InputError(name, f"{high:g} K", f"temperatures below {ABSURD_K:g} K; wrong "
                         "unit, gain or offset?")
    return kelvin


def read_radiometric_tiff(path, gain: float, offset: float, unit: str = "K") -> torch.Tensor:
    """A 16-bit radiometric TIFF of counts, in kelvin: T = offset + gain · counts (in ``unit``).

    Parameters
    ----------
    path : str or Path
        A single-frame 16-bit unsigned TIFF.
    gain : float
        ``unit`` per count.
    offset : float
        Value at 0 counts, in ``unit``.
    unit : {"K", "C"}, optional
        Unit of ``offset + gain · counts``.

    Returns
    -------
    torch.Tensor, shape (H, W), float64
        Temperatures, K.

    Raises
    ------
    InputError
        If the file is missing, not 16-bit unsigned, not 2-D, or gives implausible temperatures.

    Examples
    --------
    >>> import pathlib, tempfile, tifffile
    >>> tiff = pathlib.Path(tempfile.mkdtemp()) / "f.tif"
    >>> tifffile.imwrite(tiff, np.full((2, 2), 30000, np.uint16))
    >>> float(read_radiometric_tiff(tiff, gain=0.01, offset=0.0)[0, 0])
    300.0
    """
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise InputError("path", str(path), "an existing TIFF file")
    arr = tifffile.imread(path)
    if arr.dtype != np.uint16:
        raise InputError("path", f"{path.name} ({arr.dtype}, {arr.dtype.itemsize * 8}-bit)",
                         "a 16-bit unsigned radiometric TIFF (counts)")
    if arr.ndim != 2:
        raise InputError("path", f"{path.name} of shape {arr.shape}", "a single 2-D frame")
    if unit not in UNITS:
        raise InputError("unit", unit, "'K' or 'C'")
    kelvin = torch.from_numpy(offset + gain * arr.astype(np.float64) + UNITS[unit])
    return check_temperatures(str(path), kelvin)


def read_csv_temperatures(path, unit: str = "C") -> torch.Tensor:
    """A CSV temperature export, one temperature per cell, in kelvin.

    Cells are separated by ``,`` ``;`` or tabs, with a decimal point or comma; header lines
    that hold no number (no cell that parses) are skipped, anything else must be a full row of
    numbers as wide as the first.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, with or without BOM).
    unit : {"C", "K"}, optional
        Unit of the cells.

    Returns
    -------
    torch.Tensor, shape (rows, columns), float64
        Temperatures, K.

    Raises
    ------
    InputError
        If the file cannot be read, a cell is not a number or a row is ragged (naming the
        line), or the temperatures are implausible.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = csv.write_text("Frame 1\\n20.5,21\\n22,23\\n")
    >>> read_csv_temperatures(csv, unit="C").shape
    torch.Size([2, 2])
    """
    path = Path(path)
    if unit not in UNITS:
        raise InputError("unit", unit, "'K' or 'C'")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError("path", str(path), "a readable text CSV file", str(err)) from None
    rows, width = [], None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        sep = ";" if ";" in line else ("\t" if "\t" in line else ",")
        cells = [c.strip() for c in line.strip().rstrip(sep).split(sep)]
        if not rows and not any(_is_number(c) for c in cells):
            continue  # a header
        try:
            values = [float(c.replace(",", ".")) for c in cells]
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise InputError(f"{path.name} line {number}", bad, "a number in every cell") \
                from None
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise InputError(f"{path.name} line {number}", f"{len(values)} values",
                             f"{width} values like the first row (ragged rows)")
        rows.append(values)
    if not rows:
        raise InputError("path", str(path), "a CSV holding rows of temperatures")
    kelvin = torch.tensor(rows, dtype=torch.float64) + UNITS[unit]
    return check_temperatures(str(path), kelvin)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def read_frame(path, unit: str = "K", gain: float | None = None,
               offset: float | None = None) -> torch.Tensor:
    """Any supported frame, in kelvin, chosen by the file's suffix.

    ``.tif`` / ``.tiff``: radiometric counts (``read_radiometric_tiff``, needs ``gain`` and
    ``offset``); ``.csv``: ``read_csv_temperatures``; ``.npy``: a 2-D numeric array in ``unit``.

    Parameters
    ----------
    path : str or Path
        The frame.
    unit : {"K", "C"}, optional
        Unit of the values (of offset + gain · counts for a TIFF).
    gain, offset : float, optional
        TIFF only: unit per count and value at 0 counts.

    Returns
    -------
    torch.Tensor, shape (H, W), float64
        Temperatures, K.

    Raises
    ------
    InputError
        For an unsupported suffix, a TIFF without gain/offset, or what the readers refuse.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> npy = pathlib.Path(tempfile.mkdtemp()) / "f.npy"
    >>> np.save(npy, np.full((2, 3), 27.0))
    >>> float(read_frame(npy, unit="C")[0, 0])
    300.15
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        if gain is None or offset is None:
            raise InputError("gain/offset", (gain, offset),
                             "the camera's radiometric gain and offset for a counts TIFF")
        return read_radiometric_tiff(path, gain, offset, unit)
    if suffix == ".csv":
        return read_csv_temperatures(path, unit)
    if suffix == ".npy":
        if not path.is_file():
            raise InputError("path", str(path), "an existing NPY file")
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
            raise InputError("path", f"{path.name} ({arr.dtype}, shape {arr.shape})",
                             "a 2-D numeric array")
        if unit not in UNITS:
            raise InputError("unit", unit, "'K' or 'C'")
        return check_temperatures(str(path), torch.from_numpy(arr.astype(np.float64))
                                  + UNITS[unit])
    raise InputError("path", str(path), "a .tif / .tiff (16-bit counts), .csv or .npy frame")
