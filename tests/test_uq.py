"""physinv.uq: the bootstrap variance is the estimator's error variance; conformal scales cover."""

import json
import math

import pytest
import torch

from physinv.errors import InputError
from physinv.operators import Convolution, Dense, psf
from physinv.solvers import tikhonov
from physinv.uq import (
    Candidate,
    Group,
    equivariant_bootstrap,
    fit,
    group_for,
    load,
    normal_quantile,
)

SIGMA = 0.05
LAM = 0.05


def _dense_problem():
    g = torch.Generator().manual_seed(3)
    a = torch.eye(9, dtype=torch.float64) + 0.4 * torch.randn(9, 9, generator=g,
                                                              dtype=torch.float64)
    op = Dense(a, (3, 3), out_shape=(3, 3))
    x = torch.rand(1, 1, 3, 3, generator=g, dtype=torch.float64)
    return op, x, a


def _tikhonov_matrix(op):
    """M with x̂ = M vec(y) for Tikhonov at λ = LAM (columns: responses to unit measurements)."""
    cols = []
    for k in range(9):
        e = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
        e.view(-1)[k] = 1.0
        cols.append(tikhonov(e, op, lam=LAM).x.reshape(-1))
    return torch.stack(cols, dim=1)


def test_bootstrap_variance_of_tikhonov_matches_its_exact_error_covariance_on_a_dense_problem():
    op, x, a = _dense_problem()
    assert group_for(op).name == "parametric"
    m = _tikhonov_matrix(op)
    exact = SIGMA ** 2 * torch.diagonal(m @ m.T)          # diag Cov(x̂ − x) = σ² diag(M Mᵀ)
    y = op(x) + SIGMA * torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(1),
                                    dtype=torch.float64)

    def f(g, o):
        return tikhonov(g, o, lam=LAM).x

    x_hat = f(y, op)
    spread = equivariant_bootstrap(f, y, op, f"gaussian:sigma={SIGMA}", n_samples=4000, seed=0,
                                   estimator="spread")
    gap = ((spread.variance.reshape(-1) - exact).abs() / exact).max()
    assert gap < 0.10, f"relative gap {gap:.3f}"
    # the paper's estimator around x̂ adds the bias of the bootstrap world, ((MA − I) x̂)²
    bias = (m @ a - torch.eye(9, dtype=torch.float64)) @ x_hat.reshape(-1)
    mse = equivariant_bootstrap(f, y, op, f"gaussian:sigma={SIGMA}", x_hat=x_hat,
                                n_samples=4000, seed=1)
    gap = ((mse.variance.reshape(-1) - (exact + bias ** 2)).abs() / (exact + bias ** 2)).max()
    assert gap < 0.10, f"relative gap {gap:.3f}"


def test_group_follows_the_operator_and_its_psf_symmetry():
    assert group_for(Convolution(psf.gaussian(2.0, 9), (16, 16))).name == "shifts+d4"
    assert group_for(Convolution(psf.gaussian(2.0, 9), (16, 12))).name == "shifts+flips"
    assert group_for(Convolution(psf.motion(9, 30), (16, 16))).name == "shifts"
    assert group_for(Convolution(psf.gaussian(2.0, 9), (16, 16),
                                 boundary="reflect")).name == "parametric"


def test_transforms_commute_with_a_symmetric_blur_and_invert_exactly():
    op = Convolution(psf.gaussian(1.5, 7), (16, 16))
    group = group_for(op)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, generator=g)
    for _ in range(8):
        t = group.draw((16, 16), g)
        assert torch.allclose(op(Group.apply(x, t)), Group.apply(op(x), t), atol=1e-12)
        assert torch.equal(Group.invert(Group.apply(x, t), t), x)


