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
    """Mean squared error per image, (1/n) Σ (x − ref)² over channels and pixels.

    Parameters
    ----------
    x : torch.Tensor or array_like, shape (B, C, H, W)
        The estimate (2-D (H, W) and 3-D (C, H, W) arrays are promoted); finite.
    ref : torch.Tensor or array_like
        The reference, the same shape as ``x``.

    Returns
    -------
    torch.Tensor, shape (B,)
        In (image units)²; float64 if either input is float64, else float32.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import mse
    >>> [round(v, 6) for v in mse(torch.full((2, 1, 4, 4), 0.1), torch.zeros(2, 1, 4, 4)).tolist()]
    [0.01, 0.01]
    """
    a, b = _pair(x, ref)
    return ((a - b) ** 2).mean(dim=(1, 2, 3))


def rmse(x, ref) -> torch.Tensor:
    """Root-mean-square error per image, √MSE, in the images' units (e.g. kelvin).

    Parameters
    ----------
    x : torch.Tensor or array_like, shape (B, C, H, W)
        The estimate (2-D (H, W) and 3-D (C, H, W) arrays are promoted); finite.
    ref : torch.Tensor or array_like
        The reference, the same shape as ``x``.

    Returns
    -------
    torch.Tensor, shape (B,)

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import rmse
    >>> round(float(rmse(torch.full((1, 1, 4, 4), 0.5), torch.zeros(1, 1, 4, 4))), 6)
    0.5
    """
    return mse(x, ref).sqrt()


