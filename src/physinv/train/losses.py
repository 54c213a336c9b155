"""Training losses, each ``loss(estimate, g, f)`` → a scalar (mean over the batch).

- ``Supervised``: mean ‖f − f̂‖² per pixel (``norm="l1"``: mean |f − f̂|; ``norm="log"``: the
  mean over images of log ‖f − f̂‖², i.e. −PSNR up to constants — the benchmark's metric, which
  weighs every image equally where the MSE lets the most textured images dominate).
- ``Physics``: the supervised term plus μ · mean ‖g − Hf̂‖² per measurement (physics
  consistency, the PINN-type term).
- ``Unsupervised``: (‖g − Hf̂‖² + λ‖Df̂‖²) / n_pixels with no ground truth — over a linear map
  its minimiser is the Tikhonov inverse (the MAP estimate in network form).
"""

from __future__ import annotations

import torch

from physinv.errors import InputError, check_positive
from physinv.solvers.iterative import regulariser

NORMS = ("mse", "l1", "log")
LOG_FLOOR = 1e-12


class Loss:
    name = "loss"
    uses_truth = True

    def __init__(self, op):
        self.op = op

    def __call__(self, estimate, g, f):  # pragma: no cover - abstract
        raise NotImplementedError


class Supervised(Loss):
    name = "supervised"

    def __init__(self, op, norm: str = "mse"):
        super().__init__(op)
        if norm not in NORMS:
            raise InputError("norm", norm, f"one of {NORMS}")
        self.norm = norm

    def __call__(self, estimate, g, f):
        diff = estimate - f
        if self.norm == "l1":
            return diff.abs().mean()
        if self.norm == "log":
            per_image = (diff**2).flatten(1).mean(1)
            return torch.log10(per_image + LOG_FLOOR).mean()
        return (diff**2).mean()


class Physics(Supervised):
    name = "physics"

    def __init__(self, op, mu: float = 1.0, norm: str = "mse"):
        super().__init__(op, norm)
        self.mu = check_positive("mu", mu, allow_zero=True)

    def __call__(self, estimate, g, f):
        residual = g - self.op(estimate, check=False)
        return super().__call__(estimate, g, f) + self.mu * (residual**2).mean()


class Unsupervised(Loss):
    name = "unsupervised"
    uses_truth = False

    def __init__(self, op, lam: float = 1e-3, reg: str = "gradient"):
        super().__init__(op)
        self.lam = check_positive("lam", lam, allow_zero=True)
        self.reg = regulariser(op, reg)

    def __call__(self, estimate, g, f=None):
        n = estimate.shape[0] * estimate[0].numel()
        data = ((g - self.op(estimate, check=False)) ** 2).sum()
        prior = (self.reg.to(estimate.device)(estimate, check=False) ** 2).sum()
        return (data + self.lam * prior) / n




class Segmentation(Loss):
    """Binary cross-entropy on logits plus (1 − soft Dice), against label maps in {0, 1};
    ``score`` is the per-image Dice of ``logits > 0`` (validation)."""

    name = "segmentation"
    uses_truth = True

    def __init__(self, op, dice_weight: float = 1.0):
        super().__init__(op)
        self.dice_weight = float(dice_weight)

    def __call__(self, logits, g, labels):
        labels = labels.to(logits.dtype)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        p = torch.sigmoid(logits).flatten(1)
        t = labels.flatten(1)
        soft = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
        return bce + self.dice_weight * (1 - soft).mean()

    def score(self, logits, labels):
        pred = (logits > 0).flatten(1).to(torch.float64)
        t = (labels > 0.5).flatten(1).to(torch.float64)
        inter = (pred * t).sum(1)
        total = pred.sum(1) + t.sum(1)
        return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.ones_like(total))


LOSSES = {"supervised": Supervised, "physics": Physics, "unsupervised": Unsupervised,
          "segmentation": Segmentation}
