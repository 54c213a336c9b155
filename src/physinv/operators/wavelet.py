"""Orthogonal discrete wavelet transform ``W`` (analysis) as an operator, through ``ptwt``.

``W f`` is the multilevel 2-D decomposition (``ptwt.wavedec2`` with zero extension) flattened to
one coefficient vector per image; ``W'`` is the reconstruction ``ptwt.waverec2`` cropped to the
image: for orthogonal wavelets (haar, dbN, symN, coifN) ``W'W = I`` exactly (Parseval), so
``W`` is an isometry and ``W'`` both its adjoint and its left inverse. ``subband_index`` labels
each coefficient with its sub-band (0 = approximation, then level by level, three orientations
each), for per-sub-band shrinkage.

>>> import torch
>>> from physinv.operators import Wavelet, dot_test
>>> op = Wavelet((32, 32), "db2", level=3)
>>> x = torch.randn(1, 1, 32, 32, dtype=torch.float64)
>>> bool(torch.allclose(op.adjoint(op(x)), x)), dot_test(op) < 1e-12
(True, True)
"""

from __future__ import annotations

import pywt
import torch

from physinv.errors import InputError, check_int, check_shape
from physinv.operators.base import LinearOperator


class Wavelet(LinearOperator):
    """Multilevel orthogonal 2-D wavelet transform W of ``(B, C, H, W)`` images.

    ``W f`` is the decomposition (``ptwt.wavedec2``, zero extension) flattened to one vector
    of ``out_shape[0]`` coefficients per image, approximation first, then level by level
    (coarse to fine) three orientations each; ``subband_index`` labels each coefficient with
    its sub-band (0 = approximation) and ``n_subbands`` counts them. For orthogonal wavelets

    .. math::

        W'W = I   (Parseval: ‖Wf‖ = ‖f‖, W' the reconstruction, cropped to the image)

    so W' is both the adjoint and the left inverse.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    wavelet : str, default "db2"
        An orthogonal wavelet known to PyWavelets: haar, dbN, symN, coifN.
    level : int, optional
        Decomposition levels; default as many as the image allows, at most 3.

    Raises
    ------
    InputError
        For an unknown or non-orthogonal wavelet, or more levels than the image allows.

    References
    ----------
    .. [1] S. Mallat, "A theory for multiresolution signal decomposition: the wavelet
           representation", IEEE Trans. Pattern Anal. Mach. Intell. 11(7), 674–693, 1989.
    .. [2] I. Daubechies, "Orthonormal bases of compactly supported wavelets", Comm. Pure
           Appl. Math. 41(7), 909–996, 1988.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Wavelet
    >>> op = Wavelet((16, 16), "haar")
    >>> op.level, op.n_subbands, op.out_shape
    (3, 10, (256,))
    >>> x = torch.randn(1, 1, 16, 16, dtype=torch.float64)
    >>> bool(torch.allclose(op.adjoint(op(x)), x))
    True
    """

    def __init__(self, shape, wavelet: str = "db2", level: int | None = None):
        shape = check_shape("shape", shape)
        try:
            wav = pywt.Wavelet(wavelet)
        except ValueError:
            raise InputError("wavelet", wavelet, "a discrete wavelet name such as 'haar', "
                             "'db2', 'sym4'") from None
        if not wav.orthogonal:
            raise InputError("wavelet", wavelet, "an orthogonal wavelet (haar, dbN, symN, coifN)")
        max_level = pywt.dwt_max_level(min(shape), wav.dec_len)
        level = max(1, min(3, max_level)) if level is None else check_int("level", level)
        if level > max(1, max_level):
            raise InputError("level", level, f"at most {max(1, max_level)} for shape {shape}")
        import ptwt

        probe = ptwt.wavedec2(torch.zeros(1, 1, *shape, dtype=torch.float64), wav,
                              level=level, mode="zero")
        self._shapes = [tuple(probe[0].shape[-2:])] + [tuple(t[0].shape[-2:]) for t in probe[1:]]
        sizes = [self._shapes[0][0] * self._shapes[0][1]] + [
            3 * s[0] * s[1] for s in self._shapes[1:]]
        super().__init__(shape, (sum(sizes),))
        self.wavelet = wavelet
        self.level = level
        self._wav = wav
        labels = [torch.zeros(sizes[0], dtype=torch.long)]
        band = 1
        for s in self._shapes[1:]:
            for _ in range(3):
                labels.append(torch.full((s[0] * s[1],), band, dtype=torch.long))
                band += 1
        self.register_buffer("subband_index", torch.cat(labels))
        self.n_subbands = band

    def _forward(self, x):
        import ptwt

        lead = x.shape[:-2]
        coeffs = ptwt.wavedec2(x.reshape(-1, 1, *self.in_shape), self._wav, level=self.level,
                               mode="zero")
        parts = [coeffs[0].reshape(coeffs[0].shape[0], -1)]
        for detail in coeffs[1:]:
            parts.extend(d.reshape(d.shape[0], -1) for d in detail)
        return torch.cat(parts, dim=-1).reshape(*lead, -1)

    def _adjoint(self, y):
        import ptwt

        lead = y.shape[:-1]
        flat = y.reshape(-1, y.shape[-1])
        n = flat.shape[0]
        pos = 0
        h0, w0 = self._shapes[0]
        coeffs = [flat[:, pos: pos + h0 * w0].reshape(n, 1, h0, w0)]
        pos += h0 * w0
        for h, w in self._shapes[1:]:
            detail = []
            for _ in range(3):
                detail.append(flat[:, pos: pos + h * w].reshape(n, 1, h, w))
                pos += h * w
            coeffs.append(tuple(detail))
        image = ptwt.waverec2(tuple(coeffs), self._wav)
        return image[..., : self.in_shape[0], : self.in_shape[1]].reshape(*lead, *self.in_shape)

    def _exact_norm(self):
        return 1.0

    def extra_repr(self):
        """Shape, wavelet and levels, shown in the module's ``repr``."""
        return f"shape={self.in_shape}, wavelet={self.wavelet!r}, level={self.level}"
