"""``net.config`` — what a checkpoint records and ``for_operator`` rebuilds from — holds the
same keys, values, types and order as the hand-written configurations did (the expected
values below were printed by the code at commit 63d8f62), and a new network gets it for free."""

from __future__ import annotations

import json

import pytest
import torch

from physinv.errors import InputError
from physinv.nets import (
    LISTA,
    AnalyticNet,
    DecomposedNet,
    FourierNet,
    PhysicsNet,
    SVDNet,
    TikhonovResidual,
    UnrolledHQS,
    UnrolledLandweber,
    WaveletNet,
)
from physinv.nets.registry import NETWORKS, available, build
from physinv.nets.segment import SegmentationUNet
from physinv.operators import Convolution, psf
from physinv.operators.spec import from_spec

# build(name, Convolution(psf.gaussian(1.0, 7), (16, 16)), 0.01).config at 63d8f62 (‖H‖ = 1)
ON_CONVOLUTION = {
    "analytic": {"lam": 0.01, "reg": "gradient"},
    "fourier": {"init": "tikhonov", "lam": 0.01, "reg": "gradient", "structure": "table",
                "n_knots": 16},
    "fourier-radial": {"init": "tikhonov", "lam": 0.01, "reg": "gradient",
                       "structure": "radial", "n_knots": 16},
    "fourier-parametric": {"init": "tikhonov", "lam": 0.01, "reg": "gradient",
                           "structure": "parametric", "n_knots": 16},
    "svd": {"lam": 0.01, "layers": 4, "reg": "gradient"},
    "wavelet": {"lam": 0.01, "wavelet": "db2", "level": 2},
    "decomposed": {"lam": 0.01, "part": "linear", "n_knots": 16, "width": 32, "depth": 5,
                   "dropout": 0.0},
    "decomposed-cnn": {"lam": 0.01, "part": "cnn", "n_knots": 16, "width": 32, "depth": 5,
                       "dropout": 0.0},
    "tikhonov-residual": {"lam": 0.01, "width": 32, "depth": 5, "dropout": 0.0},
    "unrolled-landweber": {"n_layers": 10, "step": 1.0, "lam": 0.0, "tied": False,
                           "positivity": False},
    "lista": {"n_layers": 10, "lam": 0.001, "step": 1.0, "basis": "wavelet", "wavelet": "db2",
              "level": None, "tied": False},
    # since the exact-path change HQS also records the Tikhonov λ it starts at (appended)
    "unrolled-hqs": {"n_layers": 5, "mu": 0.1, "tied": True, "width": 32, "depth": 5,
                     "cg_steps": 10, "dropout": 0.0, "lam": 0.01},
    # learned regularisers (added with them; the λ of the registry does not enter)
    "crr": {"convex": True, "lam_scale": 1.0, "mu_scale": 1.0, "sigma": None,
            "positivity": False, "tol": 1e-05, "max_iter": 1000, "train_steps": 10,
            "data_range": [0.0, 1.0], "scale": None, "deq": True},
    "wcrr": {"convex": False, "lam_scale": 1.0, "mu_scale": 1.0, "sigma": None,
             "positivity": False, "tol": 1e-05, "max_iter": 1000, "train_steps": 10,
             "data_range": [0.0, 1.0], "scale": None, "deq": True},
    "dncnn": {"width": 32, "depth": 8, "dropout": 0.0, "input": "auto"},
    "unet": {"width": 16, "levels": 3, "dropout": 0.0, "input": "auto"},
}

# the networks offered for ×2 super-resolution (not Fourier-diagonal, ‖H‖ ≈ 0.5): the step is
# the resolved default 1/‖H‖² (3.998404829136305 at 63d8f62), LISTA's λ the registry's scaling
STEP = "1/|H|^2"
ON_SUPER_RESOLUTION = {
    "wavelet": ON_CONVOLUTION["wavelet"],
    "decomposed": ON_CONVOLUTION["decomposed"],
    "decomposed-cnn": ON_CONVOLUTION["decomposed-cnn"],
    "tikhonov-residual": ON_CONVOLUTION["tikhonov-residual"],
    "unrolled-landweber": {**ON_CONVOLUTION["unrolled-landweber"], "step": STEP},
    "lista": {**ON_CONVOLUTION["lista"], "lam": "lam/10*|H|^2", "step": STEP},
    "unrolled-hqs": ON_CONVOLUTION["unrolled-hqs"],
    "crr": ON_CONVOLUTION["crr"],
    "wcrr": ON_CONVOLUTION["wcrr"],
    "dncnn": ON_CONVOLUTION["dncnn"],
    "unet": ON_CONVOLUTION["unet"],
}


def _convolution():
    return Convolution(psf.gaussian(1.0, 7), (16, 16))


def _exactly(config: dict) -> str:
    """Keys, values, their types (1 is not 1.0) and order, as the checkpoint writes them."""
    return json.dumps(config)


def test_every_registry_network_is_covered():
    assert set(ON_CONVOLUTION) == set(NETWORKS)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_registry_networks_record_the_configuration_they_recorded_before(name):
    assert _exactly(build(name, _convolution(), 0.01).config) == _exactly(ON_CONVOLUTION[name])


def test_resolved_defaults_are_recorded_as_the_values_they_resolved_to():
    op = from_spec("sr:gaussian:sigma=1,factor=2", (16, 16))
    offered = [n for n, why in available(op).items() if why is None]
    assert set(offered) == set(ON_SUPER_RESOLUTION)
    norm2 = op.norm() ** 2
    for name in offered:
        expected = {k: {STEP: 1 / norm2, "lam/10*|H|^2": 0.01 / 10 * norm2}.get(v, v)
                    if isinstance(v, str) else v for k, v in ON_SUPER_RESOLUTION[name].items()}
        assert _exactly(build(name, op, 0.01).config) == _exactly(expected), name


