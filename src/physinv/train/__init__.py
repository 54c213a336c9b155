"""Training of physics-constrained networks: data (``Measurements``, ``Pairs``), losses and
``fit`` (see ``physinv.train.fit``)."""

from physinv.train.data import Measurements, Pairs
from physinv.train.fit import FitResult, TrainState, fit
from physinv.train.losses import LOSSES, Physics, Supervised, Unsupervised

__all__ = ["LOSSES", "FitResult", "Measurements", "Pairs", "Physics", "Supervised",
           "TrainState", "Unsupervised", "fit"]
