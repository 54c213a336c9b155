"""End-to-end runs of the ``physinv`` command: success paths and clean failures (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from physinv import __version__
from physinv.cli import main
from physinv.data.io import read_image
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


def test_demo(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    results = json.loads((tmp_path / "d" / "results.json").read_text())
    rows = {r["method"].split(" (")[0]: r for r in results["rows"]}
    assert (tmp_path / "d" / "demo.png").stat().st_size > 10_000
    # the regularised inverse beats the naive inverse filter, which amplifies noise
    assert rows["regularised inverse"]["psnr"] > rows["inverse filter"]["psnr"] + 10
    assert all(np.isfinite(r["psnr"]) for r in results["rows"])
