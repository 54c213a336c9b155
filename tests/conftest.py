"""Shared fixtures: the registry of operator set-ups that feeds the generic property tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.operators import (
    Convolution,
    Decimation,
    Dense,
    Gradient,
    Identity,
    Mask,
    Radon,
    SuperResolution,
    Wavelet,
    psf,
)

torch.set_num_threads(1)


def _registry():
    rng = np.random.default_rng(0)
    ops = {
        "identity": lambda: Identity((12, 10)),
        "conv-gauss": lambda: Convolution(psf.gaussian(1.5, 7), (16, 12)),
        "conv-motion": lambda: Convolution(psf.motion(5, 30), (15, 16)),
        "conv-even-psf": lambda: Convolution(psf.box(4, 6), (12, 12)),
        "conv-full-size-psf": lambda: Convolution(rng.random((10, 9)) + 0.1, (10, 9)),
        "conv-reflect": lambda: Convolution(psf.gaussian(1.0, 5), (13, 11), boundary="reflect"),
        "conv-reflect-big-psf": lambda: Convolution(psf.disk(4.0, 11), (12, 12),
                                                    boundary="reflect"),
        "decimation": lambda: Decimation((12, 16), 2),
        "decimation-offset": lambda: Decimation((12, 12), 3, offset=1),
        "superres": lambda: SuperResolution(psf.gaussian(1.0, 5), (16, 16), 4),
        "mask": lambda: Mask(rng.random((11, 13)) < 0.5),
        "radon-even": lambda: Radon((16, 16), np.arange(0, 180, 12.0)),
        "radon-odd": lambda: Radon((15, 15), np.arange(0, 180, 7.5)),
        "radon-random-angles": lambda: Radon((12, 12), rng.uniform(-200, 400, 9)),
        "radon-square": lambda: Radon((10, 10), [0.0, 33.0, 90.0, 135.0], circle=False),
        "dense": lambda: Dense(rng.standard_normal((20, 30)), (5, 6)),
        "composition": lambda: Decimation((12, 12), 2) @ Convolution(psf.gaussian(1, 5), (12, 12)),
        "sum-scaled": lambda: Convolution(psf.gaussian(1, 5), (9, 9)) - 0.5 * Identity((9, 9)),
        "adjoint-op": lambda: Decimation((8, 8), 2).H,
        "gradient-circular": lambda: Gradient((9, 11)),
        "gradient-neumann": lambda: Gradient((9, 11), boundary="neumann"),
        "wavelet-db2": lambda: Wavelet((16, 14), "db2", level=2),
        "wavelet-haar": lambda: Wavelet((8, 8), "haar"),
    }
    return ops


REGISTRY = _registry()


@pytest.fixture(params=sorted(REGISTRY), ids=sorted(REGISTRY))
def operator(request):
    return REGISTRY[request.param]()


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a − b‖ / ‖b‖."""
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.fixture
def rel():
    return relative_error
