"""``physinv ir``: infrared thermography commands — simulate, restore, segment, train.
Thin, like ``physinv.cli``: parse, call the thermal library (``physinv.thermal.pipeline``),
print."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from physinv.errors import InputError, check_int
from physinv.limits import check_image_size, check_sizes
from physinv.paths import check_output

console = Console()

ir_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                     help="Infrared thermography: simulate frames, restore them in kelvin with "
                          "uncertainty, segment hot defects, train a network for a camera.")

IR_TASK_HELP = "denoise | deconvolve | sr (the camera: factor 1, optics blur, decimation)."


def _camera(task, factor, fwhm, netd, camera_json):
    from physinv.thermal.pipeline import make_camera

    return make_camera(task, factor, fwhm, netd, camera_json)


@ir_app.command("simulate")
def ir_simulate(
    out: Path = typer.Option(..., "--out", help="Folder for raw.tif (14-bit counts in a "
                             "16-bit TIFF), raw_kelvin.npy, truths, flat fields, camera.json."),
    task: str = typer.Option("ir_sr_x4", "--task", help="ir_denoise | ir_deconvolve | "
                             "ir_sr_x4 | ir_segment (scene and camera)."),
    seed: int = typer.Option(0, "--seed", help="Scene and noise seed."),
    netd: float | None = typer.Option(None, "--netd", help="Override the NETD (K)."),
    factor: int | None = typer.Option(None, "--factor", help="Override the decimation."),
    size: int | None = typer.Option(None, "--size", help="Scene side (high resolution)."),
):
    """Simulate one thermal acquisition with its ground truth.

    Example: physinv ir simulate --task ir_sr_x4 --seed 0 --out frame0
    """
    check_output("--out", out, folder=True)
    check_int("--seed", seed, minimum=0)
    _positive(("--netd", netd))
    if factor is not None:
        check_int("--factor", factor)
    if size is not None:
        check_int("--size", size, minimum=8)
        check_image_size("--size", size, (size, size))
    from dataclasses import replace

    from physinv.thermal import get_ir_task
    from physinv.thermal.pipeline import simulate_to

    spec = get_ir_task(task)
    camera = spec.camera
    if netd is not None or factor is not None:
        camera = replace(camera, **{k: v for k, v in (("netd", netd), ("factor", factor))
                                    if v is not None})
    scene = spec.scene if size is None else replace(spec.scene, shape=(size, size))
    camera.operator(scene.shape)  # a factor that does not divide the scene is refused here
    written = simulate_to(out, task, seed, camera, scene)
    console.print(f"simulated {task} (seed {seed}) -> {len(written)} files in {out}")


def _positive(*pairs) -> None:
    """``(option, value)`` pairs that must be positive finite numbers (None: not given)."""
    for name, value in pairs:
        if value is not None and not 0 < value < float("inf"):
            raise InputError(name, value, "a positive finite number")


def _camera_options(factor, fwhm, netd) -> None:
    check_int("--factor", factor)
    _positive(("--netd", netd))
    if not 0 <= fwhm < float("inf"):
        raise InputError("--fwhm", fwhm, "a non-negative finite number (0: no optics blur)")


def _flat_temperatures(camera_json, flat_lo, flat_hi, t_lo, t_hi):
    """--t-lo / --t-hi from camera.json's ``flat_temperatures`` when flats are given alone."""
    if camera_json is None or flat_lo is None or flat_hi is None or \
            (t_lo is not None and t_hi is not None):
        return t_lo, t_hi
    import json

    try:
        temps = json.loads(Path(camera_json).read_text()).get("flat_temperatures")
    except (OSError, ValueError):
        return t_lo, t_hi  # make_camera reports an unreadable camera.json
    if isinstance(temps, list) and len(temps) == 2:
        return (float(temps[0]) if t_lo is None else t_lo,
                float(temps[1]) if t_hi is None else t_hi)
    return t_lo, t_hi


def _flats(flat_lo, flat_hi, t_lo, t_hi):
    given = [v is not None for v in (flat_lo, flat_hi, t_lo, t_hi)]
    if not any(given):
        return None
    if not all(given):
        raise InputError("flat fields", "an incomplete set",
                         "--flat-lo, --flat-hi, --t-lo and --t-hi together")
    return flat_lo, flat_hi, t_lo, t_hi


def _radiometry(emissivity, t_refl, tau, t_atm):
    """The ``Radiometry`` of the options, its refusals naming the option (None: ε = 1)."""
    if emissivity is None and tau is None:
        if t_refl is not None and not t_refl >= 0:
            raise InputError("--t-refl", t_refl, "a temperature of 0 K or more")
        return None
    from physinv.thermal.radiometry import Radiometry, read_emissivity

    try:
        eps = 1.0 if emissivity is None else read_emissivity(emissivity)
        return Radiometry(eps, t_refl=t_refl, tau=1.0 if tau is None else tau, t_atm=t_atm)
    except InputError as err:
        raise InputError("--" + err.argument.replace("_", "-"), err.value,
                         err.expected) from None


