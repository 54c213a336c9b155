"""Forward models H: torch modules with buffers only, batched over ``(B, C, ...)``.

``Identity``, ``Convolution``, ``Decimation``, ``SuperResolution``, ``Mask``, ``Radon``,
``FanBeam``, ``Dense``, and the regularisation transforms ``Gradient`` and ``Wavelet``; algebra
(``@``, ``*``, ``+``, ``.H``), ``norm()``, ``dot_test``; PSFs in ``psf``; ``spec.from_spec``
builds an operator from the CLI mini-language.
"""

from physinv.operators import psf
from physinv.operators.base import (
    Adjoint,
    Composition,
    Identity,
    LinearOperator,
    Scaled,
    SpectralDecomposition,
    Sum,
    dot_test,
    power_iteration,
)
from physinv.operators.blur import Convolution
from physinv.operators.dense import Dense
from physinv.operators.fan import FanBeam, fan_fbp
from physinv.operators.gradient import Gradient
from physinv.operators.radon import Radon, fbp
from physinv.operators.sampling import Decimation, Mask, SuperResolution
from physinv.operators.wavelet import Wavelet

__all__ = [
    "Adjoint", "Composition", "Convolution", "Decimation", "Dense", "FanBeam", "Gradient",
    "Identity", "LinearOperator", "Mask", "Radon", "Scaled", "SpectralDecomposition", "Sum",
    "SuperResolution", "Wavelet", "dot_test", "fan_fbp", "fbp", "power_iteration", "psf",
]
