"""Timing helpers shared by the benchmark scripts (wall-clock medians after a warm-up)."""

from __future__ import annotations

import time

import numpy as np


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
