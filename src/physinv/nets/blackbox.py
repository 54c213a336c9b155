"""Black-box baselines, ``UNet`` and ``DnCNN``: no physics beyond forming their input.

The input is an image on the object grid: the measurement itself when it already is one
(``"measurement"``, identity and convolutions), the normalised back-projection H'g / p(0)
(``"adjoint"``; p(0) the DC gain of H'H, so a ×2 super-resolution input keeps the image's
intensity), or the filtered back-projection for the Radon transform (``"fbp"``). Both networks
are residual on that input and start as the identity (last layer zero), and both are trained by
the same ``physinv.train.fit`` as the physics-constrained networks.

>>> import torch
>>> from physinv.operators import Convolution, psf
>>> from physinv.nets import DnCNN
>>> net = DnCNN(Convolution(psf.gaussian(1.0, 7), (32, 32)), width=8, depth=3)
>>> tuple(net(torch.rand(1, 1, 32, 32)).shape)
(1, 1, 32, 32)
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_int
from physinv.nets.base import PhysicsNet
from physinv.nets.layers import SmallCNN, apply_cnn, stationary_normal
from physinv.operators import Radon
from physinv.operators.radon import fbp

INPUTS = ("auto", "measurement", "adjoint", "fbp")


class NetInput(nn.Module):
    """Forms the network input on the object grid from the measurement."""

    def __init__(self, op, kind: str):
        super().__init__()
        if kind not in INPUTS:
            raise InputError("input", kind, f"one of {INPUTS}")
        if kind == "auto":
            kind = "fbp" if isinstance(op, Radon) else (
                "measurement" if tuple(op.in_shape) == tuple(op.out_shape) else "adjoint")
        if kind == "fbp" and not isinstance(op, Radon):
            raise InputError("input", kind, "'fbp' only for the Radon transform")
        if kind == "measurement" and tuple(op.in_shape) != tuple(op.out_shape):
            raise InputError("input", kind, f"'adjoint' for an operator from {op.in_shape} "
                             f"to {op.out_shape}")
        self.kind = kind
        self.op = op
        self.gain = float(stationary_normal(op, getattr(op, "factor", 1))[0, 0]) \
            if kind == "adjoint" else 1.0

    def forward(self, y):
        if self.kind == "measurement":
            return y
        if self.kind == "fbp":
            return fbp(y, self.op)
        return self.op.adjoint(y, check=False) / self.gain


class DnCNN(PhysicsNet):
    """Residual CNN (Zhang et al. 2017) without batch normalisation: f̂ = z + CNN(z)."""

    def __init__(self, op, width: int = 32, depth: int = 8, dropout: float = 0.0,
                 input: str = "auto"):  # noqa: A002 - the field's word
        super().__init__(op)
        self.input = NetInput(op, input)
        self.cnn = SmallCNN(1, 1, width, depth, dropout)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        z = self.input(y)
        return z + apply_cnn(self.cnn, z)


def _block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())


class UNetBody(nn.Module):
    """The U-Net trunk: 1 channel in, 1 out (last layer zero), ``levels`` poolings."""

    def __init__(self, width, levels, dropout):
        super().__init__()
        self.levels = levels
        chans = [width * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList([_block(1, chans[0])] + [
            _block(chans[i], chans[i + 1]) for i in range(levels)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2)
                                 for i in reversed(range(levels))])
        self.merge = nn.ModuleList([_block(2 * chans[i], chans[i])
                                    for i in reversed(range(levels))])
        self.drop = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(chans[0], 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(self.drop(x))

    def run(self, z: torch.Tensor) -> torch.Tensor:
        """The trunk on (B, C, H, W) images of any size: reflect-padded to a multiple of
        2^levels, run channel by channel in float32, cropped back."""
        h, w = z.shape[-2:]
        m = 2**self.levels
        ph, pw = (-h) % m, (-w) % m
        zp = nn.functional.pad(z, (0, pw, 0, ph), mode="reflect") if ph or pw else z
        return apply_cnn(self, zp)[..., :h, :w]


class UNet(PhysicsNet):
    """U-Net (Ronneberger et al. 2015), residual on its input: f̂ = z + U(z). With the default
    width 16 and 3 levels it has 0.48 M parameters; image sides must divide by 2^levels
    (inputs are reflect-padded to the next multiple and cropped back)."""

    def __init__(self, op, width: int = 16, levels: int = 3, dropout: float = 0.0,
                 input: str = "auto"):  # noqa: A002
        super().__init__(op)
        check_int("levels", levels)
        self.levels = levels
        self.input = NetInput(op, input)
        self.body = UNetBody(check_int("width", width), levels, dropout)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:
        z = self.input(y)
        return z + self.body.run(z)
