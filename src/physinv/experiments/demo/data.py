"""Stage ``data``: test PSNR against the number N of training crops, physics-constrained
against black-box networks, for each task of ``settings.data_tasks`` (deblur_gauss, sr_x2,
ct_sparse), with Tikhonov (λ tuned on 4 crops) and TV (on ``data_tv_crops``) as the references.
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.experiments.demo.common import (
    Context,
    Stage,
    epochs_for,
    estimate,
    plot_nets,
    select,
    train,
)
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.nets.registry import NETWORKS, available
from physinv.solvers import tikhonov, tv


def run(ctx: Context) -> dict:
    """Train ``settings.data_nets`` on N = each of ``settings.data_sizes`` crops for each task
    of ``settings.data_tasks`` and score them on the test images.

    Every network trains for a fixed number of epochs (``data_epochs``, or
    ``data_cnn_epochs`` with a CNN) from the Tikhonov λ tuned on ≤ 4 of its N crops.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks (``advance``
        is called ``STAGE.units(settings)`` times).

    Returns
    -------
    dict
        ``results`` — ``sizes``, ``nets`` and ``rows`` (per task: ``tikhonov-tuned`` and
        ``tv-tuned`` references with ``n_train`` 0, then one row per N and network the
        operator allows: mean ``psnr``, ``ssim``, ``family``, ``params_trainable``,
        ``train_steps``); ``timings`` — ``train_s`` ("task/net/N" → seconds); ``figures``
        — ``data_<task>.png``, test PSNR against N.
    """
    settings = ctx.settings
    summary, train_s = [], {}
    for task_name in settings.data_tasks:
        summary += _task_rows(ctx, task_name, train_s)
    figures = [f"data_{t}.png" for t in settings.data_tasks]
    plot_nets({"summary": summary}, lambda t: ctx.out / f"data_{t}.png",
              n_images=settings.test_images)
    return {"results": {"sizes": list(settings.data_sizes), "nets": list(settings.data_nets),
                        "rows": summary},
            "timings": {"train_s": train_s}, "figures": figures}


def _task_rows(ctx: Context, task_name: str, train_s: dict) -> list[dict]:
    """The Tikhonov reference and a row per (N, network) the task's operator allows; fills
    ``train_s`` ("task/net/N" → seconds)."""
    settings = ctx.settings
    task = get_task(task_name)
    tests = evaluation_pairs(task, settings.test_images)
    ctx.describe(f"data: {task_name} references")
    lams = {}

    def lam_for(n):  # choose_lambda looks at ≤ 4 crops
        key = min(n, 4)
        if key not in lams:
            lams[key] = task.tikhonov_lambda(training_pairs(task, key))
        return lams[key]

    ref = [task.score(tikhonov(y, op, lam=lam_for(4)).x, x)[0] for _, x, y, op in tests]
    norm2 = tests[0][3].norm() ** 2
    weight = task.tv_weight(training_pairs(task, settings.data_tv_crops), norm2) * norm2
    ref_tv = [task.score(tv(y, op, lam=weight, n_iter=500, positivity=task.positivity).x, x)[0]
              for _, x, y, op in tests]
    rows = [{"task": task_name, "method": "tikhonov-tuned", "family": "classical",
             "n_train": 0, "psnr": float(np.mean(ref))},
            {"task": task_name, "method": "tv-tuned", "family": "classical",
             "n_train": 0, "psnr": float(np.mean(ref_tv))}]
    allowed = available(tests[0][3])
    for n in settings.data_sizes:
        train_set = training_pairs(task, n)
        crops = torch.cat([x for x, _, _ in train_set])
        for name in settings.data_nets:
            if allowed.get(name) is not None:
                ctx.advance()
                continue
            ctx.describe(f"data: {task_name}, {name}, N = {n}")
            epochs = epochs_for(name, settings.data_epochs, settings.data_cnn_epochs)
            net, result = train(name, train_set[0][2], crops, task.noise(), lam_for(n),
                                epochs, ctx.seed)
            train_s[f"{task_name}/{name}/{n}"] = result.train_s
            per = [task.score(estimate(net.for_operator(op), y), x) for _, x, y, op in tests]
            rows.append({"task": task_name, "method": name, "family": NETWORKS[name].family,
                         "n_train": n, "psnr": float(np.mean([p for p, _ in per])),
                         "ssim": float(np.mean([s for _, s in per])),
                         "params_trainable": net.trainable_parameters(),
                         "train_steps": result.n_steps})
            ctx.advance()
    return rows


def report_section(report, results: dict, timings: dict) -> None:
    """Per task one sentence on where the networks stand against TV, then the table: task,
    method, family, N, PSNR, SSIM and trainable parameters.

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
    for task in dict.fromkeys(r["task"] for r in results["rows"]):
        report.text(against_tv([r for r in results["rows"] if r["task"] == task]))
    report.table(select(results["rows"], ["task", "method", "family", "n_train", "psnr",
                                          "ssim", "params_trainable"]))


def against_tv(rows: list[dict]) -> str:
    """One task's networks against its TV line (rows of one task; old results without a TV
    row get the Tikhonov line only).

    Examples
    --------
    >>> against_tv([{"task": "t", "method": "tikhonov-tuned", "n_train": 0, "psnr": 30.0},
    ...             {"task": "t", "method": "tv-tuned", "n_train": 0, "psnr": 31.0},
    ...             {"task": "t", "method": "a", "n_train": 4, "psnr": 30.5},
    ...             {"task": "t", "method": "a", "n_train": 16, "psnr": 31.2}])
    't: best network a at N = 16, 31.20 dB; TV 31.00 dB (+0.20), Tikhonov 30.00 dB (+1.20).'
    """
    refs = {r["method"]: r["psnr"] for r in rows if r["n_train"] == 0}
    nets = [r for r in rows if r["n_train"] > 0]
    task = rows[0]["task"]
    if not nets:
        return f"{task}: no network in this run."
    best = max(nets, key=lambda r: r["psnr"])
    parts = [f"{name} {refs[key]:.2f} dB ({best['psnr'] - refs[key]:+.2f})".replace("(-", "(−")
             for name, key in (("TV", "tv-tuned"), ("Tikhonov", "tikhonov-tuned"))
             if key in refs]
    text = (f"{task}: best network {best['method']} at N = {best['n_train']}, "
            f"{best['psnr']:.2f} dB; {', '.join(parts)}.")
    if "tv-tuned" in refs and best["psnr"] < refs["tv-tuned"]:
        text += " No network beats TV on this task."
    return text


STAGE = Stage(
    name="data",
    title="Data efficiency",
    about="Test PSNR against the number N of 128×128 training crops, each network trained "
          "for the same number of steps whatever N, starting from the Tikhonov λ tuned on "
          "(at most 4 of) its N crops. Solid lines: physics-constrained; dashed: black-box; "
          "dotted: Tikhonov with λ tuned on 4 crops and TV (positivity on CT) with λ tuned "
          "on the crops the mode gives it (quick: 1, else 4) — the line a network has to "
          "clear to be worth training. With N = 1 the validation image is the "
          "training crop under other noise, so early stopping cannot see over-fitting.",
    run=run,
    units=lambda s: len(s.data_tasks) * len(s.data_sizes) * len(s.data_nets),
    report=report_section,
)
