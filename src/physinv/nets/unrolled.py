"""Unrolled (unfolded) iterations as networks: ``UnrolledLandweber``, ``LISTA``, ``UnrolledHQS``.

K layers f⁽ᵏ⁺¹⁾ = φ_k(f⁽ᵏ⁾ + α_k H'(g − Hf⁽ᵏ⁾) − α_k λ_k f⁽ᵏ⁾) with H, H' fixed and only the
per-layer scalars learnable (α_k, λ_k; for LISTA the thresholds θ_k of φ_k = S_θk). Defaults
match the solvers: α = 1/‖H‖², λ = 0, x0 = 0, so that untrained

    UnrolledLandweber(op, n_layers=K)(y) == landweber(y, op, n_iter=K, tol=None).x
    LISTA(op, n_layers=K, lam=λ)(y)      == ista(y, op, lam=λ, n_iter=K, tol=None).x

With ``tied=True`` all layers share one α (and λ or θ). On the singular vectors of H the
untrained Landweber network is the spectral filter σ(1 − (1 − α(σ² + λ))ᴷ)/(σ² + λ).

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.nets import UnrolledLandweber
>>> net = UnrolledLandweber(Convolution(psf.gaussian(1.0, 7), (16, 16)), n_layers=5)
>>> net.trainable_parameters(), tuple(net(torch.rand(1, 1, 16, 16)).shape)
(10, (1, 1, 16, 16))
"""

from __future__ import annotations

import math

import torch
from torch import nn

from physinv.errors import InputError, check_int, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import SmallCNN, apply_cnn
from physinv.operators import Wavelet
from physinv.solvers.iterative import soft_threshold
from physinv.solvers.pcg import NormalSolver, tikhonov_power


def _layer_values(value: float, n_layers: int, tied: bool) -> nn.Parameter:
    return nn.Parameter(torch.full((1 if tied else n_layers,), float(value), dtype=torch.float64))


