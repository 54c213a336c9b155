r"""The E-step of Levin et al.'s marginal-likelihood (EM) kernel estimation, in the gradient
domain: a Gaussian posterior on the sharp gradients x given the kernel k.

For one gradient channel, ∂g = k ⊛ x + n, n ~ N(0, η I), and a Laplacian prior on the
gradients bounded by a Gaussian, x_i ~ N(0, 1 / w_i), the posterior is N(μ, A⁻¹) with

.. math::

    A = K^\top K / \eta + W, \qquad A \mu = K^\top \partial g / \eta,
    \qquad C_{ii} \approx 1 / (\|k\|^2 / \eta + w_i),

μ by conjugate gradients (K by FFT) and the covariance by the inverse of A's diagonal. The
weights are those of the *expected* gradient, w_i = α / √(μ_i² + C_ii) (variational EM on the
Laplacian's quadratic bound), re-estimated over ``n_pass`` passes from the flat
w = α / rms(∂g) — no image estimate enters the E-step (Levin et al. 2011, §3; their reference
code reweights a Gaussian mixture from μ² + C in the same way). The M-step's expected data term

.. math::

    \mathbb{E}\,\|\partial g - k \circledast x\|^2
      = \|\partial g - k \circledast \mu\|^2 + \textstyle\sum_i C_{ii}\, \|k\|^2

(diagonal C: only the zero lag of the latent's autocorrelation grows, by Σ_i C_ii) is the
MAP kernel step's normal matrix with Σ_c Σ_i C_ii added to its diagonal.
``physinv.solvers.blind_kernel`` runs it with ``Schedule(kernel_update="em")``: per pyramid
level, alternations of this E-step and a non-negative kernel step, η annealed from
``em_anneal``^(2(n − 1)) η down to η, the kernel normalised and cleaned at the level's end.

References
----------
.. [1] A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Efficient marginal likelihood
   optimization in blind deconvolution", CVPR 2011.
"""

from __future__ import annotations

import torch

from physinv.operators.blur import embed_centered
from physinv.solvers.iterative import solve_spd


def posterior_gradients(g_grads, k: torch.Tensor, eta: float, alpha: float,
                        n_pass: int = 3, n_cg: int = 15, eps: float = 1e-6):
    """The E-step: posterior means μ_c of the sharp gradients and Σ_c Σ_i C_ii.

    Parameters
    ----------
    g_grads : list of torch.Tensor, shape (B, C, H, W)
        The measurement's gradients ∂_c g.
    k : torch.Tensor, shape (kh, kw)
        The current kernel.
    eta : float
        The noise variance η of the gradients.
    alpha : float
        The Laplacian prior's weight α in w_i = α / √(μ_i² + C_ii).
    n_pass : int
        Passes of (solve, re-weight); the first uses w = α / rms(∂_c g).
    n_cg : int
        Conjugate-gradient iterations per pass and channel (started from the last μ).
    eps : float
        Floor of √(μ² + C) in the weights.

    Returns
    -------
    (list of torch.Tensor, float)
        μ_c, and Σ_c Σ_i C_ii of the last pass.
    """
    shape = tuple(g_grads[0].shape[-2:])
    k_hat = torch.fft.rfft2(embed_centered(k, shape))
    power = k_hat.abs() ** 2 / eta
    k2 = float((k**2).sum()) / eta
    means, csum = [], 0.0
    for g_c in g_grads:
        rhs = torch.fft.irfft2(k_hat.conj() * torch.fft.rfft2(g_c), s=shape) / eta
        w = torch.full_like(g_c, alpha / max(float(g_c.pow(2).mean().sqrt()), eps))
        mean = g_c
        for _ in range(n_pass):
            def apply(v, w=w):
                return torch.fft.irfft2(power * torch.fft.rfft2(v), s=shape) + w * v

            jacobi = 1.0 / (k2 + w)
            mean, *_ = solve_spd(apply, rhs, mean, n_iter=n_cg, tol=0.0,
                                 precond=lambda r, m=jacobi: m * r)
            w = alpha / (mean**2 + jacobi).sqrt().clamp_min(eps)
        csum += float(jacobi.sum())
        means.append(mean)
    return means, csum
