"""Bad input to the solvers: clear errors naming argument, value and expectation."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, Identity, psf
from physinv.solvers import cg, fista, gaussian_posterior, landweber, richardson_lucy, tikhonov, tv

OP = Convolution(psf.gaussian(1.0, 5), (8, 8))
SOLVERS = [
    lambda y: tikhonov(y, OP, lam=0.1),
    lambda y: cg(y, OP),
    lambda y: landweber(y, OP),
    lambda y: fista(y, OP, lam=0.1),
    lambda y: tv(y, OP, lam=0.1),
    lambda y: richardson_lucy(y, OP),
    lambda y: gaussian_posterior(y, OP),
]


@pytest.mark.parametrize("solve", SOLVERS)
def test_non_finite_and_wrong_shape(solve):
    y = torch.zeros(1, 1, 8, 8)
    y[0, 0, 1, 1] = float("nan")
    with pytest.raises(InputError, match="finite"):
        solve(y)
    with pytest.raises(InputError, match=r"shape \(B, C, \*\(8, 8\)\)"):
        solve(torch.zeros(1, 1, 8, 9))
    with pytest.raises(InputError, match="y"):
        solve(torch.zeros(8, 8))


def test_tikhonov_arguments():
    y = torch.zeros(1, 1, 8, 8)
    with pytest.raises(InputError, match="lam: got -0.1"):
        tikhonov(y, OP, lam=-0.1)
    with pytest.raises(InputError, match="gcv"):
        tikhonov(y, OP, lam="magic")
    with pytest.raises(InputError, match="one of"):
        tikhonov(y, OP, method="qr")
    with pytest.raises(InputError, match="'fourier'"):
        tikhonov(y, OP, method="svd")
    with pytest.raises(InputError, match="dual form needs D = I"):
        tikhonov(y, OP, form="dual", reg="gradient")
    with pytest.raises(InputError, match="reg"):
        tikhonov(y, OP, reg="laplacian")
    with pytest.raises(InputError, match="tol"):
        tikhonov(y, OP, tol=0)
    with pytest.raises(InputError, match="op"):
        tikhonov(y, "blur")
    with pytest.raises(InputError, match="evidence needs"):
        from physinv.operators import Radon

        radon = Radon((8, 8), [0.0, 45.0])
        tikhonov(torch.zeros(1, 1, 8, 2), radon, lam="evidence")
    assert tikhonov(torch.zeros(1, 1, 8, 8), Identity((8, 8)), lam=0.0).x.abs().max() == 0
