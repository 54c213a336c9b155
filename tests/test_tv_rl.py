"""Total variation (both algorithms) and Richardson–Lucy."""

from __future__ import annotations

import pytest
import torch

from physinv.data import patches
from physinv.errors import InputError
from physinv.metrics import psnr
from physinv.noise import Gaussian, Poisson, simulate
from physinv.operators import Convolution, Identity, Radon, psf
from physinv.solvers import richardson_lucy, tikhonov, tv


@pytest.fixture(scope="module")
def blur_problem():
    x = patches.training_crops(2)[1:2, :, :64, :64].double()
    op = Convolution(psf.gaussian(1.5, 11), (64, 64))
    return x, op, simulate(x, op, Gaussian(0.02), seed=3)


def test_admm_and_pdhg_reach_the_same_minimum(blur_problem):
    x, op, y = blur_problem
    a = tv(y, op, lam=0.01, method="admm", n_iter=3000, tol=1e-7)
    p = tv(y, op, lam=0.01, method="pdhg", n_iter=3000, tol=1e-7)
    assert a.params["method"] == "admm" and p.params["method"] == "pdhg"
    # same objective up to the boundary handling of the gradient (circular vs Neumann)
    oa, op_ = a.history["objective"][-1], p.history["objective"][-1]
    assert abs(oa - op_) / op_ < 0.02
    assert float(psnr(a.x, p.x)) > 35


def test_tv_denoises_piecewise_constant():
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    x[..., 16:48, 16:48] = 1.0
    op = Identity((64, 64))
    y = simulate(x, op, Gaussian(0.2), seed=0)
    r = tv(y, op, lam=0.15)
    assert r.converged
    assert float(psnr(r.x, x)) > float(psnr(y, x)) + 10
    assert float(psnr(r.x, x)) > float(psnr(tikhonov(y, op, lam="gcv").x, x)) + 3


def test_tv_positivity_on_radon():
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[..., 10:22, 8:20] = 1.0
    op = Radon((32, 32), torch.arange(0, 180, 10.0))
    y = simulate(x, op, Gaussian(0.3), seed=0)
    r = tv(y, op, lam=1.0, positivity=True, n_iter=500)
    assert r.params["method"] == "pdhg" and float(r.x.min()) >= 0
    assert float(psnr(r.x, x)) > 20


def test_richardson_lucy_on_poisson_data():
    x = patches.training_crops(1)[..., :64, :64].double() + 0.05
    op = Convolution(psf.gaussian(1.5, 11), (64, 64))
    y = simulate(x, op, Poisson(500), seed=0)
    r = richardson_lucy(y, op, n_iter=25)
    assert float(r.x.min()) >= 0
    assert float(psnr(r.x, x)) > float(psnr(y, x))
    with pytest.raises(InputError, match="non-negative"):
        richardson_lucy(y - 10.0, op)
    clipped = richardson_lucy(y - 0.3, op, n_iter=3)
    assert clipped.params["clipped_negative"] > 0 and float(clipped.x.min()) >= 0


def test_bad_input(blur_problem):
    _, op, y = blur_problem
    with pytest.raises(InputError, match="lam"):
        tv(y, op)
    radon = Radon((64, 64), [0.0, 90.0])
    with pytest.raises(InputError, match="pdhg"):
        tv(radon(torch.zeros(1, 1, 64, 64)), radon, lam=0.1, method="admm")
    with pytest.raises(InputError, match="one of"):
        tv(y, op, lam=0.1, method="bregman")
