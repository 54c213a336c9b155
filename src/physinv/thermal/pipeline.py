"""What ``physinv ir`` runs: one thermal frame through the pipeline — read (TIFF counts, CSV, NPY) →
correct (two-point NUC from flat fields, or stuck pixels replaced and, on request, column
stripes removed scene-based) →
restore (``bicubic``, ``tikhonov``, ``tv``, ``bayes`` with its variance, or a trained network
with the posterior variance around its estimate; either variance calibrated at 95 % for the
camera on simulated acquisitions, ``thermal.uncertainty``) → segment hot defects → write the
temperature map (K, lossless), the variance map, the label map and a figure (raw / restored /
standard deviation / labels, colour bars in °C).

A camera is described by its decimation ``factor`` (1 for denoise / deconvolve), the optics
PSF FWHM in detector pixels (``fwhm``; 0 = no optics blur) and its ``netd`` (K); a
``camera.json`` written by ``physinv ir simulate`` holds all of it, with the count calibration.
``train_network`` trains a network for a camera in a run folder (like ``physinv train``),
``load_network`` reads it back for ``physinv ir restore --net``.

>>> make_camera("sr", factor=2, fwhm=1.5).factor
2
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import torch

from physinv.errors import InputError
from physinv.io import atomic_write, write_image, write_json
from physinv.thermal.acquisition import ThermalScenes, simulate
from physinv.thermal.camera import Camera, flat_fields
from physinv.thermal.networks import CENTER, SCALE, normalise
from physinv.thermal.nuc import (
    FLAT_TEMPERATURES,
    TwoPointNUC,
    calibration,
    remove_column_offsets,
    replace_dead,
)
from physinv.thermal.radiometry import Radiometry, object_temperature
from physinv.thermal.readers import read_frame
from physinv.thermal.restoration import TIK_GRID, restore, tikhonov_k, tune
from physinv.thermal.scene import Scene
from physinv.thermal.segmentation import DETECT_K, segment
from physinv.thermal.tasks import TRAIN_SEED, IRTask, get_ir_task, training_pairs
from physinv.thermal.uncertainty import LEVEL, calibrate_restoration
from physinv.uq import Maps, calibrated_variance

KINDS = {"denoise": 1, "deconvolve": 1, "sr": None}


def make_camera(kind: str = "sr", factor: int = 4, fwhm: float = 1.0, netd: float = 0.05,
                camera_json: Path | None = None) -> Camera:
    """A ``Camera`` from the command-line description (or a camera.json).

    Parameters
    ----------
    kind : {"denoise", "deconvolve", "sr"}, optional
        ``denoise``: factor 1, no optics blur; ``deconvolve``: factor 1, Gaussian optics;
        ``sr``: decimation by ``factor`` (≥ 2).
    factor : int, optional
        ``sr``: decimation factor.
    fwhm : float, optional
        Optics PSF FWHM in detector pixels (0: none).
    netd : float, optional
        NETD, K.
    camera_json : Path, optional
        A camera.json (from ``simulate_to``): its Camera fields are used, the rest ignored.

    Returns
    -------
    Camera

    Raises
    ------
    InputError
        For an unknown kind, ``sr`` with factor < 2, or an unreadable camera.json.

    Examples
    --------
    >>> make_camera("denoise", netd=0.1).psf
    'none'
    """
    if camera_json is not None:
        try:
            data = json.loads(Path(camera_json).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError("camera", str(camera_json), "a readable camera.json",
                             str(err)) from None
        names = {f.name for f in fields(Camera)}
        return Camera(**{k: v for k, v in data.items() if k in names})
    if kind not in KINDS:
        raise InputError("task", kind, f"one of {sorted(KINDS)}")
    if kind != "sr":
        factor = 1
    elif factor < 2:
        raise InputError("factor", factor, "2 or more for sr (denoise / deconvolve use 1)")
    if kind == "denoise":
        return Camera(factor=1, psf="none", netd=netd)
    return Camera(factor=factor, fwhm=fwhm, netd=netd) if fwhm > 0 else \
        Camera(factor=factor, psf="none", netd=netd)


def simulate_to(folder: Path, task: str = "ir_sr_x4", seed: int = 0,
                camera: Camera | None = None, scene: Scene | None = None) -> list[Path]:
    """Write one simulated acquisition with its truths — what ``physinv ir simulate`` writes.

    Files: raw.tif (14-bit counts in a 16-bit TIFF), raw_kelvin.npy, truth_apparent.npy,
    truth_temperature.npy, emissivity.npy, labels.npy (on the object grid, K), flat_lo.npy and
    flat_hi.npy (64-frame flat fields at ``FLAT_TEMPERATURES``, for the NUC), camera.json (the
    camera, its count calibration ``gain``/``offset`` and the flat temperatures) and
    scene.json (``ThermalFrame.describe``).

    Parameters
    ----------
    folder : Path
        Output folder (created).
    task : str, optional
        A task of ``physinv.thermal.tasks.IR_TASKS`` (its scene and camera are the defaults).
    seed : int, optional
        Scene and noise seed.
    camera : Camera, optional
        Replaces the task's camera.
    scene : Scene, optional
        Replaces the task's scene.

    Returns
    -------
    list of Path
        The files written.
    """
    spec = get_ir_task(task)
    camera = camera or spec.camera
    scene = scene or spec.scene
    frame = simulate(scene, camera, seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save_tiff(path, counts):
        import tifffile

        atomic_write(path, lambda tmp: tifffile.imwrite(tmp, counts.numpy().astype(np.uint16)))
        return path

    written.append(save_tiff(folder / "raw.tif", frame.counts))
    for name, arr in (("raw_kelvin.npy", frame.kelvin), ("truth_apparent.npy", frame.apparent),
                      ("truth_temperature.npy", frame.temperature),
                      ("emissivity.npy", frame.emissivity),
                      ("labels.npy", frame.labels.to(torch.float64))):
        written.append(write_image(folder / name, arr))
    lo, hi = flat_fields(camera, tuple(frame.clean.shape), FLAT_TEMPERATURES, 64, seed=99)
    written.append(write_image(folder / "flat_lo.npy", lo))
    written.append(write_image(folder / "flat_hi.npy", hi))
    cam = asdict(camera) | {"gain": camera.kelvin_per_count, "offset": camera.t_min,
                            "flat_temperatures": list(FLAT_TEMPERATURES)}
    for name, data in (("camera.json", cam), ("scene.json", frame.describe())):
        written.append(write_json(folder / name, data))
    return written


def read_raw(path: Path, camera: Camera, unit: str = "K", gain: float | None = None,
             offset: float | None = None) -> torch.Tensor:
    """A raw frame in kelvin (``read_frame``), a counts TIFF through the camera's calibration.

    Parameters
    ----------
    path : Path
        .tif / .tiff (16-bit counts), .csv or .npy.
    camera : Camera
        Its ``kelvin_per_count`` and ``t_min`` are the TIFF's default gain and offset.
    unit : {"K", "C"}, optional
        Unit of the values.
    gain, offset : float, optional
        TIFF: unit per count and value at 0 counts.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        The frame, K.
    """
    if Path(path).suffix.lower() in (".tif", ".tiff"):
        gain = camera.kelvin_per_count if gain is None else gain
        offset = camera.t_min if offset is None else offset
    return read_frame(path, unit=unit, gain=gain, offset=offset)


def correct(frame: torch.Tensor, flat_lo=None, flat_hi=None, t_lo=None, t_hi=None,
            camera: Camera | None = None, destripe: bool = False):
    """A raw frame corrected for the camera's non-uniformity.

    With flat fields: the two-point NUC (``TwoPointNUC``). Without: dead pixels — those
    stuck at the calibration's limits (0 or full-scale counts) — are replaced, and with
    ``destripe`` the column offsets are removed scene-based (for frames much wider than the
    9-column window, ``remove_column_offsets``).

    Parameters
    ----------
    frame : torch.Tensor, shape (h, w)
        Raw frame, K.
    flat_lo, flat_hi : torch.Tensor, shape (h, w), optional
        Flat fields at ``t_lo`` and ``t_hi`` (all four or none).
    t_lo, t_hi : float, optional
        The blackbodies' temperatures, K.
    camera : Camera, optional
        Without flat fields: the calibration whose limits mark stuck pixels.
    destripe : bool, optional
        Without flat fields: remove column offsets from the scene itself.

    Returns
    -------
    torch.Tensor, shape (h, w), float64
        The corrected frame, K.

    Raises
    ------
    InputError
        If only some of the flat-field arguments are given.

    Examples
    --------
    >>> camera = Camera()
    >>> frame = torch.full((4, 4), 300.0, dtype=torch.float64)
    >>> frame[1, 2] = camera.t_max  # stuck at full scale
    >>> float(correct(frame, camera=camera)[1, 2])
    300.0
    """
    if flat_lo is not None or flat_hi is not None:
        if flat_lo is None or flat_hi is None or t_lo is None or t_hi is None:
            raise InputError("flat fields", "an incomplete set",
                             "--flat-lo, --flat-hi, --t-lo and --t-hi together")
        return TwoPointNUC(flat_lo, flat_hi, t_lo, t_hi)(frame)
    out = frame.to(torch.float64)
    if camera is not None:
        stuck = (out <= camera.t_min + camera.kelvin_per_count / 2) | \
            (out >= camera.t_max - camera.kelvin_per_count / 2)
        out = replace_dead(out, stuck)
    return remove_column_offsets(out) if destripe else out


def figure(path: Path, raw: torch.Tensor, x: torch.Tensor, variance, labels,
           which: str = "apparent") -> Path:
    """A PNG of the frame: raw / restored / standard deviation / labels, colour bars in °C.

    Colour scales span the 0.5–99.5 percentiles (a dead pixel must not set the scale).

    Parameters
    ----------
    path : Path
        The PNG (written atomically).
    raw : torch.Tensor, shape (h, w)
        Raw frame, K.
    x : torch.Tensor, shape (1, 1, H, W)
        Restored temperature, K.
    variance : torch.Tensor, shape (1, 1, H, W), or None
        Its variance, K² (panel omitted when None).
    labels : torch.Tensor, shape (H, W), or None
        Defect map (panel omitted when None).
    which : {"apparent", "object"}, optional
        Which temperature ``x`` is (said in the panel's title).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("raw frame (°C)", raw.numpy() - 273.15, "inferno"),
              (f"restored {which} temperature (°C)", x[0, 0].numpy() - 273.15, "inferno")]
    if variance is not None:
        panels.append(("standard deviation (°C)", variance[0, 0].sqrt().numpy(), "viridis"))
    if labels is not None:
        panels.append(("hot defects", labels.numpy(), "gray"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (title, arr, cmap) in zip(np.atleast_1d(axes), panels, strict=True):
        lo, hi = np.percentile(arr, [0.5, 99.5])  # a dead pixel must not set the scale
        im = ax.imshow(arr, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1e-6)
        ax.set_title(title)
        ax.axis("off")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()

    def write(tmp):
        fig.savefig(tmp, dpi=110, format="png")

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)


def run(frame_path: Path, out: Path, camera: Camera, method: str = "bayes", lam=None,
        net_path: Path | None = None, unit: str = "K", gain=None, offset=None, flats=None,
        detect: float = DETECT_K, segment_too: bool = True, suffix: str = ".tif",
        destripe: bool = False, radiometry: Radiometry | None = None,
        tile: int | None = None) -> dict:
    """The whole pipeline on one frame — ``physinv ir restore`` / ``segment``.

    read (``read_raw``) → correct (``correct``) → restore (``restore``, or the network of
    ``net_path``; its variance calibrated by ``uncertainty.calibrate_restoration``) → with
    ``radiometry``, the object temperature and its variance (``object_temperature``) → segment
    (``segment``) → write temperature / variance / labels / probability maps (``suffix``, K),
    figure.png and summary.json to ``out``.

    The restoration is done in apparent temperature — the quantity the camera operator and
    the NETD describe — and converted pixel by pixel afterwards (exact, with the variance
    propagated by the derivative of the conversion); ``temperature`` is then the object
    temperature and ``apparent`` the restored apparent temperature. ε = 1, τ = 1 (or no
    ``radiometry``) leaves the apparent temperature, bit for bit.

    Parameters
    ----------
    frame_path : Path
        The raw frame (.tif counts, .csv, .npy).
    out : Path
        Output folder (created).
    camera : Camera
        The camera that took the frame.
    method : {"bicubic", "tikhonov", "tv", "bayes"}, optional
        The restoration (without ``net_path``).
    lam : float, optional
        λ for tikhonov / tv.
    net_path : Path, optional
        A run folder of ``train_network``.
    unit : {"K", "C"}, optional
        Unit of the frame's values.
    gain, offset : float, optional
        TIFF: unit per count and value at 0 counts.
    flats : (Path, Path, float, float), optional
        (flat_lo, flat_hi, t_lo K, t_hi K) for the two-point NUC.
    detect : float, optional
        Defect contrast threshold, K.
    segment_too : bool, optional
        Segment the restored map.
    suffix : str, optional
        Format of the maps (``.tif`` lossless float, ``.npy``).
    destripe : bool, optional
        Without flats: remove column offsets scene-based.
    radiometry : Radiometry, optional
        Emissivity, reflected temperature and atmosphere for the object temperature.
    tile : int, optional
        With ``net_path``: tile side in detector pixels (default: whole frame unless the memory
        rule of ``physinv.thermal.networks.net_restore_tiled`` asks for tiles).

    Returns
    -------
    dict
        ``written`` (list of Path) and ``summary`` (method, frame, shape, temperature —
        ``"apparent"`` or ``"object"`` —, radiometry, min_k, max_k, defect_pixels,
        mean_std_k — also in summary.json).
    """
    raw = read_raw(frame_path, camera, unit, gain, offset)
    nuc = _nuc(flats)
    radiometry = radiometry or Radiometry()
    radiometry.check_shape((raw.shape[-2] * camera.factor, raw.shape[-1] * camera.factor))
    g = nuc(raw) if nuc is not None else correct(raw, camera=camera, destripe=destripe)
    net = load_network(net_path, camera)[0] if net_path is not None else None
    return _finish(raw, g, out, camera, method, lam, net, detect, segment_too, suffix,
                   radiometry, {"frame": str(frame_path)}, tile)


def _nuc(flats):
    """The two-point NUC of ``(flat_lo, flat_hi, t_lo, t_hi)`` (None without flats)."""
    if flats is None:
        return None
    lo_path, hi_path, t_lo, t_hi = flats
    return TwoPointNUC(read_frame(lo_path), read_frame(hi_path), t_lo, t_hi)


def _finish(raw, g, out, camera, method, lam, net, detect, segment_too, suffix, radiometry,
            info: dict, tile: int | None = None, cal=None, n_frames: int = 1) -> dict:
    """restore → calibrate its variance → object temperature → segment → write the maps,
    figure and summary (``cal``: a calibration already made for this camera and method;
    ``n_frames``: the frames averaged into ``g``, whose noise is NETD / √n)."""
    apparent, apparent_var, note = restore(g, camera, method, lam, net, tile)
    if apparent_var is not None:  # the posterior's variance → the calibrated one at 95 %
        cal = cal or calibrate_restoration(replace(camera, netd=camera.netd / n_frames ** 0.5),
                                           method, lam, net)
        apparent_var = calibrated_variance(cal, Maps(apparent, apparent_var), LEVEL)
        note += (f"; variance calibrated at {LEVEL:g} ({cal.selection['chosen']}: "
                 f"{cal.describe_at(LEVEL)}, on {cal.calibration_set})")
    x, variance = object_temperature(apparent, radiometry, apparent_var)
    which = "apparent" if radiometry.is_identity else "object"
    labels = prob = None
    if segment_too:
        labels, prob = segment(x, variance, detect, g=g, camera=camera)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_image(out / f"temperature{suffix}", x[0])]
    if variance is not None:
        written.append(write_image(out / f"variance{suffix}", variance[0]))
    if which == "object":
        written.append(write_image(out / f"apparent{suffix}", apparent[0]))
    if labels is not None:
        written.append(write_image(out / f"labels{suffix}", labels[None].to(torch.float64)))
    if prob is not None:
        written.append(write_image(out / f"probability{suffix}", prob[None]))
    written.append(figure(out / "figure.png", raw, x, variance, labels, which))
    summary = {"method": note, **info, "shape": list(x.shape[-2:]),
               "temperature": which, "radiometry": radiometry.describe(),
               "min_k": float(x.min()), "max_k": float(x.max()),
               "defect_pixels": None if labels is None else int(labels.sum()),
               "mean_std_k": None if variance is None else float(variance.sqrt().mean()),
               "variance_level": None if variance is None else LEVEL,
               "calibration": None if apparent_var is None else {
                   "form": cal.selection["chosen"], "noise": cal.noise,
                   "calibration_set": cal.calibration_set,
                   "validation_set": cal.selection["validation_set"],
                   "weights": cal.weights, "scales": cal.scales}}
    written.append(write_json(out / "summary.json", summary))
    return {"written": written, "summary": summary, "calibration": cal}


