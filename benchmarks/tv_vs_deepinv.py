"""TV deblurring, physinv against DeepInverse's ADMM + TVPrior, in one process.

deblur_gauss on the first test image (256×256), the same measurement and the same objective
½‖Hx − y‖² + λ TV(x), λ = 1e-3, float32. physinv: ``tv`` to relative change < 1e-4 (median of 5).
DeepInverse: ``optim_builder("ADMM", TVPrior, L2)`` for several step sizes and inner TV-prox
iteration counts (its default, 1000, and a generous 20); the time it needs to reach physinv's
PSNR is its total time × (iterations to reach) / (iterations run).

DeepInverse needs torchvision, which does not import beside the project's torch 2.13 CPU build
here; run it from a separate environment::

    python -m venv /tmp/dvenv
    /tmp/dvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 deepinv -e .
    /tmp/dvenv/bin/python benchmarks/tv_vs_deepinv.py benchmarks/results/tv_vs_deepinv-X.json
"""

import json
import platform
import sys
import time

import deepinv as dinv
import numpy as np
import torch

import physinv
from physinv.experiments.protocol import evaluation_pairs, get_task
from physinv.metrics import psnr
from physinv.runtime import keep_freed_memory
from physinv.solvers import tv


def main() -> None:
    keep_freed_memory()  # the allocator settings of the physinv command
    torch.set_num_threads(2)
    name, x, y, op = evaluation_pairs(get_task("deblur_gauss"), 1)[0]
    x, y = x.float(), y.float()
    physics = dinv.physics.BlurFFT(img_size=(1, 256, 256), filter=op.psf.float()[None, None])
    gap = float((physics.A(x) - op(x)).abs().max())
    lam = 1e-3
    times = []
    for _ in range(5):
        start = time.perf_counter()
        ours = tv(y, op, lam=lam, tol=1e-4, n_iter=2000)
        times.append(time.perf_counter() - start)
    ours_s, ours_psnr = float(np.median(times)), float(psnr(ours.x.double(), x.double()))
    n_iter = 60
    rows = []
    for gamma, inner in ((0.1, 20), (1.0, 20), (10.0, 20), (10.0, 1000), (30.0, 20)):
        model = dinv.optim.optim_builder(
            iteration="ADMM", prior=dinv.optim.TVPrior(n_it_max=inner),
            data_fidelity=dinv.optim.data_fidelity.L2(),
            params_algo={"stepsize": gamma, "lambda": lam}, max_iter=n_iter, early_stop=False)
        start = time.perf_counter()
        with torch.no_grad():
            out, metrics = model(y, physics, x_gt=x, compute_metrics=True)
        total = time.perf_counter() - start
        curve = [float(v) for v in metrics["psnr"][0]]
        hit = next((i + 1 for i, v in enumerate(curve) if v >= ours_psnr), None)
        rows.append({"stepsize": gamma, "tv_prox_inner_iterations": inner,
                     "iterations": n_iter, "seconds_total": total,
                     "final_psnr": float(psnr(out.double(), x.double())),
                     "best_psnr": max(curve), "iterations_to_reach_ours": hit,
                     "seconds_to_reach_ours": None if hit is None else total * hit / n_iter})
    result = {"benchmark": "tv_vs_deepinv", "image": name, "lam": lam, "dtype": "float32",
              "forward_models_max_abs_gap": gap,
              "physinv": {"seconds": ours_s, "psnr": ours_psnr, "iterations": ours.n_iter},
              "deepinv_admm_tv": rows,
              "environment": {"physinv": physinv.__version__, "deepinv": dinv.__version__,
                              "torch": torch.__version__, "python": platform.python_version(),
                              "threads": torch.get_num_threads()}}
    print(json.dumps(result, indent=2))
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
