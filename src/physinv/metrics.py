"""Image-quality metrics, per image: PSNR, SSIM, RMSE, Dice, IoU, interval coverage.

All take ``(B, C, H, W)`` tensors (or 2-D / 3-D arrays, promoted) and return a tensor of shape
``(B,)`` — one value per image, averaged over channels — so callers take the mean they need.
``ssim`` follows ``skimage.metrics.structural_similarity`` defaults (7×7 uniform window,
sample covariance, K₁ = 0.01, K₂ = 0.03, borders of 3 pixels excluded from the mean).

>>> import torch
>>> from physinv.metrics import psnr
>>> ref = torch.zeros(1, 1, 4, 4)
>>> float(psnr(ref + 0.1, ref))  # doctest: +ELLIPSIS
20.0...
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from physinv.errors import InputError, check_finite, check_positive, promote_4d


def _as4d(name: str, x) -> torch.Tensor:
    return check_finite(name, promote_4d(name, x))


def _pair(x, ref):
    a = _as4d("x", x)
    b = _as4d("reference", ref)
    if a.shape != b.shape:
        raise InputError("x", a, f"the reference's shape {tuple(b.shape)}")
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    return a.to(dtype), b.to(device=a.device, dtype=dtype)


def mse(x, ref) -> torch.Tensor:
    a, b = _pair(x, ref)
    return ((a - b) ** 2).mean(dim=(1, 2, 3))


def rmse(x, ref) -> torch.Tensor:
    """Root-mean-square error per image, in the images' units (e.g. kelvin)."""
    return mse(x, ref).sqrt()


def psnr(x, ref, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio 10 log₁₀(range² / MSE) in dB, per image."""
    data_range = check_positive("data_range", data_range)
    err = mse(x, ref)
    return 10 * torch.log10(data_range**2 / err.clamp_min(1e-30))


def ssim(x, ref, data_range: float = 1.0, win_size: int = 7) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) per image, skimage's default estimator."""
    data_range = check_positive("data_range", data_range)
    if win_size < 3 or win_size % 2 == 0:
        raise InputError("win_size", win_size, "an odd integer >= 3")
    a, b = _pair(x, ref)
    if min(a.shape[-2:]) < win_size:
        raise InputError("x", a, f"images of at least {win_size}×{win_size} pixels for SSIM")
    a = a.to(torch.float64)
    b = b.to(torch.float64)
    n = win_size * win_size
    cov_norm = n / (n - 1)
    bc = a.shape[0] * a.shape[1]
    stack = torch.stack([a, b, a * a, b * b, a * b]).reshape(5 * bc, 1, *a.shape[-2:])
    means = F.avg_pool2d(stack, win_size, stride=1).reshape(5, *a.shape[:2], -1)
    ux, uy, uxx, uyy, uxy = means
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2)).to(x.dtype if isinstance(x, torch.Tensor) and
                                  x.is_floating_point() else torch.float64)


def _labels(name, x):
    t = _as4d(name, x)
    return t > 0.5 if t.is_floating_point() else t != 0


def dice(pred, truth) -> torch.Tensor:
    """Dice coefficient 2|P∩T| / (|P| + |T|) of binary masks per image (1 when both empty)."""
    p, t = _labels("pred", pred), _labels("truth", truth)
    if p.shape != t.shape:
        raise InputError("pred", p, f"the truth's shape {tuple(t.shape)}")
    inter = (p & t).sum(dim=(1, 2, 3)).double()
    total = (p.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3))).double()
    return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.ones_like(total))


def iou(pred, truth) -> torch.Tensor:
    """Intersection over union |P∩T| / |P∪T| of binary masks per image (1 when both empty)."""
    p, t = _labels("pred", pred), _labels("truth", truth)
    if p.shape != t.shape:
        raise InputError("pred", p, f"the truth's shape {tuple(t.shape)}")
    inter = (p & t).sum(dim=(1, 2, 3)).double()
    union = (p | t).sum(dim=(1, 2, 3)).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def coverage(mean, std, truth, level: float = 0.95) -> torch.Tensor:
    """Fraction of pixels whose truth lies in the central ``level`` Gaussian interval."""
    if not 0 < level < 1:
        raise InputError("level", level, "a probability in (0, 1)")
    m, t = _pair(mean, truth)
    s = _as4d("std", std).to(m)
    if bool((s < 0).any()):
        raise InputError("std", s, "non-negative standard deviations")
    z = math.sqrt(2) * float(torch.special.erfinv(torch.tensor(level, dtype=torch.float64)))
    inside = (t - m).abs() <= z * s
    return inside.to(torch.float64).mean(dim=(1, 2, 3))
