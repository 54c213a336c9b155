"""Does a fixed SVD still help for a non-convolutional operator? ct_sparse at 64×64.

The Radon transform (60 angles over 180°, 64×64 images in the inscribed disk, noise 1 % of each
sinogram's maximum — the ct_sparse protocol at half size) is written out as a dense matrix and
its SVD computed once (cached by ``Dense``). Side by side on the four public test images
(resized to 64×64), hyper-parameters and training on the first N = 16 protocol crops:
FBP (Hann), Tikhonov (D = I, λ tuned on the crops) — which is the untrained 4-layer SVDNet —,
the SVDNet with its diagonal trained, and the DecomposedNet (H' + learned stationary filter,
no SVD) trained the same way. Writes ``benchmarks/results/svd_radon-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from skimage.transform import resize
from timing import save_result

from physinv.data import patches
from physinv.data.phantoms import circle_mask
from physinv.io import environment
from physinv.metrics import psnr
from physinv.nets import DecomposedNet, SVDNet
from physinv.noise import RelativeGaussian, simulate
from physinv.operators import Dense, Radon, fbp
from physinv.solvers import tikhonov
from physinv.train import Measurements
from physinv.train.recipe import train_network

SIZE = 64


def _small(images) -> torch.Tensor:
    mask = circle_mask(SIZE)
    out = []
    for img in images:
        arr = img.reshape(img.shape[-2:]).double().numpy()
        out.append(torch.from_numpy(resize(arr, (SIZE, SIZE), anti_aliasing=True) * mask)[None])
    return torch.stack(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    radon = Radon((SIZE, SIZE), np.linspace(0, 180, 60, endpoint=False))
    t0 = time.perf_counter()
    dense = Dense(radon.to_matrix(), (SIZE, SIZE), radon.out_shape)
    dense.svd_matrices()
    svd_s = time.perf_counter() - t0
    noise = RelativeGaussian(0.01)
    mask = torch.from_numpy(circle_mask(SIZE))
    tests = _small(list(patches.test_images().values()))
    test_y = torch.cat([simulate(tests[i: i + 1], radon, noise, seed=1234 + i)
                        for i in range(len(tests))])
    crops = _small(patches.training_crops(args.n_train))
    train_y = torch.cat([simulate(crops[i: i + 1], radon, noise, seed=10_000 + i)
                         for i in range(len(crops))])

    def score(est, x):
        return float(psnr((est * mask).clamp(-1, 2), x).mean())

    grid = [float(v) for v in np.logspace(-4, 0, 17)]
    norm2 = dense.norm() ** 2
    lam = max(grid, key=lambda r: score(tikhonov(train_y, dense, lam=r * norm2,
                                                 reg="identity").x, crops)) * norm2
    rows = [{"method": "fbp-hann", "psnr": score(fbp(test_y, radon, filter="hann"), tests)},
            {"method": "tikhonov-identity (= untrained SVDNet)",
             "psnr": score(tikhonov(test_y, dense, lam=lam, reg="identity").x, tests)}]
    data = Measurements(crops.float(), dense, noise)
    for name, net in (("svdnet-trained", SVDNet(dense, lam=lam)),
                      ("decomposed-trained", DecomposedNet(radon, lam=lam))):
        if name.startswith("decomposed"):
            data = Measurements(crops.float(), radon, noise)
        _, result = train_network(None, data, lam, "long", net=net, max_time=args.budget)
        with torch.no_grad():
            p = score(net(test_y.float()).double(), tests)
        rows.append({"method": name, "psnr": p, "train_s": result.train_s,
                     "best_epoch": result.best_epoch, "stop_reason": result.stop_reason,
                     "params_trainable": net.trainable_parameters()})
    for r in rows:
        print(f"{r['method']:40s} {r['psnr']:.2f} dB")
    result = {"benchmark": "svd_radon", "when": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "environment": environment(), "size": SIZE, "angles": 60,
        "n_train": args.n_train, "lam": lam, "svd_seconds": svd_s, "rows": rows}
    save_result("svd_radon", result, args.json)


if __name__ == "__main__":
    main()
