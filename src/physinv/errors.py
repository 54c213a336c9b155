"""The one exception for bad input, and the small checks every public entry point uses.

Every message names the argument, the value received and what was expected, e.g.
``sigma: got -1.0, expected a positive number``. The CLI prints it without a traceback and
exits with status 2.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the checks that receive tensors, not at start-up
    import torch


class InputError(ValueError):
    """Bad input to a public physinv function: argument, received value and expectation.

    A ``ValueError`` whose message reads ``"{argument}: got {value}, expected {expected}"``
    and, with a hint, ``" ({hint})"`` after it. Tensors and arrays are shown by shape and
    dtype, other values by a ``repr`` cut at 80 characters.

    Parameters
    ----------
    argument : str
        The name of the argument (or option) at fault.
    value : object
        The value received.
    expected : str
        What would have been accepted.
    hint : str, optional
        How to fix it.

    Examples
    --------
    >>> err = InputError("sigma", -1.0, "a positive number", "the noise level")
    >>> str(err), err.argument
    ('sigma: got -1.0, expected a positive number (the noise level)', 'sigma')
    """

    def __init__(self, argument: str, value: object, expected: str, hint: str | None = None):
        self.argument = argument
        self.value = value
        self.expected = expected
        text = f"{argument}: got {_short(value)}, expected {expected}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


def _short(value: object) -> str:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        return f"tensor of shape {tuple(value.shape)} and dtype {dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    if len(text) <= 80:
        return text
    # a long text is most often a path: its end (the file name) says the most
    return text[0] + "..." + text[-76:] if isinstance(value, str) else text[:77] + "..."


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is finite and > 0 (or >= 0 with ``allow_zero``).

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    value : float or object convertible by ``float``
        The value to check.
    allow_zero : bool, default False
        Accept 0.

    Returns
    -------
    float

    Raises
    ------
    InputError
        For a value that is not a number, not finite, negative, or 0 without ``allow_zero``.

    Examples
    --------
    >>> check_positive("lam", "0.5"), check_positive("mu", 0, allow_zero=True)
    (0.5, 0.0)
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, "a number") from None
    ok = math.isfinite(number) and (number >= 0 if allow_zero else number > 0)
    if not ok:
        expected = "a non-negative number" if allow_zero else "a positive number"
        raise InputError(name, value, expected)
    return number


def check_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    value : int or integral number
        The value to check; an integral float such as ``4.0`` is accepted and converted,
        a bool is not an integer here.
    minimum : int, default 1
        The smallest value accepted.

    Returns
    -------
    int

    Raises
    ------
    InputError
        For a non-integral value or one below ``minimum``.

    Examples
    --------
    >>> check_int("n_iter", 4.0), check_int("offset", 0, minimum=0)
    (4, 0)
    """
    torch = sys.modules.get("torch")
    integral = int if torch is None else int | torch.SymInt
    if isinstance(value, bool):
        raise InputError(name, value, f"an integer >= {minimum}")
    if not isinstance(value, integral):
        try:
            if float(value) != int(value):
                raise ValueError
            value = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
            raise InputError(name, value, f"an integer >= {minimum}") from None
    if value < minimum:
        raise InputError(name, value, f"an integer >= {minimum}")
    return int(value)


