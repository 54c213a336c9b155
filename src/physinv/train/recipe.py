"""The one training recipe: a network by name, at its analytic initialisation, trained with a
named preset. Every caller — ``physinv train``, ``physinv bench --suite nets``, the demo, the
infrared benchmark and ``physinv ir train`` — turns (network, operator, data, λ) into a trained
network here, so a change of *how* networks are trained is made once.

Presets (``PRESETS``; any field of ``TrainConfig`` can be overridden):

- ``quick`` — exactly ``epochs`` epochs (no early stopping: the seed alone fixes the weights),
  16 samples per epoch, 20 epochs by default; for demos and tests;
- ``default`` — 32 samples per epoch, early stopping after 15 epochs without a better
  validation score, 30 epochs; what ``physinv train`` and the benchmarks use;
- ``long`` — the same with 64 samples per epoch, 30 epochs' patience and 200 epochs;
- ``regulariser`` — 40 epochs of 256 patches in batches of 16 at lr 2·10⁻³, no weight decay:
  a learned regulariser trained as a denoiser (``physinv.train.regulariser``).

The loss follows the data: the supervised per-image log-MSE (``norm="log"``: every image
counts the same whatever its contrast) with ground truth, otherwise the unsupervised
‖g − Hf̂‖² + λ‖Df̂‖² with the network's own λ.

>>> cfg = configure("quick", epochs=3)
>>> cfg.epochs, cfg.samples_per_epoch, cfg.early_stopping
(3, 16, False)
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from physinv.errors import InputError
from physinv.nets.registry import build
from physinv.train.config import TrainConfig
from physinv.train.state import FitResult
from physinv.train.trainer import Trainer

PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(epochs=20, samples_per_epoch=16, batch_size=4, patience=None),
    "default": TrainConfig(epochs=30, samples_per_epoch=32, batch_size=4, patience=15),
    "long": TrainConfig(epochs=200, samples_per_epoch=64, batch_size=4, patience=30),
    # learned regularisers as denoisers: many small patches (physinv.train.regulariser)
    "regulariser": TrainConfig(epochs=40, samples_per_epoch=256, batch_size=16, patience=None,
                               lr=2e-3, weight_decay=0.0),
}


def configure(preset: str | TrainConfig = "default", *, supervised: bool = True,
              lam: float | None = None, **overrides) -> TrainConfig:
    """The ``TrainConfig`` of ``preset`` with the recipe's loss and ``overrides``.

    Parameters
    ----------
    preset : str or TrainConfig
        A name of ``PRESETS`` or a configuration to start from.
    supervised : bool
        Whether the data hold ground truth (log-MSE) or not (unsupervised loss).
    lam : float, optional
        λ of the unsupervised loss's gradient penalty (the network's initial λ).
    **overrides
        Fields of ``TrainConfig``; ``None`` values are ignored (not given on the CLI).

    Returns
    -------
    TrainConfig
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise InputError("preset", preset, f"one of {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    loss = overrides.pop("loss", "auto")
    if loss == "auto":
        loss = "supervised" if supervised else "unsupervised"
    options = dict(overrides.pop("loss_options", {}))
    if loss == "supervised":
        options.setdefault("norm", "log")
    elif loss == "unsupervised" and lam is not None:
        options.setdefault("lam", lam)
    return replace(preset, loss=loss, loss_options=options, **overrides)


def train_network(name: str | None, data, lam: float, config: TrainConfig | str = "default",
                  *, net: nn.Module | None = None, out=None, resume: bool = False,
                  overwrite: bool = False, run_info: dict | None = None, progress: bool = False,
                  **overrides) -> tuple[nn.Module, FitResult]:
    """Build the network ``name`` on ``data``'s operator at its analytic initialisation for
    the Tikhonov weight ``lam`` (weights seeded by the configuration's seed) and train it.

    Parameters
    ----------
    name : str or None
        A name of ``physinv.nets.registry.NETWORKS``; None with ``net``.
    data : Measurements or Pairs
        The training data (their operator is the network's).
    lam : float
        λ of the analytic initialisation (and of the unsupervised loss).
    config : TrainConfig or str
        A configuration, or a preset's name completed by ``configure``.
    net : PhysicsNet, optional
        A network built by the caller (e.g. a segmentation head or a chosen depth).
    out, resume, overwrite, run_info, progress
        As for ``physinv.train.Trainer`` (run folder, exact resume, recorded information).
    **overrides
        Fields of ``TrainConfig`` applied on top of a preset's name.

    Returns
    -------
    (net, FitResult)
        The trained network (best validation weights) and what training did.
    """
    if isinstance(config, str):
        config = configure(config, supervised=data.supervised, lam=lam, **overrides)
    elif overrides:
        config = replace(config, **overrides)
    torch.manual_seed(config.seed)
    if net is None:
        net = build(name, data.op, lam)
    result = Trainer(net, data, config, out=out, resume=resume, overwrite=overwrite,
                     run_info=run_info, progress=progress).run()
    return net, result
