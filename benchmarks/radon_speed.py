"""Radon forward + adjoint speed against ``skimage.transform.radon``, side by side in one run.

256×256 Shepp-Logan, 180 angles in [0°, 180°), float32, on this machine's CPU threads.
Reports the median wall-clock time of one ``skimage.transform.radon`` call, and per image the
median time of physinv's forward + adjoint for a single image and for a batch of 16, with the
ratios the foundation issue sets (≥ 5× single, ≥ 20× batch), plus the agreement with skimage.
Writes ``benchmarks/results/radon_speed-<timestamp>.json`` (or ``--json PATH``).

    python benchmarks/radon_speed.py [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import skimage
import torch
from skimage.transform import radon
from timing import median_seconds, save_result

import physinv
from physinv.data.phantoms import shepp_logan
from physinv.operators import Radon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--angles", type=int, default=180)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    n = args.size
    angles = np.linspace(0, 180, args.angles, endpoint=False)
    image = shepp_logan(n)
    image_np = image[0, 0].double().numpy()

    sk = median_seconds(lambda: radon(image_np, angles, circle=True), args.repeats)
    start = time.perf_counter()
    op = Radon((n, n), angles)
    build = time.perf_counter() - start

    rows = {}
    for batch in (1, args.batch):
        x = image.repeat(batch, 1, 1, 1)
        y = op(x)
        fwd = median_seconds(lambda x=x: op(x), args.repeats) / batch
        adj = median_seconds(lambda y=y: op.adjoint(y), args.repeats) / batch
        rows[f"batch_{batch}"] = {
            "forward_ms_per_image": 1e3 * fwd, "adjoint_ms_per_image": 1e3 * adj,
            "forward_adjoint_ms_per_image": 1e3 * (fwd + adj),
            "speedup_vs_one_skimage_radon": sk / (fwd + adj),
        }
    ref = radon(image_np, angles, circle=True)
    ours = op(image.double())[0, 0].numpy()
    result = {
        "benchmark": "radon_speed",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "size": n, "n_angles": args.angles, "dtype": "float32", "repeats": args.repeats,
        "skimage_radon_ms": 1e3 * sk,
        "physinv_build_s": build,
        "physinv": rows,
        "targets": {"single_speedup_min": 5.0, "batch_speedup_min": 20.0},
        "relative_error_vs_skimage_float64": float(np.linalg.norm(ours - ref) /
                                                   np.linalg.norm(ref)),
        "environment": {
            "physinv": physinv.__version__, "torch": torch.__version__,
            "skimage": skimage.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpu": _cpu_name(), "threads": torch.get_num_threads(),
        },
    }
    print(json.dumps(result, indent=2))
    save_result("radon_speed", result, args.json)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
