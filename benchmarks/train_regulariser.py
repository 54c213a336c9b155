"""Train a learned ridge regulariser (crr / wcrr) once as a denoiser on the N protocol crops.

    python benchmarks/train_regulariser.py crr --n-train 16 --out runs/crr-16 [--max-time 600]

The run folder holds the checkpoint (safetensors + JSON) and the training log; its summary is
printed. The regulariser is then applied to every task by ``benchmarks/regulariser_tasks.py``.
"""

from __future__ import annotations

import argparse
import json

import torch

from physinv.data.patches import training_crops
from physinv.runtime import keep_freed_memory
from physinv.train.regulariser import train_regulariser


def main() -> None:
    """Parse the arguments, train, print the summary."""
    keep_freed_memory()  # the allocator settings of the physinv command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("net", choices=["crr", "wcrr"])
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-time", type=float, default=600.0)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    crops = training_crops(args.n_train)
    _, result = train_regulariser(args.net, crops, out=args.out, overwrite=True,
                                  max_time=args.max_time, epochs=args.epochs)
    print(json.dumps(result.summary(), indent=1))


if __name__ == "__main__":
    main()
