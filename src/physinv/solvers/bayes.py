"""Gaussian Bayesian inversion: posterior mean and per-pixel variance, hyper-parameters by evidence.

Likelihood N(g | Hf, v_ε I), prior N(f | 0, v_f (D'D)⁻¹): the posterior is N(f̂, Σ̂) with f̂ the
Tikhonov solution for λ = v_ε / v_f and Σ̂ = v_ε (H'H + λD'D)⁻¹. Unknown v_ε, v_f are estimated by
maximising the marginal likelihood p(g | v_ε, v_f) (exact on the spectral paths, see ``hyper``).
Default prior: D = the finite-difference gradient (the mean is left free, improper at the zero
frequency); ``reg="identity"`` gives the proper prior N(0, v_f I). The variance map is exact
for Fourier-diagonal, mask and dense operators and for circular super-resolution with the
gradient prior (``polyphase_posterior``: s² × s² blocks of aliased frequencies); otherwise it is
estimated from ``n_samples`` perturb-and-MAP samples
x_s = (H'H + λD'D)⁻¹(H'(g + η₁) + λD'η₂), η₁ ~ N(0, v_ε), η₂ ~ N(0, v_f), whose covariance is Σ̂.
"""

from __future__ import annotations

import torch

from physinv.errors import InputError, check_int, check_positive
from physinv.noise import estimate_sigma
from physinv.solvers.closed_form import tikhonov
from physinv.solvers.hyper import choose_lambda_spectral
from physinv.solvers.iterative import regulariser, solve_spd
from physinv.solvers.pcg import NormalSolver, tikhonov_power
from physinv.solvers.result import Result, check_problem
from physinv.solvers.spectral import reg_power_full, spectrum


