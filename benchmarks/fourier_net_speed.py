"""FourierNet inference speed on 512×512 against one rfft2 + irfft2 pair (networks issue
target: at most 2×), measured side by side (interleaved medians) in one run, float32 and
float64, for the per-frequency and the structured forms. Writes
``benchmarks/results/fourier_net_speed-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import torch
from timing import interleaved_medians, save_result

from physinv.io import environment
from physinv.nets import FourierNet
from physinv.operators import Convolution, psf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    op = Convolution(psf.gaussian(2.0, 25), (512, 512))
    nets = {s: FourierNet(op, lam=0.01, structure=s).eval()
            for s in ("table", "radial", "parametric")}
    rows = []
    for dtype in (torch.float32, torch.float64):
        y = torch.rand(1, 1, 512, 512, generator=torch.Generator().manual_seed(0), dtype=dtype)
        fns = {"pair": lambda y=y: torch.fft.irfft2(torch.fft.rfft2(y), s=(512, 512))}
        for name, net in nets.items():
            fns[name] = lambda y=y, net=net: net(y)
        with torch.no_grad():
            med = interleaved_medians(fns, args.repeats)
        for name in nets:
            rows.append({"dtype": str(dtype).replace("torch.", ""), "structure": name,
                         "rfft_pair_ms": 1e3 * med["pair"], "net_ms": 1e3 * med[name],
                         "ratio": med[name] / med["pair"]})
            print(f"{rows[-1]['dtype']:8s} {name:10s} pair {1e3 * med['pair']:.2f} ms, "
                  f"net {1e3 * med[name]:.2f} ms, ratio {rows[-1]['ratio']:.2f} (target <= 2)")
    result = {"benchmark": "fourier_net_speed", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "environment": environment(), "rows": rows}
    save_result("fourier_net_speed", result, args.json)


if __name__ == "__main__":
    main()
