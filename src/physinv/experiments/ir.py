"""The infrared benchmark suite (``physinv bench --suite ir``): the restorations and
segmentations of the thermal library (``physinv.thermal``) side by side — raw frame → NUC →
restoration (+ variance) → hot-defect segmentation — in rows and a summary.

Tasks (``physinv.thermal.IR_TASKS``): ``ir_denoise`` (64², no optics blur, NETD 0.2 K — a
cheap uncooled camera), ``ir_deconvolve`` (64², Gaussian optics FWHM 2.5 px, NETD 50 mK),
``ir_sr_x4`` (128² scene, optics FWHM 1 detector pixel, 4×4 detector integration and ×4
decimation → 32² frames, NETD 50 mK) and ``ir_segment`` (the ``ir_sr_x4`` camera; defects 3–5
detector pixels wide, 2–10 K). Every test frame is simulated raw (fixed pattern, dead pixels,
14-bit counts) and corrected by the two-point NUC from flat fields before restoration, so the
methods see what they would see on a real camera. Truth = the high-resolution apparent
temperature (the emissivity-weighted radiometric temperature the camera measures); scores:
RMSE in K, PSNR over the scene's temperature range, 95 % interval coverage where a method gives
a variance, Dice / IoU of the defect maps.

Networks (``PHYSICS_NETS``, ``BLACKBOX_NETS``) are trained by ``physinv.thermal.train_net`` on
normalised temperatures; the physics network best on validation scenes and the Gaussian
posterior get the variance ``physinv ir restore`` writes: the camera's posterior variance around
the method's estimate, calibrated at 95 % on the task's validation scenes
(``thermal.uncertainty.calibrate_restoration``); ``coverage_raw`` is the posterior's own.

Segmentation, five ways: ``component background`` (``component_segment``: the ambient field
and the heated components fitted to the frame, the restored residual thresholded — a
component's edge is not a defect), ``threshold`` on a restored map (local contrast above the grey
opening of the map by a square, blobs above 1 K kept at half their peak — the FWHM rule of
thermographic defect sizing; with a variance, the probability of exceeding the threshold), ``potts``
(Gauss–Markov–Potts joint restoration-segmentation of the contrast), ``head`` (a small U-Net
on the physics-constrained restoration) and ``unet-raw`` (a U-Net on H'g of the raw frame).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from physinv.experiments.rows import Row, summarize
from physinv.metrics import coverage, dice, iou, psnr
from physinv.operators import Identity
from physinv.thermal import (
    TEST_SEED,
    TIK_GRID,
    TRAIN_SEED,
    TV_GRID,
    acquire,
    calibration,
    get_ir_task,
    local_contrast,
    net_restore,
    normalise,
    potts_segment,
    threshold_segment,
    tikhonov_k,
    train_net,
    train_segmenter,
    training_pairs,
    tune,
    tv_k,
    upsample,
    validation_pairs,
)
from physinv.thermal.segmentation import component_segment, detection_counts
from physinv.thermal.uncertainty import LEVEL, calibrate_restoration, restoration_maps
from physinv.uq import Maps, calibrated_variance

PHYSICS_NETS = ("tikhonov-residual", "decomposed-cnn", "unrolled-hqs")
BLACKBOX_NETS = ("unet",)


def _calibration(cal) -> dict:
    """What a row records of its variance's calibration."""
    return {"calibration_form": cal.selection["chosen"], "calibration_95": cal.describe_at(0.95)}


def _rmse(x, truth) -> float:
    return float(((x - truth) ** 2).mean().sqrt())


def _row(task, method, family, seed, x=None, truth=None, variance=None, labels=None,
         truth_labels=None, ms=0.0, train_s=0.0, trainable=0, extra=None) -> dict:
    """One ``Row`` (as a dict) for a restoration (``x``: RMSE in K, PSNR over the scene's
    range, coverage with a variance) or a segmentation (``labels``: Dice, IoU)."""
    scores, p = {}, None
    if x is not None:
        span = float(truth.max() - truth.min())
        p = float(psnr(x, truth, data_range=span))
        scores["rmse_k"] = _rmse(x, truth)
        scores["coverage"] = None if variance is None else float(
            coverage(x, variance.sqrt(), truth))
    if labels is not None:
        scores["dice"] = float(dice(labels[None, None], truth_labels[None, None]))
        scores["iou"] = float(iou(labels[None, None], truth_labels[None, None]))
    return Row(task.name, method, seed, family=family, n_train=None, psnr=p, infer_ms=ms,
               train_s=train_s, params_trainable=trainable,
               extra={**scores, **(extra or {})}).to_dict()


