"""Choosing λ without ground truth: GCV, discrepancy principle, L-curve, evidence.

On a spectral path (see ``spectral``) every criterion is a closed-form sum over the
generalised eigenvalues γᵢ and the data's coefficients pᵢ = |ĝᵢ|², with filter
fᵢ = γᵢ / (γᵢ + λ) (on the Fourier paths the zero frequency is left out: a flat prior on the
image mean, without which D = I makes every rule under-regularise photographs):

- residual ‖g − Hx_λ‖² = Σ (1 − fᵢ)² pᵢ (+ the energy of g outside the basis' span);
- GCV(λ) = m ‖g − Hx_λ‖² / (m − Σ fᵢ)²  (Golub, Heath & Wahba 1979), minimised;
- discrepancy: ‖g − Hx_λ‖² / m = τ σ²  (Morozov), σ given or estimated (``estimate_sigma``);
- L-curve: the corner (maximum curvature) of (log ‖g − Hx_λ‖, log ‖Dx_λ‖), ‖Dx_λ‖² = Σ fᵢ² pᵢ/γᵢ;
- evidence: the Gaussian model ĝᵢ ~ N(0, v_f γᵢ + v_ε) is maximised over (v_f, v_ε); for a
  fixed λ = v_ε / v_f, v_ε has a closed form, so the search is one-dimensional.

Elsewhere (Radon, reflect boundaries, gradient regularisers without Fourier structure) the same
criteria are evaluated with conjugate-gradient solves, and GCV's trace by Hutchinson's
randomised estimator tr(A) ≈ mean zᵀAz over Rademacher probes z.
"""

from __future__ import annotations

import math

import torch
from scipy.optimize import brentq, minimize_scalar

from physinv.errors import InputError
from physinv.noise import estimate_sigma

RULES = ("gcv", "discrepancy", "lcurve", "evidence")


def _grid(gamma: torch.Tensor, n: int = 46) -> torch.Tensor:
    finite = gamma[torch.isfinite(gamma) & (gamma > 0)]
    scale = float(finite.max()) if finite.numel() else 1.0
    return torch.logspace(math.log10(scale) - 12, math.log10(scale) + 3, n, dtype=torch.float64)


def _terms(lams: torch.Tensor, gamma: torch.Tensor, power: torch.Tensor):
    """Per-λ (residual, trace, ‖Dx‖²) summed over images: lams (L,), gamma (k,), power (k,)."""
    g = gamma[None, :]
    lam = lams[:, None]
    inf = torch.isinf(g)
    f = torch.where(inf, 1.0, g / (g + lam))
    resid = ((1 - f) ** 2 * power).sum(-1)
    trace = f.sum(-1)
    safe = torch.where(inf | (g <= 0), 1.0, g)
    seminorm = torch.where(inf | (g <= 0), 0.0, f**2 * power / safe).sum(-1)
    return resid, trace, seminorm