class UnrolledLandweber(PhysicsNet):
    """K Landweber iterations as layers, with learnable step sizes α_k and weights λ_k.

    .. math::

        x⁽ᵏ⁺¹⁾ = φ(x⁽ᵏ⁾ + α_k H'(g − Hx⁽ᵏ⁾) − α_k λ_k x⁽ᵏ⁾),   k = 0, …, K − 1

    the gradient step on ½‖g − Hx‖² + ½λ_k‖x‖², with φ the identity or, with
    ``positivity=True``, the projection onto x ≥ 0. Untrained (α_k = ``step``, λ_k = ``lam``)
    it equals ``landweber(y, op, n_iter=K, step=step, lam=lam, tol=None).x``; on the singular
    vectors of H it is the filter σ(1 − (1 − α(σ² + λ))ᴷ)/(σ² + λ).

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    n_layers : int
        Number of layers K.
    step : float, optional
        Initial step α > 0; default 1/‖H‖² (recorded in ``config`` as resolved).
    lam : float, default 0.0
        Initial weight λ ≥ 0 of the ½λ‖x‖² term.
    tied : bool, default False
        One α and one λ shared by all layers (2 parameters instead of 2K).
    positivity : bool, default False
        Clamp every iterate at 0.

    Notes
    -----
    ``net(y, x0)`` starts from ``x0`` of shape (B, C, *op.in_shape) (default zeros); input
    ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape).

    References
    ----------
    .. [1] L. Landweber, "An iteration formula for Fredholm integral equations of the first
           kind", American Journal of Mathematics 73(3), 615–624, 1951.
    .. [2] V. Monga, Y. Li, Y. C. Eldar, "Algorithm unrolling: interpretable, efficient deep
           learning for signal and image processing", IEEE Signal Processing Magazine 38(2),
           18–44, 2021.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import landweber
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = UnrolledLandweber(op, n_layers=5)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> x = landweber(y, op, n_iter=5, tol=None).x
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), x))
    (10, True)
    """

    def __init__(self, op, n_layers: int, step: float | None = None, lam: float = 0.0,
                 tied: bool = False, positivity: bool = False):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        step = 1.0 / op.norm() ** 2 if step is None else check_positive("step", step)
        lam = check_positive("lam", lam, allow_zero=True)
        self.step = _layer_values(step, self.n_layers, tied)
        self.lam = _layer_values(lam, self.n_layers, tied)
        self.tied = tied
        self.positivity = positivity
        self.record_resolved(n_layers=self.n_layers, step=step, lam=lam)

    def _reconstruct(self, y: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.zeros(*y.shape[:2], *self.op.in_shape, dtype=y.dtype, device=y.device) \
            if x0 is None else self.op.check_input(x0, "x0")
        for k in range(self.n_layers):
            i = 0 if self.tied else k
            alpha = self.step[i].to(y.dtype)
            lam = self.lam[i].to(y.dtype)
            x = x + alpha * self.op.adjoint(y - self.op(x, check=False), check=False) \
                - (alpha * lam) * x
            if self.positivity:
                x = x.clamp_min(0)
        return x


class LISTA(PhysicsNet):
    """K ISTA iterations as layers, with learnable steps α_k and thresholds θ_k.

    .. math::

        c⁽ᵏ⁺¹⁾ = S_θk(c⁽ᵏ⁾ − α_k W H'(HW'c⁽ᵏ⁾ − g)),   x̂ = W'c⁽ᴷ⁾,
        S_θ(c) = sign(c) max(|c| − θ, 0)

    the proximal-gradient step on ½‖g − HW'c‖² + λ‖c‖₁, with W the identity
    (``basis="pixel"``) or an orthogonal wavelet transform (``basis="wavelet"``: the
    approximation band is not thresholded). Untrained (α_k = ``step``, θ_k = ``step · lam``)
    it equals ``ista(y, op, lam=lam, n_iter=K, step=step, basis=basis, tol=None).x``.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    n_layers : int
        Number of layers K.
    lam : float
        The ℓ1 weight λ > 0 of the initialisation.
    step : float, optional
        Initial step α > 0; default 1/‖H‖² (recorded in ``config`` as resolved).
    basis : {"pixel", "wavelet"}, default "pixel"
        Where the image is sparse.
    wavelet : str, default "db2"
        Orthogonal wavelet of ``basis="wavelet"``.
    level : int, optional
        Its levels; default as many as the image allows, at most 3.
    tied : bool, default False
        One α and one θ shared by all layers.

    Raises
    ------
    InputError
        For ``n_layers`` < 1, λ ≤ 0, a non-positive step or an unknown basis.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape); 2K parameters
    (2 when tied). Unlike Gregor and LeCun's LISTA, the matrices H' and W stay fixed: only
    the scalars are learned, so the network keeps the physics.

    References
    ----------
    .. [1] K. Gregor, Y. LeCun, "Learning fast approximations of sparse coding", Proc. 27th
           International Conference on Machine Learning (ICML), 399–406, 2010.
    .. [2] I. Daubechies, M. Defrise, C. De Mol, "An iterative thresholding algorithm for
           linear inverse problems with a sparsity constraint", Communications on Pure and
           Applied Mathematics 57(11), 1413–1457, 2004.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import ista
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = LISTA(op, n_layers=4, lam=0.01, basis="wavelet")
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> x = ista(y, op, lam=0.01, n_iter=4, basis="wavelet", tol=None).x
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), x))
    (8, True)
    """

    def __init__(self, op, n_layers: int, lam: float, step: float | None = None,
                 basis: str = "pixel", wavelet: str = "db2", level: int | None = None,
                 tied: bool = False):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        lam = check_positive("lam", lam)
        step = 1.0 / op.norm() ** 2 if step is None else check_positive("step", step)
        if basis not in ("pixel", "wavelet"):
            raise InputError("basis", basis, "'pixel' or 'wavelet'")
        self.basis = basis
        self.transform = Wavelet(op.in_shape, wavelet, level) if basis == "wavelet" else None
        if self.transform is not None:
            self.register_buffer("weight", (self.transform.subband_index != 0).to(
                torch.float64))
        self.step = _layer_values(step, self.n_layers, tied)
        self.threshold = _layer_values(step * lam, self.n_layers, tied)
        self.tied = tied
        self.record_resolved(n_layers=self.n_layers, lam=lam, step=step)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        w = self.transform
        x = torch.zeros(*y.shape[:2], *self.op.in_shape, dtype=y.dtype, device=y.device)
        c = w(x, check=False) if w is not None else x
        for k in range(self.n_layers):
            i = 0 if self.tied else k
            xk = w.adjoint(c, check=False) if w is not None else c
            grad = self.op.adjoint(self.op(xk, check=False) - y, check=False)
            g = w(grad, check=False) if w is not None else grad
            theta = self.threshold[i].to(y.dtype)
            if w is not None:
                theta = theta * self.weight.to(y.dtype)
            c = soft_threshold(c - self.step[i].to(y.dtype) * g, theta)
        return w.adjoint(c, check=False) if w is not None else c


class UnrolledHQS(PhysicsNet):
    """Half-quadratic splitting unrolled, with a learned CNN as the proximal step (MoDL).

    .. math::

        x⁽⁰⁾ = (H'H + λD'D + μ₀ [λ = 0] I)⁻¹ H'g,  then for k = 1, …, K:
        z⁽ᵏ⁾ = x⁽ᵏ⁻¹⁾ + CNN_k(x⁽ᵏ⁻¹⁾),   x⁽ᵏ⁾ = (H'H + λD'D + μ_k I)⁻¹ (H'g + μ_k z⁽ᵏ⁾)

    the alternation between a denoising step (a residual CNN, zero at init, so the prox starts
    as the identity) and a data-consistency step on ½‖g − Hx‖² + ½λ‖Dx‖² (D the circular
    gradient), solved by the operator's exact path (``physinv.solvers.pcg.NormalSolver``: a
    Fourier filter, the polyphase blocks of super-resolution, a direct solve for ``Dense``,
    preconditioned CG to a relative residual of 1e-8, warm-started at z, for CT). With λ > 0
    the start x⁽⁰⁾ is the Tikhonov solution and a fixed point of every untrained layer, so
    the untrained network is ``tikhonov(y, op, lam, reg="gradient")``; with λ = 0 (the
    original form) it is Tikhonov (D = I, λ = μ) iterated K + 1 times. Learnable: the CNN
    (shared by all layers when ``tied``) and log μ_k, initialised at ``mu`` (μ₀ only acts when
    λ = 0).

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    n_layers : int, default 5
        Number of denoise + data-consistency layers K.
    mu : float, default 0.01
        Initial penalty weight μ > 0 of every layer.
    tied : bool, default True
        One CNN shared by all layers (else one per layer).
    width, depth : int, default 32, 5
        Channels and 3×3 convolution layers of the CNN.
    cg_steps : int, default 10
        Accepted for run folders written when the data-consistency step was ``cg_steps``
        truncated CG steps; recorded, no longer used (the solve runs to its tolerance).
    dropout : float, default 0.0
        Dropout before the CNN's last layer (for ``mc_dropout``).
    lam : float, default 0.0
        The fixed Tikhonov weight λ ≥ 0 of the data term (0: the original MoDL form).

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape). The gradient
    flows through every data-consistency step (by autograd through the closed forms, by the
    same solve on the CG path).

    References
    ----------
    .. [1] D. Geman, C. Yang, "Nonlinear image recovery with half-quadratic regularization",
           IEEE Trans. Image Process. 4(7), 932–946, 1995.
    .. [2] K. Zhang, W. Zuo, S. Gu, L. Zhang, "Learning deep CNN denoiser prior for image
           restoration", Proc. IEEE CVPR, 3929–3938, 2017.
    .. [3] H. K. Aggarwal, M. P. Mani, M. Jacob, "MoDL: model-based deep learning architecture
           for inverse problems", IEEE Trans. Medical Imaging 38(2), 394–405, 2019.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = UnrolledHQS(op, n_layers=2, width=8, lam=0.01)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> bool(torch.allclose(net(y), tikhonov(y, op, lam=0.01).x))
    True
    """

    def __init__(self, op, n_layers: int = 5, mu: float = 0.01, tied: bool = True,
                 width: int = 32, depth: int = 5, cg_steps: int = 10, dropout: float = 0.0,
                 lam: float = 0.0):
        super().__init__(op)
        self.n_layers = check_int("n_layers", n_layers)
        mu = check_positive("mu", mu)
        self.cg_steps = check_int("cg_steps", cg_steps)
        self.lam = check_positive("lam", lam, allow_zero=True)
        self.record_resolved(n_layers=self.n_layers, mu=mu, cg_steps=self.cg_steps,
                             lam=self.lam)
        self.tied = tied
        self.solver = NormalSolver(op)
        self.log_mu = nn.Parameter(torch.full((self.n_layers + 1,), math.log(mu),
                                              dtype=torch.float64))
        n_cnn = 1 if tied else self.n_layers
        self.prox = nn.ModuleList([SmallCNN(1, 1, width, depth, dropout) for _ in range(n_cnn)])

    def data_consistency(self, rhs: torch.Tensor, mu: torch.Tensor,
                         start: torch.Tensor | None) -> torch.Tensor:
        """The data-consistency step (H'H + λD'D + μI)⁻¹ rhs.

        Parameters
        ----------
        rhs : torch.Tensor, shape (B, C, *op.in_shape)
            Right-hand side H'g + μz.
        mu : torch.Tensor or float
            Penalty weight μ ≥ 0 (a scalar; a tensor keeps its gradient).
        start : torch.Tensor, optional
            Warm start of the conjugate gradients (ignored by the closed forms).

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            The solution: exact (closed form) or to a relative residual of 1e-8 (CG).
        """
        return self.solver.solve(rhs, tikhonov_power(self.lam, mu=mu), x0=start)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        back = self.op.adjoint(y, check=False)
        mu = torch.exp(self.log_mu)
        x = self.data_consistency(back, mu[0] if self.lam == 0 else 0.0, None)
        for k in range(self.n_layers):
            z = x + apply_cnn(self.prox[0 if self.tied else k], x)
            x = self.data_consistency(back + mu[k + 1].to(y.dtype) * z, mu[k + 1], z)
        return x
