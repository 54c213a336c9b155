"""Radon: agreement with scikit-image, symmetry folding, FBP, autograd and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.transform import iradon, radon

from physinv.data.phantoms import shepp_logan
from physinv.errors import InputError
from physinv.operators import Radon, dot_test, fbp
from physinv.operators import radon as radon_module
from physinv.operators.radon import footprint


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
    with pytest.raises(InputError, match="finite"):
        Radon((16, 16), [0.0, float("nan")])
    with pytest.raises(InputError, match="finite"):
        Radon((16, 16), [0.0, float("inf")])
    with pytest.raises(InputError, match="at least 16 detector bins"):
        Radon((16, 16), [0.0], n_detectors=12)
    with pytest.raises(InputError, match="at least 25 detector bins"):
        Radon((16, 16), [0.0], circle=False, n_detectors=20)
    op = Radon((16, 16), [0.0, 45.0])
    with pytest.raises(InputError, match=r"sinogram.*\(16, 2\)"):
        fbp(torch.zeros(1, 1, 16, 3), op)
    with pytest.raises(InputError, match=r"\(16, 2\)"):
        op.adjoint(torch.zeros(1, 1, 15, 2))
    with pytest.raises(InputError, match="filter"):
        fbp(torch.zeros(1, 1, 16, 2), op, filter="nope")


# ------------------------------------------------------------------ scaling, shapes, paths
def _streamed(shape, angles, **kw):
    return Radon(shape, angles, cache_bytes=0, **kw)


def test_streamed_and_cached_projectors_give_the_same_result():
    angles = np.linspace(0, 180, 50, endpoint=False)
    cached, streamed = Radon((48, 48), angles), _streamed((48, 48), angles)
    assert cached.cached and not streamed.cached
    x = torch.rand(2, 1, 48, 48, dtype=torch.float64)
    y = torch.rand(2, 1, 48, 50, dtype=torch.float64)
    for _ in range(2):  # the second application reads the cache
        torch.testing.assert_close(cached(x), streamed(x), rtol=0, atol=1e-12)
        torch.testing.assert_close(cached.adjoint(y), streamed.adjoint(y), rtol=0, atol=1e-12)
    assert dot_test(streamed) < 1e-10


def test_torch_backend_equals_scipy_backend():
    """The gather / scatter kernels used on CUDA, run on the CPU, against the SciPy ones."""
    angles = np.linspace(0, 180, 30, endpoint=False)
    op, ref = _streamed((40, 40), angles), _streamed((40, 40), angles)
    op._backend = "torch"
    x = torch.rand(3, 1, 40, 40, dtype=torch.float64)
    y = torch.rand(3, 1, 40, 30, dtype=torch.float64)
    torch.testing.assert_close(op(x), ref(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(op.adjoint(y), ref.adjoint(y), rtol=0, atol=1e-12)
    assert dot_test(op) < 1e-10


def test_memory_rule_is_the_documented_byte_count():
    op = Radon((64, 64), np.arange(0, 180, 2.0))
    n_pixels = int(op.pixel_coords.shape[0])
    assert op.cache_bytes == 36 * n_pixels * op.canonical_angles.numel()
    assert Radon((64, 64), [0.0], cache_bytes=op.cache_bytes).cached
    assert not Radon((64, 64), np.arange(0, 180, 2.0), cache_bytes=op.cache_bytes - 1).cached


def test_a_512_projector_stores_nothing_of_size_pixels_times_angles():
    angles = np.linspace(0, 180, 360, endpoint=False)
    op = Radon((512, 512), angles, cache_bytes=0)  # the streamed form
    assert not op.cached
    stored = sum(b.numel() * b.element_size() for b in op.buffers())
    assert stored < 40e6  # vs 36 B × 206 k pixels × 91 canonical angles = 675 MB cached
    # the default memory rule caches these 675 MB (≤ CACHE_BYTES), lazily: nothing yet
    default = Radon((512, 512), angles)
    assert default.cached and default.cache_bytes <= radon_module.CACHE_BYTES
    assert sum(b.numel() * b.element_size() for b in default.buffers()) < 40e6
    assert not Radon((1024, 1024), np.linspace(0, 180, 720, endpoint=False)).cached


def test_tabulated_footprint_is_within_its_stated_error_of_the_exact_one():
    """Streamed weights against ``footprint`` evaluated at the exact positions."""
    op = _streamed((32, 32), [7.3, 31.0, 44.5])
    column, weights = op._entries(0, 3, torch.float64, "cpu")
    theta = np.deg2rad(op.canonical_angles.numpy())
    p = op.pixel_coords.numpy()
    t = p[:, :1] * np.cos(theta) - p[:, 1:] * np.sin(theta) + op._det_offset
    for m, w in enumerate(weights):
        start = column.numpy() - np.arange(3) * op._n_bins
        exact = footprint(start + m - t, np.cos(theta), np.sin(theta))
        assert np.abs(w.numpy() - exact).max() < 6.1e-5


@pytest.mark.parametrize("circle", [True, False])
def test_dot_tests_for_every_parallel_geometry(circle):
    for shape, n_det in (((20, 33), None), ((31, 18), 45), ((16, 16), 41)):
        op = Radon(shape, np.random.default_rng(0).uniform(0, 360, 17), circle=circle,
                   n_detectors=n_det)
        assert dot_test(op) < 1e-10
        assert dot_test(_streamed(shape, op.angles, circle=circle, n_detectors=n_det)) < 1e-10


def test_non_square_image_projects_as_its_zero_padded_square():
    """An H × W image and the same image zero-padded to W × W about the same centre."""
    h, w = 24, 40
    angles = np.linspace(0, 180, 36, endpoint=False)
    x = torch.zeros(1, 1, h, w, dtype=torch.float64)
    x[..., 6:18, 12:30] = torch.rand(12, 18, dtype=torch.float64)  # inside the disk r = 12
    square = torch.zeros(1, 1, w, w, dtype=torch.float64)
    square[..., 8:32, :] = x
    s_rect = Radon((h, w), angles)(x)
    s_square = Radon((w, w), angles)(square)
    torch.testing.assert_close(s_rect, s_square[..., 8:32, :], rtol=0, atol=1e-10)
    full = Radon((h, w), angles, circle=False)(x)  # whole-image mode: same centre bins
    d = full.shape[-2] // 2
    torch.testing.assert_close(full[..., d - 12:d + 12, :], s_rect, rtol=0, atol=1e-10)


def test_chosen_detector_size_pads_the_default_sinogram():
    angles = np.linspace(0, 180, 20, endpoint=False)
    x = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    wide = Radon((32, 32), angles, n_detectors=50)(x)
    torch.testing.assert_close(wide[..., 9:41, :], Radon((32, 32), angles)(x),
                               rtol=0, atol=1e-12)
    assert float(wide[..., :7, :].abs().max()) == 0.0


def test_fbp_of_a_non_square_image():
    h, w = 48, 80
    yy, xx = np.mgrid[:h, :w]
    blob = np.exp(-((yy - 24) ** 2 + (xx - 40) ** 2) / (2 * 5.0**2))
    x = torch.from_numpy(blob)[None, None]
    op = Radon((h, w), np.linspace(0, 180, 120, endpoint=False))
    rec = fbp(op(x), op)
    assert rec.shape == x.shape
    assert _rel(rec.numpy(), x.numpy()) < 0.05


def test_fbp_within_half_a_db_of_iradon_with_the_same_filter():
    n = 256
    angles = np.linspace(0, 180, 180, endpoint=False)
    x = shepp_logan(n).double()
    op = Radon((n, n), angles)
    sino = op(x)
    mask = np.hypot(*np.mgrid[:n, :n] - n // 2) < n // 2 - 2
    truth = x[0, 0].numpy()[mask]

    def db(rec):
        return 10 * np.log10(1.0 / np.mean((rec[mask] - truth) ** 2))

    for name in ("ramp", "hann"):
        ours = db(fbp(sino, op, filter=name)[0, 0].numpy())
        ref = db(iradon(sino[0, 0].numpy(), angles, circle=True, filter_name=name))
        assert abs(ours - ref) < 0.5
