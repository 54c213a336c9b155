"""Networks that restore thermal frames: trained on normalised temperatures, applied in kelvin.

Networks work on normalised temperatures (T − 300 K) / 20 K (``CENTER``, ``SCALE``) — the
operators are linear and preserve constants, so g and f normalise alike: a network for g = H f
is a network for (g − 300) / 20 = H (f − 300) / 20. ``train_net`` trains one of the registry's
networks (``physinv.nets.registry``) for a task, ``net_restore`` applies it to a frame in
kelvin, ``net_restore_tiled`` applies it by overlapping tiles when a frame's activations would
not fit in memory (or a tile size is asked for); ``thermal.uncertainty`` calibrates the
Gaussian posterior's variance around a network's estimate.

**Tiles.** The frame is cut, in detector pixels, into tiles of T × T whose cores (T − 2m)²
partition it; each tile is reconstructed by the network moved to the tile's operator
(``for_operator``; for a ×s camera the tile's object grid is exactly s T × s T, aligned to the
decimation), and only its core is kept — the margin m absorbs the tile's own (circular)
boundary. The frame is first extended periodically by m, so that the tiles see what the
whole-frame (circular) camera model sees and the tiled result equals the whole-frame one up to
the influence left outside the margin. m is the network's measured influence radius
(``probe``: the response to a unit impulse on a ``PROBE``² frame falls below
``INFLUENCE_TOL`` of its peak beyond it — PSF support, Tikhonov layer and CNN receptive field
together) plus one pixel. Memory rule: the activations of a forward pass are estimated as
b bytes per object pixel (the sum of every module's output measured on the probe, plus 64 B
for the closed-form FFT work), and a frame is tiled when b × pixels exceeds
``MEMORY_SHARE`` of ``physinv.errors.available_memory()``; T is then the largest multiple of 8
that fits.

>>> float(denormalise(normalise(torch.tensor(310.0))))
310.0
"""

from __future__ import annotations

import math

import torch

from physinv.errors import InputError, available_memory, check_memory
from physinv.noise import Gaussian
from physinv.thermal.acquisition import ThermalScenes
from physinv.thermal.tasks import TRAIN_SEED, IRTask
from physinv.train import Measurements
from physinv.train.recipe import train_network

CENTER, SCALE = 300.0, 20.0  # K: networks see (T − CENTER) / SCALE
PROBE = 48  # detector pixels of the probe frame (influence radius and activation bytes)
INFLUENCE_TOL = 1e-4  # the margin covers the impulse response down to this fraction of its peak
MEMORY_SHARE = 0.25  # of the available memory: the machine is shared
FFT_BYTES = 64  # per object pixel, the closed-form layers' complex128 work (not module outputs)


def normalise(t):
    """Temperatures → network units: (T − 300 K) / 20 K.

    Parameters
    ----------
    t : torch.Tensor, any shape
        Temperatures, K.

    Returns
    -------
    torch.Tensor, the shape and dtype of ``t``

    Examples
    --------
    >>> normalise(torch.tensor([300.0, 320.0])).tolist()
    [0.0, 1.0]
    """
    return (t - CENTER) / SCALE


def denormalise(t):
    """Network units → temperatures: T = 20 K · t + 300 K (the inverse of ``normalise``).

    Parameters
    ----------
    t : torch.Tensor, any shape
        Normalised temperatures.

    Returns
    -------
    torch.Tensor, the shape and dtype of ``t``
        Temperatures, K.

    Examples
    --------
    >>> denormalise(torch.tensor([0.0, -1.0])).tolist()
    [300.0, 280.0]
    """
    return t * SCALE + CENTER


