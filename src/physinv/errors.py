"""The one exception for bad input, and the small checks every public entry point uses.

Every message names the argument, the value received and what was expected, e.g.
``sigma: got -1.0, expected a positive number``. The CLI prints it without a traceback and
exits with status 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class InputError(ValueError):
    """Bad input to a public physinv function: argument, received value and expectation."""

    def __init__(self, argument: str, value: object, expected: str, hint: str | None = None):
        self.argument = argument
        self.value = value
        self.expected = expected
        text = f"{argument}: got {_short(value)}, expected {expected}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


def _short(value: object) -> str:
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        return f"tensor of shape {tuple(value.shape)} and dtype {dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is finite and > 0 (or >= 0 with ``allow_zero``)."""
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
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | torch.SymInt):
        try:
            if float(value) != int(value):
                raise ValueError
            value = int(value)
        except (TypeError, ValueError):
            raise InputError(name, value, f"an integer >= {minimum}") from None
    if value < minimum:
        raise InputError(name, value, f"an integer >= {minimum}")
    return int(value)


def check_shape(name: str, shape: Sequence[int]) -> tuple[int, int]:
    """Return ``shape`` as a ``(H, W)`` tuple of positive integers."""
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise InputError(name, shape, "an image shape (H, W) of positive integers") from None
    if len(out) != 2 or min(out) < 1 or any(float(s) != int(s) for s in shape):
        raise InputError(name, shape, "an image shape (H, W) of positive integers")
    return out  # type: ignore[return-value]


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Raise if ``tensor`` holds NaN or inf.

    One reduction in the common case: a finite sum proves every entry finite (NaN and inf
    propagate); only when the sum is not finite (which huge finite values can also cause) are
    the entries scanned one by one.
    """
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
    """Validate a ``(B, C, H, W)`` floating tensor whose last two dims equal ``shape``."""
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
    """An (H, W), (C, H, W) or (B, C, H, W) array or tensor as a 4-D tensor (dtype kept)."""
    import numpy as np

    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    if t.dim() == 2:
        t = t[None, None]
    elif t.dim() == 3:
        t = t[None]
    if t.dim() != 4:
        raise InputError(name, t, "an image of shape (H, W), (C, H, W) or (B, C, H, W)")
    return t
