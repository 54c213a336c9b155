"""physinv.thermal.uncertainty: the variance ir restore writes is calibrated for the camera on
simulated acquisitions (physinv.uq.select), covers held-out scenes and is sharper than the raw
posterior's."""

import pytest

from physinv.errors import InputError
from physinv.thermal.camera import Camera
from physinv.thermal.nuc import calibration
from physinv.thermal.scene import Scene
from physinv.thermal.tasks import TEST_SEED, IRTask, acquire
from physinv.thermal.uncertainty import LEVEL, calibrate_restoration, restoration_maps
from physinv.uq import calibrated_variance

CAMERA, SIDE = Camera(factor=2), 32


def test_calibrated_posterior_covers_held_out_scenes_and_is_sharper_than_the_raw_one():
    cal = calibrate_restoration(CAMERA, side=SIDE)
    assert cal.variance_source == "posterior" and cal.n_images == 8
    assert cal.selection["validation_set"] == "the 4 after them"
    task = IRTask("t", "held out", Scene(shape=(SIDE, SIDE)), CAMERA)
    nuc = calibration(CAMERA, (SIDE // 2, SIDE // 2))
    covered, sigma, sigma_raw = [], [], []
    for i in range(6):  # test seeds: scenes the calibration never saw
        frame, g = acquire(task, TEST_SEED + i, nuc)
        maps, _ = restoration_maps(g[0, 0], CAMERA, "bayes")
        v = calibrated_variance(cal, maps, LEVEL)
        err = (maps.x_hat - frame.apparent[None, None]).abs()
        covered.append(float((err <= 1.96 * v.sqrt()).double().mean()))
        sigma.append(float(v.sqrt().mean()))
        sigma_raw.append(float(maps.variance.sqrt().mean()))
    mean = sum(covered) / len(covered)
    assert 0.90 <= mean <= 0.99, covered
    assert sum(sigma) < sum(sigma_raw)  # sharper than the uncalibrated posterior


def test_each_method_is_calibrated_around_its_own_estimate_and_bad_sizes_are_refused():
    with pytest.raises(InputError, match="n_images"):
        calibrate_restoration(CAMERA, side=SIDE, n_images=1)
    with pytest.raises(InputError, match="side.*multiple"):
        calibrate_restoration(Camera(factor=4), side=30)
    # an over-smoothed Tikhonov is far from the truth: the same posterior variance, centred
    # on its estimate, must be calibrated wider than around the posterior mean
    bayes = calibrate_restoration(CAMERA, side=SIDE, n_images=3, n_validation=1)
    smooth = calibrate_restoration(CAMERA, "tikhonov", lam=10.0, side=SIDE, n_images=3,
                                   n_validation=1)
    assert smooth.method == "tikhonov" and smooth.calibration_set == bayes.calibration_set
    task = IRTask("t", "held out", Scene(shape=(SIDE, SIDE)), CAMERA)
    _, g = acquire(task, TEST_SEED, calibration(CAMERA, (SIDE // 2, SIDE // 2)))
    wide = calibrated_variance(smooth, restoration_maps(g[0, 0], CAMERA, "tikhonov", 10.0)[0],
                               LEVEL)
    narrow = calibrated_variance(bayes, restoration_maps(g[0, 0], CAMERA, "bayes")[0], LEVEL)
    assert float(wide.mean()) > 2 * float(narrow.mean())
