"""The five stages of ``physinv demo``, each a function ``stage(ctx) -> {"results", "timings",
"figures"}`` over the public protocol (``experiments.protocol``) and the thermal camera
(``experiments.ir``):

- ``deblur``: deblur_gauss with every structure class of network (analytic, Fourier, SVD,
  wavelet, decomposed, unrolled, black-box), the classical and Bayesian solvers and the linear
  limit (per-image oracle Wiener filter);
- ``data``: test PSNR against the number N of training crops, physics-constrained against
  black-box, for deblur_gauss, sr_x2 and ct_sparse;
- ``depth``: unrolled Landweber with K layers, trained, against K plain Landweber iterations
  (the same network at its initial weights) — PSNR and compute against K;
- ``fourier``: the learned Fourier diagonal Λ (per frequency, and with a radial prior profile)
  against the analytic Wiener filter of the training images, as radial profiles;
- ``ir``: thermal super-resolution ×4 through the camera model — restoration, the posterior
  standard deviation, calibrated intervals and defect segmentation.

``results`` holds only what the seed determines (scores, hyper-parameters, parameter and
operator-application counts), so the same seed gives the same numbers; wall-clock times go to
``timings``. Networks are trained for a fixed number of epochs (no time budget) for the same
reason. Every hyper-parameter is chosen on training crops, never on the test images.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from physinv.data.io import atomic_write
from physinv.experiments import ir
from physinv.experiments.nets_bench import choose_lambda, choose_tv, plot_nets, score
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.experiments.report import image_grid, png_bytes
from physinv.metrics import coverage, dice, iou
from physinv.nets import FourierNet, UnrolledLandweber
from physinv.nets.layers import rfft_radius
from physinv.nets.registry import NETWORKS, available, build
from physinv.solvers import gaussian_posterior, landweber, studentt, tikhonov, tv, wiener
from physinv.train import Measurements, fit

# networks whose map y ↦ x̂ is linear and shift-invariant on a convolution: the oracle Wiener
# filter (each image's own spectrum, the true σ) is the best such map in mean square error
LINEAR = {"tikhonov-tuned", "tikhonov-gcv", "wiener", "tikhonov-hindsight", "analytic",
          "fourier", "fourier-radial", "fourier-parametric", "svd", "decomposed",
          "unrolled-landweber"}
CNN_NETS = {"decomposed-cnn", "tikhonov-residual", "unrolled-hqs", "dncnn", "unet"}
INSET = (36, 92, 48)  # zoomed square (row, col, size) on the first test image (rocket)


@dataclass
class Context:
    """What a stage gets: the mode's settings, the seed, the figure folder, a progress hook."""

    cfg: dict
    seed: int
    out: Path
    advance: Callable[[float], None] = lambda amount=1.0: None
    describe: Callable[[str], None] = lambda text: None

    def figure(self, name: str, fig) -> str:
        """Write a matplotlib figure as ``<out>/<name>`` (atomically); return the name."""
        import matplotlib.pyplot as plt

        data = png_bytes(fig)
        plt.close(fig)
        atomic_write(self.out / name, lambda tmp: Path(tmp).write_bytes(data))
        return name


def _timed(fn, repeats: int = 1):
    """(result, best wall-clock seconds over ``repeats`` calls)."""
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def _epochs(cfg: dict, name: str, prefix: str = "") -> int:
    return cfg[f"{prefix}cnn_epochs"] if name in CNN_NETS else cfg[f"{prefix}epochs"]


def train(name: str, op, crops: torch.Tensor, noise, lam: float, epochs: int, seed: int,
          net=None):
    """(net trained for ``epochs`` fixed epochs — no time budget, so the seed fixes the
    weights —, FitResult)."""
    torch.manual_seed(seed)
    net = build(name, op, lam) if net is None else net
    result = fit(net, Measurements(crops.float(), op, noise), epochs=epochs, seed=seed,
                 norm="log", patience=max(epochs, 1), samples_per_epoch=16, batch_size=4)
    return net, result


