"""The camera's closed forms (``physinv.thermal.fast``) against the general solvers on small
frames: Tikhonov (CG to 1e-14), the exact per-pixel posterior variance (a dense inverse),
GCV (the same criterion through ``choose_lambda_spectral``) — all to 1e-6 relative."""

from __future__ import annotations

import math

import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution
from physinv.solvers import tikhonov, wiener
from physinv.solvers.hyper import choose_lambda_spectral
from physinv.solvers.iterative import regulariser
from physinv.thermal import Camera, Scene, simulate
from physinv.thermal.fast import (
    CameraSolver,
    fit_psd,
    posterior_fast,
    power_law,
    tikhonov_fast,
    wiener_fast,
)
from physinv.thermal.restoration import restore


def _frame(camera, shape, seed=3):
    frame = simulate(Scene(shape=shape), camera, seed=seed)
    g = camera.operator(shape)(frame.apparent[None, None])
    return g + camera.netd * torch.randn(g.shape, generator=torch.Generator().manual_seed(seed),
                                         dtype=torch.float64)


CAMERAS = [Camera(factor=2), Camera(factor=4, fwhm=1.5), Camera(factor=1),
           Camera(factor=2, psf="none"), Camera(factor=4, psf="airy"),
           Camera(factor=1, psf="none")]


@pytest.mark.parametrize("camera", CAMERAS)
def test_tikhonov_equals_the_cg_solution(camera):
    shape = (32, 48)
    op = camera.operator(shape)
    y = _frame(camera, shape)
    for lam in (1e-3, 1e-1):
        fast = tikhonov_fast(y, op, lam).x
        slow = tikhonov(y, op, lam=lam, tol=1e-14, max_iter=20000).x
        assert float((fast - slow).norm() / slow.norm()) < 1e-6


@pytest.mark.parametrize("camera", CAMERAS[:3])
def test_variance_equals_the_dense_inverse(camera):
    shape = (24, 32)
    n = shape[0] * shape[1]
    op = camera.operator(shape)
    basis = torch.eye(n, dtype=torch.float64).reshape(n, 1, *shape)
    d = regulariser(op, "gradient")
    lam, noise_var = 3e-2, 0.0025
    a = (op.normal(basis) + lam * d.normal(basis)).reshape(n, n)
    dense = noise_var * torch.linalg.inv(a).diagonal().reshape(shape)
    fast = CameraSolver(op).variance(lam, noise_var)
    assert float(((fast - dense).abs() / dense).max()) < 1e-6


def test_gcv_is_the_spectral_criterion_and_the_posterior_uses_it():
    camera = Camera(factor=4)
    shape = (64, 64)
    op = camera.operator(shape)
    solver = CameraSolver(op)
    # a random walk: GCV has an interior minimum (on a smooth frame it is monotone, λ → 0)
    y = 300 + torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0),
                          dtype=torch.float64).cumsum(-1)
    fast = tikhonov_fast(y, op, "gcv", solver)
    assert abs(fast.params["lam"] / choose_lambda_spectral(solver, y, "gcv")["lam"] - 1) < 1e-6
    post = posterior_fast(y, op, solver)
    assert torch.allclose(post.x, solver.solve(y, post.params["lam"]))
    assert post.variance.shape == post.x.shape
    assert post.params["variance"] == "exact" and bool((post.variance > 0).all())


def test_restore_uses_the_closed_forms_and_refuses_other_operators():
    camera = Camera(factor=2)
    g = _frame(camera, (32, 32))[0, 0]
    x, var, note = restore(g, camera, "bayes")
    assert x.shape == var.shape == (1, 1, 32, 32) and "evidence" in note
    x_t, _, note_t = restore(g, camera, "tikhonov")
    lam = float(note_t.split("λ=")[-1])
    assert torch.allclose(x_t, tikhonov_fast(g[None, None], camera.operator((32, 32)), lam).x)
    with pytest.raises(InputError, match="op"):
        CameraSolver(Convolution(torch.ones(3, 3) / 9, (8, 8), boundary="reflect"))
    x_w2, _, note = restore(g, camera, "wiener")  # polyphase
    assert x_w2.shape == (1, 1, 32, 32) and "Wiener" in note
    x_w, _, note = restore(g, Camera(factor=1), "wiener")
    assert x_w.shape == (1, 1, 16, 16) and "Wiener" in note


def _dense(fn, n_in):
    return torch.stack([fn(e).reshape(-1) for e in torch.eye(n_in, dtype=torch.float64)], 1)


@pytest.mark.parametrize("camera", [Camera(factor=2), Camera(factor=4, psf="airy"),
                                    Camera(factor=1)])
def test_wiener_equals_the_dense_formula(camera):
    shape = (24, 32)
    op = camera.operator(shape)
    y = 300 + torch.randn(1, 1, *op.out_shape, generator=torch.Generator().manual_seed(2),
                          dtype=torch.float64)
    psd = power_law(shape, 30.0, 2.5)
    x = wiener_fast(y, op, noise_var=camera.netd**2, signal_psd=psd).x
    h = _dense(lambda e: op(e.reshape(1, 1, *shape)), shape[0] * shape[1])
    cov = _dense(lambda e: torch.fft.ifft2(psd * torch.fft.fft2(e.reshape(shape))).real,
                 shape[0] * shape[1])
    gram = h @ cov @ h.T + camera.netd**2 * torch.eye(h.shape[0], dtype=torch.float64)
    dense = cov @ h.T @ torch.linalg.solve(gram, y.reshape(-1))
    assert float((x.reshape(-1) - dense).norm() / dense.norm()) < 1e-10


def test_wiener_factor_one_equals_the_fourier_wiener_and_the_fit_recovers_a_power_law():
    camera = Camera(factor=1)
    shape = (32, 32)
    op = camera.operator(shape)
    y = _frame(camera, shape)
    psd = power_law(shape, 3.0, 2.0)
    fast = wiener_fast(y, op, noise_var=0.01, signal_psd=psd).x
    assert torch.allclose(fast, wiener(y, op, noise_var=0.01, signal_psd=psd).x, atol=1e-10)
    # a stationary object drawn from a power law, seen by a ×2 camera: A and β recovered
    cam2 = Camera(factor=2)
    shape = (128, 128)
    gen = torch.Generator().manual_seed(0)
    truth = power_law(shape, 0.5, 3.0)
    white = torch.fft.fft2(torch.randn(4, 1, *shape, generator=gen, dtype=torch.float64))
    f = torch.fft.ifft2(white * truth.sqrt()).real
    op2 = cam2.operator(shape)
    g = op2(f) + 0.01 * torch.randn(4, 1, 64, 64, generator=gen, dtype=torch.float64)
    amplitude, beta = fit_psd(CameraSolver(op2), g, 1e-4)
    assert abs(beta - 3.0) < 0.15 and abs(math.log(amplitude / 0.5)) < 0.3
    with pytest.raises(InputError, match="signal_psd"):
        wiener_fast(g, op2, signal_psd=torch.ones(4, 4))
