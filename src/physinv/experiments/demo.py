"""``physinv demo`` (first stages): simulate a blurred noisy image and invert it.

A bundled photograph (camera, 256×256) blurred by a Gaussian PSF (σ = 2 px) plus Gaussian
noise (σ = 0.01), then: the naive inverse filter ĝ/ĥ (noise amplified without bound where ĥ is
small), Tikhonov with λ chosen by GCV, Wiener with a fitted power spectrum, total variation
(λ = 10⁻³, the value ``physinv bench`` picks on the training crops for this task) and the
Student-t VBA, whose posterior standard deviation is shown too — no λ set by hand except TV's.
Later issues add the network comparison. Writes ``demo.png`` and ``results.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from physinv.data import images
from physinv.data.io import atomic_write
from physinv.errors import InputError
from physinv.experiments.bench import environment
from physinv.metrics import psnr, ssim
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, psf
from physinv.solvers import studentt, tikhonov, tv, wiener


def fourier_inverse(y: torch.Tensor, op, lam: float) -> torch.Tensor:
    """conj(ĥ) ĝ / (|ĥ|² + λ) (λ = 0: the naive inverse filter, guarded against ĥ = 0)."""
    otf = op.fourier_diagonal().to(y.device)
    spectrum = torch.fft.fft2(y.to(torch.float64))
    denom = otf.abs() ** 2 + lam
    denom = torch.where(denom > 1e-12, denom, torch.full_like(denom, 1e-12))
    return torch.fft.ifft2(spectrum * otf.conj() / denom).real.to(y.dtype)


def run(out: Path, image: str = "camera", size: int = 256, seed: int = 0) -> dict:
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
    tik = tikhonov(y, op, lam="gcv")
    vba = studentt(y, op, method="vba")
    estimates = {"measurement": y, "inverse filter": fourier_inverse(y, op, 0.0),
                 f"Tikhonov (GCV λ={tik.params['lam']:.2g})": tik.x,
                 "Wiener": wiener(y, op).x,
                 "TV (λ=1e-3)": tv(y, op, lam=1e-3).x,
                 "Student-t VBA": vba.x}
    std = vba.variance.clamp_min(0).sqrt()
    rows = []
    for name, est in estimates.items():
        rows.append({"method": name, "psnr": float(psnr(est.clamp(-10, 10), x)),
                     "ssim": float(ssim(est.clamp(-10, 10), x))})
    results = {"task": "deblur_gauss", "image": image, "size": size, "seed": seed,
               "rows": rows, "seconds": time.perf_counter() - start,
               "environment": environment()}
    _figure(out / "demo.png", x, estimates, rows, std)
    atomic_write(out / "results.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(results, indent=2)))
    return results


def _figure(path: Path, x, estimates, rows, std):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("truth", x, None)] + [(k, v, r) for (k, v), r in
                                     zip(estimates.items(), rows, strict=True)]
    fig, axes = plt.subplots(2, 4, figsize=(13, 7))
    for ax, (name, img, row) in zip(axes.flat, panels, strict=False):
        ax.imshow(img[0, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        title = name if row is None else f"{name}\n{row['psnr']:.2f} dB, SSIM {row['ssim']:.3f}"
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    ax = axes.flat[len(panels)]
    shown = ax.imshow(std[0, 0].cpu().numpy(), cmap="magma")
    ax.set_title("Student-t VBA posterior std", fontsize=9)
    ax.axis("off")
    fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
