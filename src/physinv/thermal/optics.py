"""The camera's optics blur estimated from its frames (``physinv.solvers.blind``).

The optics FWHM (in detector pixels) is the one unknown of the camera model
H = S_d ∘ (optics ⊛ detector box ⊛ ·); ``estimate_fwhm`` chooses it by the evidence of the
Gaussian model with the aliases of the ×d decimation folded onto each measured frequency,
from one frame or, better, several frames of the same camera (they share the blur). The
estimate includes whatever smoothness the scene itself has (heat diffusion blurs the
temperature field too): it is an upper bound on scenes without sharp edges.

>>> import torch
>>> from physinv.thermal import Camera, IRTask, Scene, acquire, calibration
>>> cam = Camera(factor=2, fwhm=1.5)
>>> task = IRTask("t", "", Scene(shape=(64, 64)), cam)
>>> g = torch.cat([acquire(task, s, calibration(cam, (32, 32)))[1] for s in range(2)])
>>> 0.3 < estimate_fwhm(g, cam).params["fwhm"] < 4.0
True
"""

from __future__ import annotations

from dataclasses import replace

import torch

from physinv.solvers.blind import PSFEstimate, estimate_parameter
from physinv.thermal.camera import Camera


def estimate_fwhm(frames: torch.Tensor, camera: Camera, bounds=(0.3, 4.0)) -> PSFEstimate:
    """The optics FWHM of ``camera`` (detector pixels) estimated from ``frames``.

    Parameters
    ----------
    frames : torch.Tensor, shape (B, 1, h, w)
        NUC-corrected frames in kelvin from this camera (any scenes).
    camera : Camera
        The camera; every field but ``fwhm`` is taken as known (``psf="gaussian"``).
    bounds : (float, float)
        The FWHM's search range in detector pixels.

    Returns
    -------
    PSFEstimate
        ``params["fwhm"]``, its standard deviation, the system PSF at the estimate (object
        grid), the noise variance (K²) and the criterion along the grid.
    """
    return estimate_parameter(frames, lambda v: replace(camera, fwhm=v).system_psf(),
                              "fwhm", bounds, factor=camera.factor, kind="camera-gaussian")