def _ir_run(frame, out, task, factor, fwhm, netd, camera_json, method, lam, net, unit, gain,
            offset, flat_lo, flat_hi, t_lo, t_hi, detect, segment_too, destripe=False,
            radiometry=None, average=False, camera=None, tile=None):
    check_output("--out", out, folder=True)
    if tile is not None and (net is None or tile < 8):
        raise InputError("--tile", tile, "a tile side of 8 detector pixels or more, with --net "
                         "(the networks are applied by tiles; the solvers never need them)")
    _camera_options(factor, fwhm, netd)
    t_lo, t_hi = _flat_temperatures(camera_json, flat_lo, flat_hi, t_lo, t_hi)
    _positive(("--lam", lam), ("--t-lo", t_lo), ("--t-hi", t_hi))
    if not 0 < detect < float("inf"):
        raise InputError("--detect", detect, "a positive contrast threshold in K")
    if not (frame.is_file() or frame.is_dir()):
        raise InputError("frame", str(frame), "an existing raw frame file (.tif, .csv, .npy), "
                         "a folder of frames, a multi-page TIFF or an .npy stack")
    from physinv.thermal import pipeline
    from physinv.thermal.stack import is_stack, read_stack

    if net is not None and camera is None and camera_json is None and task is None:
        camera = pipeline.load_network(net)[1]
    camera = camera or _camera(task or "sr", factor, fwhm, netd, camera_json)
    if is_stack(frame):
        if tile is not None:
            raise InputError("--tile", tile, "a single frame (a stack's frames are tiled by "
                             "the automatic memory rule)")
        frames = read_stack(frame, camera, unit, gain, offset)  # all checked: nothing written
        _ir_stack(frames, out, camera, method, lam, net, flat_lo, flat_hi, t_lo, t_hi, detect,
                  segment_too, destripe, radiometry, average)
        return
    if average:
        raise InputError("--average", str(frame), "a stack (folder, multi-page TIFF, .npy "
                         "(N, H, W)) to average")
    result = pipeline.run(frame, out, camera, method=method, lam=lam, net_path=net,
                          unit=unit, gain=gain, offset=offset,
                          flats=_flats(flat_lo, flat_hi, t_lo, t_hi), detect=detect,
                          segment_too=segment_too, destripe=destripe,
                          radiometry=radiometry, tile=tile)
    s = result["summary"]
    extra = "" if s["mean_std_k"] is None else f", mean σ {1e3 * s['mean_std_k']:.0f} mK"
    lab = "" if s["defect_pixels"] is None else f", {s['defect_pixels']} defect pixels"
    console.print(f"{s['method']}: {s['shape'][0]}×{s['shape'][1]}, {s['temperature']} "
                  "temperature "
                  f"{s['min_k'] - 273.15:.2f}–{s['max_k'] - 273.15:.2f} °C{extra}{lab} -> "
                  f"{out}", soft_wrap=True)


def _ir_stack(frames, out, camera, method, lam, net, flat_lo, flat_hi, t_lo, t_hi, detect,
              segment_too, destripe, radiometry, average):
    from rich.progress import track

    from physinv.thermal import pipeline

    def progress(items, total):
        return track(items, total=total, description="frames", console=console,
                     transient=True)

    result = pipeline.run_stack(frames, out, camera, method=method, lam=lam, net_path=net,
                                flats=_flats(flat_lo, flat_hi, t_lo, t_hi), detect=detect,
                                segment_too=segment_too, destripe=destripe,
                                radiometry=radiometry, average=average, progress=progress)
    s = result["summary"]
    if average:
        console.print(f"averaged {s['frames']} frames: noise {1e3 * s['noise_single_k']:.0f} "
                      f"-> {1e3 * s['noise_average_k']:.0f} mK (×{s['noise_reduction']:.2f}, "
                      f"√N = {s['expected_reduction']:.2f}) -> {out}", soft_wrap=True)
    else:
        console.print(f"{s['frames']} frames restored ({s['restored'][0]['method']}, "
                      f"{s['restored'][0]['temperature']} temperature) -> {out}/<frame>/",
                      soft_wrap=True)