def _apply(net, y):
    with torch.no_grad():
        return net(y.float()).double()


def _mean_rows(rows: list[dict], keys=("psnr", "ssim")) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def _deblur_problem(cfg: dict):
    """deblur_gauss: (task, test pairs, training pairs, training crops, training operator,
    Tikhonov λ tuned on the training crops)."""
    task = get_task("deblur_gauss")
    tests = evaluation_pairs(task, cfg["test_images"])
    train_set = training_pairs(task, cfg["n_train"])
    crops = torch.cat([x for x, _, _ in train_set])
    return task, tests, train_set, crops, train_set[0][2], choose_lambda(task, train_set)


# ------------------------------------------------------------------------------ a. deblur
def stage_deblur(ctx: Context) -> dict:
    cfg = ctx.cfg
    ctx.describe("deblur: tuning λ on training crops")
    task, tests, train_set, crops, op_train, lam = _deblur_problem(cfg)
    norm2 = tests[0][3].norm() ** 2
    tv_rel = choose_tv(task, train_set)
    ctx.advance()
    sigma2 = task.noise().variance(None)

    def oracle(y, op, x):
        psd = torch.fft.fft2(x).abs() ** 2 / x[0, 0].numel()
        return wiener(y, op, noise_var=sigma2, signal_psd=psd[0, 0]).x

    classical = [
        ("tikhonov-tuned", "classical", lambda y, op, x: tikhonov(y, op, lam=lam).x),
        ("tikhonov-gcv", "classical", lambda y, op, x: tikhonov(y, op, lam="gcv").x),
        ("wiener", "classical", lambda y, op, x: wiener(y, op).x),
        ("tv-tuned", "classical", lambda y, op, x: tv(y, op, lam=tv_rel * norm2,
                                                      n_iter=500).x),
        ("bayes-gauss", "bayesian", lambda y, op, x: gaussian_posterior(y, op)),
        ("bayes-studentt", "bayesian", lambda y, op, x: studentt(y, op, method="vba")),
        ("oracle-wiener", "limit", oracle),
    ]
    rows, times, shown, stds = [], {}, {}, {}
    for method, family, fn in classical:
        ctx.describe(f"deblur: {method}")
        per = []
        for i, (image, x, y, op) in enumerate(tests):
            est, secs = _timed(lambda fn=fn, y=y, op=op, x=x: fn(y, op, x))
            extra = {}
            if family == "bayesian":  # a posterior: mean and 95 % interval coverage
                std = est.variance.clamp_min(0).sqrt()
                est = est.x
                extra["coverage_95"] = float(coverage(est, std, x))
                if i == 0:
                    stds[method] = std
            p, s = score(task, est, x)
            per.append({"image": image, "psnr": p, "ssim": s, **extra})
            times.setdefault(method, []).append(1e3 * secs)
            if i == 0:
                shown[method] = est
        keys = ("psnr", "ssim", "coverage_95") if family == "bayesian" else ("psnr", "ssim")
        rows.append({"method": method, "family": family, "linear": method in LINEAR,
                     **_mean_rows(per, keys), "params_trainable": 0, "per_image": per})
        ctx.advance()
    train_s = {}
    for name in cfg["deblur_nets"]:
        ctx.describe(f"deblur: training {name}")
        net, result = train(name, op_train, crops, task.noise(), lam, _epochs(cfg, name),
                            ctx.seed)
        train_s[name] = result.train_s
        per = []
        for i, (image, x, y, op) in enumerate(tests):
            test_net = net.for_operator(op)
            est, secs = _timed(lambda n=test_net, y=y: _apply(n, y), 2)
            p, s = score(task, est, x)
            per.append({"image": image, "psnr": p, "ssim": s})
            times.setdefault(name, []).append(1e3 * secs)
            if i == 0:
                shown[name] = est
        rows.append({"method": name, "family": NETWORKS[name].family,
                     "linear": name in LINEAR, **_mean_rows(per),
                     "params_trainable": net.trainable_parameters(),
                     "params_fixed": test_net.fixed_parameters(),  # on the test grid
                     "train_steps": result.n_steps,
                     "best_epoch": result.best_epoch, "per_image": per})
        ctx.advance()
    image, x, y, _ = tests[0]
    panels = {"truth": x[0, 0], "measurement": y[0, 0]}
    panels.update({k: v[0, 0].clamp(0, 1) for k, v in shown.items()})
    figures = [ctx.figure("deblur_grid.png", image_grid(
        {k: v.numpy() for k, v in panels.items()}, truth=x[0, 0].numpy(), inset=INSET,
        columns=5))]
    figures.append(ctx.figure("deblur_std.png", _std_figure(
        x[0, 0], {m: (shown[m][0, 0], stds[m][0, 0]) for m in stds}, image)))
    return {"results": {"task": task.name, "test_images": [t[0] for t in tests],
                        "n_train": cfg["n_train"], "lam": lam, "tv_lam_rel": tv_rel,
                        "rows": rows},
            "timings": {"infer_ms": {k: float(np.median(v)) for k, v in times.items()},
                        "train_s": train_s},
            "figures": figures}


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


