"""Diagonalising ``(H, D)`` for the closed forms and the choice of λ: the "spectral paths".

For the operators whose structure gives it, ``H (D'D)⁻¹ H'`` is diagonal in a known unitary
basis of the measurement space, with generalised eigenvalues γᵢ = sᵢ² / dᵢ²:

=========  ==========================================  =====================================
path       operator (regulariser)                       basis, γᵢ
=========  ==========================================  =====================================
fourier    Fourier-diagonal H (identity or gradient)    unitary DFT, |ĥᵢ|² / |d̂ᵢ|²
polyphase  ``SuperResolution``, circular (identity)     DFT of the coarse grid, (1/s²)Σ|ĥ|²
svd        ``Dense`` (identity)                         left singular vectors, sᵢ²
pixel      ``Mask`` (identity)                          pixels, mᵢ²
=========  ==========================================  =====================================

Then the Tikhonov solution, its residual, the trace of the influence matrix and the Gaussian
marginal likelihood are closed-form sums over i — exact and fast for every λ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from physinv.errors import InputError
from physinv.operators import Dense, Gradient, Mask, SuperResolution
from physinv.operators.base import LinearOperator


@dataclass
class Spectrum:
    """Measurement-space diagonalisation of ``(H, D)``: a "spectral path".

    In a unitary basis of the measurement space, H(D'D)⁻¹H' = diag(γ), γᵢ = sᵢ² / dᵢ²; then
    the Tikhonov solution, its residual, the trace of the influence matrix and the Gaussian
    evidence are closed-form sums over i for every λ (see the module docstring). Built by
    ``spectrum(op, reg)``, not directly.

    Parameters
    ----------
    path : {"fourier", "polyphase", "svd", "pixel"}
        Which diagonalisation (see the module docstring's table).
    op : LinearOperator
        The forward operator H.
    reg : {"identity", "gradient"}
        The regulariser D (``"gradient"`` only on the Fourier path).
    n_measurements : int
        m, the number of entries of one measurement (``prod(op.out_shape)``).

    Examples
    --------
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers.spectral import spectrum
    >>> spec = spectrum(Convolution(psf.gaussian(1.0, 5), (16, 16)))
    >>> spec.path, spec.n_measurements, tuple(spec.gamma.shape)
    ('fourier', 256, (256,))
    """

    path: str
    op: LinearOperator
    reg: str
    n_measurements: int
    _gamma: torch.Tensor | None = None

    @property
    def gamma(self) -> torch.Tensor:
        """γᵢ = sᵢ²/dᵢ², float64, flattened; ``inf`` where dᵢ = 0, 0 where sᵢ = 0.

        Computed on first use and kept: a solve with a given λ never needs it.
        """
        if self._gamma is None:
            self._gamma = _generalised_eigenvalues(self.path, self.op, self.reg)
        return self._gamma

    # ---- coefficients of y in the basis, energy outside the basis' span
    def coefficients(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The data's energy in the basis, and outside its span.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurement g.

        Returns
        -------
        power : torch.Tensor, shape (B, C, k), float64
            pᵢ = |ĝᵢ|², the squared coefficients of each image in the basis (unitary DFT,
            pixels, or left singular vectors).
        outside : torch.Tensor, shape (B, C), float64
            ‖g‖² − Σᵢ pᵢ per image: the energy outside the span of the basis (0 except on
            the ``svd`` path of a wide matrix).
        """
        y64 = y.to(torch.float64)
        lead = y.shape[:2]
        if self.path in ("fourier", "polyphase"):
            g = torch.fft.fft2(y64, norm="ortho").abs() ** 2
            return g.reshape(*lead, -1), torch.zeros(lead, dtype=torch.float64,
                                                     device=y.device)
        if self.path == "pixel":
            return (y64**2).reshape(*lead, -1), torch.zeros(lead, dtype=torch.float64,
                                                            device=y.device)
        svd = self.op.svd()
        coef = svd.uh(y64)
        power = coef**2
        outside = (y64**2).reshape(*lead, -1).sum(-1) - power.sum(-1)
        return power, outside.clamp_min(0)

    # ---- the estimate
    def solve(self, y: torch.Tensor, lam: float) -> torch.Tensor:
        """The Tikhonov solution x_λ = (H'H + λD'D)⁺ H'g through the diagonalisation.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurement g.
        lam : float
            λ ≥ 0 (where the denominator vanishes the filter is 0: the pseudo-inverse).

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            x_λ in the dtype of ``y`` (the Fourier path computes in that precision, the others
            in float64).
        """
        dtype = y.dtype
        if self.path == "fourier":  # in the data's precision: one rfft2 / irfft2 pair
            conj, power = self.op.rfft_diagonal(dtype, y.device)
            denom = torch.add(power, reg_power_half(self.op.in_shape, self.reg, dtype, y.device),
                              alpha=lam)
            # where |ĥ|² + λ|d̂|² = 0, ĥ = 0 too: the filter is 0 there. (A real reciprocal
            # times the complex conj(ĥ) is ~4× cheaper than a complex / real division.)
            filt = conj * denom.clamp_min_(torch.finfo(dtype).tiny).reciprocal_()
            return torch.fft.irfft2(torch.fft.rfft2(y).mul_(filt), s=self.op.in_shape)
        y64 = y.to(torch.float64)
        if self.path == "polyphase":
            power = self.gamma.reshape(self.op.out_shape).to(y.device)
            denom = power + lam
            inv = torch.where(denom > 0, 1 / torch.where(denom > 0, denom, 1.0), 0)
            z = torch.fft.ifft2(torch.fft.fft2(y64) * inv).real
            x = self.op.adjoint(z, check=False)
        elif self.path == "pixel":
            m = self.op.mask.to(y.device)
            denom = m**2 + lam
            x = torch.where(denom > 0, m * y64 / torch.where(denom > 0, denom, 1.0), 0)
        else:  # svd
            svd = self.op.svd()
            s = svd.s.to(y.device)
            denom = s**2 + lam
            filt = torch.where(denom > 0, s / torch.where(denom > 0, denom, 1.0), 0)
            x = svd.v(svd.uh(y64) * filt)
        return x.to(dtype)

    def posterior_variance(self, lam: float, noise_var: float) -> torch.Tensor:
        """The posterior variance diag(v_ε (H'H + λD'D)⁻¹) of each pixel, exact.

        Parameters
        ----------
        lam : float
            λ = v_ε / v_f > 0.
        noise_var : float
            v_ε, in (data units)².

        Returns
        -------
        torch.Tensor, shape op.in_shape, float64
            Constant over the image on the Fourier path (a stationary posterior), per pixel on
            the ``pixel`` and ``svd`` paths.

        Raises
        ------
        InputError
            When the prior leaves a frequency unseen by H unconstrained (improper posterior).
        NotImplementedError
            On the polyphase path (``gaussian_posterior`` samples there).
        """
        h, w = self.op.in_shape
        if self.path == "fourier":
            otf = self.op.fourier_diagonal()
            d2 = reg_power_full(self.op, self.reg)
            denom = otf.abs() ** 2 + lam * d2
            if bool((denom <= 0).any()):
                raise InputError("reg", self.reg, "a prior that sees every frequency H misses",
                                 "the posterior is improper")
            value = noise_var * float((1 / denom).mean())
            return torch.full((h, w), value, dtype=torch.float64)
        if self.path == "pixel":
            m = self.op.mask.to(torch.float64)
            return noise_var / (m**2 + lam)
        if self.path == "svd":
            matrix = self.op.matrix.to(torch.float64)
            gram = matrix.T @ matrix + lam * torch.eye(matrix.shape[1], dtype=torch.float64,
                                                       device=matrix.device)
            return (noise_var * torch.linalg.inv(gram).diagonal()).reshape(h, w)
        raise NotImplementedError("no closed-form variance on the polyphase path")


@functools.lru_cache(maxsize=32)
def reg_power_half(shape: tuple[int, int], reg: str, dtype=torch.float64,
                   device=None) -> torch.Tensor:
    """|d̂|² of the regulariser in ``rfft2`` layout, cached.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    reg : {"identity", "gradient"}
        D = I (|d̂|² = 1) or the circular gradient (|d̂|² = 4 sin²(ω_y/2) + 4 sin²(ω_x/2)).
    dtype : torch.dtype, default torch.float64
        Dtype of the result.
    device : torch.device or str, optional
        Device of the result.

    Returns
    -------
    torch.Tensor, shape (H, W // 2 + 1)
        Cached per (shape, reg, dtype, device): treat it as read-only.

    Examples
    --------
    >>> from physinv.solvers.spectral import reg_power_half
    >>> [round(v, 12) for v in reg_power_half((4, 4), "gradient")[0].tolist()]
    [0.0, 2.0, 4.0]
    """
    h, w = shape
    if reg == "identity":
        out = torch.ones(h, w // 2 + 1, dtype=torch.float64)
    else:
        out = Gradient((h, w)).fourier_power(rfft=True)
    return out.to(device=device, dtype=dtype)


def reg_power_full(op: LinearOperator, reg: str) -> torch.Tensor:
    """|d̂|² of the regulariser in full ``fft2`` layout for ``op``'s image shape.

    Parameters
    ----------
    op : LinearOperator
        Gives the image shape (H, W) (``op.in_shape``).
    reg : {"identity", "gradient"}
        D = I or the circular gradient.

    Returns
    -------
    torch.Tensor, shape (H, W), float64

    Examples
    --------
    >>> from physinv.operators import Identity
    >>> from physinv.solvers.spectral import reg_power_full
    >>> [round(v, 12) for v in reg_power_full(Identity((4, 4)), "gradient")[0].tolist()]
    [0.0, 2.0, 4.0, 2.0]
    """
    h, w = op.in_shape
    if reg == "identity":
        return torch.ones(h, w, dtype=torch.float64)
    return Gradient((h, w)).fourier_power()


def _generalised_eigenvalues(path: str, op: LinearOperator, reg: str) -> torch.Tensor:
    if path == "fourier":
        s2 = op.fourier_diagonal().abs().cpu() ** 2
        d2 = reg_power_full(op, reg)
        gamma = torch.where(d2 > 0, s2 / torch.where(d2 > 0, d2, 1.0),
                            torch.where(s2 > 0, torch.inf, 0.0))
        return gamma.reshape(-1)
    if path == "polyphase":
        return op.aliased_power().cpu().reshape(-1)
    if path == "svd":
        return op.svd().s.cpu() ** 2
    return (op.mask.cpu() ** 2).reshape(-1)


def spectrum(op: LinearOperator, reg: str = "identity") -> Spectrum | None:
    """The spectral path of ``(op, reg)``, or ``None`` when there is none (use CG).

    Parameters
    ----------
    op : LinearOperator
        The forward operator H.
    reg : {"identity", "gradient"}, default "identity"
        The regulariser D. Only Fourier-diagonal operators have a path with the gradient.

    Returns
    -------
    Spectrum or None
        ``"fourier"`` for a Fourier-diagonal H; with D = I also ``"polyphase"`` for a
        circular ``SuperResolution``, ``"svd"`` for ``Dense``, ``"pixel"`` for ``Mask``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Dense, Mask
    >>> from physinv.solvers.spectral import spectrum
    >>> spectrum(Mask(torch.ones(4, 4))).path
    'pixel'
    >>> spectrum(Dense(torch.eye(16), (4, 4)), "gradient") is None
    True
    """
    m = int(torch.tensor(op.out_shape).prod())
    if op.has_fourier_diagonal:
        return Spectrum("fourier", op, reg, m)
    if reg != "identity":
        return None
    if isinstance(op, SuperResolution) and op.conv.boundary == "circular":
        return Spectrum("polyphase", op, reg, m)
    if isinstance(op, Dense):
        return Spectrum("svd", op, reg, m)
    if isinstance(op, Mask):
        return Spectrum("pixel", op, reg, m)
    return None
