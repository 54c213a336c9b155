"""Fan beam at real sizes: physinv's FanBeam beside its parallel-beam Radon, scikit-image and
(optionally) ASTRA, in one run.

Sizes × views: 256² × 360, 512² × 360, 1024² × 720. Two kinds of measurement, each contender
alike (one torch thread: the machine is shared):

1. **build and memory**, one fresh subprocess per contender and size: the build
   (constructor) time (the first in the process, ``build_first_s``, and the median of three
   more, ``build_s``: the first also pays the process's first calls), the first forward +
   adjoint (for a cached operator it computes the kept blocks), the FBP time and its PSNR on
   the Shepp–Logan phantom (disk r < N/2 − 2), and the process's peak resident memory
   (``ru_maxrss``; also the baseline after the imports);
2. **speed**, one subprocess per size holding every contender: after one warm-up each, the
   forward + adjoint of the contenders timed in turn, ``--repeats`` rounds, so that a busy
   machine slows all alike; the median and the minimum are recorded.

Contenders:

- ``fan``: ``FanBeam`` over 360° (D_so = 2N, D_sd = 4N, the ``fan:`` spec's defaults), its
  memory rule deciding cached or streamed; FBP ``fan_fbp``; also the short scan made of the
  full scan's first views over ≥ 180° + the fan angle (Parker weights): its FBP time and PSNR;
- ``radon``: ``Radon`` with the same number of views over 180°; FBP ``fbp`` (ramp);
- ``skimage``: ``radon(circle=True)`` + ``iradon(filter_name=None, circle=True)`` (the
  unfiltered back-projection, the adjoint's role); FBP ``iradon(filter_name="ramp")``;
- with ``--astra PATH`` (a folder holding ``astra-toolbox`` 2.5 and its two CUDA runtime
  wheels, installed with ``pip install --no-deps --target PATH``: an optional comparison, not
  a dependency), ASTRA's CPU projectors: ``astra-parallel`` (``linear``, 180°) and
  ``astra-fan`` (``line_fanflat``, the same fan geometry: ASTRA's angle is β + 180° and its
  detector runs the other way), FP + BP by ``create_sino`` / ``create_backprojection``; each
  also records its sinogram's agreement with physinv's on two Gaussian blobs at 129² (odd,
  so that both put the rotation centre on the centre pixel).

Float32. Writes ``benchmarks/results/fan_speed-<timestamp>.json``.

    python benchmarks/fan_speed.py [--repeats 5] [--skip-1024] [--astra PATH] [--json out.json]
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
           "forward_adjoint_vs_astra_max": 1 / 3, "build_s_max": 1.0}
LIBRARIES = ("fan", "radon", "skimage")
ASTRA = ("astra-fan", "astra-parallel")


def _disk_psnr(rec, image) -> float:
    """PSNR in dB on the disk r < N/2 − 2 (peak 1)."""
    import numpy as np

    n = image.shape[-1]
    mask = np.hypot(*np.mgrid[:n, :n] - n // 2) < n // 2 - 2
    rec, image = np.asarray(rec).reshape(n, n), np.asarray(image).reshape(n, n)
    return float(10 * np.log10(1.0 / np.mean((rec[mask] - image[mask]) ** 2)))


def _astra_projector(astra, n: int, views: int, fan: bool):
    """ASTRA's CPU projector for physinv's fan geometry (D_so = 2N, D_sd = 4N, 360°) or the
    parallel beam (180°) with the same detector, and physinv's operator."""
    import numpy as np

    from physinv.operators import FanBeam, Radon

    vol = astra.create_vol_geom(n, n)
    if not fan:
        angles = np.linspace(0, 180, views, endpoint=False)
        proj = astra.create_proj_geom("parallel", 1.0, n, np.deg2rad(angles))
        return astra.create_projector("linear", proj, vol), Radon((n, n), angles,
                                                                   n_detectors=n)
    op = FanBeam((n, n), np.linspace(0, 360, views, endpoint=False), 2.0 * n, 4.0 * n)
    proj = astra.create_proj_geom("fanflat", op.detector_spacing, op.out_shape[0],
                                  np.deg2rad(op.angles.numpy() + 180), op.source_distance,
                                  op.detector_distance - op.source_distance)
    return astra.create_projector("line_fanflat", proj, vol), op


def _astra_agreement(astra, fan: bool) -> float:
    """‖ASTRA − physinv‖ / ‖physinv‖ of the sinograms of two Gaussian blobs at 129² × 360."""
    import numpy as np
    import torch

    m = 129
    yy, xx = np.mgrid[:m, :m]
    blobs = (np.exp(-((xx - 80) ** 2 + (yy - 50) ** 2) / 50.0)
             + 0.5 * np.exp(-((xx - 40) ** 2 + (yy - 75) ** 2) / 32.0))
    pid, op = _astra_projector(astra, m, 360, fan)
    ours = op(torch.from_numpy(blobs)[None, None])[0, 0].numpy()
    _, theirs = astra.create_sino(blobs, pid)
    theirs = theirs.T[::-1] if fan else theirs.T
    return float(np.linalg.norm(theirs - ours) / np.linalg.norm(ours))


