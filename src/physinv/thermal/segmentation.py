"""Hot-defect segmentation of thermal frames.

Four ways: ``component_segment`` (the default of ``physinv ir segment``: the background — the
ambient field and the heated components, ``physinv.thermal.background`` — fitted to the
frame, the residual restored, thresholded at the larger of ``detect`` K and ``k_noise`` robust
standard deviations of the residual map, each blob sized at a fraction of its peak; a
component's edge is part of the background, not a defect), ``threshold_segment`` on a restored
map (local contrast above the grey opening of the map by a square, blobs above 1 K kept at half
their peak — the FWHM rule of thermographic defect sizing; with a variance, the probability of
exceeding the threshold), ``potts_segment`` (Gauss–Markov–Potts joint restoration-segmentation
of the contrast) and a small U-Net trained by ``train_segmenter``. ``segment`` is what
``physinv ir segment`` runs; ``detection_counts`` scores a map defect by defect.

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

THRESHOLD_K = 1.0  # threshold_segment: a blob is a candidate where its contrast exceeds 1 K ...
CLUTTER = 4.0  # ... or 4 robust standard deviations of the contrast map (training scenes)
OPENING = 31  # grey-opening square (high-resolution px): wider than any defect
# component_segment, chosen on the ir_segment training scenes (benchmarks/ir_segment.py):
DETECT_K = 1.5  # K: lowest defect contrast
K_NOISE = 6.0  # ... or this many robust standard deviations of the residual map
SIZE_FRACTION = 0.45  # a defect is where its residual exceeds this fraction of its peak


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


def size_blobs(c: np.ndarray, level: float, fraction: float = 0.5) -> np.ndarray:
    """Blobs of ``c`` above ``level``, each kept where ``c`` reaches ``fraction`` of its peak.

    .. math:: D = \\bigcup_{B \\in \\text{blobs}(c > \\ell)}
              \\text{the component of } \\{c \\ge f \\max_B c\\} \\text{ around } \\arg\\max_B c

    Parameters
    ----------
    c : numpy.ndarray, shape (H, W)
        Contrast map, K.
    level : float
        Detection threshold, K.
    fraction : float, optional
        Sizing fraction f of each blob's peak (0.5: the FWHM rule).

    Returns
    -------
    numpy.ndarray, shape (H, W), bool

    Examples
    --------
    >>> c = np.zeros((9, 9)); c[3:6, 3:6] = 1.0; c[4, 4] = 4.0
    >>> int(size_blobs(c, 2.0).sum()), int(size_blobs(c, 2.0, 0.2).sum())
    (1, 9)
    """
    blobs, n = ndimage.label(c > level)
    labels = np.zeros(c.shape, bool)
    if n:
        index = np.arange(1, n + 1)
        peaks = ndimage.maximum(c, blobs, index=index)
        where = ndimage.maximum_position(c, blobs, index=index)
        for peak, at in zip(peaks, where, strict=True):
            half, _ = ndimage.label(c >= fraction * peak)
            labels |= half == half[at]  # the region around the blob's peak
    return labels


def threshold_segment(x: torch.Tensor, variance: torch.Tensor | None = None,
                      detect: float = THRESHOLD_K, clutter: float = CLUTTER):
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
    labels = size_blobs(c, level, 0.5)
    prob = None
    if variance is not None:
        sd = variance[0, 0].sqrt().numpy()
        prob = torch.from_numpy(0.5 * (1 + erf((c - level) / (math.sqrt(2) * sd))))
    return torch.from_numpy(labels.astype(np.int64)), prob


def component_segment(g: torch.Tensor, op, x: torch.Tensor | None = None,
                      detect: float = DETECT_K, k_noise: float = K_NOISE,
                      fraction: float = SIZE_FRACTION):
    r"""Defects above a background that follows the heated components.

    The background b̂ (ambient field + components, ``physinv.thermal.background``) is fitted
    to the frame; the residual is restored by the Gaussian posterior's mean operator R
    (λ by the evidence, as ``posterior_fast``),

    .. math::

        c = R\,(g - H\hat b),  \quad \ell = \max(\text{detect},\ k\,\hat\sigma_c),
        \quad \hat\sigma_c = 1.4826\,\text{median}|c - \text{median}(c)|,

    blobs of c above ℓ are kept where c reaches ``fraction`` of their peak (holes filled);
    the fit is then repeated with the detector pixels under the blobs left out, and the blobs
    found again. P(defect) = Φ((c − ℓ) / σ̂_c).

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w) or (h, w)
        Corrected frame, K (apparent temperature).
    op : LinearOperator
        The camera's operator H, (H, W) → (h, w) (``Camera.operator``).
    x : torch.Tensor, shape (1, 1, H, W), optional
        A restoration of the frame, where the components are found (default: the Gaussian
        posterior's mean).
    detect : float, optional
        Lowest defect contrast, K.
    k_noise : float, optional
        Threshold in robust standard deviations of c.
    fraction : float, optional
        Sizing fraction of each blob's peak.

    Returns
    -------
    labels : torch.Tensor, shape (H, W), int64
        1 = defect.
    probability : torch.Tensor, shape (H, W), float64
        P(c > ℓ).
    residual : torch.Tensor, shape (H, W), float64
        c, K: the defects' restored contrast.

    Examples
    --------
    >>> from physinv.thermal import Camera, Scene, simulate
    >>> frame = simulate(Scene(shape=(64, 64), defects=(1, 1), contrast=(8.0, 8.0),
    ...                        radius=(6.0, 6.0)), Camera(factor=2), seed=3)
    >>> noise = torch.randn(32, 32, generator=torch.Generator().manual_seed(0))
    >>> labels, p, c = component_segment(frame.clean + 0.05 * noise, frame.op)
    >>> int((labels * frame.labels).sum()), int(frame.labels.sum())
    (53, 56)
    """
    from physinv.thermal.background import component_masks, fit_background
    from physinv.thermal.fast import CameraSolver, evidence_lambda, posterior_fast

    y = g.to(torch.float64).reshape(1, 1, *g.shape[-2:])
    solver = CameraSolver(op)
    if x is None:
        post = posterior_fast(y, op, solver)
        x, lam = post.x, post.params["lam"]
    else:
        from physinv.noise import estimate_sigma
        lam = evidence_lambda(solver, y, estimate_sigma(y) ** 2)
    masks = component_masks(x)
    weights = None
    for _ in range(2):
        c = solver.solve(y - fit_background(y, op, masks, weights), lam)[0, 0].numpy()
        spread = max(1.4826 * float(np.median(np.abs(c - np.median(c)))), 1e-12)
        level = max(detect, k_noise * spread)
        labels = ndimage.binary_fill_holes(size_blobs(c, level, fraction))
        under = torch.from_numpy(ndimage.binary_dilation(labels, iterations=4) * 1.0)
        weights = (op(under[None, None], check=False)[0, 0] < 0.05).double().numpy()
    prob = 0.5 * (1 + erf((c - level) / (math.sqrt(2) * spread)))
    return (torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(prob),
            torch.from_numpy(c))


def segment(x: torch.Tensor, variance: torch.Tensor | None, detect: float = DETECT_K,
            g: torch.Tensor | None = None, camera=None):
    """What ``physinv ir segment`` runs: ``component_segment`` given the frame, else thresholds.

    With the frame ``g`` and its ``camera``, the component-following background
    (``component_segment``; ``x`` is where the components are found); without them, the
    local-contrast threshold of the restored map (``threshold_segment``), as before.

    Parameters
    ----------
    x : torch.Tensor, shape (1, 1, H, W)
        Restored temperature map, K.
    variance : torch.Tensor, shape (1, 1, H, W), or None
        Its variance, K² (``threshold_segment`` only).
    detect : float, optional
        Lowest defect contrast, K (> 0).
    g : torch.Tensor, shape (h, w) or (1, 1, h, w), optional
        The corrected frame, K.
    camera : Camera, optional
        The camera that took it.

    Returns
    -------
    labels : torch.Tensor, shape (H, W), int64
    probability : torch.Tensor, shape (H, W), or None
        P(defect): of the residual exceeding the threshold (with ``g``), of the local
        contrast exceeding ``detect`` when a variance is given (without).

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
    if not 0 < detect < float("inf"):
        raise InputError("detect", detect, "a positive contrast in K")
    if g is None or camera is None:
        return threshold_segment(x, variance, detect)
    labels, prob, _ = component_segment(g, camera.operator(tuple(x.shape[-2:])), x, detect)
    return labels, prob


def detection_counts(labels, truth) -> dict:
    """Defect-by-defect scores of a label map: found defects and false alarms.

    A true defect (a connected region of ``truth``) is found when a labelled pixel touches
    it; a false alarm is a connected region of ``labels`` that touches no true defect.

    Parameters
    ----------
    labels, truth : array_like, shape (H, W)
        Predicted and true defect maps (non-zero = defect).

    Returns
    -------
    dict
        ``defects`` (true defects), ``found``, ``false_alarms`` (counts).

    Examples
    --------
    >>> truth = np.zeros((8, 8), int); truth[1:3, 1:3] = 1; truth[5:7, 5:7] = 1
    >>> pred = np.zeros((8, 8), int); pred[1, 1] = 1; pred[5, 1] = 1
    >>> detection_counts(pred, truth)
    {'defects': 2, 'found': 1, 'false_alarms': 1}
    """
    p, t = np.asarray(labels) != 0, np.asarray(truth) != 0
    true_blobs, n_true = ndimage.label(t)
    pred_blobs, n_pred = ndimage.label(p)
    found = len(np.unique(true_blobs[p & t]))
    hit = np.unique(pred_blobs[p & t])
    return {"defects": int(n_true), "found": int(found), "false_alarms": int(n_pred - len(hit))}


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
