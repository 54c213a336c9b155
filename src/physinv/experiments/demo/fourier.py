"""Stage ``fourier``: the learned Fourier diagonal Λ (per frequency, and with a radial prior
profile) against the analytic Wiener filter of the training images, as radial profiles.

FourierNet starts at Tikhonov, Λ = conj(ĥ) / (|ĥ|² + λ|d̂|²); the MMSE optimum over the
training distribution is the Wiener filter conj(ĥ) S_f / (|ĥ|² S_f + σ²), S_f the crops' mean
power spectrum (``wiener_filter``).

>>> rho, profile = radial_profile(torch.ones(8, 5), (8, 8), bins=4)
>>> [float(v) for v in profile]
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from physinv.experiments.demo.common import Context, Stage, select, train
from physinv.experiments.protocol import get_task, training_pairs
from physinv.nets import FourierNet
from physinv.nets.layers import rfft_radius
from physinv.nets.registry import build

NETS = ("fourier", "fourier-radial")  # the networks whose Λ is compared


def wiener_filter(op, crops: torch.Tensor, sigma2: float) -> torch.Tensor:
    """The analytic Wiener filter (``rfft2`` layout) for images like ``crops`` (their mean
    periodogram over the 8 square symmetries the training draws) and white noise σ²."""
    views = [torch.rot90(c, r, dims=(-2, -1)) for c in (crops, crops.flip(-1))
             for r in range(4)]
    power = torch.cat([torch.fft.rfft2(v.double()).abs() ** 2 for v in views]).mean(0)[0]
    conj, h2 = op.rfft_diagonal()
    n = crops[0, 0].numel()
    return conj * power / (h2 * power + n * sigma2)


def radial_profile(values: torch.Tensor, shape, bins: int = 32):
    """(bin centres in cycles / pixel, mean of ``values`` per radius bin) on the rfft2 grid."""
    rho = rfft_radius(shape).flatten().numpy()
    vals = values.flatten().numpy()
    edges = np.linspace(0, math.sqrt(0.5), bins + 1)
    idx = np.clip(np.digitize(rho, edges) - 1, 0, bins - 1)
    sums = np.bincount(idx, vals, bins)
    counts = np.bincount(idx, None, bins)
    keep = counts > 0
    return (0.5 * (edges[1:] + edges[:-1]))[keep], (sums[keep] / counts[keep])


def run(ctx: Context) -> dict:
    """Train ``fourier`` and ``fourier-radial`` on ``settings.fourier_n`` deblur_gauss crops
    and compare their learned Λ with the Wiener filter of the training spectrum.

    Parameters
    ----------
    ctx : Context
        The mode's settings, the seed, the figure folder and the progress hooks (``advance``
        is called ``STAGE.units(settings)`` times).

    Returns
    -------
    dict
        ``results`` — ``task``, ``n_train``, ``lam`` and ``rows`` (per network:
        ``params_trainable``, the relative distance of Λ to the Wiener filter before and after
        training, ``train_steps``) and ``profiles`` (per filter, ``rho`` and ``abs_lambda``: |Λ|
        averaged over rings); ``timings`` — ``train_s`` per network; ``figures`` —
        ``fourier_profiles.png``.
    """
    settings = ctx.settings
    task = get_task("deblur_gauss")
    train_set = training_pairs(task, settings.fourier_n)
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    lam = task.tikhonov_lambda(train_set)
    target = wiener_filter(op, crops, task.noise().variance(None))
    filters = {"Tikhonov (initial Λ)": FourierNet(op, lam=lam).filter().detach(),
               "Wiener (training spectrum)": target}
    rows, timings = [], {}
    for name in NETS:
        ctx.describe(f"fourier: training {name}")
        start = build(name, op, lam).filter().detach()
        net, result = train(name, op, crops, task.noise(), lam, settings.fourier_epochs,
                            ctx.seed)
        learned = net.filter().detach()
        filters[f"learned: {name}"] = learned
        rows.append({"net": name, "params_trainable": net.trainable_parameters(),
                     "rel_distance_to_wiener_initial": _rel(start, target),
                     "rel_distance_to_wiener_learned": _rel(learned, target),
                     "train_steps": result.n_steps})
        timings[name] = {"train_s": result.train_s}
        ctx.advance()
    profiles = {k: radial_profile(v.abs(), op.in_shape) for k, v in filters.items()}
    figures = [ctx.figure("fourier_profiles.png", _profile_figure(profiles))]
    return {"results": {"task": task.name, "n_train": settings.fourier_n, "lam": lam,
                        "rows": rows,
                        "profiles": {k: {"rho": [float(v) for v in r],
                                         "abs_lambda": [float(v) for v in p]}
                                     for k, (r, p) in profiles.items()}},
            "timings": timings, "figures": figures}


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().norm() / b.abs().norm())


def _profile_figure(profiles):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = {"Tikhonov": ":", "Wiener": "-", "learned": "--"}
    for name, (rho, prof) in profiles.items():
        style = next((s for k, s in styles.items() if name.startswith(k)), "-")
        ax.plot(rho, prof, style, marker="." if "learned" in name else None, label=name,
                lw=2.5 if name.startswith("Wiener") else 1.5)
    ax.set_yscale("log")
    ax.set_xlim(0, 0.5)
    ax.set_ylim(1e-4, None)
    ax.set_xlabel("radial frequency |ω| (cycles / pixel)")
    ax.set_ylabel("|Λ(ω)|, mean over the ring")
    ax.set_title("deblur_gauss: learned Fourier diagonal against the Wiener filter")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """One table: per network, its size and its relative distance to the Wiener filter
    before and after training.

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
    report.table(select(results["rows"], ["net", "params_trainable",
                                          "rel_distance_to_wiener_initial",
                                          "rel_distance_to_wiener_learned"]))


STAGE = Stage(
    name="fourier",
    title="The learned Fourier diagonal against the Wiener filter",
    about="FourierNet starts at Tikhonov, Λ = conj(ĥ)/(|ĥ|² + λ|d̂|²); the MMSE optimum "
          "over the training distribution is the Wiener filter conj(ĥ)S_f/(|ĥ|²S_f + "
          "σ²) with S_f the training crops' mean power spectrum. The curves are |Λ| "
          "averaged over rings of radial frequency.",
    run=run,
    units=lambda settings: len(NETS),
    report=report_section,
)