# ------------------------------------------------------------------------------ b. data
def stage_data(ctx: Context) -> dict:
    cfg = ctx.cfg
    summary, train_s = [], {}
    for task_name in cfg["data_tasks"]:
        task = get_task(task_name)
        tests = evaluation_pairs(task, cfg["test_images"])
        ctx.describe(f"data: {task_name} references")
        lams = {}

        def lam_for(n, task=task, lams=lams):  # choose_lambda looks at ≤ 4 crops
            key = min(n, 4)
            if key not in lams:
                lams[key] = choose_lambda(task, training_pairs(task, key))
            return lams[key]

        ref = [score(task, tikhonov(y, op, lam=lam_for(4)).x, x)[0] for _, x, y, op in tests]
        summary.append({"task": task_name, "method": "tikhonov-tuned", "family": "classical",
                        "n_train": 0, "psnr": float(np.mean(ref))})
        allowed = available(tests[0][3])
        for n in cfg["data_sizes"]:
            train_set = training_pairs(task, n)
            crops = torch.cat([x for x, _, _ in train_set])
            for name in cfg["data_nets"]:
                if allowed.get(name) is not None:
                    ctx.advance()
                    continue
                ctx.describe(f"data: {task_name}, {name}, N = {n}")
                net, result = train(name, train_set[0][2], crops, task.noise(), lam_for(n),
                                    _epochs(cfg, name, "data_"), ctx.seed)
                train_s[f"{task_name}/{name}/{n}"] = result.train_s
                per = [score(task, _apply(net.for_operator(op), y), x)
                       for _, x, y, op in tests]
                summary.append({"task": task_name, "method": name,
                                "family": NETWORKS[name].family, "n_train": n,
                                "psnr": float(np.mean([p for p, _ in per])),
                                "ssim": float(np.mean([s for _, s in per])),
                                "params_trainable": net.trainable_parameters(),
                                "train_steps": result.n_steps})
                ctx.advance()
    figures = [f"data_{t}.png" for t in cfg["data_tasks"]]
    plot_nets({"summary": summary}, lambda t: ctx.out / f"data_{t}.png",
              n_images=cfg["test_images"])
    return {"results": {"sizes": list(cfg["data_sizes"]), "nets": list(cfg["data_nets"]),
                        "rows": summary},
            "timings": {"train_s": train_s}, "figures": figures}