def train_net(name: str, task: IRTask, n_train: int, lam_rel: float, budget_s: float,
              seed: int = 0, epochs: int = 200):
    """A network trained for ``task`` on ``n_train`` simulated scenes.

    The scenes are ``ThermalScenes(n_train, task.scene, task.camera, seed=TRAIN_SEED)``,
    normalised, measured through the camera with its NETD (normalised) as noise; the network
    starts at Tikhonov with λ = ``lam_rel`` ‖H‖² and is trained by the recipe's ``default``
    preset (``physinv.train.recipe``: log-MSE, 32 samples per epoch, batches of 4, early stop
    after 15 epochs without progress).

    Parameters
    ----------
    name : str
        A network of ``physinv.nets.registry`` (e.g. ``"tikhonov-residual"``).
    task : IRTask
        Scene and camera.
    n_train : int
        Training scenes.
    lam_rel : float
        λ / ‖H‖² of the initialisation (e.g. ``tune(tikhonov_k, TIK_GRID, pairs)``).
    budget_s : float or None
        Training time limit, s.
    seed : int, optional
        Seed of the initialisation and of the training.
    epochs : int, optional
        At most this many epochs.

    Returns
    -------
    net : PhysicsNet
        The trained network (on normalised temperatures; apply it with ``net_restore``).
    result : FitResult
        What ``fit`` reports (train_s, stop_reason, best_epoch, ...).
    """
    scenes = ThermalScenes(n_train, task.scene, task.camera, seed=TRAIN_SEED)
    op = scenes.op
    data = Measurements(normalise(scenes.apparent).float(), op,
                        Gaussian(task.camera.netd / SCALE))
    return train_network(name, data, lam_rel * op.norm() ** 2, "default", epochs=epochs,
                         max_time=budget_s, seed=seed)


def net_restore(net, g: torch.Tensor) -> torch.Tensor:
    """A network's estimate of a frame in kelvin: denormalise(net(normalise(g))).

    Parameters
    ----------
    net : PhysicsNet
        A network trained on normalised temperatures (float32), for the frame's operator.
    g : torch.Tensor, shape (B, 1, h, w)
        Corrected frames, K.

    Returns
    -------
    torch.Tensor, shape (B, 1, H, W), float64
        Estimated temperatures, K (computed without gradients).

    Examples
    --------
    >>> g = torch.full((1, 1, 4, 4), 310.0, dtype=torch.float64)
    >>> float(net_restore(torch.nn.Identity(), g).mean())  # any module on normalised frames
    310.0
    """
    with torch.no_grad():
        return denormalise(net(normalise(g).float()).double())


