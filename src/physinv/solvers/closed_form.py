"""Quadratic regularisation: ``tikhonov`` (λ given or chosen from the data) and ``wiener``.

Tikhonov: x̂ = argmin ‖g − Hx‖² + λ‖Dx‖² = (H'H + λD'D)⁻¹H'g, and for D = I also
x̂ = H'(HH' + λI)⁻¹g (matrix inversion lemma). The path is chosen from the operator:

- ``fourier`` (Fourier-diagonal H, D = I or gradient): x̂ = F⁻¹[conj(ĥ) ĝ / (|ĥ|² + λ|d̂|²)];
- ``polyphase`` (circular super-resolution, D = I): the dual form with HH' diagonal;
- ``svd`` (``Dense``, D = I): x̂ = V diag(sᵢ/(sᵢ² + λ)) U'g; ``direct`` (dense, gradient);
- ``pixel`` (``Mask``, D = I): x̂ = m g / (m² + λ);
- ``cg`` otherwise (Radon, reflect boundaries …), primal or dual normal equations.

``lam`` may be a number or a rule — ``"gcv"``, ``"discrepancy"``, ``"lcurve"``, ``"evidence"``
(see ``hyper``) — so that no λ need be given.

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.solvers import tikhonov
>>> op = Convolution(psf.gaussian(1.0, 7), (32, 32))
>>> y = op(torch.rand(1, 1, 32, 32))
>>> r = tikhonov(y, op, lam="gcv")  # reg="gradient" by default
>>> r.params["path"], r.x.shape
('fourier', torch.Size([1, 1, 32, 32]))
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import least_squares

from physinv.errors import InputError, check_int, check_positive
from physinv.noise import estimate_sigma
from physinv.operators import Dense, FanBeam, Radon
from physinv.operators.base import LinearOperator
from physinv.solvers.hyper import RULES, choose_lambda_iterative, choose_lambda_spectral
from physinv.solvers.iterative import regulariser, solve_spd
from physinv.solvers.pcg import NormalSolver, tikhonov_power
from physinv.solvers.result import Result, check_problem
from physinv.solvers.spectral import spectrum

# Wiener's fitted spectrum S_f = A / (ω₀² + |ω|²)^(β/2): ω₀² and the range of β were chosen
# on the protocol's 12 training crops (deblur_gauss): β ∈ [1, 4], ω₀² = 1e-4 gave −0.07 dB on
# average against Tikhonov-GCV, β ∈ [0, 6] −0.15 dB, β fixed at 2 −0.84 dB.
OMEGA0_SQ = 1e-4
BETA_RANGE = (1.0, 4.0)

METHODS = ("auto", "fourier", "polyphase", "svd", "pixel", "direct", "cg")
FORMS = ("primal", "dual")


def _lam_value(lam):
    if isinstance(lam, str):
        if lam not in RULES:
            raise InputError("lam", lam, f"a number >= 0 or one of {RULES}")
        return lam
    return check_positive("lam", lam, allow_zero=True)


def _cg_solver(op: LinearOperator, reg: str, form: str, tol: float, max_iter: int):
    d = regulariser(op, reg)
    info = {}

    def solve(y, lam):
        d.to(y.device)
        if form == "dual":
            def apply(z):
                return op(op.adjoint(z, check=False), check=False) + lam * z

            z, k, ok, _ = solve_spd(apply, y, None, max_iter, tol)
            info.update(n_iter=k, converged=ok)
            return op.adjoint(z, check=False)

        def apply(v):
            out = op.normal(v, check=False)
            return out + lam * d.normal(v, check=False) if lam > 0 else out

        x, k, ok, _ = solve_spd(apply, op.adjoint(y, check=False), None, max_iter, tol)
        info.update(n_iter=k, converged=ok)
        return x

    return solve, d, info


def _normal_solver(op: LinearOperator, form: str, method: str, tol: float, max_iter: int):
    """The exact / preconditioned path of ``physinv.solvers.pcg.NormalSolver`` where it applies
    (``method="auto"``, primal form): ×s super-resolution with a circular blur (the polyphase
    block closed form) and parallel- / fan-beam CT (CG preconditioned by the circulant
    approximation of H'H: at λ = 10⁻³‖H‖² 39 iterations instead of 530 to 1e-8). None
    elsewhere (plain CG)."""
    if method != "auto" or form != "primal" or len(op.in_shape) != 2:
        return None
    solver = NormalSolver(op, tol=tol, max_iter=max_iter)
    if solver.path == "polyphase" or (solver.path == "pcg" and isinstance(op, (Radon, FanBeam))):
        return solver
    return None


def _direct(y, op: Dense, reg: str, lam: float, form: str) -> torch.Tensor:
    a = op.matrix.to(device=y.device, dtype=torch.float64)
    flat = y.to(torch.float64).reshape(*y.shape[:2], -1)
    if form == "dual":
        gram = a @ a.T + lam * torch.eye(a.shape[0], dtype=a.dtype, device=a.device)
        z = torch.linalg.solve(gram, flat.reshape(-1, a.shape[0]).T).T
        x = z @ a
    else:
        dmat = regulariser(op, reg).to_matrix().to(a) if reg != "identity" else None
        reg_gram = (dmat.T @ dmat) if dmat is not None else torch.eye(a.shape[1]).to(a)
        x = torch.linalg.solve(a.T @ a + lam * reg_gram, (flat.reshape(-1, a.shape[0]) @ a).T).T
    return x.reshape(*y.shape[:2], *op.in_shape).to(y.dtype)


def tikhonov(y, op, lam="gcv", reg: str = "gradient", method: str = "auto",
             form: str = "primal", noise_sigma: float | None = None, tol: float = 1e-10,
             max_iter: int = 500) -> Result:
    """Tikhonov-regularised inverse of ``g = H x + ε``, λ given or chosen from the data.

    .. math::

        x̂ = argmin_x ‖g − Hx‖² + λ‖Dx‖² = (H'H + λD'D)⁻¹ H'g

    and, for D = I, the dual form x̂ = H'(HH' + λI)⁻¹ g (matrix inversion lemma). The
    computation follows the operator's structure (``method="auto"``): a Fourier filter for
    Fourier-diagonal H, the polyphase dual form for circular ``SuperResolution``, an SVD filter
    or a direct solve for ``Dense``, a pixel-wise division for ``Mask``, conjugate gradients
    for the rest (see the module docstring).

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g, float32 or float64 (the estimate has the same dtype), in the image's
        units (e.g. [0, 1] intensities, kelvin).
    op : LinearOperator
        Forward operator H.
    lam : float or {"gcv", "discrepancy", "lcurve", "evidence"}, default "gcv"
        Regularisation weight λ ≥ 0 (in (data units)² per (image units)² of ‖Dx‖²), or the
        rule that chooses it without ground truth: generalised cross-validation, Morozov's
        discrepancy principle, the L-curve's corner, or the maximum of the Gaussian marginal
        likelihood (see ``physinv.solvers.hyper``). ``"evidence"`` needs a spectral path.
    reg : {"gradient", "identity"}, default "gradient"
        The regulariser D: circular finite differences (the image mean is left free, which
        models a photograph's spectrum better: on deblur_gauss's test images GCV lands within
        0.02 dB of the best λ with it, within 0.45 dB with D = I, and the evidence within
        0.11 dB against 3.6–6.4 dB below) or the identity.
    method : {"auto", "fourier", "polyphase", "svd", "pixel", "direct", "cg"}, default "auto"
        Computation path; a path the operator does not have is refused with the ones it has.
    form : {"primal", "dual"}, default "primal"
        Normal equations in the image (primal) or the measurement space (dual, D = I only;
        used by the ``cg`` and ``direct`` paths).
    noise_sigma : float, optional
        Noise standard deviation σ for the discrepancy rule, in data units; estimated from
        ``y`` by ``physinv.noise.estimate_sigma`` when not given.
    tol : float, default 1e-10
        Relative-residual tolerance of the conjugate gradients (``cg`` path only).
    max_iter : int, default 500
        Maximum conjugate-gradient iterations (``cg`` path only).

    Returns
    -------
    Result
        ``x``: the estimate, shape (B, C, *op.in_shape). ``params``: ``lam`` (the value
        used), ``reg``, ``path``, and for a rule ``rule`` with what it estimated
        (``noise_sigma`` for the discrepancy, ``noise_var`` and ``prior_var`` for the
        evidence). ``n_iter``, ``converged`` and ``stop_reason`` report the CG solve
        (0, True, ``"closed form"`` on the other paths).

    Raises
    ------
    InputError
        For a measurement that does not match ``op``, a negative λ, an unknown rule, path or
        regulariser, or ``form="dual"`` with ``reg="gradient"``.

    Notes
    -----
    On the Fourier path, with ĥ the DFT of the PSF and d̂ that of D,

    .. math::

        x̂ = F⁻¹ [ conj(ĥ) ĝ / (|ĥ|² + λ|d̂|²) ]

    (where |ĥ|² + λ|d̂|² = 0 the filter is 0). With D = I this is the MAP estimate under the
    Gaussian prior N(0, (v_ε/λ) I); ``gaussian_posterior`` returns it with its variance.

    References
    ----------
    .. [1] A. N. Tikhonov, "Solution of incorrectly formulated problems and the
           regularization method", Soviet Mathematics Doklady 4, 1035–1038, 1963.
    .. [2] G. H. Golub, M. Heath, G. Wahba, "Generalized cross-validation as a method for
           choosing a good ridge parameter", Technometrics 21(2), 215–223, 1979.
    .. [3] P. C. Hansen, "Rank-Deficient and Discrete Ill-Posed Problems", SIAM, 1998.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> r = tikhonov(y, op, lam="gcv")
    >>> r.params["path"], r.params["rule"], r.x.shape
    ('fourier', 'gcv', torch.Size([1, 1, 16, 16]))
    >>> bool(psnr(r.x, x) > psnr(y, x) + 3)
    True
    """
    check_problem(y, op)
    lam = _lam_value(lam)
    if reg not in ("identity", "gradient"):
        raise InputError("reg", reg, "'identity' or 'gradient'")
    if method not in METHODS:
        raise InputError("method", method, f"one of {METHODS}")
    if form not in FORMS:
        raise InputError("form", form, f"one of {FORMS}")
    if form == "dual" and reg != "identity":
        raise InputError("form", form, "'primal' with reg='gradient' (the dual form needs D = I)")
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter)

    spec = spectrum(op, reg) if method in ("auto", "fourier", "polyphase", "svd", "pixel") else None
    if method not in ("auto", "cg", "direct") and (spec is None or spec.path != method):
        available = spec.path if spec is not None else "cg"
        raise InputError("method", method, f"a path this operator has ('{available}', 'cg')")
    if method == "direct" and not isinstance(op, Dense):
        raise InputError("method", method, "'direct' only for Dense operators")
    params: dict = {"reg": reg}
    n_iter, converged = 0, True

    if spec is not None:
        if isinstance(lam, str):
            params.update(choose_lambda_spectral(spec, y, lam, noise_sigma))
            lam_value = params["lam"]
        else:
            lam_value = lam
        x = spec.solve(y, lam_value)
        params.update(lam=lam_value, path=spec.path)
    elif isinstance(op, Dense) and method in ("auto", "direct"):
        if isinstance(lam, str):
            raise InputError("lam", lam, "a number for a Dense operator with reg='gradient'")
        x = _direct(y, op, reg, lam, form)
        params.update(lam=lam, path="direct")
    else:
        solve, d, info = _cg_solver(op, reg, form, tol, max_iter)
        if isinstance(lam, str):
            # the λ search needs the criterion's shape, not 10-digit solves
            search, _, _ = _cg_solver(op, reg, form, max(tol, 1e-6), min(max_iter, 200))
            params.update(choose_lambda_iterative(search, y, op, d, lam, noise_sigma))
            lam_value = params["lam"]
        else:
            lam_value = lam
        exact = _normal_solver(op, form, method, tol, max_iter)
        if exact is not None:  # SR: polyphase closed form; CT: CG preconditioned
            x = exact.invert(y, tikhonov_power(lam_value, reg)).to(y.dtype)
            n_iter, converged = exact.n_iter, exact.converged
            params.update(lam=lam_value, path=exact.path, form=form)
        else:
            x = solve(y, lam_value)
            n_iter, converged = info["n_iter"], info["converged"]
            params.update(lam=lam_value, path="cg", form=form)
    return Result(x=x, params=params, n_iter=n_iter, converged=converged,
                  stop_reason="closed form" if n_iter == 0 else (
                      "tolerance" if converged else "max_iter"))


def radial_profile(power: torch.Tensor, n_bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a full-layout spectrum over rings of equal |ω| (a radial profile).

    Parameters
    ----------
    power : torch.Tensor, shape (..., H, W)
        A real spectrum in full ``fft2`` layout (zero frequency at index (0, 0)), e.g. a
        periodogram |F x|²; leading dimensions are averaged.
    n_bins : int, default 32
        Number of rings of equal width between |ω| = 0 and the largest |ω| (√2 / 2
        cycles/pixel for even sizes).

    Returns
    -------
    centres : numpy.ndarray, shape (n,)
        Ring centres |ω| in cycles/pixel, for the n ≤ ``n_bins`` rings that hold a frequency.
    means : numpy.ndarray, shape (n,)
        Mean of ``power`` over each ring.

    Examples
    --------
    >>> import torch
    >>> from physinv.solvers.closed_form import radial_profile
    >>> centres, means = radial_profile(torch.ones(16, 16), n_bins=8)
    >>> centres.shape == means.shape, bool((means == 1).all())
    (True, True)
    """
    h, w = power.shape[-2:]
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    radius = torch.sqrt(fy**2 + fx**2).reshape(-1).numpy()
    values = power.reshape(-1, h * w).mean(0).cpu().numpy()
    edges = np.linspace(0, radius.max() + 1e-12, n_bins + 1)
    idx = np.clip(np.digitize(radius, edges) - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sums = np.bincount(idx, weights=values, minlength=n_bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ok = counts > 0
    return centres[ok], sums[ok] / counts[ok]


def wiener(y, op, noise_var: float | None = None, signal_psd=None) -> Result:
    """Wiener (linear minimum mean-square error) deconvolution.

    .. math::

        x̂ = F⁻¹ [ conj(ĥ) S_f ĝ / (|ĥ|² S_f + σ²) ]

    for a Fourier-diagonal H = F⁻¹ diag(ĥ) F, white noise of variance σ² and a stationary image
    of power spectrum S_f. When S_f is not given it is fitted to the data (see Notes), so the
    filter needs no hand-set parameter.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, H, W)
        Measurement g, float32 or float64 (the estimate has the same dtype).
    op : LinearOperator
        A Fourier-diagonal operator (circular ``Convolution``, ``Identity``, their products
        and sums): ``op.has_fourier_diagonal`` must be true.
    noise_var : float, optional
        Noise variance σ² ≥ 0 in (data units)²; estimated from ``y`` by
        ``physinv.noise.estimate_sigma`` (Donoho's MAD rule) when not given.
    signal_psd : array_like, shape (H, W), optional
        Prior power spectrum S_f ≥ 0 in full ``fft2`` layout, per pixel: E|F x|² / (H·W)
        with F the unnormalised DFT (a white image of variance v has S_f = v).

    Returns
    -------
    Result
        ``x``: the estimate, shape (B, C, H, W). ``params``: ``noise_var`` (σ² used),
        ``path`` (``"fourier"``) and, when S_f was fitted, ``psd_amplitude`` (A) and
        ``psd_exponent`` (β).

    Raises
    ------
    InputError
        For an operator without a Fourier diagonal (use ``tikhonov``), a negative
        ``noise_var``, or a ``signal_psd`` of the wrong shape or with negative entries.

    Notes
    -----
    Without ``signal_psd`` a power law

    .. math::

        S_f(ω) = A / (ω₀² + |ω|²)^{β/2},   ω₀² = 10⁻⁴ cycles²/pixel², β ∈ [1, 4]

    is fitted by least squares in log scale to the radial profile of the data's periodogram
    through the model E|ĝ|²/n = |ĥ|² S_f + σ². ω₀² and the range of β were chosen on the
    protocol's training crops (module constants ``OMEGA0_SQ`` and ``BETA_RANGE``). Where
    |ĥ|² S_f + σ² = 0 the filter is 0.

    References
    ----------
    .. [1] N. Wiener, "Extrapolation, Interpolation, and Smoothing of Stationary Time
           Series", MIT Press, 1949.
    .. [2] F. Orieux, J.-F. Giovannelli, T. Rodet, "Bayesian estimation of regularization
           and point spread function parameters for Wiener–Hunt deconvolution", J. Opt. Soc.
           Am. A 27(7), 1593–1607, 2010.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.noise import Gaussian, simulate
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import wiener
    >>> x = torch.zeros(1, 1, 16, 16)
    >>> x[..., 4:12, 4:12] = 1.0
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> y = simulate(x, op, Gaussian(0.01), seed=0)
    >>> r = wiener(y, op, noise_var=1e-4)
    >>> sorted(r.params)
    ['noise_var', 'path', 'psd_amplitude', 'psd_exponent']
    >>> bool(psnr(r.x, x) > psnr(y, x))
    True
    """
    check_problem(y, op)
    if not op.has_fourier_diagonal:
        raise InputError("op", type(op).__name__, "a Fourier-diagonal operator for wiener",
                         "use tikhonov for the others")
    sigma2 = estimate_sigma(y) ** 2 if noise_var is None else check_positive(
        "noise_var", noise_var, allow_zero=True)
    otf = op.fourier_diagonal().to(y.device)
    h2 = otf.abs() ** 2
    n = y.shape[-1] * y.shape[-2]
    params: dict = {"noise_var": sigma2}
    if signal_psd is None:
        g2 = torch.fft.fft2(y.to(torch.float64)).abs() ** 2 / n
        centres, data = radial_profile(g2.reshape(-1, *y.shape[-2:]))
        _, h_prof = radial_profile(h2)
        keep = centres > 0
        c, dv, hv = centres[keep], data[keep], h_prof[keep]

        def residual(p):
            log_a, beta = p
            model = hv * np.exp(log_a) / (OMEGA0_SQ + c**2) ** (beta / 2) + sigma2
            return np.log(model) - np.log(np.maximum(dv, 1e-30))

        fit = least_squares(residual, x0=[math.log(max(float(dv[0]), 1e-12)) - 2, 2.0],
                            bounds=([-60, BETA_RANGE[0]], [60, BETA_RANGE[1]]))
        log_a, beta = fit.x
        fy = torch.fft.fftfreq(y.shape[-2], dtype=torch.float64)[:, None]
        fx = torch.fft.fftfreq(y.shape[-1], dtype=torch.float64)[None, :]
        psd = math.exp(log_a) / (OMEGA0_SQ + fy**2 + fx**2) ** (beta / 2)
        psd = psd.to(y.device)
        params.update(psd_amplitude=math.exp(log_a), psd_exponent=float(beta))
    else:
        psd = torch.as_tensor(signal_psd, dtype=torch.float64, device=y.device)
        if psd.shape != h2.shape or bool((psd < 0).any()) or not bool(torch.isfinite(psd).all()):
            raise InputError("signal_psd", psd, f"a non-negative finite spectrum of shape "
                             f"{tuple(h2.shape)}")
    denom = h2 * psd + sigma2
    filt = torch.where(denom > 0, otf.conj() * psd / torch.where(denom > 0, denom, 1.0), 0)
    x = torch.fft.ifft2(torch.fft.fft2(y.to(torch.float64)) * filt).real.to(y.dtype)
    params["path"] = "fourier"
    return Result(x=x, params=params)


__all__ = ["radial_profile", "tikhonov", "wiener"]
