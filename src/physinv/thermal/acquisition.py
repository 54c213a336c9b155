"""A scene filmed by the camera: one seeded acquisition with its ground truth, and training sets.

``simulate(scene, camera, seed)`` draws the scene (``physinv.thermal.scene``), converts it to
the apparent temperature the camera reads (``physinv.thermal.radiometry``), images it through
the camera's operator H and exposes it (fixed pattern, NETD noise, dead pixels, 14-bit counts;
``physinv.thermal.camera``). ``ThermalScenes(n, scene, camera, seed)`` holds n scenes for
training (apparent temperature, labels, operator, noise).

>>> frame = simulate(Scene(shape=(64, 64)), Camera(factor=2), seed=0)
>>> tuple(frame.counts.shape), frame.counts.dtype == torch.int32
((32, 32), True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from physinv.errors import check_int
from physinv.noise import Gaussian
from physinv.thermal.camera import Camera
from physinv.thermal.radiometry import apparent_temperature
from physinv.thermal.scene import Scene, scene_temperature


@dataclass
class ThermalFrame:
    """One simulated acquisition: high-resolution truth, low-resolution raw frame.

    Built by ``simulate``; the fields are the constructor's arguments and stay as
    attributes. (H, W) is the scene's grid, (h, w) the detector's: (H / factor, W / factor).

    Parameters
    ----------
    temperature : torch.Tensor, shape (H, W), float64
        Object temperature, K.
    apparent : torch.Tensor, shape (H, W), float64
        What an ideal camera reads (emissivity and reflections applied), K — the truth a
        restoration is scored against.
    emissivity : torch.Tensor, shape (H, W), float64
        Emissivity map.
    labels : torch.Tensor, shape (H, W), int64
        1 = defect.
    clean : torch.Tensor, shape (h, w), float64
        H(apparent): the noise-free detector frame, K.
    counts : torch.Tensor, shape (h, w), int32
        Raw counts.
    kelvin : torch.Tensor, shape (h, w), float64
        Raw counts through the linear calibration (fixed pattern still in), K.
    op : LinearOperator
        The camera's operator H, (H, W) → (h, w).
    noise : physinv.noise.Gaussian
        The temporal noise model (σ = NETD, K).
    scene : Scene
        The scene description that was drawn.
    camera : Camera
        The camera that filmed it.
    seed : int
        The seed of the scene and of the temporal noise.
    defects : list of dict, default []
        The defects drawn (see ``scene_temperature``).

    Examples
    --------
    >>> frame = simulate(Scene(shape=(32, 32)), Camera(factor=2), seed=1)
    >>> tuple(frame.clean.shape), frame.labels.dtype, frame.describe()["noise"]
    ((16, 16), torch.int64, 'gaussian:sigma=0.05')
    """

    temperature: torch.Tensor  # (H, W) K, object temperature
    apparent: torch.Tensor  # (H, W) K, what an ideal camera reads (emissivity applied)
    emissivity: torch.Tensor  # (H, W)
    labels: torch.Tensor  # (H, W) int64, 1 = defect
    clean: torch.Tensor  # (h, w) K, H(apparent): noise-free detector frame
    counts: torch.Tensor  # (h, w) int32, raw
    kelvin: torch.Tensor  # (h, w) K, raw counts through the calibration (FPN still in)
    op: object
    noise: Gaussian
    scene: Scene
    camera: Camera
    seed: int
    defects: list = field(default_factory=list)

    def describe(self) -> dict:
        """What produced the frame, as JSON-ready data.

        Returns
        -------
        dict
            ``scene`` and ``camera`` (their fields), ``seed``, ``operator`` (class name),
            ``noise`` (its spec) and ``defects``.
        """
        return {"scene": asdict(self.scene), "camera": asdict(self.camera), "seed": self.seed,
                "operator": type(self.op).__name__, "noise": self.noise.spec(),
                "defects": self.defects}


def simulate(scene: Scene | None = None, camera: Camera | None = None,
             seed: int = 0) -> ThermalFrame:
    r"""One seeded acquisition of a scene by a camera.

    .. math:: \text{counts} = Q\big(T_\text{ref} + G \odot (H T_\text{app} - T_\text{ref})
              + o + \text{NETD}\,n\big), \quad n \sim \mathcal N(0, I)

    with T_app the apparent temperature, H the camera's operator, G and o its per-pixel gains
    and column offsets, Q the 14-bit calibration (dead pixels stuck at 0 or full scale).

    Parameters
    ----------
    scene : Scene, optional
        What is filmed (default ``Scene()``).
    camera : Camera, optional
        The camera (default ``Camera()``).
    seed : int, optional
        Seed of the scene and of the temporal noise (≥ 0).

    Returns
    -------
    ThermalFrame
        Truths on the (H, W) object grid and the raw (h, w) frame, in kelvin and counts.

    Examples
    --------
    >>> frame = simulate(Scene(shape=(32, 32)), Camera(factor=2), seed=1)
    >>> tuple(frame.apparent.shape), tuple(frame.kelvin.shape)
    ((32, 32), (16, 16))
    """
    scene = scene or Scene()
    camera = camera or Camera()
    seed = check_int("seed", seed, minimum=0)
    temp, emissivity, labels, defects = scene_temperature(scene, seed)
    apparent = apparent_temperature(temp, emissivity, scene.reflected, scene.band,
                                    scene.radiometry)
    op = camera.operator(scene.shape)
    apparent_t = torch.from_numpy(apparent)
    clean = op(apparent_t[None, None], check=False)[0, 0]
    counts = camera.expose(clean, torch.Generator().manual_seed(seed * 7919 + 1))
    return ThermalFrame(temperature=torch.from_numpy(temp), apparent=apparent_t,
                        emissivity=torch.from_numpy(emissivity), labels=torch.from_numpy(labels),
                        clean=clean, counts=counts, kelvin=camera.to_kelvin(counts), op=op,
                        noise=Gaussian(camera.netd), scene=scene, camera=camera, seed=seed,
                        defects=defects)


class ThermalScenes:
    """``n`` seeded scenes for training a network for a camera.

    Scene ``i`` is ``scene_temperature(scene, seed + i)`` through the radiometry; the fixed
    pattern is assumed corrected before (NUC), so the data are the apparent temperatures, the
    camera's operator and its temporal noise.

    Parameters
    ----------
    n : int
        Number of scenes.
    scene : Scene, optional
        What is filmed.
    camera : Camera, optional
        The camera.
    seed : int, optional
        Seed of the first scene.

    Attributes
    ----------
    apparent : torch.Tensor, shape (n, 1, H, W), float64
        Apparent temperatures, K.
    labels : torch.Tensor, shape (n, 1, H, W), int64
        Defect maps.
    op : LinearOperator
        The camera's operator.
    noise : physinv.noise.Gaussian
        σ = the camera's NETD, K.

    Examples
    --------
    >>> scenes = ThermalScenes(2, Scene(shape=(32, 32)), Camera(factor=2))
    >>> len(scenes), tuple(scenes.apparent.shape)
    (2, (2, 1, 32, 32))
    """

    def __init__(self, n: int, scene: Scene | None = None, camera: Camera | None = None,
                 seed: int = 0):
        self.n = check_int("n", n)
        self.scene = scene or Scene()
        self.camera = camera or Camera()
        self.seed = seed
        temps, labels = [], []
        for i in range(self.n):
            t, e, lab, _ = scene_temperature(self.scene, seed + i)
            temps.append(apparent_temperature(t, e, self.scene.reflected, self.scene.band,
                                              self.scene.radiometry))
            labels.append(lab)
        self.apparent = torch.from_numpy(np.stack(temps))[:, None]
        self.labels = torch.from_numpy(np.stack(labels))[:, None]
        self.op = self.camera.operator(self.scene.shape)
        self.noise = Gaussian(self.camera.netd)

    def __len__(self) -> int:
        return self.n
