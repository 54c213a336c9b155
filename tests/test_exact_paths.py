"""The networks' Tikhonov parts follow the operator's exact path (issue 14, item 1): untrained,
each network with a Tikhonov part equals ``tikhonov(y, op, lam, reg="gradient")`` on the
protocol's grids (256², CT 128²); the preconditioned CG reaches its tolerance in far fewer
iterations than plain CG on CT; gradients still flow through the solves."""

from __future__ import annotations

import pytest
import torch

from physinv.experiments.protocol import get_task
from physinv.nets import DecomposedNet, TikhonovResidual, UnrolledHQS, WaveletNet
from physinv.operators import Dense, Radon, SuperResolution, psf
from physinv.operators.normal import NormalApproximation
from physinv.solvers import tikhonov
from physinv.solvers.pcg import NormalSolver, tikhonov_power

# λ / ‖H‖² per task (from the LAM_GRID decades; the comparison holds for any λ)
TASKS = {"deblur_gauss": 3e-2, "sr_x2": 1e-2, "ct_sparse": 1e-2}
SIZES = {"deblur_gauss": 256, "sr_x2": 256, "ct_sparse": 128}

NETWORKS = {
    "decomposed": lambda op, lam: DecomposedNet(op, lam=lam),
    "decomposed-cnn": lambda op, lam: DecomposedNet(op, lam=lam, part="cnn", width=8,
                                                    depth=3),
    "tikhonov-residual": lambda op, lam: TikhonovResidual(op, lam=lam, width=8, depth=3),
    "wavelet": lambda op, lam: WaveletNet(op, lam=lam),
    "unrolled-hqs": lambda op, lam: UnrolledHQS(op, n_layers=2, mu=10 * lam, width=8,
                                                depth=3, lam=lam),
}


def _image(n: int) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, n, dtype=torch.float64),
                            torch.linspace(-1, 1, n, dtype=torch.float64), indexing="ij")
    disk = ((xx**2 + yy**2) < 0.5).to(torch.float64)
    return (0.3 + 0.5 * disk + 0.2 * torch.sin(7 * xx) * torch.cos(5 * yy))[None, None]


@pytest.fixture(scope="module", params=list(TASKS))
def problem(request):
    task = get_task(request.param)
    n = SIZES[request.param]
    op = task.operator((n, n))
    y = task.measure(_image(n), op, seed=0)
    lam = TASKS[request.param] * op.norm() ** 2
    reference = tikhonov(y, op, lam=lam, reg="gradient")
    assert reference.converged  # the reference itself is a converged solve
    return request.param, op, y, lam, reference.x


@pytest.mark.parametrize("name", list(NETWORKS))
def test_an_untrained_network_is_the_tikhonov_solution(problem, name, rel):
    task, op, y, lam, expected = problem
    net = NETWORKS[name](op, lam)
    with torch.no_grad():
        assert rel(net(y), expected) < 1e-4, (task, name)


@pytest.fixture(scope="module")
def ct():
    op = get_task("ct_sparse").operator((128, 128))
    y = get_task("ct_sparse").measure(_image(128), op, seed=0)
    return op, op.adjoint(y)


@pytest.mark.parametrize("ratio", [1e-3, 1e-2])
def test_the_preconditioned_cg_needs_far_fewer_iterations_on_ct(ct, ratio, rel):
    op, b = ct
    power = tikhonov_power(ratio * op.norm() ** 2)
    pcg, plain = NormalSolver(op, tol=1e-6), NormalSolver(op, tol=1e-6, precondition=False)
    x_pcg, x_plain = pcg.solve(b, power), plain.solve(b, power)
    assert pcg.converged and plain.converged
    assert 4 * pcg.n_iter < plain.n_iter, (pcg.n_iter, plain.n_iter)
    exact = NormalSolver(op, tol=1e-11).solve(b, power)  # and it is at least as accurate
    assert rel(x_pcg, exact) <= rel(x_plain, exact)


