"""One learned regulariser, trained once as a denoiser, on every protocol task.

    python benchmarks/regulariser_tasks.py RUN [RUN ...] --n-train 16 [--tasks a,b]

For each run folder (a ``crr`` / ``wcrr`` regulariser from ``benchmarks/train_regulariser.py``)
and each task: the per-task factors (s_λ, s_μ) are chosen on (≤ 4 of) the task's N training
pairs (a coarse grid, then one refinement around its best; the training pairs' mean PSNR is
kept as ``tune_psnr``, which chooses between regularisers without the test images), then the
variational solve min ½‖Hx − g‖² + (λ/μ)R(μx) (x ≥ 0 on CT) is scored on the public test set
beside tuned Tikhonov and tuned TV (the protocol's tuners, same training pairs), with the time
of each solve. The solves are given the task's known noise level (``Task.noise_sigma``, as
BM3D is; estimated per measurement on CT): on sr_x2's training pairs the estimated one cost
0.49 dB (31.24 vs 31.73 dB at the tuned factors). Rows (``physinv.experiments.rows.Row``)
and the summary go to ``benchmarks/results/regulariser_tasks-<UTC time>.json`` with the
environment.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from physinv.experiments.protocol import TASKS, evaluation_pairs, get_task, training_pairs
from physinv.experiments.rows import Row, summarize
from physinv.io import write_json
from physinv.runtime import keep_freed_memory
from physinv.solvers import tikhonov, tv
from physinv.train import load
from physinv.train.regulariser import for_task, tune_scales

RESULTS = Path(__file__).parent / "results"


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, 1e3 * (time.perf_counter() - t0)


def reference_rows(task, tests, train) -> list[Row]:
    """Tuned Tikhonov and tuned TV (with positivity on CT) on the test images."""
    lam = task.tikhonov_lambda(train)
    norm2 = tests[0][3].norm() ** 2
    weight = task.tv_weight(train, norm2) * norm2
    rows = []
    for name, x, y, op in tests:
        for method, fn, hyper in [
                ("tikhonov-tuned", lambda y=y, op=op: tikhonov(y, op, lam=lam).x, lam),
                ("tv-tuned", lambda y=y, op=op: tv(y, op, lam=weight, n_iter=500,
                                        positivity=task.positivity).x, weight)]:
            est, ms = _timed(fn)
            p, s = task.score(est, x)
            rows.append(Row(task.name, method, name, family="classical", psnr=p, ssim=s,
                            infer_ms=ms, hyper=hyper))
    return rows


def regulariser_rows(run: Path, task, tests, train, n_train: int) -> list[Row]:
    """The regulariser of ``run`` with (s_λ, s_μ) tuned on ``train``, on the test images."""
    net = load(run)  # a denoiser or a task fine-tuned run, rebuilt from its spec
    run_info = net.checkpoint["config"].get("run") or {}
    tuned_on = run_info.get("task") if "fine_tuned" in run_info else None
    method = ("crr" if net.config["convex"] else "wcrr") + (
        f"-finetuned-{tuned_on}" if tuned_on else "-denoiser")
    t0 = time.perf_counter()
    sigma = task.noise_sigma()
    (ls, ms_), tune_psnr = tune_scales(net, train, sigma=sigma, positivity=task.positivity,
                                       score=task.psnr)
    tune_s = time.perf_counter() - t0
    rows = []
    for name, x, y, op in tests:
        solver = for_task(net, op, sigma=sigma, positivity=task.positivity, lam_scale=ls,
                          mu_scale=ms_)
        with torch.no_grad():
            est, ms = _timed(lambda solver=solver, y=y: solver(y.to(torch.float32)))
        p, s = task.score(est.to(x.dtype), x)
        rows.append(Row(task.name, method, name, family="regulariser", psnr=p, ssim=s,
                        infer_ms=ms, train_s=tune_s, n_train=n_train,
                        params_trainable=net.trainable_parameters(),
                        hyper={"lam_scale": ls, "mu_scale": ms_, "tune_psnr": tune_psnr,
                               "sigma": sigma,
                               "n_iter": solver.last.n_iter,
                               "grad_norm": solver.last.params["grad_norm"]}))
    return rows


def main() -> None:
    """Parse the arguments, run every (run, task), write the JSON."""
    keep_freed_memory()  # the allocator settings of the physinv command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--n-images", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"regulariser_tasks-{stamp}.json"
    for task_name in args.tasks.split(","):
        task = get_task(task_name)
        tests = evaluation_pairs(task, args.n_images)
        train = training_pairs(task, args.n_train)
        rows += reference_rows(task, tests, train)
        for run in args.runs:
            rows += regulariser_rows(run, task, tests, train, args.n_train)
        summary = summarize([r.to_dict() for r in rows])
        for line in summary:
            print(line, flush=True)
        # written after every task (atomically): a run cut short keeps the tasks it finished
        write_json(path, {"rows": [r.to_dict() for r in rows], "summary": summary,
                          "runs": [str(r) for r in args.runs], "n_train": args.n_train,
                          "tasks_done": sorted({r.task for r in rows})},
                   with_environment=True)
    print(path)


if __name__ == "__main__":
    main()