@ir_app.command("restore")
def ir_restore(
    frame: Path = typer.Argument(..., help="Raw frame: .tif (16-bit counts), .csv or .npy; "
                                 "or a stack: a folder of frames, a multi-page TIFF, an "
                                 ".npy (N, H, W)."),
    out: Path = typer.Option(..., "--out", help="Folder: temperature / variance / labels "
                             "(.tif, kelvin), figure.png, summary.json (a stack: one "
                             "sub-folder per frame and stack.json)."),
    task: str | None = typer.Option(None, "--task", help=IR_TASK_HELP + " Default sr."),
    factor: int = typer.Option(4, "--factor", help="sr: decimation factor."),
    fwhm: str = typer.Option("1.0", "--fwhm", help="Optics PSF FWHM in detector pixels "
                             "(0: none), or auto: estimated from the corrected frame "
                             "(replaces the camera.json's)."),
    netd: float = typer.Option(0.05, "--netd", help="NETD in K."),
    camera_json: Path | None = typer.Option(None, "--camera", help="camera.json (from ir "
                                            "simulate) instead of --factor/--fwhm/--netd."),
    method: str = typer.Option("bayes", "--method", help="bicubic | tikhonov | wiener "
                               "(factor 1) | tv | bayes (mean + variance)."),
    lam: float | None = typer.Option(None, "--lam", help="λ (tikhonov: default GCV)."),
    net: Path | None = typer.Option(None, "--net", help="A run from physinv ir train."),
    unit: str = typer.Option("K", "--unit", help="Unit of CSV / NPY / TIFF values: K or C."),
    gain: float | None = typer.Option(None, "--gain", help="TIFF: unit per count."),
    offset: float | None = typer.Option(None, "--offset", help="TIFF: value at 0 counts."),
    flat_lo: Path | None = typer.Option(None, "--flat-lo", help="Flat field at --t-lo."),
    flat_hi: Path | None = typer.Option(None, "--flat-hi", help="Flat field at --t-hi."),
    t_lo: float | None = typer.Option(None, "--t-lo", help="Low blackbody temperature (K)."),
    t_hi: float | None = typer.Option(None, "--t-hi", help="High blackbody temperature (K)."),
    detect: float = typer.Option(1.5, "--detect", help="Lowest defect contrast (K) above "
                                 "the fitted background."),
    destripe: bool = typer.Option(False, "--destripe", help="Without flat fields: remove "
                                  "column offsets from the scene itself."),
    emissivity: str | None = typer.Option(None, "--emissivity", help="Emissivity ε in (0, 1]: "
                                          "a number or a map (.npy / .tif) on the restored "
                                          "grid; the maps are then object temperatures."),
    t_refl: float | None = typer.Option(None, "--t-refl", help="Reflected apparent "
                                        "temperature (K), needed when ε < 1."),
    tau: float | None = typer.Option(None, "--tau", help="Atmospheric transmission in "
                                     "(0, 1] (default 1)."),
    t_atm: float | None = typer.Option(None, "--t-atm", help="Atmosphere temperature (K, "
                                       "default --t-refl)."),
    average: bool = typer.Option(False, "--average", help="A stack of a static scene: "
                                 "average the corrected frames, restore the mean."),
    tile: int | None = typer.Option(None, "--tile", help="With --net: apply the network by "
                                    "overlapping tiles of this side (detector pixels); "
                                    "default: whole frame unless it does not fit in memory."),
):
    """Correct and restore a thermal frame in kelvin, with a variance map and hot defects.

    Example: physinv ir restore frame0/raw.tif --camera frame0/camera.json --flat-lo
    frame0/flat_lo.npy --flat-hi frame0/flat_hi.npy --t-lo 293.15 --t-hi 323.15 --out restored

    With --emissivity E --t-refl K (and --tau, --t-atm) the frame is restored in apparent
    temperature, then converted pixel by pixel to the object temperature, variance included.
    """
    radiometry = _radiometry(emissivity, t_refl, tau, t_atm)
    camera = None
    if fwhm.strip().lower() == "auto":
        camera = _auto_fwhm(frame, out, task, factor, netd, camera_json, net, unit, gain,
                            offset, _flats(flat_lo, flat_hi, t_lo, t_hi), destripe)
        fwhm = camera.fwhm
    else:
        try:
            fwhm = float(fwhm)
        except ValueError:
            raise InputError("--fwhm", fwhm, "a FWHM in detector pixels or auto") from None
    _ir_run(frame, out, task, factor, fwhm, netd, camera_json, method, lam, net, unit, gain,
            offset, flat_lo, flat_hi, t_lo, t_hi, detect, True, destripe, radiometry, average,
            camera, tile)


