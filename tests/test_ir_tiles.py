"""Networks applied by overlapping tiles (``physinv.thermal.networks.net_restore_tiled``):
the tiled estimate equals the whole-frame one to a tenth of the NETD on every pixel but a
band of the CNN's receptive field along the frame's own border (there the whole-frame CNN
zero-pads while the tiles see the periodic frame of the circular camera model) — seams and
the shifted last tile included — for a network whose CNN is not zero (random weights), ×1,
×2 and ×4 cameras, small tiles so that the test is fast."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.nets.registry import build
from physinv.thermal import Camera, Scene, simulate
from physinv.thermal.networks import net_restore, net_restore_tiled, probe
from physinv.thermal.restoration import restore


def _net(camera, shape):
    op = camera.operator(shape)
    torch.manual_seed(0)  # the CNN's initialisation
    net = build("tikhonov-residual", op, 1e-2 * op.norm() ** 2)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return net


def _frame(camera, shape, seed=5):
    frame = simulate(Scene(shape=shape), camera, seed=seed)
    g = camera.operator(shape)(frame.apparent[None, None])
    return g + camera.netd * torch.randn(g.shape, generator=torch.Generator().manual_seed(seed),
                                         dtype=torch.float64)


@pytest.mark.parametrize("factor,lr", [(1, (72, 56)), (2, (52, 40)), (4, (40, 36))])
def test_tiled_equals_whole_frame(factor, lr):
    camera = Camera(factor=factor)
    shape = (lr[0] * factor, lr[1] * factor)
    g = _frame(camera, shape)
    net = _net(camera, shape)
    whole = net_restore(net, g)
    radius, _ = probe(net, camera)
    tile = 2 * (radius + 1) + 10  # cores of 10 px: many seams, a shifted last tile
    tiled, info = net_restore_tiled(net, g, camera, tile=tile)
    assert info["tiles"] > 4 and info["overlap"] == radius + 1
    band = 6  # object pixels: the 5 × 3×3 convolutions' reach
    err = (tiled - whole).abs()[..., band:-band, band:-band]
    assert float(err.max()) < 0.1 * camera.netd  # K (the estimate spans > 40 K)
    # the margin matters: without it the seams are wrong
    bad, _ = net_restore_tiled(net, g, camera, tile=12, overlap=1)
    assert float((bad - whole).abs()[..., band:-band, band:-band].max()) > 10 * float(err.max())


def test_whole_frame_when_it_fits_and_restore_tiles_on_request():
    camera = Camera(factor=2)
    shape = (64, 48)
    g = _frame(camera, shape)
    net = _net(camera, (32, 32))  # another grid: moved to the frame's operator
    x, info = net_restore_tiled(net, g, camera)
    assert info["tiles"] == 1 and info["bytes_per_pixel"] > 64
    x2, _, note = restore(g[0, 0], camera, net=net, tile=40)
    assert "tiles" in note
    assert float((x2 - x).abs()[..., 6:-6, 6:-6].max()) < 0.1 * camera.netd


def test_tile_below_twice_the_overlap_is_refused():
    camera = Camera(factor=2)
    g = _frame(camera, (32, 32))
    with pytest.raises(InputError, match="tile"):
        net_restore_tiled(_net(camera, (32, 32)), g, camera, tile=8, overlap=4)


def test_memory_rule_tiles_automatically(monkeypatch):
    import physinv.thermal.networks as networks

    camera = Camera(factor=2)
    shape = (192, 160)
    g = _frame(camera, shape)
    net = _net(camera, shape)
    whole = net_restore(net, g)
    _, per_pixel = probe(net, camera)
    # room for one tile of 44² detector pixels (88² object pixels), not for the frame
    monkeypatch.setattr(networks, "available_memory",
                        lambda: per_pixel * 88**2 / networks.MEMORY_SHARE)
    x, info = net_restore_tiled(net, g, camera)
    assert info["tiles"] > 1 and info["tile"] == 40  # the largest multiple of 8 that fits
    assert float((x - whole).abs()[..., 6:-6, 6:-6].max()) < 0.1 * camera.netd
    monkeypatch.setattr(networks, "available_memory", lambda: 1000.0)
    with pytest.raises(InputError, match="tile"):
        net_restore_tiled(net, g, camera)
