"""Stage ``uq``: calibrated per-pixel uncertainty — do 95 % intervals cover 95 %?

For each task of ``settings.uq_tasks`` and each method of ``settings.uq_methods`` (with a
network, ``settings.uq_net`` trained on deblur_gauss, in the larger modes): the variance map
of ``physinv.uq`` — the Gaussian posterior's for bayes-gauss, else the equivariant bootstrap's
with K = ``settings.uq_samples`` — calibrated by split-conformal scales fitted on held-out
training crops, every form of ``physinv.uq.select`` (bootstrap mean square or spread, with or
without a bias term) fitted and the one chosen on the crops after them
(``experiments.uq_tasks.calibrate_maps``: ``uq_cal_images`` crops × ``uq_draws`` noise draws,
``uq_val_images`` validation crops; never a test image), as ``physinv calibrate`` does. On
the test images: the empirical coverage of x̂ ± z_α√v at nominal 50 / 80 / 90 / 95 / 99 %,
raw and calibrated, the mean σ against the RMSE, Spearman's ρ between σ and |error|, and
seconds per image. With ``settings.uq_ir_task``, one thermal row too: the variance ``physinv ir
restore`` writes for the Gaussian posterior (``thermal.uncertainty``), on simulated test frames.

>>> [name for name in method_names(get_task("ct_sparse"), ("tikhonov", "bayes-gauss"))]
['fbp', 'tikhonov']
"""

from __future__ import annotations

import time

import numpy as np
import torch

from physinv.experiments.demo.common import Context, Stage, select, train
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.experiments.uq_tasks import SOLVER_START, calibrate_maps, network_maps, solver_maps
from physinv.uq import LEVELS, Candidate, calibrated_variance, form_scores

CT_METHODS = ("fbp", "tikhonov")  # CT: no closed-form posterior, TV's tuning too slow here


def method_names(task, methods) -> list[str]:
    """The methods run on ``task``: ``methods``, or ``CT_METHODS`` for ct_sparse."""
    return list(CT_METHODS) if task.name == "ct_sparse" else list(methods)


def _options(name, task, tune) -> dict:
    """The solver's options, tuned on training crops 0–3 (``tune``) as the protocol does."""
    if name == "tikhonov":
        return {"lam": task.tikhonov_lambda(tune)}
    if name == "tv":
        op = tune[0][2]
        return {"lam": task.tv_weight(tune) * op.norm() ** 2, "positivity": task.positivity}
    return {}


def _evaluate(name, source, estimate, cal, tests, keep_map: bool, task=None):
    """Per-image scores on the test pairs (on the task's domain: CT's disk) of the map the
    calibration's form takes, and the maps of the first image."""
    images, maps = [], None
    for img_name, x, y, op in tests:
        start = time.perf_counter()
        m = estimate(y, op)
        seconds = time.perf_counter() - start
        on = (task.restrict(torch.ones_like(x)) > 0) if task is not None else None
        images.append({"image": img_name, "seconds": seconds, **form_scores(x, m, cal, on)})
        if keep_map and maps is None:
            maps = {"sigma": calibrated_variance(cal, m, 0.95).sqrt()[0, 0].numpy(),
                    "error": (m.x_hat - x).abs()[0, 0].numpy(), "image": img_name}
    keys = [k for k in images[0] if k != "image"]
    mean = {k: _mean([im[k] for im in images]) for k in keys}
    mean = {k: None if np.isnan(v) else v for k, v in mean.items()}  # ρ of a flat map: null
    return {"method": name, "variance_source": source, **mean, "form": Candidate.of(cal).name,
            "scales": cal.scales, "weights": cal.weights}, maps


