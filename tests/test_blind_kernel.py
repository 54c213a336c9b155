"""Free-form blind kernels: the edge selection, the kernel clean-up, the kernel step on the
true image, and the schedule's λ decay (``physinv.solvers.blind_kernel``,
``physinv.solvers.edge_selection``). The end-to-end tests are in ``test_blind.py``."""

from __future__ import annotations

import math

import pytest
import torch

from physinv.operators import Convolution, psf
from physinv.solvers import blind_kernel as bk
from physinv.solvers.edge_selection import clean_kernel, r_map, select_edges


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("count", [1, 7, 40, 10_000])
def test_select_edges_keeps_the_largest_gradients_of_every_orientation_bin(seed, count):
    gen = torch.Generator().manual_seed(seed)
    dy, dx = torch.randn(2, 32, 32, generator=gen, dtype=torch.float64)
    keep = select_edges(dy, dx, count)
    mag = torch.sqrt(dy**2 + dx**2)
    index = torch.clamp((torch.remainder(torch.atan2(dy, dx), math.pi) / math.pi * 4).long(),
                        max=3)
    assert set(keep.unique().tolist()) <= {0.0, 1.0}
    for b in range(4):
        inside = index == b
        kept = keep.bool() & inside
        assert int(kept.sum()) == min(count, int(inside.sum()))
        # every kept pixel is at least as strong as every dropped one of its bin
        dropped = inside & ~keep.bool()
        if dropped.any():
            assert float(mag[kept].min()) >= float(mag[dropped].max())


def test_select_edges_never_keeps_a_masked_pixel():
    gen = torch.Generator().manual_seed(3)
    dy, dx = torch.randn(2, 24, 24, generator=gen, dtype=torch.float64)
    mask = (torch.rand(24, 24, generator=gen) > 0.5).double()
    keep = select_edges(dy, dx, 10_000, mask)
    assert float((keep * (1 - mask)).sum()) == 0.0
    assert torch.equal(keep, mask)


def test_r_map_is_high_on_an_isolated_edge_and_low_on_fine_texture():
    step = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    step[..., 16:] = 1.0
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2).double()[None, None]
    assert float(r_map(step)[0, 0, 8, 15]) > 0.9
    assert float(r_map(checker).max()) < 0.3


def test_clean_kernel_drops_small_entries_and_small_components_and_sums_to_one():
    k = torch.zeros(9, 9, dtype=torch.float64)
    k[4, 2:7] = 0.2
    k[0, 8] = 0.05          # a separate component, 5 % of the mass
    k[4, 7] = 0.005         # below 5 % of the maximum
    out = clean_kernel(k, 0.05, 0.1)
    assert float(out.sum()) == pytest.approx(1.0) and float(out.min()) >= 0
    assert out[0, 8] == 0 and out[4, 7] == 0
    assert torch.allclose(out[4, 2:7], torch.full((5,), 0.2, dtype=torch.float64))
    # without the component rule the separate entry stays
    assert clean_kernel(k, 0.05, 0.0)[0, 8] > 0
    # nothing left: the uniform kernel, not NaN
    assert torch.allclose(clean_kernel(torch.zeros(3, 3), 0.05, 0.1), torch.full((3, 3), 1 / 9))


def test_kernel_step_on_the_sharp_image_recovers_the_kernel():
    """With the true image in place of the estimate, one kernel step (γ = 0, noise-free)
    returns the kernel: the gradient-domain system and the simplex solver are right."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(4)
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    for _ in range(40):
        r, c = torch.randint(0, 56, (2,), generator=gen).tolist()
        h, w = torch.randint(3, 12, (2,), generator=gen).tolist()
        x[..., r:r + h, c:c + w] = torch.rand(1, generator=gen, dtype=torch.float64)
    truth = psf.motion(7.0, 30.0).double()
    y = Convolution(truth, (64, 64))(x)
    start = torch.full((9, 9), 1 / 81, dtype=torch.float64)
    k = bk._kernel_step(bk._differences(y), bk._differences(x), start,
                        bk.Schedule(kernel_reg=0.0, n_kernel=500))
    reference = torch.zeros(9, 9, dtype=torch.float64)
    o = (9 - truth.shape[0]) // 2
    reference[o: o + truth.shape[0], o: o + truth.shape[1]] = truth
    assert float((k - reference).norm() / reference.norm()) < 0.1


def test_lambda_decays_across_levels_down_to_its_floor():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(5)
    y = Convolution(psf.motion(5.0, 0.0), (48, 48))(
        torch.rand(1, 1, 48, 48, generator=gen, dtype=torch.float64))
    schedule = bk.Schedule(lam=4e-3, lam_decay=0.5, lam_min=1e-4, n_iter=2, n_kernel=10)
    est = bk.estimate_kernel(y, 7, schedule=schedule, restore_iter=1)
    lams = est.criterion["lam"]
    assert lams[0] == pytest.approx(4e-3)
    assert all(b <= a for a, b in zip(lams, lams[1:], strict=False)) and lams[-1] < lams[0]
    assert min(lams) >= 1e-4
