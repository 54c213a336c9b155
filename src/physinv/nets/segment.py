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
    """A U-Net giving per-pixel logits of "defect" from a measurement or a restored map.

    .. math::

        ℓ = U(z),   P(defect at a pixel) = 1 / (1 + e^(−ℓ)),   z = ``NetInput``(g)

    with U the U-Net trunk (``UNetBody``, no residual), its head's bias initialised at
    −2 (P ≈ 0.12 everywhere: defects are rare).

    Parameters
    ----------
    op : LinearOperator
        Forward operator H: ``Identity`` after a restoration, the camera on raw frames.
    width : int, default 16
        Channels of the first level.
    levels : int, default 2
        Poolings; inputs are reflect-padded to a multiple of 2^levels and cropped back.
    input : {"auto", "measurement", "adjoint", "fbp"}, default "auto"
        How to form z (``NetInput``).

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output logits (B, C, *op.in_shape). Trained
    by ``physinv.train.fit`` with ``loss="segmentation"`` (binary cross-entropy + soft Dice).

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: convolutional networks for biomedical
           image segmentation", Proc. MICCAI, LNCS 9351, 234–241, 2015.
    .. [2] F. Milletari, N. Navab, S.-A. Ahmadi, "V-Net: fully convolutional neural networks
           for volumetric medical image segmentation", Proc. 3DV, 565–571, 2016 (soft Dice).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> net = SegmentationUNet(Identity((16, 16)), width=4)
    >>> logits = net(torch.rand(1, 1, 16, 16)).detach()
    >>> tuple(logits.shape), round(float(torch.sigmoid(logits).mean()), 2)
    ((1, 1, 16, 16), 0.12)
    """

    def __init__(self, op, width: int = 16, levels: int = 2, input: str = "auto"):  # noqa: A002
        super().__init__(op)
        check_int("levels", levels)
        self.levels = levels
        self.input = NetInput(op, input)
        self.body = UNetBody(check_int("width", width), levels, 0.0)
        nn.init.constant_(self.body.head.bias, PRIOR_LOGIT)

    def _reconstruct(self, y):
        return self.body.run(self.input(y))