def _mean(values) -> float:
    """The mean of the finite values (NaN if none: ρ of a flat posterior map)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _task_rows(ctx: Context, task_name: str):
    s = ctx.settings
    task = get_task(task_name)
    noise = task.noise()
    names = method_names(task, s.uq_methods)
    tune = training_pairs(task, 4 if task_name != "ct_sparse" else 1)
    tests = evaluation_pairs(task, s.test_images)
    rows, maps = [], {}
    for name in names:
        ctx.describe(f"uq: {task_name} {name}")
        options = _options(name, task, tune)
        source = "posterior" if name == "bayes-gauss" else "bootstrap"
        estimate = solver_maps(name, noise, s.uq_samples, options, task.restrict)
        start = time.perf_counter()
        cal = calibrate_maps(estimate, task, SOLVER_START, method=name, operator=task.spec,
                             variance_source=source, n_images=s.uq_cal_images,
                             n_validation=s.uq_val_images, n_draws=s.uq_draws).chosen
        cal_s = time.perf_counter() - start
        row, m = _evaluate(name, source, estimate, cal, tests, keep_map=True, task=task)
        rows.append({"task": task_name, **row, "calibration_s": cal_s})
        maps[(task_name, name)] = m
        ctx.advance()
    return rows, maps


def _network_row(ctx: Context):
    """``settings.uq_net`` trained on deblur_gauss crops 0 … n_train − 1, calibrated on the
    crops after them, scored on the test images."""
    s = ctx.settings
    task = get_task("deblur_gauss")
    ctx.describe(f"uq: training {s.uq_net}")
    train_set = training_pairs(task, s.n_train)
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    net, result = train(s.uq_net, op, crops, task.noise(), task.tikhonov_lambda(train_set[:4]),
                        s.uq_net_epochs, ctx.seed)
    net.eval()
    cal = calibrate_maps(network_maps(net, task.noise(), s.uq_samples), task, s.n_train,
                         method=type(net).__name__, operator=task.spec,
                         variance_source="bootstrap", n_images=s.uq_cal_images,
                         n_validation=s.uq_val_images, n_draws=s.uq_draws, op=net.op).chosen
    tests = [(n, x, y, o) for n, x, y, o in evaluation_pairs(task, s.test_images)]
    # the network is built on the 128×128 training grid: it reconstructs 256² test images
    # through its operator for that shape
    big = net.for_operator(tests[0][3]).eval() if tests[0][3].in_shape != op.in_shape else net
    row, m = _evaluate(s.uq_net, "bootstrap", network_maps(big, task.noise(), s.uq_samples),
                       cal, tests, True)
    ctx.advance()
    return {"task": task.name, **row, "train_s": result.train_s}, m


def _ir_row(ctx: Context):
    """``settings.uq_ir_task``: the variance ``physinv ir restore`` writes for the Gaussian
    posterior (calibrated on simulated acquisitions of the camera, ``thermal.uncertainty``),
    scored on ``uq_ir_frames`` simulated test frames (in K)."""
    from physinv import thermal
    from physinv.thermal.uncertainty import calibrate_restoration, restoration_maps

    s = ctx.settings
    task = thermal.get_ir_task(s.uq_ir_task)
    ctx.describe(f"uq: {task.name} bayes-gauss")
    nuc = thermal.calibration(task.camera, tuple(task.operator().out_shape))
    start = time.perf_counter()
    cal = calibrate_restoration(task.camera, scene=task.scene)
    cal_s = time.perf_counter() - start
    tests = []
    for i in range(s.uq_ir_frames):
        frame, g = thermal.acquire(task, thermal.TEST_SEED + i, nuc)
        tests.append((f"frame {i}", frame.apparent[None, None], g, None))

    def estimate(g, _):
        return restoration_maps(g[0, 0], task.camera, "bayes")[0]

    row, m = _evaluate("bayes-gauss", "posterior", estimate, cal, tests, keep_map=True)
    ctx.advance()
    return {"task": task.name, **row, "calibration_s": cal_s}, m


def run(ctx: Context) -> dict:
    """Calibrate and score the variance maps of every (task, method) of the settings.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks.

    Returns
    -------
    dict
        ``results`` — ``levels`` and ``rows`` (per task and method: ``coverage_raw_α`` and
        ``coverage_α`` at each level, ``rmse``, ``mean_sigma(_raw)``, ``half_width_95``,
        ``spearman``, the conformal ``scales``); ``timings`` — seconds per image and for the
        calibration; ``figures`` — ``uq_calibration.png``, ``uq_maps.png``.
    """
    s = ctx.settings
    rows, maps = [], {}
    for task_name in s.uq_tasks:
        task_rows, task_maps = _task_rows(ctx, task_name)
        rows += task_rows
        maps.update(task_maps)
    if s.uq_net:
        row, m = _network_row(ctx)
        rows.append(row)
        maps[("deblur_gauss", s.uq_net)] = m
    if s.uq_ir_task:
        row, m = _ir_row(ctx)
        rows.append(row)
        maps[(s.uq_ir_task, "bayes-gauss")] = m
    timings = {f"{r['task']}/{r['method']}": {k: r.pop(k) for k in
                                             ("seconds", "calibration_s", "train_s") if k in r}
               for r in rows}
    tasks = (*s.uq_tasks, *((s.uq_ir_task,) if s.uq_ir_task else ()))
    figures = [ctx.figure("uq_calibration.png", _calibration_figure(rows, tasks)),
               ctx.figure("uq_maps.png", _maps_figure(maps))]
    return {"results": {"levels": list(LEVELS), "samples": s.uq_samples, "rows": rows},
            "timings": timings, "figures": figures}


def _calibration_figure(rows, tasks):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        ax.plot([0.4, 1], [0.4, 1], color="0.5", lw=1, label="nominal = empirical")
        for i, r in enumerate(x for x in rows if x["task"] == task):
            color = f"C{i}"
            ax.plot(LEVELS, [r[f"coverage_{a:g}"] for a in LEVELS], "o-", color=color,
                    label=f"{r['method']} calibrated")
            ax.plot(LEVELS, [r[f"coverage_raw_{a:g}"] for a in LEVELS], "x:", color=color,
                    label=f"{r['method']} raw")
        ax.set_xlim(0.4, 1.0)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("nominal level")
        ax.set_ylabel("empirical coverage (test images)")
        ax.set_title(task)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _maps_figure(maps):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(maps)
    fig, axes = plt.subplots(len(keys), 2, figsize=(6.4, 3.0 * len(keys)), squeeze=False)
    for row, key in zip(axes, keys, strict=True):
        m = maps[key]
        top = float(np.quantile(np.concatenate([m["sigma"].ravel(), m["error"].ravel()]), 0.99))
        for ax, name, title in ((row[0], "sigma", "calibrated σ (95 %)"),
                                (row[1], "error", "|x̂ − x|")):
            im = ax.imshow(m[name], cmap="magma", vmin=0, vmax=top)
            ax.set_title(f"{key[0]} {key[1]}: {title}", fontsize=8)
            ax.axis("off")
        fig.colorbar(im, ax=list(row), fraction=0.046, pad=0.02)
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """One table: per task and method, calibrated coverage at each level, σ against RMSE,
    Spearman's ρ, and seconds per image.

    Parameters
    ----------
    report : Report
        The report being built.
    results : dict
        The stage's ``results``.
    timings : dict
        The stage's ``timings``.
    """
    report.text(verdict(results["rows"]))
    cols = ["task", "method", "variance_source", "form", *[f"coverage_{a:g}" for a in LEVELS],
            "coverage_raw_0.95", "mean_sigma", "mean_sigma_raw", "rmse", "spearman"]
    rows = select(results["rows"], cols)
    for r in rows:
        r["s_per_image"] = timings.get(f"{r['task']}/{r['method']}", {}).get("seconds")
    report.table(rows)


def verdict(rows) -> str:
    """One sentence: which rows' calibrated 95 % intervals cover within [0.93, 0.97] of the
    test pixels, and which cover too few or too many (with the figure)."""
    def name(r):
        return f"{r['task']} {r['method']}"

    inside = [name(r) for r in rows if 0.93 <= r["coverage_0.95"] <= 0.97]
    low = [f"{name(r)} {r['coverage_0.95']:.3f}" for r in rows if r["coverage_0.95"] < 0.93]
    high = [f"{name(r)} {r['coverage_0.95']:.3f}" for r in rows if r["coverage_0.95"] > 0.97]
    parts = [f"Calibrated 95 % intervals cover 0.93–0.97 of the test pixels for "
             f"{len(inside)} of {len(rows)} rows ({', '.join(inside) or 'none'})"]
    if low:
        parts.append(f"too narrow: {', '.join(low)}")
    if high:
        parts.append(f"too wide: {', '.join(high)}")
    return "; ".join(parts) + "."


def checks(results: dict) -> list[dict]:
    """The conformal scale is positive and finite at every level, and calibration moves the
    95 % coverage towards 0.95 or keeps it within 0.05 (a property of the held-out fit, not of
    the test images, so only reported)."""
    bad = [f"{r['task']}/{r['method']}" for r in results["rows"]
           if not all(0 < v < float("inf") for v in r["scales"].values())]
    return [{"claim": "uq: every conformal scale is positive and finite", "holds": not bad,
             "detail": ", ".join(bad) or f"{len(results['rows'])} calibrations"}]


STAGE = Stage(
    name="uq",
    title="Calibrated uncertainty: do the intervals cover what they say?",
    about="Per task and method, the per-pixel variance (Gaussian posterior, else the "
          "equivariant bootstrap) is scaled by split-conformal factors fitted on held-out "
          "training crops (the form — one scale, or a noise and a bias term — chosen on other "
          "held-out crops; for the thermal task, on simulated acquisitions of the camera), then "
          "x̂ ± z·σ is checked on the test images at nominal 50 / 80 / 90 "
          "/ 95 / 99 %. Dotted: uncalibrated; solid: calibrated; grey: the diagonal. The maps "
          "show σ beside |error| for one image on one colour scale.",
    run=run,
    units=lambda settings: (sum(len(method_names(get_task(t), settings.uq_methods))
                                for t in settings.uq_tasks)
                            + bool(settings.uq_net) + bool(settings.uq_ir_task)),
    report=report_section,
    checks=checks,
)
