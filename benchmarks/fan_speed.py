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
  unfiltered back-projection, the adjoint's role), FBP ``iradon(filter_name="ramp")``;
- with ``--astra PATH`` (a folder holding ``astra-toolbox`` 2.5 and its two CUDA runtime
  wheels, installed with ``pip install --no-deps --target PATH``: an optional comparison, not
  a dependency), ASTRA's CPU projectors: ``astra-parallel`` (``linear``, 180°) and
  ``astra-fan`` (``line_fanflat``, the same fan geometry: ASTRA's angle is β + 180° and its
  detector runs the other way), FP + BP by ``create_sino`` / ``create_backprojection``; each
  also records its sinogram's agreement with physinv's on two Gaussian blobs at 129² (odd,
  so that both put the rotation centre on the centre pixel).

Ratios are against scikit-image and ASTRA at the same size and number of views. Warm times
are the median (and the minimum, less sensitive to a busy machine) of ``--repeats``
applications. Float32 Shepp–Logan. Writes ``benchmarks/results/fan_speed-<timestamp>.json``.

    python benchmarks/fan_speed.py [--repeats 3] [--skip-1024] [--astra PATH] [--json out.json]
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
    if spec["library"].startswith("astra"):
        return _astra_case(spec)
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
               forward_adjoint_min_s=min(times), forward_adjoint_all_s=times)
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


def _astra_geometry(astra, n: int, views: int, fan: bool):
    """ASTRA's projector for physinv's fan geometry (D_so = 2N, D_sd = 4N, 360°) or parallel
    beam (180°), with the same detector."""
    import numpy as np

    from physinv.operators import FanBeam

    vol = astra.create_vol_geom(n, n)
    if not fan:
        proj = astra.create_proj_geom("parallel", 1.0, n,
                                      np.deg2rad(np.linspace(0, 180, views, endpoint=False)))
        return astra.create_projector("linear", proj, vol), None
    op = FanBeam((n, n), np.linspace(0, 360, views, endpoint=False), 2.0 * n, 4.0 * n)
    proj = astra.create_proj_geom("fanflat", op.detector_spacing, op.out_shape[0],
                                  np.deg2rad(op.angles.numpy() + 180), op.source_distance,
                                  op.detector_distance - op.source_distance)
    return astra.create_projector("line_fanflat", proj, vol), op


def _astra_case(spec: dict) -> dict:
    """FP + BP with ASTRA's CPU projectors, and the agreement of its sinogram with physinv's."""
    import numpy as np
    import torch

    sys.path.insert(0, spec["astra_path"])
    import astra

    from physinv.data.phantoms import shepp_logan
    from physinv.operators import Radon

    fan = spec["library"] == "astra-fan"
    n, views = spec["n"], spec["views"]
    out = {**spec, "astra": astra.__version__, "cuda": bool(astra.use_cuda()),
           "baseline_peak_gb": _peak_gb()}
    image = shepp_logan(n)[0, 0].numpy()
    start = time.perf_counter()
    pid, _ = _astra_geometry(astra, n, views, fan)
    out["build_s"] = time.perf_counter() - start

    def apply():
        sid, sino = astra.create_sino(image, pid)
        bid, _ = astra.create_backprojection(sino, pid)
        astra.data2d.delete([sid, bid])

    first, warm, times = _timed(apply, spec["repeats"])
    out.update(first_forward_adjoint_s=first, forward_adjoint_s=warm,
               forward_adjoint_min_s=min(times), forward_adjoint_all_s=times)
    m = 129
    yy, xx = np.mgrid[:m, :m]
    blobs = (np.exp(-((xx - 80) ** 2 + (yy - 50) ** 2) / 50.0)
             + 0.5 * np.exp(-((xx - 40) ** 2 + (yy - 75) ** 2) / 32.0))
    small, op = _astra_geometry(astra, m, 360, fan)
    if op is None:
        op = Radon((m, m), np.linspace(0, 180, 360, endpoint=False), n_detectors=m)
    ours = op(torch.from_numpy(blobs)[None, None])[0, 0].numpy()
    sid, theirs = astra.create_sino(blobs, small)
    theirs = theirs.T[::-1] if fan else theirs.T
    out["relative_difference_vs_physinv_129"] = float(np.linalg.norm(theirs - ours)
                                                      / np.linalg.norm(ours))
    out["peak_gb"] = _peak_gb()
    return out


def _cases(args) -> list[dict]:
    sizes = [(256, 360), (512, 360)] + ([] if args.skip_1024 else [(1024, 720)])
    libs = ("fan", "radon", "skimage") + (("astra-fan", "astra-parallel") if args.astra else ())
    cases = [dict(library=lib, n=n, views=v, repeats=1 if n > 512 else args.repeats)
             for n, v in sizes for lib in libs]
    for c in cases:
        if c["library"].startswith("astra"):
            c["astra_path"] = str(args.astra)
    return cases


def _summary(rows: list[dict]) -> dict:
    """Per size: each contender's figures, ratios to scikit-image and fan / parallel."""
    ok = {(r["library"], r["n"], r["views"]): r for r in rows if "error" not in r}
    out = {}
    for (lib, n, views), r in ok.items():
        if lib == "skimage" or lib.startswith("astra"):
            continue
        entry = {k: r[k] for k in ("build_s", "first_forward_adjoint_s", "forward_adjoint_s",
                                   "forward_adjoint_min_s", "fbp_s", "peak_gb", "cached")}
        ref = ok.get(("skimage", n, views))
        if ref is not None:
            entry["ratio_vs_skimage"] = r["forward_adjoint_s"] / ref["forward_adjoint_s"]
            entry["min_ratio_vs_skimage"] = (r["forward_adjoint_min_s"]
                                             / ref["forward_adjoint_min_s"])
            entry["first_ratio_vs_skimage"] = (r["first_forward_adjoint_s"]
                                               / ref["forward_adjoint_s"])
            entry["fbp_ratio_vs_skimage"] = r["fbp_s"] / ref["fbp_s"]
        astra = ok.get(("astra-fan" if lib == "fan" else "astra-parallel", n, views))
        if astra is not None:
            entry["ratio_vs_astra"] = r["forward_adjoint_s"] / astra["forward_adjoint_s"]
            entry["min_ratio_vs_astra"] = (r["forward_adjoint_min_s"]
                                           / astra["forward_adjoint_min_s"])
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
    parser.add_argument("--astra", type=Path, default=None,
                        help="folder holding astra-toolbox (pip install --target)")
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
              "astra": ("astra-toolbox 2.5.0 CPU projectors, installed outside the venv "
                        f"({args.astra})" if args.astra else "not compared"),
              "load_average_before_after": [list(load_before), list(os.getloadavg())]}
    print(json.dumps(result["summary"], indent=1))
    save_result("fan_speed", result, args.json)


if __name__ == "__main__":
    main()
