"""Local bias proxies β² for the two-parameter calibration σ² = a·v + b·β².

The error of a regularised estimate is mostly bias (edges and texture it smooths away), not
noise, so a variance from fresh noise alone (the bootstrap's spread, a stationary posterior)
has the wrong shape: flat where the error is concentrated on edges. A proxy of the local
squared bias, computable without the truth, gives the map that shape:

.. math::

    β²_{\\mathrm{bootstrap}} = G_w * (\\bar x^* − x̂)²,
    \\qquad β²_{\\mathrm{highpass}} = G_w * (x̂ − G_1 * x̂)²

with x̄* the mean of the bootstrap samples (x̄* − x̂ is the bootstrap's estimate of the
estimator's bias at x̂, ``BootstrapResult.mean``), G_w a Gaussian window of standard deviation
w pixels (w = 0: none; reflected borders) and G_1 one of 1 pixel. ``highpass`` needs no samples
(a posterior's variance). The weights a, b ≥ 0 are fitted per level by
``conformal.fit_weights``.

>>> import torch
>>> x = torch.zeros(1, 1, 16, 16, dtype=torch.float64); x[..., 8:] = 1.0
>>> b2 = bias_proxy("highpass", x, width=2.0)
>>> bool(b2[..., 8, 8] > 10 * b2[..., 8, 1])   # large at the edge, small far from it
True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from physinv.errors import InputError

PROXIES = ("bootstrap", "highpass")


def smooth(t: torch.Tensor, width: float) -> torch.Tensor:
    """G_w * t: a separable Gaussian of standard deviation ``width`` pixels over the last two
    dims (radius 3w, reflected borders; ``width`` = 0 returns t)."""
    if width < 0:
        raise InputError("width", width, "a window width ≥ 0 pixels")
    if width == 0:
        return t
    h, w = t.shape[-2:]
    radius = max(1, min(int(3 * width), h - 1, w - 1))
    taps = torch.arange(-radius, radius + 1, dtype=t.dtype, device=t.device)
    k = torch.exp(-taps ** 2 / (2 * width * width))
    k = k / k.sum()
    flat = t.reshape(-1, 1, h, w)
    flat = F.pad(flat, (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(F.conv2d(flat, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return flat.reshape(t.shape)


def bias_proxy(kind: str, x_hat: torch.Tensor, sample_mean: torch.Tensor | None = None,
               width: float = 2.0) -> torch.Tensor:
    """The local squared-bias proxy β² of ``x_hat`` (see the module docstring).

    Parameters
    ----------
    kind : {"bootstrap", "highpass"}
        β² from the bootstrap samples' mean or from the estimate's high-pass.
    x_hat : torch.Tensor, shape (..., H, W)
        The estimate.
    sample_mean : torch.Tensor, optional
        The bootstrap samples' mean x̄* (required for ``bootstrap``).
    width : float, default 2.0
        The window's standard deviation in pixels.

    Returns
    -------
    torch.Tensor
        β² ≥ 0, shaped like ``x_hat``.
    """
    if kind not in PROXIES:
        raise InputError("bias_proxy", kind, f"one of {PROXIES}")
    if kind == "bootstrap":
        if sample_mean is None:
            raise InputError("sample_mean", None, "the bootstrap samples' mean for the "
                             "'bootstrap' bias proxy", "use 'highpass' without samples")
        raw = (sample_mean - x_hat) ** 2
    else:
        raw = (x_hat - smooth(x_hat, 1.0)) ** 2
    return smooth(raw, float(width)).clamp_min(0)
