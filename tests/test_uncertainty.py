"""MC-dropout and ensembles: a mean and a variance map for any network; refusals."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.metrics import coverage
from physinv.nets import DnCNN, TikhonovResidual, UnrolledLandweber
from physinv.nets.uncertainty import ensemble, mc_dropout
from physinv.operators import Convolution, psf


@pytest.fixture(scope="module")
def op():
    return Convolution(psf.gaussian(1.0, 7), (16, 16))


def _perturbed(net, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return net


def test_mc_dropout_gives_a_variance_map_and_is_reproducible(op):
    torch.manual_seed(0)
    net = _perturbed(TikhonovResidual(op, lam=0.01, width=8, depth=3, dropout=0.3), 1).eval()
    y = torch.rand(2, 1, 16, 16)
    mean, var = mc_dropout(net, y, n_samples=8, seed=5)
    mean2, var2 = mc_dropout(net, y, n_samples=8, seed=5)
    assert mean.shape == var.shape == (2, 1, 16, 16)
    assert torch.equal(mean, mean2) and torch.equal(var, var2)
    assert float(var.min()) >= 0 and float(var.mean()) > 0
    assert not net.training  # left as it was
    cov = coverage(mean, var.sqrt(), mean)
    assert torch.all(cov == 1)  # the mean lies in its own interval


def test_mc_dropout_needs_dropout(op):
    with pytest.raises(InputError, match="dropout"):
        mc_dropout(UnrolledLandweber(op, 3), torch.rand(1, 1, 16, 16))


def test_ensemble_mean_and_variance(op):
    nets = [_perturbed(DnCNN(op, width=8, depth=3), s) for s in range(3)]
    y = torch.rand(1, 1, 16, 16)
    mean, var = ensemble(nets, y)
    with torch.no_grad():
        outs = torch.stack([n(y) for n in nets])
    assert torch.allclose(mean, outs.mean(0)) and torch.allclose(var, outs.var(0))
    with pytest.raises(InputError, match="two"):
        ensemble(nets[:1], y)
