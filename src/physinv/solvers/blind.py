r"""Parametric blind deconvolution: the PSF's parameters estimated from the measurement alone.

The PSF's few parameters θ (a Gaussian's σ, a disk's radius, an Airy pattern's first zero, a
linear motion's length and angle) are hyper-parameters like the noise variance v_ε and the prior
variance v_f, and are chosen the same way: by maximising the marginal likelihood (evidence) of
the Gaussian model

.. math::

    g = h_\theta \circledast f + \varepsilon, \quad
    \varepsilon \sim \mathcal N(0, v_\varepsilon I), \quad
    f \sim \mathcal N\big(0, v_f\, (D^{\mathsf T}D)^{-p}\big),

which is exact in Fourier for a circular blur: each coefficient ĝ_k (k ≠ 0) is an independent
complex Gaussian of variance n·s_k with

.. math:: s_k(\theta) = v_f\, |\hat h_{\theta,k}|^2\, |\hat d_k|^{-2p} + v_\varepsilon ,

so that, with P_k = |ĝ_k|²/n and weights w_k counting each conjugate pair once,

.. math:: -\log p(g \mid \theta, v_f, v_\varepsilon) = \sum_k w_k
          \Big(\log s_k + \frac{P_k}{s_k}\Big) + \text{const}.

For a fixed ratio r = v_f / v_ε the noise variance has a closed form, v̂_ε = Σ w P_k/(r a_k + 1)
/ Σ w (a_k = |ĥ_k|²|d̂_k|^{−2p}), so the criterion is profiled over (log r, p) by a bounded
search, and θ is chosen on a grid refined by a bounded scalar search (two parameters: a grid,
then Nelder–Mead). The zero frequency (the image mean, on which the gradient prior says
nothing) is left out. The uncertainty of θ is read from the curvature of the profiled
criterion, σ_θ² ≈ 1 / ∂²(−log p)/∂θ² (its Hessian's inverse for two parameters).

Photographs are not periodic: with ``boundary="reflect"`` the criterion is computed on the
periodic component of Moisan's periodic-plus-smooth decomposition of g, which removes the
border discontinuities' cross in the spectrum without windowing the image.

An image drawn from the model itself (white: p = 0), blurred with σ = 2:

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> gen = torch.Generator().manual_seed(0)
>>> x = torch.randn(1, 1, 64, 64, generator=gen, dtype=torch.float64)
>>> y = Convolution(psf.gaussian(2.0), (64, 64))(x) + 1e-3 * torch.randn(
...     1, 1, 64, 64, generator=gen, dtype=torch.float64)
>>> est = estimate_psf(y, "gaussian", exponent=0.0)
>>> abs(est.params["sigma"] - 2.0) < 0.1, est.std["sigma"] < 0.1
(True, True)

A free-form kernel (no family, only a support) is ``physinv.solvers.blind_kernel``; the
specs ``blur:free:size=N`` of ``resolve_auto`` go there.

On photographs the estimate includes the image's own blur (a soft photograph looks like a
sharp one blurred), and the prior's fit to its spectrum limits the accuracy:
``benchmarks/blind_psf.py`` measures it on the protocol's images.

References
----------
.. [1] R. Molina, J. Mateos, A. K. Katsaggelos, "Blind deconvolution using a variational
   approach to parameter, image, and blur estimation", IEEE TIP 15(12), 2006.
.. [2] L. Moisan, "Periodic plus smooth image decomposition", J. Math. Imaging Vis. 39, 2011.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import optimize

from physinv.errors import InputError
from physinv.operators import Convolution, psf
from physinv.operators.blur import embed_centered

# parameters of each PSF family and their search ranges (pixels; motion angle in degrees)
KINDS: dict[str, dict[str, tuple[float, float]]] = {
    "gaussian": {"sigma": (0.3, 8.0)},
    "disk": {"radius": (0.5, 12.0)},
    "airy": {"first_zero": (0.8, 12.0)},
    "motion": {"length": (1.0, 31.0), "angle": (0.0, 180.0)},
}
EXPONENTS = (0.2, 2.6)  # the range of the prior exponent p searched with ``exponent="auto"``


@dataclass
class PSFEstimate:
    """A PSF estimated from a measurement.

    Parameters
    ----------
    kind : str
        The PSF family (``"gaussian"``, ``"disk"``, ``"airy"``, ``"motion"``).
    params : dict
        The estimated parameters (pixels; degrees for a motion's angle).
    std : dict
        Their standard deviations from the criterion's curvature (None where it is flat).
    psf : torch.Tensor
        The estimated PSF, shape (kh, kw), float64, sums to 1.
    noise_var, prior_var : float
        The estimated v_ε and v_f; ``exponent`` the prior's p.
    exponent : float
        The prior exponent p used (chosen by the evidence with ``exponent="auto"``).
    criterion : dict
        ``{"grid": [...], "value": [...]}``: −log evidence along the parameter's search grid
        (for two parameters, along the first one at the best second one).
    notes : list of str
        Warnings (an estimate at the end of its search range).
    restored : torch.Tensor, optional
        The restoration with the estimated PSF, where the estimator computes one (free-form).
    seconds : float, optional
        The estimator's wall-clock time.
    boundary : str
        The boundary the estimate was made for (``operator``'s default).
    """

    kind: str
    params: dict
    std: dict
    psf: torch.Tensor
    noise_var: float
    prior_var: float
    exponent: float
    criterion: dict
    notes: list = field(default_factory=list)
    restored: torch.Tensor | None = None
    seconds: float | None = None
    boundary: str = "circular"

    def operator(self, shape, boundary: str | None = None) -> Convolution:
        """The convolution with the estimated PSF on an image of ``shape`` (by default with
        the boundary the estimate was made for)."""
        return Convolution(self.psf, tuple(shape), boundary=boundary or self.boundary)


def periodic_component(y: torch.Tensor) -> torch.Tensor:
    """Moisan's periodic component p of y = p + s (s smooth, p periodic-looking).

    Parameters
    ----------
    y : torch.Tensor, shape (..., H, W)
        Images.

    Returns
    -------
    torch.Tensor
        p, same shape and dtype: the image minus the smooth function whose Laplacian is the
        jump of y across its borders (periodised).
    """
    v = torch.zeros_like(y)
    v[..., 0, :] += y[..., -1, :] - y[..., 0, :]
    v[..., -1, :] += y[..., 0, :] - y[..., -1, :]
    v[..., :, 0] += y[..., :, -1] - y[..., :, 0]
    v[..., :, -1] += y[..., :, 0] - y[..., :, -1]
    h, w = y.shape[-2:]
    cy = torch.cos(2 * math.pi * torch.arange(h, dtype=torch.float64) / h)
    cx = torch.cos(2 * math.pi * torch.arange(w, dtype=torch.float64) / w)
    den = (2 * cy[:, None] + 2 * cx[None, :] - 4).to(y.dtype)
    den[0, 0] = 1.0
    s_hat = torch.fft.fft2(v) / den
    s_hat[..., 0, 0] = 0.0
    return y - torch.fft.ifft2(s_hat).real


def _spectrum(y: torch.Tensor, boundary: str):
    """(P_k, w_k, |d̂_k|²) on the rfft2 half-plane without the zero frequency, summed over
    the batch and channels as independent images."""
    if boundary not in ("circular", "reflect"):
        raise InputError("boundary", boundary, "'circular' or 'reflect'")
    g = y.to(torch.float64)
    if boundary == "reflect":
        g = periodic_component(g)
    h, w = g.shape[-2:]
    n = h * w
    power = (torch.fft.rfft2(g).abs() ** 2 / n).reshape(-1, h, w // 2 + 1)
    weights = torch.ones(h, w // 2 + 1, dtype=torch.float64)
    weights[:, 0] = 0.5
    if w % 2 == 0:
        weights[:, -1] = 0.5
    weights[0, 0] = 0.0
    wy = 2 * math.pi * torch.fft.fftfreq(h, dtype=torch.float64)
    wx = 2 * math.pi * torch.fft.rfftfreq(w, dtype=torch.float64)
    d2 = 4 * torch.sin(wy / 2)[:, None] ** 2 + 4 * torch.sin(wx / 2)[None, :] ** 2
    keep = weights > 0
    return power[:, keep].numpy(), weights[keep].numpy(), d2[keep].numpy()


def _otf_power(kernel: torch.Tensor, shape, full: bool = False) -> np.ndarray:
    """|ĥ|² of a centred kernel on the rfft2 (or, ``full``, fft2) grid of ``shape``."""
    kernel = embed_centered(kernel.to(torch.float64), tuple(shape))
    otf = torch.fft.fft2(kernel) if full else torch.fft.rfft2(kernel)
    return (otf.abs() ** 2).numpy()


def _gradient_power(shape) -> np.ndarray:
    """|d̂|² = 4 sin²(ω_y/2) + 4 sin²(ω_x/2) on the full fft2 grid of ``shape``."""
    wy = 2 * np.pi * np.fft.fftfreq(shape[0])
    wx = 2 * np.pi * np.fft.fftfreq(shape[1])
    return 4 * np.sin(wy / 2)[:, None] ** 2 + 4 * np.sin(wx / 2)[None, :] ** 2


def _full_spectrum(y: torch.Tensor, boundary: str):
    """(P_k, w_k) on the full fft2 grid without k = 0 (weights ½: pairs count once)."""
    if boundary not in ("circular", "reflect"):
        raise InputError("boundary", boundary, "'circular' or 'reflect'")
    g = y.to(torch.float64)
    if boundary == "reflect":
        g = periodic_component(g)
    h, w = g.shape[-2:]
    power = (torch.fft.fft2(g).abs() ** 2 / (h * w)).reshape(-1, h * w)[:, 1:].numpy()
    return power, np.full(h * w - 1, 0.5)


def _profile(a: np.ndarray, power: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """min over log r of the criterion for s_k = v_ε (r a_k + 1); returns (value, log r)."""
    total = weights.sum() * power.shape[0]

    def value(log_r: float) -> float:
        scale = np.exp(log_r) * a + 1.0
        v_eps = float((weights * (power / scale).sum(0)).sum() / total)
        return float(total * math.log(max(v_eps, 1e-300))
                     + power.shape[0] * (weights * np.log(scale)).sum())

    grid = np.linspace(-5.0, 25.0, 31)
    values = [value(v) for v in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(value, bounds=(lo, hi), method="bounded",
                                     options={"xatol": 1e-4})
    return float(found.fun), float(found.x)


class _Criterion:
    """−log evidence as a function of the PSF parameters, profiled over (v_f, v_ε, p).

    ``kernel_fn(params)`` gives the PSF on the object grid; with ``factor`` d > 1 the
    measurement is that blur decimated by d, and each measured frequency's variance sums the
    d² aliases folded onto it: s_k = v_f Σ_j |ĥ_{k_j}|² |d̂_{k_j}|^{−2p} + v_ε (full fft2
    layout, every k ≠ 0 with weight ½: each conjugate pair counts once)."""

    def __init__(self, y, kernel_fn: Callable[[dict], torch.Tensor], boundary: str,
                 exponents, factor: int = 1):
        self.kernel_fn, self.factor = kernel_fn, int(factor)
        self.shape = tuple(y.shape[-2:])
        if self.factor == 1:
            self.power, self.weights, self.d2 = _spectrum(y, boundary)
            half = (self.shape[0], self.shape[1] // 2 + 1)
            self.keep = np.ones(half, dtype=bool)
            self.keep[0, 0] = False
        else:
            self.power, self.weights = _full_spectrum(y, boundary)
            hr = (self.shape[0] * self.factor, self.shape[1] * self.factor)
            d2 = _gradient_power(hr)
            d2[0, 0] = 1.0  # the improper direction folds onto k = 0, which is left out
            self.d2 = d2
        self.exponents = tuple(exponents)
        self.cache: dict = {}

    def kernel(self, params: dict) -> torch.Tensor:
        return self.kernel_fn(params)

    def _signal(self, params: dict):
        """p ↦ a_k(p), the prior's per-frequency signal gain at the measured frequencies."""
        if self.factor == 1:
            h2 = _otf_power(self.kernel(params), self.shape)[self.keep]
            log_d2 = np.log(self.d2)
            return lambda p: h2 * np.exp(-p * log_d2)
        d, (h, w) = self.factor, self.shape
        h2 = _otf_power(self.kernel(params), (h * d, w * d), full=True)
        log_d2 = np.log(self.d2)

        def fold(p: float) -> np.ndarray:
            a = (h2 * np.exp(-p * log_d2)).reshape(d, h, d, w).sum(axis=(0, 2))
            return a.reshape(-1)[1:]

        return fold

    def __call__(self, params: dict) -> tuple[float, float, float]:
        """(criterion, log r, p) at ``params``."""
        key = tuple(round(float(v), 10) for v in params.values())
        if key not in self.cache:
            signal = self._signal(params)

            def at(p: float) -> tuple[float, float]:
                return _profile(signal(p), self.power, self.weights)

            if len(self.exponents) == 1:
                p = self.exponents[0]
            else:
                p = float(optimize.minimize_scalar(
                    lambda q: at(q)[0], bounds=self.exponents, method="bounded",
                    options={"xatol": 0.01}).x)
            value, log_r = at(p)
            self.cache[key] = (value, log_r, p)
        return self.cache[key]

    def variances(self, params: dict) -> tuple[float, float, float]:
        """(v_ε, v_f, p) at ``params``."""
        _, log_r, p = self(params)
        scale = math.exp(log_r) * self._signal(params)(p) + 1.0
        total = self.weights.sum() * self.power.shape[0]
        v_eps = float((self.weights * (self.power / scale).sum(0)).sum() / total)
        return v_eps, v_eps * math.exp(log_r), p


def _curvature(fn: Callable[[float], float], x: float, step: float) -> float | None:
    """1 / f''(x) by central differences (None where f is not convex there)."""
    f0, fp, fm = fn(x), fn(x + step), fn(x - step)
    second = (fp - 2 * f0 + fm) / step**2
    return 1.0 / second if second > 0 and math.isfinite(second) else None


def _check_measurement(y) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.ndim != 4:
        raise InputError("y", getattr(y, "shape", type(y).__name__),
                         "a (B, C, H, W) tensor")
    if not bool(torch.isfinite(y).all()):
        raise InputError("y", "non-finite values", "a finite measurement")
    if float(y.double().std()) <= 1e-12 * max(1.0, float(y.double().abs().max())):
        raise InputError("y", "a constant image", "a measurement with structure",
                         "a flat image carries no information on the blur")
    return y


def _search_1d(crit: _Criterion, name: str, lo: float, hi: float, n: int = 40):
    grid = np.geomspace(lo, hi, n)
    values = [crit({name: float(v)})[0] for v in grid]
    i = int(np.argmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, n - 1)]
    found = optimize.minimize_scalar(lambda v: crit({name: float(v)})[0], bounds=(a, b),
                                     method="bounded", options={"xatol": 1e-4 * a})
    best = float(found.x)
    var = _curvature(lambda v: crit({name: v})[0], best, max(1e-3, 0.01 * best))
    edge = i in (0, n - 1)
    return {name: best}, {name: None if var is None else math.sqrt(var)}, \
        {"grid": [float(v) for v in grid], "value": [float(v) for v in values]}, edge


def _search_motion(crit: _Criterion, bounds: dict, coarse: _Criterion):
    """A (length, angle) grid on ``coarse`` (the prior exponent fixed: the spectral zeros
    of a motion blur place it), then Nelder–Mead on ``crit``."""
    (l_lo, l_hi), (a_lo, a_hi) = bounds["length"], bounds["angle"]
    lengths = np.arange(max(l_lo, 1.0), l_hi + 1e-9, 1.0)
    angles = np.arange(a_lo, a_hi, 7.5)
    table = np.array([[coarse({"length": float(ln), "angle": float(an)})[0] for an in angles]
                      for ln in lengths])
    i, j = np.unravel_index(int(np.argmin(table)), table.shape)

    def objective(v):
        length = float(np.clip(v[0], l_lo, l_hi))
        return crit({"length": length, "angle": float(v[1]) % 180.0})[0]

    found = optimize.minimize(objective, [lengths[i], angles[j]], method="Nelder-Mead",
                              options={"xatol": 0.02, "fatol": 1e-3, "initial_simplex": [
                                  [lengths[i], angles[j]], [lengths[i] + 1.0, angles[j]],
                                  [lengths[i], angles[j] + 5.0]]})
    best = {"length": float(np.clip(found.x[0], l_lo, l_hi)),
            "angle": float(found.x[1]) % 180.0}
    std = {k: None for k in best}
    hess = _hessian(objective, np.array([best["length"], best["angle"]]), (0.05, 0.5))
    if hess is not None:
        std = {"length": math.sqrt(hess[0, 0]), "angle": math.sqrt(hess[1, 1])}
    criterion = {"grid": [float(v) for v in lengths], "value": [float(v) for v in table[:, j]],
                 "angles": [float(v) for v in angles]}
    edge = i in (0, len(lengths) - 1)
    return best, std, criterion, edge


def _hessian(fn, x: np.ndarray, steps) -> np.ndarray | None:
    """The inverse Hessian of ``fn`` at ``x`` by central differences (None if not convex)."""
    n = len(x)
    hess = np.zeros((n, n))
    f0 = fn(x)
    for a in range(n):
        for b in range(n):
            ea, eb = np.eye(n)[a] * steps[a], np.eye(n)[b] * steps[b]
            if a == b:
                hess[a, a] = (fn(x + ea) - 2 * f0 + fn(x - ea)) / steps[a] ** 2
            else:
                hess[a, b] = (fn(x + ea + eb) - fn(x + ea - eb) - fn(x - ea + eb)
                              + fn(x - ea - eb)) / (4 * steps[a] * steps[b])
    try:
        eig = np.linalg.eigvalsh(hess)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.inv(hess) if np.all(eig > 0) else None


def estimate_psf(y: torch.Tensor, kind: str = "gaussian", *, size=None,
                 bounds: dict | None = None, boundary: str = "circular",
                 exponent: float | str = "auto", fixed: dict | None = None) -> PSFEstimate:
    """Estimate a parametric PSF from the measurement ``y`` alone (see the module docstring).

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, H, W)
        The blurred, noisy measurement(s) (several images share the PSF).
    kind : {"gaussian", "disk", "airy", "motion"}
        The PSF family; its parameters are ``KINDS[kind]``.
    size : int or tuple of int, optional
        The PSF support in pixels (default: the family's own from the parameters).
    bounds : dict, optional
        Search ranges per parameter, e.g. ``{"sigma": (0.5, 5.0)}`` (default ``KINDS``).
    boundary : {"circular", "reflect"}
        ``"reflect"`` for photographs: the criterion uses the periodic component of y.
    exponent : float or "auto"
        The prior's exponent p (1: the gradient prior); ``"auto"`` chooses it in the range
        ``EXPONENTS`` by the evidence too (a bounded scalar search for each θ).
    fixed : dict, optional
        Parameters known and kept (e.g. ``{"angle": 30.0}`` for a motion of known direction).

    Returns
    -------
    PSFEstimate
        Parameters, their standard deviations, the PSF, v_ε, v_f, p, the criterion along the
        search grid and notes (a warning is also issued when an estimate sits at the end of
        its search range).

    Raises
    ------
    InputError
        For an unknown kind, bad bounds, a non-finite or constant measurement.
    """
    if kind not in KINDS:
        raise InputError("kind", kind, f"one of {', '.join(KINDS)}")
    y = _check_measurement(y)
    ranges = dict(KINDS[kind])
    for name, value in (bounds or {}).items():
        if name not in ranges:
            raise InputError("bounds", name, f"parameters of {kind}: {', '.join(ranges)}")
        lo, hi = (float(v) for v in value)
        if not (0 <= lo < hi and math.isfinite(hi)):
            raise InputError("bounds", value, "(low, high) with 0 ≤ low < high")
        ranges[name] = (lo, hi)
    fixed = dict(fixed or {})
    for name in fixed:
        if name not in ranges:
            raise InputError("fixed", name, f"parameters of {kind}: {', '.join(ranges)}")
    free = {k: v for k, v in ranges.items() if k not in fixed}
    if not free:
        raise InputError("kind", kind, "at least one parameter to estimate (all are fixed)")
    exponents = EXPONENTS if exponent == "auto" else (float(exponent),)
    def kernel_fn(params):
        return psf.from_name(kind, **fixed, **params, size=size)

    crit = _Criterion(y, kernel_fn, boundary, exponents)
    if len(free) == 2:
        coarse = _Criterion(y, kernel_fn, boundary, (1.0,)) if len(exponents) > 1 else crit
        params, std, criterion, edge = _search_motion(crit, ranges, coarse)
    else:
        (name, (lo, hi)), = free.items()
        params, std, criterion, edge = _search_1d(crit, name, lo, hi)
    ranges = free
    notes = []
    if edge:
        text = (f"the estimate {params} lies at the end of the search range {ranges}: widen "
                "bounds= (or the PSF is not of this kind)")
        notes.append(text)
        warnings.warn(text, RuntimeWarning, stacklevel=2)
    v_eps, v_f, p = crit.variances(params)
    return PSFEstimate(kind, {**fixed, **params}, std, crit.kernel(params), v_eps, v_f, p,
                       criterion, notes)


def resolve_auto(spec: str, y: torch.Tensor, argument: str = "op"
                 ) -> tuple[str, PSFEstimate | None]:
    """An operator spec whose ``auto`` PSF parameters are estimated from ``y``.

    ``blur:gaussian:sigma=auto`` → ``blur:gaussian:sigma=1.97,size=…`` (the PSF's other
    keywords — ``size``, ``boundary`` — kept; ``boundary=reflect`` estimates on the periodic
    component). A spec without ``auto`` is returned as it is, with None.

    Parameters
    ----------
    spec : str
        An operator spec (``physinv.operators.spec``).
    y : torch.Tensor, shape (B, C, H, W)
        The measurement.
    argument : str
        The option the spec came from, for error messages.

    Returns
    -------
    (str, PSFEstimate or None)
        The spec with numbers in place of ``auto``, and the estimate.

    Examples
    --------
    >>> resolve_auto("blur:gaussian:sigma=2", None)
    ('blur:gaussian:sigma=2', None)
    """
    from physinv.specs import parse_spec

    kind, words, params = parse_spec(spec, argument)
    if kind == "blur" and words == ["free"]:
        return spec, _resolve_free(spec, y, params, argument)
    if "auto" not in spec.lower():
        return spec, None
    auto = [k for k, v in params.items() if isinstance(v, str) and v.lower() == "auto"]
    if kind != "blur" or len(words) != 1 or words[0] not in KINDS:
        raise InputError(argument, spec, "'auto' only for the parameters of a PSF "
                         f"family: blur:{{{','.join(KINDS)}}}:<parameter>=auto")
    family = words[0]
    unknown = [k for k in auto if k not in KINDS[family]]
    if unknown:
        raise InputError(argument, spec, f"'auto' for {', '.join(KINDS[family])} "
                         f"(not {', '.join(unknown)})", "the support size cannot be estimated")
    known = {k: v for k, v in params.items() if k in KINDS[family] and k not in auto}
    est = estimate_psf(y, family, size=params.get("size"), fixed=known,
                       boundary=params.get("boundary", "circular"))
    values = {**params, **{k: round(float(est.params[k]), 4) for k in auto}}
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f"blur:{family}:{text}", est


def _resolve_free(spec: str, y, params: dict, argument: str) -> PSFEstimate:
    from physinv.solvers.blind_kernel import estimate_kernel

    unknown = sorted(set(params) - {"size", "boundary"})
    if unknown or "size" not in params:
        raise InputError(argument, spec, "blur:free:size=N[,boundary=reflect] (the support "
                         "size N, odd)" + (f", not {', '.join(unknown)}" if unknown else ""))
    if isinstance(params["size"], str):
        raise InputError(argument, spec, "a number for size", "the support size cannot be "
                         "estimated: give an odd upper bound of the blur's extent")
    return estimate_kernel(y, params["size"], boundary=params.get("boundary", "circular"))


def estimate_parameter(y: torch.Tensor, kernel_fn: Callable[[float], torch.Tensor],
                       name: str, bounds: tuple[float, float], *, factor: int = 1,
                       boundary: str = "circular", exponent: float | str = "auto",
                       kind: str = "custom") -> PSFEstimate:
    """Estimate one parameter of any PSF family from ``y``, also through a decimation.

    The same evidence as ``estimate_psf``; with ``factor`` d > 1 the model is
    g = S_d(h_θ ⊛ f) + ε (blur on the object grid, then keeping one pixel in d × d) and each
    measured frequency's variance sums its d² aliases — the super-resolution camera.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, h, w)
        The measurement(s), on the decimated grid when ``factor`` > 1.
    kernel_fn : callable
        ``kernel_fn(value) -> psf`` on the object grid, shape (kh, kw), summing to 1.
    name : str
        The parameter's name (for the result and messages).
    bounds : (float, float)
        Its search range.
    factor : int
        The decimation factor d.
    boundary, exponent
        As for ``estimate_psf``.
    kind : str
        The family's name recorded in the result.

    Returns
    -------
    PSFEstimate

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import SuperResolution, psf
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = torch.randn(1, 1, 64, 64, generator=gen, dtype=torch.float64)
    >>> y = SuperResolution(psf.gaussian(3.0), (64, 64), 2)(x)
    >>> est = estimate_parameter(y + 1e-3 * torch.randn(y.shape, generator=gen,
    ...     dtype=torch.float64), lambda s: psf.gaussian(s), "sigma", (1.0, 6.0), factor=2,
    ...     exponent=0.0)
    >>> abs(est.params["sigma"] - 3.0) < 0.15
    True
    """
    y = _check_measurement(y)
    lo, hi = (float(v) for v in bounds)
    if not (0 <= lo < hi and math.isfinite(hi)):
        raise InputError("bounds", bounds, "(low, high) with 0 ≤ low < high")
    if int(factor) < 1:
        raise InputError("factor", factor, "an integer ≥ 1")
    exponents = EXPONENTS if exponent == "auto" else (float(exponent),)
    crit = _Criterion(y, lambda params: kernel_fn(params[name]), boundary, exponents,
                      int(factor))
    params, std, criterion, edge = _search_1d(crit, name, max(lo, 1e-6), hi)
    notes = []
    if edge:
        text = (f"the estimate {params} lies at the end of the search range {name} ∈ "
                f"[{lo}, {hi}]: widen bounds=")
        notes.append(text)
        warnings.warn(text, RuntimeWarning, stacklevel=2)
    v_eps, v_f, p = crit.variances(params)
    return PSFEstimate(kind, params, std, crit.kernel(params), v_eps, v_f, p, criterion, notes)
