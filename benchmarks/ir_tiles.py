"""A network on a 640×512 object grid, whole frame vs overlapping tiles: time, margin, memory
estimate and the largest difference.

The network is ``tikhonov-residual`` for each camera of ``benchmarks/ir_speed.py``'s ×4 and ×2
cases, built at λ = 10⁻² ‖H‖² with its CNN weights perturbed by 0.1 N(0, 1) (seed 1) so that
the CNN part is not zero — the comparison is about tiling, not about training. The frame is
the ir_speed scene (seed 4242, NETD 0.08 K). ``net_restore_tiled`` is run with the memory
rule (whole frame here) and with forced tiles of ``--tile`` detector pixels; the difference is
reported on every pixel and away from a 6-object-pixel band along the frame's border (where
the whole-frame CNN zero-pads, see ``physinv.thermal.networks``). One torch thread.

Run: nice -n 10 .venv/bin/python benchmarks/ir_tiles.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from physinv.io import write_json
from physinv.nets.registry import build
from physinv.runtime import keep_freed_memory
from physinv.thermal.networks import net_restore_tiled

sys.path.insert(0, str(Path(__file__).parent))
from ir_speed import CASES, SHAPE, frame  # noqa: E402


def network(camera):
    op = camera.operator(SHAPE)
    torch.manual_seed(0)
    net = build("tikhonov-residual", op, 1e-2 * op.norm() ** 2)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return net


def main():
    keep_freed_memory()  # the allocator settings of the physinv command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for case in ("sr_x4", "sr_x2"):
        camera = CASES[case]
        _, g = frame(camera)
        y = g[None, None]
        net = network(camera)
        start = time.perf_counter()
        whole, info_w = net_restore_tiled(net, y, camera)
        t_whole = time.perf_counter() - start
        start = time.perf_counter()
        tiled, info = net_restore_tiled(net, y, camera, tile=args.tile)
        t_tiled = time.perf_counter() - start
        diff = (tiled - whole).abs()
        row = {"case": case, "detector": list(g.shape), "object": list(SHAPE),
               "whole_seconds": t_whole, "whole_tiles": info_w["tiles"],
               "tiled_seconds": t_tiled, **info,
               "max_diff_k": float(diff.max()),
               "max_diff_inside_k": float(diff[..., 6:-6, 6:-6].max()),
               "netd_k": camera.netd,
               "whole_bytes_estimate": info["bytes_per_pixel"] * SHAPE[0] * SHAPE[1]}
        rows.append(row)
        print(row, flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    result = {"benchmark": "ir_tiles", "when": stamp, "rows": rows, "threads": 1,
              "load_average": list(os.getloadavg())}
    args.out.mkdir(parents=True, exist_ok=True)
    print(write_json(args.out / f"ir_tiles-{stamp}.json", result, with_environment=True))


if __name__ == "__main__":
    main()
