"""The structure classes added for the networks issue: untrained = their classical solver
(float64, < 1e-6), a trained network moves to another grid (``for_operator``), the registry
and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.nets import (
    LISTA,
    AnalyticNet,
    DecomposedNet,
    DnCNN,
    FourierNet,
    SVDNet,
    TikhonovResidual,
    UNet,
    UnrolledHQS,
    UnrolledLandweber,
    WaveletNet,
)
from physinv.nets.layers import RadialProfile, resample_table, stationary_normal
from physinv.nets.registry import NETWORKS, available, build
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Dense, Identity, Radon, SuperResolution, psf
from physinv.solvers import tikhonov
from physinv.solvers.spectral import reg_power_half


@pytest.fixture(scope="module")
def blur():
    op = Convolution(psf.gaussian(1.5, 9), (24, 24))
    x = torch.rand(2, 1, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return op, simulate(x, op, Gaussian(0.01), seed=1)


@pytest.mark.parametrize("structure", ["radial", "parametric"])
def test_structured_fourier_net_untrained_is_tikhonov(blur, structure, rel):
    op, y = blur
    net = FourierNet(op, lam=0.02, structure=structure)
    with torch.no_grad():
        assert rel(net(y), tikhonov(y, op, lam=0.02).x) < 1e-10
    assert net.trainable_parameters() == (16 if structure == "radial" else 3)


def test_decomposed_linear_is_tikhonov_for_a_convolution(blur, rel):
    op, y = blur
    with torch.no_grad():
        assert rel(DecomposedNet(op, lam=0.02)(y), tikhonov(y, op, lam=0.02).x) < 1e-10


@pytest.mark.parametrize("cls", [TikhonovResidual, WaveletNet])
def test_tikhonov_then_learned_part_starts_at_tikhonov(blur, cls, rel):
    op, y = blur
    with torch.no_grad():
        assert rel(cls(op, lam=0.02)(y), tikhonov(y, op, lam=0.02).x) < 1e-6


def test_wavelet_net_on_identity_starts_at_the_data():
    y = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(WaveletNet(Identity((32, 32)))(y), y, atol=1e-12)


def test_wavelet_net_shrinks_per_subband():
    y = torch.randn(1, 1, 32, 32, dtype=torch.float64)
    net = WaveletNet(Identity((32, 32)), level=2)
    with torch.no_grad():
        net.threshold[1:] = 1e3  # every detail band killed: only the approximation is left
        keep = (net.transform.subband_index == 0).to(y)
        expected = net.transform.adjoint(net.transform(y) * keep)
        assert torch.allclose(net(y), expected, atol=1e-12)


def test_hqs_untrained_is_iterated_tikhonov(blur, rel):
    op, y = blur
    mu = 0.05
    net = UnrolledHQS(op, n_layers=3, mu=mu)
    conj, power = op.rfft_diagonal(torch.float64)
    back = op.adjoint(y)
    x = torch.fft.irfft2(torch.fft.rfft2(back) / (power + mu), s=op.in_shape)
    for _ in range(3):  # identity prox at init: x ← (H'H + μ)⁻¹(H'g + μx)
        x = torch.fft.irfft2(torch.fft.rfft2(back + mu * x) / (power + mu), s=op.in_shape)
    with torch.no_grad():
        assert rel(net(y), x) < 1e-6


def test_hqs_cg_data_consistency_matches_closed_form():
    op = SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2)
    y = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    net = UnrolledHQS(op, n_layers=1, mu=0.1, cg_steps=200)
    rhs = op.adjoint(y) + 0.1 * torch.rand(1, 1, 16, 16, dtype=torch.float64)
    x = net.data_consistency(rhs, torch.tensor(0.1, dtype=torch.float64), None)
    assert torch.allclose(op.normal(x) + 0.1 * x, rhs, atol=1e-8)


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_hqs_data_consistency_on_ct_solves_to_its_tolerance(lam):
    op = Radon((16, 16), np.arange(0, 180, 15.0))
    net = UnrolledHQS(op, n_layers=1, mu=0.1, lam=lam)
    rhs = torch.rand(2, 1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    x = net.data_consistency(rhs, torch.tensor(0.1, dtype=torch.float64), None)
    grad = torch.fft.irfft2(torch.fft.rfft2(x) * reg_power_half((16, 16), "gradient"), s=(16, 16))
    residual = op.normal(x) + lam * grad + 0.1 * x - rhs
    assert net.solver.path == "pcg" and net.solver.converged
    assert float(residual.norm() / rhs.norm()) < 1e-7


@pytest.mark.parametrize("cls", [UNet, DnCNN])
def test_black_box_starts_at_its_input(cls):
    blur_op = Convolution(psf.gaussian(1.0, 7), (32, 32))
    y = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(cls(blur_op)(y), y)
    sr = SuperResolution(psf.gaussian(1.0, 7), (32, 32), 2)
    ys = torch.rand(1, 1, 16, 16)
    with torch.no_grad():  # input H'g / p(0): the ×2 back-projection keeps the intensity
        out = cls(sr)(ys)
    assert out.shape == (1, 1, 32, 32)
    assert abs(float(out.mean()) - float(ys.mean())) < 0.02


def test_unet_on_sizes_not_divisible_by_its_levels():
    op = Identity((30, 26))
    assert UNet(op)(torch.rand(1, 1, 30, 26)).shape == (1, 1, 30, 26)


def test_stationary_normal_is_exact_for_a_convolution_and_scaled_for_sr():
    op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    assert torch.allclose(stationary_normal(op), op.rfft_diagonal()[1])
    sr = SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2)
    assert stationary_normal(sr, 2)[0, 0] == pytest.approx(0.25, rel=1e-10)


def test_radial_profile_interpolates_between_knots():
    values = torch.arange(5, dtype=torch.float64)
    prof = RadialProfile(values)
    assert torch.allclose(prof(prof.knots), values)
    mid = 0.5 * (prof.knots[1:] + prof.knots[:-1])
    assert torch.allclose(prof(mid), values[:-1] + 0.5)


# ---- moving a trained network to another grid
def test_structured_nets_transfer_exactly_across_sizes(rel):
    small = Convolution(psf.gaussian(1.5, 9), (24, 24))
    large = Convolution(psf.gaussian(1.5, 9), (48, 40))
    for net in (FourierNet(small, lam=0.02, structure="radial"),
                FourierNet(small, lam=0.02, structure="parametric"),
                DecomposedNet(small, lam=0.02, part="cnn"), UnrolledLandweber(small, 4),
                LISTA(small, 3, lam=0.01, basis="wavelet"), UnrolledHQS(small, 2),
                TikhonovResidual(small), WaveletNet(small), DnCNN(small), UNet(small)):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.01 * torch.randn_like(p))
        moved = net.for_operator(large)
        for (name, a), (_, b) in zip(net.named_parameters(), moved.named_parameters(),
                                     strict=True):
            assert torch.equal(a, b), (type(net).__name__, name)
        assert moved(torch.rand(1, 1, 48, 40)).shape == (1, 1, 48, 40)


@pytest.mark.parametrize("cls", [FourierNet, AnalyticNet, SVDNet])
def test_per_frequency_tables_move_through_their_spatial_kernel(cls, rel):
    # the Tikhonov filter's kernel decays within 32 px: moved to 64 px it is Tikhonov there
    small = Convolution(psf.gaussian(1.5, 9), (32, 32))
    large = Convolution(psf.gaussian(1.5, 9), (64, 64))
    kwargs = {"reg": "gradient"} if cls is SVDNet else {}
    moved = cls(small, lam=0.05, **kwargs).for_operator(large)
    y = torch.rand(1, 1, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        assert rel(moved(y), cls(large, lam=0.05, **kwargs)(y)) < 1e-3


def test_resample_table_is_identity_on_the_same_grid():
    t = torch.randn(8, 5, dtype=torch.complex128)
    assert torch.equal(resample_table(t, (8, 8), (8, 8)), t)


def test_dense_networks_are_tied_to_their_matrix():
    rng = np.random.default_rng(0)
    net = SVDNet(Dense(rng.standard_normal((12, 9)), (3, 3)), lam=0.1)
    with pytest.raises(InputError, match="tied"):
        net.for_operator(Dense(rng.standard_normal((20, 16)), (4, 4)))


# ---- registry and refusals
def test_registry_offers_what_the_operator_allows():
    radon = Radon((16, 16), np.linspace(0, 180, 8, endpoint=False))
    why = available(radon)
    assert why["unrolled-hqs"] is None and why["decomposed"] is None
    assert "Fourier-diagonal" in why["fourier-radial"] and "SVD" in why["svd"]
    with pytest.raises(InputError, match="SVD: Fourier-diagonal or Dense"):
        build("svd", radon)
    with pytest.raises(InputError, match="one of"):
        build("resnet", radon)
    blur_op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    for name in NETWORKS:
        net = build(name, blur_op, lam=0.01)
        assert net.trainable_parameters() > 0
        assert f"trainable={net.trainable_parameters()}" in repr(net)


def test_svd_net_refuses_an_operator_without_svd_and_names_those_with_one():
    radon = Radon((16, 16), [0.0, 45.0, 90.0])
    with pytest.raises(InputError, match="Dense"):
        SVDNet(radon)
    with pytest.raises(InputError, match="DecomposedNet"):
        FourierNet(SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2))


def test_bad_arguments_are_named():
    op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    with pytest.raises(InputError, match="structure"):
        FourierNet(op, structure="spline")
    with pytest.raises(InputError, match="part"):
        DecomposedNet(op, part="mlp")
    with pytest.raises(InputError, match="mu"):
        UnrolledHQS(op, mu=-1)
    with pytest.raises(InputError, match="input"):
        UNet(op, input="fbp")
    with pytest.raises(InputError, match="structured"):
        FourierNet(op, structure="radial", init="zeros")
    with pytest.raises(InputError, match="table"):
        FourierNet(op, structure="radial").fit_closed_form(torch.rand(2, 1, 16, 16),
                                                           torch.rand(2, 1, 16, 16))


def test_fourier_net_inference_cache_follows_the_weights(blur, rel):
    op, y = blur
    net = FourierNet(op, lam=0.02, structure="radial")
    with torch.no_grad():
        first = net(y)
        net.profile.values.fill_(1.0)  # in-place change of the weights
        second = net(y)
        net.load_state_dict(FourierNet(op, lam=0.02, structure="radial").state_dict())
        third = net(y)
    assert rel(second, first) > 1e-3
    assert torch.equal(third, first)
