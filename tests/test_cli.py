"""End-to-end runs of the ``physinv`` command: success paths and clean failures (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from physinv import __version__
from physinv.cli import main
from physinv.data import images
from physinv.io import read_image
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, psf


def test_version_and_info(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "radon" in out and "camera" in out and "poisson" in out


def test_simulate_matches_library(tmp_path):
    out = tmp_path / "y.npy"
    truth = tmp_path / "x.npy"
    code = main(["simulate", "camera", "--op", "blur:gaussian:sigma=2,size=25", "--noise",
                 "gaussian:sigma=0.01", "--seed", "3", "-o", str(out), "--truth", str(truth)])
    assert code == 0
    assert (tmp_path / "y.png").exists()
    y = read_image(out)[None]
    x = read_image(truth)[None]
    expected = simulate(x, Convolution(psf.gaussian(2, 25), x.shape[-2:]), Gaussian(0.01), 3)
    assert torch.allclose(y, expected)


def test_simulate_radon_and_colour(tmp_path):
    assert main(["simulate", "shepp_logan_phantom", "--op", "radon:angles=30", "--noise",
                 "none", "-o", str(tmp_path / "s.tif")]) == 0
    assert read_image(tmp_path / "s.tif").shape == (1, 400, 30)
    assert main(["simulate", "astronaut", "--color", "--op", "sr:gaussian:sigma=1,factor=2",
                 "-o", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (256, 256, 3)


@pytest.mark.parametrize("args, message", [
    (["simulate", "camera", "--op", "blur:gaussian:sigma=-2", "-o", "{tmp}/y.npy"],
     "sigma: got -2"),
    (["simulate", "nothere", "-o", "{tmp}/y.npy"], "bundled image name"),
    (["simulate", "{tmp}/missing.png", "-o", "{tmp}/y.npy"], "no such file"),
    (["simulate", "camera", "--op", "blur:gaussian:sigma=2,size=999", "-o", "{tmp}/y.npy"],
     "no larger than the image"),
    (["simulate", "camera", "--op", "radon:angles=0", "-o", "{tmp}/y.npy"], "angles"),
    (["simulate", "camera", "--noise", "gaussian:sigma=-1", "-o", "{tmp}/y.npy"], "sigma"),
    (["simulate", "camera", "-o", "{tmp}/nofolder/y.npy"], "existing folder"),
    (["simulate", "camera", "-o", "{tmp}/y.bmp"], "ending in"),
])
def test_bad_input_exit_2(tmp_path, capsys, args, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err.replace("\n", " ")
    assert "Traceback" not in err


def test_usage_error_exit_2(capsys):
    assert main(["simulate", "camera", "--no-such-option"]) == 2


def test_console_script_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "physinv.cli", "simulate", "camera", "--op",
                           "blur:gaussian:sigma=-1", "-o", str(tmp_path / "y.npy")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "error: sigma: got -1" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("method, extra", [
    ("tikhonov", []), ("tikhonov", ["--lam", "evidence"]), ("wiener", []),
    ("cg", ["--lam", "0.01", "--n-iter", "50"]),
    ("landweber", ["--n-iter", "20"]), ("fista", ["--lam", "0.001", "--basis", "wavelet"]),
    ("tv", ["--lam", "0.002"]), ("rl", ["--n-iter", "10"]), ("bayes-gauss", []),
    ("bayes-studentt", ["--n-iter", "5"]), ("potts", ["--classes", "2"]),
])
def test_reconstruct_methods(tmp_path, capsys, method, extra):
    y = tmp_path / "y.npy"
    assert main(["simulate", "camera", "--op", "blur:gaussian:sigma=2", "-o", str(y),
                 "--truth", str(tmp_path / "x.npy")]) == 0
    out = tmp_path / "x.tif"
    assert main(["reconstruct", str(y), "--op", "blur:gaussian:sigma=2", "--method", method,
                 *extra, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert method in text and "relative residual" in text
    est = read_image(out)
    truth = read_image(tmp_path / "x.npy")
    blurred = read_image(y)
    if method != "potts":  # a K-class piecewise-constant prior is not for a photograph
        assert float(((est - truth) ** 2).mean()) < float(((blurred - truth) ** 2).mean())


def test_reconstruct_outputs_variance_labels_and_shapes(tmp_path):
    y = tmp_path / "y.npy"
    small = tmp_path / "small.npy"
    np.save(small, images.load_array("camera")[:128, :128])
    main(["simulate", str(small), "--op", "sr:gaussian:sigma=1,factor=2", "-o", str(y)])
    assert main(["reconstruct", str(y), "--op", "sr:gaussian:sigma=1,factor=2", "--method",
                 "bayes-gauss", "-o", str(tmp_path / "x.npy"), "--variance",
                 str(tmp_path / "v.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (128, 128)
    assert float(np.load(tmp_path / "v.npy").min()) > 0
    s = tmp_path / "s.npy"
    main(["simulate", "shepp_logan_phantom", "--op", "radon:angles=45", "--noise",
          "gaussian:sigma=0.5", "-o", str(s)])
    assert main(["reconstruct", str(s), "--op", "radon:angles=45", "--method", "fbp", "-o",
                 str(tmp_path / "f.npy")]) == 0
    assert np.load(tmp_path / "f.npy").shape == (400, 400)
    assert main(["reconstruct", str(y), "--op", "sr:gaussian:sigma=1,factor=2", "--method",
                 "potts", "-o", str(tmp_path / "p.npy"), "--labels",
                 str(tmp_path / "z.png")]) == 0
    assert (tmp_path / "z.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--method", "nope"], "one of ['bayes-gauss'"),
    (["--method", "tikhonov", "--lam", "-1"], "lam: got -1.0"),
    (["--method", "tikhonov", "--lam", "magic"], "gcv"),
    (["--method", "tv"], "TV weight"),
    (["--method", "tikhonov", "--basis", "wavelet"], "no such option for tikhonov"),
    (["--method", "tikhonov", "--variance", "{tmp}/v.npy", "--samples", "1"], "--samples"),
    (["--method", "tikhonov", "--variance", "{tmp}/v.npy", "--level", "1.5"], "--level"),
    (["--method", "landweber", "--tol", "0"], "tol"),
    (["--op", "blur:gaussian:sigma=2", "--method", "fbp"], "Radon"),
])
def test_reconstruct_bad_input(tmp_path, capsys, args, message):
    y = tmp_path / "y.npy"
    np.save(y, np.random.default_rng(0).random((32, 32)))
    base = ["reconstruct", str(y), "-o", str(tmp_path / "x.npy")]
    if "--op" not in args:
        base += ["--op", "blur:gaussian:sigma=1"]
    argv = base + [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()


def test_reconstruct_refuses_mismatched_measurement(tmp_path, capsys):
    y = tmp_path / "y.npy"
    np.save(y, np.zeros((30, 30)))
    assert main(["reconstruct", str(y), "--op", "radon:angles=10", "-o",
                 str(tmp_path / "x.npy")]) == 2
    assert "shape (30, 10)" in capsys.readouterr().err
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((16, 16), np.nan))
    assert main(["reconstruct", str(nan), "--op", "identity", "-o",
                 str(tmp_path / "x.npy")]) == 2


def test_reconstruct_from_png_measurement_keeps_the_image_scale(tmp_path):
    y = tmp_path / "y.png"
    assert main(["simulate", "camera", "--op", "blur:gaussian:sigma=1", "-o", str(y)]) == 0
    assert main(["reconstruct", str(y), "--op", "blur:gaussian:sigma=1", "--lam", "0.01",
                 "-o", str(tmp_path / "x.npy")]) == 0
    est = np.load(tmp_path / "x.npy")
    assert -0.5 < float(est.min()) and float(est.max()) < 1.5  # [0, 1] data, not 0–255 counts
