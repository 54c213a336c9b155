"""Epochs per second of ``physinv train`` with one process and with two processes (torchrun,
gloo, DistributedDataParallel) on this machine's CPU cores, for one network.

Same work in every configuration: the deblur_gauss task, N = 16 training crops (128×128),
``--samples-per-epoch 16 --batch-size 4`` (the global batch: two processes take two samples
each), a fixed λ and seed, a fixed number of epochs and no early stop. Configurations, run in
alternation ``--repeats`` times: 1 process × 2 threads, 1 process × 1 thread, 2 processes × 1
thread. Epochs/s is measured inside the run (metrics.jsonl: from the end of epoch 1 to the
last epoch, so start-up, process-group set-up and the first epoch's warm-up are excluded);
wall seconds of the whole command are reported too. Also reported: how far the two-process
weights (after the last step) end from the one-process weights (float32, Adam). Writes
``benchmarks/results/ddp_scaling-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.torch import load_file
from timing import save_result

from physinv.io import environment

CONFIGS = {"1 process × 2 threads": (1, 2), "1 process × 1 thread": (1, 1),
           "2 processes × 1 thread": (2, 1)}


def _run(processes: int, threads: int, out: Path, args) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(key, None)
    launcher = [sys.executable, "-m", "physinv.cli"] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc-per-node={processes}", "-m", "physinv.cli"]
    command = [*launcher, "train", "--task", args.task, "--net", args.net, "--n-train",
               str(args.n_train), "--epochs", str(args.epochs), "--samples-per-epoch",
               str(args.samples), "--batch-size", str(args.batch), "--lam", str(args.lam),
               "--patience", str(10 * args.epochs), "--device", "cpu", "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return time.perf_counter() - start


def _epochs_per_second(out: Path) -> float:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[1], rows[-1]
    return (last["epoch"] - first["epoch"]) / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="deblur_gauss")
    parser.add_argument("--net", default="unrolled-hqs")
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lam", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    measured = {name: {"epochs_per_s": [], "wall_s": []} for name in CONFIGS}
    gaps = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, (processes, threads) in CONFIGS.items():
                out = Path(tmp) / f"{repeat}-{processes}-{threads}"
                wall = _run(processes, threads, out, args)
                measured[name]["wall_s"].append(wall)
                measured[name]["epochs_per_s"].append(_epochs_per_second(out))
                print(f"{name}: {measured[name]['epochs_per_s'][-1]:.3f} epochs/s, "
                      f"{wall:.1f} s", flush=True)
            one = load_file(str(Path(tmp) / f"{repeat}-1-1" / "last.safetensors"))
            two = load_file(str(Path(tmp) / f"{repeat}-2-1" / "last.safetensors"))
            gaps.append(max(float((one[k].double() - two[k].double()).abs().max())
                            for k in one if k.startswith("param.")))
    rows = []
    base = float(np.median(measured["1 process × 2 threads"]["epochs_per_s"]))
    single = float(np.median(measured["1 process × 1 thread"]["epochs_per_s"]))
    for name, (processes, threads) in CONFIGS.items():
        eps = float(np.median(measured[name]["epochs_per_s"]))
        rows.append({"config": name, "processes": processes, "threads_per_process": threads,
                     "epochs_per_s": eps, "wall_s": float(np.median(measured[name]["wall_s"])),
                     "runs_epochs_per_s": measured[name]["epochs_per_s"],
                     "speed_vs_1proc_2threads": eps / base,
                     "speed_vs_1proc_1thread": eps / single})
        print(f"{name:24s} {eps:.3f} epochs/s  ×{eps / base:.2f} vs 1×2  "
              f"×{eps / single:.2f} vs 1×1")
    print(f"max |w(2 processes) − w(1 process)| after {args.epochs} epochs: {max(gaps):.3g}")
    result = {"benchmark": "ddp_scaling", "settings": vars(args) | {"json": None},
              "rows": rows, "max_weight_gap_2proc_vs_1proc": gaps,
              "environment": environment()}
    save_result("ddp_scaling", result, args.json)


if __name__ == "__main__":
    main()
