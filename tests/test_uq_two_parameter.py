"""physinv.uq two-parameter calibration σ² = a·v + b·β²: the fit recovers known weights, the
calibrated intervals cover held-out data, the bias proxies and the format-2 file."""

import json
import math

import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, psf
from physinv.solvers import tikhonov
from physinv.uq import (
    bias_proxy,
    equivariant_bootstrap,
    fit,
    fit_weights,
    load,
    normal_quantile,
)


def _maps(n, seed):
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(n, generator=g, dtype=torch.float64) + 0.2) * 1e-4
    b2 = torch.rand(n, generator=g, dtype=torch.float64) ** 3 * 4e-4
    return v, b2, g


@pytest.mark.parametrize("a0, b0", [(1.0, 3.0), (0.5, 0.5), (2.0, 0.0)])
def test_two_parameter_fit_recovers_known_weights(a0, b0):
    v, b2, g = _maps(100_000, seed=1)
    err = (torch.randn(v.shape, generator=g, dtype=torch.float64) * (a0 * v + b0 * b2).sqrt())
    for level in (0.5, 0.9, 0.95, 0.99):
        a, b = fit_weights(err.abs(), v, b2, level)
        assert a >= 0 and b >= 0
        assert abs(a - a0) < 0.06 * a0, (level, a, b)
        assert abs(b - b0) < 0.06 * max(b0, a0), (level, a, b)


def _synthetic(n_images, n_draws, size, seed):
    """Errors of variance 4 v + 9 β² (v 4× too small, β² not in v at all) on images."""
    g = torch.Generator().manual_seed(seed)
    shape = (n_images, n_draws, 1, 1, size, size)
    x = torch.zeros(n_images, 1, 1, 1, size, size, dtype=torch.float64)
    v = (0.2 + torch.rand(shape, generator=g, dtype=torch.float64)) * 1e-4
    b2 = torch.rand(shape, generator=g, dtype=torch.float64) ** 3 * 4e-4
    err = (4 * v + 9 * b2).sqrt() * torch.randn(shape, generator=g, dtype=torch.float64)
    return x, x + err, v, b2


def test_two_parameter_calibration_covers_a_held_out_set_and_is_sharper():
    levels = (0.5, 0.8, 0.9, 0.95, 0.99)
    x, x_hat, v, b2 = _synthetic(4, 2, 64, seed=0)
    two = fit(x, x_hat, v, method="synthetic", operator="identity", noise="synthetic",
              calibration_set="4 × 2 synthetic", levels=levels, bias2=b2,
              bias_proxy="highpass", bias_width=2.0)
    one = fit(x, x_hat, v, method="synthetic", operator="identity", noise="synthetic",
              calibration_set="4 × 2 synthetic", levels=levels)
    xt, xt_hat, vt, bt = _synthetic(4, 1, 64, seed=99)  # held out
    err = (xt_hat - xt).abs()
    for level in levels:
        z = normal_quantile(level)
        sigma2 = two.apply(vt, level, bt).sqrt()
        n = err.numel()
        se = math.sqrt(level * (1 - level) / n)
        covered = float((err <= z * sigma2).double().mean())
        assert covered >= level - 3 * se, (level, covered)
        # uncalibrated v covers far less; at 90 % and above the one-scale map (covering too)
        # is wider (below, the shortest intervals at a pooled coverage are not the true σ's)
        assert float((err <= z * vt.sqrt()).double().mean()) < level - 0.1
        if level >= 0.9:
            assert float(sigma2.mean()) < 0.9 * float(one.apply(vt, level).sqrt().mean())


def test_two_parameter_file_round_trips_and_old_files_still_load(tmp_path):
    x, x_hat, v, b2 = _synthetic(2, 1, 16, seed=0)
    cal = fit(x, x_hat, v, method="tikhonov", operator="identity", noise="gaussian:sigma=0.01",
              calibration_set="2 synthetic", bias2=b2, bias_proxy="bootstrap", bias_width=4.0)
    back = load(cal.save(tmp_path / "cal.json"))
    assert back == cal and back.format.endswith("/3") and set(back.weights) == set(back.scales)
    assert "β²(bootstrap, w=4)" in back.describe_at(0.95)
    with pytest.raises(InputError, match="bias proxy"):
        back.apply(v)
    record = json.loads((tmp_path / "cal.json").read_text())
    for key in ("weights", "bias_proxy", "bias_width", "noise_floor", "selection"):
        record.pop(key)
    record["format"] = "physinv-uq-calibration/1"
    (tmp_path / "old.json").write_text(json.dumps(record))
    old = load(tmp_path / "old.json")
    assert old.weights is None and torch.equal(old.apply(v, 0.9), v * old.scale_at(0.9) ** 2)
    record["format"] = "physinv-uq-calibration/9"
    (tmp_path / "new.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match=r"calibration/1 or .*calibration/3.*recalibrate"):
        load(tmp_path / "new.json")
    with pytest.raises(InputError, match="bias_proxy"):
        fit(x, x_hat, v, method="m", operator="o", noise="n", calibration_set="c", bias2=b2)


def test_bootstrap_mean_and_spread_decompose_its_mean_square():
    op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float64)
    out = equivariant_bootstrap(lambda g, o: tikhonov(g, o, lam=1e-2).x, op(x), op,
                                "gaussian:sigma=0.01", n_samples=6, seed=0, keep_samples=True)
    stack = torch.stack(out.samples)
    x_hat = tikhonov(op(x), op, lam=1e-2).x
    torch.testing.assert_close(out.mean, stack.mean(0))
    torch.testing.assert_close(out.spread, stack.var(0, unbiased=True))
    torch.testing.assert_close(out.variance, out.spread * 5 / 6 + (out.mean - x_hat) ** 2)


