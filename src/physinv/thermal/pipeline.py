"""``physinv ir``: one thermal frame through the pipeline — read (TIFF counts, CSV, NPY) →
correct (two-point NUC from flat fields, or stuck pixels replaced and, on request, column
stripes removed scene-based) →
restore (``bicubic``, ``tikhonov``, ``tv``, ``bayes`` with its variance, or a trained network)
→ segment hot defects → write the temperature map (K, lossless), the variance map, the label
map and a figure (raw / restored / standard deviation / labels, colour bars in °C).

A camera is described by its decimation ``factor`` (1 for denoise / deconvolve), the optics
PSF FWHM in detector pixels (``fwhm``; 0 = no optics blur) and its ``netd`` (K); a
``camera.json`` written by ``physinv ir simulate`` holds all of it, with the count calibration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch

from physinv.data.io import atomic_write, write_image
from physinv.data.nuc import TwoPointNUC, remove_column_offsets, replace_dead
from physinv.data.thermal import Camera, Scene, flat_fields, simulate
from physinv.data.thermal_io import read_frame
from physinv.errors import InputError
from physinv.experiments import ir

KINDS = {"denoise": 1, "deconvolve": 1, "sr": None}
METHODS = ("bicubic", "tikhonov", "tv", "bayes")


def make_camera(kind: str = "sr", factor: int = 4, fwhm: float = 1.0, netd: float = 0.05,
                camera_json: Path | None = None) -> Camera:
    """A ``Camera`` from the command-line description (or a camera.json)."""
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
    """Write one simulated acquisition: raw.tif (uint16 counts), raw_kelvin.npy, the truths,
    the flat fields for the NUC, camera.json and scene.json."""
    spec = ir.get_ir_task(task)
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
    lo, hi = flat_fields(camera, tuple(frame.clean.shape), ir.FLAT_TEMPERATURES, 64, seed=99)
    written.append(write_image(folder / "flat_lo.npy", lo))
    written.append(write_image(folder / "flat_hi.npy", hi))
    cam = asdict(camera) | {"gain": camera.kelvin_per_count, "offset": camera.t_min,
                            "flat_temperatures": list(ir.FLAT_TEMPERATURES)}
    for name, data in (("camera.json", cam), ("scene.json", frame.describe())):
        text = json.dumps(data, indent=2)
        written.append(atomic_write(folder / name, lambda tmp, t=text: Path(tmp).write_text(t)))
    return written


def read_raw(path: Path, camera: Camera, unit: str = "K", gain: float | None = None,
             offset: float | None = None) -> torch.Tensor:
    """The frame in kelvin; a counts TIFF uses ``gain``/``offset`` (default: the camera's
    linear calibration)."""
    if Path(path).suffix.lower() in (".tif", ".tiff"):
        gain = camera.kelvin_per_count if gain is None else gain
        offset = camera.t_min if offset is None else offset
    return read_frame(path, unit=unit, gain=gain, offset=offset)


def correct(frame: torch.Tensor, flat_lo=None, flat_hi=None, t_lo=None, t_hi=None,
            camera: Camera | None = None, destripe: bool = False):
    """Two-point NUC when flat fields are given; otherwise dead pixels = those stuck at the
    calibration's limits (0 or full-scale counts) are replaced, and with ``destripe`` the
    column offsets are removed scene-based (for frames much wider than the 9-column window)."""
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


def restore(g: torch.Tensor, camera: Camera, method: str = "bayes", lam: float | None = None,
            net=None):
    """(temperature K, variance K² or None, note) on the object grid for a (h, w) frame."""
    from physinv.solvers import gaussian_posterior, tikhonov, tv

    shape = (g.shape[-2] * camera.factor, g.shape[-1] * camera.factor)
    op = camera.operator(shape)
    y = g.to(torch.float64)[None, None]
    if net is not None:
        x = ir.net_restore(net.for_operator(op) if tuple(net.op.in_shape) != shape else net, y)
        post = gaussian_posterior(y, op)
        return x, post.variance, f"network {type(net).__name__}; variance: Gaussian posterior"
    if method not in METHODS:
        raise InputError("method", method, f"one of {METHODS} or --net RUN")
    if method == "bicubic":
        return ir.upsample(y, camera), None, "cubic-spline interpolation"
    if method == "tikhonov":
        result = tikhonov(y, op, lam="gcv" if lam is None else lam)
        return result.x, None, f"Tikhonov λ={result.params['lam']:.3g}"
    if method == "tv":
        value = 1e-3 * op.norm() ** 2 if lam is None else lam
        return tv(y, op, lam=value, n_iter=300).x, None, f"TV λ={value:.3g}"
    post = gaussian_posterior(y, op)
    return post.x, post.variance, f"Gaussian posterior ({post.params['hyper']})"


def segment(x: torch.Tensor, variance: torch.Tensor | None, detect: float = ir.DETECT_K):
    """(labels, probability of a local contrast above ``detect`` K or None)."""
    if detect <= 0:
        raise InputError("detect", detect, "a positive contrast in K")
    return ir.threshold_segment(x, variance, detect)


def figure(path: Path, raw: torch.Tensor, x: torch.Tensor, variance, labels) -> Path:
    """raw / restored / standard deviation / labels, colour bars in °C."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("raw frame (°C)", raw.numpy() - 273.15, "inferno"),
              ("restored (°C)", x[0, 0].numpy() - 273.15, "inferno")]
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
        detect: float = ir.DETECT_K, segment_too: bool = True, suffix: str = ".tif",
        destripe: bool = False) -> dict:
    """The whole pipeline on one frame; returns what was written and a short summary."""
    raw = read_raw(frame_path, camera, unit, gain, offset)
    flat_lo = flat_hi = t_lo = t_hi = None
    if flats is not None:
        lo_path, hi_path, t_lo, t_hi = flats
        flat_lo, flat_hi = read_frame(lo_path), read_frame(hi_path)
    g = correct(raw, flat_lo, flat_hi, t_lo, t_hi, camera, destripe)
    net = None
    if net_path is not None:
        net, _ = load_network(net_path, camera)
    x, variance, note = restore(g, camera, method, lam, net)
    labels = prob = None
    if segment_too:
        labels, prob = segment(x, variance, detect)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_image(out / f"temperature{suffix}", x[0])]
    if variance is not None:
        written.append(write_image(out / f"variance{suffix}", variance[0]))
    if labels is not None:
        written.append(write_image(out / f"labels{suffix}", labels[None].to(torch.float64)))
    if prob is not None:
        written.append(write_image(out / f"probability{suffix}", prob[None]))
    written.append(figure(out / "figure.png", raw, x, variance, labels))
    summary = {"method": note, "frame": str(frame_path), "shape": list(x.shape[-2:]),
               "min_k": float(x.min()), "max_k": float(x.max()),
               "defect_pixels": None if labels is None else int(labels.sum()),
               "mean_std_k": None if variance is None else float(variance.sqrt().mean())}
    text = json.dumps(summary, indent=2)
    written.append(atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(text)))
    return {"written": written, "summary": summary}