def _auto_fwhm(frame, out, task, factor, netd, camera_json, net, unit, gain, offset, flats,
               destripe):
    """The camera with its optics FWHM estimated from the NUC-corrected frame
    (``physinv.thermal.estimate_fwhm``), the estimate ± its uncertainty printed."""
    from dataclasses import replace

    import torch

    from physinv.thermal import TwoPointNUC, estimate_fwhm, read_frame
    from physinv.thermal.pipeline import correct, read_raw

    check_output("--out", out, folder=True)
    if net is not None:
        raise InputError("--fwhm", "auto", "a number with --net (the network was trained "
                         "for its camera's blur)")
    if not frame.is_file():
        raise InputError("frame", str(frame), "a single raw frame file with --fwhm auto")
    camera = _camera(task or "sr", factor, 1.0, netd, camera_json)
    if camera.psf != "gaussian":
        raise InputError("--fwhm", "auto", "a camera with a Gaussian optics PSF")
    raw = read_raw(frame, camera, unit, gain, offset)
    if flats is not None:
        lo, hi, t_lo, t_hi = flats
        g = TwoPointNUC(read_frame(lo), read_frame(hi), t_lo, t_hi)(raw)
    else:
        g = correct(raw, camera=camera, destripe=destripe)
    est = estimate_fwhm(g.reshape(1, 1, *g.shape[-2:]).to(torch.float64), camera)
    std = est.std.get("fwhm")
    console.print(f"optics FWHM estimated from the frame: {est.params['fwhm']:.3f}"
                  + ("" if std is None else f" ± {std:.3f}") + " detector px; noise σ ≈ "
                  f"{1e3 * est.noise_var ** 0.5:.0f} mK"
                  + "".join(f"; warning: {n}" for n in est.notes), soft_wrap=True)
    return replace(camera, fwhm=float(est.params["fwhm"]))


@ir_app.command("segment")
def ir_segment(
    frame: Path = typer.Argument(..., help="Raw frame: .tif (16-bit counts), .csv or .npy."),
    out: Path = typer.Option(..., "--out", help="Folder: labels, probability, figure."),
    task: str | None = typer.Option(None, "--task", help=IR_TASK_HELP + " Default sr."),
    factor: int = typer.Option(4, "--factor", help="sr: decimation factor."),
    fwhm: float = typer.Option(1.0, "--fwhm", help="Optics PSF FWHM in detector pixels."),
    netd: float = typer.Option(0.05, "--netd", help="NETD in K."),
    camera_json: Path | None = typer.Option(None, "--camera", help="camera.json."),
    unit: str = typer.Option("K", "--unit", help="K or C."),
    gain: float | None = typer.Option(None, "--gain", help="TIFF: unit per count."),
    offset: float | None = typer.Option(None, "--offset", help="TIFF: value at 0 counts."),
    detect: float = typer.Option(1.5, "--detect", help="Lowest defect contrast (K) above "
                                 "the fitted background."),
):
    """Find hot defects above a background fitted to the frame (ambient field + heated
    components, so a component's edge is not a defect): the restored residual above --detect
    K or 6 noise standard deviations, with the probability of exceeding it.

    Example: physinv ir segment frame0/raw.tif --camera frame0/camera.json --out seg
    """
    _ir_run(frame, out, task, factor, fwhm, netd, camera_json, "bayes", None, None, unit,
            gain, offset, None, None, None, None, detect, True)


@ir_app.command("train")
def ir_train(
    out: Path = typer.Option(..., "--out", help="Run folder (as for physinv train)."),
    task: str = typer.Option("sr", "--task", help=IR_TASK_HELP),
    factor: int = typer.Option(4, "--factor", help="sr: decimation factor."),
    fwhm: float = typer.Option(1.0, "--fwhm", help="Optics PSF FWHM in detector pixels."),
    netd: float = typer.Option(0.05, "--netd", help="NETD in K."),
    camera_json: Path | None = typer.Option(None, "--camera", help="camera.json."),
    net: str = typer.Option("tikhonov-residual", "--net", help="Network name (physinv nets)."),
    n_train: int = typer.Option(16, "--n-train", help="Simulated training scenes."),
    epochs: int = typer.Option(100, "--epochs", help="Epochs."),
    budget: float | None = typer.Option(None, "--budget", help="Training time limit (s)."),
    seed: int = typer.Option(0, "--seed", help="Seed."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
):
    """Train a network for a thermal camera on simulated scenes (for ir restore --net).

    Example: physinv ir train --task sr --factor 4 --net tikhonov-residual --out runs/ir
    """
    check_output("--out", out, folder=True)
    _camera_options(factor, fwhm, netd)
    check_int("--epochs", epochs)
    check_int("--seed", seed, minimum=0)
    check_sizes(n_train)
    _positive(("--budget", budget))
    from physinv.thermal.pipeline import train_network
    from physinv.train.logs import summary_line

    camera = _camera(task, factor, fwhm, netd, camera_json)
    _, result = train_network(out, camera, net, n_train, epochs, budget, seed, resume,
                              overwrite, device)
    console.print(f"{net}: {summary_line(result)} -> {out}", soft_wrap=True)
