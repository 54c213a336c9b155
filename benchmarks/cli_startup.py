"""How fast the ``physinv`` command answers when it has no computing to do: help, version,
listings and refusals of bad input (issue 16: target ≤ 0.5 s each on this CPU).

Each command runs as a fresh process of the console script (``physinv`` beside this Python)
with its own empty cache folder (``PHYSINV_CACHE_DIR``): the first run is reported as ``cold_s``
(it builds the lists that help, ``info`` and ``nets`` show, importing torch), then ``--repeats``
runs give ``median_s`` / ``min_s`` / ``max_s``. ``torch_imported`` says whether a warm run
imports torch (checked by one more run under ``python -c`` with an exit hook); ``exit_code`` is
the warm runs' status (2 for the refusals). Writes
``benchmarks/results/cli_startup-<timestamp>.json`` (or ``--json PATH``).

    python benchmarks/cli_startup.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import save_result

TARGET_S = 0.5
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('TORCH=' + str('torch' in sys.modules), "
         "file=sys.stderr))\n"
         "sys.argv = ['physinv'] + {args!r}\n"
         "from physinv.cli import run\n"
         "run()\n")


def commands(work: Path) -> dict[str, list[str]]:
    """name → arguments; the refusals point into ``work`` (a file where a folder is needed,
    a missing file, absurd sizes)."""
    a_file = work / "a_file"
    a_file.write_text("x")
    out = str(work / "out")
    return {
        "--help": ["--help"],
        "--version": ["--version"],
        "info": ["info"],
        "nets": ["nets"],
        "train --help": ["train", "--help"],
        "reconstruct --help": ["reconstruct", "--help"],
        "bench --help": ["bench", "--help"],
        "ir restore --help": ["ir", "restore", "--help"],
        "refuse: nets --task unknown": ["nets", "--task", "unknown"],
        "refuse: train --epochs 10^9": ["train", "--net", "fourier-radial", "--task",
                                        "denoise", "--n-train", "4", "--epochs",
                                        "1000000000", "--out", out],
        "refuse: train --n-train 10^12": ["train", "--net", "fourier-radial", "--task",
                                          "denoise", "--n-train", "1000000000000", "--out",
                                          out],
        "refuse: reconstruct --n-iter 10^10": ["reconstruct", str(work / "missing.npy"),
                                               "--op", "identity", "--n-iter", "10000000000",
                                               "-o", str(work / "x.npy")],
        "refuse: reconstruct missing file": ["reconstruct", str(work / "missing.npy"), "--op",
                                             "identity", "-o", str(work / "x.npy")],
        "refuse: simulate -o under a file": ["simulate", "camera", "-o",
                                             str(a_file / "y.npy")],
        "refuse: bench --suite unknown": ["bench", "--suite", "rivals", "--json",
                                          str(work / "b.json")],
        "refuse: bench --test-images missing": ["bench", "--json", str(work / "b.json"),
                                                "--test-images", str(work / "nowhere")],
    }


def _executable() -> list[str]:
    script = Path(sys.executable).with_name("physinv")
    return [str(script)] if script.exists() else [sys.executable, "-m", "physinv.cli"]


def _run(argv: list[str], env: dict) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, timeout=300)
    return time.perf_counter() - start, done.returncode


def _torch_imported(args: list[str], env: dict) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, env=env, timeout=300)
    lines = done.stderr.strip().splitlines()
    return bool(lines) and lines[-1] == "TORCH=True"


def measure(args: list[str], repeats: int, work: Path) -> dict:
    """Cold time, warm times, exit code and torch import of one command."""
    with tempfile.TemporaryDirectory(dir=work) as cache:
        env = dict(os.environ, PHYSINV_CACHE_DIR=cache, COLUMNS="120")
        env.pop("PHYSINV_NO_CACHE", None)
        argv = _executable() + args
        cold, _ = _run(argv, env)
        runs = [_run(argv, env) for _ in range(repeats)]
        times = [t for t, _ in runs]
        median = statistics.median(times)
        return {"args": args, "cold_s": cold, "median_s": median, "min_s": min(times),
                "max_s": max(times), "exit_code": runs[-1][1],
                "torch_imported": _torch_imported(args, env), "within_target": median <=
                TARGET_S}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, argv in commands(work).items():
            rows[name] = measure(argv, args.repeats, work)
            row = rows[name]
            print(f"{name:40s} cold {row['cold_s']:.2f} s, median {row['median_s']:.2f} s, "
                  f"exit {row['exit_code']}, torch {row['torch_imported']}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    save_result("cli_startup", {
        "what": "wall-clock seconds of the physinv command with nothing to compute; median "
                f"of {args.repeats} warm runs after one cold run (fresh cache folder)",
        "target_s": TARGET_S, "repeats": args.repeats, "load_average": load,
        "commands": rows,
        "all_within_target": all(r["within_target"] for r in rows.values())}, args.json)


if __name__ == "__main__":
    main()