def train_network(out: Path, camera: Camera, net_name: str = "tikhonov-residual",
                  n_train: int = 16, epochs: int = 100, budget: float | None = None,
                  seed: int = 0, resume: bool = False, overwrite: bool = False,
                  device: str = "auto", shape: int | None = None):
    """Train ``net_name`` for ``camera`` on ``n_train`` simulated scenes (normalised
    temperatures (T − 300 K) / 20 K, NETD noise), kept in ``out`` like ``physinv train``;
    λ of the initialisation tuned on four training acquisitions."""
    from physinv.data.thermal import ThermalScenes
    from physinv.nets.registry import build
    from physinv.noise import Gaussian
    from physinv.train import Measurements, fit

    side = shape or (128 if camera.factor > 1 else 64)
    if side % camera.factor:
        raise InputError("shape", side, f"a multiple of the factor {camera.factor}")
    task = ir.IRTask("custom", "physinv ir train", Scene(shape=(side, side)), camera)
    nuc = ir.calibration(camera, (side // camera.factor, side // camera.factor))
    lam_rel = ir.tune(ir.tikhonov_k, ir.TIK_GRID, ir.training_pairs(task, n_train, nuc))
    scenes = ThermalScenes(n_train, task.scene, camera, seed=ir.TRAIN_SEED)
    torch.manual_seed(seed)
    net = build(net_name, scenes.op, lam_rel * scenes.op.norm() ** 2)
    data = Measurements(ir.normalise(scenes.apparent).float(), scenes.op,
                        Gaussian(camera.netd / ir.SCALE))
    info = {"source": "ir", "net": net_name, "camera": asdict(camera),
            "kelvin": {"center": ir.CENTER, "scale": ir.SCALE}, "lam_rel": lam_rel}
    result = fit(net, data, epochs=epochs, max_time=budget, seed=seed, norm="log",
                 patience=20, out=out, resume=resume, overwrite=overwrite, device=device,
                 run_info=info, progress=True)
    return net, result


def load_network(run: Path, camera: Camera | None = None):
    """(network, camera) of a run trained by ``train_network`` (the camera recorded there
    unless one is given; the network refuses a camera with other physics)."""
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
