"""Parametric blind deconvolution: the evidence's maximiser recovers the PSF's parameters on
data drawn from its own model, its uncertainty shrinks with the noise, and bad input is refused."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, psf
from physinv.solvers.blind import estimate_psf, periodic_component


def _model_image(n: int, p: float = 1.0, seed: int = 0) -> torch.Tensor:
    """A random image with the prior's power spectrum ∝ |d̂|^(−2p) (zero mean)."""
    gen = torch.Generator().manual_seed(seed)
    white = torch.randn(1, 1, n, n, generator=gen, dtype=torch.float64)
    w = 2 * math.pi * torch.fft.fftfreq(n, dtype=torch.float64)
    d2 = 4 * torch.sin(w / 2)[:, None] ** 2 + 4 * torch.sin(w / 2)[None, :] ** 2
    d2[0, 0] = 1.0
    x = torch.fft.ifft2(torch.fft.fft2(white) * d2 ** (-p / 2)).real
    return 0.1 * x / x.std()


def _measure(x, kernel, sigma, seed=1):
    y = Convolution(kernel, tuple(x.shape[-2:]))(x)
    gen = torch.Generator().manual_seed(seed)
    return y + sigma * torch.randn(y.shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_gaussian_sigma_recovered_within_5_percent_on_model_data(sigma):
    x = _model_image(64)
    est = estimate_psf(_measure(x, psf.gaussian(sigma, 25), 1e-3), "gaussian", exponent=1.0)
    assert abs(est.params["sigma"] / sigma - 1) < 0.05
    assert est.psf.sum().item() == pytest.approx(1.0)
    assert est.noise_var == pytest.approx(1e-6, rel=0.2)


def test_uncertainty_shrinks_with_less_noise():
    x = _model_image(64, seed=3)
    noisy = estimate_psf(_measure(x, psf.gaussian(2.0, 25), 1e-2), "gaussian", exponent=1.0)
    clean = estimate_psf(_measure(x, psf.gaussian(2.0, 25), 1e-4), "gaussian", exponent=1.0)
    assert clean.std["sigma"] < noisy.std["sigma"]
    assert abs(clean.params["sigma"] - 2.0) < 3 * clean.std["sigma"] + 0.02


def test_motion_length_and_angle_recovered_on_model_data():
    x = _model_image(64, seed=5)
    y = _measure(x, psf.motion(9.0, 30.0), 1e-3)
    est = estimate_psf(y, "motion", exponent=1.0, bounds={"length": (3.0, 15.0)})
    assert abs(est.params["length"] - 9.0) < 1.0
    assert abs((est.params["angle"] - 30.0 + 90) % 180 - 90) < 5.0


def test_disk_radius_recovered_on_model_data():
    x = _model_image(64, seed=7)
    est = estimate_psf(_measure(x, psf.disk(3.0), 1e-3), "disk", exponent=1.0)
    assert abs(est.params["radius"] / 3.0 - 1) < 0.05


def test_the_criterion_is_lowest_near_the_truth():
    x = _model_image(64, seed=2)
    est = estimate_psf(_measure(x, psf.gaussian(1.5, 25), 1e-3), "gaussian", exponent=1.0)
    grid, values = np.array(est.criterion["grid"]), np.array(est.criterion["value"])
    assert abs(grid[int(np.argmin(values))] / 1.5 - 1) < 0.1
    assert values[0] > values.min() and values[-1] > values.min()


def test_periodic_component_keeps_constants_and_removes_border_jumps():
    n = 32
    t = torch.arange(n, dtype=torch.float64)
    flat = torch.full((1, 1, n, n), 0.3, dtype=torch.float64)
    assert torch.allclose(periodic_component(flat), flat, atol=1e-12)
    ramp = t[None, None, None, :].expand(1, 1, n, n).clone()  # a jump of n − 1 at the border
    p = periodic_component(ramp)
    assert float((p[..., 0] - p[..., -1]).abs().max()) < float(
        (ramp[..., 0] - ramp[..., -1]).abs().max()) / 4


def test_an_estimate_at_the_end_of_the_range_warns_naming_it():
    x = _model_image(64)
    y = _measure(x, psf.gaussian(3.0, 25), 1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = estimate_psf(y, "gaussian", exponent=1.0, bounds={"sigma": (0.5, 1.5)})
    assert est.notes and "end of the search range" in est.notes[0]
    assert any("search range" in str(w.message) for w in caught)


@pytest.mark.parametrize("y, kind, kw, argument", [
    (torch.ones(1, 1, 32, 32), "gaussian", {}, "y"),
    (torch.full((1, 1, 32, 32), float("nan")), "gaussian", {}, "y"),
    (torch.rand(32, 32), "gaussian", {}, "y"),
    (torch.rand(1, 1, 32, 32), "spline", {}, "kind"),
    (torch.rand(1, 1, 32, 32), "gaussian", {"bounds": {"radius": (1, 2)}}, "bounds"),
    (torch.rand(1, 1, 32, 32), "gaussian", {"bounds": {"sigma": (3, 1)}}, "bounds"),
    (torch.rand(1, 1, 32, 32), "gaussian", {"boundary": "wrap"}, "boundary"),
])
def test_bad_input_is_refused_naming_the_argument(y, kind, kw, argument):
    with pytest.raises(InputError) as err:
        estimate_psf(y, kind, **kw)
    assert err.value.argument == argument


def test_cli_estimates_an_auto_psf_parameter_and_prints_it(tmp_path, capsys):
    from physinv.cli import main

    x = _model_image(64, seed=11)
    y = _measure(x, psf.gaussian(2.0, 25), 1e-3)
    np.save(tmp_path / "y.npy", y[0, 0].numpy())
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", "blur:gaussian:sigma=auto",
                 "-o", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "PSF estimated from the measurement: gaussian sigma=" in out
    sigma = float(out.split("sigma=")[1].split()[0])
    assert abs(sigma - 2.0) < 0.25
    assert (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("spec", ["blur:gaussian:size=auto", "radon:angles=auto",
                                  "blur:psf.npy:sigma=auto"])
def test_cli_refuses_auto_where_nothing_can_be_estimated(tmp_path, capsys, spec):
    from physinv.cli import main

    np.save(tmp_path / "y.npy", np.random.default_rng(0).random((32, 32)))
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec,
                 "-o", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "error: --op" in err and "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()


def test_psf_estimate_command_writes_the_kernel_its_preview_and_json(tmp_path, capsys):
    import json

    from physinv.cli import main

    x = _model_image(64, seed=13)
    np.save(tmp_path / "y.npy", _measure(x, psf.motion(7.0, 45.0), 1e-3)[0, 0].numpy())
    out = tmp_path / "k.npy"
    assert main(["psf", "estimate", str(tmp_path / "y.npy"), "--kind", "motion", "-o",
                 str(out), "--json", str(tmp_path / "k.json")]) == 0
    kernel = np.load(out)
    assert kernel.ndim == 2 and abs(kernel.sum() - 1) < 1e-6
    record = json.loads((tmp_path / "k.json").read_text())
    assert abs(record["params"]["length"] - 7.0) < 1.0
    assert (tmp_path / "k.png").exists() and "motion length=" in capsys.readouterr().out


@pytest.mark.parametrize("args, argument", [
    (["--kind", "blob"], "--kind"), (["--kind", "free"], "--size"),
    (["--kind", "free", "--size", "8"], "--size"), (["--boundary", "wrap"], "--boundary"),
    (["-o", "{d}/k.png"], "-o/--output"), (["--json", "{d}/k.txt"], "--json"),
])
def test_psf_estimate_refuses_bad_arguments_before_any_work(tmp_path, capsys, args, argument):
    from physinv.cli import main

    np.save(tmp_path / "y.npy", np.random.default_rng(0).random((32, 32)))
    args = [a.format(d=tmp_path) for a in args]
    base = ["psf", "estimate", str(tmp_path / "y.npy")]
    if "-o" not in args:
        base += ["-o", str(tmp_path / "k.npy")]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert f"error: {argument}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.npy"]


@pytest.mark.parametrize("fwhm", [0.8, 2.0])
def test_camera_fwhm_recovered_through_the_x4_decimation_on_model_data(fwhm):
    from dataclasses import replace

    from physinv.operators import SuperResolution
    from physinv.solvers.blind import estimate_parameter
    from physinv.thermal import Camera

    camera = Camera(factor=4, fwhm=fwhm)
    x = torch.cat([_model_image(128, seed=s) for s in range(4)])
    y = SuperResolution(camera.system_psf(), (128, 128), 4)(x)
    y = y + 1e-4 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0),
                               dtype=torch.float64)
    est = estimate_parameter(y, lambda v: replace(camera, fwhm=v).system_psf(), "fwhm",
                             (0.3, 4.0), factor=4, exponent=1.0)
    assert abs(est.params["fwhm"] / fwhm - 1) < 0.1


