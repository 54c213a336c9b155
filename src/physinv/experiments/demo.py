"""``physinv demo``: the project's experiments end to end on bundled images, written as a report.

Five resumable stages (``experiments.demo_stages``: deblur, data, depth, fourier, ir) run in
``out``; each finished stage is kept under ``out/stages`` so an interrupted demo starts again at
the first unfinished one, and a rerun with another mode, seed or version is refused (the list
of differences is in the error) instead of mixing two configurations. Then, from every
finished stage:

- ``results.json`` — every score, hyper-parameter and count, and the checks of the claims that
  are mathematical facts; only what the seed determines, so the same seed gives the same file;
- ``timings.json`` — the wall-clock times of this run (inference ms, training s, stage s);
- the PNG figures, and ``report.html``, one self-contained file with all of them embedded.

Three sizes: ``quick`` (under a minute on 2 cores: one test image, few epochs), ``default``
(a few minutes) and ``full`` (every network, larger training sets, more epochs).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import physinv
from physinv.data.io import atomic_write
from physinv.errors import InputError
from physinv.experiments import demo_stages
from physinv.experiments.bench import environment
from physinv.experiments.report import Report
from physinv.experiments.stages import Stages
from physinv.nets.registry import NETWORKS

CHEAP = ["analytic", "fourier", "fourier-radial", "svd", "wavelet", "decomposed",
         "unrolled-landweber"]
MODES = {
    "quick": {"test_images": 1, "n_train": 4, "epochs": 20, "cnn_epochs": 2,
              "deblur_nets": ["analytic", "fourier", "svd", "wavelet", "decomposed",
                              "unrolled-landweber", "tikhonov-residual", "unet"],
              "data_tasks": ["deblur_gauss", "sr_x2", "ct_sparse"],
              "data_sizes": [1, 4, 16, 64], "data_nets": ["unrolled-landweber", "unet"],
              "data_epochs": 4, "data_cnn_epochs": 2,
              "depths": [1, 2, 5, 10, 20], "fourier_n": 4, "fourier_epochs": 40,
              "ir_n_train": 2, "ir_epochs": 2, "ir_frames": 1, "ir_net": "tikhonov-residual"},
    "default": {"test_images": 4, "n_train": 16, "epochs": 60, "cnn_epochs": 25,
                "deblur_nets": CHEAP + ["lista", "decomposed-cnn", "tikhonov-residual",
                                        "unrolled-hqs", "dncnn", "unet"],
                "data_tasks": ["deblur_gauss", "sr_x2", "ct_sparse"],
                "data_sizes": [1, 4, 16, 64],
                "data_nets": ["unrolled-landweber", "tikhonov-residual", "unet"],
                "data_epochs": 10, "data_cnn_epochs": 8,
                "depths": [1, 2, 5, 10, 20], "fourier_n": 16, "fourier_epochs": 150,
                "ir_n_train": 8, "ir_epochs": 40, "ir_frames": 2,
                "ir_net": "tikhonov-residual"},
    "full": {"test_images": 4, "n_train": 64, "epochs": 200, "cnn_epochs": 60,
             "deblur_nets": [n for n in NETWORKS],
             "data_tasks": ["deblur_gauss", "sr_x2", "ct_sparse"],
             "data_sizes": [1, 4, 16, 64],
             "data_nets": ["fourier-radial", "wavelet", "unrolled-landweber",
                           "tikhonov-residual", "unrolled-hqs", "dncnn", "unet"],
             "data_epochs": 100, "data_cnn_epochs": 60,
             "depths": [1, 2, 5, 10, 20], "fourier_n": 64, "fourier_epochs": 400,
             "ir_n_train": 16, "ir_epochs": 60, "ir_frames": 8,
             "ir_net": "tikhonov-residual"},
}
STAGE_NAMES = list(demo_stages.STAGES)


def mode_of(quick: bool = False, full: bool = False) -> str:
    if quick and full:
        raise InputError("--quick/--full", "both", "at most one of them (quick: under a "
                         "minute; full: every network and budget)")
    return "quick" if quick else "full" if full else "default"


def parse_stages(text: str | None) -> list[str] | None:
    """``"deblur,depth"`` → the names, each checked (letters a–e name them too)."""
    if text is None:
        return None
    letters = dict(zip("abcde", STAGE_NAMES, strict=True))
    names = [letters.get(s.strip(), s.strip()) for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STAGE_NAMES]
    if unknown or not names:
        raise InputError("stage", text, f"names from {', '.join(STAGE_NAMES)} (or a–e), "
                         "separated by commas")
    return names


def run(out, mode: str = "default", stages: list[str] | None = None, seed: int = 0,
        progress: bool = True, console=None) -> dict:
    """Run the pending stages of ``stages`` (all by default) into ``out``, then write
    results.json, timings.json and report.html from every finished stage; returns results."""
    if mode not in MODES:
        raise InputError("mode", mode, f"one of {sorted(MODES)}")
    cfg = MODES[mode]
    config = {"mode": mode, "seed": int(seed), "settings": cfg,
              "physinv": physinv.__version__}
    runner = Stages(out, config, STAGE_NAMES, stages)
    out = runner.out
    started = time.perf_counter()
    _run_pending(runner, cfg, int(seed), progress, console)
    finished = {n: runner.load(n) for n in STAGE_NAMES if runner.done(n)}
    results = {"physinv": physinv.__version__, "mode": mode, "seed": int(seed),
               "settings": cfg, "stages": {n: s["results"] for n, s in finished.items()},
               "figures": {n: s["figures"] for n, s in finished.items()},
               "checks": checks({n: s["results"] for n, s in finished.items()}),
               "environment": environment()}
    timings = {"stages": {n: s["timings"] for n, s in finished.items()},
               "stage_seconds": {n: s.get("seconds") for n, s in finished.items()},
               "this_run_seconds": time.perf_counter() - started}
    _write_json(out / "results.json", results)
    _write_json(out / "timings.json", timings)
    write_report(out / "report.html", results, timings, out)
    return results


def _run_pending(runner: Stages, cfg: dict, seed: int, progress: bool, console) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    pending = runner.pending()
    columns = [TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not progress) as bars:
        tasks = {n: bars.add_task(n, total=demo_stages.units(n, cfg)) for n in pending}
        for name in pending:
            task = tasks[name]
            ctx = demo_stages.Context(
                cfg=cfg, seed=seed, out=runner.out,
                advance=lambda amount=1.0, task=task: bars.advance(task, amount),
                describe=lambda text, task=task: bars.update(task, description=text[:44]))

            def work(name=name, ctx=ctx):
                t0 = time.perf_counter()
                result = demo_stages.STAGES[name](ctx)
                result["seconds"] = time.perf_counter() - t0
                return result

            runner.run(name, work)
            bars.update(task, description=f"{name}: done", completed=bars.tasks[task].total)


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


# ------------------------------------------------------------------------------ checks
def checks(stages: dict) -> list[dict]:
    """The claims this run can test that hold as mathematical facts, each with its figures:
    the per-image oracle Wiener filter is not beaten by any linear shift-invariant method;
    an unrolled Landweber net at its initial weights is K Landweber iterations; coverages
    and Dice scores are fractions."""
    out = []
    deblur = stages.get("deblur")
    if deblur:
        rows = {r["method"]: r for r in deblur["rows"]}
        oracle = rows["oracle-wiener"]
        worst = []
        for r in deblur["rows"]:
            if r["linear"]:
                for a, b in zip(r["per_image"], oracle["per_image"], strict=True):
                    worst.append((b["psnr"] - a["psnr"], r["method"], a["image"]))
        margin, method, image = min(worst)
        out.append({"claim": "the oracle Wiener filter is not beaten by a linear method "
                    "(per test image)", "holds": margin >= 0,
                    "detail": f"smallest margin {margin:.3f} dB ({method}, {image})"})
    depth = stages.get("depth")
    if depth:
        gap = max(r["fixed_vs_iterations_max_diff"] for r in depth["rows"])
        out.append({"claim": "unrolled Landweber at its initial weights = K Landweber "
                    "iterations", "holds": gap < 1e-4,
                    "detail": f"largest difference {gap:.2e} (float64 data)"})
    irs = stages.get("ir")
    if irs:
        values = [r["coverage_95"] for r in irs["restoration"] if r["coverage_95"] is not None]
        values += [r[k] for r in irs["segmentation"] for k in ("dice", "iou")]
        out.append({"claim": "coverages, Dice and IoU are fractions in [0, 1]",
                    "holds": all(0 <= v <= 1 for v in values),
                    "detail": f"{len(values)} values"})
    return out


# ------------------------------------------------------------------------------ report
ABOUT = {
    "deblur": ("a. Deblurring with every structure class",
               "deblur_gauss (Gaussian PSF σ = 2 px, noise σ = 0.01) on the public test "
               "images. Classical and Bayesian solvers with their λ chosen on the training "
               "crops, networks trained on the same crops for a fixed number of epochs and "
               "moved to the 256×256 test grid, and the linear limit: the oracle Wiener filter, "
               "which knows each test image's own spectrum and the true noise. Rows marked "
               "linear are linear shift-invariant maps, which the oracle cannot lose to. In the "
               "grid each panel carries its PSNR; the yellow square is shown ×3 in the corner. The "
               "second figure puts each posterior's standard deviation beside its error."),
    "data": ("b. Data efficiency",
             "Test PSNR against the number N of 128×128 training crops, each network trained "
             "for the same number of steps whatever N, starting from the Tikhonov λ tuned on "
             "(at most 4 of) its N crops. Solid lines: physics-constrained; dashed: black-box; "
             "dotted: Tikhonov with λ tuned on 4 crops. With N = 1 the validation image is the "
             "training crop under other noise, so early stopping cannot see over-fitting."),
    "depth": ("c. Depth: unrolled against iterated",
              "Unrolled Landweber with K layers (a step α_k and a weight λ_k learned per "
              "layer) against K plain Landweber iterations — which are that network at its "
              "initial weights. Both cost 2K operator applications; the right panel is the "
              "measured time per image."),
    "fourier": ("d. The learned Fourier diagonal against the Wiener filter",
                "FourierNet starts at Tikhonov, Λ = conj(ĥ)/(|ĥ|² + λ|d̂|²); the MMSE optimum "
                "over the training distribution is the Wiener filter conj(ĥ)S_f/(|ĥ|²S_f + "
                "σ²) with S_f the training crops' mean power spectrum. The curves are |Λ| "
                "averaged over rings of radial frequency."),
    "ir": ("e. Infrared: super-resolution ×4, uncertainty and defects",
           "Thermal scenes in kelvin through the simulated camera (optics, 4×4 detector "
           "integration, ×4 decimation, NETD 50 mK, fixed-pattern noise corrected by a two-"
           "point NUC). RMSE in kelvin against the true apparent temperature; coverage = "
           "fraction of pixels inside the 95 % interval (the network's interval is the "
           "posterior σ scaled on validation scenes); defects by threshold on the network's "
           "and on Tikhonov's map (the figure shows the probability of exceeding the "
           "threshold from the network's intervals) and by Gauss–Markov–Potts. The trained "
           "segmentation head of `physinv bench --suite ir` is not trained here (minutes)."),
}


def _fmt_rows(rows, keep):
    return [{k: r.get(k) for k in keep} for r in rows]


def write_report(path: Path, results: dict, timings: dict, folder: Path) -> Path:
    stages, times = results["stages"], timings["stages"]
    report = Report(f"physinv demo ({results['mode']}, seed {results['seed']})")
    report.text("Every number and figure below was computed by this run of `physinv demo` "
                "on images bundled with scikit-image or generated; hyper-parameters were "
                "chosen on training data only. results.json holds the numbers (the same for "
                "the same seed), timings.json the wall-clock times.", note=True)
    flag = {"quick": " --quick", "full": " --full"}.get(results["mode"], "")
    report.text(f"To reproduce: physinv demo{flag} --seed {results['seed']} --out DIR "
                f"(physinv {results['physinv']}).", note=True)
    if results["checks"]:
        report.section("Checks of claims that are mathematical facts")
        report.table([{"claim": c["claim"], "holds": "yes" if c["holds"] else "NO",
                       "figures": c["detail"]} for c in results["checks"]])
    for name in STAGE_NAMES:
        if name not in stages:
            continue
        title, text = ABOUT[name]
        report.section(title, text)
        res, tim = stages[name], times.get(name, {})
        if name == "deblur":
            rows = [{"method": r["method"], "class": r["family"],
                     "linear": "yes" if r["linear"] else "", "PSNR": r["psnr"],
                     "SSIM": r["ssim"], "95 % coverage": r.get("coverage_95"),
                     "ms / image": tim.get("infer_ms", {}).get(r["method"]),
                     "train s": tim.get("train_s", {}).get(r["method"]),
                     "trainable": r["params_trainable"], "fixed": r.get("params_fixed")}
                    for r in sorted(res["rows"], key=lambda r: -r["psnr"])]
            report.table(rows, caption=f"mean over {len(res['test_images'])} test image(s); "
                         f"N = {res['n_train']} training crops; Tikhonov λ = {res['lam']:.3g}, "
                         f"TV λ = {res['tv_lam_rel']:.3g} ‖H‖² (both tuned on the crops)")
            report.table([{"method": r["method"],
                           **{p["image"]: p["psnr"] for p in r["per_image"]}}
                          for r in res["rows"]], caption="PSNR (dB) per test image")
        elif name == "data":
            report.table(_fmt_rows(res["rows"], ["task", "method", "family", "n_train",
                                                 "psnr", "ssim", "params_trainable"]))
        elif name == "depth":
            report.table([{**_fmt_rows([r], ["K", "psnr_unrolled", "psnr_iterations",
                                             "operator_applications"])[0],
                           "ms unrolled": tim.get(str(r["K"]), {}).get("ms_unrolled"),
                           "ms iterations": tim.get(str(r["K"]), {}).get("ms_iterations")}
                          for r in res["rows"]],
                         caption=f"Tikhonov with tuned λ: {res['tikhonov_tuned']:.2f} dB")
        elif name == "fourier":
            report.table(_fmt_rows(res["rows"], ["net", "params_trainable",
                                                 "rel_distance_to_wiener_initial",
                                                 "rel_distance_to_wiener_learned"]))
        elif name == "ir":
            report.table([{**r, "ms / frame": tim.get("infer_ms", {}).get(r["method"])}
                          for r in res["restoration"]],
                         caption=f"{res['frames']} test frame(s), {res['n_train']} training "
                         f"scenes; interval scale {res['k_sigma']:.3f}")
            report.table(res["segmentation"], caption="defect segmentation")
        for fig in results["figures"].get(name, []):
            report.figure(folder / fig, caption=fig)
    report.section("Settings of this mode")
    report.table([{"setting": k, "value": ", ".join(map(str, v)) if isinstance(v, list) else v}
                  for k, v in results["settings"].items()], ["setting", "value"])
    env = dict(results["environment"])
    env["seconds (this run)"] = round(timings["this_run_seconds"], 1)
    for name, secs in timings["stage_seconds"].items():
        if secs is not None and math.isfinite(secs):
            env[f"stage {name} (s)"] = round(secs, 1)
    report.environment(env)
    return report.write(path)
