"""``TrainConfig``: every hyper-parameter of a training run, frozen and checked once.

What a run folder's ``config.json`` records under ``"training"`` is ``cfg.record(...)``: the
dataclass's fields as JSON values, with the precision and the device resolved to what the run
used — so a change of any of them between a run and its resumption is seen and refused
(``physinv.train.checkpoint.differences``), and two runs with equal configurations on the same
data give the same weights on the CPU.

>>> cfg = TrainConfig(epochs=5, patience=None)
>>> cfg.epochs, cfg.early_stopping
(5, False)
>>> from dataclasses import replace
>>> replace(cfg, lr=3e-4).lr
0.0003
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch

from physinv.errors import InputError, check_int, check_positive
from physinv.train.losses import LOSSES, Loss

PRECISIONS = ("auto", "float32", "bf16")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class TrainConfig:
    """The hyper-parameters of ``physinv.train.fit`` / ``Trainer``.

    Parameters
    ----------
    loss : str or Loss, default "supervised"
        ``"supervised"`` ‖f − f̂‖², ``"physics"`` (that + μ‖g − Hf̂‖²), ``"unsupervised"``
        ‖g − Hf̂‖² + λ‖Df̂‖², ``"segmentation"``, or a ``Loss`` instance.
    loss_options : dict, default {}
        Keyword arguments of the loss (``norm="log"``, ``mu``, ``lam``, ``reg``...).
    epochs : int, default 30
        Upper bound on the number of epochs.
    samples_per_epoch : int, default 32
        Training pairs drawn per epoch (fresh noise and symmetries for ``Measurements``).
    batch_size : int, default 4
        Global batch size (shared between the processes under torchrun).
    lr : float, default 1e-3
        AdamW learning rate of the CNN weights (float32 parameters).
    physics_lr : float, default 3e-2
        Learning rate of the physics parameters (float64: step sizes, thresholds, filter
        tables), relative to each parameter's initial RMS.
    weight_decay : float, default 1e-4
        AdamW weight decay of the CNN weights (none on physics parameters).
    clip : float, default 1.0
        Gradient-norm clipping threshold.
    patience : int or None, default 8
        Early stop after this many epochs without a better validation score; ``None``
        trains for exactly ``epochs`` epochs (the seed then fixes the weights).
    val_fraction : float, default 0.25
        Share of the training images held out for validation (``physinv.train.data.split``).
    max_time : float or None, default None
        Time budget in seconds, checked at each epoch end.
    seed : int, default 0
        Seed of the data order, the noise, the symmetries and dropout.
    dtype : torch.dtype or {"float32", "float64"}, default torch.float32
        Dtype of the tensors fed to the network (a name is converted).
    precision : {"auto", "float32", "bf16"}, default "auto"
        ``"auto"`` (bf16 autocast on CUDA, float32 elsewhere), ``"float32"`` or ``"bf16"``.
    device : str or None, default None
        ``None`` / ``"auto"`` (CUDA when there), ``"cpu"``, ``"cuda[:N]"``.
    save_every : int or None, default None
        With a run folder, also save the resume state every this many steps.

    Raises
    ------
    InputError
        For an unknown loss name, precision or dtype, a non-positive integer count, or a
        non-positive ``lr``, ``physics_lr``, ``clip`` or ``max_time``.
    """

    loss: str | Loss = "supervised"
    loss_options: dict = field(default_factory=dict)
    epochs: int = 30
    samples_per_epoch: int = 32
    batch_size: int = 4
    lr: float = 1e-3
    physics_lr: float = 3e-2
    weight_decay: float = 1e-4
    clip: float = 1.0
    patience: int | None = 8
    val_fraction: float = 0.25
    max_time: float | None = None
    seed: int = 0
    dtype: torch.dtype = torch.float32
    precision: str = "auto"
    device: str | None = None
    save_every: int | None = None

    def __post_init__(self):
        if isinstance(self.loss, str) and self.loss not in LOSSES:
            raise InputError("loss", self.loss, f"one of {sorted(LOSSES)}")
        for name in ("epochs", "samples_per_epoch", "batch_size"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        for name in ("lr", "physics_lr", "clip"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        for name in ("patience", "save_every"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(name, getattr(self, name)))
        if self.max_time is not None:
            object.__setattr__(self, "max_time", check_positive("max_time", self.max_time))
        if self.precision not in PRECISIONS:
            raise InputError("precision", self.precision, "'auto', 'float32' or 'bf16'")
        if isinstance(self.dtype, str):
            if self.dtype not in DTYPES:
                raise InputError("dtype", self.dtype, f"one of {sorted(DTYPES)}")
            object.__setattr__(self, "dtype", DTYPES[self.dtype])
        object.__setattr__(self, "loss_options", dict(self.loss_options))

    @property
    def early_stopping(self) -> bool:
        """Whether training may stop before ``epochs`` for lack of progress."""
        return self.patience is not None

    @property
    def loss_name(self) -> str:
        """The loss's name as the run records it."""
        if isinstance(self.loss, str):
            return self.loss
        return getattr(self.loss, "name", type(self.loss).__name__)

    def make_loss(self, op) -> Loss:
        """The loss object for the operator ``op`` (a ``Loss`` instance is used as it is).

        Parameters
        ----------
        op : LinearOperator
            The forward operator of the training data.

        Returns
        -------
        Loss
            ``LOSSES[loss](op, **loss_options)`` for a name; the instance itself otherwise.

        Examples
        --------
        >>> from physinv.operators import Identity
        >>> loss = TrainConfig(loss="physics", loss_options={"mu": 0.5}).make_loss(
        ...     Identity((16, 16)))
        >>> type(loss).__name__, loss.mu
        ('Physics', 0.5)
        """
        if isinstance(self.loss, str):
            return LOSSES[self.loss](op, **self.loss_options)
        return self.loss

    def use_amp(self, device: torch.device) -> bool:
        """Whether this run trains under bf16 autocast on ``device``.

        Parameters
        ----------
        device : torch.device
            The training device.

        Returns
        -------
        bool
            ``"auto"``: True on a CUDA device that supports bf16, False elsewhere;
            ``"bf16"``: True; ``"float32"``: False.
        """
        if self.precision == "auto":
            return device.type == "cuda" and torch.cuda.is_bf16_supported()
        return self.precision == "bf16"

    def record(self, device: torch.device) -> dict:
        """The ``"training"`` block of ``config.json``: the fields as JSON values, the loss by
        name, the precision and the device as this run resolved them.

        Parameters
        ----------
        device : torch.device
            The device the run trains on.

        Returns
        -------
        dict
            ``{field: value}`` in the order of the fields.
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "loss":
                value = self.loss_name
            elif f.name == "dtype":
                value = str(value).replace("torch.", "")
            elif f.name == "precision":
                value = "bf16" if self.use_amp(device) else "float32"
            elif f.name == "device":
                value = str(device)
            out[f.name] = value
        return out

    def stops_early(self, epoch: int, best_epoch: int) -> bool:
        """Whether ``patience`` epochs have passed since the best one.

        Parameters
        ----------
        epoch : int
            The epoch just finished.
        best_epoch : int
            The epoch of the best validation score so far.

        Returns
        -------
        bool
            ``epoch − best_epoch ≥ patience``; always False with ``patience=None``.
        """
        return self.patience is not None and epoch - best_epoch >= self.patience

    def over_budget(self, seconds: float) -> bool:
        """Whether the time budget (if any) is spent.

        Parameters
        ----------
        seconds : float
            Training time so far, in seconds.

        Returns
        -------
        bool
            ``seconds ≥ max_time``; always False with ``max_time=None``.
        """
        return self.max_time is not None and seconds >= self.max_time
