"""``physinv nets`` and ``physinv bench --suite nets`` end to end (a tiny run: the numbers are
for the benchmark, these tests check the plumbing: rows, references, figure, refusals)."""

from __future__ import annotations

import json
import math

from physinv.cli import main


def test_nets_lists_structures_with_counts(capsys):
    assert main(["nets", "--task", "sr_x2"]) == 0
    out = capsys.readouterr().out
    assert "unrolled-hqs" in out and "decomposed" in out and "not offered" in out
    assert main(["nets", "--task", "deblur_gauss"]) == 0
    out = capsys.readouterr().out
    assert "16,640" in out  # the per-frequency FourierNet on 128×128: 128 × 65 × 2


def test_nets_bad_task_exit_2(capsys):
    assert main(["nets", "--task", "deblur"]) == 2
    assert "task: got 'deblur'" in capsys.readouterr().err


def test_bench_nets_tiny_run(tmp_path):
    out = tmp_path / "nets.json"
    code = main(["bench", "--suite", "nets", "--tasks", "deblur_gauss", "--n-train", "1",
                 "--images", "1", "--methods", "fourier-parametric", "--budget", "2",
                 "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    methods = {r["method"] for r in result["rows"]}
    assert {"fourier-parametric", "tikhonov-tuned", "tv-tuned", "oracle-wiener",
            "tikhonov-hindsight"} <= methods
    for row in result["rows"]:
        for key in ("task", "method", "n_train", "psnr", "ssim", "infer_ms", "train_s",
                    "params_trainable", "params_fixed"):
            assert key in row
        assert math.isfinite(row["psnr"])
    by = {r["method"]: r["psnr"] for r in result["rows"]}
    # hindsight Tikhonov picks λ per test image on a grid holding the tuning grid: never worse
    assert by["tikhonov-hindsight"] >= by["tikhonov-tuned"] - 1e-9
    assert (tmp_path / "nets-deblur_gauss.png").stat().st_size > 10_000


def test_bench_nets_bad_sizes_and_names(tmp_path, capsys):
    out = str(tmp_path / "x.json")
    assert main(["bench", "--suite", "nets", "--n-train", "0,4", "--json", out]) == 2
    assert "positive integers" in capsys.readouterr().err
    assert main(["bench", "--suite", "nets", "--methods", "resnet", "--json", out]) == 2
    assert "resnet" in capsys.readouterr().err
    assert main(["bench", "--suite", "classical", "--n-train", "1,4", "--json", out]) == 2