def _refine(objective, lams: torch.Tensor, values: torch.Tensor) -> float:
    i = int(torch.argmin(values))
    lo = math.log(float(lams[max(i - 1, 0)]))
    hi = math.log(float(lams[min(i + 1, len(lams) - 1)]))
    if hi <= lo:
        return float(lams[i])
    res = minimize_scalar(lambda t: float(objective(torch.tensor([math.exp(t)],
                                                                 dtype=torch.float64))[0]),
                          bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    return math.exp(res.x)


def choose_lambda_spectral(spec, y: torch.Tensor, rule: str, noise_sigma: float | None = None,
                           tau: float = 1.0) -> dict:
    """Choose the Tikhonov weight λ by a rule, in closed form on a spectral path.

    With γᵢ the generalised eigenvalues of (H, D), pᵢ = |ĝᵢ|² the data's energy in the basis,
    fᵢ = γᵢ/(γᵢ + λ) and m measurements (the zero frequency left out on the Fourier paths):

    .. math::

        ‖g − Hx_λ‖² = Σᵢ (1 − fᵢ)² pᵢ,    GCV(λ) = m ‖g − Hx_λ‖² / (m − Σᵢ fᵢ)²

    GCV is minimised; the discrepancy rule solves ‖g − Hx_λ‖² / m = τσ²; the L-curve takes
    the point of maximum curvature of (log ‖g − Hx_λ‖, log ‖Dx_λ‖); the evidence maximises
    the marginal likelihood of ĝᵢ ~ N(0, v_f γᵢ + v_ε) over (v_f, v_ε), λ = v_ε / v_f.

    Parameters
    ----------
    spec : Spectrum
        The spectral path of (H, D), from ``physinv.solvers.spectral.spectrum(op, reg)``.
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g; the criteria are summed over the batch (one λ for all images).
    rule : {"gcv", "discrepancy", "lcurve", "evidence"}
        The criterion.
    noise_sigma : float, optional
        Noise standard deviation σ for the discrepancy rule, in data units (estimated from
        ``y`` by ``physinv.noise.estimate_sigma`` when not given).
    tau : float, default 1.0
        Safety factor τ of the discrepancy rule.

    Returns
    -------
    dict
        ``lam`` (the chosen λ) and ``rule``; the discrepancy adds ``noise_sigma`` (and a
        ``note`` when the noise level lies outside the λ range searched), the evidence
        ``noise_var`` (v_ε) and ``prior_var`` (v_f).

    Raises
    ------
    InputError
        For an unknown rule.

    Notes
    -----
    λ is searched on 46 log-spaced values from 10⁻¹² to 10³ times the largest finite γᵢ, then
    refined: GCV and the evidence by bounded minimisation in log λ between the neighbours of
    the best grid value, the discrepancy by Brent's root finding, the L-curve's corner on 400
    log-spaced values. For a fixed λ the evidence's v_ε has a closed form, so its search is
    one-dimensional.

    References
    ----------
    .. [1] G. H. Golub, M. Heath, G. Wahba, "Generalized cross-validation as a method for
           choosing a good ridge parameter", Technometrics 21(2), 215–223, 1979.
    .. [2] V. A. Morozov, "On the solution of functional equations by the method of
           regularization", Soviet Mathematics Doklady 7, 414–417, 1966.
    .. [3] P. C. Hansen, D. P. O'Leary, "The use of the L-curve in the regularization of
           discrete ill-posed problems", SIAM J. Sci. Comput. 14(6), 1487–1503, 1993.
    .. [4] D. J. C. MacKay, "Bayesian interpolation", Neural Computation 4(3), 415–447, 1992.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers.hyper import choose_lambda_spectral
    >>> from physinv.solvers.spectral import spectrum
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> found = choose_lambda_spectral(spectrum(op, "gradient"), y, "evidence")
    >>> sorted(found), 0 < found["lam"] < 1
    (['lam', 'noise_var', 'prior_var', 'rule'], True)
    """
    if rule not in RULES:
        raise InputError("lam", rule, f"a number >= 0 or one of {RULES}")
    power_b, outside_b = spec.coefficients(y)
    n_images = power_b.shape[0] * power_b.shape[1]
    power = power_b.reshape(n_images, -1).sum(0).cpu()
    outside = float(outside_b.sum())
    gamma = spec.gamma.to(torch.float64).cpu()
    m = spec.n_measurements
    if spec.path in ("fourier", "polyphase"):
        # the image mean (zero frequency) is left out of every criterion, as under a flat
        # prior on it: a zero-mean prior on a photograph's mean otherwise dominates them
        power, gamma, m = power[1:], gamma[1:], m - 1
    lams = _grid(gamma)

    if rule == "gcv":
        def objective(lv):
            resid, trace, _ = _terms(lv, gamma, power)
            return m * (resid + outside) / (m - trace).clamp_min(1e-12) ** 2

        values = objective(lams)
        return {"lam": _refine(objective, lams, values), "rule": rule}

    if rule == "discrepancy":
        sigma = estimate_sigma(y) if noise_sigma is None else float(noise_sigma)
        target = tau * sigma**2 * m * n_images

        def gap(log_lam):
            resid, _, _ = _terms(torch.tensor([math.exp(log_lam)], dtype=torch.float64),
                                 gamma, power)
            return float(resid[0]) + outside - target

        lo, hi = math.log(float(lams[0])), math.log(float(lams[-1]))
        if gap(lo) >= 0:
            return {"lam": math.exp(lo), "rule": rule, "noise_sigma": sigma,
                    "note": "residual above the noise level even for the smallest λ"}
        if gap(hi) <= 0:
            return {"lam": math.exp(hi), "rule": rule, "noise_sigma": sigma,
                    "note": "residual below the noise level even for the largest λ"}
        return {"lam": math.exp(brentq(gap, lo, hi, xtol=1e-6)), "rule": rule,
                "noise_sigma": sigma}

    if rule == "lcurve":
        dense = torch.logspace(math.log10(float(lams[0])), math.log10(float(lams[-1])), 400,
                               dtype=torch.float64)
        resid, _, semi = _terms(dense, gamma, power)
        return {"lam": _corner(dense, resid + outside, semi), "rule": rule}

    # evidence: ĝᵢ ~ N(0, v_f γᵢ + v_ε), λ = v_ε / v_f; drop γ = ∞ (improper prior directions)
    keep = torch.isfinite(gamma)
    g_k, p_k = gamma[keep], power[keep]
    n_dims = int(keep.sum()) + (m - gamma.numel())  # coefficients + orthogonal complement
    n_total = n_dims * n_images

    def neg_log_evidence(lv):
        scale = g_k[None, :] / lv[:, None] + 1.0  # (v_f γ + v_ε) / v_ε
        v_eps = ((p_k[None, :] / scale).sum(-1) + outside) / n_total
        logdet = n_images * torch.log(scale).sum(-1) + n_total * torch.log(v_eps)
        return logdet + n_total

    values = neg_log_evidence(lams)
    lam = _refine(neg_log_evidence, lams, values)
    scale = g_k / lam + 1.0
    v_eps = float(((p_k / scale).sum() + outside) / n_total)
    return {"lam": lam, "rule": rule, "noise_var": v_eps, "prior_var": v_eps / lam}


def _corner(lams, resid, semi) -> float:
    """λ of maximum curvature of the L-curve (log residual, log seminorm)."""
    t = torch.log(lams)
    rho = 0.5 * torch.log(resid.clamp_min(1e-300))
    eta = 0.5 * torch.log(semi.clamp_min(1e-300))
    d1r, d1e = torch.gradient(rho, spacing=(t,))[0], torch.gradient(eta, spacing=(t,))[0]
    d2r, d2e = torch.gradient(d1r, spacing=(t,))[0], torch.gradient(d1e, spacing=(t,))[0]
    kappa = (d1r * d2e - d2r * d1e) / (d1r**2 + d1e**2).clamp_min(1e-300) ** 1.5
    kappa[:2] = -torch.inf
    kappa[-2:] = -torch.inf
    return float(lams[int(torch.argmax(kappa))])


def choose_lambda_iterative(solve, y, op, reg_op, rule: str, noise_sigma=None, tau: float = 1.0,
                            n_probes: int = 3, seed: int = 0, grid=None) -> dict:
    """Choose the Tikhonov weight λ by a rule with iterative solves (no spectral path).

    The same criteria as ``choose_lambda_spectral`` (but not the evidence), evaluated on a
    grid of λ with one solve x_λ = (H'H + λD'D)⁻¹H'g per value; GCV's trace of the influence
    matrix A_λ = H(H'H + λD'D)⁻¹H' by Hutchinson's estimator

    .. math::

        tr(A_λ) ≈ (1/K) Σ_k z_kᵀ A_λ z_k,   z_k with independent ±1 entries.

    Parameters
    ----------
    solve : callable
        ``solve(g, lam) -> x_λ`` for measurements g of shape (N, C, *op.out_shape) (e.g.
        conjugate gradients on the normal equations).
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g; the criteria are summed over the batch.
    op : LinearOperator
        Forward operator H.
    reg_op : LinearOperator
        The regulariser D (for the L-curve's ‖Dx_λ‖).
    rule : {"gcv", "discrepancy", "lcurve"}
        The criterion (``"evidence"`` needs a spectral path and is refused).
    noise_sigma : float, optional
        Noise standard deviation σ for the discrepancy rule (estimated from ``y`` when not
        given).
    tau : float, default 1.0
        Safety factor τ of the discrepancy rule ‖g − Hx_λ‖² / m = τσ².
    n_probes : int, default 3
        Number K of Rademacher probes of the GCV trace.
    seed : int, default 0
        Seed of the probes.
    grid : sequence of float, optional
        The λ values tried; default ‖H‖² · 10ᵉ for e = −7, …, 0.

    Returns
    -------
    dict
        ``lam`` and ``rule``; GCV adds ``trace_probes``, the discrepancy ``noise_sigma``
        (and a ``note`` when the grid does not bracket the noise level).

    Raises
    ------
    InputError
        For an unknown rule or ``"evidence"``.

    Notes
    -----
    GCV and the L-curve return a grid value; the discrepancy rule refines between the two
    grid values that bracket the noise level by Brent's method in log λ.

    References
    ----------
    .. [1] M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
           Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18(3), 1059–1076, 1989.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Identity, Radon
    >>> from physinv.solvers import cg
    >>> from physinv.solvers.hyper import choose_lambda_iterative
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Radon((16, 16), torch.arange(0, 180, 15.0))
    >>> y = simulate(x, op, Gaussian(0.1), seed=0)
    >>> def solve(g, lam):
    ...     return cg(g, op, lam=lam, n_iter=20).x
    >>> grid = [1.0, 10.0, 100.0]
    >>> found = choose_lambda_iterative(solve, y, op, Identity((16, 16)), "gcv", grid=grid)
    >>> found["rule"], found["trace_probes"], found["lam"] in grid
    ('gcv', 3, True)
    """
    if rule not in RULES:
        raise InputError("lam", rule, f"a number >= 0 or one of {RULES}")
    if rule == "evidence":
        raise InputError("lam", rule, "gcv, discrepancy or lcurve for this operator",
                         "the evidence needs a Fourier-diagonal, super-resolution, mask or "
                         "dense operator")
    scale = op.norm() ** 2
    lams = grid if grid is not None else [scale * 10.0**e for e in range(-7, 1)]
    m = int(torch.tensor(op.out_shape).prod())
    n_images = y.shape[0] * y.shape[1]

    def residual(lam):
        x = solve(y, lam)
        return float(((op(x, check=False) - y) ** 2).sum()), x

    if rule == "discrepancy":
        sigma = estimate_sigma(y) if noise_sigma is None else float(noise_sigma)
        target = tau * sigma**2 * m * n_images
        values = [residual(lam)[0] - target for lam in lams]
        for i in range(len(lams) - 1):
            if values[i] <= 0 < values[i + 1]:
                lo, hi = math.log(lams[i]), math.log(lams[i + 1])
                lam = math.exp(brentq(lambda t: residual(math.exp(t))[0] - target, lo, hi,
                                      xtol=1e-2))
                return {"lam": lam, "rule": rule, "noise_sigma": sigma}
        best = lams[0] if values[0] > 0 else lams[-1]
        return {"lam": best, "rule": rule, "noise_sigma": sigma,
                "note": "the noise level was not bracketed by the λ grid"}

    if rule == "lcurve":
        resid, semi = [], []
        for lam in lams:
            r, x = residual(lam)
            resid.append(r)
            semi.append(float((reg_op(x) ** 2).sum()))
        return {"lam": _corner(torch.tensor(lams, dtype=torch.float64),
                               torch.tensor(resid, dtype=torch.float64),
                               torch.tensor(semi, dtype=torch.float64)), "rule": rule}

    # GCV with Hutchinson's trace estimator of A = H (H'H + λD'D)⁻¹ H'
    gen = torch.Generator().manual_seed(seed)
    probes = (torch.randint(0, 2, (n_probes, 1, *op.out_shape), generator=gen) * 2 - 1)
    probes = probes.to(dtype=y.dtype, device=y.device)
    scores = []
    for lam in lams:
        r, _ = residual(lam)
        ax = op(solve(probes, lam), check=False)
        trace = float((probes * ax).sum()) / n_probes
        scores.append(m * n_images * r / (n_images * (m - trace)) ** 2)
    i = min(range(len(scores)), key=scores.__getitem__)
    return {"lam": lams[i], "rule": rule, "trace_probes": n_probes}
