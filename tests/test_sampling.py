"""Decimation, SuperResolution and Mask: definitions, structure and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, Decimation, Mask, SuperResolution, psf


def test_decimation_keeps_every_sth_pixel():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    y = Decimation((6, 6), 3, offset=1)(x)
    assert torch.equal(y[0, 0], x[0, 0, 1::3, 1::3])
    op = Decimation((6, 6), 2)
    z = op.adjoint(op(x))
    assert torch.equal(z[0, 0, ::2, ::2], x[0, 0, ::2, ::2])
    assert float(z[0, 0, 1::2].abs().sum()) == 0.0
    # D D' = I
    y = torch.randn(2, 1, 3, 3)
    assert torch.equal(op(op.adjoint(y)), y)


def test_superresolution_is_decimated_blur():
    kernel = psf.gaussian(1.0, 7)
    op = SuperResolution(kernel, (16, 16), 2)
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    ref = Convolution(kernel, (16, 16))(x)[..., ::2, ::2]
    assert torch.allclose(op(x), ref)
    assert op.out_shape == (8, 8)


def test_superresolution_aliased_power_is_hh_adjoint():
    op = SuperResolution(psf.gaussian(1.2, 7), (12, 12), 3)
    y = torch.randn(1, 1, 4, 4, dtype=torch.float64)
    hht = op(op.adjoint(y))
    via = torch.fft.ifft2(op.aliased_power() * torch.fft.fft2(y)).real
    assert torch.allclose(hht, via, atol=1e-12)


def test_mask():
    m = np.zeros((4, 5), dtype=bool)
    m[1, 2] = True
    op = Mask(m)
    x = torch.rand(1, 1, 4, 5)
    y = op(x)
    assert float(y[0, 0, 1, 2]) == float(x[0, 0, 1, 2])
    assert float(y.abs().sum() - y[0, 0, 1, 2].abs()) == 0.0
    assert op.norm() == 1.0


def test_bad_input():
    with pytest.raises(InputError, match="divisible by factor=3"):
        Decimation((10, 9), 3)
    with pytest.raises(InputError, match="factor"):
        Decimation((10, 10), 0)
    with pytest.raises(InputError, match="offset"):
        Decimation((10, 10), 2, offset=2)
    with pytest.raises(InputError, match="values in"):
        Mask(np.full((3, 3), 2.0))
    with pytest.raises(InputError, match="2-D"):
        Mask(np.ones((3, 3, 3)))
    with pytest.raises(InputError, match="no larger"):
        SuperResolution(psf.gaussian(1.0, 9), (8, 8), 2)
