r"""The E-step of Levin et al.'s marginal-likelihood (EM) kernel estimation, in the gradient
domain: a Gaussian posterior on the sharp gradients x given the kernel k.

For one gradient channel, ∂g = k ⊛ x + n, n ~ N(0, η I), and an IRLS-weighted Gaussian
prior x_i ~ N(0, 1 / w_i) with w_i = α / max(|p_i|, ε) (p the current latent gradients, a
Laplacian prior linearised at p), the posterior is N(μ, A⁻¹) with

.. math::

    A = K^\top K / \eta + W, \qquad A \mu = K^\top \partial g / \eta,

μ by conjugate gradients (K by FFT), and the covariance approximated by the inverse of A's
diagonal, C_ii = 1 / (‖k‖² / η + w_i) (Levin et al. 2011, §3). The M-step's expected data term

.. math::

    \mathbb{E}\,\|\partial g - k \circledast x\|^2
      = \|\partial g - k \circledast \mu\|^2 + \textstyle\sum_i C_{ii}\, \|k\|^2

(diagonal C: only the zero lag of the latent's autocorrelation grows, by Σ_i C_ii) is the
MAP kernel step's normal matrix with Σ_c Σ_i C_ii added to its diagonal: the variance term
that γ‖k‖² stands in for. ``physinv.solvers.blind_kernel`` uses it with
``Schedule(kernel_update="em")``; on training crops it is not better than the MAP step
(see that module's docstring), so it is not the default.

References
----------
.. [1] A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Efficient marginal likelihood
   optimization in blind deconvolution", CVPR 2011.
"""

from __future__ import annotations

import torch

from physinv.operators.blur import embed_centered
from physinv.solvers.iterative import solve_spd


def posterior_gradients(g_grads, u_grads, k: torch.Tensor, eta: float, alpha: float,
                        eps: float = 1e-2, n_cg: int = 20):
    """The E-step: posterior means μ_c of the sharp gradients and Σ_c Σ_i C_ii.

    Parameters
    ----------
    g_grads : list of torch.Tensor, shape (B, C, H, W)
        The measurement's gradients ∂_c g.
    u_grads : list of torch.Tensor
        The current latent gradients p_c (IRLS linearisation point and CG start).
    k : torch.Tensor, shape (kh, kw)
        The current kernel.
    eta : float
        The noise variance η of the gradients.
    alpha : float
        The prior weight α in w_i = α / max(|p_i|, ε).
    eps : float
        ε of the weights.
    n_cg : int
        Conjugate-gradient iterations per channel.

    Returns
    -------
    (list of torch.Tensor, float)
        μ_c, and Σ_c Σ_i 1 / (‖k‖²/η + w_i).
    """
    shape = tuple(g_grads[0].shape[-2:])
    k_hat = torch.fft.rfft2(embed_centered(k, shape))
    power = k_hat.abs() ** 2 / eta
    k2 = float((k**2).sum()) / eta
    means, csum = [], 0.0
    for g_c, p_c in zip(g_grads, u_grads, strict=True):
        w = alpha / p_c.abs().clamp_min(eps)
        csum += float((1.0 / (k2 + w)).sum())

        def apply(v, w=w):
            return torch.fft.irfft2(power * torch.fft.rfft2(v), s=shape) + w * v

        rhs = torch.fft.irfft2(k_hat.conj() * torch.fft.rfft2(g_c), s=shape) / eta
        jacobi = 1.0 / (k2 + w)
        mean, *_ = solve_spd(apply, rhs, p_c, n_iter=n_cg, tol=0.0,
                             precond=lambda r, m=jacobi: m * r)
        means.append(mean)
    return means, csum

