"""Many frames: a folder, a multi-page TIFF or an .npy stack through ``physinv ir restore``
gives what single runs give; --average reports the noise reduction; flat-field temperatures
come from camera.json; refused stacks (mixed sizes, another bit depth, empty folder) exit 2
and write nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from physinv.cli import main


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Three raw frames of one camera (seeds 11–13), with flats and camera.json."""
    root = tmp_path_factory.mktemp("frames")
    for i in range(3):
        assert main(["ir", "simulate", "--task", "ir_sr_x4", "--seed", str(11 + i), "--size",
                     "64", "--out", str(root / f"f{i}")]) == 0
    return root


def _restore(source, out, f0, *extra):
    return main(["ir", "restore", str(source), "--camera", str(f0 / "camera.json"),
                 "--flat-lo", str(f0 / "flat_lo.npy"), "--flat-hi", str(f0 / "flat_hi.npy"),
                 "--method", "bayes", "--out", str(out), *extra])


def test_stack_of_three_equals_three_single_runs(frames, tmp_path):
    f0 = frames / "f0"
    pages = [tifffile.imread(frames / f"f{i}" / "raw.tif") for i in range(3)]
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, page in enumerate(pages):
        tifffile.imwrite(folder / f"frame{i}.tif", page)
    tifffile.imwrite(tmp_path / "multi.tif", np.stack(pages))
    assert _restore(folder, tmp_path / "o_folder", f0) == 0  # t-lo / t-hi from camera.json
    assert _restore(tmp_path / "multi.tif", tmp_path / "o_multi", f0) == 0
    stack = json.loads((tmp_path / "o_folder" / "stack.json").read_text())
    assert stack["frames"] == 3 and stack["names"] == ["frame0", "frame1", "frame2"]
    for i in range(3):
        assert _restore(folder / f"frame{i}.tif", tmp_path / f"single{i}", f0) == 0
        single = (tmp_path / f"single{i}" / "temperature.tif").read_bytes()
        assert (tmp_path / "o_folder" / f"frame{i}" / "temperature.tif").read_bytes() == single
        assert (tmp_path / "o_multi" / f"multi_{i:03d}" / "temperature.tif").read_bytes() \
            == single
        assert (tmp_path / "o_folder" / f"frame{i}" / "variance.tif").read_bytes() == \
            (tmp_path / f"single{i}" / "variance.tif").read_bytes()


def test_npy_stack_and_averaging_report_the_noise_reduction(frames, tmp_path, capsys):
    f0 = frames / "f0"
    shape = np.load(f0 / "raw_kelvin.npy").shape  # a uniform static scene: noise only
    rng = np.random.default_rng(0)
    static = np.stack([300 + 0.2 * rng.standard_normal(shape) for _ in range(9)])
    np.save(tmp_path / "static.npy", static)
    assert _restore(tmp_path / "static.npy", tmp_path / "avg", f0, "--average") == 0
    stack = json.loads((tmp_path / "avg" / "stack.json").read_text())
    assert stack["averaged"] and stack["frames"] == 9
    assert 2.0 < stack["noise_reduction"] < 4.0  # √9 = 3 for the added white noise
    assert (tmp_path / "avg" / "temperature.tif").exists()
    assert "averaged 9 frames" in capsys.readouterr().out
    # the mean of 9 frames is calibrated for NETD / √9, a single frame for the camera's NETD
    netd = json.loads((f0 / "camera.json").read_text())["netd"]
    assert stack["restored"]["calibration"]["noise"] == f"netd={netd / 3:g} K"


def test_refused_stacks_write_nothing(frames, tmp_path, capsys):
    f0 = frames / "f0"
    page = tifffile.imread(f0 / "raw.tif")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    tifffile.imwrite(mixed / "a.tif", page)
    tifffile.imwrite(mixed / "b.tif", page[:8, :8])
    depth = tmp_path / "depth"
    depth.mkdir()
    tifffile.imwrite(depth / "a.tif", page)
    tifffile.imwrite(depth / "b.tif", (page // 256).astype(np.uint8))
    empty = tmp_path / "empty"
    empty.mkdir()
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        tif.write(page)
        tif.write(page.astype(np.float32))
    cases = [(mixed, "b of shape (8, 8)"), (depth, "b.tif (uint8, 8-bit)"),
             (empty, "empty"), (tmp_path / "pages.tif", "page 1 (float32, 32-bit)")]
    for i, (source, message) in enumerate(cases):
        out = tmp_path / f"o{i}"
        assert _restore(source, out, f0) == 2, source
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (source, err)
        assert not out.exists()


def test_stack_without_flats_removes_one_column_pattern(frames, tmp_path):
    import torch

    from physinv.thermal import Camera, pipeline

    camera = Camera(factor=4)
    base = torch.full((16, 160), 300.0, dtype=torch.float64)
    stripes = 0.3 * torch.sin(torch.arange(160, dtype=torch.float64))[None, :]
    gen = torch.Generator().manual_seed(0)
    stack = [(f"s{i}", base + stripes + 0.02 * torch.randn(16, 160, generator=gen,
                                                           dtype=torch.float64))
             for i in range(3)]
    result = pipeline.run_stack(stack, tmp_path / "o", camera, method="bicubic",
                                destripe=True, segment_too=False)
    assert result["summary"]["frames"] == 3
    from physinv.data import read_image

    x = read_image(tmp_path / "o" / "s0" / "temperature.tif")[0]
    column_spread = float(x.mean(0).std())
    assert column_spread < 0.1 * float(stripes.std())  # the stripes went, once for all
