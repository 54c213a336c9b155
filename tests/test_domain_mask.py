"""Pixels the operator does not see (``op.domain_mask()``) count neither in the supervised loss
nor in the trainer's validation PSNR: Radon(circle=True) ignores those outside its disk, where
a reconstruction is only its prior's extension (found on ct_sparse: a network trained on the
whole grid removed the outside artefacts of its Tikhonov start and lost 9 dB inside)."""

from __future__ import annotations

import numpy as np
import torch

from physinv.data.phantoms import circle_mask
from physinv.operators import Identity, Radon
from physinv.train.losses import Supervised, seen


def test_the_radon_domain_is_the_protocol_disk_and_the_rest_is_its_null_space():
    op = Radon((32, 32), np.linspace(0, 180, 12, endpoint=False))
    mask = op.domain_mask()
    assert torch.equal(mask, torch.from_numpy(circle_mask(32)))
    outside = torch.randn(1, 1, 32, 32, dtype=torch.float64) * (~mask)
    assert float(op(outside).abs().max()) < 1e-12  # H does not see them
    assert Radon((32, 32), [0.0, 45.0], circle=False).domain_mask() is None
    assert Identity((8, 8)).domain_mask() is None


def test_the_supervised_loss_ignores_the_unseen_pixels_only():
    op = Radon((32, 32), np.linspace(0, 180, 12, endpoint=False))
    mask = op.domain_mask()
    f = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    est = f + 0.01 * torch.randn_like(f)
    for norm in ("mse", "l1", "log"):
        loss = Supervised(op, norm=norm)
        base = float(loss(est, None, f))
        assert float(loss(est + 5.0 * (~mask), None, f)) == base  # outside: no effect
        assert float(loss(est + 0.5 * mask, None, f)) > base  # inside: it counts
    x = torch.ones(1, 1, 32, 32)
    assert float(seen(x, op).sum()) == float(mask.sum())
    assert torch.equal(seen(x, Identity((32, 32))), x)


def test_the_fan_beam_domain_is_its_object_circle_and_the_rest_is_its_null_space():
    from physinv.operators.fan import FanBeam

    op = FanBeam((32, 32), np.arange(0, 360, 15.0), source_distance=64, detector_distance=128)
    mask = op.domain_mask()
    assert mask.dtype == torch.bool and 0 < int(mask.sum()) < 32 * 32
    outside = torch.randn(1, 1, 32, 32, dtype=torch.float64) * (~mask)
    assert float(op(outside).abs().max()) < 1e-12
    inside = torch.rand(1, 1, 32, 32, dtype=torch.float64) * mask
    assert float(op(inside).abs().max()) > 0.1
    assert FanBeam((32, 32), [0.0, 90.0], 64, 128, circle=False).domain_mask() is None
