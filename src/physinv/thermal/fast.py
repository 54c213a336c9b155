r"""Closed forms for the camera operator H = S_s ∘ (h ⊛ ·) with the gradient regulariser.

The camera blurs by the system PSF h (optics ⊛ detector box) — shift-invariant, circular —
then keeps every s-th pixel. In the DFT of the object grid, H'H + λD'D couples only the s²
frequencies ω₀ + k(H/s, W/s) that decimation folds onto one detector frequency ω₀, so it is
block diagonal with s² × s² blocks

.. math:: B(\omega_0) = \lambda\,\mathrm{diag}(|\hat d_k|^2) + u u^*, \qquad
          u_k = \overline{\hat h_k} / s

(a diagonal plus a rank one: Sherman–Morrison solves every block in O(s²)), and
H(D'D)⁻¹H' is diagonal in the detector's DFT with generalised eigenvalues

.. math:: \gamma(\omega_0) = \frac{1}{s^2} \sum_k \frac{|\hat h_k|^2}{|\hat d_k|^2}

(∞ at ω₀ = 0: the mean is not regularised). Hence, exact and without iterations:

- ``CameraSolver.solve``: the Tikhonov estimate (H'H + λD'D)⁻¹H'g;
- ``CameraSolver.spectrum``: the γ of the λ rules (GCV, evidence, … of
  ``physinv.solvers.hyper.choose_lambda_spectral``);
- ``CameraSolver.variance``: the exact per-pixel posterior variance
  diag(v_ε (H'H + λD'D)⁻¹). It is periodic with period s (the posterior is cyclostationary):
  with Q = Σ_ω₀ B(ω₀)⁻¹ and e_k(p) = exp(2πi k·p / s),

  .. math:: \operatorname{Var} f_p = \frac{v_\varepsilon}{HW} \sum_{k,l} e_k(p)\, Q_{kl}\,
            \overline{e_l(p)}.

- ``CameraSolver.wiener``: the Wiener filter x̂ = S H'(H S H' + v_ε I)⁻¹ g of a stationary
  object of power spectrum S (fine grid). H S H' is diagonal in the detector's DFT, so per
  block (push-through: the same as B with λ diag(|d̂_k|²) replaced by v_ε / S_k)

  .. math:: \hat x_k = \frac{S_k\, b_k}{v_\varepsilon + \sum_l |u_l|^2 S_l},
            \qquad b = \widehat{H' g}\ \text{(aliases of } \omega_0).

``tikhonov_fast``, ``posterior_fast`` and ``wiener_fast`` are what ``physinv ir restore``
runs for a decimating camera: for a given λ the first two equal ``physinv.solvers.tikhonov``
(CG there) and the exact diagonal of the posterior covariance (which ``gaussian_posterior``
estimates by 16 perturb-and-MAP samples) to rounding; λ is chosen by exact criteria
(``gcv``, ``evidence_lambda``); the third equals the dense S H'(H S H' + v_ε I)⁻¹ g, its
power law fitted through the camera's aliasing (``fit_psd``).

>>> import torch
>>> from physinv.thermal.camera import Camera
>>> op = Camera(factor=2).operator((16, 16))
>>> y = torch.rand(1, 1, 8, 8, dtype=torch.float64)
>>> x = CameraSolver(op).solve(y, 1e-2)
>>> from physinv.solvers import tikhonov
>>> bool(torch.allclose(x, tikhonov(y, op, lam=1e-2, tol=1e-12).x, atol=1e-8))
True
"""

from __future__ import annotations

import math

import numpy as np
import torch

from physinv.errors import InputError
from physinv.noise import estimate_sigma
from physinv.operators import Convolution, SuperResolution
from physinv.solvers.closed_form import BETA_RANGE, OMEGA0_SQ, radial_profile
from physinv.solvers.hyper import _grid, _refine, choose_lambda_spectral
from physinv.solvers.result import Result
from physinv.solvers.spectral import reg_power_full


