"""Run folders written before the network template (``forward`` → ``_reconstruct``) and the
configuration recorded from the constructor's signature still load and give the outputs they
gave then (``tests/fixtures/run-v0``, see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from physinv.cli import main
from physinv.train import load

FIXTURE = Path(__file__).parent / "fixtures" / "run-v0"
NETS = ["fourier-radial", "lista", "unrolled-landweber", "wavelet"]
# same physics, same weights, same arithmetic: equal up to FFT rounding across machines
TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}


def _measurement() -> torch.Tensor:
    return torch.from_numpy(np.load(FIXTURE / "y.npy"))[None]


def _expected(name: str) -> torch.Tensor:
    return torch.from_numpy(np.load(FIXTURE / f"{name}.npy"))[None]


@pytest.mark.parametrize("name", NETS)
def test_an_old_run_folder_loads_and_gives_the_output_it_gave_then(name):
    net = load(FIXTURE / name)
    with torch.no_grad():
        out = net(_measurement())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, _expected(name), **TOLERANCE)


@pytest.mark.parametrize("name", NETS)
def test_an_old_run_folder_rebuilds_the_configuration_it_recorded(name):
    recorded = json.loads((FIXTURE / name / "config.json").read_text())["network"]
    net = load(FIXTURE / name)
    assert type(net).__name__ == recorded["class"]
    assert json.loads(json.dumps(net.config)) == recorded["config"]


def test_an_old_unrolled_landweber_still_starts_from_x0():
    net = load(FIXTURE / "unrolled-landweber")
    y = _measurement()
    with torch.no_grad():
        out = net(y, torch.full_like(y, 0.5))
    torch.testing.assert_close(out, _expected("unrolled-landweber-x0"), **TOLERANCE)


def test_an_old_run_folder_reconstructs_through_the_cli(tmp_path):
    out = tmp_path / "x.npy"
    assert main(["reconstruct", str(FIXTURE / "y.npy"), "--net", str(FIXTURE / "lista"),
                 "-o", str(out)]) == 0
    got = torch.from_numpy(np.load(out)).reshape(_expected("lista").shape)
    torch.testing.assert_close(got.to(torch.float32), _expected("lista"), **TOLERANCE)
