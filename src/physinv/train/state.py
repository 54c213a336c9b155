"""What a training run carries from epoch to epoch (``TrainState``) and what it returns
(``FitResult``).

``TrainState.to_dict()`` is the part a checkpoint saves as JSON (every field not marked
``saved=False``), ``TrainState.from_dict`` the inverse; both are built from ``fields()``, so a
new field is saved and restored without another edit.

>>> state = TrainState(epoch=3, best_score=31.5)
>>> TrainState.from_dict(state.to_dict()).epoch
3
>>> sorted(state.to_dict())[:3]
['batch', 'best_epoch', 'best_score']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import torch

NOT_SAVED = {"saved": False}  # field metadata: kept in memory / in tensors, not in the JSON


@dataclass
class TrainState:
    """The loop's state; see the module docstring.

    Parameters
    ----------
    epoch : int
        Last finished epoch (0: none yet).
    step : int
        Optimiser steps taken.
    batch : int
        Batches of epoch ``epoch + 1`` already done (for saves in the middle of an epoch).
    loss_sum, loss_count : float, int
        Running sum and count of the training loss in the current epoch.
    best_score : float
        Best validation score so far (higher is better).
    best_epoch : int
        The epoch that reached it.
    history : list of dict
        One record per epoch: epoch, step, train_loss, val, lr, seconds.
    seconds : float
        Training time so far (all sessions of a resumed run).
    finished : str or None
        Why the run ended (``"epochs"``, ``"early stop"``, ``"time budget"``,
        ``"non-finite loss"``), None while it runs.
    best_weights, optimizer, scheduler
        In memory only; a checkpoint stores them as tensors.
    """

    epoch: int = 0
    step: int = 0
    batch: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    best_score: float = -math.inf
    best_epoch: int = -1
    best_weights: dict | None = field(default=None, metadata=NOT_SAVED)
    history: list = field(default_factory=list)
    optimizer: torch.optim.Optimizer | None = field(default=None, metadata=NOT_SAVED)
    scheduler: object | None = field(default=None, metadata=NOT_SAVED)
    seconds: float = 0.0
    finished: str | None = None

    @classmethod
    def saved_fields(cls) -> list[str]:
        """Names of the fields a checkpoint's JSON holds."""
        return [f.name for f in fields(cls) if f.metadata.get("saved", True)]

    def to_dict(self) -> dict:
        """The saved fields as a dict of JSON values."""
        return {name: getattr(self, name) for name in self.saved_fields()}

    @classmethod
    def from_dict(cls, info: dict, **in_memory) -> TrainState:
        """A state from ``to_dict()``'s output (other keys ignored) and the in-memory fields
        given as keywords (``best_weights``, ``optimizer``, ``scheduler``).

        Parameters
        ----------
        info : dict
            Holds every saved field (``saved_fields()``); a missing one is a ``KeyError``.
        **in_memory
            Values of the fields that are not saved.

        Returns
        -------
        TrainState
        """
        return cls(**{name: info[name] for name in cls.saved_fields()}, **in_memory)

    def load(self, info: dict) -> None:
        """Overwrite the saved fields from ``info`` (a checkpoint's metadata).

        Parameters
        ----------
        info : dict
            Holds every saved field (other keys ignored); the in-memory fields are kept.
        """
        for name in self.saved_fields():
            setattr(self, name, info[name])


@dataclass
class FitResult:
    """What a training run did.

    Parameters
    ----------
    history : list of dict
        Per-epoch records (epoch 0: the initial weights' validation score).
    best_epoch : int
        Epoch of the best validation score; the network ends with its weights.
    best_score : float
        That score (PSNR in dB, Dice, or −loss without ground truth).
    score_name : str
        ``"psnr"``, ``"dice"`` or ``"-loss"``.
    stop_reason : str
        ``"epochs"``, ``"early stop"``, ``"time budget"`` or ``"non-finite loss"``.
    train_s : float
        Training time in seconds (all sessions of a resumed run).
    n_steps : int
        Optimiser steps taken.
    split : str
        How the data were split into training and validation.
    resumed_from : int or None
        The epoch a resumed run started from.
    """

    history: list
    best_epoch: int
    best_score: float
    score_name: str
    stop_reason: str
    train_s: float
    n_steps: int
    split: str
    resumed_from: int | None = None

    def summary(self, world_size: int = 1) -> dict:
        """The run folder's ``summary.json``.

        Parameters
        ----------
        world_size : int, default 1
            The number of processes the run trained with.

        Returns
        -------
        dict
            ``best_epoch``, ``best_score``, ``score_name``, ``stop_reason``, ``train_s``,
            ``n_steps``, ``split``, ``epochs_run`` (the history's length less epoch 0) and
            ``world_size``.
        """
        return {"best_epoch": self.best_epoch, "best_score": self.best_score,
                "score_name": self.score_name, "stop_reason": self.stop_reason,
                "train_s": self.train_s, "n_steps": self.n_steps, "split": self.split,
                "epochs_run": len(self.history) - 1, "world_size": world_size}
