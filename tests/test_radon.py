"""Radon: agreement with scikit-image, symmetry folding, FBP, autograd and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.transform import iradon, radon

from physinv.data.phantoms import shepp_logan
from physinv.errors import InputError
from physinv.operators import Radon, dot_test, fbp


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("n, angles", [
    (400, np.arange(180.0)),  # scikit-image's phantom at its own size
    (256, np.arange(180.0)),
    (255, np.linspace(0, 180, 45, endpoint=False)),
    (64, np.linspace(0, 180, 60, endpoint=False)),
])
def test_agrees_with_skimage_on_shepp_logan(n, angles):
    x = shepp_logan(n).double()
    ref = radon(x[0, 0].numpy(), angles, circle=True)
    out = Radon((n, n), angles)(x)[0, 0].numpy()
    assert out.shape == ref.shape
    assert _rel(out, ref) < 0.01


def test_arbitrary_angles_agree_with_skimage():
    angles = np.random.default_rng(2).uniform(-90, 400, 23)
    x = shepp_logan(128).double()
    ref = radon(x[0, 0].numpy(), angles, circle=True)
    out = Radon((128, 128), angles)(x)[0, 0].numpy()
    assert _rel(out, ref) < 0.01
    for i in range(angles.size):  # and every single angle, 45° included
        assert _rel(out[:, i], ref[:, i]) < 0.01


def test_symmetry_folding_equals_direct_projection():
    """Each folded angle equals the projector built for that single angle alone."""
    angles = np.array([0.0, 10.0, 44.0, 46.0, 90.0, 101.5, 135.0, 179.0, 250.0])
    x = torch.rand(1, 2, 33, 33, dtype=torch.float64)
    whole = Radon((33, 33), angles)(x)
    for i, a in enumerate(angles):
        single = Radon((33, 33), [a])(x)
        assert torch.allclose(whole[..., i], single[..., 0], atol=1e-12)


def test_projection_of_a_point_is_at_the_right_bin():
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[0, 0, 16, 20] = 1.0  # 4 px right of the centre (16, 16)
    s = Radon((32, 32), [0.0, 90.0, 180.0])(x)[0, 0]
    assert int(s[:, 0].argmax()) == 20  # θ = 0: detector along x
    assert int(s[:, 1].argmax()) == 16  # θ = 90: the point projects to the centre
    assert int(s[:, 2].argmax()) == 12  # θ = 180: mirrored
    # at 0° and 90° the footprint is the linear-interpolation tent: mass exactly preserved
    # (other angles sample a smooth footprint at the bins, as skimage does, so only nearly)
    assert torch.allclose(s.sum(0), torch.ones(3, dtype=s.dtype))


def test_fbp_close_to_iradon_and_truth():
    n = 128
    angles = np.linspace(0, 180, 180, endpoint=False)
    x = shepp_logan(n).double()
    op = Radon((n, n), angles)
    sino = op(x)
    for name, sk in (("ramp", "ramp"), ("shepp-logan", "shepp-logan"), ("hann", "hann")):
        rec = fbp(sino, op, filter=name)[0, 0].numpy()
        ref = iradon(sino[0, 0].numpy(), angles, circle=True, filter_name=sk)
        mask = np.hypot(*np.mgrid[:n, :n] - n // 2) < n // 2 - 2
        assert _rel(rec[mask], ref[mask]) < 0.1
        assert _rel(rec[mask], x[0, 0].numpy()[mask]) < 0.25


def test_double_backward():
    op = Radon((12, 12), [0.0, 30.0, 60.0])
    x = torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: op(t), (x,))


def test_float32_fast_path_matches_float64():
    op = Radon((64, 64), np.arange(0, 180, 3.0))
    x = shepp_logan(64)
    assert torch.allclose(op(x).double(), op(x.double()), rtol=1e-5, atol=1e-4)
    assert dot_test(op, dtype=torch.float32) < 1e-5


def test_bad_input():
    with pytest.raises(InputError, match="non-empty"):
        Radon((16, 16), [])
    with pytest.raises(InputError, match="square"):
        Radon((16, 18), [0.0])
    with pytest.raises(InputError, match="finite"):
        Radon((16, 16), [0.0, float("nan")])
    op = Radon((16, 16), [0.0, 45.0])
    with pytest.raises(InputError, match="sinogram"):
        fbp(torch.zeros(1, 1, 16, 3), op)
    with pytest.raises(InputError, match="filter"):
        fbp(torch.zeros(1, 1, 16, 2), op, filter="nope")