def psnr(x, ref, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB.

    .. math::

        PSNR = 10 log₁₀( data_range² / MSE(x, ref) )

    (MSE floored at 10⁻³⁰: identical images give 300 dB).

    Parameters
    ----------
    x : torch.Tensor or array_like, shape (B, C, H, W)
        The estimate (2-D (H, W) and 3-D (C, H, W) arrays are promoted); finite.
    ref : torch.Tensor or array_like
        The reference, the same shape as ``x``.
    data_range : float, default 1.0
        The dynamic range of the images (1 for [0, 1] intensities; for kelvin, the span of
        temperatures).

    Returns
    -------
    torch.Tensor, shape (B,)
        Float64 if either input is float64, else float32.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> ref = torch.zeros(2, 1, 4, 4)
    >>> x = ref + torch.tensor([0.1, 0.01]).reshape(2, 1, 1, 1)
    >>> [round(v, 3) for v in psnr(x, ref).tolist()]
    [20.0, 40.0]
    """
    data_range = check_positive("data_range", data_range)
    err = mse(x, ref)
    return 10 * torch.log10(data_range**2 / err.clamp_min(1e-30))


def ssim(x, ref, data_range: float = 1.0, win_size: int = 7) -> torch.Tensor:
    """Structural similarity index (SSIM) per image, as ``skimage.metrics.structural_similarity``.

    .. math::

        SSIM = mean over windows of
               (2μ_x μ_y + C₁)(2σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂))

    with local means, sample variances and covariance over ``win_size`` × ``win_size``
    uniform windows (only windows fully inside the image: a border of ``win_size // 2``
    pixels is left out), C₁ = (0.01 · data_range)², C₂ = (0.03 · data_range)²; averaged over
    channels.

    Parameters
    ----------
    x : torch.Tensor or array_like, shape (B, C, H, W)
        The estimate (2-D (H, W) and 3-D (C, H, W) arrays are promoted); finite.
    ref : torch.Tensor or array_like
        The reference, the same shape as ``x``.
    data_range : float, default 1.0
        The dynamic range of the images.
    win_size : int, default 7
        Odd window size ≥ 3, at most the image size.

    Returns
    -------
    torch.Tensor, shape (B,)
        In [−1, 1], 1 for identical images; in the dtype of ``x`` (float64 for arrays).

    Raises
    ------
    InputError
        For shapes that differ, an even or too small window, or images smaller than it.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment:
           from error visibility to structural similarity", IEEE Trans. Image Process. 13(4),
           600–612, 2004.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import ssim
    >>> ref = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> round(float(ssim(ref, ref)), 6), bool(ssim(ref + 0.2 * torch.randn(1, 1, 16, 16), ref) < 1)
    (1.0, True)
    """
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
    """Dice coefficient of binary masks per image: 2|P ∩ T| / (|P| + |T|).

    Parameters
    ----------
    pred : torch.Tensor or array_like, shape (B, C, H, W)
        Predicted mask: floats are thresholded at 0.5, integers and booleans are non-zero.
    truth : torch.Tensor or array_like
        True mask, the same shape.

    Returns
    -------
    torch.Tensor, shape (B,), float64
        In [0, 1]; 1 when both masks are empty.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import dice
    >>> pred = torch.tensor([[[[1, 1, 0, 0]]]])
    >>> truth = torch.tensor([[[[0, 1, 1, 0]]]])
    >>> dice(pred, truth).tolist()
    [0.5]
    """
    p, t = _labels("pred", pred), _labels("truth", truth)
    if p.shape != t.shape:
        raise InputError("pred", p, f"the truth's shape {tuple(t.shape)}")
    inter = (p & t).sum(dim=(1, 2, 3)).double()
    total = (p.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3))).double()
    return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.ones_like(total))


def iou(pred, truth) -> torch.Tensor:
    """Intersection over union (Jaccard index) of binary masks per image: |P ∩ T| / |P ∪ T|.

    Parameters
    ----------
    pred : torch.Tensor or array_like, shape (B, C, H, W)
        Predicted mask: floats are thresholded at 0.5, integers and booleans are non-zero.
    truth : torch.Tensor or array_like
        True mask, the same shape.

    Returns
    -------
    torch.Tensor, shape (B,), float64
        In [0, 1]; 1 when both masks are empty.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import iou
    >>> pred = torch.tensor([[[[1, 1, 0, 0]]]])
    >>> truth = torch.tensor([[[[0, 1, 1, 0]]]])
    >>> [round(v, 6) for v in iou(pred, truth).tolist()]
    [0.333333]
    """
    p, t = _labels("pred", pred), _labels("truth", truth)
    if p.shape != t.shape:
        raise InputError("pred", p, f"the truth's shape {tuple(t.shape)}")
    inter = (p & t).sum(dim=(1, 2, 3)).double()
    union = (p | t).sum(dim=(1, 2, 3)).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def coverage(mean, std, truth, level: float = 0.95) -> torch.Tensor:
    """Empirical coverage of Gaussian credible intervals: the fraction of pixels inside them.

    .. math::

        coverage = (1/n) Σ_j 1[ |truth_j − mean_j| ≤ z σ_j ],   z = √2 erf⁻¹(level)

    (z = 1.96 for 95 %). A calibrated posterior covers about ``level`` of the pixels.

    Parameters
    ----------
    mean : torch.Tensor or array_like, shape (B, C, H, W)
        Posterior mean (the estimate).
    std : torch.Tensor or array_like, shape (B, C, H, W)
        Posterior standard deviation σ ≥ 0 per pixel (the square root of ``Result.variance``).
    truth : torch.Tensor or array_like, shape (B, C, H, W)
        The true image.
    level : float, default 0.95
        Nominal probability of the central interval, in (0, 1).

    Returns
    -------
    torch.Tensor, shape (B,), float64
        The fraction of pixels covered, per image.

    Raises
    ------
    InputError
        For a level outside (0, 1), negative standard deviations or mismatched shapes.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import coverage
    >>> truth = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> zeros, ones = torch.zeros(1, 1, 64, 64), torch.ones(1, 1, 64, 64)
    >>> bool(abs(coverage(zeros, ones, truth) - 0.95) < 0.02)
    True
    """
    if not 0 < level < 1:
        raise InputError("level", level, "a probability in (0, 1)")
    m, t = _pair(mean, truth)
    s = _as4d("std", std).to(m)
    if bool((s < 0).any()):
        raise InputError("std", s, "non-negative standard deviations")
    z = math.sqrt(2) * float(torch.special.erfinv(torch.tensor(level, dtype=torch.float64)))
    inside = (t - m).abs() <= z * s
    return inside.to(torch.float64).mean(dim=(1, 2, 3))