def test_the_convolution_approximation_of_the_ct_normal_operator(ct, rel):
    op, b = ct
    x = torch.rand(2, 1, 128, 128, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    approx = NormalApproximation(op)
    assert approx.padded_shape == (256, 256)
    assert rel(approx(x), op.normal(x)) < 0.02


def test_the_pcg_path_agrees_with_the_direct_solve_of_the_same_matrix(rel):
    small = Radon((20, 20), torch.arange(0, 180, 12.0))
    dense = Dense(small.to_matrix(), (20, 20), small.out_shape)
    b = torch.rand(2, 1, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    power = tikhonov_power(0.5, mu=0.1)
    iterative, direct = NormalSolver(small), NormalSolver(dense)
    assert (iterative.path, direct.path) == ("pcg", "dense")
    assert rel(iterative.solve(b, power), direct.solve(b, power)) < 1e-7


def _small_operators():
    return {"sr": SuperResolution(psf.gaussian(1.0, 5), (16, 16), 2),
            "ct": Radon((16, 16), torch.arange(0, 180, 15.0))}


@pytest.mark.parametrize("kind", ["sr", "ct"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_gradients_flow_through_the_exact_solves(kind, name):
    op = _small_operators()[kind]
    gen = torch.Generator().manual_seed(2)
    y = op(torch.rand(2, 1, 16, 16, dtype=torch.float64, generator=gen))
    net = NETWORKS[name](op, 0.05 * op.norm() ** 2)
    target = torch.rand(2, 1, 16, 16, dtype=torch.float64, generator=gen)
    ((net(y) - target) ** 2).sum().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads.values()), name
    assert any(float(g.abs().sum()) > 0 for g in grads.values()), name
    if name == "decomposed":  # the profile only acts inside the solve
        assert float(grads["profile.values"].abs().sum()) > 0
    if name == "unrolled-hqs":  # μ_k and the prox act before data-consistency solves
        assert float(grads["log_mu"][1:].abs().min()) > 0
        last = [g for n, g in grads.items() if n.startswith("prox")][-1]
        assert float(last.abs().sum()) > 0


@pytest.mark.parametrize("name", ["decomposed", "unrolled-hqs"])
def test_the_implicit_gradient_of_the_cg_path_is_the_direct_solve_s(name, rel):
    small = Radon((16, 16), torch.arange(0, 180, 15.0))
    dense = Dense(small.to_matrix(), (16, 16), small.out_shape)
    gen = torch.Generator().manual_seed(3)
    y = small(torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=gen))
    grads = []
    for op in (small, dense):
        torch.manual_seed(0)
        net = NETWORKS[name](op, 0.05 * small.norm() ** 2)
        with torch.no_grad():
            for p in net.parameters():  # away from the zero initialisation
                p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(4),
                                         dtype=p.dtype))
        (net(y) ** 2).sum().backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
    assert rel(grads[0], grads[1]) < 1e-5


@pytest.mark.parametrize("name", ["svd", "fourier", "analytic", "decomposed", "wavelet"])
def test_an_untrained_network_moved_to_the_test_grid_is_still_tikhonov(name, rel):
    # built on a 128² training grid, moved to the 256² test grid (``for_operator``): the
    # learned correction of a per-frequency table moves, not Λ itself (whose 1/(|ĥ|² + λ|d̂|²)
    # kernel is longer than the small grid)
    from physinv.nets.registry import build

    task = get_task("deblur_gauss")
    small, large = task.operator((128, 128)), task.operator((256, 256))
    lam = TASKS["deblur_gauss"] * 1e-1 * large.norm() ** 2
    y = task.measure(_image(256), large, seed=0)
    net = build(name, small, lam).for_operator(large)
    with torch.no_grad():
        out = net(y)
    assert rel(out, tikhonov(y, large, lam=lam, reg="gradient").x) < 1e-4, name
