"""Stage ``deblur``: deblur_gauss with every structure class of network (analytic, Fourier,
SVD, wavelet, decomposed, unrolled, black-box), the classical and Bayesian solvers and the
linear limit (the per-image oracle Wiener filter).

The oracle Wiener filter (each test image's own spectrum, the true σ) is the best linear
shift-invariant map in mean square error: no row marked linear beats it, which ``checks``
tests per test image. A network's linearity is its registry entry's ``linear``; the classical
methods' is ``LINEAR_CLASSICAL`` below, beside their rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from physinv.experiments.demo.common import (
    Context,
    Stage,
    deblur_problem,
    epochs_for,
    estimate,
    mean_rows,
    timed,
    train,
)
from physinv.experiments.report import image_grid
from physinv.metrics import coverage
from physinv.nets.registry import NETWORKS
from physinv.solvers import gaussian_posterior, studentt, tikhonov, tv, wiener

INSET = (36, 92, 48)  # zoomed square (row, col, size) on the first test image (rocket)


@dataclass(frozen=True)
class Tuned:
    """What the classical rows are given: Tikhonov λ and TV λ (chosen on the training crops)
    and the true noise variance (the oracle's)."""

    lam: float
    tv_lam: float
    noise_var: float


def _oracle(y, op, x, t: Tuned):
    psd = torch.fft.fft2(x).abs() ** 2 / x[0, 0].numel()
    return wiener(y, op, noise_var=t.noise_var, signal_psd=psd[0, 0]).x


# (method, family, estimate(y, op, x, tuned)); a Bayesian row's estimate is its posterior
CLASSICAL = [
    ("tikhonov-tuned", "classical", lambda y, op, x, t: tikhonov(y, op, lam=t.lam).x),
    ("tikhonov-gcv", "classical", lambda y, op, x, t: tikhonov(y, op, lam="gcv").x),
    ("wiener", "classical", lambda y, op, x, t: wiener(y, op).x),
    ("tv-tuned", "classical", lambda y, op, x, t: tv(y, op, lam=t.tv_lam, n_iter=500).x),
    ("bayes-gauss", "bayesian", lambda y, op, x, t: gaussian_posterior(y, op)),
    ("bayes-studentt", "bayesian", lambda y, op, x, t: studentt(y, op, method="vba")),
    ("oracle-wiener", "limit", _oracle),
]
# the classical maps y ↦ x̂ that are linear and shift-invariant on a convolution
LINEAR_CLASSICAL = {"tikhonov-tuned", "tikhonov-gcv", "wiener", "tikhonov-hindsight"}


def run(ctx: Context) -> dict:
    """deblur_gauss with the classical, Bayesian and limit methods (``CLASSICAL``) and every
    network of ``settings.deblur_nets``, on ``settings.test_images`` test images.

    λ of Tikhonov and TV are tuned on ``settings.n_train`` training crops; networks
    train for ``epochs`` (``cnn_epochs`` with a CNN) fixed epochs and move to the 256×256
    test grid with ``for_operator``.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks (``advance``
        is called ``STAGE.units(settings)`` times).

    Returns
    -------
    dict
        ``results`` — ``task``, ``test_images`` (names), ``n_train``, ``lam`` (Tikhonov λ tuned on
        the crops), ``tv_lam_rel`` (TV's λ / ‖H‖²) and ``rows`` (per method: ``family``, ``linear``,
        mean ``psnr`` and ``ssim``, ``coverage_95`` for posteriors, parameter counts, ``per_image``
        scores); ``timings`` — ``infer_ms`` (median per method) and ``train_s`` (per network);
        ``figures`` — ``deblur_grid.png`` (every estimate of the first test image with its PSNR) and
        ``deblur_std.png`` (posterior σ beside the error).
    """
    settings = ctx.settings
    ctx.describe("deblur: tuning λ on training crops")
    task, tests, train_set, crops, op_train, lam = deblur_problem(settings)
    norm2 = tests[0][3].norm() ** 2
    tv_rel = task.tv_weight(train_set)
    ctx.advance()
    tuned = Tuned(lam, tv_rel * norm2, task.noise().variance(None))
    times, shown, stds = {}, {}, {}
    rows = _classical_rows(ctx, task, tests, tuned, times, shown, stds)
    train_s = {}
    for name in settings.deblur_nets:
        rows.append(_network_row(ctx, name, task, tests, (op_train, crops, lam), times,
                                 shown, train_s))
    for name in settings.deblur_regularisers:
        rows.append(_regulariser_row(ctx, name, task, tests, train_set, times, shown))
    image, x, y, _ = tests[0]
    panels = {"truth": x[0, 0], "measurement": y[0, 0]}
    panels.update({k: v[0, 0].clamp(0, 1) for k, v in shown.items()})
    figures = [ctx.figure("deblur_grid.png", image_grid(
        {k: v.numpy() for k, v in panels.items()}, truth=x[0, 0].numpy(), inset=INSET,
        columns=5))]
    figures.append(ctx.figure("deblur_std.png", _std_figure(
        x[0, 0], {m: (shown[m][0, 0], stds[m][0, 0]) for m in stds}, image)))
    return {"results": {"task": task.name, "test_images": [t[0] for t in tests],
                        "n_train": settings.n_train, "lam": lam, "tv_lam_rel": tv_rel,
                        "rows": rows},
            "timings": {"infer_ms": {k: float(np.median(v)) for k, v in times.items()},
                        "train_s": train_s},
            "figures": figures}


def _classical_rows(ctx, task, tests, tuned, times, shown, stds) -> list[dict]:
    """A row per classical / Bayesian / limit method; fills ``times`` (ms per image),
    ``shown`` (estimate of the first image) and ``stds`` (posterior σ of the first image)."""
    rows = []
    for method, family, fn in CLASSICAL:
        ctx.describe(f"deblur: {method}")
        per = []
        for i, (image, x, y, op) in enumerate(tests):
            est, secs = timed(lambda fn=fn, y=y, op=op, x=x: fn(y, op, x, tuned))
            extra = {}
            if family == "bayesian":  # a posterior: mean and 95 % interval coverage
                std = est.variance.clamp_min(0).sqrt()
                est = est.x
                extra["coverage_95"] = float(coverage(est, std, x))
                if i == 0:
                    stds[method] = std
            p, s = task.score(est, x)
            per.append({"image": image, "psnr": p, "ssim": s, **extra})
            times.setdefault(method, []).append(1e3 * secs)
            if i == 0:
                shown[method] = est
        keys = ("psnr", "ssim", "coverage_95") if family == "bayesian" else ("psnr", "ssim")
        rows.append({"method": method, "family": family, "linear": method in LINEAR_CLASSICAL,
                     **mean_rows(per, keys), "params_trainable": 0, "per_image": per})
        ctx.advance()
    return rows


def _network_row(ctx, name, task, tests, training, times, shown, train_s) -> dict:
    """Train ``name`` on the crops (``training`` = (operator, crops, λ)), score it on the test
    grid; fills ``times``, ``shown`` and ``train_s`` (seconds)."""
    op_train, crops, lam = training
    settings = ctx.settings
    ctx.describe(f"deblur: training {name}")
    net, result = train(name, op_train, crops, task.noise(), lam,
                        epochs_for(name, settings.epochs, settings.cnn_epochs), ctx.seed)
    train_s[name] = result.train_s
    per, test_net = _scores(name, task, tests, net.for_operator, times, shown, repeats=2)
    ctx.advance()
    return {"method": name, "family": NETWORKS[name].family,
            "linear": NETWORKS[name].linear, **mean_rows(per),
            "params_trainable": net.trainable_parameters(),
            "params_fixed": test_net.fixed_parameters(),  # on the test grid
            "train_steps": result.n_steps,
            "best_epoch": result.best_epoch, "per_image": per}


def _scores(name, task, tests, for_op, times, shown, repeats: int = 1):
    """(per-image scores of the network ``for_op(op)`` on each test pair, the last test-grid
    network); fills ``times`` (ms, best of ``repeats``) and ``shown`` (first image)."""
    per = []
    for i, (image, x, y, op) in enumerate(tests):
        test_net = for_op(op)
        est, secs = timed(lambda n=test_net, y=y: estimate(n, y), repeats)
        p, s = task.score(est, x)
        per.append({"image": image, "psnr": p, "ssim": s})
        times.setdefault(name, []).append(1e3 * secs)
        if i == 0:
            shown[name] = est
    return per, test_net


def _regulariser_row(ctx, name, task, tests, train_set, times, shown) -> dict:
    """The learned regulariser ``name`` at its start (untrained), solved to convergence on
    each test image with (s_λ, s_μ) chosen on ``settings.reg_tune_images`` training crops
    (``physinv.train.regulariser.tune_scales``); fills ``times`` and ``shown``."""
    from physinv.train.regulariser import for_task, tune_scales

    ctx.describe(f"deblur: {name} (start), tuning λ, μ on training crops")
    sigma = task.noise_sigma()
    net = NETWORKS[name].make(train_set[0][2], 0.0)
    # the coarse grid alone: the refinement's 8 more solves per crop would cost the demo's
    # time budget more than they show here
    (s_lam, s_mu), _ = tune_scales(net, train_set[:ctx.settings.reg_tune_images], sigma=sigma,
                                   refine=())
    per, _ = _scores(name, task, tests, lambda op: for_task(
        net, op, sigma=sigma, lam_scale=s_lam, mu_scale=s_mu), times, shown)
    ctx.advance()
    return {"method": name, "family": NETWORKS[name].family, "linear": False,
            **mean_rows(per), "params_trainable": net.trainable_parameters(),
            "train_steps": 0, "lam_scale": s_lam, "mu_scale": s_mu, "per_image": per}


def _std_figure(x, posteriors: dict, image):
    """Per posterior (name → (mean, std)): |error| and the posterior standard deviation on one
    colour scale (to the 99.5th percentile of the errors), with the 95 % coverage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errors = {m: (mean - x).abs() for m, (mean, _) in posteriors.items()}
    top = float(max(torch.quantile(e.flatten().float(), 0.995) for e in errors.values()))
    fig, axes = plt.subplots(len(posteriors), 2, figsize=(8, 3.8 * len(posteriors)),
                             squeeze=False)
    for row, (method, (mean, std)) in zip(axes, posteriors.items(), strict=True):
        cov = float(coverage(mean, std, x))
        for ax, (title, img) in zip(row, [
                (f"{method}: |error| ({image})", errors[method]),
                (f"{method}: posterior σ (95 % interval covers {100 * cov:.1f} %)", std)],
                strict=True):
            shown = ax.imshow(img.numpy(), cmap="magma", vmin=0, vmax=top,
                              interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """Two tables: every method by mean PSNR (best first, with SSIM, coverage, times and
    parameter counts), then the PSNR per test image.

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
    rows = [{"method": r["method"], "class": r["family"],
             "linear": "yes" if r["linear"] else "", "PSNR": r["psnr"],
             "SSIM": r["ssim"], "95 % coverage": r.get("coverage_95"),
             "ms / image": timings.get("infer_ms", {}).get(r["method"]),
             "train s": timings.get("train_s", {}).get(r["method"]),
             "trainable": r["params_trainable"], "fixed": r.get("params_fixed")}
            for r in sorted(results["rows"], key=lambda r: -r["psnr"])]
    report.text(verdict(results["rows"]))
    report.table(rows, caption=f"mean over {len(results['test_images'])} test image(s); "
                 f"N = {results['n_train']} training crops; Tikhonov λ = {results['lam']:.3g}, "
                 f"TV λ = {results['tv_lam_rel']:.3g} ‖H‖² (both tuned on the crops)")
    report.table([{"method": r["method"], **{p["image"]: p["psnr"] for p in r["per_image"]}}
                  for r in results["rows"]], caption="PSNR (dB) per test image")


def verdict(rows: list[dict]) -> str:
    """One sentence on where the trained methods stand against tuned TV and Tikhonov.

    Examples
    --------
    >>> rows = [{"method": "tv-tuned", "family": "classical", "psnr": 32.6},
    ...         {"method": "tikhonov-tuned", "family": "classical", "psnr": 32.0},
    ...         {"method": "a", "family": "decomposed", "psnr": 32.1},
    ...         {"method": "b", "family": "black-box", "psnr": 30.0}]
    >>> verdict(rows)[:75]
    'Tuned TV: 32.60 dB. Best physics-constrained method: a, 32.10 dB (−0.50 dB '
    """
    by = {r["method"]: r for r in rows}
    tv_psnr, tik = by["tv-tuned"]["psnr"], by["tikhonov-tuned"]["psnr"]
    learned = [r for r in rows if r["family"] not in ("classical", "bayesian", "limit")]
    physics = [r for r in learned if r["family"] != "black-box"]
    if not physics:
        return f"Tuned TV: {tv_psnr:.2f} dB; no network in this run."
    best = max(physics, key=lambda r: r["psnr"])
    above = [r["method"] for r in learned if r["psnr"] > tv_psnr]
    below_tik = [r["method"] for r in learned if r["psnr"] < tik]
    gap = f"{best['psnr'] - tv_psnr:+.2f}".replace("-", "−")
    return (f"Tuned TV: {tv_psnr:.2f} dB. Best physics-constrained method: {best['method']}, "
            f"{best['psnr']:.2f} dB ({gap} dB against TV). "
            + (f"Above TV: {', '.join(above)}. " if above else
               "No network or learned regulariser beats TV here. ")
            + (f"Below tuned Tikhonov ({tik:.2f} dB), the solution most start from: "
               f"{', '.join(below_tik)}." if below_tik else
               f"Every one is at or above tuned Tikhonov ({tik:.2f} dB)."))


def checks(results: dict) -> list[dict]:
    """The per-image oracle Wiener filter is not beaten by any linear method."""
    rows = {r["method"]: r for r in results["rows"]}
    oracle = rows["oracle-wiener"]
    worst = []
    for r in results["rows"]:
        if r["linear"]:
            for a, b in zip(r["per_image"], oracle["per_image"], strict=True):
                worst.append((b["psnr"] - a["psnr"], r["method"], a["image"]))
    margin, method, image = min(worst)
    return [{"claim": "the oracle Wiener filter is not beaten by a linear method "
             "(per test image)", "holds": margin >= 0,
             "detail": f"smallest margin {margin:.3f} dB ({method}, {image})"}]


STAGE = Stage(
    name="deblur",
    title="Deblurring with every structure class",
    about="deblur_gauss (Gaussian PSF σ = 2 px, noise σ = 0.01) on the public test "
          "images. Classical and Bayesian solvers with their λ chosen on the training "
          "crops, networks trained on the same crops for a fixed number of epochs and "
          "moved to the 256×256 test grid, and the linear limit: the oracle Wiener filter, "
          "which knows each test image's own spectrum and the true noise. Rows marked "
          "linear are linear shift-invariant maps, which the oracle cannot lose to. In the "
          "grid each panel carries its PSNR; the yellow square is shown ×3 in the corner. The "
          "second figure puts each posterior's standard deviation beside its error.",
    run=run,
    units=lambda settings: (1 + len(CLASSICAL) + len(settings.deblur_nets)
                            + len(settings.deblur_regularisers)),
    report=report_section,
    checks=checks,
)