def gaussian_posterior(y, op, noise_var: float | None = None, prior_var: float | None = None,
                       reg: str = "gradient", n_samples: int = 16, seed: int = 0,
                       tol: float = 1e-8, max_iter: int = 500) -> Result:
    """Posterior mean and per-pixel variance of the Gaussian model, hyper-parameters by evidence.

    Likelihood N(g | Hf, v_ε I), prior N(f | 0, v_f (D'D)⁻¹); the posterior is N(f̂, Σ̂) with

    .. math::

        f̂ = (H'H + λD'D)⁻¹ H'g,   Σ̂ = v_ε (H'H + λD'D)⁻¹,   λ = v_ε / v_f

    f̂ is the Tikhonov estimate for that λ. Unknown variances are estimated by maximising
    the marginal likelihood p(g | v_ε, v_f) (exact on the spectral paths); where there is
    none, or the evidence drives v_ε to 0, v_ε comes from Donoho's MAD rule and λ from GCV.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (mean and variance have the same dtype).
    op : LinearOperator
        Forward operator H.
    noise_var : float, optional
        Noise variance v_ε > 0 in (data units)²; estimated when not given.
    prior_var : float, optional
        Prior variance v_f > 0 of Df, in (image units)²; estimated when not given.
    reg : {"gradient", "identity"}, default "gradient"
        D: finite differences (the image mean left free, improper at the zero frequency) or
        the identity (the proper prior N(0, v_f I)).
    n_samples : int, default 16
        Perturb-and-MAP samples for the variance where it has no closed form (≥ 2).
    seed : int, default 0
        Seed of those samples.
    tol : float, default 1e-8
        Conjugate-gradient tolerance (mean and samples without a spectral path).
    max_iter : int, default 500
        Conjugate-gradient iteration limit.

    Returns
    -------
    Result
        ``x``: the posterior mean, shape (B, C, *op.in_shape); ``variance``: the marginal
        posterior variance diag(Σ̂) of each pixel, same shape; ``params``: ``noise_var``,
        ``prior_var``, ``lam``, ``reg``, ``path``, ``variance`` (``"exact"`` or the number of
        samples) and ``hyper`` (how unknown variances were estimated).

    Raises
    ------
    InputError
        For non-positive variances, fewer than 2 samples where sampling is needed, or a
        prior that leaves a frequency unseen by H unconstrained (improper posterior).

    Notes
    -----
    diag(Σ̂) is exact for Fourier-diagonal H (constant over the image), ``Mask`` and
    ``Dense`` operators. Elsewhere it is the sample variance of perturb-and-MAP draws

    .. math::

        x_s = (H'H + λD'D)⁻¹ (H'(g + η₁) + λD'η₂),   η₁ ~ N(0, v_ε I),  η₂ ~ N(0, v_f I)

    whose covariance is Σ̂.

    References
    ----------
    .. [1] D. J. C. MacKay, "Bayesian interpolation", Neural Computation 4(3), 415–447, 1992.
    .. [2] G. Papandreou, A. Yuille, "Gaussian sampling by local perturbations", Advances in
           Neural Information Processing Systems 23, 2010.
    .. [3] F. Orieux, O. Féron, J.-F. Giovannelli, "Sampling high-dimensional Gaussian
           distributions for general linear inverse problems", IEEE Signal Process. Lett.
           19(5), 251–254, 2012.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> from physinv.metrics import coverage
    >>> from physinv.solvers import gaussian_posterior
    >>> r = gaussian_posterior(y, op)
    >>> r.params["hyper"], r.params["variance"], r.variance.shape
    ('evidence', 'exact', torch.Size([1, 1, 16, 16]))
    >>> bool(coverage(r.x, r.variance.sqrt(), x) > 0.9)
    True
    """
    check_problem(y, op)
    n_samples = check_int("n_samples", n_samples)
    spec = spectrum(op, reg)
    if spec is None and reg == "gradient" and NormalSolver._path(op) == "polyphase":
        return polyphase_posterior(y, op, noise_var, prior_var)
    params: dict = {"reg": reg}
    if noise_var is not None:
        noise_var = check_positive("noise_var", noise_var)
    if prior_var is not None:
        prior_var = check_positive("prior_var", prior_var)
    if noise_var is None or prior_var is None:
        found = choose_lambda_spectral(spec, y, "evidence") if spec is not None else None
        mad_var = estimate_sigma(y) ** 2 if noise_var is None else None
        if found is not None and (mad_var is None or found["noise_var"] > 1e-3 * mad_var):
            noise_var = found["noise_var"] if noise_var is None else noise_var
            prior_var = found["prior_var"] if prior_var is None else prior_var
            params["hyper"] = "evidence"
        else:  # no spectrum, or the evidence explained the noise away (noise_var → 0)
            noise_var = mad_var if noise_var is None else noise_var
            if prior_var is None:
                lam = tikhonov(y, op, lam="gcv", reg=reg, tol=tol, max_iter=max_iter).params["lam"]
                prior_var = noise_var / lam
            params["hyper"] = "noise by MAD, λ by GCV" + (
                "" if found is None else " (the evidence drove the noise variance to 0)")
    lam = noise_var / prior_var
    mean_result = tikhonov(y, op, lam=lam, reg=reg, tol=tol, max_iter=max_iter)
    params.update(noise_var=noise_var, prior_var=prior_var, lam=lam,
                  path=mean_result.params["path"])
    if spec is not None and spec.path in ("fourier", "pixel", "svd"):
        var = spec.posterior_variance(lam, noise_var).to(device=y.device, dtype=y.dtype)
        variance = var.expand(*y.shape[:2], *op.in_shape).clone()
        params["variance"] = "exact"
    else:
        variance = _sample_variance(y, op, reg, lam, noise_var, prior_var, n_samples, seed,
                                    tol, max_iter, spec)
        params["variance"] = f"{n_samples} perturb-and-MAP samples"
    return Result(x=mean_result.x, variance=variance, params=params,
                  n_iter=mean_result.n_iter, converged=mean_result.converged,
                  stop_reason=mean_result.stop_reason)