# ------------------------------------------------------------------------------ c. depth
def stage_depth(ctx: Context) -> dict:
    cfg = ctx.cfg
    task, tests, _, crops, op_train, lam = _deblur_problem(cfg)
    ref = float(np.mean([score(task, tikhonov(y, op, lam=lam).x, x)[0]
                         for _, x, y, op in tests]))
    rows, timings = [], {}
    for k in cfg["depths"]:
        ctx.describe(f"depth: K = {k}")
        plain, trained, gap = [], [], 0.0
        net0 = UnrolledLandweber(op_train, n_layers=k)
        net, result = train("unrolled-landweber", op_train, crops, task.noise(), lam,
                            cfg["epochs"], ctx.seed, net=UnrolledLandweber(op_train, n_layers=k))
        ms_plain, ms_net = [], []
        for _, x, y, op in tests:
            it = landweber(y, op, n_iter=k, tol=None).x
            fixed = net0.for_operator(op)
            with torch.no_grad():
                gap = max(gap, float((fixed(y) - it).abs().max()))
            _, secs = _timed(lambda n=fixed, y=y: _apply(n, y), 2)  # same code path as net
            ms_plain.append(1e3 * secs)
            plain.append(score(task, it, x)[0])
            est, secs = _timed(lambda n=net.for_operator(op), y=y: _apply(n, y), 2)
            ms_net.append(1e3 * secs)
            trained.append(score(task, est, x)[0])
        rows.append({"K": k, "psnr_iterations": float(np.mean(plain)),
                     "psnr_unrolled": float(np.mean(trained)),
                     "operator_applications": 2 * k, "params_trainable":
                     net.trainable_parameters(), "fixed_vs_iterations_max_diff": gap,
                     "steps": [float(v) for v in net.step.detach().flatten()],
                     "train_steps": result.n_steps})
        timings[str(k)] = {"ms_iterations": float(np.median(ms_plain)),
                           "ms_unrolled": float(np.median(ms_net)),
                           "train_s": result.train_s}
        ctx.advance()
    figures = [ctx.figure("depth.png", _depth_figure(rows, timings, ref))]
    return {"results": {"task": task.name, "n_train": cfg["n_train"], "tikhonov_tuned": ref,
                        "rows": rows},
            "timings": timings, "figures": figures}


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


# ------------------------------------------------------------------------------ d. fourier
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


