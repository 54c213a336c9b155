"""Networks that restore thermal frames: trained on normalised temperatures, applied in kelvin,
their posterior intervals calibrated on validation scenes.

Networks work on normalised temperatures (T − 300 K) / 20 K (``CENTER``, ``SCALE``) — the
operators are linear and preserve constants, so g and f normalise alike: a network for g = H f
is a network for (g − 300) / 20 = H (f − 300) / 20. ``train_net`` trains one of the registry's
networks (``physinv.nets.registry``) for a task, ``net_restore`` applies it to a frame in
kelvin, ``calibrate_sigma`` scales the Gaussian posterior's σ into 95 % intervals around its
estimate.

>>> float(denormalise(normalise(torch.tensor(310.0))))
310.0
"""

from __future__ import annotations

import torch

from physinv.noise import Gaussian
from physinv.solvers import gaussian_posterior
from physinv.thermal.acquisition import ThermalScenes, simulate
from physinv.thermal.nuc import TwoPointNUC
from physinv.thermal.tasks import NOISE_SEED, TRAIN_SEED, VAL_SEED, IRTask
from physinv.train import Measurements
from physinv.train.recipe import train_network

CENTER, SCALE = 300.0, 20.0  # K: networks see (T − CENTER) / SCALE


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


def calibrate_sigma(net, task: IRTask, nuc: TwoPointNUC, n: int = 4) -> float:
    r"""The factor k that makes net ± 1.96 k σ_post 95 % intervals on validation scenes.

    .. math:: k = q_{0.95}\!\left(\frac{|\hat f_\text{net} - f|}{\sigma_\text{post}}
              \right) / 1.96

    over every pixel of ``n`` validation scenes (from ``VAL_SEED``, noise re-drawn from
    ``NOISE_SEED``), σ_post being the Gaussian posterior's standard deviation.

    Parameters
    ----------
    net : PhysicsNet
        The network (as for ``net_restore``).
    task : IRTask
        Scene and camera.
    nuc : TwoPointNUC
        The camera's correction.
    n : int, optional
        Validation scenes.

    Returns
    -------
    float
        k (dimensionless): use (k σ_post)² as the network's variance, K².
    """
    ratios = []
    for i in range(n):
        frame = simulate(task.scene, task.camera, VAL_SEED + i)
        g = nuc(task.camera.to_kelvin(task.camera.expose(
            frame.clean, torch.Generator().manual_seed(NOISE_SEED + i))))[None, None]
        post = gaussian_posterior(g, frame.op)
        err = (net_restore(net, g) - frame.apparent[None, None]).abs()
        ratios.append((err / post.variance.sqrt()).flatten())
    return float(torch.quantile(torch.cat(ratios), 0.95)) / 1.959964
