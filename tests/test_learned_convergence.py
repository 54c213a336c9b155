"""Learned weights converge to the analytic optimum they are initialised away from:
a learned SVD diagonal → 1/(δᵢ + λ) with λ = σ²/s² (white prior of variance s²); a learned dense
B → the LMMSE matrix s²H'(s²HH' + σ²I)⁻¹; the unsupervised loss ‖g − Hf̂‖² + λ‖Df̂‖² over a
linear FourierNet → the Tikhonov filter. (The Wiener limit of a FourierNet is in
``test_linear_nets.py``.) All trained by ``physinv.train.fit``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.nets import AnalyticNet, FourierNet, SVDNet
from physinv.noise import Gaussian
from physinv.operators import Convolution, Dense, psf
from physinv.solvers.spectral import reg_power_half
from physinv.train import Measurements, Pairs, fit

S, SIGMA = 1.0, 0.3


@pytest.fixture(scope="module")
def dense_problem():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((24, 16)) / 4
    return Dense(a, (4, 4), (4, 6))


def _pairs(op, n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = S * torch.randn(n, 1, *op.in_shape, generator=gen, dtype=torch.float64)
    y = op(x) + SIGMA * torch.randn(n, 1, *op.out_shape, generator=gen, dtype=torch.float64)
    return Pairs(y.float(), x.float(), op)


def _train(net, data, epochs, batch_size=256):
    fit(net, data, epochs=epochs, samples_per_epoch=len(data), batch_size=batch_size,
        physics_lr=0.02, lr=0.02, patience=epochs, val_fraction=0.1)
    return net


def test_learned_svd_diagonal_converges_to_the_mmse_diagonal(dense_problem):
    op = dense_problem
    _, s, _ = op.svd_matrices()
    target = 1 / (s**2 + SIGMA**2 / S**2)
    errors = {}
    for n in (64, 4096):
        net = _train(SVDNet(op, lam=1.0), _pairs(op, n, seed=n), epochs=150)
        errors[n] = float((net.diagonal.detach() - target).norm() / target.norm())
    assert errors[4096] < errors[64]
    assert errors[4096] < 0.05, errors


def test_learned_dense_b_converges_to_the_lmmse_matrix():
    # a smaller B (9 × 12) than the SVD test's: 108 entries to learn instead of 16 diagonals
    op = Dense(np.random.default_rng(1).standard_normal((12, 9)) / 3, (3, 3), (3, 4))
    h = op.matrix
    lmmse = S**2 * h.T @ torch.linalg.inv(S**2 * h @ h.T + SIGMA**2 * torch.eye(12,
                                                                              dtype=h.dtype))
    errors = {}
    for n in (64, 8192):
        net = _train(AnalyticNet(op, lam=1.0, reg="identity"), _pairs(op, n, seed=n + 1),
                     epochs=150, batch_size=max(256, n // 8))
        errors[n] = float((net.matrix.detach() - lmmse).norm() / lmmse.norm())
    assert errors[8192] < errors[64]
    assert errors[8192] < 0.05, errors


def test_unsupervised_loss_over_a_linear_fourier_net_recovers_tikhonov():
    op = Convolution(psf.gaussian(1.5, 9), (16, 16))
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(8, 1, 16, 16, generator=gen)
    data = Measurements(clean, op, Gaussian(0.05))
    lam = 0.05
    net = FourierNet(op, init="zeros")  # start far away: Λ = 0
    fit(net, data, loss="unsupervised", lam=lam, reg="gradient", epochs=300,
        samples_per_epoch=8, physics_lr=0.02, patience=300)
    conj, power = op.rfft_diagonal(torch.float64)
    tikhonov_filter = conj / (power + lam * reg_power_half((16, 16), "gradient"))
    error = (net.filter().detach() - tikhonov_filter).abs().norm() / tikhonov_filter.abs().norm()
    assert float(error) < 0.02
