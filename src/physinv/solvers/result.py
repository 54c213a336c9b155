"""``Result``: what every solver returns, and the shared input checks of the solvers."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from physinv.errors import InputError, check_finite, check_image
from physinv.operators.base import LinearOperator


@dataclass
class Result:
    """A reconstruction.

    Attributes
    ----------
    x : the estimate, ``(B, C, H, W)``, dtype of the data.
    variance : per-pixel posterior variance where the method defines one, else ``None``.
    history : per-iteration lists, e.g. ``{"objective": [...], "residual": [...]}``.
    params : chosen or estimated (hyper-)parameters, e.g. ``{"lam": 0.01, "path": "fourier"}``.
    n_iter : iterations run (0 for closed forms).
    converged : whether the relative-change tolerance was met (closed forms: True).
    stop_reason : ``"tolerance"``, ``"max_iter"``, ``"closed form"`` …
    labels : a label map for segmentation methods, else ``None``.
    """

    x: torch.Tensor
    variance: torch.Tensor | None = None
    history: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    n_iter: int = 0
    converged: bool = True
    stop_reason: str = "closed form"
    labels: torch.Tensor | None = None

    def summary(self) -> str:
        """One line: parameters, iterations, stop reason, last residual."""
        parts = []
        for key, value in self.params.items():
            if isinstance(value, float):
                parts.append(f"{key}={value:.4g}")
            elif isinstance(value, int | str | bool):
                parts.append(f"{key}={value}")
        if self.n_iter:
            parts.append(f"iterations={self.n_iter} ({self.stop_reason})")
        if self.history.get("residual"):
            parts.append(f"residual={self.history['residual'][-1]:.4g}")
        return ", ".join(parts)


def check_problem(y, op) -> torch.Tensor:
    """Validate a measurement ``y`` against the operator ``op``; return ``y``."""
    if not isinstance(op, LinearOperator):
        raise InputError("op", op, "a physinv.operators.LinearOperator")
    if not isinstance(y, torch.Tensor):
        raise InputError("y", y, f"a torch.Tensor of shape (B, C, *{op.out_shape})")
    if y.dim() != 2 + len(op.out_shape) or tuple(y.shape[2:]) != tuple(op.out_shape):
        raise InputError("y", y, f"shape (B, C, *{op.out_shape}) to match the operator "
                         f"{type(op).__name__}")
    if not y.is_floating_point():
        raise InputError("y", y, "a floating-point tensor")
    check_finite("y", y)
    return y


def check_x0(x0, y, op) -> torch.Tensor:
    """The starting point: zeros by default, else a validated image of the operator's shape."""
    if x0 is None:
        return torch.zeros(*y.shape[:2], *op.in_shape, dtype=y.dtype, device=y.device)
    check_image("x0", x0, shape=op.in_shape)
    return x0.to(dtype=y.dtype, device=y.device)
