"""The infrared pipeline — raw frame → NUC → restoration (+ variance) → hot-defect
segmentation — and its benchmark suite (``physinv bench --suite ir``).

Tasks (``IR_TASKS``): ``ir_denoise`` (64², no optics blur, NETD 0.2 K — a cheap uncooled
camera), ``ir_deconvolve`` (64², Gaussian optics FWHM 2.5 px, NETD 50 mK), ``ir_sr_x4``
(128² scene, optics FWHM 1 detector pixel, 4×4 detector integration and ×4 decimation → 32²
frames, NETD 50 mK) and ``ir_segment`` (the ``ir_sr_x4`` camera; defects 3–5 detector pixels
wide, 2–10 K). Every test frame is simulated raw (fixed pattern, dead pixels, 14-bit counts) and
corrected by the two-point NUC from flat fields before restoration, so the methods see what
they would see on a real camera. Truth = the high-resolution apparent temperature (the
emissivity-weighted radiometric temperature the camera measures); scores: RMSE in K, PSNR over
the scene's temperature range, 95 % interval coverage where a method gives a variance, Dice /
IoU of the defect maps.

Networks work on normalised temperatures (T − 300 K) / 20 K (``CENTER``, ``SCALE``) — the
operators are linear and preserve constants, so g and f normalise alike.

Segmentation, four ways: ``threshold`` on a restored map (local contrast above the grey
opening of the map by a square, blobs above 1 K kept at half their peak — the FWHM rule of
thermographic defect sizing; with a variance, the probability of exceeding the threshold), ``potts``
(Gauss–Markov–Potts joint restoration-segmentation of the contrast), ``head`` (a small U-Net
on the physics-constrained restoration) and ``unet-raw`` (a U-Net on H'g of the raw frame).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from scipy.special import erf

from physinv.data.nuc import TwoPointNUC
from physinv.data.thermal import Camera, Scene, ThermalScenes, flat_fields, simulate
from physinv.errors import InputError
from physinv.metrics import coverage, dice, iou, psnr
from physinv.nets.registry import build
from physinv.nets.segment import SegmentationUNet
from physinv.noise import Gaussian
from physinv.operators import Identity
from physinv.solvers import gaussian_posterior, tikhonov, tv
from physinv.train import Measurements, Pairs, fit

CENTER, SCALE = 300.0, 20.0
TEST_SEED, TRAIN_SEED, VAL_SEED, NOISE_SEED = 50_000, 60_000, 65_000, 70_000
FLAT_TEMPERATURES = (293.15, 323.15)
DETECT_K = 1.0  # a blob is a defect candidate where its local contrast exceeds 1 K ...
CLUTTER = 4.0  # ... or 4 robust standard deviations of the contrast map (training scenes)
OPENING = 31  # grey-opening square (high-resolution px): wider than any defect
TIK_GRID = [float(v) for v in np.logspace(-5, -1, 9)]  # λ / ‖H‖²
TV_GRID = [float(v) for v in np.logspace(-4, -1, 7)]  # λ (K) / ‖H‖²
PHYSICS_NETS = ("tikhonov-residual", "decomposed-cnn", "unrolled-hqs")
BLACKBOX_NETS = ("unet",)


@dataclass(frozen=True)
class IRTask:
    name: str
    description: str
    scene: Scene
    camera: Camera
    segment: bool = False

    def operator(self):
        return self.camera.operator(self.scene.shape)


_SR_CAMERA = Camera(factor=4, fwhm=1.0, netd=0.05)
IR_TASKS = {
    "ir_denoise": IRTask("ir_denoise", "64², no optics blur, NETD 0.2 K",
                         Scene(shape=(64, 64)), Camera(factor=1, psf="none", netd=0.2)),
    "ir_deconvolve": IRTask("ir_deconvolve", "64², Gaussian optics FWHM 2.5 px, NETD 50 mK",
                            Scene(shape=(64, 64)), Camera(factor=1, fwhm=2.5, netd=0.05)),
    "ir_sr_x4": IRTask("ir_sr_x4", "128² scene → 32² frames: optics FWHM 1 px, 4×4 "
                       "integration, ×4 decimation, NETD 50 mK", Scene(shape=(128, 128)),
                       _SR_CAMERA),
    "ir_segment": IRTask("ir_segment", "ir_sr_x4 camera; defects 3–5 detector px wide, "
                         "2–10 K", Scene(shape=(128, 128), radius=(6.0, 10.0),
                                         contrast=(2.0, 10.0)), _SR_CAMERA, segment=True),
}


def get_ir_task(name: str) -> IRTask:
    if name not in IR_TASKS:
        raise InputError("task", name, f"one of {sorted(IR_TASKS)}")
    return IR_TASKS[name]


# --------------------------------------------------------------------------- acquisition
def calibration(camera: Camera, shape_lr) -> TwoPointNUC:
    """The camera's two-point NUC from 64-frame flat fields at 20 °C and 50 °C."""
    lo, hi = flat_fields(camera, shape_lr, FLAT_TEMPERATURES, n_frames=64, seed=99)
    return TwoPointNUC(lo, hi, *FLAT_TEMPERATURES)


