"""Learned ridge regularisers (CRR-NN, WCRR-NN) and the variational network that uses them.

.. math::

    R(x) = Σ_c Σ_pixels ψ_c((Wx)_c),   ∇R(x) = Wᵀ φ(Wx),   φ_c = ψ_c′

W is two bias-free convolutions composed linearly (1 → 8 → 32 channels, 7×7 each, i.e. one
1 → 32 filter bank of 13×13), made zero-mean (R ignores the mean level) and normalised to
‖W‖ = 1; φ_c is a learnable linear spline with φ_c(0) = 0 and constant-slope extension.

- **CRR** (convex ridge, Goujon, Neumayer, Bohra, Ducotterd & Unser 2023): slopes of φ_c in
  [0, 1] ⇒ ψ_c convex ⇒ R convex with Lip(∇R) ≤ ‖W‖² (≈ 1.18 with the mirrored borders,
  ``RidgeRegulariser.norm2``): every problem below has one minimiser.
- **WCRR** (weakly convex, Goujon, Neumayer & Unser 2023): ψ_c = w₊ψ₊ − w₋ψ₋ with both
  splines' slopes in [0, 1]. In ``RidgeNet`` the convex part carries the learned λ(σ), the
  concave part the fixed weight ρ/(μ‖W‖²) (ρ = ``WEAK_CONVEXITY`` < 1): the objective's
  concave curvature is at most s_λρ, so the denoising problem (H = I, s_λ = 1) stays strictly
  convex — one minimiser, and a positive-definite Hessian for the deep-equilibrium gradient —
  at every λ, μ, σ the scaling learns.

The constraints are imposed by the parametrisation (slopes are clamped when used), so they
hold after every optimiser step. ``RidgeNet`` reconstructs from any operator H by

.. math::

    \\hat x = \\arg\\min_x ½‖Hx − g‖² + (λ/μ) R(μx)   (x ≥ 0 optionally)

with λ = λ₀ s_λ (σ/σ₀)^{b_λ}, μ = μ₀ s_μ (σ/σ₀)^{−b_μ} learned functions of the noise level
σ (given, or estimated from g by ``physinv.noise.estimate_sigma``) times per-task factors
(s_λ, s_μ) chosen on training crops: one model serves every noise level and operator. In
training mode the solve is a fixed number of differentiable accelerated gradient steps (a
t-step gradient denoiser, as CRR-NN is trained); in evaluation mode it runs to the tolerance,
and validation scores the converged solves, so the kept weights are those best at
convergence.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.splines import LinearSpline, _clipped_potential
from physinv.noise import estimate_sigma
from physinv.solvers.variational import implicit_minimiser, minimise, minimise_lbfgs

SIGMA_REF = 0.05  # σ₀ of the noise-level scaling
WEAK_CONVEXITY = 0.9  # ρ: WCRR's concave curvature bound relative to the data term's
PRECONDITION_KAPPA = 0.1  # κ of ``RidgeNet.metric``: chosen on development images (cat, horse)


def _difference_filters(n: int, size: int) -> torch.Tensor:
    """``n`` zero-mean first differences (horizontal, vertical, cycled), centred in
    ``size``×``size`` and unit norm: the composed bank starts as an anisotropic total
    variation. (A start with diagonal and second differences as well lost 0.8–1.4 dB to TV
    at σ = 0.1 on training crops, whatever λ and μ.)"""
    base = [[[0, 0, 0], [0, -1, 1], [0, 0, 0]], [[0, 0, 0], [0, -1, 0], [0, 1, 0]]]
    out = torch.zeros(n, 1, size, size)
    c = size // 2
    for i in range(n):
        f = torch.tensor(base[i % len(base)], dtype=torch.float32)
        if size >= 3:
            out[i, 0, c - 1: c + 2, c - 1: c + 2] = f / f.norm()
    return out


def _mixing(c2: int, c1: int, size: int, noise: float = 0.1) -> torch.Tensor:
    """Second convolution at the start: output c passes input c mod c1 through (a centred
    impulse), plus seeded noise: the composed filters start as the difference filters,
    perturbed (the noise breaks the symmetry of the copies)."""
    gen = torch.Generator().manual_seed(0)
    w = noise * torch.randn(c2, c1, size, size, generator=gen) / (size * math.sqrt(c1))
    for c in range(c2):
        w[c, c % c1, size // 2, size // 2] += 1.0
    return w


class RidgeRegulariser(nn.Module):
    """R(x) = Σ_c Σ ψ_c((Wx)_c), convex (CRR) or weakly convex (WCRR); see the module doc.

    Parameters
    ----------
    convex : bool, default True
        CRR (φ non-decreasing) or WCRR (φ the sign-clipped w₊φ₊ − w₋φ₋).
    channels : (int, int), default (8, 32)
        Channels of the two composed convolutions.
    kernel : int, default 7
        Their (odd) kernel size; the composed filters are 2·kernel − 1 wide.
    knots : int, default 101
        Knots of each spline (on [−1, 1]).
    """

    def __init__(self, convex: bool = True, channels=(8, 32), kernel: int = 7, knots: int = 101):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise InputError("kernel", kernel, "an odd integer ≥ 1")
        c1, c2 = (int(c) for c in channels)
        self.w1 = nn.Parameter(_difference_filters(c1, kernel))
        self.w2 = nn.Parameter(_mixing(c2, c1, kernel))
        self.convex = convex
        self.phi_plus = LinearSpline(c2, knots, init="huber")
        self.phi_minus = None if convex else LinearSpline(c2, knots, init=0.0)
        self.pad = kernel - 1

    def kernel(self) -> torch.Tensor:
        """The composed, zero-mean filter bank K (C, 1, 2k − 1, 2k − 1) with ‖W‖ = 1.

        ‖W‖² = max_ω Σ_c |K̂_c(ω)|², evaluated on a 128×128 frequency grid.
        """
        w1 = self.w1 - self.w1.mean(dim=(2, 3), keepdim=True)
        p = self.pad
        k = F.conv2d(F.pad(w1.permute(1, 0, 2, 3), (p, p, p, p)), torch.flip(self.w2, (2, 3)))
        k = k.permute(1, 0, 2, 3)
        power = torch.fft.rfft2(k[:, 0], s=(128, 128)).abs().pow(2).sum(0).max()
        return k / power.sqrt()

    def norm2(self, k: torch.Tensor | None = None) -> float:
        """‖W‖² of the filter bank with its mirrored borders (``apply_w``), by 60 power
        iterations on WᵀW over a 32×32 grid (the largest singular vectors sit at the border,
        so a small grid gives the norm of any larger one), plus 1 % for the iterations'
        shortfall. ``kernel`` makes the circular ‖W‖ = 1; the mirrored border copies pixels
        and raises it (≈ 1.18 at the start). Cached while the filters are unchanged."""
        key = (self.w1._version, self.w2._version, self.w1.data_ptr(), self.w2.data_ptr())
        if getattr(self, "_norm2_key", None) != key:
            with torch.no_grad():
                k = (self.kernel() if k is None else k).detach().to(torch.float64)
                d = torch.randn(1, 1, 32, 32, dtype=torch.float64,
                                generator=torch.Generator().manual_seed(0)).to(k.device)
                for _ in range(60):
                    d = self.apply_wt(self.apply_w(d, k), k, d.shape)
                    value = float(d.norm())
                    d = d / value
            self._norm2_key, self._norm2_value = key, 1.01 * value
        return self._norm2_value

    def lipschitz(self, weights=(1.0, 1.0), k: torch.Tensor | None = None) -> float:
        """Lip(∇R_w) ≤ max|φ′| ‖W‖² = max(w₊ max φ₊′, w₋ max φ₋′)·‖W‖²; for weights per
        image, the largest over the batch."""
        w_plus, w_minus = (torch.as_tensor(w, dtype=torch.float64).detach().flatten().cpu()
                           for w in weights)
        lip = w_plus * float(self.phi_plus.slopes().max().detach().clamp_min(1e-6))
        if not self.convex:
            lip = torch.maximum(lip, w_minus * float(self.phi_minus.slopes().max().detach()))
        return float(lip.max()) * self.norm2(k)

    def activation(self, t: torch.Tensor, weights=(1.0, 1.0)) -> torch.Tensor:
        """φ(t) = w₊φ₊(t) (CRR) or the sign-clipped w₊φ₊(t) − w₋φ₋(t) (WCRR: max(·, 0) for
        t ≥ 0, min(·, 0) for t < 0); weights scalars or (B, 1, 1, 1)."""
        w_plus, w_minus = weights
        if self.convex:
            return self.phi_plus(t, w_plus)
        phi = w_plus * self.phi_plus(t) - w_minus * self.phi_minus(t)
        # sign-clipped: t·φ(t) ≥ 0, so ψ is non-decreasing in |t| and R ≥ 0 (the objective is
        # bounded below on every operator); the slopes stay ≥ −w₋ max φ₋′
        return torch.where(t >= 0, phi.clamp_min(0.0), phi.clamp_max(0.0))

    def apply_w(self, x: torch.Tensor, k: torch.Tensor | None = None) -> torch.Tensor:
        """Wx: the filter bank on x (B, 1, H, W) mirrored at the borders (reflect padding, so
        a constant image has no response and every pixel is seen by every filter)."""
        k = (self.kernel() if k is None else k).to(x.dtype)
        rows, cols = _reflect_index(x.shape[-2], k.shape[-1] // 2, x.device), \
            _reflect_index(x.shape[-1], k.shape[-1] // 2, x.device)
        return F.conv2d(x[..., rows, :][..., cols], k)

    def apply_wt(self, z: torch.Tensor, k: torch.Tensor, shape) -> torch.Tensor:
        """Wᵀz, the exact adjoint of ``apply_w``: transposed convolution, then the mirrored
        border folded back onto the pixels it copies. In float32 the transposed convolution
        is a depthwise convolution of the zero-padded channels with the flipped filters,
        summed (4× faster than ``conv_transpose2d`` on a CPU for 32 channels, 13×13)."""
        k = k.to(z.dtype)
        p = k.shape[-1] // 2
        if z.dtype == torch.float32:
            full = k.shape[-1] - 1
            u = F.conv2d(F.pad(z, (full,) * 4), torch.flip(k, (2, 3)),
                         groups=k.shape[0]).sum(1, keepdim=True)
        else:  # float64: the depthwise path is slow, conv_transpose2d is not
            u = F.conv_transpose2d(z, k)
        rows = _reflect_index(shape[-2], p, z.device)
        cols = _reflect_index(shape[-1], p, z.device)
        out = u.new_zeros(*u.shape[:-2], shape[-2], u.shape[-1]).index_add_(-2, rows, u)
        return out.new_zeros(*u.shape[:-2], shape[-2], shape[-1]).index_add_(-1, cols, out)

    def grad(self, x: torch.Tensor, k: torch.Tensor | None = None, weights=(1.0, 1.0)
             ) -> torch.Tensor:
        """∇R(x) = Wᵀ φ(Wx) for x (B, 1, H, W), φ weighted as in ``activation``."""
        k = self.kernel() if k is None else k
        return self.apply_wt(self.activation(self.apply_w(x, k), weights), k, x.shape)

    def value(self, x: torch.Tensor, k: torch.Tensor | None = None, weights=(1.0, 1.0)
              ) -> torch.Tensor:
        """R(x) per image, shape (B,)."""
        return self._potential(self.apply_w(x, k), weights)

    def value_and_grad(self, x: torch.Tensor, k: torch.Tensor | None = None,
                       weights=(1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
        """(R(x) per image (B,), ∇R(x)) from one application of W."""
        k = self.kernel() if k is None else k
        t = self.apply_w(x, k)
        if self.convex:  # φ and ψ from one interval index
            phi, psi = self.phi_plus.forward_and_potential(t, weights[0])
            return psi.flatten(1).sum(1, dtype=torch.float64), self.apply_wt(phi, k, x.shape)
        return self._potential(t, weights), self.apply_wt(self.activation(t, weights), k,
                                                          x.shape)

    def _potential(self, t: torch.Tensor, weights) -> torch.Tensor:
        """Σ_c Σ_pixels ψ_c(t_c) per image (ψ = ∫₀ᵗ ``activation``), summed in float64."""
        w_plus, w_minus = weights
        if self.convex:
            psi = w_plus * self.phi_plus.potential(t)
        else:
            psi = _clipped_potential(self.phi_plus, self.phi_minus, w_plus, w_minus, t)
        return psi.flatten(1).sum(1, dtype=torch.float64)


def _reflect_index(n: int, p: int, device) -> torch.Tensor:
    """Source index of each of the n + 2p positions of a reflect-padded axis (p < n)."""
    if p >= n:
        raise InputError("image", n, f"a side larger than the filters' half-width {p}")
    i = torch.arange(-p, n + p, device=device).abs()
    return torch.where(i >= n, 2 * (n - 1) - i, i)


class RidgeNet(PhysicsNet):
    """x̂ = argmin ½‖Hx − g‖² + (λ/μ)R(μx) (+ x ≥ 0) with a learned ridge regulariser R.

    Parameters
    ----------
    op : LinearOperator
        The forward operator H (``Identity`` while it is trained as a denoiser).
    convex : bool, default True
        CRR (True) or WCRR (False).
    lam_scale, mu_scale : float, default 1
        Per-task factors s_λ, s_μ > 0 on the learned λ(σ), μ(σ).
    sigma : float, optional
        The noise level σ of g; estimated from each measurement when None.
    positivity : bool, default False
        Constrain x ≥ 0.
    tol : float, default 1e-5
        Relative gradient-mapping tolerance of the solve (evaluation mode).
    max_iter : int, default 1000
        Iteration cap of the solve (evaluation mode); a solve that hits it keeps its last
        iterate and warns with the gradient norm reached.
    train_steps : int, default 10
        Accelerated gradient steps of the differentiable solve in training mode when
        ``deq=False`` or with ``positivity`` (a ``train_steps``-step gradient denoiser,
        started at the measurement).
    deq : bool, default True
        Train as a deep equilibrium: in training mode the solve also runs to ``tol`` and is
        differentiated at its solution by the implicit function theorem
        (``physinv.solvers.variational.implicit_minimiser``), so training fits the
        converged solve that is used afterwards, at any strength of the regulariser.
    data_range : (float, float), default (0, 1)
        The range of the images the regulariser was trained on (recorded in the run).
        Measurements that are images (denoising, deblurring) whose 1st–99th percentiles fall
        more than one span outside it are refused, with the advice to pass ``scale``.
    scale : float, optional
        The unit of the data: x̂ = S · solve(g / S) (σ given in the data's units); e.g. the
        span of images in kelvin or counts, so that they meet the regulariser in [0, 1].
    """

    def __init__(self, op, convex: bool = True, lam_scale: float = 1.0, mu_scale: float = 1.0,
                 sigma: float | None = None, positivity: bool = False, tol: float = 1e-5,
                 max_iter: int = 1000, train_steps: int = 10, data_range=(0.0, 1.0),
                 scale: float | None = None, deq: bool = True):
        super().__init__(op)
        check_positive("lam_scale", lam_scale)
        check_positive("mu_scale", mu_scale)
        if sigma is not None:
            check_positive("sigma", sigma)
        if scale is not None:
            check_positive("scale", scale)
        self.reg = RidgeRegulariser(convex=convex)
        # log λ = a_λ + b_λ log(σ/σ₀); log μ = a_μ − b_μ log(σ/σ₀). At the start (Huber
        # splines of corner Δ = 0.02, first differences) the penalty is ≈ λΔ‖Wx‖₁ with a
        # corner Δ/μ ≈ 7·10⁻⁴: λ = 1.15 (σ/σ₀)^1.5, μ = 30, the best λ, μ of the start on
        # denoising training crops at σ = 0.02 and 0.1 (knots then span |Wx| ≤ 1/μ ≈ 0.03)
        self.scaling = nn.Parameter(torch.tensor([0.14, 1.5, math.log(30.0), 0.0]))
        self.last = None
        self.record_resolved(data_range=[float(v) for v in data_range])

    def scales(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(λ, μ) for noise levels ``sigma`` (B,), with the per-task factors."""
        a_l, b_l, a_m, b_m = self.scaling
        r = torch.log(sigma.to(self.scaling.dtype) / SIGMA_REF)
        lam = torch.exp(a_l + b_l * r) * self.config.get("lam_scale", 1.0)
        mu = torch.exp(a_m - b_m * r) * self.config.get("mu_scale", 1.0)
        return lam, mu

    def _scales_of(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(λ, μ) of measurements ``y`` (divided by ``scale``): a given σ is in the data's
        units, so it is divided by the scale too; an estimated one is already in y's."""
        unit = 1.0 if self.config.get("sigma") is None else float(self.config.get("scale")
                                                                    or 1.0)
        return self.scales(self.noise_level(y).to(y.device) / unit)

    def noise_level(self, y: torch.Tensor) -> torch.Tensor:
        """σ per measurement: the configured one, else Donoho's MAD estimate of each."""
        sigma = self.config.get("sigma")
        if sigma is not None:
            return torch.full((y.shape[0],), float(sigma), dtype=torch.float64)
        return torch.tensor([max(estimate_sigma(y[i: i + 1]), 1e-4) for i in range(len(y))],
                            dtype=torch.float64)

    def problem(self, y: torch.Tensor):
        """The objective of the solve for measurements ``y`` (already divided by ``scale``).

        .. math::

            F(x) = ½‖Hx − g‖² + R_w(μx)/μ,\\quad R_w = Σ_c Σ (w₊ψ₊ − w₋ψ₋)((W·)_c),\\;
            w₊ = λ,\\; w₋ = s_λρ/(μ‖W‖²) \\text{ (WCRR only)}

        Returns
        -------
        (grad, value_and_grad, lipschitz)
            ``grad(x) -> ∇F(x)``, ``value_and_grad(x) -> (F(x) per image, ∇F(x))`` and a bound
            L ≥ Lip(∇F) = ‖H‖² + max μ·max(w₊ max φ₊′, w₋ max φ₋′)·‖W‖².
        """
        cfg = self.config
        lam, mu = self._scales_of(y)
        k = self.reg.kernel()
        # WCRR's concave part: weight s_λρ/(μ‖W‖²), curvature ≤ s_λρ whatever λ(σ), μ(σ) learn
        neg = cfg.get("lam_scale", 1.0) * WEAK_CONVEXITY / (mu * self.reg.norm2(k))
        shape = (-1,) + (1,) * (y.dim() - 1)
        mu_b = mu.to(y.dtype).view(shape)
        weights = (lam.to(y.dtype).view(shape), neg.to(y.dtype).view(shape))
        op = self.op

        def grad(x):
            return op.adjoint(op(x, check=False) - y) + self.reg.grad(mu_b * x, k, weights)

        def value_and_grad(x):
            r = op(x, check=False) - y
            value, g_reg = self.reg.value_and_grad(mu_b * x, k, weights)
            data = 0.5 * r.flatten(1).pow(2).sum(1, dtype=torch.float64)
            return data + value / mu.detach().to(data.device), op.adjoint(r) + g_reg

        return grad, value_and_grad, self._norm2() + self.reg.lipschitz((lam * mu, neg * mu), k)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        unit = float(cfg.get("scale") or 1.0)
        y = y / unit
        self._check_range(y)
        grad, value_and_grad, lip = self.problem(y)
        op = self.op
        x0 = y if tuple(op.in_shape) == tuple(op.out_shape) else op.adjoint(y) / self._norm2()
        if self.training and cfg.get("deq", True) and not cfg["positivity"]:
            # deep equilibrium: solved to the tolerance, differentiated at the solution
            with torch.no_grad():
                result = self._solve(y, grad, value_and_grad, lip, x0)
            result.x = implicit_minimiser(grad, result.x, lip)
        elif self.training:  # a gradient-step denoiser: train_steps differentiable steps
            result = minimise(grad, lip, x0, positivity=cfg["positivity"], tol=0.0,
                              max_iter=cfg["train_steps"])
        else:
            result = self._solve(y, grad, value_and_grad, lip, x0)
        if not self.training and not result.converged:
            warnings.warn(f"{type(self).__name__}: the solve stopped at the iteration cap "
                          f"max_iter={cfg['max_iter']} with a relative gradient-mapping "
                          f"norm {result.params['grad_norm']:.3g} > tol={cfg['tol']:g}; "
                          "its last (FISTA) or least-gradient (L-BFGS) iterate is returned",
                          RuntimeWarning, stacklevel=3)
        self.last = result
        return result.x * unit

    def _solve(self, y, grad, value_and_grad, lip, x0):
        """The solve to ``tol`` (evaluation, and the deep equilibrium's forward pass): FISTA
        with restart under x ≥ 0; else L-BFGS preconditioned by ``metric`` (2–4× fewer
        gradients than FISTA for a tighter solve), FISTA finishing where the line search
        stalls (tolerances near the float floor)."""
        cfg = self.config
        if cfg["positivity"]:
            return minimise(grad, lip, x0, positivity=True, tol=cfg["tol"],
                            max_iter=cfg["max_iter"])
        result = minimise_lbfgs(value_and_grad, lip, x0, tol=cfg["tol"],
                                max_iter=cfg["max_iter"], metric=self.metric(y))
        left = cfg["max_iter"] - result.n_iter
        if result.stop_reason == "stalled" and left > 0:
            used = result.n_iter
            result = minimise(grad, lip, result.x, tol=cfg["tol"], max_iter=left)
            result.n_iter += used
        return result

    def metric(self, y: torch.Tensor) -> torch.Tensor:
        """The L-BFGS preconditioner's multiplier (``minimise_lbfgs(metric=…)``), per image.

        .. math::

            c(ω) = \\left(\\hat h(ω) + κλμ\\,\\hat p(ω) + ε\right)^{-1/2}

        ĥ the transfer function of H'H from its response to a centre point on the image grid
        (exact for circular blurs, an approximation otherwise), p̂ = Σ_c|K̂_c|² the filter
        bank's power, λμ the regulariser's curvature scale (its Hessian is λμ Wᵀ diag(φ′) W,
        0 ≤ φ′ ≤ 1) and κ = ``PRECONDITION_KAPPA`` the share of responses taken as active;
        ε = 10⁻³ of the largest of the two terms. Halves the gradients of a solve to tol 1e-5
        on deblurring (``benchmarks/ridge_solve_speed.py``); it changes the path, not the
        minimiser.
        """
        lam, mu = self._scales_of(y)
        shape = tuple(self.op.in_shape)
        power = torch.fft.rfft2(self.reg.kernel().detach()[:, 0].to(y.dtype), s=shape
                                ).abs().pow(2).sum(0)
        h = self._transfer(y)
        alpha = (PRECONDITION_KAPPA * lam * mu).to(y).view(-1, 1, 1, 1)
        eps = 1e-3 * (float(h.max()) + alpha * float(power.max()))
        return (h + alpha * power + eps).rsqrt()

    def _transfer(self, y: torch.Tensor) -> torch.Tensor:
        """ĥ: the rfft2 of H'H applied to a point at the grid's centre, shifted to the origin
        (computed once, in y's dtype and on its device)."""
        cached = getattr(self, "_transfer_cache", None)
        if cached is None or cached.dtype != y.dtype or cached.device != y.device:
            shape = tuple(self.op.in_shape)
            e = y.new_zeros(1, 1, *shape)
            e[..., shape[0] // 2, shape[1] // 2] = 1.0
            with torch.no_grad():
                r = self.op.normal(e, check=False)
            self._transfer_cache = torch.fft.rfft2(torch.fft.ifftshift(
                r, dim=(-2, -1))).real.clamp_min(0)
        return self._transfer_cache

    def _check_range(self, y: torch.Tensor) -> None:
        """Refuse data far outside the recorded training range (measurements that are images:
        denoising, deblurring), saying how to rescale them."""
        if tuple(self.op.in_shape) != tuple(self.op.out_shape):
            return
        lo, hi = self.config["data_range"]
        flat = y.detach().flatten()[:: max(1, y.numel() // 100_000)].to(torch.float64)
        q_lo, q_hi = (float(v) for v in torch.quantile(flat, torch.tensor(
            [0.01, 0.99], dtype=torch.float64, device=flat.device)))
        span = max(hi - lo, 1e-12)
        if q_lo < lo - span or q_hi > hi + span or q_hi - q_lo < 1e-3 * span:
            raise InputError("y", f"values in [{q_lo:.4g}, {q_hi:.4g}] (1st–99th percentile)",
                             f"data on the scale the regulariser was trained on, [{lo:g}, "
                             f"{hi:g}]; rescale it or pass scale=S (net.for_operator(op, "
                             "scale=S)) for data in other units")

    def _norm2(self) -> float:
        if not hasattr(self, "_op_norm2"):
            self._op_norm2 = float(self.op.norm()) ** 2
        return self._op_norm2
