"""Named infrared set-ups (a scene and a camera), their seeded acquisitions and data splits.

Tasks (``IR_TASKS``): ``ir_denoise`` (64², no optics blur, NETD 0.2 K — a cheap uncooled
camera), ``ir_deconvolve`` (64², Gaussian optics FWHM 2.5 px, NETD 50 mK), ``ir_sr_x4``
(128² scene, optics FWHM 1 detector pixel, 4×4 detector integration and ×4 decimation → 32²
frames, NETD 50 mK) and ``ir_segment`` (the ``ir_sr_x4`` camera; defects 3–5 detector pixels
wide, 2–10 K). ``physinv ir simulate --task`` and ``physinv bench --suite ir`` name them.

Every acquisition (``acquire``) is simulated raw (fixed pattern, dead pixels, 14-bit counts)
and corrected by the camera's two-point NUC, so a method sees what it would see on a real
camera. Scenes are split by seed: training from ``TRAIN_SEED``, validation from ``VAL_SEED``
(the first ``N_SELECT`` choose a network, ``thermal.uncertainty`` calibrates the variance on
the next ones), test from ``TEST_SEED``.

>>> get_ir_task("ir_sr_x4").camera.factor
4
"""

from __future__ import annotations

from dataclasses import dataclass

from physinv.errors import InputError
from physinv.thermal.acquisition import simulate
from physinv.thermal.camera import Camera
from physinv.thermal.nuc import TwoPointNUC, calibration
from physinv.thermal.scene import Scene

TEST_SEED, TRAIN_SEED, VAL_SEED = 50_000, 60_000, 65_000
N_SELECT = 4  # validation scenes that choose the best network; the calibration's come after


@dataclass(frozen=True)
class IRTask:
    """A named infrared set-up: what is filmed and the camera that films it.

    Parameters
    ----------
    name : str
        The task's name (a key of ``IR_TASKS``).
    description : str
        One line on the camera and the scene.
    scene : Scene
        What is filmed.
    camera : Camera
        The camera.
    segment : bool, optional
        Whether defect segmentation is scored on it.

    Examples
    --------
    >>> task = IRTask("tiny", "32², factor 2", Scene(shape=(32, 32)), Camera(factor=2))
    >>> tuple(task.operator().out_shape)
    (16, 16)
    """

    name: str
    description: str
    scene: Scene
    camera: Camera
    segment: bool = False

    def operator(self):
        """The camera's operator H on the scene's grid (``Camera.operator``)."""
        return self.camera.operator(self.scene.shape)


_SR_CAMERA = Camera(factor=4, fwhm=1.0, netd=0.05)
IR_TASKS = {
    "ir_denoise": IRTask("ir_denoise", "64², no optics blur, NETD 0.2 K",
                         Scene(shape=(64, 64)), Camera(factor=1, psf="none", netd=0.2)),
    "ir_deconvolve": IRTask("ir_deconvolve", "64², Gaussian optics FWHM 2.5 px, NETD 50 mK",
                            Scene(shape=(64, 64)), Camera(factor=1, fwhm=2.5, netd=0.05)),
    "ir_sr_x4": IRTask("ir_sr_x4", "128² scene → 32² frames: optics FWHM 1 px, 4×4 "
                       "integration, ×4 decimation, NETD 50 mK", Scene(shape=(128, 128)),
                       _SR_CAMERA),
    "ir_segment": IRTask("ir_segment", "ir_sr_x4 camera; defects 3–5 detector px wide, "
                         "2–10 K", Scene(shape=(128, 128), radius=(6.0, 10.0),
                                         contrast=(2.0, 10.0)), _SR_CAMERA, segment=True),
}


def get_ir_task(name: str) -> IRTask:
    """The task of that name.

    Parameters
    ----------
    name : str
        A key of ``IR_TASKS``.

    Returns
    -------
    IRTask

    Raises
    ------
    InputError
        If there is no such task (the error lists them).

    Examples
    --------
    >>> get_ir_task("ir_denoise").camera.netd
    0.2
    """
    if name not in IR_TASKS:
        raise InputError("task", name, f"one of {sorted(IR_TASKS)}")
    return IR_TASKS[name]


def acquire(task: IRTask, seed: int, nuc: TwoPointNUC | None = None):
    """One simulated acquisition of ``task``, corrected by the NUC.

    g = NUC(raw frame in kelvin), the raw frame being ``simulate(task.scene, task.camera,
    seed)``.

    Parameters
    ----------
    task : IRTask
        Scene and camera.
    seed : int
        Seed of the scene and its noise.
    nuc : TwoPointNUC, optional
        The correction (default ``calibration(task.camera, ...)``, computed here).

    Returns
    -------
    frame : ThermalFrame
        The acquisition with its truths.
    g : torch.Tensor, shape (1, 1, h, w), float64
        The corrected measurement, K.

    Examples
    --------
    >>> task = IRTask("tiny", "32², factor 2", Scene(shape=(32, 32)), Camera(factor=2))
    >>> frame, g = acquire(task, seed=0)
    >>> tuple(g.shape)
    (1, 1, 16, 16)
    """
    frame = simulate(task.scene, task.camera, seed)
    nuc = nuc or calibration(task.camera, tuple(frame.clean.shape))
    return frame, nuc(frame.kelvin)[None, None]


def training_pairs(task: IRTask, n: int, nuc: TwoPointNUC, n_tune: int = 4):
    """Pairs for tuning λ: the first ``min(n, n_tune)`` training scenes (from ``TRAIN_SEED``).

    Parameters
    ----------
    task : IRTask
        Scene and camera.
    n : int
        Number of training scenes available.
    nuc : TwoPointNUC
        The camera's correction.
    n_tune : int, optional
        At most this many pairs.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor, LinearOperator)
        (apparent truth (1, 1, H, W) K, corrected g (1, 1, h, w) K, operator H).

    Examples
    --------
    >>> task = IRTask("tiny", "32², factor 2", Scene(shape=(32, 32)), Camera(factor=2))
    >>> len(training_pairs(task, 2, calibration(task.camera, (16, 16))))
    2
    """
    out = []
    for i in range(min(n, n_tune)):
        frame, g = acquire(task, TRAIN_SEED + i, nuc)
        out.append((frame.apparent[None, None], g, frame.op))
    return out


def validation_pairs(task: IRTask, nuc: TwoPointNUC, n: int = N_SELECT, start: int = 0):
    """Pairs of ``n`` scenes outside the training and test sets (seeds ``VAL_SEED + start`` on).

    The choice of the best network is made on the first ``N_SELECT``; the interval
    calibration (``uncertainty.calibrate_restoration``) on the scenes after them.

    Parameters
    ----------
    task : IRTask
        Scene and camera.
    nuc : TwoPointNUC
        The camera's correction.
    n : int, optional
        Number of pairs.
    start : int, optional
        Index of the first scene after ``VAL_SEED``.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor, LinearOperator)
        (apparent truth (1, 1, H, W) K, corrected g (1, 1, h, w) K, operator H).

    Examples
    --------
    >>> task = IRTask("tiny", "32², factor 2", Scene(shape=(32, 32)), Camera(factor=2))
    >>> truth, g, op = validation_pairs(task, calibration(task.camera, (16, 16)), n=1)[0]
    >>> tuple(truth.shape), tuple(g.shape)
    ((1, 1, 32, 32), (1, 1, 16, 16))
    """
    out = []
    for i in range(n):
        frame, g = acquire(task, VAL_SEED + start + i, nuc)
        out.append((frame.apparent[None, None], g, frame.op))
    return out
