"""Learned ridge regularisers (CRR / WCRR) and the variational solver they use."""

from __future__ import annotations

import math

import pytest
import torch

from physinv.errors import InputError
from physinv.nets.registry import NETWORKS, build
from physinv.nets.ridge import LinearSpline, RidgeNet, RidgeRegulariser, _clipped_potential
from physinv.noise import GaussianRange, make_generator
from physinv.operators import Convolution, Identity, psf
from physinv.solvers import tikhonov
from physinv.solvers.variational import implicit_minimiser, minimise, minimise_lbfgs
from physinv.train import load
from physinv.train.regulariser import denoising_data, for_task, train_regulariser


def _image(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(1, 1, n + 4, n + 4, generator=g), 5, 1)
    return x.to(torch.float64)


def _scramble(reg: RidgeRegulariser, seed=1):
    """Splines far outside their constraints (raw values), random filters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in reg.parameters():
            p.copy_(3 * torch.randn(p.shape, generator=g, dtype=p.dtype) - 1)


@pytest.mark.parametrize("convex", [True, False])
def test_gradient_is_the_derivative_of_the_value(convex):
    reg = RidgeRegulariser(convex=convex).double()
    _scramble(reg)
    x = _image(20).requires_grad_()
    (auto,) = torch.autograd.grad(reg.value(x).sum(), x)
    assert torch.allclose(auto, reg.grad(x.detach()), rtol=1e-9, atol=1e-12)


def test_w_transpose_is_the_adjoint_and_constants_have_no_response():
    reg = RidgeRegulariser().double()
    _scramble(reg)
    k = reg.kernel()
    x = torch.randn(2, 1, 19, 23, dtype=torch.float64)
    z = torch.randn(2, 32, 19, 23, dtype=torch.float64)
    lhs = (reg.apply_w(x, k) * z).sum()
    rhs = (x * reg.apply_wt(z, k, x.shape)).sum()
    assert abs(float(lhs - rhs)) < 1e-10 * abs(float(lhs))
    assert float(reg.apply_w(torch.full((1, 1, 16, 16), 0.7, dtype=torch.float64)).abs().max()) \
        < 1e-12
    # float32 takes the depthwise path: the same Wᵀz as float64's transposed convolution
    fast = reg.float().apply_wt(z.float(), k.float(), x.shape)
    exact = reg.double().apply_wt(z, k, x.shape)
    assert float((fast.double() - exact).abs().max() / exact.abs().max()) < 1e-5


def test_filter_bank_has_unit_norm():
    reg = RidgeRegulariser().double()
    _scramble(reg)
    k = reg.kernel()
    z = torch.randn(1, 1, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for _ in range(100):  # power iteration on WᵀW
        z = reg.apply_wt(reg.apply_w(z, k), k, z.shape)
        z = z / z.norm()
    norm2 = float(reg.apply_w(z, k).norm() ** 2)
    assert 0.8 < norm2 <= 1.0 + 1e-6


@pytest.mark.parametrize("convex", [True, False])
def test_constraints_hold_after_every_optimiser_step(convex):
    net = RidgeNet(Identity((24, 24)), convex=convex, train_steps=3)
    opt = torch.optim.Adam(net.parameters(), lr=0.5)  # large steps push the raw values out
    x = _image(24).float()
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    splines = [net.reg.phi_plus] + ([] if convex else [net.reg.phi_minus])
    moved = False
    for _ in range(5):
        loss = ((net(y) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        for spline in splines:
            raw = spline.raw.detach()
            moved |= bool((raw < 0).any() or (raw > 1).any())
            s = spline.slopes()
            assert float(s.min()) >= 0 and float(s.max()) <= 1
            t = torch.linspace(-2, 2, 401).view(1, 1, -1, 1).expand(1, s.shape[0], -1, 1)
            phi = spline(t)[0, :, :, 0]
            assert bool((phi[:, 1:] - phi[:, :-1] >= -1e-6).all())  # φ± non-decreasing
    assert moved  # the raw parameters did leave [0, 1]: the clamp is what holds


def test_spline_potential_integrates_the_spline():
    spline = LinearSpline(3, knots=11, radius=1.0)
    with torch.no_grad():
        spline.raw.uniform_(0, 1, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(-1.5, 1.5, 3001, dtype=torch.float64).view(1, 1, -1, 1).expand(1, 3, -1, 1)
    phi = spline(t)[0, :, :, 0]
    psi = spline.potential(t)[0, :, :, 0]
    dt = 3.0 / 3000
    numeric = torch.cumsum((phi[:, 1:] + phi[:, :-1]) / 2 * dt, 1)
    numeric = numeric - numeric[:, 1499: 1500]  # ψ(0) = 0
    assert torch.allclose(psi[:, 1:], numeric, atol=1e-6)
    assert float(spline(torch.zeros(1, 3, 1, 1)).abs().max()) == 0.0


def _deblur_problem(n=32):
    op = Convolution(psf.gaussian(1.0, 7), (n, n))
    x = _image(n)
    y = op(x) + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4),
                                   dtype=torch.float64)
    return op, x, y


def _objective(net, y, op):
    lam, mu = net.scales(net.noise_level(y))

    def f(x):
        return 0.5 * ((op(x) - y) ** 2).sum() + float(lam / mu) * net.reg.value(float(mu) * x).sum()

    def grad(x):
        return op.adjoint(op(x) - y) + float(lam) * net.reg.grad(float(mu) * x)

    lip = 1.0 + float(lam * mu) * net.reg.lipschitz()
    return f, grad, lip


def test_convex_regulariser_has_one_minimiser_two_starts_agree():
    op = Convolution(psf.gaussian(0.5, 5), (20, 20))
    x = _image(20)
    y = op(x) + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4),
                                   dtype=torch.float64)
    net = RidgeNet(op, sigma=0.01).double().eval()
    _scramble(net.reg)
    f, grad, lip = _objective(net, y, op)
    a = minimise(grad, lip, y, tol=1e-9, max_iter=20000)
    b = minimise(grad, lip, torch.rand(y.shape, dtype=torch.float64), tol=1e-9, max_iter=20000)
    assert a.converged and b.converged
    assert float((a.x - b.x).norm() / a.x.norm()) < 1e-4
    gnorm = float(grad(a.x).norm() / grad(y).norm())
    assert gnorm < 1e-5  # the minimiser: the gradient vanishes
    assert float(f(a.x)) <= float(f(y)) and float(f(a.x)) <= float(f(x))


def test_lbfgs_reaches_the_minimiser_fista_finds_and_the_net_uses_it():
    op = Convolution(psf.gaussian(0.5, 5), (20, 20))
    x = _image(20)
    y = op(x) + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4),
                                   dtype=torch.float64)
    net = RidgeNet(op, sigma=0.01, tol=1e-8, max_iter=5000).double().eval()
    _scramble(net.reg)
    f, grad, lip = _objective(net, y, op)

    def value_and_grad(z):
        return f(z).reshape(1), grad(z)

    ref = minimise(grad, lip, y, tol=1e-9, max_iter=20000)
    r = minimise_lbfgs(value_and_grad, lip, y, tol=1e-8, max_iter=5000)
    assert r.converged and r.stop_reason == "tolerance"
    assert float(grad(r.x).norm() / (lip * r.x.norm())) <= 1e-8
    assert float((r.x - ref.x).norm() / ref.x.norm()) < 1e-5
    assert r.n_iter < ref.n_iter  # fewer gradients than FISTA for the same minimiser
    with torch.no_grad():
        out = net(y)  # the unconstrained evaluation solve is this L-BFGS
    assert net.last.converged and float((out - ref.x).norm() / ref.x.norm()) < 1e-5


def test_lbfgs_cap_keeps_the_least_gradient_point_and_bad_input_is_refused():
    target = torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64)
    scale = torch.tensor([[1.0, 10.0, 100.0]], dtype=torch.float64)

    def value_and_grad(z):
        return (0.5 * scale * (z - target) ** 2).sum(1), scale * (z - target)

    r = minimise_lbfgs(value_and_grad, 100.0, torch.zeros(1, 3, dtype=torch.float64),
                       tol=1e-12, max_iter=3)
    assert r.n_iter == 3 and not r.converged and r.stop_reason == "max_iter"
    assert r.params["grad_norm"] == min(r.history["grad_norm"])
    done = minimise_lbfgs(value_and_grad, 100.0, torch.zeros(1, 3, dtype=torch.float64),
                          tol=1e-10, max_iter=200)
    assert done.converged and torch.allclose(done.x, target, atol=1e-6)
    for name, kwargs in (("lipschitz", {"lipschitz": 0.0}), ("tol", {"tol": 0.0}),
                         ("max_iter", {"max_iter": 0})):
        args = {"lipschitz": 1.0, **kwargs}
        lip = args.pop("lipschitz")
        with pytest.raises(InputError, match=name):
            minimise_lbfgs(value_and_grad, lip, torch.zeros(1, 3), **args)


def test_objective_decreases_along_the_solve():
    op, _, y = _deblur_problem()
    net = RidgeNet(op, sigma=0.01).double().eval()
    f, grad, lip = _objective(net, y, op)
    values = [float(f(minimise(grad, lip, y, tol=0.0, max_iter=k).x)) for k in (1, 5, 20, 80)]
    assert all(b <= a + 1e-9 * abs(a) for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < values[0]


def test_zero_splines_reproduce_least_squares():
    op = Convolution(psf.gaussian(0.5, 5), (32, 32))  # well conditioned: LS is a fair target
    y = op(_image(32)) + 0.01 * torch.randn(1, 1, 32, 32, dtype=torch.float64,
                                            generator=torch.Generator().manual_seed(4))
    net = RidgeNet(op, sigma=0.01, tol=1e-10, max_iter=20000).double().eval()
    with torch.no_grad():
        net.reg.phi_plus.raw.zero_()
    with torch.no_grad():
        x_hat = net(y)
    exact = tikhonov(y, op, lam=1e-14, reg="identity").x  # plain least squares, Fourier path
    assert float((x_hat - exact).norm() / exact.norm()) < 1e-4


def test_denoiser_without_regularisation_is_the_identity():
    y = _image(24) + 0.1
    result = minimise(lambda x: x - y, 1.0, torch.zeros_like(y), tol=1e-12)
    assert torch.equal(result.x, y)
    net = RidgeNet(Identity((24, 24)), sigma=0.1).double().eval()
    with torch.no_grad():
        net.reg.phi_plus.raw.zero_()  # R = 0
        assert torch.allclose(net(y), y, rtol=0, atol=1e-12)


def test_solver_cap_warns_and_keeps_the_last_iterate():
    op, _, y = _deblur_problem()
    net = RidgeNet(op, sigma=0.01, max_iter=2).double().eval()
    with pytest.warns(RuntimeWarning, match="max_iter=2"):
        with torch.no_grad():
            out = net(y)
    assert net.last.n_iter == 2 and not net.last.converged
    assert torch.isfinite(out).all()


def test_bad_inputs_are_refused():
    op = Identity((16, 16))
    for name in ("lam_scale", "mu_scale", "sigma", "scale"):
        for bad in (0.0, -1.0):
            with pytest.raises(InputError, match=name):
                RidgeNet(op, **{name: bad})
    with pytest.raises(InputError, match="lipschitz"):
        minimise(lambda x: x, 0.0, torch.zeros(1, 2))
    net = RidgeNet(op).eval()
    kelvin = 300 + torch.rand(1, 1, 16, 16)
    with pytest.raises(InputError, match="scale"):
        net(kelvin)
    with torch.no_grad():  # in its own unit the same data is accepted
        out = net.for_operator(op, scale=400.0).eval()(kelvin)
    assert torch.isfinite(out).all()
    with pytest.raises(InputError, match="hi"):
        GaussianRange(0.2, 0.1)
    with pytest.raises(InputError, match="images"):
        denoising_data(torch.rand(4, 16, 16))
    with pytest.raises(InputError, match="regulariser"):
        train_regulariser("unet", torch.rand(4, 1, 48, 48))


def test_implicit_gradient_of_a_quadratic_minimiser_is_exact():
    # F(x) = ½xᵀAx − bᵀx: x* = A⁻¹b, so dℓ/db = A⁻¹∇ℓ(x*) (A symmetric positive definite)
    gen = torch.Generator().manual_seed(0)
    m = torch.randn(6, 6, generator=gen, dtype=torch.float64)
    a = m @ m.T + 0.5 * torch.eye(6, dtype=torch.float64)
    b = torch.randn(2, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    x_star = torch.linalg.solve(a, b.detach().T).T
    x = implicit_minimiser(lambda z: z @ a - b, x_star, float(torch.linalg.eigvalsh(a)[-1]),
                           tol=1e-12)
    target = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    ((x - target) ** 2).sum().backward()
    exact = torch.linalg.solve(a, 2 * (x_star - target).T).T
    assert torch.allclose(x.detach(), x_star, atol=1e-12)
    assert (b.grad - exact).norm() < 1e-8 * exact.norm()


def test_deep_equilibrium_gradient_matches_finite_differences():
    # the trained denoiser's gradient is the derivative of the converged solve's loss
    op = Identity((12, 12))
    net = build("crr", op).for_operator(op, sigma=0.1, tol=1e-12, max_iter=20000).double()
    x = _image(12).double()
    y = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1),
                              dtype=torch.float64)

    def loss():
        return ((net(y) - x) ** 2).sum()

    net.train()
    loss().backward()
    grad = net.scaling.grad.clone()
    net.eval()
    with torch.no_grad():
        for i in (0, 2):  # log λ and log μ offsets
            h = 1e-3  # central differences: O(h²) error; the solves' error ≪ 2h·|grad|
            net.scaling[i] += h
            up = float(loss())
            net.scaling[i] -= 2 * h
            down = float(loss())
            net.scaling[i] += h
            # the Hessian solve of the backward stops at a relative residual of 1e-3
            assert abs((up - down) / (2 * h) - float(grad[i])) < 1e-2 * abs(float(grad[i]))


def test_gaussian_range_draws_levels_in_the_range():
    model = GaussianRange(0.01, 0.2)
    gen = make_generator(0)
    sigmas = [model.draw_sigma(gen) for _ in range(200)]
    assert 0.01 <= min(sigmas) and max(sigmas) <= 0.2
    assert min(sigmas) < 0.02 and max(sigmas) > 0.1
    assert model.spec() == "gaussian-range:lo=0.01,hi=0.2"


def test_wcrr_denoising_objective_stays_strictly_convex_at_any_learned_scale():
    """A most concave WCRR (φ₋ = identity, φ₊ Huber) at large λ, μ: ∇²F = I − ρWᵀW/‖W‖²
    ⪰ (1 − ρ)I for H = I away from the Huber corner, measured along W's top singular vectors
    (mirrored borders: ‖W‖² ≈ 1.18, not the circular 1) and a random direction, by differences
    of ∇F."""
    from physinv.nets.ridge import WEAK_CONVEXITY

    op = Identity((16, 16))
    net = RidgeNet(op, convex=False, sigma=0.05).double()
    with torch.no_grad():  # φ = λ·clip(t, ±0.02) − w₋t: slope −w₋ wherever 0.02 < |t| < 0.02λ/w₋
        net.reg.phi_minus.raw.fill_(1.0)
        net.scaling.copy_(torch.tensor([3.0, 0.0, math.log(100.0), 0.0]))  # λ = 20, μ = 100
    gen = torch.Generator().manual_seed(0)
    y = torch.rand(3, 1, 16, 16, generator=gen, dtype=torch.float64)
    grad, _, lip = net.problem(y)
    k = net.reg.kernel()
    d = torch.randn(3, 1, 16, 16, generator=gen, dtype=torch.float64)
    for _ in range(300):  # the top singular vectors of W (mirrored borders): ∇²F's least curvature
        d = net.reg.apply_wt(net.reg.apply_w(d, k), k, d.shape).detach()
        d = d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    for direction in (d, torch.randn(3, 1, 16, 16, generator=gen, dtype=torch.float64)):
        x = 0.2 * torch.rand(3, 1, 16, 16, generator=gen, dtype=torch.float64)
        curv = ((grad(x + 1e-4 * direction) - grad(x)) * direction).flatten(1).sum(1) / 1e-4
        ratio = curv.detach() / direction.flatten(1).pow(2).sum(1)
        assert float(ratio.min()) >= 1 - WEAK_CONVEXITY - 1e-9
        assert float(ratio.max()) <= lip
    # and the implicit gradient exists (conjugate gradients meet no negative curvature)
    x_star = minimise(grad, lip, y, tol=1e-10, max_iter=5000).x
    out = implicit_minimiser(grad, x_star, lip)
    out.sum().backward()
    assert torch.isfinite(net.scaling.grad).all() and float(net.scaling.grad.abs().sum()) > 0


def test_wcrr_potential_is_the_exact_integral_of_its_sign_clipped_activation():
    """ψ = ∫₀ᵗ φ̃ (trapezoid check on a fine grid, and autograd), ψ ≥ 0, t·φ̃(t) ≥ 0, for
    random splines (slopes clamped to [0, 1]) and per-image weights."""
    reg = RidgeRegulariser(convex=False).double()
    with torch.no_grad():
        reg.phi_plus.raw.uniform_(-0.3, 1.2, generator=torch.Generator().manual_seed(1))
        reg.phi_minus.raw.uniform_(-0.3, 1.2, generator=torch.Generator().manual_seed(2))
    weights = (torch.tensor([1.0, 0.3], dtype=torch.float64).view(2, 1, 1, 1),
               torch.tensor([0.5, 2.0], dtype=torch.float64).view(2, 1, 1, 1))
    t = torch.linspace(-1.6, 1.6, 6401, dtype=torch.float64).view(1, 1, -1, 1)
    t = t.expand(2, 32, -1, 1).contiguous()
    phi = reg.activation(t, weights)
    psi = _clipped_potential(reg.phi_plus, reg.phi_minus, *weights, t)
    numeric = torch.cumsum((phi[:, :, 1:] + phi[:, :, :-1]) / 2 * (3.2 / 6400), 2)
    numeric = torch.cat([torch.zeros_like(numeric[:, :, :1]), numeric], 2)
    numeric = numeric - numeric[:, :, 3200:3201]  # ψ(0) = 0
    assert torch.allclose(psi, numeric, atol=1e-6)
    assert float(psi.min()) > -1e-12 and float((t * phi).min()) >= 0
    assert float(phi[0].abs().max()) > 0 and bool((phi == 0).any())  # the clip is active
    tt = (torch.rand(2, 32, 5, 5, dtype=torch.float64) * 3 - 1.5).requires_grad_()
    (auto,) = torch.autograd.grad(
        _clipped_potential(reg.phi_plus, reg.phi_minus, *weights, tt).sum(), tt)
    assert torch.allclose(auto, reg.activation(tt.detach(), weights), atol=1e-12)


def test_implicit_gradient_is_nan_on_negative_curvature():
    theta = torch.tensor(1.0, requires_grad=True)
    x_star = torch.zeros(1, 2, dtype=torch.float64)

    def grad(x):  # F = ½θ(x₀² − x₁²): a saddle, ∇²F indefinite
        return theta * x * torch.tensor([1.0, -1.0], dtype=torch.float64)

    out = implicit_minimiser(grad, x_star, 1.0)
    out.sum().backward()
    assert torch.isnan(theta.grad)


def test_registry_builds_both_on_any_operator():
    op = Convolution(psf.gaussian(1.0, 7), (24, 24))
    assert NETWORKS["crr"].family == NETWORKS["wcrr"].family == "regulariser"
    assert build("crr", op).config["convex"] and not build("wcrr", op).config["convex"]
    # 8·7² + 32·8·7² filter weights + 32 splines of 100 slopes + 4 scaling parameters
    assert build("crr", op).trainable_parameters() == 8 * 49 + 32 * 8 * 49 + 32 * 100 + 4


def test_train_save_load_and_apply_to_another_operator(tmp_path):
    crops = _image(48).float().repeat(4, 1, 1, 1)
    net, result = train_regulariser("wcrr", crops, out=tmp_path / "run", epochs=1,
                                    samples_per_epoch=8, batch_size=4)
    assert result.summary()["epochs_run"] == 1
    loaded = load(tmp_path / "run")
    for (name, a), (_, b) in zip(net.named_parameters(), loaded.named_parameters(), strict=True):
        assert torch.equal(a.detach().cpu(), b.detach().cpu()), name
    op, x, y = _deblur_problem(32)
    solver = for_task(loaded, op, sigma=0.01)
    with torch.no_grad():
        out = solver(y.float())
    assert out.shape == x.shape and solver.last.converged
    assert loaded.config["data_range"] == pytest.approx([float(crops.min()), float(crops.max())])


def test_cli_trains_a_regulariser_and_applies_it_to_another_operator(tmp_path, capsys):
    import numpy as np

    from physinv.cli import main

    run = tmp_path / "run"
    assert main(["train", "--net", "crr", "--task", "denoise", "--n-train", "2", "--epochs",
                 "1", "--samples-per-epoch", "4", "--batch-size", "4", "--out", str(run),
                 "--device", "cpu"]) == 0
    op, _, y = _deblur_problem(48)
    np.save(tmp_path / "y.npy", y[0, 0].numpy())
    spec = "blur:gaussian:sigma=1,size=7"
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec, "--net", str(run),
                 "-o", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (48, 48)
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec, "--net", str(run),
                 "--lam", "0", "-o", str(tmp_path / "z.npy")]) == 2
    assert not (tmp_path / "z.npy").exists()
    assert "s_λ > 0" in capsys.readouterr().err
    # the known noise level: the solve uses it (a 10× larger σ regularises more)
    for name, sigma in (("k1.npy", "0.01"), ("k2.npy", "0.1")):
        assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec, "--net", str(run),
                     "--noise", f"gaussian:sigma={sigma}", "-o", str(tmp_path / name)]) == 0
    k1, k2 = np.load(tmp_path / "k1.npy"), np.load(tmp_path / "k2.npy")
    assert np.abs(np.diff(k2, axis=0)).mean() < np.abs(np.diff(k1, axis=0)).mean()
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec, "--net", str(run),
                 "--noise", "poisson:photons=100", "-o", str(tmp_path / "p.npy")]) == 2
    assert "gaussian:sigma=S > 0" in capsys.readouterr().err and not (tmp_path / "p.npy").exists()


def test_tune_scales_refines_around_the_coarse_best_and_never_scores_lower():
    from physinv.train.regulariser import REFINE_FACTORS, tune_scales

    op, x, y = _deblur_problem(24)
    net = build("crr", Identity((24, 24)))
    pairs = [(x.float(), y.float(), op)]
    grid = dict(lam_factors=(0.25, 4.0), mu_factors=(1.0, 16.0))
    coarse, coarse_score = tune_scales(net, pairs, sigma=0.01, refine=(), **grid)
    (ls, ms), score = tune_scales(net, pairs, sigma=0.01, **grid)
    assert coarse[0] in grid["lam_factors"] and coarse[1] in grid["mu_factors"]
    assert score >= coarse_score
    # the choice is the coarse best or one of its neighbours on the refinement lattice
    assert any(ls == pytest.approx(coarse[0] * a) for a in REFINE_FACTORS)
    assert any(ms == pytest.approx(coarse[1] * b) for b in REFINE_FACTORS)


def test_fine_tune_on_a_task_keeps_the_start_if_nothing_better_and_moves_to_any_grid(tmp_path):
    from physinv.noise import Gaussian
    from physinv.train.data import Measurements
    from physinv.train.regulariser import fine_tune

    crops = torch.cat([_image(48, seed=s) for s in range(4)]).float()
    net = build("crr", Identity((24, 24)))

    def blur(shape):
        return Convolution(psf.gaussian(1.0, 7), tuple(shape))

    data = Measurements(crops, blur((48, 48)), Gaussian(0.02), patch=24, operator_for=blur)
    before = [p.detach().clone() for p in net.parameters()]
    tuned, result = fine_tune(net, data, lam_scale=0.5, mu_scale=2.0, sigma=0.02,
                              out=tmp_path / "ft", epochs=1, samples_per_epoch=4,
                              batch_size=2)
    start = result.history[0]["val"]
    assert result.best_score >= start  # the best weights, the start included
    assert tuned.op.in_shape == (24, 24) and tuned.config["lam_scale"] == 0.5
    assert len(result.history) == 2 and math.isfinite(result.history[1]["train_loss"])
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, net.parameters(), strict=True))
    loaded = load(tmp_path / "ft", op=blur((24, 24)))
    op, x, y = _deblur_problem(32)
    with torch.no_grad():
        out = for_task(loaded, op, sigma=0.01)(y.float())
    assert out.shape == x.shape and torch.isfinite(out).all()
    with pytest.raises(InputError, match="data"):
        fine_tune(net, [(x, y, op)])


def test_spline_fast_path_matches_the_knot_formula():
    """φ and ψ from one per-channel gather equal v_k + s_k d and p_k + v_k d + ½ s_k d²
    written out from the knots, inside, at and beyond the knots, for a batch of two."""
    spline = LinearSpline(4, knots=21, radius=0.5).double()
    with torch.no_grad():
        spline.raw.uniform_(-0.3, 1.3, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(2)
    t = torch.cat([torch.randn(2, 4, 30, 1, generator=g, dtype=torch.float64) * 0.4,
                   (torch.arange(-12, 13, dtype=torch.float64) * spline.delta)
                   .view(1, 1, -1, 1).expand(2, 4, -1, 1)], 2)
    s, v = spline._tables()
    s, v = s.to(t), v.to(t)
    p = spline._cumulative(s, v)
    k = torch.floor((t + spline.radius) / spline.delta).clamp(0, s.shape[1] - 1).long()
    d = t - (-spline.radius + k.to(t) * spline.delta)
    ch = torch.arange(4).view(1, 4, 1, 1).expand_as(k)
    phi_ref = v[ch, k] + s[ch, k] * d
    psi_ref = p[ch, k] + v[ch, k] * d + 0.5 * s[ch, k] * d * d
    phi, psi = spline.forward_and_potential(t)
    assert torch.allclose(phi, phi_ref, atol=1e-12) and torch.allclose(spline(t), phi_ref,
                                                                       atol=1e-12)
    assert torch.allclose(psi, psi_ref, atol=1e-12)
    assert float(spline(torch.zeros(2, 4, 3, 3)).abs().max()) == 0.0


def test_value_and_grad_matches_value_and_grad_separately():
    reg = RidgeRegulariser(channels=(4, 8), kernel=5, knots=21)
    with torch.no_grad():
        reg.phi_plus.raw.uniform_(0, 1, generator=torch.Generator().manual_seed(3))
    x = torch.rand(2, 1, 24, 24, generator=torch.Generator().manual_seed(4),
                   dtype=torch.float64) * 20
    value, grad = reg.value_and_grad(x, weights=(0.7, 0.0))
    assert torch.allclose(value, reg.value(x, weights=(0.7, 0.0)))
    assert torch.allclose(grad, reg.grad(x, weights=(0.7, 0.0)))


def test_preconditioned_lbfgs_reaches_the_same_minimiser():
    """x = Cz with C = F⁻¹ diag(c) F (RidgeNet.metric): the same minimiser as plain L-BFGS,
    the stopping test still on ∇F(x); c is positive and finite per image."""
    op, x, y = _deblur_problem(32)
    net = RidgeNet(op, sigma=0.01, tol=1e-9, max_iter=5000).double().eval()
    _scramble(net.reg)
    grad, value_and_grad, lip = net.problem(y)
    metric = net.metric(torch.cat([y, y]))
    assert metric.shape == (2, 1, 32, 17)
    assert bool(torch.isfinite(metric).all()) and float(metric.min()) > 0
    plain = minimise_lbfgs(value_and_grad, lip, y, tol=1e-9, max_iter=5000)
    pre = minimise_lbfgs(value_and_grad, lip, y, tol=1e-9, max_iter=5000, metric=metric[:1])
    assert plain.converged and pre.converged
    assert float(grad(pre.x).norm() / (lip * pre.x.norm())) <= 1e-9
    assert float((pre.x - plain.x).norm() / plain.x.norm()) < 1e-6
