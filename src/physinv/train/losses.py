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


def seen(x: torch.Tensor, op) -> torch.Tensor:
    """``x`` with the pixels ``op`` does not see (``op.domain_mask()``) set to 0: a loss or a
    score then measures the reconstruction, not the prior's extension into H's null space."""
    mask = op.domain_mask()
    if mask is None or tuple(mask.shape) != tuple(x.shape[-2:]):
        return x
    return x * mask.to(device=x.device, dtype=x.dtype)


class Loss:
    """A training loss: ``loss(estimate, g, f)`` → a scalar tensor, to minimise.

    Subclasses set ``name`` (the key in ``LOSSES``) and ``uses_truth`` (False when the loss
    needs no ground truth f, so that it trains on measurements alone) and implement
    ``__call__``.

    Parameters
    ----------
    op : LinearOperator
        The forward operator H of the training data.
    """

    name = "loss"
    uses_truth = True

    def __init__(self, op):
        self.op = op

    def __call__(self, estimate, g, f):  # pragma: no cover - abstract
        raise NotImplementedError


class Supervised(Loss):
    """Distance between the estimate f̂ and the truth f, averaged over the batch.

    .. math::

        L_{mse} = mean (f − f̂)²,   L_{l1} = mean |f − f̂|,
        L_{log} = mean_i log₁₀( mean_pixels (f_i − f̂_i)² + 10⁻¹² )

    ``"log"`` is −PSNR / 10 up to a constant: every image weighs the same.

    Parameters
    ----------
    op : LinearOperator
        The forward operator H (unused by this loss).
    norm : {"mse", "l1", "log"}, default "mse"
        The distance.

    Raises
    ------
    InputError
        For an unknown ``norm``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> f = torch.zeros(2, 1, 16, 16)
    >>> loss = Supervised(Identity((16, 16)), norm="log")
    >>> round(float(loss(f + 0.1, None, f)), 4)  # MSE 0.01 → log₁₀ = −2
    -2.0
    """

    name = "supervised"

    def __init__(self, op, norm: str = "mse"):
        super().__init__(op)
        if norm not in NORMS:
            raise InputError("norm", norm, f"one of {NORMS}")
        self.norm = norm

    def __call__(self, estimate, g, f):
        diff = seen(estimate - f, self.op)
        if self.norm == "l1":
            return diff.abs().mean()
        if self.norm == "log":
            per_image = (diff**2).flatten(1).mean(1)
            return torch.log10(per_image + LOG_FLOOR).mean()
        return (diff**2).mean()


class Physics(Supervised):
    """The supervised term plus μ times the mean squared physics residual (PINN-type).

    .. math::

        L = L_{norm}(f̂, f) + μ · mean (g − H f̂)²

    (the residual's mean over every element of the batch of measurements).

    Parameters
    ----------
    op : LinearOperator
        The forward operator H.
    mu : float, default 1.0
        Weight μ ≥ 0 of the residual.
    norm : {"mse", "l1", "log"}, default "mse"
        The supervised distance (see ``Supervised``).

    Raises
    ------
    InputError
        For a negative ``mu`` or an unknown ``norm``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> f = torch.zeros(1, 1, 16, 16)
    >>> round(float(Physics(Identity((16, 16)), mu=0.5)(f + 0.1, f + 0.2, f)), 4)
    0.015
    """

    name = "physics"

    def __init__(self, op, mu: float = 1.0, norm: str = "mse"):
        super().__init__(op, norm)
        self.mu = check_positive("mu", mu, allow_zero=True)

    def __call__(self, estimate, g, f):
        residual = g - self.op(estimate, check=False)
        return super().__call__(estimate, g, f) + self.mu * (residual**2).mean()


class Unsupervised(Loss):
    """The Tikhonov objective of the estimate, without ground truth.

    .. math::

        L = ( ‖g − H f̂‖² + λ ‖D f̂‖² ) / n,   n = the number of pixels of the batch of f̂

    Over a linear network the minimiser is the Tikhonov inverse (the MAP estimate).

    Parameters
    ----------
    op : LinearOperator
        The forward operator H.
    lam : float, default 1e-3
        Regularisation weight λ ≥ 0.
    reg : {"gradient", "identity"}, default "gradient"
        The regulariser D: circular finite differences or the identity.

    Raises
    ------
    InputError
        For a negative ``lam``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> g = torch.zeros(1, 1, 16, 16)
    >>> round(float(Unsupervised(Identity((16, 16)))(g + 0.1, g)), 4)  # D of a constant: 0
    0.01
    """

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
    ``score`` is the per-image Dice of ``logits > 0`` (validation).

    .. math::

        L = BCE(z, t) + w · mean_i ( 1 − (2 Σ p t + 1) / (Σ p + Σ t + 1) ),   p = σ(z)

    with sums over the pixels of image i and BCE the mean over all pixels.

    Parameters
    ----------
    op : LinearOperator
        The forward operator H (unused by this loss).
    dice_weight : float, default 1.0
        Weight w of the soft-Dice term.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> logits = torch.full((1, 1, 16, 16), -5.0)
    >>> logits[..., :8, :] = 5.0
    >>> labels = (logits > 0).float()
    >>> Segmentation(Identity((16, 16))).score(logits, labels).tolist()
    [1.0]
    """

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
        """The Dice coefficient of the predicted mask ``logits > 0`` against ``labels > 0.5``.

        .. math:: Dice = 2 |P ∩ T| / (|P| + |T|)

        Parameters
        ----------
        logits : torch.Tensor, shape (B, 1, H, W)
            The network's output, one logit per pixel.
        labels : torch.Tensor, shape (B, 1, H, W)
            Label maps in {0, 1}.

        Returns
        -------
        torch.Tensor, shape (B,), float64
            Dice per image in [0, 1]; 1 where both masks are empty.
        """
        pred = (logits > 0).flatten(1).to(torch.float64)
        t = (labels > 0.5).flatten(1).to(torch.float64)
        inter = (pred * t).sum(1)
        total = pred.sum(1) + t.sum(1)
        return torch.where(total > 0, 2 * inter / total.clamp_min(1), torch.ones_like(total))


LOSSES = {"supervised": Supervised, "physics": Physics, "unsupervised": Unsupervised,
          "segmentation": Segmentation}
