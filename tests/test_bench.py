"""The benchmark suite's plumbing on a tiny run (numbers are for benchmarks/, not tests)."""

from __future__ import annotations

import json
import math

import pytest

from physinv.cli import main
from physinv.errors import InputError
from physinv.experiments import peers
from physinv.experiments.bench import run_suite
from physinv.experiments.protocol import TASKS, evaluation_pairs, training_pairs

REQUIRED = {"task", "method", "library", "n_train", "image", "psnr", "ssim", "infer_ms",
            "train_s", "params_trainable", "params_fixed"}


def test_protocol_seeds_and_shapes():
    for task in TASKS.values():
        name, x, y, op = evaluation_pairs(task, 1)[0]
        assert name == "rocket"
        assert y.shape[-2:] == op.out_shape
        x2, y2, op2 = training_pairs(task, 1)[0]
        assert x2.shape[-2:] == (128, 128) and y2.shape[-2:] == op2.out_shape
    # same seed, same measurement; training noise differs from test noise
    a = evaluation_pairs(TASKS["denoise"], 1)[0][2]
    b = evaluation_pairs(TASKS["denoise"], 1)[0][2]
    assert (a == b).all()


def test_tiny_suite_rows(tmp_path):
    result = run_suite(tasks=["denoise"], n_train=1, n_images=1,
                       methods=["tikhonov-gcv", "tv", "skimage-tv_chambolle"])
    methods = {r["method"] for r in result["rows"]}
    assert methods == {"tikhonov-gcv", "tv", "skimage-tv_chambolle"}
    for row in result["rows"]:
        assert REQUIRED <= set(row)
        assert math.isfinite(row["psnr"]) and row["infer_ms"] > 0
    tv_row = next(r for r in result["rows"] if r["method"] == "tv")
    assert tv_row["n_train"] == 1 and tv_row["hyper"] is not None
    assert "threads" in result["environment"]


def test_cli_bench_writes_json(tmp_path):
    out = tmp_path / "b.json"
    assert main(["bench", "--suite", "classical", "--json", str(out), "--tasks", "deblur_gauss",
                 "--images", "1", "--n-train", "1", "--methods", "wiener,skimage-wiener"]) == 0
    data = json.loads(out.read_text())
    assert {r["library"] for r in data["rows"]} == {"physinv", "scikit-image"}


def test_bad_suite_and_task():
    with pytest.raises(InputError, match="suite"):
        run_suite("rivals")
    with pytest.raises(InputError, match="task"):
        run_suite(tasks=["deblur_everything"])


def test_peers_suite_rows_tuned_on_training_crops(tmp_path):
    out = tmp_path / "p.json"
    assert main(["bench", "--suite", "peers", "--json", str(out), "--tasks", "deblur_gauss",
                 "--images", "1", "--n-train", "1", "--methods",
                 "tikhonov-tuned,tikhonov-gcv,skimage-wiener,deepinv-pgd-tv"]) == 0
    data = json.loads(out.read_text())
    libraries = {r["library"] for r in data["rows"]}
    methods = {r["method"] for r in data["rows"]}
    assert "tikhonov-gcv" not in methods  # only the references closest to the peers
    wiener = next(r for r in data["rows"] if r["method"] == "skimage-wiener")
    assert wiener["hyper"] in peers.PEERS["deblur"][0][2]  # chosen from its grid
    if peers.deepinv_module() is None:
        assert libraries == {"physinv", "scikit-image"}
        assert data["environment"]["deepinv"] == "not available"
    else:
        assert libraries == {"physinv", "scikit-image", "deepinv"}
