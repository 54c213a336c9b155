"""Stage ``blind``: the PSF estimated from the measurement alone, against the true one, and
the restorations with the estimated PSF beside those with the true PSF.

Cases (one public test image, centre ``settings.blind_side`` crop; noise as in the protocol):
deblur_gauss (σ = 2, evidence over σ), deblur_motion (9 px at 30°: the parametric (length,
angle) by the evidence, and a free-form kernel on a 15 × 15 support by
``physinv.solvers.blind_kernel``), and an infrared ×4 frame (optics FWHM 2 detector px, by
``physinv.thermal.estimate_fwhm``). Restorations: Tikhonov with the gradient prior and λ by
GCV (parametric cases; nothing tuned), TV with λ/‖H‖² = 10⁻³ (the protocol's deblur_motion
weight chosen on training crops) for the motion cases, the camera's closed-form Tikhonov (λ by
GCV) for the infrared frame.

>>> _angle_error(179.0, 1.0)
2.0
"""

from __future__ import annotations

import time

import torch

from physinv.experiments.demo.common import Context, Stage, select
from physinv.metrics import psnr
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, psf

NOISE = 0.01
TV_WEIGHT = 1e-3  # λ / ‖H‖² for TV on deblur_motion, chosen on training crops
FREE_SUPPORT = 15
IR_FWHM = 2.0


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


def _image(side: int) -> tuple[str, torch.Tensor]:
    from physinv.data import patches

    name, x = next(iter(patches.test_images().items()))
    top = (x.shape[-1] - side) // 2
    return name, x[..., top: top + side, top: top + side].to(torch.float64)


def _tikhonov(y, op) -> torch.Tensor:
    from physinv.solvers import tikhonov

    return tikhonov(y, op, lam="gcv", reg="gradient").x


def _tv(y, op) -> torch.Tensor:
    from physinv.solvers import tv

    return tv(y, op, lam=TV_WEIGHT * op.norm() ** 2, n_iter=300).x


def _score(x, estimate) -> float:
    return float(psnr(estimate.clamp(-1, 2), x))


def _parametric(kind: str, truth: dict, kernel, x, seed: int) -> tuple[dict, dict]:
    from physinv.solvers.blind import estimate_psf

    op = Convolution(kernel, tuple(x.shape[-2:]))
    y = simulate(x, op, Gaussian(NOISE), seed=seed)
    start = time.perf_counter()
    est = estimate_psf(y, kind)
    seconds = time.perf_counter() - start
    solve = _tikhonov if kind == "gaussian" else _tv
    row = {"case": f"{kind} (parametric)", "truth": truth,
           "estimate": {k: round(float(v), 4) for k, v in est.params.items()},
           "std": {k: None if v is None else round(float(v), 4) for k, v in est.std.items()},
           "method": "tikhonov-gcv" if kind == "gaussian" else "tv",
           "psnr_true_psf": _score(x, solve(y, op)),
           "psnr_estimated_psf": _score(x, solve(y, est.operator(tuple(x.shape[-2:]))))}
    first = next(iter(truth))
    curve = {"parameter": first, "truth": truth[first], "grid": est.criterion["grid"],
             "value": est.criterion["value"], "estimate": est.params[first]}
    return row, {"row": row, "curve": curve, "kernels": (kernel, est.psf),
                 "seconds": seconds}


def _free(x, seed: int) -> dict:
    from physinv.solvers.blind_kernel import estimate_kernel

    kernel = psf.motion(9.0, 30.0)
    op = Convolution(kernel, tuple(x.shape[-2:]))
    y = simulate(x, op, Gaussian(NOISE), seed=seed)
    est = estimate_kernel(y, FREE_SUPPORT, restore_lam=TV_WEIGHT * op.norm() ** 2)
    full = torch.zeros(FREE_SUPPORT, FREE_SUPPORT, dtype=torch.float64)
    o = (FREE_SUPPORT - kernel.shape[0]) // 2
    full[o: o + kernel.shape[0], o: o + kernel.shape[1]] = kernel
    row = {"case": "motion (free-form, 15×15)", "truth": {"length": 9.0, "angle": 30.0},
           "estimate": {"kernel_rel_error": round(float((est.psf - full).norm()
                                                         / full.norm()), 4)},
           "std": {}, "method": "tv",
           "psnr_true_psf": _score(x, _tv(y, op)),
           "psnr_estimated_psf": _score(x, est.restored)}
    return {"row": row, "kernels": (full, est.psf), "seconds": est.seconds}


