"""Bundled images, benchmark crops, phantoms, file I/O and atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
import torch

from physinv.data import as_tensor, images, load_image, patches, phantoms, read_image, write_image
from physinv.errors import InputError
from physinv.io import write_with_preview


def test_bundled_images():
    for name in images.TRAINING_POOL + images.TEST_SET:
        x = images.load(name)
        assert x.dim() == 4 and x.shape[:2] == (1, 1)
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    colour = images.load("astronaut", gray=False)
    assert colour.shape == (1, 3, 512, 512)
    with pytest.raises(InputError, match="bundled image name"):
        images.load("nope")


def test_training_crops_follow_protocol():
    crops = patches.training_crops(14)
    assert crops.shape == (14, 1, 128, 128)
    assert torch.equal(crops[:4], patches.training_crops(4))  # first N of one sequence
    camera = images.load_array("camera")
    # crop 0 comes from camera (round-robin), crop 12 from camera again
    rng = np.random.default_rng(0)
    r, c = int(rng.integers(0, 512 - 128 + 1)), int(rng.integers(0, 512 - 128 + 1))
    assert np.allclose(crops[0, 0].numpy(), camera[r: r + 128, c: c + 128], atol=1e-7)


def test_test_images():
    test = patches.test_images()
    assert list(test) == list(images.TEST_SET)
    assert all(t.shape == (1, 1, 256, 256) for t in test.values())


def test_random_patches_reproducible():
    stack = torch.rand(3, 1, 40, 40)
    a = patches.random_patches(stack, 5, 16, torch.Generator().manual_seed(1))
    b = patches.random_patches(stack, 5, 16, torch.Generator().manual_seed(1))
    assert a.shape == (5, 1, 16, 16) and torch.equal(a, b)


def test_phantoms():
    p = phantoms.shepp_logan(64)
    assert p.shape == (1, 1, 64, 64)
    assert float(p[0, 0][~torch.from_numpy(phantoms.circle_mask(64))].abs().max()) == 0.0
    e1, e2 = phantoms.random_ellipses(32, seed=3), phantoms.random_ellipses(32, seed=3)
    assert torch.equal(e1, e2) and float(e1.max()) <= 1.0
    assert not torch.equal(e1, phantoms.random_ellipses(32, seed=4))


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_lossless_roundtrip(tmp_path, suffix):
    x = torch.randn(1, 20, 30, dtype=torch.float64) * 300  # e.g. kelvin: never rescaled
    path = write_image(tmp_path / f"x{suffix}", x)
    back = read_image(path)
    assert back.shape == (1, 20, 30)
    assert torch.equal(back.double(), x)


def test_png_and_16bit(tmp_path):
    x = torch.linspace(0, 1, 64).reshape(1, 8, 8)
    back8 = read_image(write_image(tmp_path / "x.png", x))
    assert torch.allclose(back8, x, atol=1 / 255)
    back16 = read_image(write_image(tmp_path / "x16.png", x, bit_depth=16))
    assert torch.allclose(back16, x, atol=1 / 65535)
    counts = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    tifffile.imwrite(tmp_path / "raw.tif", counts)
    assert torch.allclose(read_image(tmp_path / "raw.tif")[0] * 65535,
                          torch.from_numpy(counts.astype(np.float32)))
    assert torch.equal(read_image(tmp_path / "raw.tif", raw=True)[0],
                       torch.from_numpy(counts.astype(np.float32)))
    written = write_with_preview(tmp_path / "y.npy", x)
    assert [p.name for p in written] == ["y.npy", "y.png"]


def test_colour_and_gray(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (10, 12, 3), dtype=np.uint8)
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "c.png", rgb)
    assert read_image(tmp_path / "c.png").shape == (3, 10, 12)
    assert read_image(tmp_path / "c.png", as_gray=True).shape == (1, 10, 12)
    assert load_image(str(tmp_path / "c.png")).shape == (1, 1, 10, 12)
    assert as_tensor(np.zeros((5, 6))).shape == (1, 1, 5, 6)


def test_failed_write_keeps_earlier_result(tmp_path):
    path = tmp_path / "x.npy"
    write_image(path, torch.ones(1, 4, 4))

    class Boom(Exception):
        pass

    from physinv.io import atomic_write

    def failing(tmp):
        with open(tmp, "wb") as handle:
            handle.write(b"partial")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(path, failing)
    assert torch.equal(read_image(path), torch.ones(1, 4, 4))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]  # no temporary left behind


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="ending in"):
        read_image(tmp_path / "x.bmp")
    with pytest.raises(InputError, match="a file, not a folder"):
        (tmp_path / "d.png").mkdir()
        read_image(tmp_path / "d.png")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match="readable"):
        read_image(bad)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((3, 3), np.nan))
    with pytest.raises(InputError, match="finite"):
        read_image(nan)
    with pytest.raises(InputError, match="existing folder"):
        write_image(tmp_path / "no" / "x.npy", torch.zeros(1, 2, 2))
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(InputError, match="writable"):
            write_image(ro / "x.npy", torch.zeros(1, 2, 2))
    with pytest.raises(InputError, match="bundled image name"):
        load_image("not_an_image")
