"""Stage ``ir``: thermal super-resolution ×4 through the camera model — restoration, the
posterior standard deviation, calibrated intervals and defect segmentation.

Everything thermal comes from the infrared library ``physinv.thermal`` (its network is trained
by ``thermal.train_net``: the recipe's ``default`` preset on simulated scenes); the stage only
assembles.
"""

from __future__ import annotations

import numpy as np
import torch

from physinv import thermal
from physinv.experiments.demo.common import Context, Stage, timed
from physinv.metrics import coverage, dice, iou
from physinv.thermal.networks import net_restore_tiled
from physinv.thermal.uncertainty import LEVEL, calibrate_restoration, restoration_maps
from physinv.uq import Maps, calibrated_variance


def run(ctx: Context) -> dict:
    """ir_segment's camera: tune Tikhonov's λ and train ``settings.ir_net`` on
    ``settings.ir_n_train`` simulated scenes, calibrate its intervals, then restore and
    segment ``settings.ir_frames`` test frames.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks (``advance``
        is called ``STAGE.units(settings)`` times).

    Returns
    -------
    dict
        ``results`` — ``task``, ``camera``, ``n_train``, ``frames``, ``lam_rel``,
        ``calibration`` (per method with a variance: the form chosen and its weights at 95 %),
        ``net``, ``params_trainable``, ``train_steps``, ``restoration`` (per method: mean
        ``rmse_k`` in K and ``coverage_95``), ``segmentation`` (per method: mean ``dice`` and
        ``iou``) and ``per_frame``; ``timings`` — ``infer_ms`` (median per method) and
        ``train_s``; ``figures`` — ``ir.png`` (the first frame).
    """
    settings = ctx.settings
    task = thermal.get_ir_task("ir_segment")
    op = task.operator()
    nuc = thermal.calibration(task.camera, tuple(op.out_shape))
    ctx.describe("ir: tuning λ on training scenes")
    pairs = thermal.training_pairs(task, settings.ir_n_train, nuc)
    lam_rel = thermal.tune(thermal.tikhonov_k, thermal.TIK_GRID, pairs)
    ctx.advance()
    ctx.describe(f"ir: training {settings.ir_net}")
    net, result = thermal.train_net(settings.ir_net, task, settings.ir_n_train, lam_rel,
                                    None, ctx.seed, epochs=settings.ir_epochs)
    cals = {name: calibrate_restoration(task.camera, "bayes", net=n, scene=task.scene)
            for name, n in (("bayes-gauss", None), (settings.ir_net, net))}
    ctx.advance()
    per, times, shown = [], {}, None
    for i in range(settings.ir_frames):
        ctx.describe(f"ir: test frame {i + 1}")
        row, frame_times, figure_data = _frame(settings.ir_net, task, op, nuc, net, lam_rel,
                                               cals, thermal.TEST_SEED + i)
        for method, secs in frame_times.items():
            times.setdefault(method, []).append(1e3 * secs)
        per.append(row)
        if i == 0:
            shown = figure_data
        ctx.advance()
    methods = list(per[0]["methods"])
    table = [{"method": m,
              "rmse_k": float(np.mean([r["methods"][m]["rmse_k"] for r in per])),
              "coverage_95": None if per[0]["methods"][m]["coverage_95"] is None else float(
                  np.mean([r["methods"][m]["coverage_95"] for r in per]))} for m in methods]
    seg = [{"method": m, "dice": float(np.mean([r["segmentation"][m]["dice"] for r in per])),
            "iou": float(np.mean([r["segmentation"][m]["iou"] for r in per]))}
           for m in per[0]["segmentation"]]
    figures = [ctx.figure("ir.png", _ir_figure(*shown, settings.ir_net))]
    return {"results": {"task": task.name, "camera": task.description,
                        "n_train": settings.ir_n_train, "frames": settings.ir_frames,
                        "lam_rel": lam_rel, "net": settings.ir_net,
                        "calibration": {k: {"form": c.selection["chosen"],
                                            "at_95": c.describe_at(0.95),
                                            "calibration_set": c.calibration_set}
                                        for k, c in cals.items()},
                        "params_trainable": net.trainable_parameters(),
                        "train_steps": result.n_steps, "restoration": table,
                        "segmentation": seg, "per_frame": per},
            "timings": {"infer_ms": {k: float(np.median(v)) for k, v in times.items()},
                        "train_s": result.train_s},
            "figures": figures}


