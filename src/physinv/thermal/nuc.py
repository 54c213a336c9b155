"""Pre-processing of raw thermal frames: two-point non-uniformity correction (NUC) from
flat-field frames, dead-pixel detection and replacement, scene-based column-offset removal.
Counts ↔ kelvin is the camera's linear calibration (``physinv.data.thermal.Camera``).

>>> import torch
>>> lo, hi = torch.full((4, 4), 290.0), torch.full((4, 4), 320.0)
>>> nuc = TwoPointNUC(lo, hi, 290.0, 320.0)
>>> float(nuc(torch.full((4, 4), 305.0))[0, 0])
305.0
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from physinv.errors import InputError, check_positive


def _frame(name: str, x) -> torch.Tensor:
    t = torch.as_tensor(x).to(torch.float64)
    if t.dim() != 2:
        raise InputError(name, tuple(t.shape), "a 2-D frame (rows, columns)")
    return t


class TwoPointNUC:
    """Per-pixel gain and offset from two uniform (blackbody) frames at ``t_lo`` < ``t_hi``:
    corrected = t_lo + (frame − flat_lo) · (t_hi − t_lo) / (flat_hi − flat_lo). Pixels whose
    response is far from the others' (or flat) are marked dead (``self.dead``)."""

    def __init__(self, flat_lo, flat_hi, t_lo: float, t_hi: float, dead_mad: float = 8.0):
        self.flat_lo, self.flat_hi = _frame("flat_lo", flat_lo), _frame("flat_hi", flat_hi)
        if self.flat_lo.shape != self.flat_hi.shape:
            raise InputError("flat_hi", tuple(self.flat_hi.shape),
                             f"the shape of flat_lo {tuple(self.flat_lo.shape)}")
        if not t_hi > t_lo > 0:
            raise InputError("t_hi", t_hi, f"a temperature above t_lo = {t_lo} K (both > 0)")
        self.t_lo, self.t_hi = float(t_lo), float(t_hi)
        response = (self.flat_hi - self.flat_lo) / (self.t_hi - self.t_lo)
        med = response.median()
        mad = (response - med).abs().median() + 1e-12
        self.dead = ((response - med).abs() > dead_mad * 1.4826 * mad) | (response <= 0.05)
        self.gain = torch.where(self.dead, torch.ones_like(response), 1 / response)

    def __call__(self, frame) -> torch.Tensor:
        frame = _frame("frame", frame)
        if frame.shape != self.flat_lo.shape:
            raise InputError("frame", tuple(frame.shape),
                             f"the flat fields' shape {tuple(self.flat_lo.shape)}")
        corrected = self.t_lo + (frame - self.flat_lo) * self.gain
        return replace_dead(corrected, self.dead)


def replace_dead(frame, dead) -> torch.Tensor:
    """Dead pixels → median of their valid 3×3 neighbours (5×5 where all 8 are dead)."""
    frame = _frame("frame", frame)
    dead = torch.as_tensor(dead, dtype=torch.bool)
    if dead.shape != frame.shape:
        raise InputError("dead", tuple(dead.shape), f"a mask of shape {tuple(frame.shape)}")
    if not bool(dead.any()):
        return frame.clone()
    arr = frame.numpy().copy()
    arr[dead.numpy()] = np.nan
    out = arr.copy()
    for r, c in zip(*np.nonzero(dead.numpy()), strict=True):
        for k in (1, 2, 4):
            window = arr[max(r - k, 0): r + k + 1, max(c - k, 0): c + k + 1]
            if np.isfinite(window).any():
                out[r, c] = np.nanmedian(window)
                break
        else:
            out[r, c] = np.nanmedian(arr)
    return torch.from_numpy(out)


def find_dead(frame, threshold: float = 6.0) -> torch.Tensor:
    """Pixels that differ from their 3×3 median by more than ``threshold`` robust standard
    deviations of that difference — scene-based, when no flat fields are available."""
    frame = _frame("frame", frame).numpy()
    diff = frame - ndimage.median_filter(frame, size=3, mode="reflect")
    mad = np.median(np.abs(diff - np.median(diff))) * 1.4826 + 1e-12
    return torch.from_numpy(np.abs(diff) > threshold * mad)


def remove_column_offsets(frame, width: int = 9, passes: int = 3) -> torch.Tensor:
    """Scene-based column-offset (stripe) removal: each column's offset is the median over
    rows of the frame minus its horizontal running median (``width`` columns wide), removed
    and re-estimated ``passes`` times; the offsets' mean is kept. It removes column-to-column
    stripes; an offset profile that varies slowly across the frame looks like the scene and
    stays, and vertical structures narrower than ``width`` columns may be attenuated."""
    frame = _frame("frame", frame)
    check_positive("width", width)
    arr = frame.numpy().copy()
    for _ in range(int(passes)):
        smooth = ndimage.median_filter(arr, size=(1, int(width)), mode="reflect")
        offsets = np.median(arr - smooth, axis=0)
        arr -= (offsets - offsets.mean())[None, :]
    return torch.from_numpy(arr)
