"""PSF generators: normalisation, centring, shapes, physics, loading and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special

from physinv.errors import InputError
from physinv.io import write_image
from physinv.operators import psf


def _centroid(k):
    h, w = k.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=k.dtype), torch.arange(w, dtype=k.dtype),
                            indexing="ij")
    return float((k * yy).sum()), float((k * xx).sum())


@pytest.mark.parametrize("kernel", [
    psf.gaussian(2.0, 25), psf.gaussian(0.7), psf.box(5), psf.disk(3.2), psf.motion(9, 30),
    psf.motion(9, 0, size=11), psf.airy(2.0), psf.airy(wavelength=10.0, f_number=1.0,
                                                      pixel_pitch=12.0),
])
def test_sum_one_and_centred(kernel):
    assert float(kernel.sum()) == pytest.approx(1.0, abs=1e-12)
    assert kernel.dtype == torch.float64
    h, w = kernel.shape
    cy, cx = _centroid(kernel)
    assert cy == pytest.approx(h // 2, abs=1e-9)
    assert cx == pytest.approx(w // 2, abs=1e-9)


def test_gaussian_matches_formula_and_default_size():
    k = psf.gaussian(2.0, 25)
    assert k.shape == (25, 25)
    assert float(k[12, 14] / k[12, 12]) == pytest.approx(np.exp(-4 / 8), rel=1e-12)
    assert psf.gaussian(2.0).shape == (13, 13)


def test_motion_length_and_angle():
    k = psf.motion(9, 0, size=15)
    cols = torch.nonzero(k.sum(0) > 1e-9).flatten()
    assert int(cols.max() - cols.min()) in (9, 10)  # 9 px segment, bilinear edges
    assert torch.count_nonzero(k.sum(1) > 1e-9) == 1  # horizontal: one row
    k90 = psf.motion(9, 90, size=15)
    assert torch.allclose(k90, k.T, atol=1e-12)
    k30 = psf.motion(9, 30, size=15)
    cy, cx = 7, 7
    yy, xx = np.mgrid[:15, :15]
    # second moments give the direction: covariance principal axis at 30° (rows point down)
    kn = k30.numpy()
    cxx = (kn * (xx - cx) ** 2).sum()
    cyy = (kn * (yy - cy) ** 2).sum()
    cxy = (kn * (xx - cx) * -(yy - cy)).sum()
    angle = 0.5 * np.degrees(np.arctan2(2 * cxy, cxx - cyy))
    assert angle == pytest.approx(30, abs=1.0)


def test_airy_first_zero_from_optics():
    k = psf.airy(wavelength=10.0, f_number=1.0, pixel_pitch=4.0, size=41, oversample=1)
    radius = 1.22 * 10.0 / 4.0
    profile = k[20, 20:].numpy()
    r = np.arange(profile.size)
    v = 3.8317059702075125 * r / radius
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(v > 0, 2 * special.j1(v) / v, 1.0) ** 2
    assert np.allclose(profile / profile[0], expected, atol=1e-12)


def test_disk_area():
    k = psf.disk(5.0, 15)
    support = (k > 0).sum().item()
    assert abs(support - np.pi * 25) / (np.pi * 25) < 0.3


@pytest.mark.parametrize("suffix", [".npy", ".png", ".tif"])
def test_load_normalises(tmp_path, suffix):
    k = psf.gaussian(1.5, 9)
    scaled = (k / k.max()).numpy()
    path = tmp_path / f"psf{suffix}"
    write_image(path, scaled)
    loaded = psf.load(path)
    assert float(loaded.sum()) == pytest.approx(1.0, abs=1e-12)
    tol = 1e-12 if suffix != ".png" else 5e-3
    assert torch.allclose(loaded, k, atol=tol)


def test_bad_input():
    with pytest.raises(InputError, match="sigma: got -1"):
        psf.gaussian(-1)
    with pytest.raises(InputError, match="sigma"):
        psf.gaussian(float("nan"))
    with pytest.raises(InputError, match="size"):
        psf.gaussian(1.0, 0)
    with pytest.raises(InputError, match="positive sum"):
        psf.normalize(np.zeros((3, 3)))
    with pytest.raises(InputError, match="positive sum"):
        psf.normalize(-np.ones((3, 3)))
    with pytest.raises(InputError, match="finite"):
        psf.normalize(np.full((3, 3), np.nan))
    with pytest.raises(InputError, match="rgb2gray"):
        psf.normalize(np.ones((5, 5, 3)))
    with pytest.raises(InputError, match="width"):
        psf.box(7, 5)
    with pytest.raises(InputError, match="first_zero"):
        psf.airy()
    with pytest.raises(InputError, match="psf"):
        psf.from_name("nope")


def test_load_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        psf.load(tmp_path / "missing.npy")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="readable"):
        psf.load(bad)
    colour = tmp_path / "colour.npy"
    np.save(colour, np.ones((5, 5, 3)))
    with pytest.raises(InputError, match="rgb2gray"):
        psf.load(colour)
