"""Dense: matrix action, cached SVD, exact norm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Dense


def test_action_and_svd():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((15, 12))
    op = Dense(a, (3, 4))
    x = torch.from_numpy(rng.standard_normal((2, 1, 3, 4)))
    expected = x.reshape(2, 1, 12) @ torch.from_numpy(a).T
    assert torch.allclose(op(x).reshape(2, 1, 15), expected)
    svd = op.svd()
    assert torch.allclose(svd.u(svd.s * svd.vh(x)), op(x), atol=1e-12)
    assert torch.allclose(svd.v(svd.vh(x)), x, atol=1e-12)  # V unitary (full column rank)
    assert op.norm() == pytest.approx(np.linalg.norm(a, 2), rel=1e-12)
    assert op.svd_matrices() is op.svd_matrices()  # cached


def test_bad_input():
    with pytest.raises(InputError, match="12 columns"):
        Dense(np.ones((3, 10)), (3, 4))
    with pytest.raises(InputError, match="finite"):
        Dense(np.full((3, 12), np.inf), (3, 4))
    with pytest.raises(InputError, match="out_shape"):
        Dense(np.ones((6, 12)), (3, 4), out_shape=(4, 2))