def _contender(lib: str, n: int, views: int, astra_path: str | None) -> dict:
    """Build one contender: its build time, ``apply`` (forward + adjoint of the phantom),
    ``recon`` (its FBP, or None) and facts about it."""
    import numpy as np

    from physinv.data.phantoms import shepp_logan
    from physinv.operators import FanBeam, Radon, fan_fbp, fbp

    image = shepp_logan(n)
    start = time.perf_counter()
    if lib.startswith("astra"):
        sys.path.insert(0, astra_path)
        import astra

        pid, _ = _astra_projector(astra, n, views, lib == "astra-fan")
        img = image[0, 0].numpy()

        def apply():
            sid, sino = astra.create_sino(img, pid)
            bid, _ = astra.create_backprojection(sino, pid)
            astra.data2d.delete([sid, bid])

        return {"build_s": time.perf_counter() - start, "apply": apply, "recon": None,
                "facts": {"astra": astra.__version__, "cuda": bool(astra.use_cuda())},
                "astra": astra}
    if lib == "skimage":
        from skimage.transform import iradon, radon

        angles = np.linspace(0, 180, views, endpoint=False)
        img = image[0, 0].numpy()
        sino = radon(img, angles, circle=True)
        return {"build_s": 0.0, "facts": {}, "image": img,
                "apply": lambda: iradon(radon(img, angles, circle=True), angles,
                                        filter_name=None, circle=True),
                "recon": lambda: iradon(sino, angles, filter_name="ramp", circle=True)}
    if lib == "radon":
        op = Radon((n, n), np.linspace(0, 180, views, endpoint=False))
        inverse = fbp
    else:
        op = FanBeam((n, n), np.linspace(0, 360, views, endpoint=False), 2.0 * n, 4.0 * n)
        inverse = fan_fbp
    build = time.perf_counter() - start
    state = {}  # the last sinogram, for the FBP

    def apply():
        state["sino"] = op(image)
        op.adjoint(state["sino"])

    return {"build_s": build, "op": op, "image": image, "state": state, "apply": apply,
            "facts": {"cached": bool(op.cached), "cache_rule_bytes": int(op.cache_bytes),
                      "out_shape": list(op.out_shape)},
            "recon": lambda: inverse(state["sino"], op)[0, 0].numpy()}


def _case(spec: dict) -> dict:
    """Build and memory of one contender, in this (fresh) process."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import skimage.transform  # noqa: F401  (imported by every contender's process alike)

    from physinv.operators import FanBeam, fan_fbp

    out = {**spec, "torch_threads": torch.get_num_threads(), "baseline_peak_gb": _peak_gb()}
    lib = spec["library"]
    if lib in ("fan", "radon"):  # the build alone: the first in the process, then 3 more
        builds = []
        for _ in range(4):
            start = time.perf_counter()
            _contender(lib, spec["n"], spec["views"], None)
            builds.append(time.perf_counter() - start)
        out["build_first_s"], out["build_s"] = builds[0], float(np.median(builds[1:]))
    c = _contender(lib, spec["n"], spec["views"], spec.get("astra_path"))
    out.setdefault("build_s", c["build_s"])
    out.update(c["facts"])
    start = time.perf_counter()
    c["apply"]()
    out["first_forward_adjoint_s"] = time.perf_counter() - start
    if c["recon"] is not None:
        start = time.perf_counter()
        rec = c["recon"]()
        out["fbp_s"] = time.perf_counter() - start
        out["fbp_psnr_db"] = _disk_psnr(rec, np.asarray(c["image"]))
    if lib == "fan":  # the full scan's first views over ≥ 180° + the fan angle
        op, views = c["op"], spec["views"]
        m = int(np.ceil(op.minimum_arc / (360 / views) - 1e-9)) + 1
        short = FanBeam(op.in_shape, op.angles[:m], op.source_distance, op.detector_distance)
        start = time.perf_counter()
        rec = fan_fbp(c["state"]["sino"][..., :m], short)
        out["short_scan"] = {"minimum_arc_deg": op.minimum_arc, "views": m,
                             "arc_deg": float(op.angles[m - 1]),
                             "fbp_s": time.perf_counter() - start,
                             "fbp_psnr_db": _disk_psnr(rec[0, 0].numpy(), c["image"])}
    if lib.startswith("astra"):
        out["relative_difference_vs_physinv_129"] = _astra_agreement(c["astra"],
                                                                     lib == "astra-fan")
    out["peak_gb"] = _peak_gb()
    return out


def _speed(spec: dict) -> dict:
    """Warm forward + adjoint of every contender at one size, timed in turn for ``repeats``
    rounds in this process."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    built = {lib: _contender(lib, spec["n"], spec["views"], spec.get("astra_path"))
             for lib in spec["libraries"]}
    for c in built.values():
        c["apply"]()  # warm-up (fills a cache)
    times = {lib: [] for lib in built}
    for _ in range(spec["repeats"]):
        for lib, c in built.items():
            start = time.perf_counter()
            c["apply"]()
            times[lib].append(time.perf_counter() - start)
    return {**{k: v for k, v in spec.items() if k != "libraries"}, "speed": {
        lib: {"median_s": float(np.median(t)), "min_s": float(min(t)), "all_s": t}
        for lib, t in times.items()}}


