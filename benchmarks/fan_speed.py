"""Fan beam at real sizes: physinv's FanBeam beside its parallel-beam Radon and scikit-image.

For each size × views (256² × 360, 512² × 360, 1024² × 720) and each contender, one fresh
subprocess (one torch thread: the machine is shared) measures the build (constructor) time,
the first forward + adjoint (for a cached operator it computes the kept blocks), the median
warm forward + adjoint over ``--repeats`` applications, the FBP time, and the process's peak
resident memory (``ru_maxrss``; also the baseline after the imports). Contenders:

- ``fan``: ``FanBeam`` over 360° (D_so = 2N, D_sd = 4N, the ``fan:`` spec's defaults), its
  memory rule deciding cached or streamed; FBP is ``fan_fbp``; also a short scan
  (180° + fan angle, Parker weights) for its FBP time;
- ``radon``: ``Radon`` with the same number of views over 180°; FBP is ``fbp``;
- ``skimage``: ``radon(circle=True)`` + ``iradon(filter_name=None, circle=True)`` (the
  unfiltered back-projection, the adjoint's role), FBP ``iradon(filter_name="ramp")``.

Ratios are against scikit-image at the same size and number of views (1024² × 720 included).
ASTRA is not installable here (no wheel on the package lists, no network for pip): not compared.
Float32 Shepp–Logan. Writes ``benchmarks/results/fan_speed-<timestamp>.json``.

    python benchmarks/fan_speed.py [--repeats 3] [--skip-1024] [--timeout 900] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from radon_scale import _peak_gb, _run  # noqa: E402

TARGETS = {"peak_memory_gb_max": 1.0, "forward_adjoint_vs_skimage_max": 1 / 3,
           "build_s_max": 1.0}


def _timed(fn, repeats: int) -> tuple[float, float, list]:
    """(first call's seconds, median of the next ``repeats``, all of them)."""
    import numpy as np

    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times)), times


def _case(spec: dict) -> dict:
    """Run one case in this (fresh) process and return its measurements."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from skimage.transform import iradon, radon

    from physinv.data.phantoms import shepp_logan
    from physinv.operators import FanBeam, Radon, fan_fbp, fbp

    n, views, lib = spec["n"], spec["views"], spec["library"]
    image = shepp_logan(n)
    out = {**spec, "torch_threads": torch.get_num_threads(), "baseline_peak_gb": _peak_gb()}
    start = time.perf_counter()
    if lib == "skimage":
        angles = np.linspace(0, 180, views, endpoint=False)
        img = image[0, 0].numpy()
        sino = radon(img, angles, circle=True)

        def apply():
            iradon(radon(img, angles, circle=True), angles, filter_name=None, circle=True)

        def recon():
            iradon(sino, angles, filter_name="ramp", circle=True)
    else:
        if lib == "radon":
            op = Radon((n, n), np.linspace(0, 180, views, endpoint=False))
            inverse = fbp
        else:
            op = FanBeam((n, n), np.linspace(0, 360, views, endpoint=False), 2.0 * n, 4.0 * n)
            inverse = fan_fbp
        out["build_s"] = time.perf_counter() - start
        out["cached"], out["cache_rule_bytes"] = bool(op.cached), int(op.cache_bytes)
        out["out_shape"] = list(op.out_shape)

        def apply():
            op.adjoint(op(image))

        def recon():
            inverse(sino, op)
    out.setdefault("build_s", 0.0)
    first, warm, times = _timed(apply, spec["repeats"])
    out.update(first_forward_adjoint_s=first, forward_adjoint_s=warm,
               forward_adjoint_all_s=times)
    if lib != "skimage":
        sino = op(image)
    start = time.perf_counter()
    recon()
    out["fbp_s"] = time.perf_counter() - start
    if lib == "fan":  # the full scan's first views over ≥ 180° + the fan angle
        m = int(np.ceil(op.minimum_arc / (360 / views) - 1e-9)) + 1
        short = FanBeam((n, n), op.angles[:m], 2.0 * n, 4.0 * n)
        start = time.perf_counter()
        fan_fbp(sino[..., :m], short)
        out["short_scan"] = {"minimum_arc_deg": op.minimum_arc, "views": m,
                             "arc_deg": float(op.angles[m - 1]),
                             "fbp_s": time.perf_counter() - start}
    out["peak_gb"] = _peak_gb()
    return out


def _cases(args) -> list[dict]:
    sizes = [(256, 360), (512, 360)] + ([] if args.skip_1024 else [(1024, 720)])
    return [dict(library=lib, n=n, views=v, repeats=1 if n > 512 else args.repeats)
            for n, v in sizes for lib in ("fan", "radon", "skimage")]


def _summary(rows: list[dict]) -> dict:
    """Per size: each contender's figures, ratios to scikit-image and fan / parallel."""
    ok = {(r["library"], r["n"], r["views"]): r for r in rows if "error" not in r}
    out = {}
    for (lib, n, views), r in ok.items():
        if lib == "skimage":
            continue
        entry = {k: r[k] for k in ("build_s", "first_forward_adjoint_s", "forward_adjoint_s",
                                   "fbp_s", "peak_gb", "cached")}
        ref = ok.get(("skimage", n, views))
        if ref is not None:
            entry["ratio_vs_skimage"] = r["forward_adjoint_s"] / ref["forward_adjoint_s"]
            entry["first_ratio_vs_skimage"] = (r["first_forward_adjoint_s"]
                                               / ref["forward_adjoint_s"])
            entry["fbp_ratio_vs_skimage"] = r["fbp_s"] / ref["fbp_s"]
        par = ok.get(("radon", n, views))
        if lib == "fan" and par is not None:
            entry["ratio_vs_parallel"] = r["forward_adjoint_s"] / par["forward_adjoint_s"]
        if (n, views) == (512, 360) and "ratio_vs_skimage" in entry:
            entry["meets"] = {
                "peak_memory": r["peak_gb"] <= TARGETS["peak_memory_gb_max"],
                "build": r["build_s"] <= TARGETS["build_s_max"],
                "forward_adjoint": entry["ratio_vs_skimage"]
                <= TARGETS["forward_adjoint_vs_skimage_max"]}
        out[f"{lib}-{n}x{views}"] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-1024", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per case")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(_case(json.loads(args.case))))
        return

    from timing import save_result

    load_before = os.getloadavg()
    rows = []
    for spec in _cases(args):
        row = _run(spec, args.timeout, script=__file__)
        print(json.dumps(row), flush=True)
        rows.append(row)
    result = {"benchmark": "fan_speed", "dtype": "float32", "phantom": "shepp_logan",
              "geometry": "fan: D_so = 2N, D_sd = 4N, 360°; parallel: 180°",
              "targets": TARGETS, "rows": rows, "summary": _summary(rows),
              "astra": "not installable in this environment: not compared",
              "load_average_before_after": [list(load_before), list(os.getloadavg())]}
    print(json.dumps(result["summary"], indent=1))
    save_result("fan_speed", result, args.json)


if __name__ == "__main__":
    main()