def probe(net, camera, size: int = PROBE, tol: float = INFLUENCE_TOL) -> tuple[int, float]:
    r"""A network's influence radius (detector pixels) and activation bytes per object pixel.

    .. math:: r = \max \{\|p - c\|_\infty / s : |N(\delta_c)_p - N(0)_p| >
              \text{tol} \max_q |N(\delta_c)_q - N(0)_q|\}

    with δ_c a 1 K impulse at the centre c of a ``size``² detector frame at 300 K (the
    linearised response of a non-linear network); the bytes are the sum of every module's
    output on that frame per object pixel, plus ``FFT_BYTES``.

    Parameters
    ----------
    net : PhysicsNet
        The network (any grid: it is moved to the probe's operator).
    camera : Camera
        Its camera (factor s).
    size : int, optional
        Probe side, detector pixels (the radius is at most size / 2).
    tol : float, optional
        Relative level that bounds the influence.

    Returns
    -------
    radius : int
        Detector pixels, rounded up.
    bytes_per_pixel : float
        Estimated activation bytes per object pixel and frame.
    """
    s = camera.factor
    tnet = net.for_operator(camera.operator((size * s, size * s)))
    total = [0]

    def count(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            total[0] += output.numel() * output.element_size()

    hooks = [m.register_forward_hook(count) for m in tnet.modules()]
    try:
        g = torch.full((2, 1, size, size), CENTER, dtype=torch.float64)
        g[1, 0, size // 2, size // 2] += 1.0
        x = net_restore(tnet, g)
    finally:
        for h in hooks:
            h.remove()
    d = (x[1, 0] - x[0, 0]).abs()
    idx = (d > tol * d.max()).nonzero()
    radius = math.ceil(float((idx - (size // 2) * s).abs().max()) / s) if len(idx) else 0
    return radius, total[0] / (2 * (size * s) ** 2) + FFT_BYTES


def _starts(length: int, core: int) -> list[int]:
    """Core starts covering [0, length) with cores of ``core`` (the last one shifted back)."""
    return [min(i * core, length - core) for i in range(math.ceil(length / core))]


def net_restore_tiled(net, g: torch.Tensor, camera, tile: int | None = None,
                      overlap: int | None = None) -> tuple[torch.Tensor, dict]:
    """``net_restore`` on a frame of any size: whole when it fits in memory, else by tiles.

    See the module docstring (**Tiles**) for the tiling, the margin and the memory rule.

    Parameters
    ----------
    net : PhysicsNet
        A network trained for ``camera`` (on any grid).
    g : torch.Tensor, shape (B, 1, h, w)
        Corrected frames, K.
    camera : Camera
        The camera (factor s: the estimate is (s h, s w)).
    tile : int, optional
        Tile side T in detector pixels (forces tiling); default: the memory rule.
    overlap : int, optional
        Margin m in detector pixels on each side of a tile's core; default: ``probe``'s
        influence radius + 1 (probed once per network and camera, kept on the network).

    Returns
    -------
    x : torch.Tensor, shape (B, 1, s h, s w), float64
        Temperatures, K.
    info : dict
        ``tiles`` (count, 1 when whole), ``tile`` (T), ``overlap`` (m), ``bytes_per_pixel``.

    Raises
    ------
    InputError
        ``tile`` ≤ 2 ``overlap``, or not even one tile of the minimal size fits in memory.
    """
    s, (h, w) = camera.factor, g.shape[-2:]
    cache = net.__dict__.setdefault("_tile_probe", {})  # frames of a stack: one probe
    if camera not in cache:
        cache[camera] = probe(net, camera)
    radius, per_pixel = cache[camera]
    m = radius + 1 if overlap is None else int(overlap)
    budget = MEMORY_SHARE * available_memory()
    whole = g.shape[0] * per_pixel * h * w * s * s
    if tile is None and whole <= budget:
        op = camera.operator((h * s, w * s))
        x = net_restore(net.for_operator(op) if tuple(net.op.in_shape) != op.in_shape else net, g)
        return x, {"tiles": 1, "tile": None, "overlap": 0, "bytes_per_pixel": per_pixel}
    if tile is None:
        tile = 8 * int(math.sqrt(budget / (g.shape[0] * per_pixel)) / s // 8)
        check_memory("tile", tile, g.shape[0] * per_pixel * ((2 * m + 8) * s) ** 2,
                     f"{g.shape[0]} frames × {per_pixel:.0f} B × ((2 × {m} + 8) × {s})² "
                     "object pixels")
    if not tile > 2 * m:
        raise InputError("tile", tile, f"a tile side above twice the overlap ({2 * m} "
                         "detector pixels)")
    cy, cx = min(tile - 2 * m, h), min(tile - 2 * m, w)
    iy, ix = torch.arange(-m, h + m) % h, torch.arange(-m, w + m) % w
    padded = g[..., iy, :][..., ix]
    tnet = net.for_operator(camera.operator(((cy + 2 * m) * s, (cx + 2 * m) * s)))
    x = torch.empty(*g.shape[:2], h * s, w * s, dtype=torch.float64)
    starts = [(ay, ax) for ay in _starts(h, cy) for ax in _starts(w, cx)]
    for ay, ax in starts:
        out = net_restore(tnet, padded[..., ay:ay + cy + 2 * m, ax:ax + cx + 2 * m])
        x[..., ay * s:(ay + cy) * s, ax * s:(ax + cx) * s] = \
            out[..., m * s:(m + cy) * s, m * s:(m + cx) * s]
    return x, {"tiles": len(starts), "tile": tile, "overlap": m, "bytes_per_pixel": per_pixel}
