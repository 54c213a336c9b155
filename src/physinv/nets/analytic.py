"""``AnalyticNet``: the one-layer network f̂ = B g with B = (H'H + λD'D)⁻¹H' (learnable).

For a Fourier-diagonal H, B is itself a (circular) convolution: one conv layer whose kernel —
the spatial impulse response of the Tikhonov filter, on the image grid — is the Parameter.
For ``Dense`` H, B is a matrix Parameter. Untrained, the network is ``tikhonov``.
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_positive
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import resample_table
from physinv.operators import Dense, Gradient
from physinv.solvers.spectral import reg_power_half


class AnalyticNet(PhysicsNet):
    """One learnable linear layer initialised at the Tikhonov inverse of H.

    .. math::

        x̂ = B g,   B₀ = (H'H + λD'D)⁻¹ H'

    For a Fourier-diagonal H (a circular convolution, the identity), B is a circular
    convolution whose kernel — the impulse response of the filter
    conj(ĥ)/(|ĥ|² + λ|d̂|²) on the image grid — is the learnable parameter; for a ``Dense`` H,
    B is a learnable matrix. Untrained, the network is ``tikhonov(y, op, lam, reg)``.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H: Fourier-diagonal or ``Dense``.
    lam : float, default 0.01
        Regularisation weight λ ≥ 0 of the initialisation.
    reg : {"gradient", "identity"}, default "gradient"
        The regulariser D of the initialisation: circular finite differences or the identity.

    Raises
    ------
    InputError
        For an operator that is neither Fourier-diagonal nor ``Dense``, a negative λ or an
        unknown regulariser.

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape). The kernel form
    moves to another grid through ``for_operator`` (zero-padded or cropped around its
    centre); the matrix form is tied to its matrix. Parameters: H·W (kernel) or
    n_in·n_out (matrix).

    References
    ----------
    .. [1] A. N. Tikhonov, V. Y. Arsenin, "Solutions of Ill-Posed Problems", Winston, 1977.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.solvers import tikhonov
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> net = AnalyticNet(op, lam=0.01)
    >>> y = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    >>> net.trainable_parameters(), bool(torch.allclose(net(y), tikhonov(y, op, lam=0.01).x))
    (256, True)
    """

    def __init__(self, op, lam: float = 0.01, reg: str = "gradient"):
        super().__init__(op)
        lam = check_positive("lam", lam, allow_zero=True)
        if reg not in ("identity", "gradient"):
            raise InputError("reg", reg, "'identity' or 'gradient'")
        self.record_resolved(lam=lam)
        if op.has_fourier_diagonal:
            conj, power = op.rfft_diagonal(torch.float64)
            denom = power + lam * reg_power_half(op.in_shape, reg)
            filt = conj / denom.clamp_min(torch.finfo(torch.float64).tiny)
            self.kernel = nn.Parameter(torch.fft.irfft2(filt, s=op.in_shape))
            self.matrix = None
        elif isinstance(op, Dense):
            a = op.matrix.to(torch.float64)
            d = Gradient(op.in_shape).to_matrix() if reg == "gradient" else torch.eye(a.shape[1])
            gram = a.T @ a + lam * (d.T @ d if reg == "gradient" else d)
            self.matrix = nn.Parameter(torch.linalg.solve(gram, a.T))
            self.kernel = None
        else:
            raise InputError("op", type(op).__name__, "a Fourier-diagonal or Dense operator")

    def _resize_parameters(self, old_shape, new_shape, new=None):
        if self.kernel is None:
            return {}
        table = torch.fft.rfft2(self.kernel.detach().cpu())
        return {"kernel": torch.fft.irfft2(resample_table(table, old_shape, new_shape),
                                           s=tuple(new_shape))}

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        if self.kernel is not None:
            k = self.kernel.to(y.dtype)
            return torch.fft.irfft2(torch.fft.rfft2(y) * torch.fft.rfft2(k), s=self.op.in_shape)
        flat = y.reshape(*y.shape[:2], -1)
        return (flat @ self.matrix.to(y.dtype).T).reshape(*y.shape[:2], *self.op.in_shape)
