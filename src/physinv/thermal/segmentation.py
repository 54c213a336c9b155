"""Hot-defect segmentation of restored temperature maps.

Three ways: ``threshold_segment`` on a restored map (local contrast above the grey opening of
the map by a square, blobs above 1 K kept at half their peak — the FWHM rule of thermographic
defect sizing; with a variance, the probability of exceeding the threshold), ``potts_segment``
(Gauss–Markov–Potts joint restoration-segmentation of the contrast) and a small U-Net trained
by ``train_segmenter`` (on a restoration's contrast, or on H'g of the raw frame).
``segment`` is the thresholding ``physinv ir segment`` runs.

>>> x = torch.full((1, 1, 40, 40), 300.0, dtype=torch.float64)
>>> x[0, 0, 18:22, 18:22] += 5.0  # a 4×4 hot spot, 5 K
>>> labels, _ = threshold_segment(x)
>>> int(labels.sum())
16
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage
from scipy.special import erf

from physinv.errors import InputError
from physinv.nets.segment import SegmentationUNet
from physinv.train import Pairs
from physinv.train.recipe import train_network

DETECT_K = 1.0  # a blob is a defect candidate where its local contrast exceeds 1 K ...
CLUTTER = 4.0  # ... or 4 robust standard deviations of the contrast map (training scenes)
OPENING = 31  # grey-opening square (high-resolution px): wider than any defect


def local_contrast(x: torch.Tensor, size: int = OPENING) -> torch.Tensor:
    r"""Temperature above the grey opening of the map by a ``size``-wide square.

    .. math:: c = x - (x \ominus B) \oplus B

    (B the square, periodic boundaries): structures narrower than the square (defects) are
    removed from the background, axis-aligned heated components wider than it (packages,
    plates) are kept, corners included.

    Parameters
    ----------
    x : torch.Tensor, shape (1, 1, H, W)
        Temperature map, K.
    size : int, optional
        Side of the square, pixels.

    Returns
    -------
    torch.Tensor, shape (1, 1, H, W), float64
        Local contrast, K (≥ 0).

    Examples
    --------
    >>> x = torch.full((1, 1, 40, 40), 300.0, dtype=torch.float64)
    >>> x[0, 0, 20, 20] = 302.0
    >>> float(local_contrast(x).max())
    2.0
    """
    arr = x[0, 0].numpy()
    return torch.from_numpy(arr - ndimage.grey_opening(arr, size=(size, size),
                                                       mode="wrap"))[None, None]


def threshold_segment(x: torch.Tensor, variance: torch.Tensor | None = None,
                      detect: float = DETECT_K, clutter: float = CLUTTER):
    """Defects as blobs of local contrast above a threshold, each sized at half its peak.

    The threshold is ``detect`` K or, when the map's background clutter is stronger, the
    contrast's median plus ``clutter`` robust standard deviations (the ambient field's bumps
    also leave contrast). Each blob above it is labelled where the contrast reaches half the
    blob's own peak (the FWHM rule). With a variance σ², the probability of exceeding the
    threshold is P = Φ((c − level) / σ).

    Parameters
    ----------
    x : torch.Tensor, shape (1, 1, H, W)
        Restored temperature map, K.
    variance : torch.Tensor, shape (1, 1, H, W), optional
        Its variance, K².
    detect : float, optional
        Lowest threshold, K.
    clutter : float, optional
        Robust standard deviations of the contrast above its median.

    Returns
    -------
    labels : torch.Tensor, shape (H, W), int64
        1 = defect.
    probability : torch.Tensor, shape (H, W), float64, or None
        P(contrast > threshold) when ``variance`` is given.

    Examples
    --------
    >>> x = torch.full((1, 1, 40, 40), 300.0, dtype=torch.float64)
    >>> x[0, 0, 10:13, 10:13] += 3.0
    >>> labels, p = threshold_segment(x, torch.full_like(x, 0.01))
    >>> int(labels.sum()), round(float(p[11, 11]), 3)
    (9, 1.0)
    """
    c = local_contrast(x)[0, 0].numpy()
    med = float(np.median(c))
    spread = 1.4826 * float(np.median(np.abs(c - med)))
    level = max(detect, med + clutter * spread)
    blobs, n = ndimage.label(c > level)
    labels = np.zeros_like(blobs)
    if n:
        index = np.arange(1, n + 1)
        peaks = ndimage.maximum(c, blobs, index=index)
        where = ndimage.maximum_position(c, blobs, index=index)
        for peak, at in zip(peaks, where, strict=True):
            half, _ = ndimage.label(c >= 0.5 * peak)
            labels |= half == half[at]  # the half-maximum region around the blob's peak
    prob = None
    if variance is not None:
        sd = variance[0, 0].sqrt().numpy()
        prob = torch.from_numpy(0.5 * (1 + erf((c - level) / (math.sqrt(2) * sd))))
    return torch.from_numpy(labels.astype(np.int64)), prob


def segment(x: torch.Tensor, variance: torch.Tensor | None, detect: float = DETECT_K):
    """``threshold_segment`` with a checked ``detect`` — what ``physinv ir segment`` runs.

    Parameters
    ----------
    x : torch.Tensor, shape (1, 1, H, W)
        Restored temperature map, K.
    variance : torch.Tensor, shape (1, 1, H, W), or None
        Its variance, K².
    detect : float, optional
        Contrast threshold, K (> 0).

    Returns
    -------
    labels : torch.Tensor, shape (H, W), int64
    probability : torch.Tensor, shape (H, W), or None
        P(local contrast > ``detect``) when a variance is given.

    Raises
    ------
    InputError
        If ``detect`` is not positive.

    Examples
    --------
    >>> x = torch.full((1, 1, 40, 40), 300.0, dtype=torch.float64)
    >>> int(segment(x, None)[0].sum())
    0
    """
    if detect <= 0:
        raise InputError("detect", detect, "a positive contrast in K")
    return threshold_segment(x, variance, detect)


def potts_segment(g: torch.Tensor, op, reference: torch.Tensor):
    """Gauss–Markov–Potts segmentation of the contrast, from the measurement.

    The background is ``reference`` minus its local contrast (its smooth part); the Potts
    model with two classes (β = 1, ``physinv.solvers.potts``) is fitted to
    g − H(background); the warmer of the two classes is the defect class.

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w)
        Corrected frame, K.
    op : LinearOperator
        The camera's operator H.
    reference : torch.Tensor, shape (1, 1, H, W)
        A restoration of the frame (e.g. Tikhonov or the Gaussian posterior's mean), K.

    Returns
    -------
    torch.Tensor, shape (H, W), int64
        1 = defect.
    """
    from physinv.solvers.potts import potts

    background = reference - local_contrast(reference)
    result = potts(g - op(background, check=False), op, n_classes=2, beta=1.0)
    lab = result.labels[0, 0]
    means = [float(result.x[0, 0][lab == k].mean()) if bool((lab == k).any()) else -1e9
             for k in range(2)]
    return (lab == int(np.argmax(means))).to(torch.int64)


def train_segmenter(inputs: torch.Tensor, labels: torch.Tensor, op, budget_s: float,
                    seed: int = 0, input_kind: str = "measurement"):
    """A small U-Net (``SegmentationUNet``, width 16, 2 levels) trained to find defects.

    Fitted by ``physinv.train.fit`` with the segmentation loss (binary cross-entropy + soft
    Dice; a quarter of the pairs for validation, by Dice) until ``budget_s`` runs out.

    Parameters
    ----------
    inputs : torch.Tensor, shape (N, 1, h, w)
        The network's inputs: a restoration's local contrast (``op`` = Identity) or
        normalised frames (``op`` = the camera, ``input_kind="adjoint"``).
    labels : torch.Tensor, shape (N, 1, H, W)
        True defect maps (0 / 1).
    op : LinearOperator
        The operator the network's input goes through.
    budget_s : float
        Training time, s.
    seed : int, optional
        Seed of the initialisation and of the training.
    input_kind : str, optional
        ``SegmentationUNet``'s ``input`` (``"measurement"``, ``"adjoint"``, ...).

    Returns
    -------
    SegmentationUNet
        The trained network: defect where its logit is > 0.
    """
    torch.manual_seed(seed)
    net = SegmentationUNet(op, width=16, levels=2, input=input_kind)
    data = Pairs(inputs.float(), labels.float(), op)
    train_network(None, data, 0.0, "quick", net=net, loss="segmentation", epochs=1000,
                  max_time=budget_s, seed=seed, lr=2e-3)
    return net
