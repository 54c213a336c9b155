"""Training of physics-constrained networks: data (``Measurements``, ``Pairs``), losses,
``fit`` (see ``physinv.train.fit``), checkpoints and ``load`` (``physinv.train.checkpoint``),
torch.distributed data parallelism (``physinv.train.distributed``) and run logs."""

from physinv.train import checkpoint
from physinv.train.checkpoint import load
from physinv.train.data import Measurements, Pairs
from physinv.train.fit import FitResult, TrainState, fit
from physinv.train.losses import LOSSES, Physics, Supervised, Unsupervised

__all__ = ["LOSSES", "FitResult", "Measurements", "Pairs", "Physics", "Supervised",
           "TrainState", "Unsupervised", "checkpoint", "fit", "load"]
