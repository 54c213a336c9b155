"""``PhysicsNet``: what every physics-constrained network shares.

The forward operator is a fixed submodule (buffers only, never in the optimiser); learnable
layers are ``Parameter``s initialised at their analytic values, so that an untrained network is
the classical solver it grows from.
"""

from __future__ import annotations

from torch import nn

from physinv.errors import InputError
from physinv.operators.base import LinearOperator


class PhysicsNet(nn.Module):
    """Base class: holds ``op``; counts fixed and trainable parameters."""

    def __init__(self, op: LinearOperator):
        super().__init__()
        if not isinstance(op, LinearOperator):
            raise InputError("op", op, "a physinv.operators.LinearOperator")
        self.op = op

    def fixed_parameters(self) -> int:
        """Number of fixed values (buffers: the operator's physics and frozen layers)."""
        frozen = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        return int(sum(b.numel() for b in self.buffers()) + frozen)

    def trainable_parameters(self) -> int:
        """Number of learnable values."""
        return int(sum(p.numel() for p in self.parameters() if p.requires_grad))

    def extra_repr(self) -> str:
        return (f"fixed={self.fixed_parameters()} (operator {type(self.op).__name__}), "
                f"trainable={self.trainable_parameters()}")
