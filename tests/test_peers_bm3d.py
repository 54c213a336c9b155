"""BM3D as an optional peer (the ``bm3d`` package, extra ``[compare]``): skipped when absent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.experiments import peers
from physinv.experiments.bench import run_suite
from physinv.experiments.protocol import TASKS
from physinv.noise import Gaussian, simulate


def _smooth(n=64):
    u = np.linspace(0, 1, n)
    img = 0.5 + 0.3 * np.sin(6 * u)[:, None] * np.cos(4 * u)[None, :]
    img[n // 4: n // 2, n // 4: n // 2] += 0.15  # an edge
    return torch.from_numpy(img)[None, None]


def test_numpy_trapz_shim_restores_numpy():
    had = hasattr(np, "trapz")
    with peers.numpy_trapz():
        assert np.trapz(np.array([1.0, 1.0, 1.0])) == 2.0
    assert hasattr(np, "trapz") == had


def test_without_bm3d_rows_are_skipped_with_a_note(monkeypatch):
    monkeypatch.setattr(peers, "bm3d_module", lambda: None)
    assert peers.bm3d_peers_for("denoise", 0.1) == []
    result = run_suite("peers", tasks=["denoise"], n_train=1, n_images=1,
                       methods=["skimage-tv_chambolle"])
    assert result["notes"] == [peers.BM3D_NOTE]
    assert result["environment"]["bm3d"] == "not available"


def test_bm3d_denoise_beats_the_noise():
    pytest.importorskip("bm3d")
    x = _smooth()
    op = TASKS["denoise"].operator((64, 64))
    y = simulate(x, op, Gaussian(0.1), seed=0)
    (name, fn, grid), = peers.bm3d_peers_for("denoise", 0.1)
    assert name == "bm3d" and grid is None and fn.hyper == {"sigma": 0.1}
    est = fn(y, op, None)
    assert est.shape == x.shape and est.dtype == y.dtype
    mse_noisy = float(((y - x) ** 2).mean())
    assert float(((est - x) ** 2).mean()) < mse_noisy / 4


def test_bm3d_deblur_two_stages_beat_the_blur():
    pytest.importorskip("bm3d")
    x = _smooth()
    op = TASKS["deblur_gauss"].operator((64, 64))
    y = simulate(x, op, Gaussian(0.01), seed=0)
    (_, fn, grid), = peers.bm3d_peers_for("deblur_gauss", 0.01)
    assert grid == ["np", "deb"]
    est = fn(y, op, "np")
    assert est.shape == x.shape
    assert float(((est - x) ** 2).mean()) < float(((y - x) ** 2).mean()) / 2
    # the regularised inverse uses the operator's own transfer function (circular blur)
    h = op.fourier_diagonal().numpy()
    blurred = np.real(np.fft.ifft2(h * np.fft.fft2(x[0, 0].numpy())))
    assert np.allclose(blurred, op(x)[0, 0].numpy(), atol=1e-10)


def test_bm3d_rows_in_the_peers_suite():
    pytest.importorskip("bm3d")
    result = run_suite("peers", tasks=["denoise", "sr_x2"], n_train=1, n_images=1,
                       methods=["bm3d"])
    rows = result["rows"]
    assert [(r["task"], r["library"]) for r in rows] == [("denoise", "bm3d")]
    assert rows[0]["hyper"] == {"sigma": 0.1} and rows[0]["n_train"] == 0
    assert result["notes"] == [] and result["environment"]["bm3d"] != "not available"


def test_bm3d_deblur_profile_chosen_on_training_crops():
    pytest.importorskip("bm3d")
    result = run_suite("peers", tasks=["deblur_motion"], n_train=1, n_images=1,
                       methods=["bm3d"])
    row, = result["rows"]
    assert row["n_train"] == 1 and row["hyper"]["sigma"] == 0.01
    assert row["hyper"]["profile"] in peers.BM3D_DEBLUR_PROFILES
