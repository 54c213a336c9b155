"""Training of physics-constrained networks: data (``Measurements``, ``Pairs``), losses,
``TrainConfig`` and ``Trainer`` (``fit`` is the thin wrapper, see ``physinv.train.fit``), the
one recipe every caller uses (``physinv.train.recipe``: a network by name, trained with a named
preset), checkpoints and ``load`` (``physinv.train.checkpoint``), torch.distributed data
parallelism (``physinv.train.distributed``) and run logs.

Layer: above ``physinv.nets`` (it trains any ``PhysicsNet``; it knows no particular one),
below ``physinv.thermal`` and ``physinv.experiments``."""

from physinv.train import checkpoint
from physinv.train.checkpoint import load
from physinv.train.config import TrainConfig
from physinv.train.data import Measurements, Pairs
from physinv.train.fit import fit
from physinv.train.losses import LOSSES, Physics, Supervised, Unsupervised
from physinv.train.state import FitResult, TrainState
from physinv.train.trainer import Trainer

__all__ = ["LOSSES", "FitResult", "Measurements", "Pairs", "Physics", "Supervised",
           "TrainConfig", "TrainState", "Trainer", "Unsupervised", "checkpoint", "fit", "load"]
