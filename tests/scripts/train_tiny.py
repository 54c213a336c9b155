"""A tiny, deterministic training run for the subprocess tests (kill-and-resume, torchrun).

python tests/scripts/train_tiny.py OUT [--resume] [--epochs N] [--net NAME] [--weights FILE]
"""

from __future__ import annotations

import argparse


def main() -> None:
    import torch
    from safetensors.torch import save_file

    from physinv.nets.registry import build
    from physinv.noise import Gaussian
    from physinv.operators.spec import from_spec
    from physinv.train import Measurements, fit

    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--net", default="tikhonov-residual")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--save-every", type=int, default=None)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--float64", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(5)
    clean = torch.nn.functional.avg_pool2d(
        torch.rand(8, 1, args.size + 4, args.size + 4, generator=gen), 5, 1)
    op = from_spec("blur:gaussian:sigma=1.5,size=9", (args.size, args.size))
    torch.manual_seed(11)  # the initial weights
    net = build(args.net, op, 0.01)
    result = fit(net, Measurements(clean, op, Gaussian(0.02)), epochs=args.epochs,
                 samples_per_epoch=args.samples, batch_size=args.batch, patience=100, seed=3,
                 out=args.out, resume=args.resume, save_every=args.save_every, lr=3e-3,
                 dtype=torch.float64 if args.float64 else torch.float32)
    if args.weights and int(__import__("os").environ.get("RANK", "0")) == 0:
        save_file({k: v.detach().contiguous() for k, v in net.named_parameters()},
                  args.weights)
    print(result.stop_reason, result.best_epoch, result.n_steps, flush=True)


if __name__ == "__main__":
    main()
