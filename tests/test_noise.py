"""Noise models: statistics, determinism through seeds, specs and bad input."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.noise import (
    Gaussian,
    NoNoise,
    Poisson,
    PoissonGaussian,
    from_spec,
    make_generator,
    simulate,
)
from physinv.operators import Convolution, Identity, psf


def test_gaussian_statistics_and_determinism():
    x = torch.zeros(1, 1, 256, 256, dtype=torch.float64)
    y = simulate(x, Identity((256, 256)), Gaussian(0.1), seed=5)
    assert float(y.std()) == pytest.approx(0.1, rel=0.02)
    assert abs(float(y.mean())) < 0.002
    assert torch.equal(y, simulate(x, Identity((256, 256)), Gaussian(0.1), seed=5))
    assert not torch.equal(y, simulate(x, Identity((256, 256)), Gaussian(0.1), seed=6))
    assert y.dtype == torch.float64
    assert simulate(x.float(), Identity((256, 256)), Gaussian(0.1), seed=5).dtype == torch.float32


def test_simulate_applies_operator():
    x = torch.rand(2, 3, 16, 16)
    op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    assert torch.allclose(simulate(x, op, NoNoise()), op(x))
    assert torch.allclose(simulate(x, op, "none"), op(x))


def test_poisson_mean_and_variance():
    clean = torch.full((1, 1, 200, 200), 0.3, dtype=torch.float64)
    noisy = Poisson(50)(clean, make_generator(0))
    assert float(noisy.mean()) == pytest.approx(0.3, rel=0.01)
    assert float(noisy.var()) == pytest.approx(0.3 / 50, rel=0.05)
    both = PoissonGaussian(50, 0.02)(clean, make_generator(0))
    assert float(both.var()) == pytest.approx(0.3 / 50 + 0.02**2, rel=0.05)
    assert float(Poisson(50).variance(clean).mean()) == pytest.approx(0.3 / 50)


def test_specs():
    assert isinstance(from_spec("gaussian:sigma=0.01"), Gaussian)
    assert from_spec("gaussian:sigma=0.01").sigma == 0.01
    pg = from_spec("poisson-gaussian:photons=100,sigma=0.01")
    assert (pg.photons, pg.sigma) == (100, 0.01)
    assert isinstance(from_spec("none"), NoNoise)
    assert from_spec(pg.spec()).spec() == pg.spec()


def test_bad_input():
    with pytest.raises(InputError, match="sigma: got -0.1"):
        Gaussian(-0.1)
    with pytest.raises(InputError, match="photons"):
        Poisson(0)
    with pytest.raises(InputError, match="noise"):
        from_spec("salt:amount=3")
    with pytest.raises(InputError, match="valid parameters"):
        from_spec("gaussian:width=3")
    with pytest.raises(InputError, match="non-negative"):
        Poisson(10)(-torch.ones(1, 1, 2, 2), make_generator(0))
    with pytest.raises(InputError, match="seed"):
        make_generator(-1)
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 0, 0] = float("inf")
    with pytest.raises(InputError, match="finite"):
        simulate(x, Identity((8, 8)), Gaussian(0.1))
    with pytest.raises(InputError, match=r"trailing dimensions \(8, 8\)"):
        simulate(torch.zeros(1, 1, 8, 9), Identity((8, 8)), Gaussian(0.1))
    with pytest.raises(InputError, match="op"):
        simulate(torch.zeros(1, 1, 8, 8), "blur", Gaussian(0.1))
