"""An explicit matrix as an operator, with a cached SVD (small problems, exact tests).

``H f = A vec(f)``: ``(B, C, H, W)`` images are flattened row-major to vectors of length
``H·W``; the result has shape ``(B, C, *out_shape)`` with ``prod(out_shape) = A.shape[0]``
(default ``(M, 1)``).

>>> import torch
>>> from physinv.operators import Dense, dot_test
>>> op = Dense(torch.randn(12, 16, dtype=torch.float64), (4, 4))
>>> tuple(op(torch.ones(1, 1, 4, 4)).shape), dot_test(op) < 1e-12
((1, 1, 12, 1), True)
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import InputError, check_shape
from physinv.operators.base import LinearOperator, SpectralDecomposition


class Dense(LinearOperator):
    """An explicit matrix A as an operator: ``H f = A vec(f)``, with a cached SVD.

    Images are flattened row-major; the SVD A = U diag(s) Vᵀ (``svd()``) gives the exact
    Tikhonov filter sᵢ/(sᵢ² + λ), the posterior covariance and ‖H‖ = s₁. For small problems
    and exact tests (a 64×64 image is a 4096-column matrix).

    Parameters
    ----------
    matrix : array_like or torch.Tensor, shape (M, H·W)
        The matrix A, finite; stored in float64.
    shape : tuple of int
        Image shape (H, W).
    out_shape : tuple of int, optional
        Measurement shape with prod(out_shape) = M; default (M, 1).

    Raises
    ------
    InputError
        For a matrix that is not 2-D, not finite or without H·W columns, or an ``out_shape``
        with the wrong number of entries.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Dense, dot_test
    >>> op = Dense(torch.randn(12, 16, dtype=torch.float64), (4, 4))
    >>> op.out_shape, tuple(op(torch.ones(1, 1, 4, 4)).shape), dot_test(op) < 1e-12
    ((12, 1), (1, 1, 12, 1), True)
    """

    def __init__(self, matrix, shape, out_shape=None):
        shape = check_shape("shape", shape)
        a = torch.as_tensor(np.asarray(matrix) if not isinstance(matrix, torch.Tensor) else matrix)
        a = a.detach().cpu().to(torch.float64)
        if a.dim() != 2:
            raise InputError("matrix", a, "a 2-D matrix")
        if a.shape[1] != shape[0] * shape[1]:
            raise InputError("matrix", a, f"{shape[0] * shape[1]} columns for shape {shape}")
        if not bool(torch.isfinite(a).all()):
            raise InputError("matrix", a, "finite values (no NaN or inf)")
        out_shape = (a.shape[0], 1) if out_shape is None else tuple(int(s) for s in out_shape)
        if int(np.prod(out_shape)) != a.shape[0]:
            raise InputError("out_shape", out_shape, f"a shape with {a.shape[0]} entries")
        super().__init__(shape, out_shape)
        self.register_buffer("matrix", a)
        self._svd_cache = None

    def _mat(self, x):
        return self.matrix.to(device=x.device, dtype=x.dtype)

    def _forward(self, x):
        lead = x.shape[:-2]
        flat = x.reshape(*lead, -1)
        return (flat @ self._mat(x).T).reshape(*lead, *self.out_shape)

    def _adjoint(self, y):
        lead = y.shape[: y.dim() - len(self.out_shape)]
        flat = y.reshape(*lead, -1)
        return (flat @ self._mat(y).conj()).reshape(*lead, *self.in_shape)

    def svd_matrices(self):
        """The thin SVD A = U diag(s) Vh of the matrix, computed once and cached.

        Returns
        -------
        tuple of torch.Tensor
            ``(U, s, Vh)`` as ``torch.linalg.svd(A, full_matrices=False)``: float64, on the
            operator's device, s in decreasing order.
        """
        if self._svd_cache is None or self._svd_cache[1].device != self.matrix.device:
            self._svd_cache = torch.linalg.svd(self.matrix, full_matrices=False)
        return self._svd_cache

    def svd(self) -> SpectralDecomposition:
        """``H = U diag(s) V^H`` as maps between images / measurements and coefficient vectors."""
        u_mat, s, vh_mat = self.svd_matrices()
        in_shape, out_shape = self.in_shape, self.out_shape

        def vh(x):
            return x.reshape(*x.shape[:-2], -1) @ vh_mat.to(x).T

        def v(z):
            return (z @ vh_mat.to(z)).reshape(*z.shape[:-1], *in_shape)

        def u(z):
            return (z @ u_mat.to(z).T).reshape(*z.shape[:-1], *out_shape)

        def uh(y):
            lead = y.shape[: y.dim() - len(out_shape)]
            return y.reshape(*lead, -1) @ u_mat.to(y)

        return SpectralDecomposition(s, vh, v, u, uh)

    def _exact_norm(self):
        return float(self.svd_matrices()[1][0]) if min(self.matrix.shape) else 0.0

    def extra_repr(self):
        """Matrix and image shapes, shown in the module's ``repr``."""
        return f"matrix={tuple(self.matrix.shape)}, shape={self.in_shape}"
