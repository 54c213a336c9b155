"""Tomography at real sizes: physinv's Radon against scikit-image, side by side in one run.

For each size × angles (256² × 180, 512² × 360, and 1024² × 720 for physinv alone) and each
contender, one fresh subprocess measures: the build (constructor) time, the first
application (forward + adjoint; for the cached form it fills the cache), the median forward +
adjoint time over ``--repeats`` warm applications, and the process's peak resident memory
(``resource.getrusage(...).ru_maxrss``; also the baseline after the imports). Contenders:

- ``physinv`` with the default memory rule (``radon.CACHE_BYTES``: cached up to 768 MiB of
  weights, streamed above), and with the cache forced (``cache_bytes=2**31``) at 512²; each
  with the default torch threads and with one thread (the machine is shared; contention for
  the second core shows up here);
- ``skimage``: ``radon(circle=True)`` + ``iradon(filter_name=None, circle=True)`` (the
  unfiltered back-projection, the adjoint's role).

ASTRA is not compared here: ``fan_speed.py --astra PATH`` compares ASTRA 2.5's CPU
projectors (installed outside the venv) with this Radon and the fan beam.
Float32 Shepp–Logan; the sinograms' agreement with ``skimage.transform.radon`` is recorded.
Writes ``benchmarks/results/radon_scale-<timestamp>.json`` (or ``--json PATH``).

    python benchmarks/radon_scale.py [--repeats 3] [--skip-1024] [--timeout 400] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"peak_memory_gb_max": 1.0, "forward_adjoint_vs_skimage_max": 1 / 3,
           "build_s_max": 1.0}


def _peak_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def _case(spec: dict) -> dict:
    """Run one case in this (fresh) process and return its measurements."""
    import numpy as np
    import torch

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    from skimage.transform import iradon, radon

    from physinv.data.phantoms import shepp_logan
    from physinv.operators import Radon

    n, n_angles, repeats = spec["n"], spec["angles"], spec["repeats"]
    angles = np.linspace(0, 180, n_angles, endpoint=False)
    image = shepp_logan(n)
    baseline = _peak_gb()
    out = {**spec, "torch_threads": torch.get_num_threads(), "baseline_peak_gb": baseline}
    if spec["library"] == "skimage":
        image_np = image[0, 0].numpy()

        def apply():
            sino = radon(image_np, angles, circle=True)
            iradon(sino, angles, filter_name=None, circle=True)
            return sino

        out["build_s"] = 0.0
    else:
        start = time.perf_counter()
        kw = {} if spec["mode"] == "auto" else {"cache_bytes": 2**31}
        op = Radon((n, n), angles, **kw)
        out["build_s"] = time.perf_counter() - start
        out["cached"] = bool(op.cached)
        out["cache_rule_bytes"] = int(op.cache_bytes)

        def apply():
            sino = op(image)
            op.adjoint(sino)
            return sino

    start = time.perf_counter()
    sino = apply()
    out["first_forward_adjoint_s"] = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        apply()
        times.append(time.perf_counter() - start)
    out["forward_adjoint_s"] = float(np.median(times))
    out["forward_adjoint_all_s"] = times
    out["peak_gb"] = _peak_gb()
    if spec["library"] == "physinv" and n <= 512:
        ref = radon(image[0, 0].double().numpy(), angles, circle=True)
        ours = np.asarray(sino[0, 0].double().numpy())
        out["relative_error_vs_skimage"] = float(np.linalg.norm(ours - ref)
                                                 / np.linalg.norm(ref))
    return out


def _run(spec: dict, timeout: float, script: str = __file__) -> dict:
    """Run ``script --case SPEC`` in a fresh process; its last stdout line is the row."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        proc = subprocess.run([sys.executable, script, "--case", json.dumps(spec)],
                              capture_output=True, text=True, env=env, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {**spec, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cases(args) -> list[dict]:
    sizes = [(256, 180), (512, 360)] + ([] if args.skip_1024 else [(1024, 720)])
    cases = []
    for n, a in sizes:
        for threads in (1, 0):  # 0: torch's default
            cases.append(dict(library="physinv", mode="auto", n=n, angles=a, threads=threads))
            if n == 512:
                cases.append(dict(library="physinv", mode="cached", n=n, angles=a,
                                  threads=threads))
        if n <= 512:
            cases.append(dict(library="skimage", mode="-", n=n, angles=a, threads=0))
    for c in cases:
        c["repeats"] = 2 if c["n"] > 512 else args.repeats
    return cases


def _summary(rows: list[dict]) -> dict:
    """Per physinv row at 512² × 360: each target met or not, with the measured figure."""
    sk = {(r["n"], r["angles"]): r for r in rows if r["library"] == "skimage" and "error" not in r}
    out = {}
    for r in rows:
        if r["library"] != "physinv" or "error" in r:
            continue
        key = f"{r['n']}x{r['angles']}-{r['mode']}-threads{r['torch_threads']}"
        entry = {"build_s": r["build_s"], "peak_gb": r["peak_gb"],
                 "forward_adjoint_s": r["forward_adjoint_s"],
                 "first_forward_adjoint_s": r["first_forward_adjoint_s"]}
        ref = sk.get((r["n"], r["angles"]))
        if ref is not None:
            entry["ratio_vs_skimage"] = r["forward_adjoint_s"] / ref["forward_adjoint_s"]
            entry["first_ratio_vs_skimage"] = (r["first_forward_adjoint_s"]
                                               / ref["forward_adjoint_s"])
        if (r["n"], r["angles"]) == (512, 360):
            entry["meets"] = {
                "peak_memory": r["peak_gb"] <= TARGETS["peak_memory_gb_max"],
                "build": r["build_s"] <= TARGETS["build_s_max"],
                "forward_adjoint": entry.get("ratio_vs_skimage", float("inf"))
                <= TARGETS["forward_adjoint_vs_skimage_max"]}
        out[key] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-1024", action="store_true")
    parser.add_argument("--timeout", type=float, default=400.0, help="seconds per case")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(_case(json.loads(args.case))))
        return

    from timing import save_result

    from physinv.io import environment

    load_before = os.getloadavg()
    rows = []
    for spec in _cases(args):
        row = _run(spec, args.timeout)
        print(json.dumps(row), flush=True)
        rows.append(row)
    result = {"benchmark": "radon_scale", "dtype": "float32", "phantom": "shepp_logan",
              "targets": TARGETS, "rows": rows, "summary": _summary(rows),
              "astra": "not installable in this environment: not compared",
              "load_average_before_after": [list(load_before), list(os.getloadavg())],
              "environment": environment()}
    print(json.dumps(result["summary"], indent=1))
    save_result("radon_scale", result, args.json)


if __name__ == "__main__":
    main()
