"""Stage ``depth``: unrolled Landweber with K layers, trained, against K plain Landweber
iterations — the same network at its initial weights, which ``checks`` tests — with PSNR and
compute against K (2K operator applications either way).
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.experiments.demo.common import (
    Context,
    Stage,
    deblur_problem,
    estimate,
    select,
    timed,
    train,
)
from physinv.nets import UnrolledLandweber
from physinv.solvers import landweber, tikhonov


def run(ctx: Context) -> dict:
    """Unrolled Landweber with K layers, trained, against K Landweber iterations, for each K
    of ``settings.depths`` on deblur_gauss.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks (``advance``
        is called ``STAGE.units(settings)`` times).

    Returns
    -------
    dict
        ``results`` — ``task``, ``n_train``, ``tikhonov_tuned`` (the reference's mean PSNR) and
        ``rows`` (per K: ``psnr_iterations``, ``psnr_unrolled``, ``operator_applications`` = 2K,
        ``params_trainable``, ``fixed_vs_iterations_max_diff``, the learned ``steps``,
        ``train_steps``); ``timings`` — per K, ``ms_iterations`` (the network at its initial
        weights), ``ms_unrolled`` and ``train_s``; ``figures`` — ``depth.png``.
    """
    settings = ctx.settings
    task, tests, _, crops, op_train, lam = deblur_problem(settings)
    ref = float(np.mean([task.score(tikhonov(y, op, lam=lam).x, x)[0]
                         for _, x, y, op in tests]))
    rows, timings = [], {}
    for k in settings.depths:
        ctx.describe(f"depth: K = {k}")
        row, timings[str(k)] = _depth_row(ctx, k, task, tests, op_train, crops, lam)
        rows.append(row)
        ctx.advance()
    figures = [ctx.figure("depth.png", _depth_figure(rows, timings, ref))]
    return {"results": {"task": task.name, "n_train": settings.n_train, "tikhonov_tuned": ref,
                        "rows": rows},
            "timings": timings, "figures": figures}


def _depth_row(ctx, k, task, tests, op_train, crops, lam):
    """(row, timings) for K = ``k`` layers / iterations."""
    plain, trained, gap = [], [], 0.0
    net0 = UnrolledLandweber(op_train, n_layers=k)
    net, result = train("unrolled-landweber", op_train, crops, task.noise(), lam,
                        ctx.settings.epochs, ctx.seed,
                        net=UnrolledLandweber(op_train, n_layers=k))
    ms_plain, ms_net = [], []
    for _, x, y, op in tests:
        it = landweber(y, op, n_iter=k, tol=None).x
        fixed = net0.for_operator(op)
        with torch.no_grad():
            gap = max(gap, float((fixed(y) - it).abs().max()))
        _, secs = timed(lambda n=fixed, y=y: estimate(n, y), 2)  # same code path as net
        ms_plain.append(1e3 * secs)
        plain.append(task.score(it, x)[0])
        est, secs = timed(lambda n=net.for_operator(op), y=y: estimate(n, y), 2)
        ms_net.append(1e3 * secs)
        trained.append(task.score(est, x)[0])
    row = {"K": k, "psnr_iterations": float(np.mean(plain)),
           "psnr_unrolled": float(np.mean(trained)),
           "operator_applications": 2 * k, "params_trainable":
           net.trainable_parameters(), "fixed_vs_iterations_max_diff": gap,
           "steps": [float(v) for v in net.step.detach().flatten()],
           "train_steps": result.n_steps}
    return row, {"ms_iterations": float(np.median(ms_plain)),
                 "ms_unrolled": float(np.median(ms_net)), "train_s": result.train_s}


def _depth_figure(rows, timings, ref):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["K"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(ks, [r["psnr_unrolled"] for r in rows], "o-", label="unrolled Landweber, trained")
    a.plot(ks, [r["psnr_iterations"] for r in rows], "s--",
           label="K Landweber iterations (= untrained net)")
    a.axhline(ref, color="grey", ls=":", label=f"Tikhonov, tuned λ ({ref:.2f} dB)")
    a.set_xscale("log")
    a.set_xlabel("K (layers = iterations)")
    a.set_ylabel("test PSNR (dB)")
    a.legend(fontsize=8)
    a.set_title("deblur_gauss: accuracy against depth")
    b.plot(ks, [timings[str(k)]["ms_unrolled"] for k in ks], "o-", label="unrolled, trained")
    b.plot(ks, [timings[str(k)]["ms_iterations"] for k in ks], "s--", label="iterations")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("K")
    b.set_ylabel("ms per 256×256 image (this run)")
    b.set_title("compute: 2K operator applications either way")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """One table: per K, the PSNR of the unrolled network and of the iterations, the
    operator applications and both times; Tikhonov's PSNR in the caption.

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
    report.table([{**select([r], ["K", "psnr_unrolled", "psnr_iterations",
                                  "operator_applications"])[0],
                   "ms unrolled": timings.get(str(r["K"]), {}).get("ms_unrolled"),
                   "ms iterations": timings.get(str(r["K"]), {}).get("ms_iterations")}
                  for r in results["rows"]],
                 caption=f"Tikhonov with tuned λ: {results['tikhonov_tuned']:.2f} dB")


def checks(results: dict) -> list[dict]:
    """Unrolled Landweber at its initial weights = K Landweber iterations."""
    gap = max(r["fixed_vs_iterations_max_diff"] for r in results["rows"])
    return [{"claim": "unrolled Landweber at its initial weights = K Landweber "
             "iterations", "holds": gap < 1e-4,
             "detail": f"largest difference {gap:.2e} (float64 data)"}]


STAGE = Stage(
    name="depth",
    title="Depth: unrolled against iterated",
    about="Unrolled Landweber with K layers (a step α_k and a weight λ_k learned per "
          "layer) against K plain Landweber iterations — which are that network at its "
          "initial weights. Both cost 2K operator applications; the right panel is the "
          "measured time per image.",
    run=run,
    units=lambda settings: len(settings.depths),
    report=report_section,
    checks=checks,
)
