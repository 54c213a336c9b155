"""The background a defect stands on: the ambient field and the heated components, fitted.

A thermographic scene without its defects is a smooth ambient field plus heated components
(packages, plates: axis-aligned rectangles, each at its own level, their edges sharp where the
emissivity changes and spread where the heat diffuses). ``component_masks`` finds the
components on a restored map (defects removed by a grey opening, Canny edges, the regions they
enclose that fill their bounding box, each edge placed at the half-way level between the
inside and the outside); ``fit_background`` fits the model to the *measurement* by linear least
squares,

.. math::

    \\hat b = \\arg\\min_b \\| W (g - H b) \\|^2,  \\quad
    b = \\sum_j a_j \\phi_j + \\sum_k \\big(\\alpha_k M_k + \\beta_k G_1 M_k
        + \\gamma_k G_{2.5} M_k + \\textstyle\\sum_{e=1}^{4} \\delta_{ke} S_{ke}\\big)

(φ_j the low Fourier modes up to ``order`` cycles per frame, M_k the component's indicator,
G_s a Gaussian blur of s pixels, S_ke the strip just outside each of its four edges, which
absorbs a sub-pixel shift of that edge; W down-weights detector pixels under defects). Because
the fit is made in the detector domain, a component's edge never rings: the restored residual
R(g − H b̂) holds the defects and the noise only.

>>> import torch
>>> from physinv.thermal.camera import Camera
>>> x = torch.full((1, 1, 64, 64), 300.0, dtype=torch.float64)
>>> x[0, 0, 10:40, 20:50] += 10.0
>>> [tuple(int(v) for v in box) for box in component_boxes(component_masks(x))]
[(10, 40, 20, 50)]
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage.feature import canny

OPENING = 19  # px: wider than every defect's cross-section, narrower than a component
MIN_SIDE = 0.1875  # the shortest side a component can have, as a fraction of the frame (24 / 128)
FILL = 0.85  # a region is a rectangle when it fills this much of its bounding box
EDGE_SIGMA, EDGE_LOW, EDGE_HIGH = 1.5, 1.0, 2.0  # Canny: smoothing (px), thresholds (K / px × 8)
MIN_STEP = 0.5  # K: a component stands at least this much above its surroundings
ORDER = 2  # Fourier modes of the ambient field, cycles per frame
EDGE_BLURS = (0.0, 1.0, 2.5)  # px: the component edge profiles fitted


def _box(region: np.ndarray) -> np.ndarray:
    rows, cols = ndimage.find_objects(region.astype(np.int64))[0]
    box = np.zeros(region.shape, bool)
    box[rows, cols] = True
    return box


def _place_edges(opened: np.ndarray, box: np.ndarray, ring=(3, 9)):
    """The rectangle whose edges lie at the half-way level between inside and outside."""
    core = ndimage.binary_erosion(box, iterations=4)
    if not core.any():
        return None
    inner = float(np.median(opened[core]))
    outside = ndimage.binary_dilation(box, iterations=ring[1]) & ~ndimage.binary_dilation(
        box, iterations=ring[0])
    if not outside.any():
        return None
    outer = float(np.median(opened[outside]))
    if inner - outer < MIN_STEP:
        return None
    zone = ndimage.binary_dilation(box, iterations=ring[0])
    half, _ = ndimage.label((opened >= 0.5 * (inner + outer)) & zone)
    ids = np.unique(half[core])
    region = np.isin(half, ids[ids > 0])
    return _box(region) if region.any() else None


def component_masks(x: torch.Tensor, opening: int = OPENING, min_side: float = MIN_SIDE,
                    fill: float = FILL) -> list[np.ndarray]:
    """The heated components of a restored map, as rectangles.

    The map is opened by an ``opening``-wide square (defects removed), Canny edges are traced
    on it (σ = 1.5 px, hysteresis 1–2 on the Sobel scale, i.e. 0.12–0.25 K / px) and closed by
    one pixel; each region they enclose that is at least ``min_side`` wide and fills ``fill`` of
    its bounding box is a candidate, kept when it stands ≥ 0.5 K above its surroundings, its
    edges then placed where the map crosses half-way between the inside and the outside level.
    The square is narrowed to ``min_side`` − 1 pixels where the components are smaller than it.

    Parameters
    ----------
    x : torch.Tensor, shape (1, 1, H, W)
        Restored temperature map, K.
    opening : int, optional
        Side of the square that removes the defects, pixels.
    min_side : float, optional
        Shortest side of a component, as a fraction of the frame's shorter side.
    fill : float, optional
        Least fraction of its bounding box a component's region fills.

    Returns
    -------
    list of numpy.ndarray, shape (H, W), bool
        One rectangle per component, non-overlapping.
    """
    min_side = max(int(round(min_side * min(x.shape[-2:]))), 3)
    opening = min(opening, min_side - 1)
    opened = ndimage.grey_opening(x[0, 0].double().numpy(), size=(opening, opening),
                                  mode="wrap")
    edges = canny(opened, sigma=EDGE_SIGMA, low_threshold=EDGE_LOW,
                  high_threshold=EDGE_HIGH, mode="wrap")
    regions, _ = ndimage.label(~ndimage.binary_dilation(edges))
    masks: list[np.ndarray] = []
    for k, (rows, cols) in enumerate(ndimage.find_objects(regions), 1):
        if min(rows.stop - rows.start, cols.stop - cols.start) < min_side:
            continue
        region = ndimage.binary_fill_holes(regions == k)
        if region.sum() < fill * (rows.stop - rows.start) * (cols.stop - cols.start):
            continue
        mask = _place_edges(opened, _box(region))
        if mask is None or min(np.ptp(np.nonzero(mask)[0]), np.ptp(np.nonzero(mask)[1])) + 1 \
                < min_side:
            continue
        if not any((mask & m).sum() > 0.3 * min(mask.sum(), m.sum()) for m in masks):
            masks.append(mask)
    return masks


def component_boxes(masks) -> list[tuple]:
    """(row start, row stop, column start, column stop) of each rectangle mask."""
    out = []
    for mask in masks:
        rows, cols = ndimage.find_objects(mask.astype(np.int64))[0]
        out.append((rows.start, rows.stop, cols.start, cols.stop))
    return out


def _fourier_modes(shape, order: int) -> list[np.ndarray]:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for a in range(-order, order + 1):
        for b in range(order + 1):
            if b == 0 and a < 0:
                continue
            phase = 2 * np.pi * (a * yy / h + b * xx / w)
            out.append(np.cos(phase))
            if a or b:
                out.append(np.sin(phase))
    return out


def _edge_strips(mask: np.ndarray) -> list[np.ndarray]:
    (r0, r1, c0, c1), = component_boxes([mask])
    h, w = mask.shape
    out = []
    for rows, cols in (((r0 - 1) % h, slice(c0, c1)), (r1 % h, slice(c0, c1)),
                       (slice(r0, r1), (c0 - 1) % w), (slice(r0, r1), c1 % w)):
        strip = np.zeros(mask.shape)
        strip[rows, cols] = 1.0
        out.append(ndimage.gaussian_filter(strip, 1.0, mode="wrap"))
    return out


def background_basis(shape, masks, order: int = ORDER) -> np.ndarray:
    """The functions the background is made of (see the module docstring), shape (n, H, W)."""
    basis = _fourier_modes(shape, order)
    for mask in masks:
        m = mask.astype(np.float64)
        basis += [ndimage.gaussian_filter(m, s, mode="wrap") if s else m for s in EDGE_BLURS]
        basis += _edge_strips(mask)
    return np.array(basis)


def fit_background(g: torch.Tensor, op, masks, weights: np.ndarray | None = None,
                   order: int = ORDER):
    """Least-squares fit of the background model to the measurement (module docstring).

    Parameters
    ----------
    g : torch.Tensor, shape (1, 1, h, w)
        Corrected frame, K.
    op : LinearOperator
        The camera's operator H, (H, W) → (h, w).
    masks : list of numpy.ndarray, shape (H, W), bool
        The components (``component_masks``).
    weights : numpy.ndarray, shape (h, w), optional
        Weight of each detector pixel (0 = ignored: under a defect).
    order : int, optional
        Highest Fourier mode of the ambient field, cycles per frame.

    Returns
    -------
    torch.Tensor, shape (1, 1, h, w), float64
        H b̂: the background as the camera sees it, K.
    """
    basis = background_basis(tuple(op.in_shape), masks, order)
    hb = op(torch.from_numpy(basis)[:, None], check=False)[:, 0].reshape(len(basis), -1)
    hb = hb.numpy().T
    y = g[0, 0].double().numpy().reshape(-1)
    w = np.ones_like(y) if weights is None else weights.reshape(-1)
    coef, *_ = np.linalg.lstsq(hb * w[:, None], y * w, rcond=None)
    return torch.from_numpy((hb @ coef).reshape(tuple(op.out_shape)))[None, None]
