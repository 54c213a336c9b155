"""Mixed precision: inside a bf16 autocast region (what ``fit`` uses on CUDA; tested here with
the CPU autocast) the operators keep float32 — FFTs and projections are not run in bf16 — and
the networks return float32 close to their full-precision output."""

from __future__ import annotations

import pytest
import torch

from physinv.errors import InputError
from physinv.nets.registry import build
from physinv.noise import Gaussian
from physinv.operators.spec import from_spec
from physinv.train import Measurements, fit

SPECS = ["blur:gaussian:sigma=1.5,size=9", "sr:gaussian:sigma=1,factor=2", "radon:angles=12"]


@pytest.mark.parametrize("spec", SPECS)
def test_operators_stay_float32_under_autocast(spec):
    op = from_spec(spec, (24, 24))
    x = torch.rand(2, 1, 24, 24)
    ref = op(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = op(x)
        from_half = op(x.to(torch.bfloat16))
        back = op.adjoint(got)
    assert got.dtype == torch.float32 and torch.equal(got, ref)
    assert from_half.dtype == torch.float32
    assert back.dtype == torch.float32 and torch.equal(back, op.adjoint(ref))


@pytest.mark.parametrize("name", ["unrolled-hqs", "tikhonov-residual", "unet",
                                  "fourier-radial"])
def test_networks_under_bf16_autocast(name):
    op = from_spec(SPECS[0], (32, 32))
    torch.manual_seed(0)
    net = build(name, op, 0.01)
    for p in net.parameters():  # non-trivial CNN output (the last layers start at zero)
        if p.dtype == torch.float32:
            torch.nn.init.normal_(p, std=0.05)
    y = op(torch.rand(2, 1, 32, 32))
    with torch.no_grad():
        ref = net(y)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = net(y)
    assert got.dtype == torch.float32
    rel = float((got - ref).norm() / ref.norm())
    assert rel < 3e-2, rel  # bf16 has 8 bits of mantissa: ~0.4 % per operation


def test_fit_in_bf16_and_precision_errors():
    op = from_spec(SPECS[0], (24, 24))
    clean = torch.nn.functional.avg_pool2d(torch.rand(6, 1, 28, 28), 5, 1)
    data = Measurements(clean, op, Gaussian(0.02))
    torch.manual_seed(0)
    net = build("tikhonov-residual", op, 0.01)
    result = fit(net, data, epochs=2, samples_per_epoch=8, precision="bf16")
    assert all(r["train_loss"] is None or r["train_loss"] == r["train_loss"]
               for r in result.history)
    assert next(net.prox.parameters() if hasattr(net, "prox") else net.parameters()).dtype \
        == torch.float32
    with pytest.raises(InputError, match="precision"):
        fit(net, data, epochs=1, precision="fp8")
