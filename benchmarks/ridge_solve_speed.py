"""The learned regulariser's variational solve against tuned TV: seconds to the converged PSNR.

    python benchmarks/ridge_solve_speed.py RUN --task deblur_gauss --lam-scale 0.25 --mu-scale 8

On the centre 256² crops of two scikit-image images outside the training pool and the public
test set (cat, horse), measured with the task's noise, side by side in one process:

- ``tv``: the protocol's TV (``physinv.solvers.tv``, its weight tuned on 4 training pairs, as in
  ``regulariser_tasks.py``) at its defaults (relative-change tol 1e-4, at most 500 iterations)
  and at tol 1e-5; its reference: 3000 iterations without a tolerance;
- ``crr`` (or ``wcrr``): ``RidgeNet``'s solve (L-BFGS; FISTA with x ≥ 0 on CT) at the
  gradient tolerances 1e-4, 3e-5, 1e-5 (the default); its reference: tol 1e-8.

Each row has the seconds, the evaluations or iterations, and the PSNR minus the method's own
reference; the summary gives, per method, the mean seconds at its default setting and at the
first setting within 0.02 dB of its reference on every image (the time to the converged PSNR;
absent when no setting gets there), and the ratios learned / TV. The known σ of the
task is given to the regulariser. Writes ``benchmarks/results/ridge_solve_speed-<time>.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.data import images
from physinv.data.patches import center_crop
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.metrics import psnr
from physinv.solvers import tv
from physinv.train import load
from physinv.train.regulariser import for_task

DEV = ("cat", "horse")
CONVERGED_DB = 0.02


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _tv_rows(task, name, x, y, op, weight):
    """TV at its default tolerance and at 1e-5, against 3000 iterations."""
    ref = float(psnr(tv(y, op, lam=weight, n_iter=3000, tol=None,
                        positivity=task.positivity).x, x))
    rows = []
    for tol in (1e-4, 1e-5):
        res, sec = _timed(lambda tol=tol: tv(y, op, lam=weight, n_iter=500 if tol == 1e-4
                                             else 3000, tol=tol, positivity=task.positivity))
        rows.append({"image": name, "method": "tv", "tol": tol, "seconds": sec,
                     "evaluations": res.n_iter, "reference_psnr": ref,
                     "psnr_minus_reference": float(psnr(res.x, x)) - ref})
    return rows


def _ridge_rows(task, net, name, x, y, op, args):
    """The learned regulariser's solve at three tolerances, against tol 1e-8."""
    def solver(tol):
        return for_task(net, op, sigma=task.noise_sigma(), positivity=task.positivity,
                        lam_scale=args.lam_scale, mu_scale=args.mu_scale, tol=tol,
                        max_iter=5000)
    y = y.float()
    with torch.no_grad():
        ref = float(psnr(solver(1e-8)(y).double(), x))
        rows = []
        for tol in (1e-4, 3e-5, 1e-5):
            s = solver(tol)
            out, sec = _timed(lambda s=s: s(y))
            rows.append({"image": name, "method": "crr" if net.config["convex"] else "wcrr",
                         "tol": tol, "seconds": sec, "evaluations": s.last.n_iter,
                         "reference_psnr": ref,
                         "psnr_minus_reference": float(psnr(out.double(), x)) - ref})
    return rows


def summarise(rows) -> dict:
    """Per method: the mean seconds at its default setting (TV tol 1e-4, the regulariser
    tol 1e-5) and, when one exists, at the first (loosest) setting whose every image is within
    ``CONVERGED_DB`` of its reference; the ratios learned / TV of both."""
    out = {}
    for method in sorted({r["method"] for r in rows}):
        mine = [r for r in rows if r["method"] == method]
        default = 1e-4 if method == "tv" else 1e-5
        out[method] = {"default_tol": default, "default_seconds": float(np.mean(
            [r["seconds"] for r in mine if r["tol"] == default]))}
        for tol in sorted({r["tol"] for r in mine}, reverse=True):
            at = [r for r in mine if r["tol"] == tol]
            if all(abs(r["psnr_minus_reference"]) <= CONVERGED_DB for r in at):
                out[method].update(converged_tol=tol, converged_seconds=float(np.mean(
                    [r["seconds"] for r in at])))
                break
    learned = [m for m in out if m != "tv"]
    if "tv" in out and learned:
        mine, tv_ = out[learned[0]], out["tv"]
        out["ratio_default"] = mine["default_seconds"] / tv_["default_seconds"]
        if "converged_seconds" in mine and "converged_seconds" in tv_:
            out["ratio_converged"] = mine["converged_seconds"] / tv_["converged_seconds"]
    return out


def main() -> None:
    """Parse the arguments, run every solve, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--task", default="deblur_gauss")
    parser.add_argument("--lam-scale", type=float, default=0.25)
    parser.add_argument("--mu-scale", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    dev = {n: torch.from_numpy(np.ascontiguousarray(center_crop(images.load_array(n), 256),
                                                    dtype=np.float64))[None, None] for n in DEV}
    net = load(args.run)
    train = training_pairs(task, 4)
    pairs = list(evaluation_pairs(task, images=dev))
    weight = task.tv_weight(train, pairs[0][3].norm() ** 2) * pairs[0][3].norm() ** 2
    rows = []
    for name, x, y, op in pairs:
        rows += _tv_rows(task, name, x, y, op, weight) + _ridge_rows(task, net, name, x, y,
                                                                     op, args)
        for r in rows[-5:]:
            print(r, flush=True)
    result = {"task": args.task, "run": args.run, "lam_scale": args.lam_scale,
              "mu_scale": args.mu_scale, "tv_weight": weight, "rows": rows,
              "summary": summarise(rows)}
    print(result["summary"])
    save_result("ridge_solve_speed", result, None)


if __name__ == "__main__":
    main()
