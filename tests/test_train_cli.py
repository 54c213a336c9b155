"""``physinv train`` then ``physinv reconstruct --net`` end to end on a tiny task, the three
data sources (task crops, a folder of clean images, measured/true pairs), folders of
measurements, and the refusals (occupied folder, changed configuration on resume, corrupt
checkpoint, missing device), each one line on stderr with status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from physinv.cli import main
from physinv.data import read_image
from physinv.metrics import psnr

OP = "blur:gaussian:sigma=1.5,size=9"


@pytest.fixture()
def folder(tmp_path):
    """Six smooth 40×40 clean images, three measured (seeds 0-2) with their truths."""
    rng = np.random.default_rng(0)
    clean = tmp_path / "clean"
    clean.mkdir()
    for i in range(6):
        img = rng.random((44, 44))
        img = sum(np.roll(np.roll(img, a, 0), b, 1) for a in range(5) for b in range(5)) / 25
        np.save(clean / f"c{i}.npy", img[2:42, 2:42].astype(np.float32))
    return tmp_path


def _train(args, out):
    return main(["train", *args, "--out", str(out), "--epochs", "3", "--samples-per-epoch",
                 "8", "--batch-size", "4", "--device", "cpu"])


def test_train_on_images_then_reconstruct_with_the_net(folder, capsys):
    out = folder / "runs" / "hqs"
    args = ["--images", str(folder / "clean"), "--op", OP, "--noise", "gaussian:sigma=0.02",
            "--net", "unrolled-hqs"]
    assert _train(args, out) == 0
    text = capsys.readouterr().out
    assert "unrolled-hqs" in text and "best psnr" in text
    config = json.loads((out / "config.json").read_text())
    assert config["operator"]["spec"] == OP and config["run"]["source"] == "images"
    assert config["training"]["epochs"] == 3
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 4  # header + epochs 0..3
    # a measurement of another size: the network moves to that grid
    x = torch.from_numpy(np.load(folder / "clean" / "c0.npy"))
    big = torch.nn.functional.interpolate(x[None, None], size=(64, 64), mode="bilinear")
    np.save(folder / "x.npy", big[0, 0].numpy())
    assert main(["simulate", str(folder / "x.npy"), "--op", OP, "--noise",
                 "gaussian:sigma=0.02", "-o", str(folder / "y.npy")]) == 0
    assert main(["reconstruct", str(folder / "y.npy"), "--net", str(out), "-o",
                 str(folder / "est.tiff")]) == 0
    est = read_image(folder / "est.tiff")
    y = read_image(folder / "y.npy")
    assert est.shape == (1, 64, 64) and (folder / "est.png").exists()
    assert float(psnr(est[None], big)) > float(psnr(y[None], big))  # it did deblur


def test_resume_refusals_and_occupied_folder(folder, capsys):
    out = folder / "run"
    args = ["--images", str(folder / "clean"), "--op", OP, "--net", "fourier-radial"]
    assert _train(args, out) == 0
    before = (out / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert _train(args, out) == 2
    err = capsys.readouterr().err
    assert "out: got" in err and "--resume" in err and "--overwrite" in err
    assert "Traceback" not in err
    assert main(["train", *args, "--out", str(out), "--epochs", "5", "--resume"]) == 2
    assert "differs: training.epochs: 3 → 5" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == before
    assert _train([*args, "--resume"], out) == 0  # finished: nothing to do, same weights
    assert "resumed after epoch 3" in capsys.readouterr().out
    assert (out / "model.safetensors").read_bytes() == before
    assert _train([*args, "--overwrite", "--seed", "4"], out) == 0
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == 4


def test_pairs_with_and_without_truth_and_a_folder_of_measurements(folder, capsys):
    ys, xs = folder / "ys", folder / "xs"
    ys.mkdir()
    xs.mkdir()
    for i in range(3):
        src = folder / "clean" / f"c{i}.npy"
        assert main(["simulate", str(src), "--op", OP, "--noise", "gaussian:sigma=0.02",
                     "--seed", str(i), "-o", str(ys / f"c{i}.npy")]) == 0
        (ys / f"c{i}.png").unlink()
        (xs / f"c{i}.npy").write_bytes(src.read_bytes())
    assert _train(["--measured", str(ys), "--truth", str(xs), "--op", OP, "--net",
                   "fourier-radial"], folder / "sup") == 0
    assert _train(["--measured", str(ys), "--op", OP, "--net", "fourier-radial"],
                  folder / "unsup") == 0
    config = json.loads((folder / "unsup" / "config.json").read_text())
    assert config["training"]["loss"] == "unsupervised" and config["data"]["kind"] == "pairs"
    assert main(["reconstruct", str(ys), "--net", str(folder / "sup"), "-o",
                 str(folder / "est")]) == 0
    assert sorted(p.name for p in (folder / "est").glob("*.tif")) == \
        ["c0.tif", "c1.tif", "c2.tif"]
    (xs / "c2.npy").rename(xs / "other.npy")
    capsys.readouterr()
    assert _train(["--measured", str(ys), "--truth", str(xs), "--op", OP, "--net",
                   "fourier-radial"], folder / "bad") == 2
    assert "truth: got" in capsys.readouterr().err


def test_train_on_a_task_and_bad_inputs(tmp_path, capsys):
    out = tmp_path / "task"
    assert main(["train", "--task", "denoise", "--net", "fourier-parametric", "--n-train",
                 "2", "--epochs", "1", "--samples-per-epoch", "4", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["operator"]["spec"] == "identity"
    capsys.readouterr()
    cases = [
        (["train", "--net", "lista", "--out", str(tmp_path / "a")], "exactly one of"),
        (["train", "--task", "denoise", "--net", "lista", "--out", str(tmp_path / "b")],
         "--n-train"),
        (["train", "--task", "denoise", "--net", "lista", "--n-train", "1", "--out",
          str(tmp_path / "c"), "--device", "cuda:5"], "device: got 'cuda:5'"),
        (["train", "--task", "denoise", "--net", "nope", "--n-train", "1", "--out",
          str(tmp_path / "d")], "net: got 'nope'"),
        (["reconstruct", str(tmp_path / "none.npy"), "--net", str(out), "-o",
          str(tmp_path / "x.npy")], "measurement"),
        (["reconstruct", str(tmp_path), "--op", "identity", "-o", str(tmp_path / "x.npy")],
         "measurement"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    model = out / "model.safetensors"
    model.write_bytes(model.read_bytes()[:100])
    np.save(tmp_path / "y.npy", np.zeros((16, 16), np.float32))
    assert main(["reconstruct", str(tmp_path / "y.npy"), "--net", str(out), "-o",
                 str(tmp_path / "x.npy")]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err
