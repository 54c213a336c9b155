"""Split-conformal calibration of a variance map: one scale s per nominal level, so that
x̂ ± z·s·√v covers at least that level.

.. math::

    r_j = |x_j − x̂_j| / (z_α √v_j),   s_α = r_{(⌈(n+1)α⌉)}

over the n pixels of held-out calibration pairs (each image measured with several noise draws);
r_(k) is the k-th smallest score, the finite-sample conformal quantile (Angelopoulos et al.
2022): for a new pixel exchangeable with the calibration ones, P(|x − x̂| ≤ z_α s_α √v) ≥ α.
Pixels of one image are not independent, so the guarantee holds for images like the
calibration set in distribution; the benchmark ``benchmarks/uq_coverage.py`` measures it on the
test images. The calibrated variance at level α is s_α² v (then x̂ ± z_α √(s_α² v) is the
interval at that level, with z_α the standard normal quantile, 1.96 at 95 %).

**Two parameters** (format 2). With a local bias proxy β² (``uq.bias``) beside the noise
variance v, the calibrated variance at level α is

.. math::

    σ_α² = a_α v + b_α β²,   a_α, b_α ≥ 0,

fitted by ``fit_weights``: the shape — the direction (a, b) ∝ (cos θ / v̄, sin θ / β̄²), θ on a
grid of [0, π/2] — by the Gaussian likelihood of the calibration errors (one shape for every
level: the map is a variance), the scale per level by the conformal quantile above (so the
coverage on the calibration pixels is ≥ α). θ = 0 is the one-parameter calibration of v. The
direction is chosen on the same pixels as the scale (one of ~40 values), which the guarantee
ignores; ``uq.select`` validates it on other crops. (Choosing θ by the
smallest half-width at coverage ≥ α instead was as sharp on validation crops but does not
recover the weights of Gaussian errors and degenerates at 50 %.)

A ``Calibration`` records what it was made for — method, variance source, operator spec and
shape, noise, levels, calibration set, pixel count — and ``check`` refuses another operator,
noise or method, naming what differs. The image size is recorded but not compared: the scale
holds per pixel.

>>> import torch
>>> x = torch.zeros(2, 1, 1, 8, 8, dtype=torch.float64)
>>> err = torch.randn(2, 1, 1, 8, 8, generator=torch.Generator().manual_seed(0),
...                   dtype=torch.float64) * 0.02
>>> cal = fit(x, x + err, torch.full_like(x, 1e-4), method="demo", operator="identity",
...           noise="gaussian:sigma=0.02", calibration_set="2 synthetic images")
>>> 1.5 < cal.scale < 2.6   # the variance given was 4× too small: s ≈ 2
True
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import NormalDist

import torch

from physinv.errors import InputError, check_int
from physinv.io import write_json

LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)
FORMAT = "physinv-uq-calibration/3"
# /1: one scale per level; /2 adds weights; /3 adds the noise floor and the validation choice
FORMATS = ("physinv-uq-calibration/1", "physinv-uq-calibration/2", FORMAT)
N_DIRECTIONS = 41  # θ grid of the two-parameter fit


def normal_quantile(level: float) -> float:
    """z with P(|N(0, 1)| ≤ z) = level (1.96 at 0.95).

    Parameters
    ----------
    level : float
        In (0, 1).

    Returns
    -------
    float

    Examples
    --------
    >>> round(normal_quantile(0.95), 3)
    1.96
    """
    if not 0 < level < 1:
        raise InputError("level", level, "a probability strictly between 0 and 1")
    return NormalDist().inv_cdf((1 + level) / 2)


def _key(level: float) -> str:
    return f"{level:g}"


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: ``scales`` maps a level (as text, ``"0.95"``) to s_α of v alone;
    ``level`` is the default one. A two-parameter one also has ``weights`` (level → [a_α, b_α]:
    σ² = a v + b β², then ``scales`` is for reference only), the ``bias_proxy`` kind and its
    window ``bias_width`` (``uq.bias.bias_proxy``). See the module docstring."""

    method: str
    variance_source: str
    operator: str
    shape: tuple
    noise: str
    level: float
    scales: dict
    calibration_set: str
    n_images: int
    n_draws: int
    n_pixels: int
    format: str = FORMAT
    samples: int | None = None  # bootstrap K the variance maps were made with (None: posterior)
    estimator: str | None = None  # the bootstrap estimator ("mse" | "spread")
    options: dict | None = None  # the method's options calibrated with (e.g. {"lam": "gcv"})
    weights: dict | None = None  # two-parameter: level → [a, b] of σ² = a v + b β²
    bias_proxy: str | None = None  # the β² of the weights ("bootstrap" | "highpass")
    bias_width: float | None = None  # its window (pixels)
    noise_floor: float = 0.0  # two-parameter: a_α ≥ noise_floor · s_α² (fit_weights' a_min)
    selection: dict | None = None  # uq.select: the candidate chosen on validation crops, why

    @property
    def scale(self) -> float:
        """s at the default level."""
        return self.scales[_key(self.level)]

    def scale_at(self, level: float) -> float:
        """s_α for a level of the table (others refused with the list)."""
        normal_quantile(level)
        if _key(level) not in self.scales:
            raise InputError("level", level, f"one of the calibrated levels {sorted(self.scales)}",
                             "calibrate at this level too")
        return self.scales[_key(level)]

    def apply(self, variance: torch.Tensor, level: float | None = None,
              bias2: torch.Tensor | None = None) -> torch.Tensor:
        """The calibrated variance at ``level`` (default: the calibration's): s_α² v, or
        a_α v + b_α β² for a two-parameter calibration (``bias2`` = β² then required)."""
        level = self.level if level is None else level
        scale = self.scale_at(level)
        if self.weights is None:
            return variance * scale ** 2
        if bias2 is None:
            raise InputError("bias2", None, f"the {self.bias_proxy!r} bias proxy β² (width "
                             f"{self.bias_width}) this two-parameter calibration weights")
        a, b = self.weights[_key(level)]
        return a * variance + b * bias2

    def describe_at(self, level: float) -> str:
        """``scale 1.9`` or ``σ² = 0.8·v + 3.1·β²(bootstrap, w=2)`` at ``level``."""
        if self.weights is None:
            return f"scale {self.scale_at(level):.3g}"
        a, b = self.weights[_key(level)]
        return f"σ² = {a:.3g}·v + {b:.3g}·β²({self.bias_proxy}, w={self.bias_width:g})"

    def check(self, method: str | None = None, operator: str | None = None,
              noise: str | None = None, variance_source: str | None = None,
              argument: str = "calibration") -> None:
        """Refuse use with another method, variance source, operator or noise (None: not
        compared), naming every difference (``argument``: the option named in the error)."""
        given = dict(method=method, variance_source=variance_source, operator=operator,
                     noise=noise)
        differ = [f"{name} {value!r} (calibrated for {getattr(self, name)!r})"
                  for name, value in given.items()
                  if value is not None and value != getattr(self, name)]
        if differ:
            raise InputError(argument, self.operator, "a calibration made for this "
                             "problem", "it differs in " + "; ".join(differ))

    def save(self, path) -> Path:
        """Write the calibration as JSON (``physinv.io.write_json``)."""
        record = asdict(self)
        record["shape"] = list(self.shape)
        return write_json(Path(path), record, with_environment=True)


