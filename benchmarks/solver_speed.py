"""Solver speed targets of the solvers issue, measured side by side in one run.

1. Tikhonov by the Fourier path on 512×512 (λ given) against one rfft2 + irfft2 pair of the
   same size and dtype (target: at most 3×).
2. TV deblurring of a 256×256 image (deblur_gauss on the first test image): the time our ADMM
   takes to reach its converged PSNR (relative change < 1e-4), against 2.5 s, the figure the
   issue gives for DeepInverse's ADMM + TV prior on this CPU (DeepInverse is not installed
   here, so that reference is quoted, not measured; target: at most 1/10 of it).
Writes ``benchmarks/results/solver_speed-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import torch
from timing import interleaved_medians, median_seconds, save_result

from physinv.experiments.protocol import evaluation_pairs, get_task
from physinv.io import environment
from physinv.metrics import psnr
from physinv.operators import Convolution, psf
from physinv.solvers import tikhonov, tv


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = {"benchmark": "solver_speed",
              "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "environment": environment()}

    rows = []
    for dtype in (torch.float32, torch.float64):
        g = torch.Generator().manual_seed(0)
        y = torch.rand(1, 1, 512, 512, generator=g, dtype=dtype)
        op = Convolution(psf.gaussian(2.0, 25), (512, 512))
        med = interleaved_medians({
            "pair": lambda y=y: torch.fft.irfft2(torch.fft.rfft2(y), s=(512, 512)),
            "identity": lambda y=y, op=op: tikhonov(y, op, lam=0.01, reg="identity"),
            "gradient": lambda y=y, op=op: tikhonov(y, op, lam=0.01, reg="gradient"),
        }, args.repeats)
        for reg in ("identity", "gradient"):
            rows.append({"dtype": str(dtype).replace("torch.", ""), "reg": reg,
                         "rfft_pair_ms": 1e3 * med["pair"], "tikhonov_ms": 1e3 * med[reg],
                         "ratio": med[reg] / med["pair"], "target_max_ratio": 3.0})
        gcv = median_seconds(lambda y=y, op=op: tikhonov(y, op, lam="gcv"), 3)
        rows[-1]["tikhonov_gcv_ms"] = 1e3 * gcv
    result["tikhonov_512"] = rows

    task = get_task("deblur_gauss")
    name, x, y, op = evaluation_pairs(task, 1)[0]
    result["tv_256"] = []
    for dtype in (torch.float32, torch.float64):
        yd = y.to(dtype)
        seconds = median_seconds(lambda yd=yd: tv(yd, op, lam=0.001, tol=1e-4, n_iter=2000), 5)
        r = tv(yd, op, lam=0.001, tol=1e-4, n_iter=2000)
        result["tv_256"].append({
            "image": name, "dtype": str(dtype).replace("torch.", ""), "lam": 0.001,
            "lam_note": "chosen on training crops by physinv bench (deblur_gauss)",
            "iterations": r.n_iter, "stop": r.stop_reason, "seconds": seconds,
            "psnr": float(psnr(r.x.double(), x)), "deepinv_reference_s": 2.5,
            "deepinv_reference_measured": False, "fraction_of_reference": seconds / 2.5,
            "target_max_fraction": 0.1})
    print(json.dumps(result, indent=2))
    save_result("solver_speed", result, args.json)


if __name__ == "__main__":
    main()