def check_shape(name: str, shape: Sequence[int]) -> tuple[int, int]:
    """Return ``shape`` as a ``(H, W)`` tuple of positive integers.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    shape : sequence of int
        Two positive integral numbers.

    Returns
    -------
    (int, int)

    Raises
    ------
    InputError
        For anything else (another length, a non-integral or non-positive entry).

    Examples
    --------
    >>> check_shape("shape", [16, 12])
    (16, 12)
    """
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise InputError(name, shape, "an image shape (H, W) of positive integers") from None
    if len(out) != 2 or min(out) < 1 or any(float(s) != int(s) for s in shape):
        raise InputError(name, shape, "an image shape (H, W) of positive integers")
    return out  # type: ignore[return-value]


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Raise if ``tensor`` holds NaN or inf.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    tensor : torch.Tensor
        Any shape and floating or complex dtype.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.

    Raises
    ------
    InputError
        With the number of NaN or inf entries.

    Notes
    -----
    One reduction in the common case: a finite sum proves every entry finite (NaN and inf
    propagate); only when the sum is not finite (which huge finite values can also cause) are
    the entries scanned one by one.

    Examples
    --------
    >>> import torch
    >>> check_finite("y", torch.tensor([1.0, float("nan")]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: y: got tensor of shape (2,) ..., expected finite values (1 NaN ...
    """
    import torch

    total = tensor.sum()
    if bool(torch.isfinite(total)):
        return tensor
    if not bool(torch.isfinite(tensor).all()):
        n_bad = int((~torch.isfinite(tensor)).sum())
        raise InputError(name, tensor, "finite values", f"{n_bad} NaN or inf entries")
    return tensor


def check_image(
    name: str,
    x: object,
    shape: tuple[int, ...] | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """Validate a ``(B, C, H, W)`` floating tensor whose last two dims equal ``shape``.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    x : object
        The value to check: a 4-D floating-point or complex ``torch.Tensor``.
    shape : tuple of int, optional
        The trailing dimensions ``x`` must have (usually (H, W)).
    finite : bool, default True
        Also refuse NaN and inf (``check_finite``).

    Returns
    -------
    torch.Tensor
        ``x`` itself.

    Raises
    ------
    InputError
        For a non-tensor, another number of dimensions, an integer dtype, other trailing
        dimensions or non-finite values, with a hint for the first two.

    Examples
    --------
    >>> import torch
    >>> check_image("y", torch.zeros(2, 1, 16, 16), shape=(16, 16)).shape
    torch.Size([2, 1, 16, 16])
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise InputError(name, x, "a torch.Tensor of shape (B, C, H, W)",
                         "convert with physinv.data.as_tensor")
    if x.dim() != 4:
        raise InputError(name, x, "a 4-D tensor (B, C, H, W)",
                         "add axes with x[None, None] for a single 2-D image")
    if not (x.is_floating_point() or x.is_complex()):
        raise InputError(name, x, "a floating-point tensor (float32 or float64)")
    if shape is not None and tuple(x.shape[-len(shape):]) != tuple(shape):
        raise InputError(name, x, f"trailing dimensions {tuple(shape)}")
    if finite:
        check_finite(name, x)
    return x


def promote_4d(name: str, x) -> torch.Tensor:
    """An (H, W), (C, H, W) or (B, C, H, W) array or tensor as a 4-D tensor (dtype kept).

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    x : array_like or torch.Tensor
        The image(s); a NumPy array is converted without a copy where possible.

    Returns
    -------
    torch.Tensor, shape (B, C, H, W)
        A view with leading axes of size 1 added.

    Raises
    ------
    InputError
        For fewer than 2 or more than 4 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> promote_4d("x", np.zeros((16, 16))).shape
    torch.Size([1, 1, 16, 16])
    """
    import numpy as np
    import torch

    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    if t.dim() == 2:
        t = t[None, None]
    elif t.dim() == 3:
        t = t[None]
    if t.dim() != 4:
        raise InputError(name, t, "an image of shape (H, W), (C, H, W) or (B, C, H, W)")
    return t


def available_memory() -> int:
    """Bytes this machine can still allocate: ``MemAvailable`` of ``/proc/meminfo`` (free
    memory plus reclaimable caches), else the physical memory; capped by ``RLIMIT_AS``."""
    total = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    total = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if total is None:
        import os

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            total = min(total, soft)
    except (ImportError, OSError, ValueError):
        pass
    return int(total)


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.3g} PB"  # pragma: no cover


def check_memory(name: str, value: object, n_bytes: float, formula: str) -> float:
    """Refuse ``value`` before allocating if its estimated memory exceeds what is available.

    Parameters
    ----------
    name : str
        The argument (or CLI option) whose value sets the size.
    value : object
        Its value, shown in the message.
    n_bytes : float
        The estimate, computed by the caller from ``formula``.
    formula : str
        How the estimate was computed, e.g. ``"n × 128 × 128 × 16 bytes"``, in the message.

    Returns
    -------
    float
        ``n_bytes``.

    Raises
    ------
    InputError
        With the estimate, the formula and the limit (``available_memory()``).

    Examples
    --------
    >>> check_memory("n-train", 4, 4 * 128 * 128 * 16, "n × 128 × 128 × 16 bytes")
    1048576
    >>> check_memory("n-train", 10**8, 10**8 * 128 * 128 * 16, "n × 128 × 128 × 16 bytes")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: n-train: got 100000000, expected a size whose memory fits: ...
    """
    limit = available_memory()
    if not n_bytes <= limit:
        raise InputError(name, value, f"a size whose memory fits: an estimated {_size(n_bytes)} "
                         f"({formula}) is above the {_size(limit)} available")
    return n_bytes