def stage_fourier(ctx: Context) -> dict:
    cfg = ctx.cfg
    task = get_task("deblur_gauss")
    train_set = training_pairs(task, cfg["fourier_n"])
    crops = torch.cat([x for x, _, _ in train_set])
    op = train_set[0][2]
    lam = choose_lambda(task, train_set)
    target = wiener_filter(op, crops, task.noise().variance(None))
    filters = {"Tikhonov (initial Λ)": FourierNet(op, lam=lam).filter().detach(),
               "Wiener (training spectrum)": target}
    rows, timings = [], {}
    for name in ("fourier", "fourier-radial"):
        ctx.describe(f"fourier: training {name}")
        start = build(name, op, lam).filter().detach()
        net, result = train(name, op, crops, task.noise(), lam, cfg["fourier_epochs"],
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
    return {"results": {"task": task.name, "n_train": cfg["fourier_n"], "lam": lam,
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


# ------------------------------------------------------------------------------ e. ir
def stage_ir(ctx: Context) -> dict:
    cfg = ctx.cfg
    task = ir.get_ir_task("ir_segment")
    op = task.operator()
    nuc = ir.calibration(task.camera, tuple(op.out_shape))
    ctx.describe("ir: tuning λ on training scenes")
    pairs = ir.training_pairs(task, cfg["ir_n_train"], nuc)
    lam_rel = ir.tune(ir.tikhonov_k, ir.TIK_GRID, pairs)
    ctx.advance()
    ctx.describe(f"ir: training {cfg['ir_net']}")
    net, result = ir.train_net(cfg["ir_net"], task, cfg["ir_n_train"], lam_rel, None,
                               ctx.seed, epochs=cfg["ir_epochs"])
    k_sigma = ir.calibrate_sigma(net, task, nuc)
    ctx.advance()
    per, times, shown = [], {}, None
    for i in range(cfg["ir_frames"]):
        ctx.describe(f"ir: test frame {i + 1}")
        frame, g = ir.acquire(task, ir.TEST_SEED + i, nuc)
        truth = frame.apparent[None, None]
        post, secs_post = _timed(lambda g=g: gaussian_posterior(g, op))
        outputs = {"bicubic": _timed(lambda g=g: ir.upsample(g, task.camera)),
                   "tikhonov": _timed(lambda g=g: ir.tikhonov_k(g, op, lam_rel)),
                   "bayes-gauss": (post.x, secs_post),
                   cfg["ir_net"]: _timed(lambda g=g: ir.net_restore(net, g))}
        var = {"bayes-gauss": post.variance, cfg["ir_net"]: k_sigma**2 * post.variance}
        labels, prob = ir.threshold_segment(outputs[cfg["ir_net"]][0], var[cfg["ir_net"]])
        found = {f"threshold on {cfg['ir_net']}": labels,
                 "threshold on tikhonov": ir.threshold_segment(outputs["tikhonov"][0])[0],
                 "potts": ir.potts_segment(g, op, outputs["tikhonov"][0])}
        row = {"frame": ir.TEST_SEED + i, "methods": {}}
        for method, (x, secs) in outputs.items():
            times.setdefault(method, []).append(1e3 * secs)
            rmse = float(((x - truth) ** 2).mean().sqrt())
            cov = None if method not in var else float(
                coverage(x, var[method].sqrt(), truth))
            row["methods"][method] = {"rmse_k": rmse, "coverage_95": cov}
        truth_labels = frame.labels[None, None]
        row["segmentation"] = {k: {"dice": float(dice(v[None, None], truth_labels)),
                                   "iou": float(iou(v[None, None], truth_labels))}
                               for k, v in found.items()}
        per.append(row)
        if i == 0:
            shown = (frame, g, outputs, var, labels, prob)
        ctx.advance()
    methods = list(per[0]["methods"])
    table = [{"method": m,
              "rmse_k": float(np.mean([r["methods"][m]["rmse_k"] for r in per])),
              "coverage_95": None if per[0]["methods"][m]["coverage_95"] is None else float(
                  np.mean([r["methods"][m]["coverage_95"] for r in per]))} for m in methods]
    seg = [{"method": m, "dice": float(np.mean([r["segmentation"][m]["dice"] for r in per])),
            "iou": float(np.mean([r["segmentation"][m]["iou"] for r in per]))}
           for m in per[0]["segmentation"]]
    figures = [ctx.figure("ir.png", _ir_figure(*shown, cfg["ir_net"]))]
    return {"results": {"task": task.name, "camera": task.description,
                        "n_train": cfg["ir_n_train"], "frames": cfg["ir_frames"],
                        "lam_rel": lam_rel, "k_sigma": k_sigma, "net": cfg["ir_net"],
                        "params_trainable": net.trainable_parameters(),
                        "train_steps": result.n_steps, "restoration": table,
                        "segmentation": seg, "per_frame": per},
            "timings": {"infer_ms": {k: float(np.median(v)) for k, v in times.items()},
                        "train_s": result.train_s},
            "figures": figures}


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


STAGES = {"deblur": stage_deblur, "data": stage_data, "depth": stage_depth,
          "fourier": stage_fourier, "ir": stage_ir}


def units(name: str, cfg: dict) -> int:
    """How many progress steps a stage reports (for its bar and ETA)."""
    if name == "deblur":
        return 1 + 7 + len(cfg["deblur_nets"])
    if name == "data":
        return len(cfg["data_tasks"]) * len(cfg["data_sizes"]) * len(cfg["data_nets"])
    if name == "depth":
        return len(cfg["depths"])
    if name == "fourier":
        return 2
    return 2 + cfg["ir_frames"]