def test_bootstrap_refuses_one_sample_and_names_a_failed_sample():
    op, x, _ = _dense_problem()
    with pytest.raises(InputError, match="n_samples"):
        equivariant_bootstrap(lambda g, o: g, op(x), op, "gaussian:sigma=0.1", n_samples=1)
    calls = []

    def failing(g, o):
        calls.append(1)
        return g * (float("nan") if len(calls) == 3 else 1.0)

    with pytest.raises(InputError, match="sample 1 of 4"):
        equivariant_bootstrap(failing, op(x), op, "gaussian:sigma=0.1", n_samples=4)


def _synthetic(n_images, n_draws, size, seed):
    """Heteroscedastic errors e = σ_j z with a variance map 4× too small (intervals 2× narrow)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_images, 1, 1, 1, size, size, generator=g, dtype=torch.float64)
    sigma = 0.01 + 0.05 * x.expand(n_images, n_draws, 1, 1, size, size)
    err = sigma * torch.randn(sigma.shape, generator=g, dtype=torch.float64)
    return x, x + err, sigma ** 2 / 4


def _covered(x, x_hat, variance, level):
    return ((x_hat - x).abs() <= normal_quantile(level) * variance.sqrt()).double().mean()


def test_conformal_scale_covers_at_least_the_nominal_level_for_a_miscalibrated_input():
    levels = (0.5, 0.8, 0.9, 0.95, 0.99)
    # one large calibration: the scale is 2 (the variance was 4× too small)
    x, x_hat, v = _synthetic(4, 4, 32, seed=0)
    cal = fit(x, x_hat, v, method="synthetic", operator="identity", noise="synthetic",
              calibration_set="4 synthetic images × 4 draws", levels=levels)
    assert all(abs(s - 2.0) < 0.1 for s in cal.scales.values()), cal.scales
    # the finite-sample guarantee, over many small calibrations (n = 2 images × 3 draws × 5×5)
    trials, n = 2000, 150
    coverage = {level: [] for level in levels}
    for t in range(trials):
        x, x_hat, v = _synthetic(2, 3, 5, seed=100 + t)
        cal = fit(x, x_hat, v, method="synthetic", operator="identity", noise="synthetic",
                  calibration_set="trial", levels=levels)
        xt, xt_hat, vt = _synthetic(1, 1, 10, seed=10_000 + t)
        for level in levels:
            coverage[level].append(float(_covered(xt, xt_hat, cal.apply(vt, level), level)))
    for level in levels:
        c = torch.tensor(coverage[level], dtype=torch.float64)
        se = float(c.std()) / math.sqrt(trials)
        assert float(c.mean()) >= level - 3 * se, (level, float(c.mean()), se)
        if math.ceil((n + 1) * level) <= n:  # conformal's upper bound for continuous scores
            assert float(c.mean()) <= level + 1 / (n + 1) + 3 * se, (level, float(c.mean()))
        uncalibrated = float(_covered(xt, xt_hat, vt, level))
        assert uncalibrated < level - 0.1


def test_calibration_refuses_one_image_and_another_problem(tmp_path):
    x, x_hat, v = _synthetic(1, 4, 8, seed=0)
    with pytest.raises(InputError, match="at least 2 calibration images"):
        fit(x, x_hat, v, method="tikhonov", operator="identity", noise="gaussian:sigma=0.01",
            calibration_set="one image")
    x, x_hat, v = _synthetic(2, 2, 8, seed=0)
    cal = fit(x, x_hat, v, method="tikhonov", operator="blur:gaussian:sigma=2",
              noise="gaussian:sigma=0.01", calibration_set="2 images")
    path = cal.save(tmp_path / "cal.json")
    back = load(path)
    assert back == cal and json.loads(path.read_text())["n_pixels"] == 2 * 2 * 64
    back.check(method="tikhonov", operator="blur:gaussian:sigma=2", noise="gaussian:sigma=0.01")
    with pytest.raises(InputError, match=r"operator 'blur:gaussian:sigma=3'.*noise"):
        back.check(operator="blur:gaussian:sigma=3", noise="gaussian:sigma=0.02")
    with pytest.raises(InputError, match="calibrated levels"):
        back.apply(v, level=0.97)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="format"):
        load(tmp_path / "bad.json")
    with pytest.raises(InputError, match="level"):
        normal_quantile(1.0)


def _calibration_file(tmp_path, operator="blur:gaussian:sigma=1", method="tikhonov"):
    x, x_hat, v = _synthetic(2, 2, 8, seed=0)
    cal = fit(x, x_hat, v, method=method, operator=operator, noise="gaussian:sigma=0.01",
              calibration_set="2 synthetic images", variance_source="bootstrap")
    return cal, cal.save(tmp_path / "cal.json")


def test_cli_writes_the_calibrated_bootstrap_variance_and_says_so(tmp_path, capsys):
    import numpy as np

    from physinv.cli import main

    y = tmp_path / "y.npy"
    np.save(y, np.random.default_rng(0).random((32, 32)))
    cal, path = _calibration_file(tmp_path)
    base = ["reconstruct", str(y), "--op", "blur:gaussian:sigma=1", "--method", "tikhonov",
            "--lam", "0.01", "-o", str(tmp_path / "x.npy"), "--samples", "4"]
    assert main(base + ["--variance", str(tmp_path / "raw.npy"), "--noise",
                        "gaussian:sigma=0.01"]) == 0
    assert "UNCALIBRATED" in capsys.readouterr().out
    assert main(base + ["--variance", str(tmp_path / "cal.npy"), "--calibration",
                        str(path), "--level", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "calibrated at 0.9" in out and "shifts+d4, K=4" in out
    raw, calibrated = np.load(tmp_path / "raw.npy"), np.load(tmp_path / "cal.npy")
    assert raw.min() > 0
    np.testing.assert_allclose(calibrated, raw * cal.scale_at(0.9) ** 2, rtol=1e-12)


@pytest.mark.parametrize("args, names", [
    (["--op", "blur:gaussian:sigma=2"], ["--calibration", "operator 'blur:gaussian:sigma=2'"]),
    (["--op", "blur:gaussian:sigma=1", "--noise", "gaussian:sigma=0.02"],
     ["--calibration", "noise 'gaussian:sigma=0.02'"]),
    (["--op", "blur:gaussian:sigma=1", "--method", "landweber"], ["method 'landweber'"]),
    (["--op", "blur:gaussian:sigma=1", "--level", "0.97"], ["--level", "0.95"]),
])
def test_cli_refuses_a_calibration_made_for_another_problem(tmp_path, capsys, args, names):
    import numpy as np

    from physinv.cli import main

    y = tmp_path / "y.npy"
    np.save(y, np.random.default_rng(0).random((32, 32)))
    _, path = _calibration_file(tmp_path)
    argv = ["reconstruct", str(y), "-o", str(tmp_path / "x.npy"), "--variance",
            str(tmp_path / "v.npy"), "--calibration", str(path), "--samples", "2"] + args
    if "--method" not in args:
        argv += ["--method", "tikhonov", "--lam", "0.01"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert all(n in err for n in names) and "Traceback" not in err, err
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "v.npy").exists()


def test_cli_gives_a_trained_network_a_bootstrap_variance(tmp_path, capsys):
    import numpy as np

    from physinv.cli import main

    run = tmp_path / "run"
    assert main(["train", "--task", "deblur_gauss", "--net", "fourier-radial", "--n-train", "2",
                 "--preset", "quick", "--epochs", "1", "--out", str(run),
                 "--no-calibrate"]) == 0
    assert not (run / "calibration.json").exists()
    y = tmp_path / "y.npy"
    np.save(y, np.random.default_rng(0).random((32, 32)))
    assert main(["reconstruct", str(y), "--net", str(run), "-o", str(tmp_path / "x.npy"),
                 "--variance", str(tmp_path / "v.npy"), "--samples", "3", "--noise",
                 "gaussian:sigma=0.01"]) == 0
    out = capsys.readouterr()
    assert "bootstrap (shifts+d4, K=3" in out.out and "UNCALIBRATED" in out.out
    assert "note:" not in out.err
    v = np.load(tmp_path / "v.npy")
    assert v.shape == (32, 32) and np.isfinite(v).all() and v.min() > 0
    # recalibrated on held-out crops 2-3 (it was trained on 0-1): reconstruct applies it
    assert main(["calibrate", str(run), "--task", "deblur_gauss", "--images", "2", "--draws",
                 "1", "--samples", "3"]) == 0
    assert "crops 2-3" in capsys.readouterr().out
    cal = load(run / "calibration.json")
    assert cal.method == "FourierNet" and cal.samples == 3 and cal.n_images == 2
    assert main(["reconstruct", str(y), "--net", str(run), "-o", str(tmp_path / "x.npy"),
                 "--variance", str(tmp_path / "w.npy")]) == 0
    out = capsys.readouterr().out
    assert "the run's calibration, applied automatically" in out
    # the map is the chosen form's: the bootstrap with its estimator and the calibration's K,
    # and σ² = a·v + b·β² exactly when the form has a bias proxy
    form = Candidate.of(cal)
    assert form.name == cal.selection["chosen"]
    assert f"K={cal.samples}, {form.estimator})" in out
    assert ("σ² = " in out) == (cal.weights is not None) == (form.bias is not None)
    w = np.load(tmp_path / "w.npy")
    assert w.shape == v.shape and np.isfinite(w).all() and w.min() > 0


def test_train_calibrates_on_held_out_crops_by_default(tmp_path, capsys):
    from physinv.cli import main

    run = tmp_path / "run"
    assert main(["train", "--task", "denoise", "--net", "fourier-radial", "--n-train", "2",
                 "--preset", "quick", "--epochs", "1", "--out", str(run)]) == 0
    assert "calibrated FourierNet" in capsys.readouterr().out
    cal = load(run / "calibration.json")
    assert cal.operator == "identity" and cal.noise == "gaussian:sigma=0.1"
    assert "crops 2-9" in cal.calibration_set and cal.n_draws == 2 and cal.samples == 16
    # its form was chosen on the 4 crops after the calibration ones, and the file says which
    assert "crops 10-13" in cal.selection["validation_set"]
    assert cal.selection["chosen"] in cal.selection["candidates"]
    assert all(s > 0 for s in cal.scales.values())


def test_cli_interval_is_x_minus_and_plus_z_sigma_of_the_calibrated_variance(tmp_path,
                                                                             capsys):
    import numpy as np

    from physinv.cli import main

    y = tmp_path / "y.npy"
    np.save(y, np.random.default_rng(0).random((32, 32)))
    cal, path = _calibration_file(tmp_path)
    lo, hi = tmp_path / "lo.npy", tmp_path / "hi.tif"
    assert main(["reconstruct", str(y), "--op", "blur:gaussian:sigma=1", "--method",
                 "tikhonov", "--lam", "0.01", "-o", str(tmp_path / "x.npy"), "--samples", "4",
                 "--variance", str(tmp_path / "v.npy"), "--calibration", str(path),
                 "--level", "0.8", "--interval", f"{lo},{hi}"]) == 0
    from physinv.io import read_image

    x, v = np.load(tmp_path / "x.npy"), np.load(tmp_path / "v.npy")
    z = normal_quantile(0.8)
    np.testing.assert_allclose(np.load(lo), x - z * np.sqrt(v), rtol=1e-10)
    np.testing.assert_allclose(read_image(hi).numpy()[0], x + z * np.sqrt(v), rtol=1e-5)


@pytest.mark.parametrize("args, names", [
    (["tikhonov", "--task", "deblur_gauss", "--images", "1", "-o", "{d}/c.json"],
     ["--images", "1"]),
    (["tikhonov", "--task", "deblur_gauss"], ["-o/--output", ".json"]),
    (["nonsense", "--task", "deblur_gauss", "-o", "{d}/c.json"], ["target", "tikhonov"]),
    (["tikhonov", "--task", "deblur", "-o", "{d}/c.json"], ["--task", "deblur_gauss"]),
    (["tikhonov", "--task", "sr_x2", "--samples", "1", "-o", "{d}/c.json"], ["--samples"]),
    (["tikhonov", "--task", "sr_x2", "-o", "{d}/c.txt"], ["-o/--output", ".json"]),
    (["tikhonov", "--task", "sr_x2", "--validation", "0", "-o", "{d}/c.json"],
     ["--validation", "0"]),
])
def test_calibrate_refusals_exit_2_and_write_nothing(tmp_path, capsys, args, names):
    from physinv.cli import main

    argv = ["calibrate"] + [a.replace("{d}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert all(n in err for n in names) and "Traceback" not in err, err
    assert not list(tmp_path.iterdir())


def test_reconstruct_refuses_an_interval_without_variance_and_bad_bounds(tmp_path, capsys):
    import numpy as np

    from physinv.cli import main

    y = tmp_path / "y.npy"
    np.save(y, np.zeros((16, 16)))
    base = ["reconstruct", str(y), "--op", "identity", "-o", str(tmp_path / "x.npy")]
    assert main(base + ["--interval", "a.npy,b.npy"]) == 2
    assert "--variance" in capsys.readouterr().err
    assert main(base + ["--variance", str(tmp_path / "v.npy"), "--interval", "a.png,b.npy"]) == 2
    assert "LO,HI" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_super_resolution_posterior_variance_is_the_exact_diagonal_on_the_polyphase_blocks():
    from physinv.operators import Gradient, SuperResolution
    from physinv.solvers import gaussian_posterior

    op = SuperResolution(psf.gaussian(1.0, 7), (8, 12), 2)
    eye = torch.eye(96, dtype=torch.float64).reshape(96, 1, 1, 8, 12)
    a = torch.stack([op(e).reshape(-1) for e in eye], 1)
    d = torch.stack([Gradient((8, 12))(e).reshape(-1) for e in eye], 1)
    y = torch.rand(1, 1, 4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = gaussian_posterior(y, op, noise_var=1e-4, prior_var=2e-3)
    lam = 1e-4 / 2e-3
    inverse = torch.linalg.inv(a.T @ a + lam * d.T @ d)
    assert r.params["variance"] == "exact" and r.params["path"] == "polyphase"
    torch.testing.assert_close(r.variance.reshape(-1), 1e-4 * inverse.diagonal(), rtol=1e-9,
                               atol=0)
    torch.testing.assert_close(r.x.reshape(-1), inverse @ a.T @ y.reshape(-1), rtol=1e-9,
                               atol=1e-12)
    assert float(r.variance.std()) > 0  # cyclostationary, not flat


def test_ct_group_rotates_by_the_angular_step_and_the_projections_follow():
    from physinv.operators import Radon
    from physinv.uq.bootstrap import rotate

    op = Radon((64, 64), torch.arange(0, 180, 3.0))
    group = group_for(op)
    assert group.name == "rotations" and group.rotation_step == 3.0
    assert group_for(Radon((64, 64), torch.tensor([0.0, 10.0, 50.0]))).name == "parametric"
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    x = (torch.exp(-((yy - 25) ** 2 + (xx - 38) ** 2) / 40.0)
         + 0.5 * torch.exp(-((yy - 40) ** 2 + (xx - 28) ** 2) / 20.0))[None, None].double()
    sino = op(x)
    shifted = torch.roll(sino, 1, dims=-1)
    shifted[..., :1] = shifted[..., :1].flip(-2)  # the projection past 180°: the first, flipped
    gap = float((op(rotate(x, 3.0)) - shifted).norm() / sino.norm())
    assert gap < 0.03, gap
    # exact quarter turns on an odd square grid; the group's draws invert their transforms
    odd = torch.rand(1, 1, 9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rotate(rotate(odd, 90.0), -90.0), odd)
    g = torch.Generator().manual_seed(1)
    draws = [group.draw((64, 64), g) for _ in range(20)]
    assert all(d[5] % 3.0 == 0 and 0 <= d[5] < 360 for d in draws)
    assert len({d[5] for d in draws}) > 5
