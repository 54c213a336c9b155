"""Helpers shared by the benchmark scripts: wall-clock medians after a warm-up, and writing a
run's JSON under ``benchmarks/results/``."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from physinv.io import write_json
from physinv.runtime import keep_freed_memory

keep_freed_memory()  # every benchmark script imports this module: the same allocator settings


def median_seconds(fn, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median seconds of each callable, measured in alternation so drift hits all alike."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: float(np.median(v)) for k, v in times.items()}


def save_result(name: str, result: dict, path: Path | None = None) -> Path:
    """Write ``result`` as JSON to ``path`` or ``benchmarks/results/<name>-<UTC stamp>.json``."""
    out = path or Path(__file__).parent / "results" / (
        f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result, with_environment=True)
    print(f"wrote {out}")
    return out
