"""``PhysicsNet``: what every physics-constrained network shares.

The forward operator is a fixed submodule (buffers only, never in the optimiser); learnable
layers are ``Parameter``s initialised at their analytic values, so that an untrained network is
the classical solver it grows from. ``config`` holds the constructor's keyword arguments (JSON
values), so that ``net.for_operator(op)`` rebuilds the same network around the same physics on
another grid — trained on 128×128 patches, applied to 256×256 images — carrying the learned
parameters over.
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError
from physinv.operators.base import LinearOperator


class PhysicsNet(nn.Module):
    """Base class: holds ``op``; counts fixed and trainable parameters; moves across grids."""

    def __init__(self, op: LinearOperator):
        super().__init__()
        if not isinstance(op, LinearOperator):
            raise InputError("op", op, "a physinv.operators.LinearOperator")
        self.op = op
        self.config: dict = {}

    def fixed_parameters(self) -> int:
        """Number of fixed values (buffers: the operator's physics and frozen layers)."""
        frozen = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        return int(sum(b.numel() for b in self.buffers()) + frozen)

    def trainable_parameters(self) -> int:
        """Number of learnable values."""
        return int(sum(p.numel() for p in self.parameters() if p.requires_grad))

    def for_operator(self, op: LinearOperator) -> PhysicsNet:
        """The same network (same ``config``, learned parameters) around ``op``, typically the
        same physics on another image size. Buffers derived from the operator are recomputed;
        parameters tied to the grid (per-frequency tables) are moved through their spatial
        kernel where the network says how (``_resize_parameters``)."""
        new = type(self)(op, **self.config)
        new.to(device=_device(self))
        mine = dict(self.named_parameters())
        theirs = dict(new.named_parameters())
        resized = self._resize_parameters(tuple(self.op.in_shape), tuple(op.in_shape)) \
            if tuple(self.op.in_shape) != tuple(op.in_shape) else {}
        with torch.no_grad():
            for name, target in theirs.items():
                value = resized.get(name, mine[name])
                if value.shape != target.shape:
                    raise InputError("op", f"{type(op).__name__}{tuple(op.in_shape)}",
                                     f"the grid {tuple(self.op.in_shape)} this "
                                     f"{type(self).__name__} was built for (parameter "
                                     f"{name!r} is tied to it)")
                target.copy_(value)
        return new

    def _resize_parameters(self, old_shape, new_shape) -> dict[str, torch.Tensor]:
        """Grid-tied parameters recomputed for ``new_shape`` (none by default)."""
        return {}

    def extra_repr(self) -> str:
        return (f"fixed={self.fixed_parameters()} (operator {type(self.op).__name__}), "
                f"trainable={self.trainable_parameters()}")


def _device(module: nn.Module) -> torch.device:
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return torch.device("cpu")
