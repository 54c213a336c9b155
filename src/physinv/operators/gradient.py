"""Finite-difference gradient ``D f = (∂_y f, ∂_x f)``: the regulariser of Tikhonov-gradient and TV.

Forward differences, ``(D_x f)[i, j] = f[i, j+1] − f[i, j]``. ``boundary="circular"`` wraps
around, so ``D`` is Fourier-diagonal with d̂ = e^{iω} − 1 and ``fourier_power()`` returns
``|d̂_y|² + |d̂_x|² = 4 sin²(ω_y/2) + 4 sin²(ω_x/2)``. ``boundary="neumann"`` sets the
difference across the last row / column to zero (the usual choice for TV on photographs);
its adjoint is minus the divergence. Output shape ``(..., 2, H, W)``.

>>> import torch
>>> from physinv.operators import Gradient, dot_test
>>> op = Gradient((8, 8))
>>> op.out_shape, dot_test(op) < 1e-12
((2, 8, 8), True)
"""

from __future__ import annotations

import math

import torch

from physinv.errors import InputError, check_shape
from physinv.operators.base import LinearOperator


class Gradient(LinearOperator):
    """Forward-difference gradient D of ``(B, C, H, W)`` images → ``(B, C, 2, H, W)``.

    .. math::

        (Df)[0, i, j] = f[i+1, j] − f[i, j],   (Df)[1, i, j] = f[i, j+1] − f[i, j]

    ``"circular"`` wraps around (Fourier-diagonal, |d̂|² = 4 sin²(ω_y/2) + 4 sin²(ω_x/2),
    ‖D‖ ≤ √8); ``"neumann"`` sets the difference across the last row / column to 0 (the
    usual choice for TV on photographs); D' is minus the divergence.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    boundary : {"circular", "neumann"}, default "circular"
        Boundary condition.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Gradient, dot_test
    >>> op = Gradient((4, 4))
    >>> op(torch.arange(16.0).reshape(1, 1, 4, 4))[0, 0, :, 0, 0].tolist()  # (∂_y, ∂_x)
    [4.0, 1.0]
    >>> round(op.norm() ** 2, 12), dot_test(Gradient((4, 4), "neumann")) < 1e-12
    (8.0, True)
    """

    def __init__(self, shape, boundary: str = "circular"):
        shape = check_shape("shape", shape)
        if boundary not in ("circular", "neumann"):
            raise InputError("boundary", boundary, "'circular' or 'neumann'")
        super().__init__(shape, (2, *shape))
        self.boundary = boundary

    def _forward(self, x):
        dy = torch.roll(x, -1, dims=-2) - x
        dx = torch.roll(x, -1, dims=-1) - x
        if self.boundary == "neumann":
            dy = dy.clone()
            dx = dx.clone()
            dy[..., -1, :] = 0
            dx[..., :, -1] = 0
        return torch.stack([dy, dx], dim=-3)

    def _adjoint(self, y):
        dy, dx = y[..., 0, :, :], y[..., 1, :, :]
        if self.boundary == "neumann":
            dy = dy.clone()
            dx = dx.clone()
            dy[..., -1, :] = 0
            dx[..., :, -1] = 0
        return (torch.roll(dy, 1, dims=-2) - dy) + (torch.roll(dx, 1, dims=-1) - dx)

    def fourier_power(self, rfft: bool = False) -> torch.Tensor:
        """``|d̂|² = |d̂_y|² + |d̂_x|²``, the Fourier diagonal of D'D (circular boundaries only).

        Parameters
        ----------
        rfft : bool, default False
            ``rfft2`` layout (H, W // 2 + 1) instead of the full ``fft2`` layout (H, W).

        Returns
        -------
        torch.Tensor, float64
            4 sin²(ω_y/2) + 4 sin²(ω_x/2), 0 at the zero frequency, at most 8.

        Raises
        ------
        NotImplementedError
            For ``boundary="neumann"``.
        """
        if self.boundary != "circular":
            raise NotImplementedError("the Neumann gradient is not Fourier-diagonal")
        h, w = self.in_shape
        wy = 2 * math.pi * torch.fft.fftfreq(h, dtype=torch.float64)
        wx = 2 * math.pi * (torch.fft.rfftfreq(w, dtype=torch.float64) if rfft
                            else torch.fft.fftfreq(w, dtype=torch.float64))
        return 4 * torch.sin(wy / 2)[:, None] ** 2 + 4 * torch.sin(wx / 2)[None, :] ** 2

    def _exact_norm(self):
        if self.boundary == "circular":
            return float(self.fourier_power().max()) ** 0.5
        return None

    def extra_repr(self):
        """Shape and boundary, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, boundary={self.boundary!r}"
