"""Segmentation heads: a small U-Net giving per-pixel logits of "defect" on the object grid.

``SegmentationUNet(op, input=...)`` forms its input like the black-box networks (the
measurement, the normalised back-projection H'g, or FBP) — so the same class is the head after
a restoration (``op = Identity``: its input is the restored map) and the black-box segmenter on
raw frames (``op`` the camera: its input is H'g). Trained by ``physinv.train.fit`` with
``loss="segmentation"`` (binary cross-entropy + soft Dice; validation by Dice).

>>> import torch
>>> from physinv.operators import Identity
>>> net = SegmentationUNet(Identity((16, 16)), width=4, levels=2)
>>> tuple(net(torch.rand(2, 1, 16, 16)).shape)
(2, 1, 16, 16)
"""

from __future__ import annotations

from torch import nn

from physinv.errors import check_int
from physinv.nets.base import PhysicsNet
from physinv.nets.blackbox import NetInput, UNetBody

PRIOR_LOGIT = -2.0  # defects are rare: start at P(defect) ≈ 0.12 everywhere


class SegmentationUNet(PhysicsNet):
    """Per-pixel defect logits from a measurement or a restored map (see the module)."""

    def __init__(self, op, width: int = 16, levels: int = 2, input: str = "auto"):  # noqa: A002
        super().__init__(op)
        check_int("levels", levels)
        self.levels = levels
        self.input = NetInput(op, input)
        self.body = UNetBody(check_int("width", width), levels, 0.0)
        nn.init.constant_(self.body.head.bias, PRIOR_LOGIT)

    def _reconstruct(self, y):
        return self.body.run(self.input(y))