def test_bias_proxies_locate_an_edge_and_refuse_bad_input():
    x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    x[..., 16:] = 1.0
    for kind, mean in (("highpass", None), ("bootstrap", x * 0.9)):
        b2 = bias_proxy(kind, x, mean, width=2.0)
        assert b2.shape == x.shape and float(b2.min()) >= 0
    hp = bias_proxy("highpass", x, width=2.0)
    assert float(hp[..., 10, 16]) > 100 * float(hp[..., 10, 4])
    with pytest.raises(InputError, match="sample_mean"):
        bias_proxy("bootstrap", x)
    with pytest.raises(InputError, match="bias_proxy"):
        bias_proxy("laplace", x)


def test_cli_writes_the_two_parameter_variance_of_a_solver(tmp_path, capsys):
    import numpy as np

    from physinv.cli import main
    from physinv.operators.spec import from_spec
    from physinv.solvers.registry import run

    x, x_hat, v, b2 = _synthetic(2, 1, 16, seed=0)
    cal = fit(x, x_hat, v, method="tikhonov", operator="blur:gaussian:sigma=1",
              noise="gaussian:sigma=0.01", calibration_set="2 synthetic", bias2=b2,
              bias_proxy="highpass", bias_width=2.0, estimator="spread", samples=4)
    path = cal.save(tmp_path / "cal.json")
    y = np.random.default_rng(0).random((32, 32))
    np.save(tmp_path / "y.npy", y)
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", "blur:gaussian:sigma=1",
                 "--method", "tikhonov", "--lam", "0.01", "-o", str(tmp_path / "x.npy"),
                 "--samples", "4", "--variance", str(tmp_path / "v.npy"), "--calibration",
                 str(path), "--level", "0.9"]) == 0
    assert "calibrated at 0.9 (σ² = " in capsys.readouterr().out
    g = torch.as_tensor(y)[None, None]
    op = from_spec("blur:gaussian:sigma=1", (32, 32))
    est = run("tikhonov", g, op, lam=0.01).x
    boot = equivariant_bootstrap(lambda m, o: run("tikhonov", m, o, lam=0.01).x, g, op,
                                 "gaussian:sigma=0.01", x_hat=est, n_samples=4, seed=0,
                                 estimator="spread")
    a, b = cal.weights["0.9"]
    expected = a * boot.spread + b * bias_proxy("highpass", est, width=2.0)
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected[0, 0].numpy(), rtol=1e-6)


def _smooth_and_textured(seed):
    """Three textured crops (error = bias, |e|² ≈ 9 β²) and one smooth crop (error = noise of
    variance v, β² ≈ 0): the pooled likelihood puts a ≈ 0."""
    g = torch.Generator().manual_seed(seed)
    shape = (4, 1, 1, 1, 48, 48)
    v = torch.full(shape, 1e-4, dtype=torch.float64)
    b2 = torch.rand(shape, generator=g, dtype=torch.float64) ** 2 * 1e-2
    b2[3] = 3e-6 * (0.5 + torch.rand(shape[1:], generator=g, dtype=torch.float64))
    sd = (9 * b2).sqrt()
    sd[3] = v[3].sqrt()
    err = sd * torch.randn(shape, generator=g, dtype=torch.float64)
    return torch.zeros_like(err[:, :1]), err, v, b2


@pytest.mark.parametrize("floor, smooth_ok", [(0.0, False), (0.5, True)])
def test_noise_floor_keeps_the_smooth_crop_covered(floor, smooth_ok):
    x, x_hat, v, b2 = _smooth_and_textured(seed=3)
    cal = fit(x, x_hat, v, method="synthetic", operator="identity", noise="synthetic",
              calibration_set="3 textured + 1 smooth", levels=(0.95,), bias2=b2,
              bias_proxy="highpass", bias_width=2.0, noise_floor=floor)
    a, b = cal.weights["0.95"]
    xt, xt_hat, vt, bt = _smooth_and_textured(seed=11)  # held out
    half = normal_quantile(0.95) * (a * vt + b * bt).sqrt()
    per_crop = ((xt_hat - xt).abs() <= half).double().flatten(1).mean(1)
    assert (float(per_crop[3]) >= 0.93) is smooth_ok, (a, b, per_crop.tolist())
    assert float(per_crop.mean()) >= 0.93, per_crop.tolist()