def acquire(task: IRTask, seed: int, nuc: TwoPointNUC | None = None):
    """(frame, corrected measurement g (1, 1, h, w) in K) for one simulated acquisition."""
    frame = simulate(task.scene, task.camera, seed)
    nuc = nuc or calibration(task.camera, tuple(frame.clean.shape))
    return frame, nuc(frame.kelvin)[None, None]


# --------------------------------------------------------------------------- restoration
def upsample(g: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Cubic-spline interpolation to the object grid, aligned with where the camera samples
    (the system PSF's centroid); the identity for factor 1."""
    f = camera.factor
    if f == 1:
        return g.clone()
    psf = camera.system_psf()
    c = psf.shape[-1] // 2
    idx = torch.arange(psf.shape[-1], dtype=torch.float64) - c
    dy, dx = float((psf.sum(1) * idx).sum()), float((psf.sum(0) * idx).sum())
    h, w = g.shape[-2:]
    rows = (np.arange(h * f) + dy) / f
    cols = (np.arange(w * f) + dx) / f
    grid = np.meshgrid(rows, cols, indexing="ij")
    out = ndimage.map_coordinates(g[0, 0].numpy(), grid, order=3, mode="grid-wrap")
    return torch.from_numpy(out)[None, None]


def _rmse(x, truth) -> float:
    return float(((x - truth) ** 2).mean().sqrt())


def tune(fn: Callable, grid, pairs) -> float:
    """The grid value with the lowest mean RMSE of ``fn(g, op, value)`` on training pairs."""
    scores = [np.mean([_rmse(fn(g, op, v), x) for x, g, op in pairs]) for v in grid]
    return grid[int(np.argmin(scores))]


def tikhonov_k(g, op, rel):
    """Tikhonov on a frame in K, λ = ``rel`` × ‖H‖²."""
    return tikhonov(g, op, lam=rel * op.norm() ** 2, tol=1e-8, max_iter=300).x


def tv_k(g, op, rel):
    """TV on a frame in K, λ = ``rel`` × ‖H‖²."""
    return tv(g, op, lam=rel * op.norm() ** 2, n_iter=200).x


def normalise(t):
    return (t - CENTER) / SCALE


def denormalise(t):
    return t * SCALE + CENTER


def training_pairs(task: IRTask, n: int, nuc: TwoPointNUC, n_tune: int = 4):
    """[(apparent truth, corrected g, op)] for the first ``n_tune`` training scenes."""
    out = []
    for i in range(min(n, n_tune)):
        frame, g = acquire(task, TRAIN_SEED + i, nuc)
        out.append((frame.apparent[None, None], g, frame.op))
    return out


def train_net(name: str, task: IRTask, n_train: int, lam_rel: float, budget_s: float,
              seed: int = 0, epochs: int = 200):
    """A network trained on ``n_train`` scenes (normalised temperatures, NETD noise)."""
    scenes = ThermalScenes(n_train, task.scene, task.camera, seed=TRAIN_SEED)
    op = scenes.op
    torch.manual_seed(seed)
    net = build(name, op, lam_rel * op.norm() ** 2)
    data = Measurements(normalise(scenes.apparent).float(), op,
                        Gaussian(task.camera.netd / SCALE))
    result = fit(net, data, epochs=epochs, max_time=budget_s, seed=seed, norm="log",
                 patience=20, samples_per_epoch=32, batch_size=4)
    return net, result


def net_restore(net, g: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return denormalise(net(normalise(g).float()).double())


def validation_pairs(task: IRTask, nuc: TwoPointNUC, n: int = 4):
    """[(apparent truth, corrected g, op)] for ``n`` scenes outside the training and test
    sets: the choice of the best network and the interval calibration are made on them."""
    out = []
    for i in range(n):
        frame, g = acquire(task, VAL_SEED + i, nuc)
        out.append((frame.apparent[None, None], g, frame.op))
    return out


def calibrate_sigma(net, task: IRTask, nuc: TwoPointNUC, n: int = 4) -> float:
    """k such that net ± 1.96 k σ_post covers 95 % of the pixels of ``n`` validation scenes
    (σ_post: the Gaussian posterior's standard deviation)."""
    ratios = []
    for i in range(n):
        frame = simulate(task.scene, task.camera, VAL_SEED + i)
        g = nuc(task.camera.to_kelvin(task.camera.expose(
            frame.clean, torch.Generator().manual_seed(NOISE_SEED + i))))[None, None]
        post = gaussian_posterior(g, frame.op)
        err = (net_restore(net, g) - frame.apparent[None, None]).abs()
        ratios.append((err / post.variance.sqrt()).flatten())
    return float(torch.quantile(torch.cat(ratios), 0.95)) / 1.959964


# --------------------------------------------------------------------------- segmentation
def local_contrast(x: torch.Tensor, size: int = OPENING) -> torch.Tensor:
    """Temperature above the grey opening of the map by a ``size``-wide square: structures
    narrower than the square (defects) are removed from the background, axis-aligned heated
    components wider than it (packages, plates) are kept, corners included."""
    arr = x[0, 0].numpy()
    return torch.from_numpy(arr - ndimage.grey_opening(arr, size=(size, size),
                                                       mode="wrap"))[None, None]


def threshold_segment(x: torch.Tensor, variance: torch.Tensor | None = None,
                      detect: float = DETECT_K, clutter: float = CLUTTER):
    """(labels, probability of exceeding the threshold or None): blobs of local contrast
    above the threshold, each kept where it reaches half its own peak (FWHM). The threshold
    is ``detect`` K or, when the map's background clutter is stronger, its median plus
    ``clutter`` robust standard deviations (the ambient field's bumps also leave contrast)."""
    c = local_contrast(x)[0, 0].numpy()
    med = float(np.median(c))
    spread = 1.4826 * float(np.median(np.abs(c - med)))
    level = max(detect, med + clutter * spread)
    blobs, n = ndimage.label(c > level)
    labels = np.zeros_like(blobs)
    if n:
        index = np.arange(1, n + 1)
        peaks = ndimage.maximum(c, blobs, index=index)
        where = ndimage.maximum_position(c, blobs, index=index)
        for peak, at in zip(peaks, where, strict=True):
            half, _ = ndimage.label(c >= 0.5 * peak)
            labels |= half == half[at]  # the half-maximum region around the blob's peak
    prob = None
    if variance is not None:
        sd = variance[0, 0].sqrt().numpy()
        prob = torch.from_numpy(0.5 * (1 + erf((c - level) / (math.sqrt(2) * sd))))
    return torch.from_numpy(labels.astype(np.int64)), prob


def potts_segment(g: torch.Tensor, op, reference: torch.Tensor):
    """Gauss–Markov–Potts on the contrast: g minus the (smooth) background of ``reference``
    measured through the camera; the warmer of the two classes is the defect class."""
    from physinv.solvers.potts import potts

    background = reference - local_contrast(reference)
    result = potts(g - op(background, check=False), op, n_classes=2, beta=1.0)
    lab = result.labels[0, 0]
    means = [float(result.x[0, 0][lab == k].mean()) if bool((lab == k).any()) else -1e9
             for k in range(2)]
    return (lab == int(np.argmax(means))).to(torch.int64)


def train_segmenter(inputs: torch.Tensor, labels: torch.Tensor, op, budget_s: float,
                    seed: int = 0, input_kind: str = "measurement"):
    torch.manual_seed(seed)
    net = SegmentationUNet(op, width=16, levels=2, input=input_kind)
    data = Pairs(inputs.float(), labels.float(), op)
    fit(net, data, loss="segmentation", epochs=1000, max_time=budget_s, seed=seed, lr=2e-3,
        patience=1000, samples_per_epoch=16, batch_size=4, val_fraction=0.25)
    return net


# --------------------------------------------------------------------------- benchmark
def _row(task, method, family, seed, x=None, truth=None, variance=None, labels=None,
         truth_labels=None, ms=0.0, train_s=0.0, trainable=0, extra=None):
    row = {"task": task.name, "method": method, "family": family, "image": seed,
           "infer_ms": ms, "train_s": train_s, "params_trainable": trainable,
           "params_fixed": 0, "n_train": None}
    if x is not None:
        span = float(truth.max() - truth.min())
        row.update(rmse_k=_rmse(x, truth), psnr=float(psnr(x, truth, data_range=span)),
                   ssim=None)
        row["coverage"] = None if variance is None else float(
            coverage(x, variance.sqrt(), truth))
    if labels is not None:
        row.update(dice=float(dice(labels[None, None], truth_labels[None, None])),
                   iou=float(iou(labels[None, None], truth_labels[None, None])))
    row.update(extra or {})
    return row


def run_ir(tasks=("ir_denoise", "ir_deconvolve", "ir_sr_x4", "ir_segment"), n_train: int = 16,
           n_images: int = 8, budget_s: float = 90.0, networks=None, seed: int = 0,
           progress: Callable | None = None) -> dict:
    """Every IR task and method side by side (see the module docstring); rows + summary."""
    from physinv.experiments.bench import environment

    start = time.perf_counter()
    rows: list[dict] = []
    say = progress or (lambda text: None)
    for name in tasks:
        task = get_ir_task(name)
        op = task.operator()
        nuc = calibration(task.camera, tuple(op.out_shape))
        pairs = training_pairs(task, n_train, nuc)
        say(f"{name}: tuning λ")
        lam_tik = tune(tikhonov_k, TIK_GRID, pairs)
        lam_tv = tune(tv_k, TV_GRID, pairs)
        nets, trained = {}, {}
        for net_name in networks or (PHYSICS_NETS + BLACKBOX_NETS):
            say(f"{name}: training {net_name}")
            net, result = train_net(net_name, task, n_train, lam_tik, budget_s, seed)
            nets[net_name], trained[net_name] = net, result
        tests = [acquire(task, TEST_SEED + i, nuc) for i in range(n_images)]
        say(f"{name}: evaluating")
        best_phys = None
        if nets:
            val = validation_pairs(task, nuc)
            scores = {k: np.mean([_rmse(net_restore(nets[k], g), x) for x, g, _ in val])
                      for k in nets if k in PHYSICS_NETS}
            best_phys = min(scores, key=scores.get) if scores else None
        k_sigma = calibrate_sigma(nets[best_phys], task, nuc) if best_phys else None
        if task.segment and best_phys:
            head, raw_net, head_s, raw_s = _segmenters(task, nets[best_phys], nuc, n_train,
                                                        budget_s, seed)
        for i, (frame, g) in enumerate(tests):
            truth = frame.apparent[None, None]
            seed_i = TEST_SEED + i
            outputs = {}
            t0 = time.perf_counter()
            outputs["bicubic" if task.camera.factor > 1 else "measurement"] = (
                "interpolation", upsample(g, task.camera), None, time.perf_counter() - t0,
                0.0, 0, {})
            for method, fn, lam in (("tikhonov", tikhonov_k, lam_tik), ("tv", tv_k, lam_tv)):
                t0 = time.perf_counter()
                x = fn(g, op, lam)
                outputs[method] = ("classical", x, None, time.perf_counter() - t0, 0.0, 0,
                                   {"lam_rel": lam})
            t0 = time.perf_counter()
            post = gaussian_posterior(g, op)
            outputs["bayes-gauss"] = ("bayesian", post.x, post.variance,
                                      time.perf_counter() - t0, 0.0, 0, {})
            for net_name, net in nets.items():
                t0 = time.perf_counter()
                x = net_restore(net, g)
                family = "physics" if net_name in PHYSICS_NETS else "black-box"
                var = None
                if net_name == best_phys:
                    var = (k_sigma**2) * post.variance
                outputs[net_name] = (family, x, var, time.perf_counter() - t0,
                                     trained[net_name].train_s, net.trainable_parameters(),
                                     {"stop_reason": trained[net_name].stop_reason,
                                      "best_epoch": trained[net_name].best_epoch,
                                      "k_sigma": k_sigma if net_name == best_phys else None})
            for method, (family, x, var, secs, tr, n_par, extra) in outputs.items():
                rows.append(_row(task, method, family, seed_i, x, truth, var, ms=1e3 * secs,
                                 train_s=tr, trainable=n_par,
                                 extra={**extra, "n_train": n_train}))
            if task.segment:
                rows.extend(_segment_rows(task, frame, g, op, outputs, best_phys,
                                          head if best_phys else None,
                                          raw_net if best_phys else None, seed_i,
                                          head_s if best_phys else 0.0,
                                          raw_s if best_phys else 0.0))
    return {"suite": "ir", "rows": rows, "summary": summarize_ir(rows),
            "settings": {"tasks": list(tasks), "n_train": n_train, "n_images": n_images,
                         "budget_s": budget_s, "networks": networks, "seed": seed},
            "seconds": time.perf_counter() - start, "environment": environment()}


def _segmenters(task, restorer, nuc, n_train, budget_s, seed):
    """Train the head (on restored contrast) and the raw-frame U-Net on ``n_train`` scenes."""
    restored, raw, labels = [], [], []
    for i in range(n_train):
        frame, g = acquire(task, TRAIN_SEED + i, nuc)
        restored.append(local_contrast(net_restore(restorer, g)) / 5.0)
        raw.append(normalise(g))
        labels.append(frame.labels[None, None].double())
    labels_t = torch.cat(labels)
    t0 = time.perf_counter()
    head = train_segmenter(torch.cat(restored), labels_t, Identity(task.scene.shape),
                           budget_s, seed)
    head_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw_net = train_segmenter(torch.cat(raw), labels_t, task.operator(), budget_s, seed,
                              input_kind="adjoint")
    return head, raw_net, head_s, time.perf_counter() - t0


def _segment_rows(task, frame, g, op, outputs, best_phys, head, raw_net, seed_i, head_s,
                  raw_s):
    truth = frame.labels
    rows = []
    _, xb, vb, *_ = outputs["bayes-gauss"]
    lab, _ = threshold_segment(xb, vb)
    rows.append(_row(task, "threshold (bayes-gauss)", "segment-classical", seed_i,
                     labels=lab, truth_labels=truth))
    if best_phys:
        xp = outputs[best_phys][1]
        lab, _ = threshold_segment(xp)
        rows.append(_row(task, f"threshold ({best_phys})", "segment-physics", seed_i,
                         labels=lab, truth_labels=truth))
        with torch.no_grad():
            logits = head((local_contrast(xp) / 5.0).float())
        rows.append(_row(task, f"{best_phys} + U-Net head", "segment-physics", seed_i,
                         labels=(logits[0, 0] > 0).to(torch.int64), truth_labels=truth,
                         train_s=head_s, trainable=head.trainable_parameters()))
        with torch.no_grad():
            logits = raw_net(normalise(g).float())
        rows.append(_row(task, "U-Net on raw frames", "segment-black-box", seed_i,
                         labels=(logits[0, 0] > 0).to(torch.int64), truth_labels=truth,
                         train_s=raw_s, trainable=raw_net.trainable_parameters()))
    lab = potts_segment(g, op, xb)
    rows.append(_row(task, "potts", "segment-bayesian", seed_i, labels=lab,
                     truth_labels=truth))
    return rows


def summarize_ir(rows) -> list[dict]:
    """Mean over the test frames per (task, method)."""
    keys = sorted({(r["task"], r["method"], r["family"]) for r in rows})
    out = []
    for task, method, family in keys:
        group = [r for r in rows if (r["task"], r["method"]) == (task, method)]
        entry = {"task": task, "method": method, "family": family, "n": len(group)}
        for metric in ("rmse_k", "psnr", "coverage", "dice", "iou", "infer_ms", "train_s"):
            values = [r[metric] for r in group if r.get(metric) is not None]
            entry[metric] = float(np.mean(values)) if values else None
        out.append(entry)
    return out
