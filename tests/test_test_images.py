"""``physinv bench --test-images DIR``: one's own images, prepared like the public test set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from physinv.cli import main
from physinv.data import images, patches
from physinv.errors import InputError
from physinv.experiments.bench import run_suite
from physinv.experiments.protocol import TASKS, TEST_SEED, evaluation_pairs, load_test_set


def _folder(tmp_path):
    """b_photo.png (uint8 RGB, 300×280) and a_scan.npy (float32 gray, 256×300)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mine"
    folder.mkdir()
    rgb = (rng.random((300, 280, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(folder / "b_photo.png")
    np.save(folder / "a_scan.npy", rng.random((256, 300)).astype(np.float32))
    (folder / "notes.txt").write_text("not an image")
    return folder, rgb


def test_folder_prepared_like_public_set(tmp_path):
    folder, rgb = _folder(tmp_path)
    own = patches.folder_test_images(folder)
    assert list(own) == ["a_scan", "b_photo"]  # names from the stems, in file-name order
    gray = np.tensordot(rgb / 255.0, [0.2125, 0.7154, 0.0721], axes=1)
    crop = gray[22:278, 12:268]  # the centre 256×256 crop of 300×280
    assert torch.allclose(own["b_photo"][0, 0].double(), torch.from_numpy(crop), atol=1e-6)
    assert tuple(own["a_scan"].shape) == (1, 1, 256, 256)
    assert own["a_scan"].dtype == torch.float32


def test_evaluation_pairs_seeds_and_ct(tmp_path):
    folder, _ = _folder(tmp_path)
    pairs = evaluation_pairs(TASKS["denoise"], images=folder)
    assert [p[0] for p in pairs] == ["a_scan", "b_photo"]
    name, x, y, op = pairs[1]
    expected = TASKS["denoise"].measure(x, op, TEST_SEED + 1)
    assert torch.equal(y, expected)
    ct = evaluation_pairs(TASKS["ct_sparse"], images=folder)
    assert tuple(ct[0][1].shape) == (1, 1, 128, 128)
    assert float(ct[0][1][0, 0, 0, 0]) == 0.0  # outside the inscribed disk
    only, record = load_test_set(folder)
    assert record == {"name": "own", "folder": str(folder), "images": ["a_scan", "b_photo"]}
    assert [p[0] for p in evaluation_pairs(TASKS["denoise"], 1, images=only)] == ["a_scan"]


def test_public_set_unchanged():
    public = evaluation_pairs(TASKS["denoise"], 1)[0]
    assert public[0] == "rocket"
    assert load_test_set()[1]["images"] == list(images.TEST_SET)


def test_suite_rows_named_after_files(tmp_path):
    folder, _ = _folder(tmp_path)
    result = run_suite(tasks=["denoise"], n_train=1, methods=["tikhonov-gcv"],
                       test_images=folder)
    assert [r["image"] for r in result["rows"]] == ["a_scan", "b_photo"]
    assert result["test_set"]["folder"] == str(folder)


def test_cli_bench_on_own_images(tmp_path):
    folder, _ = _folder(tmp_path)
    out = tmp_path / "own.json"
    assert main(["bench", "--suite", "classical", "--json", str(out), "--tasks",
                 "deblur_gauss", "--n-train", "1", "--methods", "wiener",
                 "--test-images", str(folder)]) == 0
    data = json.loads(out.read_text())
    assert {r["image"] for r in data["rows"]} == {"a_scan", "b_photo"}
    assert data["test_set"]["name"] == "own"


def _bad_folders(tmp_path):
    cases = {}
    cases["missing"] = (tmp_path / "nowhere", "no such folder")
    a_file = tmp_path / "a_file.npy"
    np.save(a_file, np.zeros((256, 256), np.float32))
    cases["a file"] = (a_file, "it is a file")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    cases["no image"] = (empty, "none found")
    small = tmp_path / "small"
    small.mkdir()
    np.save(small / "ok.npy", np.zeros((256, 256), np.float32))
    np.save(small / "tiny.npy", np.zeros((255, 512), np.float32))
    cases["too small"] = (small, "tiny.npy")
    png = tmp_path / "smallpng"
    png.mkdir()
    Image.fromarray(np.zeros((100, 300), np.uint8)).save(png / "p.png")
    cases["small png"] = (png, "it is 100×300")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "broken.png").write_bytes(b"not a png at all")
    cases["corrupt"] = (corrupt, "broken.png")
    twins = tmp_path / "twins"
    twins.mkdir()
    np.save(twins / "same.npy", np.zeros((256, 256), np.float32))
    Image.fromarray(np.zeros((256, 256), np.uint8)).save(twins / "same.png")
    cases["two files, one name"] = (twins, "same")
    complex_ = tmp_path / "complex"
    complex_.mkdir()
    np.save(complex_ / "z.npy", np.zeros((256, 256), complex))
    cases["complex"] = (complex_, "complex")
    return cases


def test_bad_folders_refused_with_exit_2_and_nothing_written(tmp_path, capsys):
    for label, (folder, words) in _bad_folders(tmp_path).items():
        out = tmp_path / f"{label.replace(' ', '_')}.json"
        code = main(["bench", "--suite", "classical", "--json", str(out), "--tasks", "denoise",
                     "--methods", "wiener", "--test-images", str(folder)])
        err = capsys.readouterr().err
        assert code == 2, label
        assert err.startswith("error: --test-images") and words in err, (label, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, label
        assert not out.exists(), label


def test_out_of_range_pixels_refused_before_any_work(tmp_path, capsys):
    folder = tmp_path / "kelvin"
    folder.mkdir()
    np.save(folder / "hot.npy", np.full((256, 256), 300.0, np.float32))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        patches.folder_test_images(folder)
    out = tmp_path / "k.json"
    assert main(["bench", "--json", str(out), "--tasks", "denoise", "--methods", "wiener",
                 "--test-images", str(folder)]) == 2
    assert "hot.npy" in capsys.readouterr().err and not out.exists()


def test_images_option_against_the_folder(tmp_path, capsys):
    folder, _ = _folder(tmp_path)
    out = tmp_path / "n.json"
    assert main(["bench", "--json", str(out), "--images", "3", "--test-images",
                 str(folder)]) == 2
    assert "at most 2" in capsys.readouterr().err and not out.exists()
    assert main(["bench", "--suite", "ir", "--json", str(out), "--test-images",
                 str(folder)]) == 2
    assert "--suite ir" in capsys.readouterr().err


def test_nets_suite_on_own_images(tmp_path, monkeypatch):
    from physinv.experiments import nets_bench
    from physinv.experiments.protocol import Task

    folder, _ = _folder(tmp_path)
    monkeypatch.setattr(Task, "tv_weight", lambda self, train, norm2=None: 1e-3)  # no tuning
    monkeypatch.setattr(nets_bench, "HINDSIGHT_GRID", [1e-3])
    result = nets_bench.run_nets(tasks=("deblur_gauss",), n_trains=(), networks=[],
                                 n_images=1, test_images=folder)
    assert result["test_set"]["images"] == ["a_scan", "b_photo"]
    assert {r["image"] for r in result["rows"]} == {"a_scan"}