def run_stack(frames, out: Path, camera: Camera, method: str = "bayes", lam=None,
              net_path: Path | None = None, flats=None, detect: float = DETECT_K,
              segment_too: bool = True, suffix: str = ".tif", destripe: bool = False,
              radiometry: Radiometry | None = None, average: bool = False,
              progress=None) -> dict:
    r"""Many frames of one camera — ``physinv ir restore`` on a folder / multi-page TIFF / stack.

    The fixed pattern is estimated once: the two-point NUC from the flats, or (``destripe``)
    the column offsets from the stack's temporal mean, then removed from every frame. Each
    frame is restored as ``run`` does, into ``out/<name>/``; with ``average`` (a static scene)
    the corrected frames are averaged first and one restoration is written to ``out``, the
    temporal noise falling as 1/√N:

    .. math:: \sigma_{\bar g} = \sigma_g / \sqrt{N}

    (both σ measured on the corrected frames by the MAD rule and reported).

    Parameters
    ----------
    frames : list of (str, torch.Tensor of shape (h, w))
        Named raw frames in kelvin (``physinv.thermal.stack.read_stack``), all one shape.
    out : Path
        Output folder.
    camera, method, lam, net_path, flats, detect, segment_too, suffix, destripe, radiometry
        As for ``run``.
    average : bool, optional
        Average the corrected frames and restore the mean.
    progress : callable, optional
        ``progress(iterable, total) -> iterable`` (a progress bar) over the frames.

    Returns
    -------
    dict
        ``summary`` (frames, names, averaged, noise figures, per-frame summaries) and
        ``written``.
    """
    from physinv.noise import estimate_sigma

    nuc = _nuc(flats)
    radiometry = radiometry or Radiometry()
    h, w = frames[0][1].shape
    radiometry.check_shape((h * camera.factor, w * camera.factor))
    net = load_network(net_path, camera)[0] if net_path is not None else None
    if nuc is not None:
        fix = nuc
    else:
        mean = torch.stack([correct(f, camera=camera) for _, f in frames]).mean(0)
        offsets = mean - remove_column_offsets(mean) if destripe else 0.0

        def fix(frame):
            return correct(frame, camera=camera) - offsets
    progress = progress or (lambda it, total: it)
    corrected = [(name, raw, fix(raw)) for name, raw in
                 (progress(frames, len(frames)) if average else frames)]
    summary = {"frames": len(frames), "names": [n for n, _ in frames], "averaged": average}
    written = []
    if average:
        g = torch.stack([c for _, _, c in corrected]).mean(0)
        single = float(np.mean([estimate_sigma(c[None, None]) for _, _, c in corrected]))
        noise = estimate_sigma(g[None, None])
        summary.update(noise_single_k=single, noise_average_k=noise,
                       noise_reduction=single / noise if noise > 0 else None,
                       expected_reduction=len(frames) ** 0.5)
        raw_mean = torch.stack([r for _, r, _ in corrected]).mean(0)
        result = _finish(raw_mean, g, out, camera, method, lam, net, detect, segment_too,
                         suffix, radiometry, {"frame": f"mean of {len(frames)} frames"},
                         n_frames=len(frames))
        summary["restored"] = result["summary"]
        written += result["written"]
    else:
        summary["restored"] = []
        cal = None  # one calibration for the stack (same camera, same method)
        for name, raw, g in progress(corrected, len(corrected)):
            result = _finish(raw, g, out / name, camera, method, lam, net, detect,
                             segment_too, suffix, radiometry, {"frame": name}, cal=cal)
            cal = result["calibration"]
            summary["restored"].append(result["summary"])
            written += result["written"]
    written.append(write_json(out / "stack.json", summary))
    return {"written": written, "summary": summary}


