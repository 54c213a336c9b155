"""Unrolled networks: untrained = the classical iterations, the spectral filter, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.nets import LISTA, UnrolledLandweber
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Radon, psf
from physinv.solvers import ista, landweber


@pytest.fixture(scope="module")
def problem():
    op = Convolution(psf.gaussian(1.5, 9), (24, 24))
    x = torch.rand(2, 1, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return op, simulate(x, op, Gaussian(0.02), seed=1)


@pytest.mark.parametrize("k", [1, 2, 5, 10, 20])
def test_unrolled_landweber_equals_landweber(problem, k, rel):
    op, y = problem
    net = UnrolledLandweber(op, n_layers=k, lam=0.01)
    with torch.no_grad():
        out = net(y)
    assert rel(out, landweber(y, op, n_iter=k, lam=0.01, tol=None).x) < 1e-12


def test_unrolled_landweber_on_radon_and_positivity(rel):
    op = Radon((16, 16), np.arange(0, 180, 15.0))
    y = op(torch.rand(1, 1, 16, 16, dtype=torch.float64))
    net = UnrolledLandweber(op, n_layers=7, positivity=True)
    with torch.no_grad():
        out = net(y)
    ref = landweber(y, op, n_iter=7, tol=None, bounds=(0.0, None)).x
    assert rel(out, ref) < 1e-10


def test_spectral_filter_of_unrolled_landweber():
    rng = np.random.default_rng(0)
    op = Dense(rng.standard_normal((12, 9)) / 3, (3, 3))
    u, s, _ = op.svd_matrices()
    svd = op.svd()
    k, alpha, lam = 6, 0.5 / op.norm() ** 2, 0.05
    net = UnrolledLandweber(op, n_layers=k, step=alpha, lam=lam)
    y = u.T.reshape(9, 1, 12, 1)  # each left singular vector as a measurement
    with torch.no_grad():
        coeffs = svd.vh(net(y))[:, 0, :]  # (9 inputs, 9 coefficients)
    expected = s * (1 - (1 - alpha * (s**2 + lam)) ** k) / (s**2 + lam)
    assert torch.allclose(coeffs.diagonal(), expected, rtol=1e-10)
    off = coeffs - torch.diag(coeffs.diagonal())
    assert float(off.abs().max()) < 1e-12


@pytest.mark.parametrize("basis", ["pixel", "wavelet"])
def test_untrained_lista_equals_ista(problem, basis, rel):
    op, y = problem
    net = LISTA(op, n_layers=8, lam=0.005, basis=basis)
    with torch.no_grad():
        out = net(y)
    ref = ista(y, op, lam=0.005, n_iter=8, tol=None, basis=basis).x
    assert rel(out, ref) < 1e-10


def test_parameters_are_learnable_and_operator_fixed(problem):
    op, y = problem
    net = UnrolledLandweber(op, n_layers=4)
    assert net.trainable_parameters() == 8
    assert net.fixed_parameters() == sum(b.numel() for b in op.buffers())
    tied = LISTA(op, n_layers=4, lam=0.01, tied=True)
    assert tied.trainable_parameters() == 2
    loss = net(y.float()).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert "trainable=8" in repr(net)


def test_bad_input(problem):
    op, _ = problem
    with pytest.raises(InputError, match="n_layers"):
        UnrolledLandweber(op, n_layers=0)
    with pytest.raises(InputError, match="lam"):
        LISTA(op, n_layers=3, lam=-1)
    with pytest.raises(InputError, match="op"):
        UnrolledLandweber("blur", n_layers=3)
    with pytest.raises(InputError, match="trailing dimensions"):
        UnrolledLandweber(op, n_layers=2)(torch.zeros(1, 1, 5, 5))