class CameraSolver:
    """Exact Tikhonov / Gaussian-posterior computations for a decimating camera (D = gradient).

    Parameters
    ----------
    op : SuperResolution or Convolution
        The camera's operator: circular blur then decimation by s ≥ 2, or circular blur
        alone (s = 1: the blocks are 1 × 1, the Fourier filter).

    Raises
    ------
    InputError
        For another operator or reflect boundaries.

    Examples
    --------
    >>> from physinv.thermal.camera import Camera
    >>> solver = CameraSolver(Camera(factor=4).operator((32, 32)))
    >>> tuple(solver.gamma.shape), bool(torch.isinf(solver.gamma[0]))
    ((64,), True)
    """

    path = "polyphase"  # for choose_lambda_spectral: index 0 (the mean) is left out

    def __init__(self, op):
        conv = op.conv if isinstance(op, SuperResolution) else op
        if not isinstance(conv, Convolution) or conv.boundary != "circular":
            raise InputError("op", type(op).__name__, "the camera's operator: a circular "
                             "SuperResolution or Convolution")
        self.op = op
        self.s = getattr(op, "factor", 1)
        h, w = op.in_shape
        self.lr = (h // self.s, w // self.s)
        self.n_measurements = self.lr[0] * self.lr[1]
        self.u = self._blocks(conv.fourier_diagonal().conj()) / self.s  # (h, w, s²)
        self.dd = self._blocks(reg_power_full(op, "gradient").to(torch.float64))
        h2 = self.u.abs() ** 2
        with torch.no_grad():
            gamma = torch.where(self.dd > 0, h2 / self.dd.clamp_min(1e-300), math.inf)
        self.gamma = gamma.sum(-1).reshape(-1)  # detector DFT, fft2 layout, flattened
        self.gamma[0] = math.inf  # the mean: D'D is 0 there

    def _blocks(self, t: torch.Tensor) -> torch.Tensor:
        """(H, W) in ``fft2`` layout → (H/s, W/s, s²): each detector frequency's aliases."""
        s, (h, w) = self.s, self.lr
        return t.reshape(s, h, s, w).permute(1, 3, 0, 2).reshape(h, w, s * s)

    def _unblocks(self, t: torch.Tensor) -> torch.Tensor:
        """The inverse of ``_blocks``, with leading dimensions."""
        s, (h, w) = self.s, self.lr
        lead = t.shape[:-3]
        n = len(lead)
        t = t.reshape(*lead, h, w, s, s)
        return t.permute(*range(n), n + 2, n, n + 3, n + 1).reshape(*lead, h * s, w * s)

    def coefficients(self, y: torch.Tensor):
        """|ĝ|² in the detector's unitary DFT (B, C, m), and 0 energy outside it."""
        g = torch.fft.fft2(y.to(torch.float64), norm="ortho").abs() ** 2
        return g.reshape(*y.shape[:2], -1), torch.zeros(y.shape[:2], dtype=torch.float64)

    def _gram_dc(self, lam: float) -> torch.Tensor:
        """The block of ω₀ = 0 (singular diagonal: solved densely)."""
        u = self.u[0, 0]
        return torch.diag(lam * self.dd[0, 0]).to(u.dtype) + u[:, None] * u.conj()[None, :]

    def solve(self, y: torch.Tensor, lam: float) -> torch.Tensor:
        r"""x̂ = (H'H + λD'D)⁻¹H'g, block by block (Sherman–Morrison, the DC block densely).

        .. math:: x = \Lambda^{-1} b - \Lambda^{-1} u \frac{u^* \Lambda^{-1} b}
                  {1 + u^* \Lambda^{-1} u}, \qquad \Lambda = \lambda\,\mathrm{diag}(|\hat d|^2)

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, h, w)
            Detector frames.
        lam : float
            λ > 0.

        Returns
        -------
        torch.Tensor, shape (B, C, s h, s w), dtype of ``y``
            The estimate (computed in float64).
        """
        if not lam > 0:
            raise InputError("lam", lam, "λ > 0 (the gradient prior leaves the mean free)")
        b = self._blocks_batch(torch.fft.fft2(self.op.adjoint(y.to(torch.float64),
                                                               check=False)))
        inv = 1.0 / (lam * self.dd.clamp_min(1e-300))
        inv[0, 0, 0] = 0.0  # the DC block is solved below
        lb = inv * b
        q = (self.u.abs() ** 2 * inv).sum(-1)
        coef = (self.u.conj() * lb).sum(-1) / (1 + q)
        x = lb - inv * self.u * coef[..., None]
        dc = torch.linalg.solve(self._gram_dc(lam), b[..., 0, 0, :].unsqueeze(-1))
        x[..., 0, 0, :] = dc.squeeze(-1)
        return torch.fft.ifft2(self._unblocks(x)).real.to(y.dtype)

    def _blocks_batch(self, t: torch.Tensor) -> torch.Tensor:
        s, (h, w) = self.s, self.lr
        lead = t.shape[:-2]
        n = len(lead)
        t = t.reshape(*lead, s, h, s, w)
        return t.permute(*range(n), n + 1, n + 3, n, n + 2).reshape(*lead, h, w, s * s)

    def wiener(self, y: torch.Tensor, noise_var: float, psd: torch.Tensor) -> torch.Tensor:
        """x̂ = S H'(H S H' + v_ε I)⁻¹ g, block by block (module docstring).

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, h, w)
            Detector frames.
        noise_var : float
            v_ε ≥ 0, (data units)².
        psd : torch.Tensor, shape (H, W)
            S ≥ 0 on the object grid, full ``fft2`` layout, per pixel (E|F f|² / (H W)).

        Returns
        -------
        torch.Tensor, shape (B, C, H, W), dtype of ``y``
            The estimate (0 where v_ε + Σ|u|²S = 0).
        """
        b = self._blocks_batch(torch.fft.fft2(self.op.adjoint(y.to(torch.float64),
                                                               check=False)))
        sb = self._blocks(psd.to(torch.float64))
        denom = noise_var + (self.u.abs() ** 2 * sb).sum(-1, keepdim=True)
        filt = torch.where(denom > 0, sb / torch.where(denom > 0, denom, 1.0), 0.0)
        return torch.fft.ifft2(self._unblocks(filt * b)).real.to(y.dtype)

    def variance(self, lam: float, noise_var: float) -> torch.Tensor:
        """Exact per-pixel posterior variance diag(v_ε (H'H + λD'D)⁻¹) (module docstring).

        Parameters
        ----------
        lam : float
            λ = v_ε / v_f > 0.
        noise_var : float
            v_ε, (data units)².

        Returns
        -------
        torch.Tensor, shape (H, W), float64
            The variance of each object pixel (periodic with period s).
        """
        inv = 1.0 / (lam * self.dd.clamp_min(1e-300))
        inv[0, 0, 0] = 0.0
        q = (self.u.abs() ** 2 * inv).sum(-1)
        v = inv * self.u / torch.sqrt(1 + q)[..., None]  # B⁻¹ = Λ⁻¹ − v v*
        vf = v.reshape(-1, v.shape[-1])
        total = torch.diag(inv.reshape(-1, v.shape[-1]).sum(0)).to(vf.dtype) - vf.T @ vf.conj()
        # remove the DC block's Sherman–Morrison term (Λ singular there), add its inverse
        total = total - torch.diag(inv[0, 0]).to(vf.dtype) + torch.outer(v[0, 0], v[0, 0].conj())
        total = total + torch.linalg.inv(self._gram_dc(lam))
        s = self.s
        k = torch.arange(s, dtype=torch.float64)
        ky, kx = torch.meshgrid(k, k, indexing="ij")
        phase = torch.exp(2j * math.pi * (ky.reshape(-1, 1, 1) * k.reshape(1, -1, 1)
                                          + kx.reshape(-1, 1, 1) * k.reshape(1, 1, -1)) / s)
        e = phase.reshape(s * s, s * s)  # e[k, p]: alias k, phase p = (py, px)
        pattern = torch.einsum("kp,kl,lp->p", e, total, e.conj()).real
        pattern = pattern * noise_var / (self.op.in_shape[0] * self.op.in_shape[1])
        h, w = self.lr
        return pattern.reshape(s, s).repeat(h, w)


def gcv(solver: CameraSolver, y: torch.Tensor) -> float:
    r"""λ minimising generalised cross-validation, exactly, on the camera's γ.

    .. math:: \mathrm{GCV}(\lambda) = \frac{m \sum_i (\lambda / (\gamma_i + \lambda))^2
              |\hat g_i|^2}{(m - \sum_i \gamma_i / (\gamma_i + \lambda))^2}

    over the detector frequencies but the mean (m of them) — the criterion, grid and
    refinement of ``physinv.solvers.hyper.choose_lambda_spectral``, evaluated without its
    handling of infinite γ (only the mean has one here), which makes it ~10× faster.

    Parameters
    ----------
    solver : CameraSolver
        The camera's solver.
    y : torch.Tensor, shape (B, C, h, w)
        Detector frames (one λ for all).

    Returns
    -------
    float
        λ.
    """
    power = solver.coefficients(y)[0].reshape(-1, solver.n_measurements).sum(0)[1:].numpy()
    gamma = solver.gamma[1:].numpy()
    m = solver.n_measurements - 1

    def objective(lams):
        out = []
        for lam in lams.tolist():  # numpy, one λ at a time: no threads, little memory
            f = gamma / (gamma + lam)
            out.append(m * float(((1 - f) ** 2 * power).sum()) / max(m - f.sum(), 1e-12) ** 2)
        return torch.tensor(out, dtype=torch.float64)

    lams = _grid(solver.gamma)
    return _refine(objective, lams, objective(lams))


def evidence_lambda(solver: CameraSolver, y: torch.Tensor, noise_var: float) -> float:
    r"""λ = v_ε / v_f with v_f maximising the marginal likelihood for a known noise variance.

    In the detector's unitary DFT ĝᵢ ~ N(0, v_ε + v_f γᵢ) independently (the mean, γ = ∞,
    left out), so

    .. math:: \hat v_f = \arg\min_{v_f} \sum_i \log(v_\varepsilon + v_f \gamma_i)
              + \frac{|\hat g_i|^2}{v_\varepsilon + v_f \gamma_i}

    (bounded search in log v_f). With both variances free the evidence of a decimating
    camera drives v_ε to 0 (fewer measurements than unknowns: the data can be explained
    without noise), and GCV is monotone (λ → 0); with v_ε fixed (MAD rule or NETD²) the
    problem is well posed.

    Parameters
    ----------
    solver : CameraSolver
        The camera's solver.
    y : torch.Tensor, shape (B, C, h, w)
        Detector frames.
    noise_var : float
        v_ε > 0.

    Returns
    -------
    float
        λ.
    """
    from scipy.optimize import minimize_scalar

    power = solver.coefficients(y)[0].reshape(-1, solver.n_measurements).mean(0)[1:].numpy()
    gamma = solver.gamma[1:].numpy()

    def objective(log_vf):
        total = noise_var + math.exp(log_vf) * gamma
        return float((np.log(total) + power / total).sum())

    span = math.log(max(float(power.sum() / gamma.sum()), 1e-30))
    res = minimize_scalar(objective, bounds=(span - 30, span + 30), method="bounded",
                          options={"xatol": 1e-6})
    return noise_var / math.exp(res.x)


def tikhonov_fast(y: torch.Tensor, op, lam="gcv", solver: CameraSolver | None = None) -> Result:
    """``physinv.solvers.tikhonov(y, op, lam)`` (D = gradient) for the camera, in closed form.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, h, w)
        Detector frames.
    op : SuperResolution
        The camera's operator.
    lam : float or {"gcv", "discrepancy", "lcurve", "evidence"}, optional
        λ, or the rule that chooses it (exactly, on γ).
    solver : CameraSolver, optional
        A solver built for ``op`` (reused across frames).

    Returns
    -------
    Result
        ``x`` and ``params`` (``lam``, ``reg="gradient"``, ``path="camera-polyphase"``, the
        rule).
    """
    solver = solver or CameraSolver(op)
    params = {"reg": "gradient", "path": "camera-polyphase"}
    if lam == "gcv":
        lam = gcv(solver, y)
        params["rule"] = "gcv"
    elif isinstance(lam, str):
        params.update(choose_lambda_spectral(solver, y, lam))
        lam = params["lam"]
    params["lam"] = float(lam)
    return Result(x=solver.solve(y, float(lam)), params=params, n_iter=0, converged=True,
                  stop_reason="closed form")


def posterior_fast(y: torch.Tensor, op, solver: CameraSolver | None = None) -> Result:
    """The Gaussian posterior (D = gradient) of a camera frame: mean and exact variance.

    v_ε by the MAD rule (as ``physinv.solvers.gaussian_posterior``), v_f by the marginal
    likelihood for that v_ε (``evidence_lambda``; GCV, which ``gaussian_posterior`` falls back
    to, is monotone for a decimating camera and would leave λ → 0 and an unbounded variance);
    the variance is exact (``CameraSolver.variance``), not 16 perturb-and-MAP samples.

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, h, w)
        Detector frame.
    op : SuperResolution
        The camera's operator.
    solver : CameraSolver, optional
        A solver built for ``op``.

    Returns
    -------
    Result
        ``x``, ``variance`` (shape of ``x``) and ``params`` (``noise_var``, ``prior_var``,
        ``lam``, ``hyper``, ``variance="exact"``, ``path``).
    """
    solver = solver or CameraSolver(op)
    noise_var = estimate_sigma(y) ** 2
    lam = evidence_lambda(solver, y, noise_var)
    mean = tikhonov_fast(y, op, lam, solver)
    var = solver.variance(lam, noise_var).to(y.dtype).expand_as(mean.x).clone()
    params = {"reg": "gradient", "noise_var": noise_var, "prior_var": noise_var / lam,
              "lam": lam, "path": "camera-polyphase", "variance": "exact",
              "hyper": "noise by MAD, prior variance by evidence"}
    return Result(x=mean.x, variance=var, params=params, n_iter=0, converged=True,
                  stop_reason="closed form")


def power_law(shape, amplitude: float, beta: float) -> torch.Tensor:
    """S(ω) = A / (ω₀² + |ω|²)^{β/2} on a grid (full ``fft2`` layout, cycles/pixel).

    Parameters
    ----------
    shape : (int, int)
        The object grid.
    amplitude, beta : float
        A and β.

    Returns
    -------
    torch.Tensor, shape ``shape``, float64
    """
    fy = torch.fft.fftfreq(shape[0], dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(shape[1], dtype=torch.float64)[None, :]
    return amplitude / (OMEGA0_SQ + fy**2 + fx**2) ** (beta / 2)


def fit_psd(solver: CameraSolver, y: torch.Tensor, noise_var: float) -> tuple[float, float]:
    r"""The power law of ``physinv.solvers.wiener`` fitted through the decimating camera.

    Least squares in log scale between the radial profile of the detector periodogram
    E|ĝ(ω₀)|² / m and the model's

    .. math:: \sum_k |u_k|^2 S_k(A, \beta) + v_\varepsilon

    (aliases folded as decimation folds them), ω₀² and β ∈ ``BETA_RANGE`` as in ``wiener``.

    Parameters
    ----------
    solver : CameraSolver
        The camera's solver.
    y : torch.Tensor, shape (B, C, h, w)
        Detector frames.
    noise_var : float
        v_ε.

    Returns
    -------
    amplitude, beta : float
    """
    from scipy.optimize import least_squares

    g2 = torch.fft.fft2(y.to(torch.float64)).abs() ** 2 / solver.n_measurements
    centres, data = radial_profile(g2.reshape(-1, *y.shape[-2:]))
    keep = centres > 0
    u2 = solver.u.abs() ** 2
    base = solver._blocks(power_law(solver.op.in_shape, 1.0, 1.0))  # (ω₀² + |ω|²)^{-1/2}

    def model(log_a, beta):
        folded = (u2 * base**beta).sum(-1) * math.exp(log_a) + noise_var
        return radial_profile(folded)[1][keep]

    dv = np.maximum(data[keep], 1e-30)
    log_a0 = math.log(max(float(dv[0]) - noise_var, 1e-12)) - math.log(model(0.0, 2.0)[0])
    fit = least_squares(lambda p: np.log(model(*p)) - np.log(dv), x0=[log_a0, 2.0],
                        bounds=([-60, BETA_RANGE[0]], [60, BETA_RANGE[1]]))
    return math.exp(fit.x[0]), float(fit.x[1])


def wiener_fast(y: torch.Tensor, op, noise_var: float | None = None, signal_psd=None,
                solver: CameraSolver | None = None) -> Result:
    """The Wiener filter of a (decimating) camera frame, in closed form (``CameraSolver.wiener``).

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, h, w)
        Detector frames.
    op : SuperResolution or Convolution
        The camera's operator.
    noise_var : float, optional
        v_ε; by the MAD rule (``physinv.noise.estimate_sigma``) when not given.
    signal_psd : torch.Tensor, shape op.in_shape, optional
        S on the object grid; a power law fitted through the camera (``fit_psd``) when not
        given.
    solver : CameraSolver, optional
        A solver built for ``op``.

    Returns
    -------
    Result
        ``x`` and ``params`` (``noise_var``, ``path``, and ``psd_amplitude`` /
        ``psd_exponent`` when fitted).

    Raises
    ------
    InputError
        A negative ``noise_var`` or a ``signal_psd`` of the wrong shape or sign.
    """
    solver = solver or CameraSolver(op)
    if noise_var is None:
        noise_var = estimate_sigma(y) ** 2
    elif not noise_var >= 0:
        raise InputError("noise_var", noise_var, "a variance ≥ 0")
    params: dict = {"noise_var": float(noise_var), "path": "camera-polyphase"}
    if signal_psd is None:
        amplitude, beta = fit_psd(solver, y, noise_var)
        psd = power_law(op.in_shape, amplitude, beta)
        params.update(psd_amplitude=amplitude, psd_exponent=beta)
    else:
        psd = torch.as_tensor(signal_psd, dtype=torch.float64)
        if tuple(psd.shape) != tuple(op.in_shape) or bool((psd < 0).any()):
            raise InputError("signal_psd", tuple(psd.shape), f"a non-negative spectrum of "
                             f"shape {tuple(op.in_shape)}")
    return Result(x=solver.wiener(y, float(noise_var), psd), params=params, n_iter=0,
                  converged=True, stop_reason="closed form")
