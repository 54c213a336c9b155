"""``physinv.train.fit``: it learns, it is deterministic for a seed, it refuses bad data, a
non-finite loss stops it with the last good weights."""

from __future__ import annotations

import math

import pytest
import torch

from physinv.errors import InputError
from physinv.nets import DnCNN, FourierNet, UnrolledLandweber
from physinv.noise import Gaussian
from physinv.operators import Convolution, Identity, psf
from physinv.train import Measurements, Pairs, Supervised, fit
from physinv.train.data import split


def _smooth_images(n, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size // 4, size // 4, generator=gen)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic",
                                           align_corners=False).clamp(0, 1)


@pytest.fixture(scope="module")
def task():
    op = Convolution(psf.gaussian(1.5, 9), (32, 32))
    return op, Measurements(_smooth_images(8), op, Gaussian(0.02))


def test_training_improves_validation_psnr(task):
    op, data = task
    net = FourierNet(op, lam=0.5, structure="radial")  # deliberately over-regularised
    result = fit(net, data, epochs=15, samples_per_epoch=16, batch_size=4, physics_lr=0.1)
    assert result.best_score > result.history[0]["val"] + 0.5
    assert result.best_epoch > 0
    assert result.split == "6 training / 2 validation images"
    # the best weights are the ones left in the network
    y, x = split(data, 0.25, 0)[1].fixed(777)
    with torch.no_grad():
        from physinv.metrics import psnr

        assert float(psnr(net(y), x).mean()) == pytest.approx(result.best_score, abs=1e-4)


def test_same_seed_same_weights_other_seed_other_weights(task):
    op, data = task

    def train(seed):
        torch.manual_seed(0)
        net = DnCNN(op, width=8, depth=3, dropout=0.1)
        fit(net, data, epochs=2, samples_per_epoch=8, seed=seed, patience=5)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    a, b, c = train(3), train(3), train(4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_measurements_draw_fresh_noise_each_epoch(task):
    op, data = task
    (_, y1, x1, _), = list(data.batches(1, 8, 8, seed=0))
    (_, y2, x2, _), = list(data.batches(2, 8, 8, seed=0))
    (_, y1b, _, _), = list(data.batches(1, 8, 8, seed=0))
    assert torch.equal(y1, y1b)
    assert not torch.equal(y1, y2)
    # each pair is a measurement of its own clean image: residual at the noise level
    assert float((y1 - op(x1)).std()) == pytest.approx(0.02, rel=0.2)


def test_nan_in_training_data_names_the_sample():
    op = Identity((16, 16))
    clean = torch.rand(5, 1, 16, 16)
    clean[3, 0, 2, 2] = math.nan
    with pytest.raises(InputError, match="sample 3"):
        Measurements(clean, op, Gaussian(0.1))
    with pytest.raises(InputError, match="sample 3"):
        Pairs(clean, torch.rand(5, 1, 16, 16), op)


def test_more_training_images_than_available_is_refused(task):
    _, data = task
    with pytest.raises(InputError, match="n_train: got 20, expected at most 8"):
        data.take(20)


def test_operator_that_does_not_fit_the_network(task):
    op, data = task
    net = FourierNet(Convolution(psf.gaussian(1.5, 9), (24, 24)), lam=0.1)
    with pytest.raises(InputError, match="for_operator"):
        fit(net, data, epochs=1)


def test_non_finite_loss_restores_the_last_good_weights(task):
    op, data = task

    class Exploding(Supervised):
        calls = 0

        def __call__(self, estimate, g, f):
            self.calls += 1
            value = super().__call__(estimate, g, f)
            return value * math.nan if self.calls > 6 else value

    net = UnrolledLandweber(op, n_layers=3)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        result = fit(net, data, loss=Exploding(op), epochs=10, samples_per_epoch=8)
    assert result.stop_reason == "non-finite loss"
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert result.n_steps == 6 and result.best_epoch <= 3  # 2 steps per epoch


def test_non_finite_gradient_of_a_finite_loss_is_refused_too(task):
    """A finite loss whose gradient is NaN (e.g. a failed implicit solve) takes no step."""
    op, data = task

    class NaNGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g * math.nan

    class Poisoned(Supervised):
        calls = 0

        def __call__(self, estimate, g, f):
            self.calls += 1
            return super().__call__(NaNGradient.apply(estimate) if self.calls > 6 else estimate,
                                    g, f)

    net = UnrolledLandweber(op, n_layers=3)
    with pytest.warns(RuntimeWarning, match="gradient became non-finite"):
        result = fit(net, data, loss=Poisoned(op), epochs=10, samples_per_epoch=8)
    assert result.stop_reason == "non-finite loss" and result.n_steps == 6
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_unsupervised_training_needs_no_ground_truth(task):
    op, data = task
    y, _ = data.fixed(0)
    pairs = Pairs(y, None, op)
    net = FourierNet(op, lam=0.5, structure="radial")
    result = fit(net, pairs, loss="unsupervised", lam=0.01, epochs=2, samples_per_epoch=8)
    assert result.score_name == "-loss"
    with pytest.raises(InputError, match="unsupervised"):
        fit(net, pairs, loss="supervised", epochs=1)


def test_bad_arguments_are_named(task):
    op, data = task
    net = FourierNet(op, lam=0.1, structure="radial")
    with pytest.raises(InputError, match="loss"):
        fit(net, data, loss="perceptual")
    with pytest.raises(InputError, match="norm"):
        fit(net, data, norm="l3")
    with pytest.raises(InputError, match="device"):
        fit(net, data, device="cuda:7" if torch.cuda.is_available() else "cuda")
    with pytest.raises(InputError, match="epochs"):
        fit(net, data, epochs=0)
    with pytest.raises(InputError, match="data"):
        fit(net, [(1, 2)])


def test_patch_training_measures_crops_through_the_patch_operator():
    def operator_for(shape):
        return Convolution(psf.gaussian(1.0, 7), shape)

    clean = _smooth_images(3, size=32)
    data = Measurements(clean, operator_for((32, 32)), Gaussian(0.01), patch=16,
                        operator_for=operator_for)
    assert data.op.in_shape == (16, 16)
    (_, y, x, _), = list(data.batches(1, 4, 4, seed=0))
    assert x.shape == (4, 1, 16, 16)
    assert float((y - data.op(x)).std()) == pytest.approx(0.01, rel=0.3)
    yv, xv = data.fixed(0)
    assert torch.equal(xv, clean[..., 8:24, 8:24])
    net = FourierNet(data.op, lam=0.1, structure="radial")
    fit(net, data, epochs=1, samples_per_epoch=4)
    assert net.for_operator(operator_for((32, 32)))(clean).shape == (3, 1, 32, 32)
    with pytest.raises(InputError, match="operator_for"):
        Measurements(clean, operator_for((32, 32)), Gaussian(0.01), patch=16)
    with pytest.raises(InputError, match="patch"):
        Measurements(clean, operator_for((32, 32)), Gaussian(0.01), patch=64,
                     operator_for=operator_for)