def _textured(n: int, seed: int = 0) -> torch.Tensor:
    """A piecewise-constant image of 40 random rectangles (edges in every direction)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 1, n, n, dtype=torch.float64)
    for _ in range(40):
        r, c = torch.randint(0, n - 8, (2,), generator=gen).tolist()
        h, w = torch.randint(3, 12, (2,), generator=gen).tolist()
        x[..., r:r + h, c:c + w] = torch.rand(1, generator=gen, dtype=torch.float64)
    return x


def _embedded(kernel: torch.Tensor, size: int) -> torch.Tensor:
    out = torch.zeros(size, size, dtype=torch.float64)
    o = (size - kernel.shape[0]) // 2
    out[o: o + kernel.shape[0], o: o + kernel.shape[1]] = kernel
    return out


def test_free_form_kernel_from_noise_free_data_is_close_to_the_truth():
    from physinv.solvers.blind_kernel import Schedule, estimate_kernel

    torch.set_num_threads(1)
    truth = psf.motion(7.0, 30.0)
    x = _textured(64)
    y = Convolution(truth, (64, 64))(x)
    # no noise: the kernel step needs no γ‖k‖²
    est = estimate_kernel(y, 9, schedule=Schedule(kernel_reg=0.0))
    assert est.psf.shape == (9, 9) and float(est.psf.min()) >= 0
    assert float(est.psf.sum()) == pytest.approx(1.0)
    reference = _embedded(truth, 9)
    error = float((est.psf - reference).norm() / reference.norm())
    assert error < 0.3
    # the uniform 9 × 9 start, by contrast, is far from it
    assert float((torch.full((9, 9), 1 / 81) - reference).norm() / reference.norm()) > 0.8
    assert est.restored.shape == x.shape and est.kind == "free"


@pytest.mark.parametrize("size, y", [
    (33, torch.rand(1, 1, 64, 64)), (65, torch.rand(1, 1, 64, 64)),
    (8, torch.rand(1, 1, 64, 64)), ("auto", torch.rand(1, 1, 64, 64)),
    (9, torch.full((1, 1, 64, 64), 0.5)),
    (9, torch.full((1, 1, 64, 64), float("nan"))),
])
def test_free_form_refuses_a_support_it_cannot_estimate_and_flat_data(size, y):
    from physinv.solvers.blind_kernel import estimate_kernel

    with pytest.raises(InputError) as err:
        estimate_kernel(y, size)
    assert err.value.argument in ("size", "y")


def test_pyramid_goes_from_a_3x3_support_to_the_full_one():
    from physinv.solvers.blind_kernel import pyramid

    levels = pyramid((256, 256), (25, 25))
    assert levels[0][1] == (3, 3) and levels[-1] == ((256, 256), (25, 25))
    sizes = [k[0] for _, k in levels]
    assert sizes == sorted(sizes) and all(s % 2 == 1 for s in sizes)


def test_cli_reconstructs_with_a_free_form_kernel_and_psf_estimate_writes_it(tmp_path,
                                                                             capsys):
    from physinv.cli import main

    torch.set_num_threads(1)
    y = Convolution(psf.motion(5.0, 0.0), (48, 48))(_textured(48, seed=2))
    np.save(tmp_path / "y.npy", y[0, 0].numpy())
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", "blur:free:size=7",
                 "--method", "tv", "--lam", "1e-3", "-o", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "PSF estimated from the measurement: free size=7" in out
    assert np.load(tmp_path / "x.npy").shape == (48, 48)
    assert main(["psf", "estimate", str(tmp_path / "y.npy"), "--kind", "free", "--size", "7",
                 "-o", str(tmp_path / "k.npy")]) == 0
    kernel = np.load(tmp_path / "k.npy")
    assert kernel.shape == (7, 7) and abs(kernel.sum() - 1) < 1e-6
    assert (tmp_path / "k.png").exists()


@pytest.mark.parametrize("spec", ["blur:free:size=auto", "blur:free", "blur:free:size=7,x=1"])
def test_cli_refuses_a_free_kernel_without_a_support(tmp_path, capsys, spec):
    from physinv.cli import main

    np.save(tmp_path / "y.npy", np.random.default_rng(0).random((32, 32)))
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--op", spec,
                 "-o", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "error: --op" in err and "Traceback" not in err


def test_ir_restore_fwhm_auto_estimates_the_optics_and_restores(tmp_path, capsys):
    import json

    from physinv.cli import main
    from physinv.thermal import Camera
    from physinv.thermal.pipeline import simulate_to

    torch.set_num_threads(1)
    f0 = tmp_path / "f0"
    simulate_to(f0, "ir_sr_x4", seed=3, camera=Camera(factor=4, fwhm=2.0, netd=0.05))
    args = ["ir", "restore", str(f0 / "raw.tif"), "--camera", str(f0 / "camera.json"),
            "--flat-lo", str(f0 / "flat_lo.npy"), "--flat-hi", str(f0 / "flat_hi.npy"),
            "--t-lo", "293.15", "--t-hi", "323.15", "--method", "tikhonov"]
    assert main(args + ["--fwhm", "auto", "--out", str(tmp_path / "auto")]) == 0
    out = capsys.readouterr().out
    assert "optics FWHM estimated from the frame:" in out
    estimate = float(out.split("from the frame:")[1].split()[0])
    assert abs(estimate / 2.0 - 1) < 0.1
    assert (tmp_path / "auto" / "temperature.tif").exists()
    summary = json.loads((tmp_path / "auto" / "summary.json").read_text())
    assert summary["shape"] == [128, 128]
    assert main(args + ["--fwhm", "wide", "--out", str(tmp_path / "bad")]) == 2
    assert "error: --fwhm" in capsys.readouterr().err
