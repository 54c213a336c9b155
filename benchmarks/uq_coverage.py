"""Calibrated per-pixel uncertainty for classical solvers: coverage on the public test images.

For each task (deblur_gauss, sr_x2) and method — Tikhonov (λ tuned on training crops 0–3), TV
(weight tuned on the same crops), and the Gaussian posterior (its own evidence / GCV variance) —
a variance map per image: the equivariant bootstrap of ``physinv.uq`` (K = 16 reconstructions;
the group follows the operator: shifts + the 8 square symmetries for the symmetric Gaussian
blur, the parametric bootstrap for ×2 super-resolution) or the posterior variance. The scale of
each map is fitted by split-conformal calibration (``physinv.uq.fit``) on training crops 4–7
(never used for tuning) with 3 noise draws each, at 50 / 80 / 90 / 95 / 99 %. The bootstrap
estimator (``mse`` around x̂, the paper's, or ``spread`` around the samples' mean, both from
the same K samples) is chosen per method on validation crops 8–11 — other images of the
training pool — by the smallest worst |coverage − level|. On the four
public test images (never tuned on): empirical coverage of x̂ ± z·√v, uncalibrated and
calibrated, the mean σ and the mean 95 % half-width against the RMSE, Spearman's rank
correlation between σ and |error| across pixels (per image, then averaged), and seconds per
image. Writes ``benchmarks/results/uq_coverage-<timestamp>.json``.

    .venv/bin/python benchmarks/uq_coverage.py [--tasks deblur_gauss,sr_x2] [--samples 16]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from timing import save_result

from physinv.experiments.protocol import (
    TRAIN_SEED,
    evaluation_pairs,
    get_task,
    training_pairs,
)
from physinv.solvers import gaussian_posterior, tikhonov, tv
from physinv.uq import collect, equivariant_bootstrap, fit, group_for, normal_quantile

LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)
N_TUNE, N_CAL, N_VAL, N_DRAWS = 4, 4, 4, 3


def _methods(task, tune):
    """name → (reconstruct f(y, op), variance source, tuned value)."""
    lam = task.tikhonov_lambda(tune)
    weight = task.tv_weight(tune)

    def f_tik(y, op):
        return tikhonov(y, op, lam=lam).x

    def f_tv(y, op):
        return tv(y, op, lam=weight * op.norm() ** 2, positivity=task.positivity).x

    return {"tikhonov": (f_tik, "bootstrap", {"lam": lam}),
            "tv": (f_tv, "bootstrap", {"weight_rel": weight}),
            "bayes-gauss": (None, "posterior", {})}


def _estimator(f, source, noise, samples, seed):
    """(y, op) -> (x̂, {estimator: variance}): both bootstrap estimators from the same K
    samples (``mse`` around x̂, ``spread`` around their mean), or the posterior variance."""
    def estimate(y, op):
        if source == "posterior":
            result = gaussian_posterior(y, op)
            return result.x, {"posterior": result.variance}
        x_hat = f(y, op)
        boot = equivariant_bootstrap(f, y, op, noise, x_hat=x_hat, n_samples=samples, seed=seed,
                                     keep_samples=True)
        stack = torch.stack(boot.samples)
        return x_hat, {"mse": boot.variance, "spread": stack.var(dim=0, unbiased=True)}
    return estimate


def _collect_all(estimate, pairs, noise, n_draws, seed):
    """truth, {estimator: estimates}, {estimator: variances} on held-out pairs."""
    cache = []

    def first(y, op):
        x_hat, variances = estimate(y, op)
        cache.append(variances)
        return x_hat, next(iter(variances.values()))

    truth, xs, _ = collect(first, pairs, noise, n_draws=n_draws, seed=seed)
    shape = xs.shape
    names = list(cache[0])
    vs = {k: torch.stack([c[k].to(torch.float64) for c in cache]).reshape(shape) for k in names}
    return truth, xs, vs


def _worst_gap(truth, xs, vs, cal):
    """max over levels of |coverage − level| on a validation set."""
    err = (xs - truth).abs()
    return max(abs(float((err <= normal_quantile(a) * cal.apply(vs, a).sqrt()).double().mean())
                   - a) for a in LEVELS)


def _scores(x, x_hat, variance, cal):
    err = (x_hat - x).abs()
    out = {"rmse": float(err.pow(2).mean().sqrt())}
    for level in LEVELS:
        z = normal_quantile(level)
        out[f"coverage_raw_{level:g}"] = float((err <= z * variance.sqrt()).double().mean())
        var_cal = cal.apply(variance, level)
        out[f"coverage_{level:g}"] = float((err <= z * var_cal.sqrt()).double().mean())
    sigma_raw = variance.sqrt()
    sigma_cal = cal.apply(variance, 0.95).sqrt()
    out["mean_sigma_raw"] = float(sigma_raw.mean())
    out["mean_sigma"] = float(sigma_cal.mean())
    out["half_width_95"] = normal_quantile(0.95) * out["mean_sigma"]
    out["half_width_95_raw"] = normal_quantile(0.95) * out["mean_sigma_raw"]
    flat = float(sigma_raw.std()) == 0.0  # a flat map (a circulant posterior): ρ undefined
    out["spearman"] = float("nan") if flat else float(
        spearmanr(sigma_raw.flatten().numpy(), err.flatten().numpy()).statistic)
    return out


def run_task(task_name, samples, seed):
    task = get_task(task_name)
    pairs = training_pairs(task, N_TUNE + N_CAL + N_VAL)
    tune, held = pairs[:N_TUNE], pairs[N_TUNE:N_TUNE + N_CAL]
    val = pairs[N_TUNE + N_CAL:]
    noise = task.noise()
    rows = []
    for name, (f, source, tuned) in _methods(task, tune).items():
        estimate = _estimator(f, source, noise, samples, seed)
        start = time.perf_counter()
        truth, xs, vs = _collect_all(estimate, [(x, op) for x, _, op in held], noise,
                                     N_DRAWS, TRAIN_SEED + 500)
        cal_s = time.perf_counter() - start
        cals = {k: fit(truth, xs, v, method=name, operator=task.spec, noise=noise.spec(),
                       variance_source=source, levels=LEVELS,
                       calibration_set=f"training crops {N_TUNE}-{N_TUNE + N_CAL - 1} "
                                       f"(128×128), {N_DRAWS} noise draws each; tuned on "
                                       f"crops 0-{N_TUNE - 1}")
                for k, v in vs.items()}
        # the estimator is chosen on validation crops of other pool images, never on tests
        vt, vx, vv = _collect_all(estimate, [(x, op) for x, _, op in val], noise, 1,
                                  TRAIN_SEED + 900)
        validation = {k: _worst_gap(vt, vx, vv[k], cals[k]) for k in cals}
        chosen = min(validation, key=validation.get)
        cal = cals[chosen]
        images, others = [], []
        for img_name, x, y, op in evaluation_pairs(task):
            start = time.perf_counter()
            x_hat, v = estimate(y, op)
            seconds = time.perf_counter() - start
            images.append({"image": img_name, "seconds": seconds,
                           **_scores(x, x_hat, v[chosen], cal)})
            others.append({k: _scores(x, x_hat, v[k], cals[k]) for k in v if k != chosen})
        means = {k: float(np.mean([im[k] for im in images]))
                 for k in images[0] if k != "image"}
        not_chosen = {k: {m: float(np.mean([o[k][m] for o in others])) for m in others[0][k]}
                      for k in others[0]}
        group = group_for(held[0][2]).name if source == "bootstrap" else None
        rows.append({"task": task_name, "method": name, "variance_source": source,
                     "estimator": chosen, "validation_worst_gap": validation,
                     "group": group, "samples": samples if source == "bootstrap" else None,
                     "tuned": tuned, "scales": cal.scales, "calibration_seconds": cal_s,
                     "calibration_pixels": cal.n_pixels, "mean": means, "images": images,
                     "not_chosen_mean": not_chosen})
        print(f"{task_name:13s} {name:12s} {chosen:9s} cov95 {means['coverage_0.95']:.3f} "
              f"(raw {means['coverage_raw_0.95']:.3f}) σ {means['mean_sigma']:.4f} "
              f"rmse {means['rmse']:.4f} ρ {means['spearman']:.2f} "
              f"{means['seconds']:.2f} s/img", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="deblur_gauss,sr_x2")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = []
    for task_name in args.tasks.split(","):
        rows.extend(run_task(task_name.strip(), args.samples, args.seed))
    save_result("uq_coverage", {"benchmark": "uq_coverage", "levels": list(LEVELS),
                                "n_tune": N_TUNE, "n_calibration": N_CAL, "n_validation": N_VAL,
                                "n_draws": N_DRAWS,
                                "samples": args.samples, "seed": args.seed, "rows": rows,
                                "seconds": time.perf_counter() - start, "threads": 1})


if __name__ == "__main__":
    main()
