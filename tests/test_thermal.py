"""The thermography generator's physics (PSF, NETD, fixed pattern, ranges, radiometry,
determinism), the pre-processing (two-point NUC, dead pixels, column offsets) and the readers
of real frames with their refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.thermal import Camera, Scene, nuc, radiometry, readers, simulate
from physinv.thermal.camera import flat_fields


@pytest.mark.parametrize("camera", [Camera(), Camera(factor=2, psf="airy", f_number=1.2),
                                    Camera(factor=1, fwhm=2.0)])
def test_psfs_sum_to_one(camera):
    assert float(camera.optics_psf().sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(camera.system_psf().sum()) == pytest.approx(1.0, abs=1e-12)
    op = camera.operator((64, 64))
    flat = torch.full((1, 1, 64, 64), 300.0, dtype=torch.float64)
    assert torch.allclose(op(flat), torch.full_like(op(flat), 300.0))  # a constant stays


@pytest.mark.parametrize("netd", [0.03, 0.05, 0.2])
def test_temporal_noise_std_is_the_netd(netd):
    cam = Camera(netd=netd, column_offset=0, gain_spread=0, dead_fraction=0)
    flat = torch.full((256, 256), 300.0, dtype=torch.float64)
    k = cam.to_kelvin(cam.expose(flat, torch.Generator().manual_seed(1)))
    assert float((k - 300).std()) == pytest.approx(netd, rel=0.05)


def test_fixed_pattern_statistics_as_configured():
    cam = Camera(column_offset=0.2, gain_spread=0.02, dead_fraction=0.01)
    offsets, gains, dead, stuck = cam.fixed_pattern((400, 600))
    assert float(offsets[0].std()) == pytest.approx(0.2, rel=0.1)
    assert torch.equal(offsets[0], offsets[-1])  # one offset per column
    assert float(gains.std()) == pytest.approx(0.02, rel=0.05)
    assert float(gains.mean()) == pytest.approx(1.0, abs=1e-3)
    assert float(dead.double().mean()) == pytest.approx(0.01, rel=0.15)
    assert set(stuck[dead].unique().tolist()) <= {0, cam.full_scale}
    again = cam.fixed_pattern((400, 600))
    assert torch.equal(again[1], gains)  # the pattern belongs to the camera


def test_scene_ranges_labels_and_determinism():
    scene = Scene(shape=(96, 96))
    for seed in range(4):
        f = simulate(scene, Camera(factor=2), seed=seed)
        t = f.temperature
        assert float(t.min()) > 290 - 6 * scene.variation
        peak_rise = max(d["contrast"] for d in f.defects) + scene.heating[1]
        assert float(t.max()) < 310 + 6 * scene.variation + peak_rise
        assert all(0.5 <= d["contrast"] <= 20 for d in f.defects)
        assert 0.80 <= float(f.emissivity.min()) and float(f.emissivity.max()) <= 0.97
        hot = t > scene.reflected + 1
        assert bool((f.apparent[hot] < t[hot]).all())  # ε < 1 reads colder above T_refl
        assert set(f.labels.unique().tolist()) <= {0, 1} and int(f.labels.sum()) > 0
        assert f.counts.dtype == torch.int32 and int(f.counts.max()) <= 2**14 - 1
    a, b, c = simulate(scene, seed=3), simulate(scene, seed=3), simulate(scene, seed=4)
    assert torch.equal(a.counts, b.counts) and torch.equal(a.temperature, b.temperature)
    assert not torch.equal(a.temperature, c.temperature)


def test_radiometry_planck_and_linear():
    t = np.linspace(250, 400, 31)
    radiance = radiometry.band_radiance(t)
    assert np.all(np.diff(radiance) > 0)
    assert np.allclose(radiometry.inverse_band_radiance(radiance), t, atol=2e-3)
    assert radiometry.apparent_temperature(330.0, 1.0, 293.15) == pytest.approx(330.0, abs=2e-3)
    near = radiometry.apparent_temperature(300.0, 0.9, 293.15)
    lin = radiometry.apparent_temperature(300.0, 0.9, 293.15, radiometry="linear")
    assert abs(near - lin) < 0.05  # the linearisation holds near T_refl
    with pytest.raises(InputError, match="above 0 K"):
        radiometry.band_radiance(-5.0)


def test_counts_kelvin_calibration_round_trip():
    cam = Camera()
    k = torch.linspace(250, 400, 101, dtype=torch.float64)
    back = cam.to_kelvin(cam.to_counts(k))
    assert float((back - k).abs().max()) <= cam.kelvin_per_count / 2 + 1e-9
    assert int(cam.to_counts(torch.tensor([1e4]))[0]) == cam.full_scale  # clipped


def test_bad_camera_and_scene_configurations():
    with pytest.raises(InputError, match="netd"):
        Camera(netd=0)
    with pytest.raises(InputError, match="netd"):
        Camera(netd=-0.05)
    with pytest.raises(InputError, match="factor"):
        Camera(factor=3).operator((64, 64))
    with pytest.raises(InputError, match="ambient"):
        Scene(ambient=(-10.0, 300.0))
    with pytest.raises(InputError, match="emissivity"):
        Scene(emissivity_background=(0.9, 1.2))


def test_two_point_nuc_removes_the_fixed_pattern_and_dead_pixels():
    cam = Camera(factor=2, column_offset=0.3, gain_spread=0.03, dead_fraction=0.01)
    f = simulate(Scene(shape=(128, 128)), cam, seed=2)
    lo, hi = flat_fields(cam, f.clean.shape, (293.15, 323.15), n_frames=32)
    corr = nuc.TwoPointNUC(lo, hi, 293.15, 323.15)
    fixed = corr(f.kelvin)
    raw_err = float((f.kelvin - f.clean).abs().median())
    err = fixed - f.clean
    assert float(err.std()) < 1.5 * cam.netd  # NETD (+ the flat fields' own noise)
    assert float(err.abs().median()) < raw_err / 3
    _, _, dead, _ = cam.fixed_pattern(tuple(f.clean.shape))
    assert bool(corr.dead[dead].all())  # every stuck pixel found
    # a neighbour median is exact on smooth parts, off at edges of hot regions
    assert float(err[dead].abs().median()) < 0.3 and float(err[dead].abs().max()) < 5.0


def test_scene_based_corrections():
    cam = Camera(factor=2, column_offset=0.5, gain_spread=0, dead_fraction=0.0)
    f = simulate(Scene(shape=(128, 128)), cam, seed=5)
    # column-to-column stripes: differences of the columns' mean error
    stripes = lambda x: float((x - f.clean).mean(0).diff().std())  # noqa: E731
    assert stripes(nuc.remove_column_offsets(f.kelvin)) < stripes(f.kelvin) / 3
    frame = f.clean.clone()
    frame[10, 10], frame[20, 5] = 233.15, 400.0
    found = nuc.find_dead(frame)
    assert bool(found[10, 10]) and bool(found[20, 5])
    fixed = nuc.replace_dead(frame, found)
    assert abs(float(fixed[10, 10] - f.clean[10, 10])) < 1.0


def test_readers_tiff_csv_npy(tmp_path):
    import tifffile

    counts = (np.arange(12, dtype=np.uint16).reshape(3, 4) + 30000)
    tifffile.imwrite(tmp_path / "f.tif", counts)
    k = readers.read_frame(tmp_path / "f.tif", gain=0.01, offset=0.0)
    assert float(k[0, 0]) == pytest.approx(300.0)
    tifffile.imwrite(tmp_path / "eight.tif", counts.astype(np.uint8))
    with pytest.raises(InputError, match="16-bit"):
        readers.read_frame(tmp_path / "eight.tif", gain=0.01, offset=0.0)
    with pytest.raises(InputError, match="gain"):
        readers.read_frame(tmp_path / "f.tif")
    with pytest.raises(InputError, match="below 0|above 0 K"):
        readers.read_frame(tmp_path / "f.tif", gain=0.01, offset=-400.0)
    (tmp_path / "t.csv").write_text("Frame 1\n20.5,21.0,22\n23,24,25\n")
    c = readers.read_frame(tmp_path / "t.csv", unit="C")
    assert c.shape == (2, 3) and float(c[0, 0]) == pytest.approx(293.65)
    (tmp_path / "ragged.csv").write_text("20,21,22\n23,24\n")
    with pytest.raises(InputError, match="line 2.*ragged"):
        readers.read_frame(tmp_path / "ragged.csv", unit="C")
    (tmp_path / "text.csv").write_text("20;21;22\n23;hot;25\n")
    with pytest.raises(InputError, match="line 2: got 'hot'"):
        readers.read_frame(tmp_path / "text.csv", unit="C")
    (tmp_path / "cold.csv").write_text("-300,20\n21,22\n")
    with pytest.raises(InputError, match="above 0 K"):
        readers.read_frame(tmp_path / "cold.csv", unit="C")
    np.save(tmp_path / "k.npy", np.full((4, 4), 300.0))
    assert float(readers.read_frame(tmp_path / "k.npy")[0, 0]) == 300.0
    np.save(tmp_path / "hot.npy", np.full((4, 4), 1e6))
    with pytest.raises(InputError, match="below 5000 K"):
        readers.read_frame(tmp_path / "hot.npy")
