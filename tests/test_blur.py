"""Convolution: agreement with scipy.ndimage, Fourier structure, SVD, reflect mode, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from physinv.errors import InputError
from physinv.operators import Convolution, dot_test, psf


def _img(shape, seed=0, channels=1):
    return torch.from_numpy(np.random.default_rng(seed).random((1, channels, *shape)))


@pytest.mark.parametrize("kernel", [psf.gaussian(1.5, 9), psf.motion(7, 30)])
def test_circular_equals_scipy_wrap(kernel):
    x = _img((24, 20))
    op = Convolution(kernel, (24, 20))
    ref = ndimage.convolve(x[0, 0].numpy(), kernel.numpy(), mode="wrap")
    assert np.allclose(op(x)[0, 0].numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("kernel", [psf.box(4, 6), psf.motion(7, 30, size=(6, 9))])
def test_circular_definition_with_centre_at_half_size(kernel):
    """y[i] = Σ_k h[k] x[i − (k − c)], c = size // 2, with periodic wrap (even sizes too)."""
    x = _img((14, 16))[0, 0].numpy()
    k = kernel.numpy()
    ch, cw = k.shape[0] // 2, k.shape[1] // 2
    ref = sum(k[a, b] * np.roll(x, (a - ch, b - cw), axis=(0, 1))
              for a in range(k.shape[0]) for b in range(k.shape[1]))
    out = Convolution(kernel, (14, 16))(_img((14, 16)))[0, 0].numpy()
    assert np.allclose(out, ref, atol=1e-12)


def test_reflect_equals_scipy_reflect():
    kernel = psf.motion(5, 60)
    x = _img((20, 23))
    op = Convolution(kernel, (20, 23), boundary="reflect")
    ref = ndimage.convolve(x[0, 0].numpy(), kernel.numpy(), mode="reflect")
    assert np.allclose(op(x)[0, 0].numpy(), ref, atol=1e-12)


def test_reflect_has_no_wraparound():
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[..., :, :4] = 1.0  # bright left border
    circ = Convolution(psf.gaussian(2.0, 13), (32, 32))(x)
    refl = Convolution(psf.gaussian(2.0, 13), (32, 32), boundary="reflect")(x)
    assert float(circ[..., :, -1].max()) > 0.01  # circular leaks to the right border
    assert float(refl[..., :, -1].max()) < 1e-12


def test_fourier_diagonal_and_svd():
    op = Convolution(psf.motion(6, 20), (16, 18))
    x = _img((16, 18), seed=3)
    otf = op.fourier_diagonal()
    via_fourier = torch.fft.ifft2(otf * torch.fft.fft2(x)).real
    assert torch.allclose(via_fourier, op(x), atol=1e-12)
    svd = op.svd()
    rebuilt = svd.u(svd.s * svd.vh(x)).real
    assert torch.allclose(rebuilt, op(x), atol=1e-12)
    assert torch.allclose(svd.v(svd.vh(x)).real, x, atol=1e-12)
    assert op.norm() == pytest.approx(float(svd.s.max()))
    assert op.has_fourier_diagonal
    reflect = Convolution(psf.motion(6, 20), (16, 18), boundary="reflect")
    assert not reflect.has_fourier_diagonal
    with pytest.raises(NotImplementedError):
        reflect.fourier_diagonal()


def test_colour_channels_independent():
    x = _img((12, 12), channels=3)
    op = Convolution(psf.gaussian(1.0, 5), (12, 12))
    y = op(x)
    for c in range(3):
        assert torch.allclose(y[:, c], op(x[:, c: c + 1])[:, 0])


def test_float32_close_to_float64():
    x = _img((32, 32))
    op = Convolution(psf.gaussian(2.0, 25), (32, 32))
    assert torch.allclose(op(x.float()).double(), op(x), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 20), w=st.integers(3, 20), kh=st.integers(1, 20), kw=st.integers(1, 20),
       reflect=st.booleans(), seed=st.integers(0, 10_000))
def test_adjoint_for_all_shapes(h, w, kh, kw, reflect, seed):
    kh, kw = min(kh, h), min(kw, w)
    kernel = np.random.default_rng(seed).random((kh, kw)) + 1e-3
    op = Convolution(kernel, (h, w), boundary="reflect" if reflect else "circular")
    assert dot_test(op, seed=seed) < 1e-10


def test_bad_input():
    with pytest.raises(InputError, match="no larger than the image"):
        Convolution(psf.gaussian(2.0, 25), (16, 16))
    with pytest.raises(InputError, match="positive sum"):
        Convolution(np.zeros((3, 3)), (8, 8))
    with pytest.raises(InputError, match="boundary"):
        Convolution(psf.gaussian(1.0), (8, 8), boundary="zero")
    with pytest.raises(InputError, match="shape"):
        Convolution(psf.gaussian(1.0), (8, -8))
    op = Convolution(psf.gaussian(1.0), (8, 8))
    with pytest.raises(InputError, match=r"trailing dimensions \(8, 8\)"):
        op(torch.zeros(1, 1, 8, 9))
    with pytest.raises(InputError, match="4-D"):
        op(torch.zeros(8))
