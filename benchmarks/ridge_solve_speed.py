"""FISTA vs L-BFGS on the learned regulariser's variational solve, on development images.

    python benchmarks/ridge_solve_speed.py RUN --task deblur_gauss --lam-scale 0.25 --mu-scale 16

For the centre 256² crops of two scikit-image images outside the training pool and the public
test set (cat, horse), measured with the task's noise: a reference solve to tol 1e-8, then FISTA
with restart (``solvers.variational.minimise``) and L-BFGS (``minimise_lbfgs``, what
``RidgeNet`` uses without constraint) at tol 1e-4, 3e-5, 1e-5 — gradient evaluations, seconds
and PSNR minus the reference's. Writes ``benchmarks/results/ridge_solve_speed-<time>.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timing import save_result

from physinv.data import images
from physinv.data.patches import center_crop
from physinv.experiments.protocol import evaluation_pairs, get_task
from physinv.metrics import psnr
from physinv.operators import Identity
from physinv.solvers.variational import minimise
from physinv.train import load
from physinv.train.regulariser import PATCH, for_task

DEV = ("cat", "horse")


def _fista(solver, y):
    """The same problem as ``solver`` by FISTA (its gradient, its Lipschitz bound)."""
    grad, _, lip = solver.problem(y)
    return lambda tol: minimise(grad, lip, y, tol=tol, max_iter=5000)


def main() -> None:
    """Parse the arguments, run every solve, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--task", default="deblur_gauss")
    parser.add_argument("--lam-scale", type=float, default=0.25)
    parser.add_argument("--mu-scale", type=float, default=16.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task(args.task)
    dev = {n: torch.from_numpy(np.ascontiguousarray(center_crop(images.load_array(n), 256),
                                                    dtype=np.float32))[None, None] for n in DEV}
    net = load(args.run, op=Identity((PATCH, PATCH)))
    rows = []
    for name, x, y, op in evaluation_pairs(task, images=dev):
        y = y.float()

        def solver(tol, op=op):
            return for_task(net, op, lam_scale=args.lam_scale, mu_scale=args.mu_scale, tol=tol,
                            max_iter=5000)
        with torch.no_grad():
            ref = solver(1e-8)
            p_ref = float(psnr(ref(y).double(), x))
            fista = _fista(ref, y)
            for tol in (1e-4, 3e-5, 1e-5):
                for method in ("fista", "lbfgs"):
                    t0 = time.perf_counter()
                    if method == "fista":
                        r = fista(tol)
                        out, n = r.x, r.n_iter
                    else:
                        s = solver(tol)
                        out = s(y)
                        n = s.last.n_iter
                    rows.append({"image": name, "method": method, "tol": tol, "evaluations": n,
                                 "seconds": time.perf_counter() - t0,
                                 "psnr_minus_reference": float(psnr(out.double(), x)) - p_ref,
                                 "reference_psnr": p_ref})
                    print(rows[-1], flush=True)
    save_result("ridge_solve_speed", {"task": args.task, "run": args.run,
                                      "lam_scale": args.lam_scale, "mu_scale": args.mu_scale,
                                      "rows": rows}, None)


if __name__ == "__main__":
    main()
