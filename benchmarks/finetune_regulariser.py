"""Fine-tune a learned regulariser (trained once as a denoiser) on one protocol task.

    python benchmarks/finetune_regulariser.py RUN --task sr_x2 --n-train 16 --out RUN2
        [--max-time 240] [--epochs E] [--patch 64]

The task's factors (s_λ, s_μ) are chosen on its training pairs (``tune_scales``), then the
regulariser's deep equilibrium is trained on random patches of the task's N training crops
measured through the task's operator (``physinv.train.regulariser.fine_tune``), and kept in
RUN2 (safetensors + JSON). ``benchmarks/regulariser_tasks.py RUN2 --tasks sr_x2`` scores it.
The time limit counts the fine-tuning only: add the denoiser's own training time.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from physinv.data.patches import training_crops
from physinv.experiments.protocol import get_task, training_pairs
from physinv.runtime import keep_freed_memory
from physinv.train import load
from physinv.train.data import Measurements
from physinv.train.regulariser import fine_tune, tune_scales


def main() -> None:
    """Parse the arguments, tune the factors, fine-tune, print the summary."""
    keep_freed_memory()  # the allocator settings of the physinv command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--task", required=True)
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-time", type=float, default=240.0)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--samples-per-epoch", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    task = get_task(args.task)
    if task.name == "ct_sparse":
        raise SystemExit("ct_sparse: patches of a sinogram are not the same physics")
    net = load(args.run)
    t0 = time.perf_counter()
    sigma = task.noise_sigma()
    (ls, ms), score = tune_scales(net, training_pairs(task, args.n_train), sigma=sigma,
                                  positivity=task.positivity, score=task.psnr)
    tune_s = time.perf_counter() - t0
    crops = task.prepare(training_crops(args.n_train).to(torch.float64)).float()
    data = Measurements(crops, task.operator(tuple(crops.shape[-2:])), task.noise(),
                        patch=args.patch, operator_for=task.operator)
    _, result = fine_tune(net, data, lam_scale=ls, mu_scale=ms, sigma=sigma,
                          positivity=task.positivity,
                          out=args.out, overwrite=True, max_time=args.max_time,
                          epochs=args.epochs, lr=args.lr,
                          samples_per_epoch=args.samples_per_epoch,
                          batch_size=args.batch_size,
                          run_info={"task": task.name, "from": str(args.run),
                                    "tune_s": tune_s, "tune_psnr": score})
    print(json.dumps({"lam_scale": ls, "mu_scale": ms, "tune_psnr": score, "tune_s": tune_s,
                      **result.summary()}, indent=1))


if __name__ == "__main__":
    main()
