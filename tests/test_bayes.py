"""Gaussian posterior, Student-t (JMAP, VBA) and Gauss–Markov–Potts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.data import patches
from physinv.errors import InputError
from physinv.metrics import coverage, dice, psnr
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Radon, psf
from physinv.solvers import gaussian_posterior, potts, studentt, tikhonov


def test_credible_intervals_cover_95_percent_over_prior_samples():
    n, v_f, v_e = 64, 0.05, 1e-3
    op = Convolution(psf.gaussian(1.5, 11), (n, n))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 1, n, n, generator=g, dtype=torch.float64) * v_f**0.5
    y = simulate(x, op, Gaussian(v_e**0.5), seed=1)
    post = gaussian_posterior(y, op, noise_var=v_e, prior_var=v_f, reg="identity")
    assert post.params["variance"] == "exact"
    cov = float(coverage(post.x, post.variance.sqrt(), x).mean())
    assert 0.93 <= cov <= 0.97
    # and with the hyper-parameters estimated by evidence
    est = gaussian_posterior(y, op, reg="identity")
    assert est.params["noise_var"] == pytest.approx(v_e, rel=0.1)
    cov_est = float(coverage(est.x, est.variance.sqrt(), x).mean())
    assert 0.93 <= cov_est <= 0.97


def test_map_error_covariance_matches_posterior_covariance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12, 9)) / 3
    op = Dense(a, (3, 3))
    v_f, v_e, n = 0.5, 0.05, 40000
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 1, 3, 3, generator=g, dtype=torch.float64) * v_f**0.5
    y = op(x) + torch.randn(n, 1, 12, 1, generator=g, dtype=torch.float64) * v_e**0.5
    post = gaussian_posterior(y, op, noise_var=v_e, prior_var=v_f, reg="identity")
    err = (post.x - x).reshape(n, 9)
    empirical = err.T @ err / n
    gram = torch.from_numpy(a.T @ a) + (v_e / v_f) * torch.eye(9, dtype=err.dtype)
    exact = v_e * torch.linalg.inv(gram)
    gap = torch.linalg.matrix_norm(empirical - exact) / torch.linalg.matrix_norm(exact)
    assert float(gap) < 0.03
    assert torch.allclose(post.variance[0, 0].reshape(-1), exact.diagonal(), rtol=1e-10)


def test_sampled_variance_matches_exact_on_radon():
    op = Radon((10, 10), np.arange(0, 180, 15.0))
    dense = Dense(op.to_matrix(), (10, 10), out_shape=op.out_shape)
    x = torch.rand(1, 1, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = simulate(x, op, Gaussian(0.1), seed=0)
    kwargs = dict(noise_var=0.01, prior_var=0.2, reg="identity")
    exact = gaussian_posterior(y, dense, **kwargs)
    sampled = gaussian_posterior(y, op, n_samples=200, **kwargs)
    assert "samples" in sampled.params["variance"]
    scale = float(exact.x.abs().max())
    assert torch.allclose(sampled.x, exact.x, atol=1e-5 * scale)
    # 200 samples: each pixel's variance has a relative standard error of √(2/199) ≈ 0.1
    rel = (sampled.variance - exact.variance).abs() / exact.variance
    assert float(rel.mean()) < 0.15
    assert float(sampled.variance.mean() / exact.variance.mean()) == pytest.approx(1, abs=0.05)


@pytest.fixture(scope="module")
def deblur_crop():
    x = patches.training_crops(3)[2:3].double()
    op = Convolution(psf.gaussian(2.0, 25), (128, 128))
    return x, op, simulate(x, op, Gaussian(0.01), seed=1234)


def test_vba_close_to_best_tikhonov_without_tuning(deblur_crop):
    x, op, y = deblur_crop
    best = max(float(psnr(tikhonov(y, op, lam=float(lam)).x, x))
               for lam in np.logspace(-4, 0, 41))
    r = studentt(y, op, method="vba")
    assert float(psnr(r.x, x)) > best - 0.5
    assert r.variance is not None and float(r.variance.min()) > 0
    assert r.params["noise_var"] == pytest.approx(1e-4, rel=0.5)
    jmap = studentt(y, op, method="jmap")
    assert float(psnr(jmap.x, x)) > best - 1.0


def test_studentt_beats_tikhonov_on_a_sparse_scene():
    g = torch.Generator().manual_seed(5)
    n = 96
    x = torch.zeros(1, 1, n, n, dtype=torch.float64)
    idx = torch.randint(0, n * n, (60,), generator=g)
    x.view(-1)[idx] = torch.rand(60, generator=g, dtype=torch.float64) * 0.8 + 0.2  # star field
    op = Convolution(psf.gaussian(1.5, 11), (n, n))
    y = simulate(x, op, Gaussian(0.01), seed=6)
    best = max(float(psnr(tikhonov(y, op, lam=float(lam), reg=reg).x, x))
               for lam in np.logspace(-5, 0, 26) for reg in ("identity", "gradient"))
    r = studentt(y, op, method="vba", domain="pixel")
    assert float(psnr(r.x, x)) > best + 1.0


def test_potts_segments_and_restores():
    n = 64
    x = torch.full((1, 1, n, n), 0.2, dtype=torch.float64)
    yy, xx = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    truth = ((yy - 30) ** 2 + (xx - 34) ** 2 < 15**2) | ((yy > 5) & (yy < 15) & (xx > 40))
    x[0, 0][truth] = 0.8
    op = Convolution(psf.gaussian(1.5, 11), (n, n))
    y = simulate(x, op, Gaussian(0.05), seed=0)
    r = potts(y, op, n_classes=2, beta=1.0)
    assert r.labels.shape == (1, 1, n, n)
    assert float(dice(r.labels == 1, truth[None, None])) > 0.95
    assert float(psnr(r.x, x)) > float(psnr(tikhonov(y, op).x, x)) + 0.5


def test_bad_input(deblur_crop):
    _, op, y = deblur_crop
    with pytest.raises(InputError, match="method"):
        studentt(y, op, method="mcmc")
    with pytest.raises(InputError, match="domain"):
        studentt(y, op, domain="curvelet")
    with pytest.raises(InputError, match="noise_var"):
        gaussian_posterior(y, op, noise_var=-1.0)
    with pytest.raises(InputError, match="n_classes"):
        potts(y, op, n_classes=1)


def test_polyphase_sampling_matches_cg_sampling():
    from physinv.operators import SuperResolution

    op = SuperResolution(psf.gaussian(1.0, 5), (12, 12), 2)
    x = torch.rand(1, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = simulate(x, op, Gaussian(0.05), seed=0)
    exact = gaussian_posterior(y, Dense(op.to_matrix(), (12, 12), out_shape=(6, 6)),
                               noise_var=0.0025, prior_var=0.1, reg="identity")
    fast = gaussian_posterior(y, op, noise_var=0.0025, prior_var=0.1, reg="identity",
                              n_samples=300)
    assert torch.allclose(fast.x, exact.x, atol=1e-10)
    ratio = float(fast.variance.mean() / exact.variance.mean())
    assert ratio == pytest.approx(1, abs=0.05)