def run_ir(tasks=("ir_denoise", "ir_deconvolve", "ir_sr_x4", "ir_segment"), n_train: int = 16,
           n_images: int = 8, budget_s: float = 90.0, networks=None, seed: int = 0,
           progress: Callable | None = None) -> dict:
    """Every IR task and method side by side (see the module docstring); rows + summary.

    Per task: λ of Tikhonov and TV tuned on ``n_train`` training scenes, the networks trained
    (``train_net``), the physics network with the lowest validation RMSE given intervals
    (variance calibrated by ``calibrate_restoration``); then ``n_images`` test frames (seeds
    ``TEST_SEED + i``), acquired raw and NUC-corrected, restored by every method and, for
    ``ir_segment``, segmented four ways.

    Parameters
    ----------
    tasks : sequence of str, default all four
        ``physinv.thermal.IR_TASKS`` names: ir_denoise, ir_deconvolve, ir_sr_x4, ir_segment.
    n_train : int, default 16
        Training scenes per task (tuning, networks and segmenters).
    n_images : int, default 8
        Test frames per task.
    budget_s : float, default 90.0
        Training time budget per network, in seconds.
    networks : sequence of str, optional
        The networks to train (None or empty: ``PHYSICS_NETS + BLACKBOX_NETS``).
    seed : int, default 0
        Training seed.
    progress : callable, optional
        Called with a text before each step.

    Returns
    -------
    dict
        ``suite`` ("ir"), ``rows`` (one per task, method and test frame: ``rmse_k`` in K,
        ``psnr`` over the scene's temperature range, ``coverage`` of the 95 % interval where
        a method gives a variance, ``dice`` and ``iou`` for segmentations), ``summary``
        (``summarize_ir``), ``settings``, ``seconds`` and ``environment``.
    """
    from physinv.io import environment

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
        cals = {"bayes-gauss": calibrate_restoration(task.camera, scene=task.scene)}
        if best_phys:
            cals[best_phys] = calibrate_restoration(task.camera, net=nets[best_phys],
                                                    scene=task.scene)
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
            post = restoration_maps(g[0, 0], task.camera, "bayes")[0]
            outputs["bayes-gauss"] = ("bayesian", post.x_hat,
                                      calibrated_variance(cals["bayes-gauss"], post, LEVEL),
                                      time.perf_counter() - t0, 0.0, 0,
                                      {**_calibration(cals["bayes-gauss"]),
                                       "coverage_raw": float(coverage(
                                           post.x_hat, post.variance.sqrt(), truth))})
            for net_name, net in nets.items():
                t0 = time.perf_counter()
                x = net_restore(net, g)
                family = "physics" if net_name in PHYSICS_NETS else "black-box"
                var, about = None, {}
                if net_name == best_phys:  # the variance ir restore --net writes
                    var = calibrated_variance(cals[net_name], Maps(x, post.variance), LEVEL)
                    about = _calibration(cals[net_name])
                outputs[net_name] = (family, x, var, time.perf_counter() - t0,
                                     trained[net_name].train_s, net.trainable_parameters(),
                                     {"stop_reason": trained[net_name].stop_reason,
                                      "best_epoch": trained[net_name].best_epoch, **about})
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
    lab, _, _ = component_segment(g, op, xb)
    rows.append(_row(task, "component background", "segment-classical", seed_i, labels=lab,
                     truth_labels=truth, extra=detection_counts(lab, truth)))
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
    """Mean over the test frames per (task, method), groups sorted.

    Parameters
    ----------
    rows : list of dict
        ``run_ir``'s rows.

    Returns
    -------
    list of dict
        Per (task, method, family): the means of ``rmse_k``, ``psnr``, ``coverage``,
        ``dice``, ``iou``, ``infer_ms`` and ``train_s`` (None where no row has one) and the
        number of frames ``n``.
    """
    return summarize(rows, by=("task", "method", "family"),
                     mean=("rmse_k", "psnr", "coverage", "dice", "iou", "infer_ms", "train_s"),
                     median=(), first=(), count="n", sort=True)