def _sample_variance(y, op, reg, lam, noise_var, prior_var, n_samples, seed, tol, max_iter,
                     spec=None):
    d = regulariser(op, reg).to(y.device)
    gen = torch.Generator().manual_seed(seed)

    def apply(v):
        return op.normal(v, check=False) + lam * d.normal(v, check=False)

    def solve(rhs):
        if spec is not None and spec.path == "polyphase":
            # (H'H + λI)⁻¹v = (v − H'(HH' + λI)⁻¹Hv)/λ: closed form through HH' (no CG)
            return (rhs - spec.solve(op(rhs, check=False), lam)) / lam
        return solve_spd(apply, rhs, None, max_iter, tol)[0]

    total = torch.zeros(*y.shape[:2], *op.in_shape, dtype=torch.float64, device=y.device)
    total2 = torch.zeros_like(total)
    for _ in range(n_samples):
        eta1 = torch.randn(y.shape, generator=gen, dtype=y.dtype).to(y.device) * noise_var**0.5
        eta2 = torch.randn((*y.shape[:2], *d.out_shape), generator=gen,
                           dtype=y.dtype).to(y.device) * prior_var**0.5
        rhs = op.adjoint(y + eta1, check=False) + lam * d.adjoint(eta2, check=False)
        x = solve(rhs)
        total += x.to(torch.float64)
        total2 += x.to(torch.float64) ** 2
    mean = total / n_samples
    if n_samples < 2:
        raise InputError("n_samples", n_samples, "at least 2 samples for a variance")
    var = (total2 - n_samples * mean**2) / (n_samples - 1)
    return var.clamp_min(0).to(y.dtype)


