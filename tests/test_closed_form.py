"""Tikhonov paths agree; λ rules; Wiener."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.data import patches
from physinv.errors import InputError
from physinv.metrics import psnr
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Gradient, Mask, Radon, SuperResolution, psf
from physinv.solvers import tikhonov, wiener


@pytest.fixture(scope="module")
def small_blur():
    op = Convolution(psf.motion(5, 30), (12, 12))
    x = torch.rand(2, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = simulate(x, op, Gaussian(0.01), seed=1)
    return op, Dense(op.to_matrix(), (12, 12), out_shape=(12, 12)), y


def test_fourier_svd_direct_cg_agree_identity(small_blur, rel):
    conv, dense, y = small_blur
    lam = 0.03
    ref = tikhonov(y, conv, lam=lam, reg="identity")
    assert ref.params["path"] == "fourier"
    svd = tikhonov(y, dense, lam=lam, reg="identity")
    assert svd.params["path"] == "svd"
    primal = tikhonov(y, dense, lam=lam, reg="identity", method="direct", form="primal")
    dual = tikhonov(y, dense, lam=lam, reg="identity", method="direct", form="dual")
    cg_primal = tikhonov(y, conv, lam=lam, reg="identity", method="cg")
    cg_dual = tikhonov(y, conv, lam=lam, reg="identity", method="cg", form="dual")
    for other in (svd, primal, dual):
        assert rel(other.x, ref.x) < 1e-8
    assert rel(primal.x, dual.x) < 1e-10  # the two closed forms
    for other in (cg_primal, cg_dual):
        assert rel(other.x, ref.x) < 1e-6
        assert other.n_iter > 0 and other.converged


def test_fourier_direct_cg_agree_gradient(small_blur, rel):
    conv, dense, y = small_blur
    lam = 0.05
    ref = tikhonov(y, conv, lam=lam, reg="gradient")
    direct = tikhonov(y, dense, lam=lam, reg="gradient")
    assert direct.params["path"] == "direct"
    assert rel(direct.x, ref.x) < 1e-8
    assert rel(tikhonov(y, conv, lam=lam, reg="gradient", method="cg").x, ref.x) < 1e-6
    # and the first-order condition (H'H + λD'D) x = H'y holds
    d = Gradient((12, 12))
    lhs = conv.normal(ref.x) + lam * d.normal(ref.x)
    assert rel(lhs, conv.adjoint(y)) < 1e-10


def test_polyphase_and_pixel_paths_match_cg(rel):
    g = torch.Generator().manual_seed(3)
    sr = SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2)
    y = sr(torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=g))
    fast = tikhonov(y, sr, lam=0.01, reg="identity")
    assert fast.params["path"] == "polyphase"
    assert rel(tikhonov(y, sr, lam=0.01, reg="identity", method="cg").x, fast.x) < 1e-6
    mask = Mask(torch.rand(10, 10, generator=g) < 0.5)
    ym = mask(torch.rand(1, 1, 10, 10, dtype=torch.float64, generator=g))
    pix = tikhonov(ym, mask, lam=0.1, reg="identity")
    assert pix.params["path"] == "pixel"
    assert rel(tikhonov(ym, mask, lam=0.1, reg="identity", method="cg").x, pix.x) < 1e-6


def test_radon_uses_cg_and_choses_lambda():
    op = Radon((32, 32), np.arange(0, 180, 6.0))
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[..., 10:20, 12:22] = 1.0
    y = simulate(x, op, Gaussian(0.5), seed=0)
    r = tikhonov(y, op, lam="gcv")
    # the λ search by plain CG, the final solve by CG preconditioned (solvers.pcg)
    assert r.params["path"] == "pcg" and r.params["lam"] > 0 and r.converged
    assert float(psnr(r.x, x)) > float(psnr(torch.zeros_like(x), x)) + 5


@pytest.fixture(scope="module")
def deblur_crop():
    x = patches.training_crops(1).double()  # a training crop: no tuning on the test set
    op = Convolution(psf.gaussian(2.0, 25), (128, 128))
    y = simulate(x, op, Gaussian(0.01), seed=1234)
    return x, op, y


@pytest.mark.parametrize("rule", ["gcv", "evidence"])
def test_automatic_lambda_within_03_db_of_best(deblur_crop, rule):
    x, op, y = deblur_crop
    grid = np.logspace(-4, 0, 81)
    best = max(float(psnr(tikhonov(y, op, lam=float(lam)).x, x)) for lam in grid)
    auto = tikhonov(y, op, lam=rule)
    assert float(psnr(auto.x, x)) > best - 0.3
    assert auto.params["rule"] == rule


def test_discrepancy_and_lcurve(deblur_crop):
    x, op, y = deblur_crop
    r = tikhonov(y, op, lam="discrepancy", noise_sigma=0.01)
    residual = float(((op(r.x) - y) ** 2).mean()) ** 0.5
    assert residual == pytest.approx(0.01, rel=1e-3)
    estimated = tikhonov(y, op, lam="discrepancy")
    assert estimated.params["noise_sigma"] == pytest.approx(0.01, rel=0.1)
    corner = tikhonov(y, op, lam="lcurve")
    assert 1e-6 < corner.params["lam"] < 10


def test_evidence_recovers_hyperparameters():
    """Data drawn from the model: the evidence finds v_ε and v_f."""
    n = 128
    op = Convolution(psf.gaussian(1.5, 11), (n, n))
    g = torch.Generator().manual_seed(7)
    v_f, v_e = 0.04, 1e-4
    x = torch.randn(1, 1, n, n, generator=g, dtype=torch.float64) * v_f**0.5
    y = simulate(x, op, Gaussian(v_e**0.5), seed=8)
    r = tikhonov(y, op, lam="evidence", reg="identity")
    assert r.params["noise_var"] == pytest.approx(v_e, rel=0.1)
    assert r.params["prior_var"] == pytest.approx(v_f, rel=0.1)


def test_wiener(deblur_crop):
    x, op, y = deblur_crop
    r = wiener(y, op)
    assert float(psnr(r.x, x)) > float(psnr(y, x)) + 0.5
    with pytest.raises(InputError, match="Fourier-diagonal"):
        wiener(torch.zeros(1, 1, 8, 8), Mask(np.ones((8, 8))))


def test_dtype_float32(deblur_crop, rel):
    x, op, y = deblur_crop
    r = tikhonov(y.float(), op, lam=0.01)
    assert r.x.dtype == torch.float32
    assert rel(r.x.double(), tikhonov(y, op, lam=0.01).x) < 1e-5


@pytest.mark.parametrize("kind", ["sr", "ct"])
def test_gradient_tikhonov_takes_the_exact_path_and_agrees_with_plain_cg(kind, rel):
    # ×2 SR with D = gradient: the polyphase closed form; CT: CG preconditioned — both equal
    # to plain CG run to a tight tolerance, the CT one in fewer iterations
    if kind == "sr":
        op = SuperResolution(psf.gaussian(1.0, 7), (32, 32), 2)
    else:
        op = Radon((32, 32), np.arange(0, 180, 6.0))
    x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float64)
    y = simulate(x, op, Gaussian(0.01), seed=1)
    lam = 1e-3 * float(op.norm()) ** 2
    fast = tikhonov(y, op, lam=lam, tol=1e-12, max_iter=5000)
    plain = tikhonov(y, op, lam=lam, method="cg", tol=1e-12, max_iter=5000)
    assert fast.params["path"] == ("polyphase" if kind == "sr" else "pcg")
    assert rel(fast.x, plain.x) < 1e-8
    assert fast.n_iter < plain.n_iter
