"""Transform-domain networks: ``FourierNet``, ``SVDNet``, ``WaveletNet``.

``FourierNet``: f̂ = F⁻¹ Λ F g for Fourier-diagonal operators, three ways to hold Λ:

- ``structure="table"``: Λ per frequency (``rfft2`` layout, real and imaginary parts as two
  Parameters); ``init="tikhonov"`` sets Λ = conj(ĥ)/(|ĥ|² + λ|d̂|²), so the untrained network is
  ``tikhonov(y, op, lam, reg)``; ``fit_closed_form(ys, xs)`` solves the per-frequency least
  squares Λ = Σ conj(Ŷ)X̂ / Σ|Ŷ|² in one pass (the empirical LMMSE filter). Moved to another grid
  through its spatial kernel; it over-fits at small N (one complex value per frequency).
- ``structure="radial"``: Λ = conj(ĥ) / (|ĥ|² + λ|d̂|² exp(s(|ω|))), s a piecewise-linear radial
  profile (16 knots, 0 at init → Tikhonov). The Wiener filter of any isotropic prior spectrum
  S_f has this form (λ|d̂|² e^s = σ²/S_f).
- ``structure="parametric"``: Λ = conj(ĥ) / (|ĥ|² + λ|d̂|² e^a (ω₀² + |ω|²)^γ), three
  parameters (a, log ω₀², γ; a = γ = 0 at init → Tikhonov): a power-law prior with a knee.

The structured forms are defined continuously in frequency, so a net trained on 128×128 patches
applies to any image size (``for_operator``).

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.nets import FourierNet
>>> net = FourierNet(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
>>> net.trainable_parameters()
288
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import RadialProfile, resample_table, rfft_radius
from physinv.solvers.spectral import reg_power_half

STRUCTURES = ("table", "radial", "parametric")


class FourierNet(PhysicsNet):
    """A learnable Fourier-domain filter Λ for a Fourier-diagonal operator.

    .. math::

        x̂ = F⁻¹ Λ F g,   Λ₀ = conj(ĥ) / (|ĥ|² + λ|d̂|²)

    held three ways (``structure``): one complex value per frequency (``"table"``); the
    Wiener form Λ = conj(ĥ) / (|ĥ|² + λ|d̂|² exp(s(|ω|))) with s a learned piecewise-linear
    radial profile (``"radial"``, s = 0 at init); or Λ = conj(ĥ) / (|ĥ|² + λ|d̂|² e^a
    (ω₀² + |ω|²)^γ), a power-law prior spectrum with a knee (``"parametric"``, a = γ = 0 at
    init). With ``init="tikhonov"`` the untrained network is ``tikhonov(y, op, lam, reg)``.

    Parameters
    ----------
    op : LinearOperator
        Fourier-diagonal forward operator H (``Convolution``, ``Identity``; for
        super-resolution or CT use ``DecomposedNet``).
    init : {"tikhonov", "zeros"}, default "tikhonov"
        Initial Λ: the Tikhonov filter, or zero (``structure="table"`` only).
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the Tikhonov filter.
    reg : {"gradient", "identity"}, default "gradient"
        The regulariser D (|d̂|² its power spectrum).
    structure : {"table", "radial", "parametric"}, default "table"
        How Λ is held: H·(W//2 + 1)·2 parameters, ``n_knots`` or 3.
    n_knots : int, default 16
        Knots of the radial profile (``structure="radial"``).

    Raises
    ------
    InputError
        For an operator that is not Fourier-diagonal, an unknown ``init``, ``reg`` or
        ``structure``, ``init="zeros"`` with a structured form, or a negative λ.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.in_shape) (Fourier-diagonal: the same as out_shape),
    output of the same shape and dtype. The structured forms are defined continuously in
    frequency and apply to any image size; the table moves to another grid through its
    spatial kernel (``for_operator``). ``fit_closed_form`` gives the table its least-squares
    value over training pairs in one pass.

    References
    ----------
    .. [1] N. Wiener, "Extrapolation, Interpolation, and Smoothing of Stationary Time Series",
           MIT Press, 1949.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = FourierNet(op, lam=0.01, structure="radial")
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), tikhonov(y, op, lam=0.01).x))
    (16, True)
    """

    def __init__(self, op, init: str = "tikhonov", lam: float = 0.01, reg: str = "gradient",
                 structure: str = "table", n_knots: int = 16):
        super().__init__(op)
        if not op.has_fourier_diagonal:
            raise InputError("op", type(op).__name__,
                             "a Fourier-diagonal operator for FourierNet (convolutions, "
                             "identity; for super-resolution or CT use DecomposedNet)")
        if init not in ("tikhonov", "zeros"):
            raise InputError("init", init, "'tikhonov' or 'zeros'")
        if reg not in ("identity", "gradient"):
            raise InputError("reg", reg, "'identity' or 'gradient'")
        if structure not in STRUCTURES:
            raise InputError("structure", structure, f"one of {STRUCTURES}")
        if init == "zeros" and structure != "table":
            raise InputError("init", init, "'tikhonov' for a structured FourierNet")
        lam = check_positive("lam", lam, allow_zero=True)
        self.record_resolved(lam=lam)
        self.structure = structure
        conj, power = op.rfft_diagonal(torch.float64)
        if structure == "table":
            if init == "tikhonov":
                denom = power + lam * reg_power_half(op.in_shape, reg)
                filt = conj / denom.clamp_min(torch.finfo(torch.float64).tiny)
            else:
                filt = torch.zeros_like(conj)
            self.real = nn.Parameter(filt.real.clone())
            self.imag = nn.Parameter(filt.imag.clone())
            return
        self.register_buffer("conj", conj.clone(), persistent=False)
        self.register_buffer("power", power.clone(), persistent=False)
        self.register_buffer("reg_power", lam * reg_power_half(op.in_shape, reg).clone(),
                             persistent=False)
        self.register_buffer("rho", rfft_radius(op.in_shape), persistent=False)
        if structure == "radial":
            self.profile = RadialProfile(torch.zeros(n_knots, dtype=torch.float64))
        else:
            self.log_scale = nn.Parameter(torch.zeros((), dtype=torch.float64))
            self.log_knee = nn.Parameter(torch.tensor(float(np.log(1e-2)), dtype=torch.float64))
            self.exponent = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def regulariser_spectrum(self) -> torch.Tensor:
        """The learned regulariser spectrum r(ω) in Λ = conj(ĥ) / (|ĥ|² + r(ω)).

        Returns
        -------
        torch.Tensor, shape (H, W//2 + 1)
            r(ω) ≥ 0, float64, ``rfft2`` layout: λ|d̂|² exp(s(|ω|)) (radial) or
            λ|d̂|² e^a (ω₀² + |ω|²)^γ (parametric).

        Raises
        ------
        InputError
            For ``structure="table"``, which has no regulariser spectrum.
        """
        if self.structure == "radial":
            return self.reg_power * torch.exp(self.profile(self.rho))
        if self.structure == "parametric":
            return self.reg_power * torch.exp(
                self.log_scale + self.exponent * torch.log(torch.exp(self.log_knee)
                                                           + self.rho**2))
        raise InputError("structure", self.structure, "'radial' or 'parametric'")

    def filter(self) -> torch.Tensor:
        """The filter Λ the network applies, x̂ = F⁻¹ Λ F g.

        Returns
        -------
        torch.Tensor, shape (H, W//2 + 1)
            Λ, complex128, ``rfft2`` layout (differentiable in the parameters).
        """
        if self.structure == "table":
            return torch.complex(self.real, self.imag)
        denom = (self.power + self.regulariser_spectrum()).clamp_min(
            torch.finfo(torch.float64).tiny)
        return self.conj / denom

    def _resize_parameters(self, old_shape, new_shape, new=None):
        if self.structure != "table":
            return {}
        with torch.no_grad():
            filt = resample_table(self.filter().detach().cpu(), old_shape, new_shape)
        return {"real": filt.real, "imag": filt.imag}

    def _filter_for(self, cdtype, device) -> torch.Tensor:
        """Λ in the data's precision; at inference (no grad) computed once per weights."""
        if torch.is_grad_enabled():
            return self.filter().to(cdtype)
        key = (tuple(p._version for p in self.parameters()),
               tuple(p.data_ptr() for p in self.parameters()), cdtype, device)
        cache = getattr(self, "_inference_filter", None)
        if cache is None or cache[0] != key:
            cache = (key, self.filter().detach().to(device=device, dtype=cdtype))
            self._inference_filter = cache
        return cache[1]

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        cdtype = torch.complex128 if y.dtype == torch.float64 else torch.complex64
        filt = self._filter_for(cdtype, y.device)
        return torch.fft.irfft2(torch.fft.rfft2(y).mul_(filt), s=self.op.in_shape)

    @torch.no_grad()
    def fit_closed_form(self, ys: torch.Tensor, xs: torch.Tensor, ridge: float = 1e-12):
        """The table Λ that fits training pairs best in mean square error, in one pass.

        .. math::

            Λ(ω) = Σₙ conj(Ŷₙ(ω)) X̂ₙ(ω) / (Σₙ |Ŷₙ(ω)|² + ε max_ω Σₙ |Ŷₙ(ω)|²)

        the empirical LMMSE (Wiener) filter of the pairs, ε = ``ridge``. Exact least squares
        per frequency: it over-fits at small N (one complex value per frequency).

        Parameters
        ----------
        ys : torch.Tensor, shape (N, C, *op.out_shape)
            Measurements.
        xs : torch.Tensor, shape (N, C, *op.in_shape)
            The true images, paired with ``ys``.
        ridge : float, default 1e-12
            Relative ridge ε that keeps frequencies without energy at Λ = 0.

        Returns
        -------
        FourierNet
            ``self``, with Λ set.

        Raises
        ------
        InputError
            For ``structure`` other than ``"table"``, tensors that do not match the operator
            (named ``ys`` / ``xs``), or unpaired batches.

        Examples
        --------
        >>> import torch
        >>> from physinv.operators import Convolution, psf
        >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
        >>> gen = torch.Generator().manual_seed(0)
        >>> xs = torch.rand(8, 1, 16, 16, generator=gen, dtype=torch.float64)
        >>> ys = op(xs) + 0.01 * torch.randn(xs.shape, generator=gen, dtype=torch.float64)
        >>> net = FourierNet(op, lam=0.01)
        >>> with torch.no_grad():
        ...     tikhonov_error = ((net(ys) - xs) ** 2).mean()
        ...     fitted_error = ((net.fit_closed_form(ys, xs)(ys) - xs) ** 2).mean()
        >>> bool(fitted_error < tikhonov_error)  # least squares on these pairs
        True
        """
        if self.structure != "table":
            raise InputError("structure", self.structure,
                             "'table' for fit_closed_form (the structured forms are trained)")
        self.op.check_measurement(ys, "ys")
        self.op.check_input(xs, "xs")
        if ys.shape[:2] != xs.shape[:2]:
            raise InputError("xs", xs, f"as many images as ys ({tuple(ys.shape[:2])})")
        yf = torch.fft.rfft2(ys.to(torch.float64))
        xf = torch.fft.rfft2(xs.to(torch.float64))
        num = (yf.conj() * xf).sum(dim=(0, 1))
        den = (yf.abs() ** 2).sum(dim=(0, 1))
        filt = num / (den + ridge * float(den.max()))
        self.real.copy_(filt.real)
        self.imag.copy_(filt.imag)
        return self


class SVDNet(PhysicsNet):
    """A learnable diagonal in the singular basis of H: a spectral filter with free factors.

    .. math::

        x̂ = V Λ V' H' g,   Λ₀ = 1 / (δᵢ + λ)      (4 layers, H'H = V diag(δ) V')

        x̂ = V Λ U' g,      Λ₀ = σᵢ / (σᵢ² + λ)    (3 layers, H = U diag(σ) V')

    only Λ is learnable; untrained, both are Tikhonov with the regulariser ``reg``.

    Parameters
    ----------
    op : LinearOperator
        Fourier-diagonal (``Convolution``, ``Identity``) or ``Dense`` forward operator H.
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the initialisation.
    layers : {4, 3}, default 4
        g → H' → V' → Λ → V, or g → U' → Λ → V.
    reg : {"identity", "gradient"}, default "identity"
        The regulariser D of the initialisation (``"gradient"``: Fourier-diagonal operators
        only, δᵢ + λ|d̂ᵢ|²).

    Raises
    ------
    InputError
        For an operator without an SVD, an unknown ``layers`` or ``reg``, ``reg="gradient"``
        with a ``Dense`` operator, or a negative λ.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape). One parameter
    per singular value: H·(W//2 + 1) for a convolution, min(n_in, n_out) for a matrix.

    For ``Dense`` operators V, U come from the cached SVD (D = I); for Fourier-diagonal
    operators V, V' are the inverse / forward unitary DFT and the regulariser may be the
    gradient (δᵢ = |ĥᵢ|², λ|d̂ᵢ|²). A non-convolutional operator (e.g. the Radon transform on a
    small grid) enters through ``Dense(op.to_matrix(), shape, out_shape)``.

    Super-resolution is not offered: its H'H is not diagonal in the DFT but block-diagonal with
    s²×s² blocks (the aliased frequencies), so the singular vectors mix s² frequencies per block
    and a per-frequency Λ is not its SVD; ``DecomposedNet`` (H' then a learned filter on the
    stationary part of H'H) is the structured network for it. Fourier-kind Λ moves to another
    grid through its spatial kernel (``for_operator``); the dense kind is tied to its matrix.

    References
    ----------
    .. [1] P. C. Hansen, "Discrete Inverse Problems: Insight and Algorithms", SIAM, 2010
           (spectral filtering, filter factors).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = SVDNet(op, lam=0.01)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> x = tikhonov(y, op, lam=0.01, reg="identity").x
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), x))
    (144, True)
    """

    def __init__(self, op, lam: float = 0.01, layers: int = 4, reg: str = "identity"):
        super().__init__(op)
        lam = check_positive("lam", lam, allow_zero=True)
        if layers not in (3, 4):
            raise InputError("layers", layers, "3 (U' → Λ → V) or 4 (H' → V' → Λ → V)")
        if reg not in ("identity", "gradient"):
            raise InputError("reg", reg, "'identity' or 'gradient'")
        self.layers = layers
        self.record_resolved(lam=lam)
        from physinv.operators import Dense

        if op.has_fourier_diagonal:
            self.kind = "fourier"
            conj, power = op.rfft_diagonal(torch.float64)
            denom = (power + lam * reg_power_half(op.in_shape, reg)).clamp_min(
                torch.finfo(torch.float64).tiny)
            lam_init = 1 / denom if layers == 4 else power.sqrt() / denom
            if layers == 3:
                phase = torch.where(power > 0, conj / power.sqrt().clamp_min(1e-300),
                                    torch.ones_like(conj))
                self.register_buffer("phase", phase)  # U' = diag(conj(ĥ)/|ĥ|) F
        elif isinstance(op, Dense):
            if reg != "identity":
                raise InputError("reg", reg, "'identity' for a Dense SVDNet")
            self.kind = "dense"
            u, s, vh = op.svd_matrices()
            self.register_buffer("u", u.clone())
            self.register_buffer("vh", vh.clone())
            lam_init = 1 / (s**2 + lam) if layers == 4 else s / (s**2 + lam)
        else:
            raise InputError("op", type(op).__name__,
                             "an operator with an SVD: Fourier-diagonal (Convolution, Identity) "
                             "or Dense (any small operator as Dense(op.to_matrix(), ...))")
        self.diagonal = nn.Parameter(lam_init.clone())
        if self.kind == "fourier":  # Λ₀ on this grid: what a move to another grid keeps
            self.register_buffer("initial", lam_init.clone(), persistent=False)

    def _resize_parameters(self, old_shape, new_shape, new=None):
        """The learned correction Λ/Λ₀ moved through its spatial kernel, times the new grid's
        own Λ₀: untrained (Λ = Λ₀) the network stays exactly Tikhonov on any grid. (Moving
        Λ itself would truncate the long kernel of 1/(|ĥ|² + λ|d̂|²).)"""
        if self.kind != "fourier":
            return {}
        ratio = (self.diagonal.detach() / self.initial).cpu().to(torch.complex128)
        return {"diagonal": resample_table(ratio, old_shape, new_shape).real * new.initial.cpu()}

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        lam = self.diagonal.to(y.dtype)
        if self.kind == "fourier":
            cdtype = torch.complex128 if y.dtype == torch.float64 else torch.complex64
            if self.layers == 4:
                coef = torch.fft.rfft2(self.op.adjoint(y, check=False)) * lam
            else:
                coef = torch.fft.rfft2(y) * self.phase.to(cdtype) * lam
            return torch.fft.irfft2(coef, s=self.op.in_shape)
        lead = y.shape[:2]
        if self.layers == 4:
            coef = self.op.adjoint(y, check=False).reshape(*lead, -1) @ self.vh.to(y.dtype).T
        else:
            coef = y.reshape(*lead, -1) @ self.u.to(y.dtype)
        return ((coef * lam) @ self.vh.to(y.dtype)).reshape(*lead, *self.op.in_shape)


class WaveletNet(PhysicsNet):
    """Tikhonov, then a learnable shrinkage per wavelet sub-band.

    .. math::

        x̂ = W' S(W u),   u = (H'H + λD'D)⁻¹ H'g,
        S(c)_b = gain_b · sign(c) max(|c| − |θ_b|, 0)   for c in sub-band b

    with W an orthogonal wavelet transform, u the fixed Tikhonov layer (``TikhonovLayer``: D
    the circular gradient, solved by the operator's exact path — closed form, or
    preconditioned CG to a tolerance for CT; g itself for denoising) and 2 parameters per
    sub-band. At init θ_b = 0 and gain_b = 1, so the untrained network is
    ``tikhonov(y, op, lam, reg="gradient")``; the thresholds learn how much of each scale and
    orientation is noise. The sub-bands depend on the level (up to 3 by default, then kept in
    ``config``), not on the image size, so the network applies to any size.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H (any; ``Identity`` skips the Tikhonov layer).
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the fixed Tikhonov layer.
    wavelet : str, default "db2"
        An orthogonal wavelet (``physinv.operators.Wavelet``).
    level : int, optional
        Decomposition levels; default as many as the image allows, at most 3.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape);
    2 · (1 + 3 · level) parameters.

    References
    ----------
    .. [1] D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
           Biometrika 81(3), 425–455, 1994.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> net = WaveletNet(Identity((16, 16)), level=2)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), y))  # untrained: the data
    (14, True)
    """

    def __init__(self, op, lam: float = 0.01, wavelet: str = "db2", level: int | None = None):
        super().__init__(op)
        from physinv.nets.decomposed import TikhonovLayer
        from physinv.operators import Identity, Wavelet

        lam = check_positive("lam", lam, allow_zero=True)
        self.transform = Wavelet(op.in_shape, wavelet, level)
        self.record_resolved(lam=lam, level=self.transform.level)
        self.tikhonov = None if isinstance(op, Identity) else TikhonovLayer(op, lam)
        n_bands = 1 + 3 * self.transform.level
        self.threshold = nn.Parameter(torch.zeros(n_bands, dtype=torch.float64))
        self.gain = nn.Parameter(torch.ones(n_bands, dtype=torch.float64))

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        u = y if self.tikhonov is None else self.tikhonov(y)
        c = self.transform(u, check=False)
        idx = self.transform.subband_index
        theta = self.threshold.abs().to(y.dtype)[idx]
        shrunk = torch.sign(c) * torch.relu(c.abs() - theta) * self.gain.to(y.dtype)[idx]
        return self.transform.adjoint(shrunk, check=False)
