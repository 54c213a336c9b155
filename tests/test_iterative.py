"""CG, Landweber (semi-convergence), ISTA (monotone objective), FISTA (speed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.data import patches
from physinv.errors import InputError
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Identity, psf
from physinv.solvers import cg, fista, ista, landweber, soft_threshold, solve_spd


def test_cg_least_squares_matches_lstsq():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 25))
    op = Dense(a, (5, 5))
    y = torch.from_numpy(rng.standard_normal((1, 1, 40, 1)))
    r = cg(y, op, n_iter=100, tol=1e-12)
    expected = np.linalg.lstsq(a, y.numpy().reshape(-1), rcond=None)[0]
    assert np.allclose(r.x.numpy().reshape(-1), expected, atol=1e-8)
    assert r.converged and r.stop_reason == "tolerance"


def test_preconditioned_cg_solves_the_same_system_in_fewer_iterations():
    rng = np.random.default_rng(1)
    scales = torch.from_numpy(np.logspace(-3, 0, 30))  # ill-conditioned diagonal + coupling
    q = torch.from_numpy(np.linalg.qr(rng.standard_normal((30, 30)))[0])
    a = torch.diag(scales) + 1e-4 * q @ torch.diag(scales) @ q.T
    b = torch.from_numpy(rng.standard_normal((1, 1, 30)))

    def apply(v):
        return v @ a.T

    plain = solve_spd(apply, b, n_iter=500, tol=1e-10)
    jacobi = solve_spd(apply, b, n_iter=500, tol=1e-10, precond=lambda r: r / a.diagonal())
    exact = torch.linalg.solve(a, b.reshape(-1, 1)).reshape(b.shape)
    assert plain[2] and jacobi[2]
    assert jacobi[1] < plain[1] / 2, (jacobi[1], plain[1])
    assert torch.allclose(jacobi[0], exact, rtol=1e-6, atol=1e-9)
    # with the exact inverse as preconditioner: one iteration
    inverse = torch.linalg.inv(a)
    assert solve_spd(apply, b, tol=1e-10, precond=lambda r: r @ inverse.T)[1] == 1


def test_landweber_one_step_and_contract():
    op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    y = op(torch.rand(1, 1, 16, 16, dtype=torch.float64))
    r = landweber(y, op, n_iter=1, tol=None)
    step = 1 / op.norm() ** 2
    assert torch.allclose(r.x, step * op.adjoint(y))
    r5 = landweber(y, op, n_iter=5, tol=None)
    assert r5.n_iter == 5 and r5.stop_reason == "max_iter"


def test_landweber_semiconverges_on_noisy_data():
    x = patches.training_crops(1)[..., :64, :64].double()
    op = Convolution(psf.gaussian(2.0, 15), (64, 64))
    y = simulate(x, op, Gaussian(0.05), seed=0)
    errors = []
    landweber(y, op, n_iter=1500, tol=None,
              callback=lambda k, xk: errors.append(float(((xk - x) ** 2).mean()) ** 0.5))
    best = int(np.argmin(errors))
    assert 5 < best < len(errors) - 100  # an interior minimum …
    assert errors[-1] > errors[best] * 1.05  # … after which the noise takes over


def test_landweber_positivity_and_bounds():
    op = Convolution(psf.gaussian(1.5, 9), (32, 32))
    y = simulate(torch.rand(1, 1, 32, 32, dtype=torch.float64), op, Gaussian(0.1), seed=2)
    r = landweber(y, op, n_iter=30, bounds=(0.0, None))
    assert float(r.x.min()) >= 0
    r = landweber(y, op, n_iter=30, bounds=(0.2, 0.7))
    assert 0.2 <= float(r.x.min()) and float(r.x.max()) <= 0.7


def test_divergent_step_is_stopped_and_named():
    op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    y = op(torch.rand(1, 1, 16, 16, dtype=torch.float64))
    with pytest.raises(InputError, match="convergence bound 2"):
        landweber(y, op, n_iter=500, step=5.0, tol=None)
    with pytest.raises(InputError, match="step"):
        ista(y, op, lam=0.01, n_iter=500, step=5.0, tol=None)


@pytest.fixture(scope="module")
def sparse_problem():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 1, 48, 48, dtype=torch.float64)
    idx = torch.randint(0, 48 * 48, (40,), generator=g)
    x.view(-1)[idx] = torch.rand(40, generator=g, dtype=torch.float64) + 0.5
    op = Convolution(psf.gaussian(1.5, 11), (48, 48))
    return x, op, simulate(x, op, Gaussian(0.01), seed=1)


@pytest.mark.parametrize("basis", ["pixel", "wavelet"])
def test_ista_objective_never_increases(sparse_problem, basis):
    _, op, y = sparse_problem
    r = ista(y, op, lam=0.01, n_iter=150, tol=None, basis=basis)
    obj = np.array(r.history["objective"])
    assert np.all(np.diff(obj) <= 1e-12 * np.abs(obj[:-1]))


def test_fista_reaches_ista_200_in_under_100(sparse_problem):
    _, op, y = sparse_problem
    target = ista(y, op, lam=0.01, n_iter=200, tol=None).history["objective"][-1]
    fast = fista(y, op, lam=0.01, n_iter=100, tol=None).history["objective"]
    reached = next(i + 1 for i, v in enumerate(fast) if v <= target)
    assert reached < 100


def test_soft_threshold():
    v = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.equal(soft_threshold(v, 1.0), torch.tensor([-1.0, 0.0, 0.0, 0.0, 0.5]))


def test_bad_input():
    op = Identity((8, 8))
    y = torch.zeros(1, 1, 8, 8)
    with pytest.raises(InputError, match="lam"):
        ista(y, op)
    with pytest.raises(InputError, match="lam: got -1"):
        landweber(y, op, lam=-1)
    with pytest.raises(InputError, match="tol"):
        landweber(y, op, tol=0)
    with pytest.raises(InputError, match="tol"):
        cg(y, op, tol=-1e-3)
    with pytest.raises(InputError, match="basis"):
        ista(y, op, lam=0.1, basis="curvelet")
    with pytest.raises(InputError, match="bounds"):
        landweber(y, op, bounds=(1.0, 0.0))