def _frame(net_name, task, op, nuc, net, lam_rel, cals, seed):
    """One test frame: (row of scores, {method: seconds}, what the figure shows); the
    variances are those ``physinv ir restore`` writes (calibrated at 95 % by ``cals``)."""
    frame, g = thermal.acquire(task, seed, nuc)
    truth = frame.apparent[None, None]
    post, secs_post = timed(lambda: restoration_maps(g[0, 0], task.camera, "bayes")[0])
    x_net, secs_net = timed(lambda: net_restore_tiled(net, g.to(torch.float64), task.camera)[0])
    mapped = Maps(x_net, post.variance)  # what restore gives a network: the posterior's variance
    outputs = {"bicubic": timed(lambda: thermal.upsample(g, task.camera)),
               "tikhonov": timed(lambda: thermal.tikhonov_k(g, op, lam_rel)),
               "bayes-gauss": (post.x_hat, secs_post), net_name: (mapped.x_hat, secs_net)}
    var = {"bayes-gauss": calibrated_variance(cals["bayes-gauss"], post, LEVEL),
           net_name: calibrated_variance(cals[net_name], mapped, LEVEL)}
    labels, prob = thermal.threshold_segment(outputs[net_name][0], var[net_name])
    found = {f"threshold on {net_name}": labels,
             "threshold on tikhonov": thermal.threshold_segment(outputs["tikhonov"][0])[0],
             "potts": thermal.potts_segment(g, op, outputs["tikhonov"][0]),
             "component background": thermal.component_segment(g, op, post.x_hat)[0]}
    row = {"frame": seed, "methods": {}}
    for method, (x, _) in outputs.items():
        rmse = float(((x - truth) ** 2).mean().sqrt())
        cov = None if method not in var else float(coverage(x, var[method].sqrt(), truth))
        row["methods"][method] = {"rmse_k": rmse, "coverage_95": cov}
    truth_labels = frame.labels[None, None]
    row["segmentation"] = {k: {"dice": float(dice(v[None, None], truth_labels)),
                               "iou": float(iou(v[None, None], truth_labels))}
                           for k, v in found.items()}
    seconds = {method: secs for method, (_, secs) in outputs.items()}
    return row, seconds, (frame, g, outputs, var, labels, prob)


def _ir_figure(frame, g, outputs, var, labels, prob, net_name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = frame.apparent.numpy() - 273.15
    lo, hi = float(truth.min()), float(truth.max())
    net_x = outputs[net_name][0][0, 0].numpy() - 273.15
    panels = [("raw frame (NUC-corrected, 32×32)", g[0, 0].numpy() - 273.15, "inferno", lo, hi),
              ("true apparent temperature", truth, "inferno", lo, hi),
              ("bicubic", outputs["bicubic"][0][0, 0].numpy() - 273.15, "inferno", lo, hi),
              (f"{net_name} (trained)", net_x, "inferno", lo, hi),
              ("posterior σ × calibration (K)", var[net_name][0, 0].sqrt().numpy(), "magma",
               None, None),
              ("P(defect)", prob.numpy() if prob is not None else np.zeros_like(truth),
               "viridis", 0, 1),
              ("defects found (red) / true (outline)", None, None, None, None)]
    fig, axes = plt.subplots(2, 4, figsize=(14, 7))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, img, cmap, vmin, vmax) in zip(axes.flat, panels, strict=False):
        if img is None:
            ax.imshow(net_x, cmap="gray", vmin=lo, vmax=hi)
            from matplotlib.colors import ListedColormap

            found = labels.numpy()
            ax.imshow(np.ma.masked_where(found == 0, found), cmap=ListedColormap(["red"]),
                      alpha=0.6, interpolation="nearest")
            ax.contour(frame.labels.numpy(), levels=[0.5], colors="cyan", linewidths=0.8)
        else:
            shown = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            fig.colorbar(shown, ax=ax, fraction=0.046,
                         label="°C" if cmap == "inferno" else None)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """Two tables: restoration (RMSE, coverage, ms per frame) and defect segmentation
    (Dice, IoU).

    Parameters
    ----------
    report : Report
        The report being built; the runner has added the section's title and ``about``
        text and adds the figures after these tables.
    results : dict
        The stage's ``results`` (as ``run`` returned them, read back from JSON).
    timings : dict
        The stage's ``timings`` ({} if absent).
    """
    report.table([{**r, "ms / frame": timings.get("infer_ms", {}).get(r["method"])}
                  for r in results["restoration"]],
                 caption=f"{results['frames']} test frame(s), {results['n_train']} training "
                 "scenes; 95 % intervals calibrated on simulated acquisitions of the camera: "
                 + "; ".join(f"{k} {c['form']} ({c['at_95']})"
                             for k, c in results.get("calibration", {}).items()))
    report.table(results["segmentation"], caption="defect segmentation")


def checks(results: dict) -> list[dict]:
    """Coverages, Dice and IoU are fractions."""
    values = [r["coverage_95"] for r in results["restoration"] if r["coverage_95"] is not None]
    values += [r[k] for r in results["segmentation"] for k in ("dice", "iou")]
    return [{"claim": "coverages, Dice and IoU are fractions in [0, 1]",
             "holds": all(0 <= v <= 1 for v in values), "detail": f"{len(values)} values"}]


STAGE = Stage(
    name="ir",
    title="Infrared: super-resolution ×4, uncertainty and defects",
    about="Thermal scenes in kelvin through the simulated camera (optics, 4×4 detector "
          "integration, ×4 decimation, NETD 50 mK, fixed-pattern noise corrected by a two-"
          "point NUC). RMSE in kelvin against the true apparent temperature; coverage = "
          "fraction of pixels inside the 95 % interval (the network's interval is the "
          "posterior σ scaled on validation scenes); defects by threshold on the network's "
          "and on Tikhonov's map (the figure shows the probability of exceeding the "
          "threshold from the network's intervals), by Gauss–Markov–Potts, and above the "
          "fitted background of the heated components (`physinv ir restore`'s default). The "
          "trained "
          "segmentation head of `physinv bench --suite ir` is not trained here (minutes).",
    run=run,
    units=lambda settings: 2 + settings.ir_frames,
    report=report_section,
    checks=checks,
)
