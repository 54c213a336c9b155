"""Uncertainty for any reconstructor ``f(y, op) -> x̂``: a variance map per pixel, then its
calibration so that intervals cover what they promise.

``bootstrap.equivariant_bootstrap`` re-measures transformed copies of the estimate and
reconstructs them (Tachella & Pereyra 2023); ``conformal.fit`` scales a variance map on held-out
pairs with the split-conformal quantile and ``Calibration.save`` / ``load`` keep that scale as a
small JSON; with a local bias proxy β² (``bias.bias_proxy``) ``conformal.fit_weights`` fits
σ² = a·v + b·β² per level instead (format 2); ``select.select`` fits every such candidate on
calibration crops and chooses one on validation crops (format 3). Layer: above solvers and
nets, below train and experiments (imports operators, noise, solvers, nets, metrics, errors,
io only).
"""

from physinv.uq.bias import PROXIES, bias_proxy, smooth
from physinv.uq.bootstrap import BootstrapResult, Group, equivariant_bootstrap, group_for
from physinv.uq.conformal import (
    LEVELS,
    Calibration,
    draws,
    fit,
    fit_weights,
    load,
    normal_quantile,
)
from physinv.uq.scores import interval_scores, spearman
from physinv.uq.select import (
    Candidate,
    Maps,
    Selection,
    calibrated_variance,
    candidates,
    form_scores,
    select,
)

__all__ = ["LEVELS", "PROXIES", "BootstrapResult", "Calibration", "Candidate", "Group", "Maps",
           "Selection", "bias_proxy", "calibrated_variance", "candidates", "draws",
           "equivariant_bootstrap", "fit", "fit_weights", "form_scores", "group_for",
           "interval_scores", "load", "normal_quantile", "select", "smooth", "spearman"]