def load(path) -> Calibration:
    """Read a calibration written by ``Calibration.save``.

    Raises
    ------
    InputError
        For a missing file, a file that is not JSON, or one of another format.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("calibration", str(path), "an existing calibration JSON file")
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise InputError("calibration", str(path), "a JSON file (physinv uq calibration)") from None
    if not isinstance(record, dict) or record.get("format") not in FORMATS:
        found = record.get("format") if isinstance(record, dict) else None
        raise InputError("calibration", str(path), f"a calibration JSON of format "
                         f"{' or '.join(FORMATS)}", f"its format is {found!r}; recalibrate "
                         "with this version (physinv calibrate)")
    record.pop("environment", None)
    try:
        cal = Calibration(**{**record, "shape": tuple(record["shape"])})
    except (TypeError, KeyError) as err:
        raise InputError("calibration", str(path), f"a complete {FORMAT} record",
                         str(err)) from None
    return cal


def _stack(name: str, values) -> torch.Tensor:
    t = torch.as_tensor(values) if not isinstance(values, torch.Tensor) else values
    if t.dim() < 3:
        raise InputError(name, t, "a tensor (n_images, n_draws, ...) of images")
    return t.to(torch.float64)


def _conformal_rank(n: int, level: float) -> int:
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise InputError("levels", level, f"a level below {n / (n + 1):.6f} for {n} pixels",
                         "more calibration pixels for this level")
    return rank


def fit_weights(err: torch.Tensor, variance: torch.Tensor, bias2: torch.Tensor, level: float,
                n_directions: int = N_DIRECTIONS, a_min: float = 0.0) -> tuple:
    """(a, b) ≥ 0 of σ² = a v + b β²: the shape by Gaussian likelihood, the scale conformal.

    .. math::

        q_θ = \\cos θ\\, v / v̄ + \\sin θ\\, β² / \\bar{β²},\\quad
        θ^* = \\arg\\min_θ \\overline{\\log q_θ} + \\log \\overline{e² / q_θ},\\quad
        s = \\Big(\\frac{|e|}{z_α \\sqrt{q_{θ^*}}}\\Big)_{(⌈(n+1)α⌉)}

    (the profile likelihood of e ~ N(0, c q_θ) over c), and (a, b) = s² (cos θ* / v̄,
    sin θ* / β̄²); θ on ``n_directions`` points of [0, π/2]. For Gaussian errors of variance
    a₀ v + b₀ β² it recovers (a₀, b₀); the conformal s keeps the coverage on the calibration
    pixels ≥ α whatever the errors' law.

    Parameters
    ----------
    err, variance, bias2 : torch.Tensor
        |x − x̂|, v ≥ 0 and β² ≥ 0 on the same calibration pixels (flattened).
    level : float
        α in (0, 1).
    n_directions : int
        Points of the θ grid (≥ 2); with β² ≡ 0 only θ = 0, with v ≡ 0 only θ = π/2.
    a_min : float, default 0
        A noise floor: if the fit gives a < a_min, a = a_min and b is the smallest weight
        (bisection) with a conformal coverage ≥ α of σ² = a_min v + b β² on the pixels, so a
        smooth crop whose error is noise alone is not left with σ ≈ 0 by textured ones.

    Returns
    -------
    tuple of float
        (a, b).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> v, b2 = torch.rand(20000, generator=g) + 0.1, torch.rand(20000, generator=g) ** 4
    >>> e = torch.randn(20000, generator=g, dtype=torch.float64) * (v + 9 * b2).sqrt()
    >>> a, b = fit_weights(e.abs(), v.double(), b2.double(), 0.9)
    >>> 7 < b / a < 11   # the error's own ratio is 9
    True
    """
    check_int("n_directions", n_directions, minimum=2)
    z = normal_quantile(level)
    v_bar, b_bar = float(variance.mean()), float(bias2.mean())
    if not (v_bar > 0 or b_bar > 0):
        raise InputError("variances", variance, "a variance or a bias proxy > 0 somewhere")
    if b_bar <= 0:
        thetas = [0.0]
    elif v_bar <= 0:
        thetas = [math.pi / 2]
    else:
        thetas = [math.pi / 2 * i / (n_directions - 1) for i in range(n_directions)]
    best = None
    sq = err.to(torch.float64) ** 2
    for theta in thetas:
        wa = max(math.cos(theta), 0.0) / v_bar if v_bar > 0 else 0.0
        wb = max(math.sin(theta), 0.0) / b_bar if b_bar > 0 else 0.0
        q = wa * variance + wb * bias2
        if bool(((q <= 0) & (sq > 0)).any()):
            continue  # an error where this map says none: infinitely unlikely
        on = q > 0
        nll = float(torch.log(q[on]).mean() + torch.log((sq[on] / q[on]).mean()))
        if best is None or nll < best[0]:
            best = (nll, wa, wb)
    if best is None:
        raise InputError("variances", variance, "a variance > 0 wherever the error is not 0")
    _, wa, wb = best
    q = wa * variance + wb * bias2
    scores = torch.where(q > 0, err / (z * q.clamp_min(1e-300).sqrt()), 0.0)
    s2 = float(torch.kthvalue(scores, _conformal_rank(err.numel(), level)).values) ** 2
    if s2 * wa >= a_min or b_bar <= 0:
        return max(s2 * wa, 0.0), s2 * wb
    return float(a_min), _floor_b(err, variance, bias2, level, float(a_min), s2 * wb)


def _floor_b(err, variance, bias2, level, a, b_hi) -> float:
    """The least b in [0, b_hi'] with ⌈(n+1)α⌉ of |e| ≤ z √(a v + b β²) (bisection, 60 steps)."""
    z2, need = normal_quantile(level) ** 2, _conformal_rank(err.numel(), level)
    sq = err.to(torch.float64) ** 2

    def covered(b):
        return int((sq <= z2 * (a * variance + b * bias2)).sum()) >= need

    lo, hi = 0.0, max(b_hi, 1e-300)
    while not covered(hi):
        hi *= 2.0
    if covered(lo):
        return 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if covered(mid) else (mid, hi)
    return hi


def fit(truth, estimates, variances, *, method: str, operator: str, noise: str,
        calibration_set: str, variance_source: str = "bootstrap", shape=None,
        levels=LEVELS, level: float = 0.95, bias2=None, bias_proxy: str | None = None,
        bias_width: float | None = None, noise_floor: float = 0.0,
        **recorded) -> Calibration:
    """Fit the conformal scales s_α of a variance map on held-out pairs.

    Parameters
    ----------
    truth : torch.Tensor, shape (n_images, n_draws, ...) or (n_images, 1, ...)
        The true images (broadcast over the draws).
    estimates, variances : torch.Tensor, shape (n_images, n_draws, ...)
        x̂ and the uncalibrated variance v for each image and noise draw (v ≥ 0).
    method, operator, noise : str
        What the calibration is for (the method's name, the operator spec, the noise spec).
    calibration_set : str
        A description of the held-out data (e.g. "training crops 0-3, 128×128, 4 draws").
    variance_source : str
        ``bootstrap`` or ``posterior`` (what produced v).
    shape : tuple, optional
        The image shape calibrated on (default: the last two dims of ``truth``).
    levels : sequence of float
        The levels of the table, each in (0, 1).
    level : float, default 0.95
        The default level (added to ``levels`` if missing).
    bias2 : torch.Tensor, optional
        A bias proxy β² shaped like ``variances``: then the two-parameter weights
        (``fit_weights``) per level too, recorded with ``bias_proxy`` and ``bias_width``.
    bias_proxy : str, optional
        Its kind (``uq.bias.PROXIES``), required with ``bias2``.
    bias_width : float, optional
        Its window in pixels.
    noise_floor : float, default 0
        With ``bias2``: the two-parameter a at level α is kept ≥ noise_floor · s_α² (s_α the
        one-scale fit), ``fit_weights``'s ``a_min``; 0 is the unconstrained fit. Not on by
        default: a floor from the pooled scale over-widens rows whose error is bias (deblur
        Tikhonov, 0.5: 95 % coverage 0.99); ``uq.select`` chooses it per method on
        validation crops.
    **recorded
        ``samples``, ``estimator``, ``options``: how the variance maps were made, kept in
        the record (``Calibration`` fields).

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        For fewer than 2 calibration images, mismatched shapes, a NaN or negative variance,
        a level outside (0, 1), or too few pixels for a level (⌈(n+1)α⌉ > n).
    """
    truth, estimates = _stack("truth", truth), _stack("estimates", estimates)
    variances = _stack("variances", variances)
    if truth.shape[0] < 2:
        raise InputError("truth", f"{truth.shape[0]} image(s)", "at least 2 calibration images",
                         "one image cannot stand for the images the calibration will meet; "
                         "use held-out crops of several images")
    if estimates.shape != variances.shape or estimates.shape[0] != truth.shape[0]:
        raise InputError("variances", variances, f"the shape of estimates {tuple(estimates.shape)}"
                         f" with the images of truth {tuple(truth.shape)}")
    if not bool(torch.isfinite(variances).all()) or bool((variances < 0).any()):
        raise InputError("variances", variances, "finite non-negative variances")
    if bias2 is not None:
        bias2 = _stack("bias2", bias2)
        if bias2.shape != variances.shape or not bool(torch.isfinite(bias2).all()) \
                or bool((bias2 < 0).any()):
            raise InputError("bias2", bias2, f"finite values ≥ 0 of shape {tuple(variances.shape)}")
        if bias_proxy is None:
            raise InputError("bias_proxy", None, "the kind of bias2 (uq.bias.PROXIES)")
    levels = sorted({float(v) for v in levels} | {float(level)})
    for value in levels:
        normal_quantile(value)
    err = (estimates - truth).abs()
    # a pixel known exactly (v = 0 and no error, e.g. outside CT's disk) is left out: it is
    # always covered, and counting it would lower the coverage of the others
    known = ((variances == 0) & (err == 0)).flatten()
    scores = (err / variances.sqrt()).flatten()[~known]
    n = scores.numel()
    ordered = torch.sort(scores).values
    scales = {}
    for value in levels:
        rank = _conformal_rank(n, value)
        s = float(ordered[rank - 1]) / normal_quantile(value)
        if not math.isfinite(s):
            raise InputError("variances", variances, "a variance > 0 wherever the error is not 0")
        scales[_key(value)] = s
    weights = None if bias2 is None else {
        _key(value): list(fit_weights(err.flatten()[~known], variances.flatten()[~known],
                                      bias2.flatten()[~known], value,
                                      a_min=noise_floor * scales[_key(value)] ** 2))
        for value in levels}
    shape = tuple(int(s) for s in (shape or truth.shape[-2:]))
    return Calibration(method=method, variance_source=variance_source, operator=operator,
                       shape=shape, noise=noise, level=float(level), scales=scales,
                       calibration_set=calibration_set, n_images=int(truth.shape[0]),
                       n_draws=int(estimates.shape[1]), n_pixels=int(n), weights=weights,
                       bias_proxy=None if bias2 is None else bias_proxy,
                       bias_width=None if bias2 is None else bias_width,
                       noise_floor=float(noise_floor) if bias2 is not None else 0.0, **recorded)


def draws(estimate, pairs, noise, n_draws: int = 4, seed: int = 0):
    """Run ``estimate`` on held-out pairs measured with ``n_draws`` fresh noise draws each.

    Parameters
    ----------
    estimate : callable
        ``(y, op) -> anything`` (``uq.select.Maps`` for ``select``).
    pairs : list of (x, op)
        Clean held-out images (1, 1, H, W) and their operators (never test images).
    noise : NoiseModel or str
        The noise of the measurements.
    n_draws : int, default 4
        Noise draws per image; draw d of image i uses seed ``seed + 1000 i + d``.
    seed : int

    Returns
    -------
    truth : torch.Tensor, shape (n, 1, ...)
        The clean images (float64).
    outputs : list of list
        ``outputs[i][d]``: what ``estimate`` returned for draw d of image i.
    """
    from physinv.noise import simulate

    check_int("n_draws", n_draws, minimum=1)
    outputs = [[estimate(simulate(x, op, noise, seed=seed + 1000 * i + d), op)
                for d in range(n_draws)] for i, (x, op) in enumerate(pairs)]
    truth = torch.stack([x.to(torch.float64)[None] for x, _ in pairs])
    return truth, outputs