def test_checked_arguments_are_recorded_as_the_checks_normalised_them():
    op = _convolution()
    cases = [  # (network, config at 63d8f62)
        (UnrolledLandweber(op, n_layers=3.0, step=0.5, lam=1),
         {"n_layers": 3, "step": 0.5, "lam": 1.0, "tied": False, "positivity": False}),
        (LISTA(op, n_layers=3, lam=1, level=2),
         {"n_layers": 3, "lam": 1.0, "step": 1.0, "basis": "pixel", "wavelet": "db2",
          "level": 2, "tied": False}),
        (UnrolledHQS(op, n_layers=2, mu=1, cg_steps=3.0),
         {"n_layers": 2, "mu": 1.0, "tied": True, "width": 32, "depth": 5, "cg_steps": 3,
          "dropout": 0.0, "lam": 0.0}),
        (AnalyticNet(op, lam=1), {"lam": 1.0, "reg": "gradient"}),
        (FourierNet(op, lam=1), {"init": "tikhonov", "lam": 1.0, "reg": "gradient",
                                 "structure": "table", "n_knots": 16}),
        (SVDNet(op, lam=1), {"lam": 1.0, "layers": 4, "reg": "identity"}),
        (DecomposedNet(op, lam=1), {"lam": 1.0, "part": "linear", "n_knots": 16, "width": 32,
                                    "depth": 5, "dropout": 0.0}),
        (TikhonovResidual(op, lam=1), {"lam": 1, "width": 32, "depth": 5, "dropout": 0.0}),
        (WaveletNet(op, lam=1, level=2), {"lam": 1.0, "wavelet": "db2", "level": 2}),
        (WaveletNet(op, lam=0), {"lam": 0.0, "wavelet": "db2", "level": 2}),
        (SegmentationUNet(op), {"width": 16, "levels": 2, "input": "auto"}),
    ]
    for net, expected in cases:
        assert _exactly(net.config) == _exactly(expected), type(net).__name__


class _Gain(PhysicsNet):
    """A network written without any bookkeeping: config and the input check come free."""

    def __init__(self, op, gain: float = 2.0, *, name: str = "gain", **extra):
        super().__init__(op)
        self.gain = torch.nn.Parameter(torch.tensor(float(gain)))
        self.calls = 0

    def _reconstruct(self, y):
        self.calls += 1
        return self.gain.to(y.dtype) * self.op.adjoint(y, check=False)


class _FixedGain(_Gain):
    """A subclass with its own signature records its own arguments."""

    def __init__(self, op, width: int = 3):
        super().__init__(op, gain=width)
        self.record_resolved(width=int(width), gain=99.0)  # gain: not an argument here


class _SameGain(_Gain):
    """A subclass without a constructor records through its parent's."""


def test_a_new_network_records_its_configuration_from_its_signature():
    op = _convolution()
    assert _Gain(op).config == {"gain": 2.0, "name": "gain"}
    assert _Gain(op, 3, name="g", knots=4).config == {"gain": 3, "name": "g", "knots": 4}
    assert _FixedGain(op, width=5.0).config == {"width": 5}
    assert _SameGain(op, gain=4).config == {"gain": 4, "name": "gain"}
    net = _Gain(op, 0.5)
    again = net.for_operator(Convolution(psf.gaussian(1.0, 7), (24, 24)))
    assert type(again) is _Gain and again.config == net.config


def test_a_network_constructor_must_take_op_first_and_no_star_args():
    with pytest.raises(TypeError, match="op"):
        type("Bad", (PhysicsNet,), {"__init__": lambda self, shape: None})
    with pytest.raises(TypeError, match="args"):
        type("Bad", (PhysicsNet,), {"__init__": lambda self, op, *sizes: None})


def test_forward_checks_the_measurement_before_the_network_runs():
    net = _Gain(_convolution())
    with pytest.raises(InputError, match=r"y: .*trailing dimensions \(16, 16\)"):
        net(torch.zeros(1, 1, 8, 8))
    with pytest.raises(InputError, match="y: .*NaN"):
        net(torch.full((1, 1, 16, 16), float("nan")))
    assert net.calls == 0
    assert net(torch.ones(1, 1, 16, 16, dtype=torch.float64)).dtype == torch.float64
    assert net.calls == 1


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_registry_network_refuses_a_measurement_of_the_wrong_shape(name):
    net = build(name, _convolution(), 0.01)
    with pytest.raises(InputError, match=r"^y: .*trailing dimensions \(16, 16\)"):
        net(torch.zeros(1, 1, 12, 16))


def test_unrolled_landweber_checks_its_start():
    net = UnrolledLandweber(_convolution(), n_layers=2)
    y = torch.rand(1, 1, 16, 16)
    with pytest.raises(InputError, match="x0"):
        net(y, torch.zeros(1, 1, 8, 8))
    torch.testing.assert_close(net(y, x0=torch.zeros_like(y)), net(y))


def test_fit_closed_form_names_the_tensor_it_refuses():
    net = FourierNet(_convolution())
    good = torch.rand(2, 1, 16, 16)
    with pytest.raises(InputError, match="^ys: "):
        net.fit_closed_form(torch.rand(2, 1, 8, 8), good)
    with pytest.raises(InputError, match="^xs: "):
        net.fit_closed_form(good, torch.rand(2, 1, 8, 8))
