"""Object temperature from the apparent one: the band-radiance inversion (round trip within
2 mK), the variance through the conversion against Monte Carlo (within 5 %), ε = 1 bit for
bit, and the refusals of bad emissivity / reflected temperature / atmosphere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.thermal.radiometry import (
    Radiometry,
    band_radiance,
    inverse_band_radiance,
    object_temperature,
)


def _forward(t, eps, t_refl, tau=1.0, t_atm=None):
    """L_app = τ(εL(T) + (1−ε)L(T_refl)) + (1−τ)L(T_atm), T_app = L⁻¹(L_app), exact L."""
    t_atm = t_refl if t_atm is None else t_atm
    radiance = tau * (eps * band_radiance(t) + (1 - eps) * band_radiance(t_refl)) + \
        (1 - tau) * band_radiance(t_atm)
    return inverse_band_radiance(radiance)


@pytest.mark.parametrize("eps", [0.5, 0.8, 0.95, 1.0])
@pytest.mark.parametrize("tau", [1.0, 0.9])
def test_round_trip_within_2_mk(eps, tau):
    t = np.linspace(255.0, 430.0, 3000).reshape(3, -1)
    t_app = _forward(t, eps, 293.15, tau, 288.0)
    back, _ = object_temperature(t_app, Radiometry(eps, t_refl=293.15, tau=tau, t_atm=288.0))
    assert np.abs(back - t).max() < 2e-3


def test_emissivity_map_round_trip():
    rng = np.random.default_rng(0)
    t = 300 + 30 * rng.random((16, 20))
    eps = 0.3 + 0.7 * rng.random((16, 20))
    t_app = _forward(t, eps, 295.0)
    back, _ = object_temperature(torch.from_numpy(t_app)[None, None],
                                 Radiometry(eps, t_refl=295.0))
    assert back.shape == (1, 1, 16, 20)
    assert float((back[0, 0] - torch.from_numpy(t)).abs().max()) < 2e-3


def test_unit_emissivity_is_bit_for_bit():
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64) + 300
    v = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    t, var = object_temperature(x, Radiometry(1.0, t_refl=280.0), v)
    assert t is x and var is v


@pytest.mark.parametrize("eps, t_obj", [(0.5, 320.0), (0.95, 300.0), (0.8, 380.0)])
def test_variance_through_the_conversion_matches_monte_carlo(eps, t_obj):
    radiometry = Radiometry(eps, t_refl=293.15, tau=0.95, t_atm=290.0)
    mean_app = _forward(np.array([t_obj]), eps, 293.15, 0.95, 290.0)
    sigma = 0.08
    rng = np.random.default_rng(1)
    samples = mean_app + sigma * rng.standard_normal(400_000)
    converted, _ = object_temperature(samples.reshape(1, -1), radiometry)
    _, var = object_temperature(mean_app.reshape(1, 1), radiometry, np.full((1, 1), sigma**2))
    mc = converted.var()
    assert abs(float(var[0, 0]) / mc - 1) < 0.05
    assert float(var[0, 0]) > sigma**2  # ε τ < 1 amplifies the noise


@pytest.mark.parametrize("kwargs, argument, value", [
    ({"emissivity": 0.0, "t_refl": 293.0}, "emissivity", "0.0"),
    ({"emissivity": 1.2, "t_refl": 293.0}, "emissivity", "1.2"),
    ({"emissivity": np.array([[0.9, -0.1]]), "t_refl": 293.0}, "emissivity", "-0.1"),
    ({"emissivity": 0.9, "t_refl": -5.0}, "t_refl", "-5.0"),
    ({"emissivity": 0.9}, "t_refl", "None"),
    ({"emissivity": 1.0, "tau": 1.5}, "tau", "1.5"),
])
def test_bad_radiometry_is_refused(kwargs, argument, value):
    with pytest.raises(InputError, match=argument) as err:
        Radiometry(**kwargs)
    assert value in str(err.value)


def test_emissivity_map_of_the_wrong_shape_is_refused():
    with pytest.raises(InputError, match=r"emissivity.*\(4, 5\).*\(8, 8\)"):
        object_temperature(np.full((8, 8), 300.0), Radiometry(np.full((4, 5), 0.9), 293.0))


def _restore(tmp_path, f0, name, *extra):
    from physinv.cli import main

    out = tmp_path / name
    argv = ["ir", "restore", str(f0 / "raw.tif"), "--camera", str(f0 / "camera.json"),
            "--flat-lo", str(f0 / "flat_lo.npy"), "--flat-hi", str(f0 / "flat_hi.npy"),
            "--t-lo", "293.15", "--t-hi", "323.15", "--method", "tikhonov", "--out", str(out),
            *extra]
    return main(argv), out


def test_cli_object_temperature_on_a_new_scene(tmp_path):
    import json

    from physinv.cli import main
    from physinv.data import read_image

    f0 = tmp_path / "f0"
    assert main(["ir", "simulate", "--task", "ir_sr_x4", "--seed", "4242", "--netd", "0.08",
                 "--out", str(f0)]) == 0
    code, plain = _restore(tmp_path, f0, "plain")
    assert code == 0
    code, unit = _restore(tmp_path, f0, "unit", "--emissivity", "1", "--t-refl", "293.15")
    assert code == 0
    assert (plain / "temperature.tif").read_bytes() == (unit / "temperature.tif").read_bytes()
    code, obj = _restore(tmp_path, f0, "obj", "--emissivity", str(f0 / "emissivity.npy"),
                         "--t-refl", "293.15")
    assert code == 0
    summary = json.loads((obj / "summary.json").read_text())
    assert summary["temperature"] == "object"
    assert json.loads((plain / "summary.json").read_text())["temperature"] == "apparent"
    rmse = lambda a, b: float(((a - b) ** 2).mean().sqrt())  # noqa: E731
    truth_t = torch.from_numpy(np.load(f0 / "truth_temperature.npy"))
    truth_a = torch.from_numpy(np.load(f0 / "truth_apparent.npy"))
    apparent = read_image(obj / "apparent.tif")[0]
    temperature = read_image(obj / "temperature.tif")[0]
    assert torch.equal(apparent, read_image(plain / "temperature.tif")[0])
    err_app, err_obj = rmse(apparent, truth_a), rmse(temperature, truth_t)
    assert err_obj < 1.1 * err_app, (err_obj, err_app)
    assert rmse(apparent, truth_t) > 1.5 * err_obj  # without the conversion: far worse


def test_cli_refuses_bad_radiometry_and_writes_nothing(tmp_path, capsys):
    from physinv.cli import main

    f0 = tmp_path / "f0"
    assert main(["ir", "simulate", "--task", "ir_sr_x4", "--seed", "3", "--size", "32",
                 "--out", str(f0)]) == 0
    np.save(tmp_path / "small.npy", np.full((4, 4), 0.9))
    cases = [(("--emissivity", "1.3", "--t-refl", "293"), "--emissivity: got 1.3"),
             (("--emissivity", "0", "--t-refl", "293"), "--emissivity: got 0.0"),
             (("--emissivity", "0.9", "--t-refl", "-3"), "--t-refl: got -3.0"),
             (("--emissivity", "0.9"), "--t-refl"),
             (("--emissivity", str(tmp_path / "small.npy"), "--t-refl", "293"),
              "a map of shape (4, 4)', expected a map of the restored frame's shape (32, 32)"),
             (("--emissivity", str(tmp_path / "nope.npy"), "--t-refl", "293"), "--emissivity"),
             (("--tau", "1.5", "--t-refl", "293"), "--tau: got 1.5")]
    for i, extra in enumerate(cases):
        code, out = _restore(tmp_path, f0, f"o{i}", *extra[0])
        err = capsys.readouterr().err
        assert code == 2 and extra[1] in err and "Traceback" not in err, (extra, err)
        assert not out.exists()
