"""``fit(net, data, loss=...)``: train a network — the thin public wrapper of ``Trainer``.

Losses (``physinv.train.losses``): ``"supervised"`` ‖f − f̂‖² (or L1, or per-image log),
``"physics"`` that plus μ‖g − Hf̂‖², ``"unsupervised"`` ‖g − Hf̂‖² + λ‖Df̂‖² with no ground
truth. AdamW with a cosine schedule and gradient-norm clipping; physics parameters (float64:
step sizes, thresholds, filter tables, spectral profiles) get the rate ``physics_lr`` relative
to their initial RMS (1 for those starting at 0), CNN weights the plain ``lr``. Each epoch
draws ``samples_per_epoch`` pairs (fresh noise and symmetries for ``Measurements``);
validation after each epoch on fixed measurements — PSNR when the loss uses ground truth, the
unsupervised loss otherwise — with early stopping and the best weights restored at the end.
A non-finite loss stops training with the last good weights restored (``stop_reason=
"non-finite loss"``, and a warning says so). Everything random comes from ``seed``: on the
CPU two runs give the same weights.

With ``out=folder`` the run is kept (``physinv.train.checkpoint``): ``config.json``, the best
weights ``model.safetensors`` (safetensors, written atomically at each new best), the resume
state ``last.safetensors`` (each epoch end, and every ``save_every`` steps) and the metrics
(``physinv.train.logs``). ``resume=True`` continues a run from its last state — optimiser,
scheduler, random states and the position in the epoch restored — and ends with the same
weights, bit for bit on the CPU, as a run that was never interrupted; a changed configuration is
refused with the list of differences. An existing run folder is never replaced unless
``overwrite=True``.

Under ``torchrun`` (``physinv.train.distributed``) the network runs inside
DistributedDataParallel: every process computes its share of each global batch of
``batch_size`` samples (the same samples a single process would draw), gradients are averaged
so that the update equals the single-process one, validation is split between the processes
and only rank 0 writes. ``precision="auto"`` trains in bf16 autocast on CUDA (the operators'
FFTs and projections stay in float32) and in float32 on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from physinv.train.config import TrainConfig
from physinv.train.data import Measurements, Pairs
from physinv.train.state import FitResult, TrainState
from physinv.train.trainer import Trainer

__all__ = ["FitResult", "TrainConfig", "TrainState", "Trainer", "fit"]


def fit(net: nn.Module, data: Measurements | Pairs, loss="supervised", *,
        epochs: int = 30, samples_per_epoch: int = 32, batch_size: int = 4, lr: float = 1e-3,
        physics_lr: float = 3e-2, weight_decay: float = 1e-4, clip: float = 1.0,
        patience: int | None = 8, val_fraction: float = 0.25, max_time: float | None = None,
        seed: int = 0, dtype: torch.dtype = torch.float32, device=None,
        progress: bool = False, callback: Callable[[TrainState], None] | None = None,
        out=None, resume: bool = False, overwrite: bool = False, save_every: int | None = None,
        precision: str = "auto", run_info: dict | None = None, tensorboard: bool = True,
        **loss_options) -> FitResult:
    r"""Train ``net`` on ``data``: ``Trainer(net, data, TrainConfig(...)).run()``.

    Minimises the mean of the loss over the training pairs (see the module docstring),

    .. math:: \min_\theta \; \mathbb{E}_{(f, g)} \, \ell(N_\theta(g), f, g),

    with AdamW, a cosine schedule and gradient clipping; ``net`` ends with the weights of its
    best validation epoch.

    Parameters
    ----------
    net : PhysicsNet
        The network, built on the same operator as ``data`` (``net.for_operator(op)``).
    data : Measurements or Pairs
        Clean images measured on the fly, or fixed (y, x) pairs (x may be None).
    loss : str or Loss
        ``"supervised"``, ``"physics"``, ``"unsupervised"``, ``"segmentation"`` or a
        ``Loss``; its options (``norm``, ``mu``, ``lam``, ``reg``) as extra keywords.
    epochs, samples_per_epoch, batch_size, lr, physics_lr, weight_decay, clip : see below
        These and patience, val_fraction, max_time, seed, dtype, precision, device and
        save_every are the fields of ``physinv.train.TrainConfig`` (documented there).
    progress : bool
        A progress bar with the validation score.
    callback : callable, optional
        Called with the ``TrainState`` after each epoch.
    out : path, optional
        Run folder: config.json, model.safetensors, last.safetensors, metrics, summary.
    resume, overwrite : bool
        Continue the run kept in ``out`` / replace it.
    run_info : dict, optional
        Recorded under ``"run"`` in config.json.
    tensorboard : bool
        Also write TensorBoard logs when the package is installed.

    Returns
    -------
    FitResult
        History, best epoch and score, why it stopped, time and steps.

    Examples
    --------
    >>> import torch
    >>> from physinv.nets import UnrolledLandweber
    >>> from physinv.noise import Gaussian
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> clean = torch.rand(4, 1, 16, 16)
    >>> result = fit(UnrolledLandweber(op, n_layers=2), Measurements(clean, op, Gaussian(0.01)),
    ...              epochs=2, samples_per_epoch=4)
    >>> result.stop_reason, len(result.history)
    ('epochs', 3)
    """
    config = TrainConfig(loss=loss, loss_options=loss_options, epochs=epochs,
                         samples_per_epoch=samples_per_epoch, batch_size=batch_size, lr=lr,
                         physics_lr=physics_lr, weight_decay=weight_decay, clip=clip,
                         patience=patience, val_fraction=val_fraction, max_time=max_time,
                         seed=seed, dtype=dtype, precision=precision, device=device,
                         save_every=save_every)
    trainer = Trainer(net, data, config, out=out, resume=resume, overwrite=overwrite,
                      run_info=run_info, progress=progress, tensorboard=tensorboard,
                      callback=callback)
    return trainer.run()
