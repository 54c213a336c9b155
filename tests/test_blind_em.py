"""Levin et al.'s EM kernel update (``physinv.solvers.blind_em``, ``Schedule(kernel_update=
"em")``): the E-step's mean solves its normal equations, its covariance sum is the diagonal
formula, the EM kernel step started from the truth on noise-free data stays there, and the
kernel stays on the simplex."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, psf
from physinv.operators.blur import embed_centered
from physinv.solvers import blind_kernel as bk
from physinv.solvers.blind_em import posterior_gradients
from test_blind import _embedded, _textured


def test_e_step_mean_solves_the_posterior_normal_equations():
    torch.set_num_threads(1)
    x = _textured(64, seed=4)
    k = _embedded(psf.motion(7.0, 30.0).double(), 9)
    y = Convolution(k, (64, 64))(x) + 0.01 * torch.randn(
        1, 1, 64, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    g, p = bk._differences(y), bk._differences(x)
    eta, alpha = 2e-4, 10.0
    mu, csum = posterior_gradients(g, p, k, eta, alpha, n_cg=200)
    k_hat = torch.fft.rfft2(embed_centered(k, (64, 64)))
    k2 = float((k**2).sum()) / eta
    expected = 0.0
    for g_c, p_c, m in zip(g, p, mu, strict=True):
        w = alpha / p_c.abs().clamp_min(1e-2)
        lhs = torch.fft.irfft2(k_hat.abs() ** 2 * torch.fft.rfft2(m), s=(64, 64)) / eta + w * m
        rhs = torch.fft.irfft2(k_hat.conj() * torch.fft.rfft2(g_c), s=(64, 64)) / eta
        assert float((lhs - rhs).norm() / rhs.norm()) < 1e-6
        expected += float((1 / (k2 + w)).sum())
    assert csum == pytest.approx(expected, rel=1e-12)


def test_em_kernel_step_from_the_truth_on_noise_free_data_stays_near_it():
    """Noise-free, the sharp image's gradients as the IRLS point: the E-step's mean is close
    to them, the covariance term small, and the kernel step returns ≈ the true kernel."""
    torch.set_num_threads(1)
    x = _textured(64, seed=4)
    truth = _embedded(psf.motion(7.0, 30.0).double(), 9)
    y = Convolution(truth, (64, 64))(x)
    g, p = bk._differences(y), bk._differences(x)
    mu, csum = posterior_gradients(g, p, truth, 1e-6, 1e-3, n_cg=50)
    k = bk._kernel_step(g, mu, truth.clone(), bk.Schedule(kernel_reg=0.0, n_kernel=300), csum)
    assert float((k - truth).norm() / truth.norm()) < 0.15


@pytest.mark.parametrize("alpha", [1.0, 10.0])
def test_em_level_keeps_the_kernel_non_negative_and_summing_to_one(alpha):
    torch.set_num_threads(1)
    x = _textured(48, seed=7)
    y = Convolution(psf.motion(5.0, 60.0).double(), (48, 48))(x)
    start = torch.full((7, 7), 1 / 49, dtype=torch.float64)
    schedule = bk.Schedule(kernel_update="em", kernel_reg=0.0, edge_r=0.0, em_alpha=alpha,
                           n_iter=3, n_kernel=50)
    _, k, energy, _ = bk._level(y, y, start, 1e-3, schedule)
    assert float(k.min()) >= 0.0
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    assert energy == energy  # finite, not NaN


def test_unknown_kernel_update_is_refused():
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float64)
    with pytest.raises(InputError):
        bk.estimate_kernel(y, 5, schedule=bk.Schedule(kernel_update="vb"))