def _sizes(args) -> list[tuple[int, int]]:
    return [(256, 360), (512, 360)] + ([] if args.skip_1024 else [(1024, 720)])


def _summary(rows: list[dict], speed: list[dict]) -> dict:
    """Per physinv contender and size: build, first application, memory, FBP, and the warm
    forward + adjoint with its ratios to scikit-image, ASTRA and (fan) the parallel beam."""
    ok = {(r["library"], r["n"]): r for r in rows if "error" not in r}
    fast = {s["n"]: s["speed"] for s in speed if "error" not in s}
    out = {}
    for (lib, n), r in ok.items():
        if lib not in ("fan", "radon"):
            continue
        entry = {k: r.get(k) for k in ("build_s", "build_first_s", "first_forward_adjoint_s",
                                       "peak_gb",
                                       "cached", "fbp_s", "fbp_psnr_db", "short_scan")}
        sk = ok.get(("skimage", n))
        if sk is not None:
            entry["fbp_ratio_vs_skimage"] = r["fbp_s"] / sk["fbp_s"]
            entry["fbp_psnr_minus_skimage_db"] = r["fbp_psnr_db"] - sk["fbp_psnr_db"]
        t = fast.get(n, {})
        if lib in t:
            entry["forward_adjoint_median_s"] = t[lib]["median_s"]
            entry["forward_adjoint_min_s"] = t[lib]["min_s"]
            for other in ("skimage", "astra-fan" if lib == "fan" else "astra-parallel",
                          "radon" if lib == "fan" else None):
                if other in t:
                    key = "parallel" if other == "radon" else other
                    entry[f"ratio_vs_{key}"] = t[lib]["median_s"] / t[other]["median_s"]
                    entry[f"min_ratio_vs_{key}"] = t[lib]["min_s"] / t[other]["min_s"]
        if n == 512:
            astra = "astra-fan" if lib == "fan" else "astra-parallel"
            entry["meets"] = {
                "peak_memory": r["peak_gb"] <= TARGETS["peak_memory_gb_max"],
                "build": r["build_s"] <= TARGETS["build_s_max"],
                "forward_adjoint_vs_skimage": entry.get("ratio_vs_skimage", 9)
                <= TARGETS["forward_adjoint_vs_skimage_max"],
                "forward_adjoint_vs_astra": entry.get(f"ratio_vs_{astra}", 9)
                <= TARGETS["forward_adjoint_vs_astra_max"]}
        out[f"{lib}-{n}x{r['views']}"] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-1024", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per process")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--astra", type=Path, default=None,
                        help="folder holding astra-toolbox (pip install --target)")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--speed", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None or args.speed is not None:
        run = _case if args.case is not None else _speed
        print(json.dumps(run(json.loads(args.case or args.speed))))
        return

    from timing import save_result

    libs = LIBRARIES + (ASTRA if args.astra else ())
    extra = {"astra_path": str(args.astra)} if args.astra else {}
    load_before = os.getloadavg()
    rows, speed = [], []
    for n, views in _sizes(args):
        for lib in libs:
            rows.append(_run(dict(library=lib, n=n, views=views, **extra), args.timeout,
                             script=__file__))
            print(json.dumps(rows[-1]), flush=True)
    for n, views in _sizes(args):
        spec = dict(n=n, views=views, libraries=list(libs),
                    repeats=2 if n > 512 else args.repeats, **extra)
        speed.append(_speed_run(spec, args.timeout))
        print(json.dumps(speed[-1]), flush=True)
    result = {"benchmark": "fan_speed", "dtype": "float32", "phantom": "shepp_logan",
              "geometry": "fan: D_so = 2N, D_sd = 4N, 360°; parallel: 180°",
              "targets": TARGETS, "rows": rows, "speed": speed,
              "summary": _summary(rows, speed),
              "astra": ("astra-toolbox 2.5.0 CPU projectors, installed outside the venv "
                        "(pip install --no-deps --target)" if args.astra else "not compared"),
              "load_average_before_after": [list(load_before), list(os.getloadavg())]}
    print(json.dumps(result["summary"], indent=1))
    save_result("fan_speed", result, args.json)


def _speed_run(spec: dict, timeout: float) -> dict:
    """``_speed`` in a fresh process (``--speed SPEC``)."""
    import subprocess

    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        proc = subprocess.run([sys.executable, __file__, "--speed", json.dumps(spec)],
                              capture_output=True, text=True, env=env, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {**spec, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
