"""The networks' Tikhonov parts before and after the exact paths (issue 14, item 1).

For each network with a Tikhonov part and each task (deblur_gauss and sr_x2 at 256², ct_sparse
at 128², the protocol's first test image and noise), untrained, float64: the time of a forward
pass (first call, then the median of ``--repeats``) and its relative error against
``tikhonov(y, op, lam, reg="gradient")`` (converged; λ = r‖H‖² with r per task below), with
the code before (``BEFORE``, the commit before the change: truncated CG, the polyphase path
with D = I for super-resolution, the stationary H'H in ``DecomposedNet``, HQS without λ) and
after. Also the CG iterations with and without the circulant preconditioner on CT. Writes
``benchmarks/results/exact_paths-<UTC stamp>.json``::

    nice -n 10 .venv/bin/python benchmarks/exact_paths.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from timing import save_result

from physinv.experiments.protocol import evaluation_pairs, get_task
from physinv.nets import DecomposedNet, TikhonovResidual, UnrolledHQS, WaveletNet
from physinv.solvers import tikhonov
from physinv.solvers.pcg import NormalSolver, tikhonov_power

BEFORE = "9627945"  # the last commit with the truncated Tikhonov layers
RATIOS = {"deblur_gauss": 3e-2, "sr_x2": 1e-2, "ct_sparse": 1e-2}  # λ / ‖H‖²
ROOT = Path(__file__).resolve().parents[1]


def _old_module(path: str, name: str, replace: dict | None = None) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{BEFORE}:{path}", "exec"), module.__dict__)
    return module


def _networks():
    old_dec = _old_module("src/physinv/nets/decomposed.py", "old_decomposed")
    old_unr = _old_module("src/physinv/nets/unrolled.py", "old_unrolled")
    old_spe = _old_module("src/physinv/nets/spectral.py", "old_spectral",
                          {"from physinv.nets.decomposed import TikhonovLayer":
                           "from old_decomposed import TikhonovLayer"})
    # the registry's constructions (nets/registry.py); HQS after also gets λ
    return {
        "decomposed": (lambda op, lam: old_dec.DecomposedNet(op, lam=lam),
                       lambda op, lam: DecomposedNet(op, lam=lam)),
        "decomposed-cnn": (lambda op, lam: old_dec.DecomposedNet(op, lam=lam, part="cnn"),
                           lambda op, lam: DecomposedNet(op, lam=lam, part="cnn")),
        "tikhonov-residual": (lambda op, lam: old_dec.TikhonovResidual(op, lam=lam),
                              lambda op, lam: TikhonovResidual(op, lam=lam)),
        "wavelet": (lambda op, lam: old_spe.WaveletNet(op, lam=lam),
                    lambda op, lam: WaveletNet(op, lam=lam)),
        "unrolled-hqs": (lambda op, lam: old_unr.UnrolledHQS(op, n_layers=5, mu=10 * lam),
                         lambda op, lam: UnrolledHQS(op, n_layers=5, mu=10 * lam, lam=lam)),
    }


def _rel(a, b) -> float:
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


def _timed(net, y, repeats):
    with torch.no_grad():
        start = time.perf_counter()
        out = net(y)
        first = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            net(y)
            times.append(time.perf_counter() - start)
    return out, first, float(np.median(times))


def _cg_counts(op, y) -> list[dict]:
    rows = []
    b = op.adjoint(y)
    for ratio in (1e-3, 1e-2):
        for tol in (1e-6, 1e-8):
            row = {"ratio": ratio, "tol": tol}
            for key, pre in (("pcg", True), ("cg", False)):
                solver = NormalSolver(op, tol=tol, max_iter=1000, precondition=pre)
                start = time.perf_counter()
                solver.solve(b, tikhonov_power(ratio * op.norm() ** 2))
                row.update({f"{key}_iterations": solver.n_iter,
                            f"{key}_converged": solver.converged,
                            f"{key}_s": time.perf_counter() - start})
            rows.append(row)
            print(f"CT λ/‖H‖² = {ratio:g}, tol {tol:g}: PCG {row['pcg_iterations']} "
                  f"iterations ({row['pcg_s']:.2f} s), CG {row['cg_iterations']} "
                  f"({row['cg_s']:.2f} s)")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    nets = _networks()
    rows, references = [], {}
    for task_name, ratio in RATIOS.items():
        image, x, y, op = evaluation_pairs(get_task(task_name), 1)[0]
        lam = ratio * op.norm() ** 2
        start = time.perf_counter()
        ref = tikhonov(y, op, lam=lam, reg="gradient", tol=1e-12, max_iter=3000)
        references[task_name] = {"image": image, "shape": list(x.shape[-2:]), "lam": lam,
                                 "lam_ratio": ratio, "path": ref.params["path"],
                                 "n_iter": ref.n_iter, "converged": ref.converged,
                                 "tikhonov_s": time.perf_counter() - start}
        for name, (before, after) in nets.items():
            for version, make in (("before", before), ("after", after)):
                torch.manual_seed(0)
                out, first, median = _timed(make(op, lam), y, args.repeats)
                rows.append({"task": task_name, "net": name, "version": version,
                             "first_forward_s": first, "forward_s": median,
                             "rel_error_vs_tikhonov": _rel(out, ref.x)})
                print(f"{task_name:12s} {name:17s} {version:6s} forward {median:7.3f} s "
                      f"(first {first:6.3f} s), rel. error {rows[-1]['rel_error_vs_tikhonov']:.2e}")
        if task_name == "ct_sparse":
            cg_rows = _cg_counts(op, y)
    result = {"benchmark": "exact_paths", "before_commit": BEFORE,
              "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "dtype": "float64", "threads": 1, "repeats": args.repeats,
              "references": references, "rows": rows, "ct_cg_iterations": cg_rows}
    save_result("exact_paths", result, args.json)


if __name__ == "__main__":
    main()
