"""Pre-processing of raw thermal frames: two-point non-uniformity correction (NUC) from
flat-field frames, dead-pixel detection and replacement, scene-based column-offset removal.
Counts ↔ kelvin is the camera's linear calibration (``physinv.thermal.camera.Camera``);
``calibration(camera, shape)`` is a camera's NUC from its own simulated flat fields.

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
from physinv.thermal.camera import Camera, flat_fields

FLAT_TEMPERATURES = (293.15, 323.15)  # K: the blackbodies of ``calibration`` (20 °C, 50 °C)


def _frame(name: str, x) -> torch.Tensor:
    t = torch.as_tensor(x).to(torch.float64)
    if t.dim() != 2:
        raise InputError(name, tuple(t.shape), "a 2-D frame (rows, columns)")
    return t


class TwoPointNUC:
    r"""Per-pixel gain and offset from two uniform (blackbody) frames at ``t_lo`` < ``t_hi``.

    .. math:: T = t_\text{lo} + (F - F_\text{lo})
              \frac{t_\text{hi} - t_\text{lo}}{F_\text{hi} - F_\text{lo}}

    per pixel. Pixels whose response (F_hi − F_lo) / (t_hi − t_lo) is more than ``dead_mad``
    robust standard deviations from the median response, or below 0.05, are dead
    (``self.dead``) and replaced by ``replace_dead``.

    Parameters
    ----------
    flat_lo, flat_hi : array_like, shape (h, w)
        Mean raw frames (kelvin through the calibration) of blackbodies at ``t_lo``, ``t_hi``.
    t_lo, t_hi : float
        The blackbodies' temperatures, K (t_hi > t_lo > 0).
    dead_mad : float, optional
        Dead-pixel threshold, in robust standard deviations (1.4826 · MAD) of the response.

    Attributes
    ----------
    gain : torch.Tensor, shape (h, w), float64
        1 / response (1 on dead pixels).
    dead : torch.Tensor, shape (h, w), bool
        Dead pixels.

    Raises
    ------
    InputError
        If the flat fields are not 2-D frames of one shape or t_hi ≤ t_lo.

    Examples
    --------
    >>> lo, hi = torch.full((4, 4), 290.0), torch.full((4, 4), 320.0)
    >>> hi[1, 1] = 290.0  # a pixel that does not respond
    >>> nuc = TwoPointNUC(lo, hi, 290.0, 320.0)
    >>> bool(nuc.dead[1, 1]), int(nuc.dead.sum())
    (True, 1)
    """

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
        """The corrected frame, K: gain and offset applied, dead pixels replaced.

        Parameters
        ----------
        frame : array_like, shape (h, w)
            Raw frame in kelvin (counts through the calibration).

        Returns
        -------
        torch.Tensor, shape (h, w), float64
        """
        frame = _frame("frame", frame)
        if frame.shape != self.flat_lo.shape:
            raise InputError("frame", tuple(frame.shape),
                             f"the flat fields' shape {tuple(self.flat_lo.shape)}")
        corrected = self.t_lo + (frame - self.flat_lo) * self.gain
        return replace_dead(corrected, self.dead)


def calibration(camera: Camera, shape_lr) -> TwoPointNUC:
    """The camera's two-point NUC from 64-frame flat fields at 20 °C and 50 °C.

    The flat fields are ``flat_fields(camera, shape_lr, FLAT_TEMPERATURES, 64, seed=99)``:
    what a laboratory calibration of this camera would record.

    Parameters
    ----------
    camera : Camera
        The camera to calibrate.
    shape_lr : (int, int)
        Detector shape (h, w).

    Returns
    -------
    TwoPointNUC
        The correction for frames of that camera.

    Examples
    --------
    >>> nuc = calibration(Camera(dead_fraction=0.05), (8, 8))
    >>> tuple(nuc.gain.shape), bool(nuc.dead.any())
    ((8, 8), True)
    """
    lo, hi = flat_fields(camera, shape_lr, FLAT_TEMPERATURES, n_frames=64, seed=99)
    return TwoPointNUC(lo, hi, *FLAT_TEMPERATURES)


def replace_dead(frame, dead) -> torch.Tensor:
    """Dead pixels → median of their valid 3×3 neighbours (5×5, then 9×9, where all are dead).

    Parameters
    ----------
    frame : array_like, shape (h, w)
        Frame, K.
    dead : array_like of bool, shape (h, w)
        Pixels to replace.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        A copy of ``frame`` with the dead pixels replaced.

    Examples
    --------
    >>> frame = torch.full((3, 3), 300.0)
    >>> frame[1, 1] = 0.0
    >>> float(replace_dead(frame, frame < 1)[1, 1])
    300.0
    """
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
    """Scene-based dead pixels, when no flat fields are available.

    A pixel is dead where |F − median₃ₓ₃(F)| exceeds ``threshold`` robust standard deviations
    (1.4826 · MAD) of that difference over the frame.

    Parameters
    ----------
    frame : array_like, shape (h, w)
        Frame, K.
    threshold : float, optional
        In robust standard deviations.

    Returns
    -------
    torch.Tensor, shape (h, w), bool

    Examples
    --------
    >>> noise = torch.randn(16, 16, generator=torch.Generator().manual_seed(0))
    >>> frame = 300.0 + 0.05 * noise
    >>> frame[3, 4] = 310.0
    >>> [tuple(p) for p in find_dead(frame).nonzero().tolist()]
    [(3, 4)]
    """
    frame = _frame("frame", frame).numpy()
    diff = frame - ndimage.median_filter(frame, size=3, mode="reflect")
    mad = np.median(np.abs(diff - np.median(diff))) * 1.4826 + 1e-12
    return torch.from_numpy(np.abs(diff) > threshold * mad)


def remove_column_offsets(frame, width: int = 9, passes: int = 3) -> torch.Tensor:
    """Scene-based column-offset (stripe) removal.

    Each column's offset is the median over rows of the frame minus its horizontal running
    median (``width`` columns wide); it is removed and re-estimated ``passes`` times, the
    offsets' mean is kept. It removes column-to-column stripes; an offset profile that varies
    slowly across the frame looks like the scene and stays, and vertical structures narrower
    than ``width`` columns may be attenuated.

    Parameters
    ----------
    frame : array_like, shape (h, w)
        Frame, K.
    width : int, optional
        Width of the running median, columns.
    passes : int, optional
        Estimation passes.

    Returns
    -------
    torch.Tensor, shape (h, w), float64

    Examples
    --------
    >>> frame = torch.full((16, 16), 300.0)
    >>> frame[:, 5] += 0.5  # a stripe
    >>> float(remove_column_offsets(frame).std()) < 0.05
    True
    """
    frame = _frame("frame", frame)
    check_positive("width", width)
    arr = frame.numpy().copy()
    for _ in range(int(passes)):
        smooth = ndimage.median_filter(arr, size=(1, int(width)), mode="reflect")
        offsets = np.median(arr - smooth, axis=0)
        arr -= (offsets - offsets.mean())[None, :]
    return torch.from_numpy(arr)