def train_network(out: Path, camera: Camera, net_name: str = "tikhonov-residual",
                  n_train: int = 16, epochs: int = 100, budget: float | None = None,
                  seed: int = 0, resume: bool = False, overwrite: bool = False,
                  device: str = "auto", shape: int | None = None):
    """A network trained for ``camera``, kept in a run folder — ``physinv ir train``.

    Trained on ``n_train`` simulated scenes of ``shape``² (normalised temperatures
    (T − 300 K) / 20 K, NETD noise) like ``physinv train`` (checkpoints, resume, config.json
    recording the camera); λ of the Tikhonov initialisation tuned on four training
    acquisitions corrected by the camera's NUC.

    Parameters
    ----------
    out : Path
        Run folder.
    camera : Camera
        The camera.
    net_name : str, optional
        A network of ``physinv.nets.registry``.
    n_train : int, optional
        Simulated training scenes.
    epochs : int, optional
        Epochs.
    budget : float, optional
        Training time limit, s.
    seed : int, optional
        Seed.
    resume, overwrite : bool, optional
        Continue or replace the run in ``out``.
    device : str, optional
        ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.
    shape : int, optional
        Scene side (default 128 with decimation, 64 without); a multiple of the factor.

    Returns
    -------
    net : PhysicsNet
        The trained network (on normalised temperatures).
    result : FitResult
        What ``fit`` reports.
    """
    from physinv.noise import Gaussian
    from physinv.train import Measurements
    from physinv.train.recipe import train_network as recipe_train

    side = shape or (128 if camera.factor > 1 else 64)
    if side % camera.factor:
        raise InputError("shape", side, f"a multiple of the factor {camera.factor}")
    task = IRTask("custom", "physinv ir train", Scene(shape=(side, side)), camera)
    nuc = calibration(camera, (side // camera.factor, side // camera.factor))
    lam_rel = tune(tikhonov_k, TIK_GRID, training_pairs(task, n_train, nuc))
    scenes = ThermalScenes(n_train, task.scene, camera, seed=TRAIN_SEED)
    data = Measurements(normalise(scenes.apparent).float(), scenes.op,
                        Gaussian(camera.netd / SCALE))
    info = {"source": "ir", "net": net_name, "camera": asdict(camera),
            "kelvin": {"center": CENTER, "scale": SCALE}, "lam_rel": lam_rel}
    return recipe_train(net_name, data, lam_rel * scenes.op.norm() ** 2, "default",
                        out=out, resume=resume, overwrite=overwrite, run_info=info,
                        progress=True, epochs=epochs, max_time=budget, seed=seed,
                        device=device)


def load_network(run: Path, camera: Camera | None = None):
    """A network trained by ``train_network``, with its camera.

    Parameters
    ----------
    run : Path
        The run folder.
    camera : Camera, optional
        The camera to use (default: the one recorded in the run); the network refuses a
        camera with other physics.

    Returns
    -------
    net : PhysicsNet
        The network, on CPU, for the camera's operator.
    camera : Camera

    Raises
    ------
    InputError
        If ``run`` is not a run of ``physinv ir train`` or the camera differs.
    """
    from physinv.train import load

    config_path = Path(run) / "config.json"
    if not config_path.is_file():
        raise InputError("net", str(run), "a run folder written by physinv ir train")
    config = json.loads(config_path.read_text())
    recorded = config.get("run", {}).get("camera")
    if recorded is None:
        raise InputError("net", str(run), "a run trained by physinv ir train (with a camera)")
    if camera is None:
        names = {f.name for f in fields(Camera)}
        camera = Camera(**{k: v for k, v in recorded.items() if k in names})
    op = camera.operator(tuple(config["operator"]["in_shape"]))
    return load(run, device="cpu", op=op), camera
