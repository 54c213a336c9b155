"""``physinv demo`` (first stage): simulate a blurred noisy image and invert it.

For now the demo shows the forward layer at work on a bundled photograph: Gaussian blur
(σ = 2 px) plus Gaussian noise (σ = 0.01), then two inverses computed from the operator's Fourier
diagonal ĥ — the naive inverse filter ĝ/ĥ (which amplifies noise without bound where ĥ is
small) and the quadratically regularised inverse conj(ĥ)ĝ / (|ĥ|² + λ) with a fixed λ. Later
issues replace these with the full solver and network comparison. Writes ``demo.png`` and
``results.json`` in the output folder.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import physinv
from physinv.data import images
from physinv.data.io import atomic_write
from physinv.errors import InputError
from physinv.metrics import psnr, ssim
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, psf


def fourier_inverse(y: torch.Tensor, op, lam: float) -> torch.Tensor:
    """conj(ĥ) ĝ / (|ĥ|² + λ) (λ = 0: the naive inverse filter, guarded against ĥ = 0)."""
    otf = op.fourier_diagonal().to(y.device)
    spectrum = torch.fft.fft2(y.to(torch.float64))
    denom = otf.abs() ** 2 + lam
    denom = torch.where(denom > 1e-12, denom, torch.full_like(denom, 1e-12))
    return torch.fft.ifft2(spectrum * otf.conj() / denom).real.to(y.dtype)


def environment() -> dict:
    return {"physinv": physinv.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads()}


def run(out: Path, image: str = "camera", size: int = 256, seed: int = 0,
        lam: float = 1e-3) -> dict:
    """Run the demo, write ``demo.png`` and ``results.json`` into ``out``; return the results."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError("out", str(out), "a writable folder", str(err)) from None
    start = time.perf_counter()
    x = images.load(image)[..., :size, :size].to(torch.float64)
    op = Convolution(psf.gaussian(2.0, 25), x.shape[-2:])
    y = simulate(x, op, Gaussian(0.01), seed=seed)
    estimates = {"measurement": y, "inverse filter": fourier_inverse(y, op, 0.0),
                 f"regularised inverse (λ={lam:g})": fourier_inverse(y, op, lam)}
    rows = []
    for name, est in estimates.items():
        rows.append({"method": name, "psnr": float(psnr(est.clamp(-10, 10), x)),
                     "ssim": float(ssim(est.clamp(-10, 10), x))})
    results = {"task": "deblur_gauss", "image": image, "size": size, "seed": seed,
               "rows": rows, "seconds": time.perf_counter() - start,
               "environment": environment()}
    _figure(out / "demo.png", x, estimates, rows)
    atomic_write(out / "results.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(results, indent=2)))
    return results


def _figure(path: Path, x, estimates, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("truth", x, None)] + [(k, v, r) for (k, v), r in
                                     zip(estimates.items(), rows, strict=True)]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (name, img, row) in zip(axes, panels, strict=True):
        ax.imshow(img[0, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        title = name if row is None else f"{name}\n{row['psnr']:.2f} dB, SSIM {row['ssim']:.3f}"
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
