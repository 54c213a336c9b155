"""Generic properties every operator in the registry must have (see conftest.REGISTRY)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.operators import dot_test


def _rand(shape, dtype=torch.float64, seed=0, batch=2, channels=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((batch, channels, *shape), generator=g, dtype=dtype)


def test_adjoint_float64(operator):
    assert dot_test(operator, dtype=torch.float64) < 1e-10
    assert dot_test(operator, seed=7, batch=1, channels=3) < 1e-10


def test_adjoint_float32(operator):
    assert dot_test(operator, dtype=torch.float32) < 1e-5


def test_linearity(operator):
    x, z = _rand(operator.in_shape, seed=1), _rand(operator.in_shape, seed=2)
    lhs = operator(2.5 * x - 0.75 * z)
    rhs = 2.5 * operator(x) - 0.75 * operator(z)
    assert torch.allclose(lhs, rhs, atol=1e-12 * (1 + rhs.abs().max()))
    y1, y2 = _rand(operator.out_shape, seed=3), _rand(operator.out_shape, seed=4)
    lhs = operator.adjoint(1.5 * y1 + y2)
    rhs = 1.5 * operator.adjoint(y1) + operator.adjoint(y2)
    assert torch.allclose(lhs, rhs, atol=1e-12 * (1 + rhs.abs().max()))


def test_batch_and_channel_consistency(operator):
    x = _rand(operator.in_shape, batch=3, channels=2)
    whole = operator(x)
    assert whole.shape == (3, 2, *operator.out_shape)
    for b in range(3):
        for c in range(2):
            single = operator(x[b: b + 1, c: c + 1])
            assert torch.allclose(whole[b, c], single[0, 0], atol=1e-13)
    y = _rand(operator.out_shape, batch=3, channels=2)
    back = operator.adjoint(y)
    assert back.shape == (3, 2, *operator.in_shape)
    assert torch.allclose(back[2, 1], operator.adjoint(y[2:3, 1:2])[0, 0], atol=1e-13)


def test_normal_is_adjoint_of_forward(operator):
    x = _rand(operator.in_shape)
    assert torch.allclose(operator.normal(x), operator.adjoint(operator(x)), atol=1e-11)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_preserved(operator, dtype):
    x = _rand(operator.in_shape, dtype=dtype)
    y = _rand(operator.out_shape, dtype=dtype)
    assert operator(x).dtype == dtype
    assert operator.adjoint(y).dtype == dtype
    assert operator.normal(x).dtype == dtype


def test_norm_matches_dense_svd(operator):
    matrix = operator.to_matrix()
    expected = float(torch.linalg.matrix_norm(matrix, ord=2))
    assert operator.norm() == pytest.approx(expected, rel=1e-6, abs=1e-12)
    # cached: same value, no recomputation needed
    assert operator.norm() == operator.norm()


def test_matrix_transpose_is_adjoint_matrix(operator):
    matrix = operator.to_matrix()
    adj = operator.H.to_matrix()
    assert torch.allclose(adj, matrix.T, atol=1e-12)


def test_autograd_through_forward_and_adjoint(operator):
    x = _rand(operator.in_shape, batch=1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: operator(t), (x,), eps=1e-6, atol=1e-7)
    y = _rand(operator.out_shape, batch=1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: operator.adjoint(t), (y,), eps=1e-6, atol=1e-7)


def test_device_move_keeps_results(operator):
    moved = operator.to("cpu")
    x = _rand(operator.in_shape)
    assert torch.equal(moved(x), operator(x))
    assert all(not p.requires_grad for p in operator.parameters())
    assert list(operator.parameters()) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_matches_cpu(operator):  # pragma: no cover - needs a GPU
    x = _rand(operator.in_shape)
    gpu = operator.to("cuda")
    assert torch.allclose(gpu(x.cuda()).cpu(), operator.to("cpu")(x), atol=1e-10)


def test_wrong_shape_is_refused(operator):
    bad = torch.zeros(1, 1, operator.in_shape[0] + 1, operator.in_shape[1])
    with pytest.raises(InputError, match="trailing dimensions"):
        operator(bad)
    with pytest.raises(InputError, match="x"):
        operator(np.zeros(operator.in_shape))


def test_nan_is_refused(operator):
    x = torch.zeros(1, 1, *operator.in_shape)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="finite"):
        operator(x)
    y = torch.zeros(1, 1, *operator.out_shape)
    y.view(-1)[-1] = float("inf")
    with pytest.raises(InputError, match="finite"):
        operator.adjoint(y)
