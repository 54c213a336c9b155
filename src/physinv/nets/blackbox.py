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
from physinv.operators import FanBeam, Radon
from physinv.operators.fan import fan_fbp
from physinv.operators.radon import fbp

INPUTS = ("auto", "measurement", "adjoint", "fbp")


class NetInput(nn.Module):
    """The input of the black-box networks: the measurement brought to the object grid.

    .. math::

        z = g  (``"measurement"``),   z = H'g / p(0)  (``"adjoint"``),   z = FBP(g)  (``"fbp"``)

    with p(0) the DC gain of H'H (so that a ×2 super-resolution input keeps the image's
    intensity). ``"auto"`` picks FBP for the Radon transform, the measurement when it is
    already an image of the object's shape, the normalised back-projection otherwise.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H.
    kind : {"auto", "measurement", "adjoint", "fbp"}
        How to form z.

    Raises
    ------
    InputError
        For an unknown kind, ``"fbp"`` without a ``Radon`` operator, or ``"measurement"``
        when the measurement's shape is not the object's.

    Examples
    --------
    >>> from physinv.operators import Convolution, SuperResolution, psf
    >>> NetInput(Convolution(psf.gaussian(1.0, 7), (16, 16)), "auto").kind
    'measurement'
    >>> NetInput(SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2), "auto").kind
    'adjoint'
    """

    def __init__(self, op, kind: str):
        super().__init__()
        if kind not in INPUTS:
            raise InputError("input", kind, f"one of {INPUTS}")
        if kind == "auto":
            kind = "fbp" if isinstance(op, (Radon, FanBeam)) else (
                "measurement" if tuple(op.in_shape) == tuple(op.out_shape) else "adjoint")
        if kind == "fbp" and not isinstance(op, (Radon, FanBeam)):
            raise InputError("input", kind, "'fbp' only for the Radon and fan-beam transforms")
        if kind == "measurement" and tuple(op.in_shape) != tuple(op.out_shape):
            raise InputError("input", kind, f"'adjoint' for an operator from {op.in_shape} "
                             f"to {op.out_shape}")
        self.kind = kind
        self.op = op
        self.gain = float(stationary_normal(op, getattr(op, "factor", 1))[0, 0]) \
            if kind == "adjoint" else 1.0

    def forward(self, y):
        """The network input z for measurements ``y``.

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurements.

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            z: ``y`` itself, H'y / p(0), or FBP(y).
        """
        if self.kind == "measurement":
            return y
        if self.kind == "fbp":
            return fan_fbp(y, self.op) if isinstance(self.op, FanBeam) else fbp(y, self.op)
        return self.op.adjoint(y, check=False) / self.gain


class DnCNN(PhysicsNet):
    """A residual CNN on the measurement brought to the object grid (DnCNN).

    .. math::

        x̂ = z + CNN(z),   z = ``NetInput``(g)  (g, H'g / p(0) or FBP(g))

    ``depth`` 3×3 convolutions with ReLUs and ``width`` channels, without batch normalisation
    (every state is a parameter; nothing depends on the batch), the last layer zero at init:
    the untrained network returns its input. No physics beyond forming z.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H (used only to form the input).
    width : int, default 32
        Channels of the hidden layers.
    depth : int, default 8
        Convolution layers (≥ 2).
    dropout : float, default 0.0
        Dropout before the last layer (for ``mc_dropout``).
    input : {"auto", "measurement", "adjoint", "fbp"}, default "auto"
        How to form z (``NetInput``).

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape); the CNN runs on
    each channel, in float32, on any image size.

    References
    ----------
    .. [1] K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, "Beyond a Gaussian denoiser: residual
           learning of deep CNN for image denoising", IEEE Trans. Image Process. 26(7),
           3142–3155, 2017.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> net = DnCNN(Identity((16, 16)), width=8, depth=3)
    >>> y = torch.rand(1, 1, 16, 16)
    >>> net.trainable_parameters(), bool(torch.equal(net(y), y))  # untrained: its input
    (737, True)
    """

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
    """The U-Net trunk: an encoder–decoder with skip connections, 1 channel in and out.

    ``levels`` 2×2 max-poolings on the way down (two 3×3 convolutions + ReLU per level,
    ``width · 2^i`` channels), transposed convolutions and concatenated skips on the way up,
    then a 1×1 convolution initialised at zero (so a residual U-Net starts as the identity).

    Parameters
    ----------
    width : int
        Channels of the first level.
    levels : int
        Number of poolings; image sides are padded to a multiple of 2^levels by ``run``.
    dropout : float
        Channel dropout before the head (for ``mc_dropout``).

    Examples
    --------
    >>> import torch
    >>> body = UNetBody(width=4, levels=2, dropout=0.0)
    >>> tuple(body.run(torch.rand(1, 1, 10, 12)).shape)  # padded to 12×12 inside
    (1, 1, 10, 12)
    """

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
        """The trunk on (N, 1, H, W) images, H and W multiples of 2^levels (``run`` takes any
        size and channels)."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(self.drop(x))

    def run(self, z: torch.Tensor) -> torch.Tensor:
        """The trunk on images of any size and channels.

        Parameters
        ----------
        z : torch.Tensor, shape (B, C, H, W)
            Images, any float dtype.

        Returns
        -------
        torch.Tensor, shape (B, C, H, W)
            The trunk's output, in ``z``'s dtype: reflect-padded to a multiple of 2^levels,
            run channel by channel in float32, cropped back.
        """
        h, w = z.shape[-2:]
        m = 2**self.levels
        ph, pw = (-h) % m, (-w) % m
        zp = nn.functional.pad(z, (0, pw, 0, ph), mode="reflect") if ph or pw else z
        return apply_cnn(self, zp)[..., :h, :w]


class UNet(PhysicsNet):
    """A residual U-Net on the measurement brought to the object grid.

    .. math::

        x̂ = z + U(z),   z = ``NetInput``(g)  (g, H'g / p(0) or FBP(g))

    with U the U-Net trunk (``UNetBody``), its last layer zero at init: the untrained network
    returns its input. With the default width 16 and 3 levels it has 0.48 M parameters. On
    FBP input this is FBPConvNet's scheme.

    Parameters
    ----------
    op : LinearOperator
        Forward operator H (used only to form the input).
    width : int, default 16
        Channels of the first level (doubled at each level).
    levels : int, default 3
        Poolings; inputs are reflect-padded to a multiple of 2^levels and cropped back.
    dropout : float, default 0.0
        Channel dropout before the head (for ``mc_dropout``).
    input : {"auto", "measurement", "adjoint", "fbp"}, default "auto"
        How to form z (``NetInput``).

    Notes
    -----
    Input ``y`` of shape (B, C, *op.out_shape), output (B, C, *op.in_shape); the trunk runs
    on each channel, in float32, on any image size.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: convolutional networks for biomedical
           image segmentation", Proc. MICCAI, LNCS 9351, 234–241, 2015.
    .. [2] K. H. Jin, M. T. McCann, E. Froustey, M. Unser, "Deep convolutional neural network
           for inverse problems in imaging", IEEE Trans. Image Process. 26(9), 4509–4522,
           2017.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> net = UNet(Identity((16, 16)))
    >>> y = torch.rand(1, 1, 16, 16)
    >>> net.trainable_parameters(), bool(torch.equal(net(y), y))  # untrained: its input
    (481745, True)
    """

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
