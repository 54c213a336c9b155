"""AnalyticNet and FourierNet: untrained = Tikhonov (float64 relative error < 1e-6, the
networks issue's target; the Fourier forms measure ~1e-15, the dense one ~1e-9 — a solve
against the solver's SVD); closed-form fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.nets import AnalyticNet, FourierNet
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Radon, psf
from physinv.solvers import tikhonov


@pytest.fixture(scope="module")
def problem():
    op = Convolution(psf.motion(7, 30), (20, 22))
    x = torch.rand(2, 1, 20, 22, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return op, simulate(x, op, Gaussian(0.01), seed=1)


@pytest.mark.parametrize("reg", ["identity", "gradient"])
@pytest.mark.parametrize("cls", [AnalyticNet, FourierNet])
def test_untrained_equals_tikhonov(problem, cls, reg, rel):
    op, y = problem
    net = cls(op, lam=0.02, reg=reg)
    with torch.no_grad():
        assert rel(net(y), tikhonov(y, op, lam=0.02, reg=reg).x) < 1e-6
        assert rel(net(y.float()).double(), tikhonov(y, op, lam=0.02, reg=reg).x) < 1e-5


def test_dense_analytic_net_equals_tikhonov(rel):
    rng = np.random.default_rng(0)
    op = Dense(rng.standard_normal((20, 16)), (4, 4))
    y = op(torch.rand(3, 1, 4, 4, dtype=torch.float64))
    for reg in ("identity", "gradient"):
        net = AnalyticNet(op, lam=0.1, reg=reg)
        with torch.no_grad():
            assert rel(net(y), tikhonov(y, op, lam=0.1, reg=reg).x) < 1e-6


def test_fourier_fit_closed_form_recovers_the_inverse_without_noise(rel):
    op = Convolution(psf.gaussian(0.6, 5), (16, 16))  # ĥ never 0: invertible
    g = torch.Generator().manual_seed(3)
    xs = torch.rand(8, 1, 16, 16, dtype=torch.float64, generator=g)
    net = FourierNet(op, init="zeros").fit_closed_form(op(xs), xs)
    test = torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=g)
    with torch.no_grad():
        assert rel(net(op(test)), test) < 1e-6


def test_parameters_and_bad_input(problem):
    op, y = problem
    net = FourierNet(op)
    assert net.trainable_parameters() == 2 * 20 * (22 // 2 + 1)
    net(y.float()).sum().backward()
    assert net.real.grad is not None
    with pytest.raises(InputError, match="Fourier-diagonal"):
        FourierNet(Radon((8, 8), [0.0]))
    with pytest.raises(InputError, match="Dense"):
        AnalyticNet(Radon((8, 8), [0.0]))
    with pytest.raises(InputError, match="as many images"):
        FourierNet(op).fit_closed_form(y, torch.zeros(1, 1, 20, 22, dtype=torch.float64))


@pytest.mark.parametrize("layers", [3, 4])
def test_svdnet_equals_tikhonov(problem, layers, rel):
    from physinv.nets import SVDNet

    op, y = problem
    for reg in ("identity", "gradient"):
        with torch.no_grad():
            out = SVDNet(op, lam=0.02, layers=layers, reg=reg)(y)
        assert rel(out, tikhonov(y, op, lam=0.02, reg=reg).x) < 1e-6
    rng = np.random.default_rng(1)
    dense = Dense(rng.standard_normal((12, 16)), (4, 4))  # under-determined
    yd = dense(torch.rand(2, 1, 4, 4, dtype=torch.float64))
    net = SVDNet(dense, lam=0.05, layers=layers)
    assert net.trainable_parameters() == 12
    with torch.no_grad():
        assert rel(net(yd), tikhonov(yd, dense, lam=0.05, reg="identity").x) < 1e-6


def test_svdnet_on_radon_through_an_explicit_svd(rel):
    from physinv.nets import SVDNet

    radon = Radon((12, 12), np.arange(0, 180, 20.0))
    dense = Dense(radon.to_matrix(), (12, 12), out_shape=radon.out_shape)
    y = radon(torch.rand(1, 1, 12, 12, dtype=torch.float64))
    with torch.no_grad():
        out = SVDNet(dense, lam=0.1)(y)
    assert rel(out, tikhonov(y, radon, lam=0.1, reg="identity", tol=1e-12).x) < 1e-6


def test_fourier_net_fit_converges_to_the_wiener_filter():
    """Gaussian-process images with a known spectrum: the fitted Λ → Wiener as N grows."""
    n, sigma = 32, 0.05
    op = Convolution(psf.gaussian(1.0, 7), (n, n))
    fy = torch.fft.fftfreq(n, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(n, dtype=torch.float64)[None, :]
    spectrum = 1.0 / (0.002 + fy**2 + fx**2)  # E|X̂|² / n
    spectrum = spectrum / spectrum.mean()
    conj, power = op.rfft_diagonal(torch.float64)
    wiener = conj * spectrum / (power * spectrum + sigma**2)
    g = torch.Generator().manual_seed(0)
    errors = []
    for count in (16, 256, 4096):
        white = torch.randn(count, 1, n, n, generator=g, dtype=torch.float64)
        xs = torch.fft.irfft2(torch.fft.rfft2(white) * spectrum.sqrt(), s=(n, n))
        ys = op(xs) + sigma * torch.randn(xs.shape, generator=g, dtype=torch.float64)
        fitted = FourierNet(op, init="zeros").fit_closed_form(ys, xs).filter().detach()
        errors.append(float(torch.linalg.vector_norm(fitted - wiener)
                            / torch.linalg.vector_norm(wiener)))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.05
