"""Calibrated variance of a thermal restoration: ``physinv.uq.select`` on simulated scenes.

``physinv ir restore`` writes a variance map (K²) for the Gaussian posterior and for a trained
network. The map is the camera model's exact posterior variance v (``fast.posterior_fast``),
centred on the method's own estimate x̂ — a network's error is not the posterior's — and
calibrated for that method and that camera the way ``physinv calibrate`` calibrates a solver:
every form of ``physinv.uq.select`` with a posterior source (v alone, or σ² = a v + b β² with
the high-pass bias proxy β² of x̂ at 2 or 4 px, with or without the noise floor) is fitted by the
split-conformal quantile on ``n_images`` simulated acquisitions of the camera (scenes from
``tasks.VAL_SEED`` after the ``N_SELECT`` that choose a network, raw frames through the
two-point NUC, as ``validation_pairs``), and the form is chosen on the ``n_validation``
acquisitions after them. The variance written is the calibrated one at 95 %, so that
x̂ ± 1.96 √v is the 95 % interval. The four-scene factor that earlier releases fitted (one
scale of the posterior σ) is the candidate ``posterior`` at 95 %.

>>> from physinv.thermal.camera import Camera
>>> cal = calibrate_restoration(Camera(factor=2), side=32, n_images=2, n_validation=1)
>>> cal.variance_source, cal.selection["chosen"] in cal.selection["candidates"]
('posterior', True)
"""

from __future__ import annotations

import torch

from physinv.errors import InputError, check_int
from physinv.thermal.camera import Camera
from physinv.thermal.fast import posterior_fast
from physinv.thermal.nuc import calibration
from physinv.thermal.restoration import restore
from physinv.thermal.scene import Scene
from physinv.thermal.tasks import N_SELECT, IRTask, validation_pairs
from physinv.uq import Calibration, Maps, select

LEVEL = 0.95  # the level of the variance written (x̂ ± 1.96 √v)
N_IMAGES, N_VALIDATION = 8, 4  # simulated acquisitions: calibration, choice of the form


def restoration_maps(g: torch.Tensor, camera: Camera, method: str = "bayes", lam=None,
                     net=None, tile: int | None = None):
    """(``Maps``, note) of a frame: the method's estimate (``restoration.restore``) and the
    camera's exact posterior variance, the posterior's own when the method is ``bayes``."""
    x, variance, note = restore(g, camera, method, lam, net, tile)
    if variance is None:
        y = g.to(torch.float64)[None, None]
        variance = posterior_fast(y, camera.operator(tuple(x.shape[-2:]))).variance
    return Maps(x, variance), note


def describe(camera: Camera) -> str:
    """The camera's physics as the calibration records it (its ``operator``)."""
    return (f"camera factor={camera.factor} psf={camera.psf} fwhm={camera.fwhm:g} "
            f"netd={camera.netd:g}")


def calibrate_restoration(camera: Camera, method: str = "bayes", lam=None, net=None,
                          n_images: int = N_IMAGES, n_validation: int = N_VALIDATION,
                          side: int | None = None, scene: Scene | None = None) -> Calibration:
    """The calibration of a restoration's variance for ``camera`` (module docstring).

    Parameters
    ----------
    camera : Camera
        The camera (its NETD sets the simulated noise).
    method, lam, net
        The restoration, as ``restoration.restore`` takes it.
    n_images, n_validation : int
        Simulated acquisitions that fit the forms (≥ 2) and that choose one (≥ 1).
    side : int, optional
        Scene side (default 128 with decimation, 64 without, as ``ir train``).
    scene : Scene, optional
        What is filmed (default ``Scene`` of that side; a benchmark task's own scene).

    Returns
    -------
    Calibration
        Its ``selection`` says which form was chosen and why.
    """
    if n_images < 2:
        raise InputError("n_images", n_images, "at least 2 simulated acquisitions")
    check_int("n_validation", n_validation, minimum=1)
    side = scene.shape[0] if scene is not None else side or (128 if camera.factor > 1 else 64)
    if side % camera.factor:
        raise InputError("side", side, f"a multiple of the factor {camera.factor}")
    scene = scene or Scene(shape=(side, side))
    task = IRTask("calibration", "simulated scenes", scene, camera)
    nuc = calibration(camera, (scene.shape[0] // camera.factor,
                               scene.shape[1] // camera.factor))
    pairs = validation_pairs(task, nuc, n_images + n_validation, start=N_SELECT)
    truth = torch.stack([t.to(torch.float64)[None] for t, _, _ in pairs])
    outputs = [[restoration_maps(g[0, 0], camera, method, lam, net)[0]] for _, g, _ in pairs]
    name = type(net).__name__ if net is not None else method
    what = (f"simulated {scene.shape[0]}×{scene.shape[1]} acquisitions of the camera (scene "
            f"seeds from VAL_SEED + {N_SELECT})")
    return select(truth[:n_images], outputs[:n_images], truth[n_images:],
                  outputs[n_images:], variance_source="posterior", method=name,
                  operator=describe(camera), noise=f"netd={camera.netd:g} K",
                  calibration_set=f"{n_images} {what}",
                  validation_set=f"the {n_validation} after them").chosen

