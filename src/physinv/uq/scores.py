"""How good a variance map is on an image with known truth: coverage, sharpness, correlation.

.. math::

    \\mathrm{cov}_α = \\frac{1}{n} Σ_j 1[|x_j − x̂_j| ≤ z_α √(s_α² v_j)],
    \\quad ρ = \\mathrm{Spearman}(√v, |x − x̂|)

with s_α the calibration's scale at level α (1 for the raw map), the mean σ = mean √(s² v)
at 95 % and the mean 95 % half-width z σ against the RMSE.

>>> import torch
>>> x = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
>>> out = interval_scores(x, x + 0.1, torch.full_like(x, 0.01))
>>> out["coverage_raw_0.5"], out["coverage_raw_0.95"]  # |error| 0.1 vs 0.674σ and 1.96σ
(0.0, 1.0)
>>> round(out["rmse"], 3), round(out["mean_sigma_raw"], 3)
(0.1, 0.1)
"""

from __future__ import annotations

import math

import torch

from physinv.uq.conformal import LEVELS, normal_quantile


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two equal-size tensors (NaN if one is constant)."""
    from scipy.stats import spearmanr

    a, b = a.flatten().double(), b.flatten().double()
    for t in (a, b):  # a constant map (a stationary posterior): ρ undefined
        if float(t.max() - t.min()) <= 1e-12 * max(float(t.abs().max()), 1e-300):
            return math.nan
    return float(spearmanr(a.numpy(), b.numpy()).statistic)


def interval_scores(x, x_hat, variance, cal=None, levels=LEVELS, bias2=None) -> dict:
    """Coverage of x̂ ± z_α √v at each level (``coverage_raw_α``; with a calibration also
    ``coverage_α`` of the calibrated map), ``rmse``, ``mean_sigma(_raw)``, the 95 %
    ``half_width_95(_raw)`` and ``spearman`` (σ against |error| over the pixels).

    Parameters
    ----------
    x, x_hat, variance : torch.Tensor
        Truth, estimate and variance map, same shape.
    cal : physinv.uq.Calibration, optional
        Its scales (or two-parameter weights) give the calibrated columns (levels it lacks
        are skipped).
    levels : sequence of float
    bias2 : torch.Tensor, optional
        The bias proxy β² a two-parameter calibration weights.

    Returns
    -------
    dict of float
    """
    err = (x_hat - x).abs().double()
    variance = variance.double().clamp_min(0)
    out = {"rmse": float(err.pow(2).mean().sqrt())}
    for level in levels:
        z = normal_quantile(level)
        out[f"coverage_raw_{level:g}"] = float((err <= z * variance.sqrt()).double().mean())
        if cal is not None and f"{level:g}" in cal.scales:
            sigma = cal.apply(variance, level, bias2).sqrt()
            out[f"coverage_{level:g}"] = float((err <= z * sigma).double().mean())
    z95 = normal_quantile(0.95)
    out["mean_sigma_raw"] = float(variance.sqrt().mean())
    out["half_width_95_raw"] = z95 * out["mean_sigma_raw"]
    if cal is not None:
        out["mean_sigma"] = float(cal.apply(variance, 0.95, bias2).sqrt().mean())
        out["half_width_95"] = z95 * out["mean_sigma"]
    # ρ of the map that is reported: the calibrated 95 % σ (the raw one without calibration)
    shown = variance if cal is None else cal.apply(variance, 0.95, bias2)
    out["spearman"] = spearman(shown.sqrt(), err)
    return out