class _Aliased:
    """The spectral path of circular super-resolution with the gradient prior, for the λ rules
    (``choose_lambda_spectral``): in the detector's unitary DFT H(D'D)⁻¹H' is diagonal,

    .. math:: γ(ω₀) = (1/s²) Σ_k |ĥ_k|² / |d̂_k|²

    over the s² object frequencies ω₀ + k(H/s, W/s) that decimation folds onto ω₀ (∞ at 0)."""

    path = "polyphase"

    def __init__(self, op):
        self.solver = NormalSolver(op)
        blocks = self.solver._blocks
        self.otf = blocks(op.conv.fourier_diagonal().to(torch.complex128))
        self.d2 = blocks(reg_power_full(op, "gradient").to(torch.float64))
        h2 = self.otf.abs() ** 2 / op.factor ** 2
        gamma = torch.where(self.d2 > 0, h2 / self.d2.clamp_min(1e-300), torch.inf).sum(-1)
        self.gamma = gamma.reshape(-1)
        self.n_measurements = self.gamma.numel()

    @staticmethod
    def coefficients(y):
        g = torch.fft.fft2(y.to(torch.float64), norm="ortho").abs() ** 2
        return g.reshape(*y.shape[:2], -1), torch.zeros(y.shape[:2], dtype=torch.float64)

    def variance(self, lam: float, noise_var: float) -> torch.Tensor:
        """diag(v_ε (H'H + λD'D)⁻¹), exact: periodic with period s (see ``polyphase_posterior``)."""
        op, s = self.solver.op, self.solver.op.factor
        gram = torch.diag_embed((lam * self.d2).to(self.otf.dtype)) + \
            self.otf.conj()[..., :, None] * self.otf[..., None, :] / s ** 2
        total = torch.linalg.inv(gram).sum(dim=(0, 1))  # Σ_ω₀ B(ω₀)⁻¹, s² × s²
        k = torch.arange(s, dtype=torch.float64)
        ky, kx = (t.reshape(-1) for t in torch.meshgrid(k, k, indexing="ij"))
        # e[k, p] = exp(2πi k·p / s): alias k = (ky, kx), pixel phase p = (py, px)
        e = torch.exp(2j * torch.pi * (ky[:, None] * ky[None, :] + kx[:, None] * kx[None, :])
                      / s)
        pattern = torch.einsum("kp,kl,lp->p", e, total, e.conj()).real
        pattern = pattern * noise_var / (op.in_shape[0] * op.in_shape[1])
        h, w = op.in_shape
        return pattern.reshape(s, s).repeat(h // s, w // s)


def _evidence_prior_var(aliased: _Aliased, y, noise_var: float) -> float:
    """v_f maximising the marginal likelihood for a known v_ε: ĝᵢ ~ N(0, v_ε + v_f γᵢ),

    .. math:: v̂_f = \\arg\\min Σᵢ \\log(v_ε + v_f γᵢ) + |ĝᵢ|² / (v_ε + v_f γᵢ)

    (the mean, γ = ∞, left out; bounded search in log v_f)."""
    import math

    from scipy.optimize import minimize_scalar

    power = aliased.coefficients(y)[0].reshape(-1, aliased.n_measurements).mean(0)[1:]
    gamma = aliased.gamma[1:]

    def objective(log_vf):
        total = noise_var + math.exp(log_vf) * gamma
        return float((torch.log(total) + power / total).sum())

    span = math.log(max(float(power.sum() / gamma.sum()), 1e-30))
    res = minimize_scalar(objective, bounds=(span - 30, span + 30), method="bounded",
                          options={"xatol": 1e-6})
    return math.exp(res.x)


def polyphase_posterior(y, op, noise_var: float | None = None,
                        prior_var: float | None = None) -> Result:
    """The Gaussian posterior of circular super-resolution with the gradient prior, exactly.

    H = S_s(h ⊛ ·) couples only the s² aliased frequencies of each detector frequency ω₀, so
    H'H + λD'D is block diagonal in the DFT with blocks B(ω₀) = λ diag(|d̂_k|²) + ūuᵀ,
    u_k = ĥ_k / s, and with Q = Σ_ω₀ B(ω₀)⁻¹ and e_k(p) = exp(2πi k·p / s)

    .. math::

        f̂ = (H'H + λD'D)⁻¹ H'g,   Var f_p = (v_ε / HW) Σ_{k,l} e_k(p) Q_{kl} \\overline{e_l(p)}

    (cyclostationary: period s). v_ε and v_f maximise the marginal likelihood, exact on the
    detector's γ (``_Aliased``); when it drives v_ε to 0 (fewer measurements than unknowns
    can be explained without noise), v_ε comes from the MAD rule and v_f from the evidence at
    that v_ε. No samples, no GCV.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
    op : SuperResolution
        Circular.
    noise_var, prior_var : float, optional
        v_ε, v_f > 0 (estimated when not given).

    Returns
    -------
    Result
        As ``gaussian_posterior``; ``params["path"] = "polyphase"``, ``variance = "exact"``.
    """
    aliased = _Aliased(op)
    params: dict = {"reg": "gradient", "path": "polyphase", "variance": "exact"}
    if noise_var is None or prior_var is None:
        found = choose_lambda_spectral(aliased, y, "evidence")
        mad_var = estimate_sigma(y) ** 2 if noise_var is None else None
        if mad_var is None or found["noise_var"] > 1e-3 * mad_var:
            noise_var = found["noise_var"] if noise_var is None else noise_var
            prior_var = found["prior_var"] if prior_var is None else prior_var
            params["hyper"] = "evidence"
        else:
            noise_var = mad_var
            if prior_var is None:
                prior_var = _evidence_prior_var(aliased, y, noise_var)
            params["hyper"] = "noise by MAD, prior variance by evidence (the evidence drove " \
                "the noise variance to 0)"
    lam = noise_var / prior_var
    x = aliased.solver.invert(y.to(torch.float64), tikhonov_power(lam)).to(y.dtype)
    var = aliased.variance(lam, noise_var).to(device=y.device, dtype=y.dtype)
    params.update(noise_var=noise_var, prior_var=prior_var, lam=lam)
    return Result(x=x, variance=var.expand_as(x).clone(), params=params, n_iter=0,
                  converged=True, stop_reason="closed form")
