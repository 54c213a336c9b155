r"""Edge selection and kernel clean-up for free-form blind kernel estimation.

A kernel estimated from all the gradients of a latent image is pulled towards the no-blur
solution by its small structures and noise: only large, strong edges constrain the blur
well. Cho & Lee [1]_ keep, in each of four orientation bins of the gradient angle, the
pixels of largest gradient magnitude — at least ``r·√(P_I P_K)`` of them (P_I pixels in the
image, P_K in the kernel support), so that every direction of the kernel stays determined,
and the number grows along the iterations. Xu & Jia [2]_ first exclude small structures by
the r-map

.. math::

    r(x) = \frac{\| \sum_{y \in N(x)} \nabla g(y) \|}{\sum_{y \in N(x)} \|\nabla g(y)\| + \epsilon},

close to 1 on an isolated edge (gradients agree in sign) and small on texture (they cancel).
After the kernel step, entries below a fraction of the maximum are zeroed and only the
connected components (8-neighbours) of significant mass are kept [1]_ [2]_.

References
----------
.. [1] S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5) (SIGGRAPH Asia), 2009.
.. [2] L. Xu, J. Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def r_map(g: torch.Tensor, window: int = 5, eps: float = 0.05) -> torch.Tensor:
    """The Xu–Jia r-map of ``g`` (B, C, H, W): ‖Σ_N ∇g‖ / (Σ_N ‖∇g‖ + ε) over a square
    ``window`` (circular differences and borders).

    Examples
    --------
    >>> import torch
    >>> step = torch.zeros(1, 1, 16, 16); step[..., 8:] = 1.0
    >>> bool(r_map(step)[0, 0, 4, 7] > 0.9)
    True
    """
    dy = torch.roll(g, -1, -2) - g
    dx = torch.roll(g, -1, -1) - g
    mag = torch.sqrt(dy**2 + dx**2)
    pad = window // 2

    def box(v):
        v = F.pad(v.reshape(-1, 1, *v.shape[-2:]), (pad, pad, pad, pad), mode="circular")
        return F.avg_pool2d(v, window, stride=1).reshape(g.shape) * window * window

    return torch.sqrt(box(dy) ** 2 + box(dx) ** 2) / (box(mag) + eps)


def select_edges(dy: torch.Tensor, dx: torch.Tensor, count: float, mask=None,
                 bins: int = 4) -> torch.Tensor:
    """A 0/1 map of the pixels kept for the kernel step: in each of ``bins`` bins of the
    gradient angle (mod π), the ``count`` pixels of largest ‖∇u‖ (among ``mask``).

    Parameters
    ----------
    dy, dx : torch.Tensor
        The gradient fields (same shape).
    count : float
        Pixels kept per orientation bin (at most the bin's population).
    mask : torch.Tensor, optional
        0/1 map of the admissible pixels (e.g. r-map above a threshold).
    bins : int
        Number of orientation bins.

    Returns
    -------
    torch.Tensor
        The map, same shape and dtype as ``dy``.

    Examples
    --------
    >>> import torch
    >>> dy = torch.tensor([[0.0, 0.0, 0.0, 0.0]]); dx = torch.tensor([[1.0, 0.2, 0.5, 0.0]])
    >>> select_edges(dy, dx, 2).tolist()
    [[1.0, 0.0, 1.0, 0.0]]
    """
    mag = torch.sqrt(dy**2 + dx**2)
    if mask is not None:
        mag = mag * mask
    angle = torch.remainder(torch.atan2(dy, dx), math.pi)
    index = torch.clamp((angle / math.pi * bins).long(), max=bins - 1)
    keep = torch.zeros_like(mag)
    for b in range(bins):
        values = mag[(index == b) & (mag > 0)]
        if values.numel() == 0:
            continue
        n = min(max(int(count), 1), values.numel())
        tau = torch.topk(values, n).values[-1]
        keep = torch.where((index == b) & (mag >= tau) & (mag > 0), 1.0, keep)
    return keep.to(dy.dtype)


def clean_kernel(k: torch.Tensor, threshold: float, component_mass: float) -> torch.Tensor:
    """Zero the entries of ``k`` below ``threshold``·max k, keep the 8-connected components
    holding at least ``component_mass`` of the remaining mass (the largest always), sum 1.

    Examples
    --------
    >>> import torch
    >>> k = torch.zeros(5, 5); k[2, 1:4] = 0.3; k[0, 4] = 0.1
    >>> torch.nonzero(clean_kernel(k, 0.05, 0.2)).tolist()
    [[2, 1], [2, 2], [2, 3]]
    """
    k = torch.where(k >= threshold * k.max(), k.clamp_min(0), 0.0)
    labels, n = ndimage.label(k.detach().cpu().numpy() > 0, structure=np.ones((3, 3)))
    if n > 1 and component_mass > 0:
        lab = torch.from_numpy(labels)
        mass = torch.stack([k[lab == i].sum() for i in range(1, n + 1)])
        total = mass.sum()
        good = [i + 1 for i in range(n)
                if mass[i] >= component_mass * total or mass[i] == mass.max()]
        k = torch.where(torch.isin(lab, torch.tensor(good)), k, 0.0)
    total = k.sum()
    return k / total if total > 0 else torch.full_like(k, 1.0 / k.numel())
