"""The build of a CT projector as a user pays it: constructor + the first forward + adjoint
(which computes and keeps the cached projector) against the steady F + A, at 512² × 360 on one
thread, for ``FanBeam`` (D_so = 2N, D_sd = 4N, 360°) and ``Radon`` (180°).

``cache_fill_s`` = first F + A − the best of three more; the issue's "build ≤ 1 s" is
``constructor_s + cache_fill_s``. ``fan_speed.py`` times the rest (ASTRA, scikit-image).

Usage::

    python benchmarks/ct_first_application.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

from physinv.operators import Radon
from physinv.operators.fan import FanBeam

sys.path.insert(0, str(Path(__file__).parent))
from timing import save_result  # noqa: E402


def measure(make, x: torch.Tensor) -> dict:
    """Constructor time, first and steady F + A of the operator ``make()`` builds."""
    start = time.perf_counter()
    op = make()
    built = time.perf_counter() - start
    runs = []
    for _ in range(4):
        start = time.perf_counter()
        op.adjoint(op(x))
        runs.append(time.perf_counter() - start)
    steady = min(runs[1:])
    return {"constructor_s": built, "first_forward_adjoint_s": runs[0],
            "steady_forward_adjoint_s": steady, "cache_fill_s": runs[0] - steady,
            "build_total_s": built + runs[0] - steady, "cached": op.cached}


def main(n: int = 512) -> dict:
    torch.set_num_threads(1)
    x = torch.rand(1, 1, n, n)
    torch.sin(x)  # the process's first calls, outside the timings
    rows = {
        "fan": measure(lambda: FanBeam((n, n), torch.arange(360) * 1.0, source_distance=2 * n,
                                       detector_distance=4 * n), x),
        "radon": measure(lambda: Radon((n, n), torch.arange(360) * 0.5), x),
    }
    result = {"benchmark": "ct_first_application", "n": n, "views": 360, "threads": 1,
              "dtype": "float32", "load_average_before": os.getloadavg(), "rows": rows,
              "target_build_s_max": 1.0}
    save_result("ct_first_application", result)
    return result


if __name__ == "__main__":
    for name, row in main()["rows"].items():
        print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