def _infrared(seed: int, side: int) -> dict:
    """The ×4 camera's FWHM from one NUC-corrected frame of a ``side``² scene."""
    from dataclasses import replace

    from physinv.thermal import Camera, IRTask, Scene, acquire, calibration, estimate_fwhm
    from physinv.thermal.restoration import restore

    camera = Camera(factor=4, fwhm=IR_FWHM, netd=0.05)
    task = IRTask("ir_sr_x4", "", Scene(shape=(side, side)), camera)
    frame, g = acquire(task, seed, calibration(camera, (side // 4, side // 4)))
    start = time.perf_counter()
    est = estimate_fwhm(g, camera)
    seconds = time.perf_counter() - start
    truth = frame.apparent

    def rmse(cam) -> float:
        x = restore(g[0, 0], cam, "tikhonov")[0]
        return float(((x[0, 0] - truth) ** 2).mean().sqrt())

    fwhm = float(est.params["fwhm"])
    row = {"case": "IR ×4 optics FWHM (detector px)", "truth": {"fwhm": IR_FWHM},
           "estimate": {"fwhm": round(fwhm, 4)},
           "std": {"fwhm": None if est.std["fwhm"] is None else round(est.std["fwhm"], 4)},
           "method": "tikhonov-gcv (RMSE, K)", "rmse_true_psf_k": rmse(camera),
           "rmse_estimated_psf_k": rmse(replace(camera, fwhm=fwhm))}
    curve = {"parameter": "fwhm", "truth": IR_FWHM, "grid": est.criterion["grid"],
             "value": est.criterion["value"], "estimate": fwhm}
    kernels = (camera.system_psf(), replace(camera, fwhm=fwhm).system_psf())
    return {"row": row, "curve": curve, "kernels": kernels, "seconds": seconds}


def run(ctx: Context) -> dict:
    """Estimate the PSF of each case from its measurement and restore with it.

    Parameters
    ----------
    ctx : Context
        The mode's settings (``blind_side``), the seed, the figure folder and the progress
        hooks (``advance`` is called 4 times).

    Returns
    -------
    dict
        ``results`` — ``image``, ``side``, ``rows`` (per case: truth, estimate, std, the
        restoration's PSNR (IR: RMSE in K) with the true and the estimated PSF);
        ``timings`` — seconds of each estimate; ``figures`` — ``blind_psf.png`` (true
        against estimated PSF) and ``blind_criterion.png`` (−log evidence against the
        parameter).
    """
    side = ctx.settings.blind_side
    name, x = _image(side)
    seed = 1234 + ctx.seed
    parts = []
    for label, (kind, truth, kernel) in {
        "gaussian": ("gaussian", {"sigma": 2.0}, psf.gaussian(2.0, 25)),
        "motion": ("motion", {"length": 9.0, "angle": 30.0}, psf.motion(9.0, 30.0)),
    }.items():
        ctx.describe(f"blind: {label}")
        parts.append(_parametric(kind, truth, kernel, x, seed)[1])
        ctx.advance()
    ctx.describe("blind: free-form kernel")
    parts.append(_free(x, seed))
    ctx.advance()
    ctx.describe("blind: infrared camera")
    parts.append(_infrared(ctx.seed, 128))
    ctx.advance()
    rows = [p["row"] for p in parts]
    for row in rows:
        if "length" in row["estimate"]:
            row["angle_error"] = _angle_error(row["estimate"]["angle"], 30.0)
    figures = [ctx.figure("blind_psf.png", _kernel_figure(parts)),
               ctx.figure("blind_criterion.png",
                          _criterion_figure([p for p in parts if "curve" in p]))]
    ctx.advance()
    return {"results": {"image": name, "side": side, "noise_sigma": NOISE, "rows": rows},
            "timings": {p["row"]["case"]: {"estimate_s": p["seconds"]} for p in parts},
            "figures": figures}


def _centred(kernel: torch.Tensor, side: int) -> torch.Tensor:
    out = torch.zeros(side, side, dtype=kernel.dtype)
    oy, ox = (side - kernel.shape[0]) // 2, (side - kernel.shape[1]) // 2
    out[oy: oy + kernel.shape[0], ox: ox + kernel.shape[1]] = kernel
    return out


def _kernel_figure(parts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(parts), figsize=(3 * len(parts), 6))
    for j, part in enumerate(parts):
        side = max(max(k.shape) for k in part["kernels"])  # one scale for both panels
        for i, (kernel, label) in enumerate(zip(part["kernels"], ("true", "estimated"),
                                                strict=True)):
            ax = axes[i, j]
            k = _centred(kernel.detach().to(torch.float64), side)
            ax.imshow(k.numpy(), cmap="magma", vmin=0, vmax=float(k.max()))
            ax.set_title(f"{part['row']['case']}\n{label}" if i == 0 else label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("PSF estimated from the measurement alone (bottom) against the truth (top)")
    fig.tight_layout()
    return fig


def _criterion_figure(parts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(parts), figsize=(4 * len(parts), 3.6))
    for ax, part in zip(axes, parts, strict=True):
        curve = part["curve"]
        values = torch.tensor(curve["value"])
        ax.plot(curve["grid"], (values - values.min()).numpy(), ".-")
        ax.axvline(curve["truth"], color="k", ls=":", label="truth")
        ax.axvline(curve["estimate"], color="C3", ls="--", label="estimate")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, None)
        ax.set_xlabel(curve["parameter"] + (" (px)" if curve["parameter"] != "fwhm"
                                            else " (detector px)"))
        ax.set_ylabel("−log evidence − min")
        ax.set_title(part["row"]["case"], fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def report_section(report, results: dict, timings: dict) -> None:
    """One table: per case, the truth, the estimate and the restoration with the true and
    the estimated PSF.

    Parameters
    ----------
    report : Report
        The report being built.
    results : dict
        The stage's ``results``.
    timings : dict
        The stage's ``timings``.
    """
    rows = [{**r, "truth": ", ".join(f"{k}={v}" for k, v in r["truth"].items()),
             "estimate": ", ".join(f"{k}={v}" for k, v in r["estimate"].items())}
            for r in results["rows"]]
    report.table(select(rows, ["case", "truth", "estimate", "method", "psnr_true_psf",
                               "psnr_estimated_psf", "rmse_true_psf_k",
                               "rmse_estimated_psf_k"]))


STAGE = Stage(
    name="blind",
    title="Blind deconvolution: the PSF from the measurement alone",
    about="Each PSF is estimated from one blurred, noisy measurement: Gaussian σ and linear "
          "motion (length, angle) by the evidence of the Gaussian model (noise and prior "
          "variance estimated with them), a free-form 15×15 kernel by coarse-to-fine "
          "alternating minimisation, the infrared camera's optics FWHM through its ×4 "
          "decimation. The restorations use the estimated PSF beside the true one; the "
          "curves are the criterion along each parameter's search grid.",
    run=run,
    units=lambda settings: 4,
    report=report_section,
)
