"""Physics-constrained networks (nn.Module): the operator fixed, a small learnable part
initialised at the analytic solution, so an untrained network is its classical solver.

Structure classes: analytic (``AnalyticNet``), transform-domain (``FourierNet``, ``SVDNet``,
``WaveletNet``), decomposed (``DecomposedNet``, ``TikhonovResidual``), unrolled
(``UnrolledLandweber``, ``LISTA``, ``UnrolledHQS``); black-box baselines (``UNet``, ``DnCNN``);
uncertainty by MC-dropout or ensembles (``physinv.nets.uncertainty``); a registry by name
(``physinv.nets.registry``).

Every network is a ``PhysicsNet``: its ``forward(y)`` checks ``y`` against the operator and
calls the network's ``_reconstruct(y)``, and its ``config`` is recorded from the constructor's
signature. A new network subclasses it, implements ``__init__(self, op, ...)`` and
``_reconstruct``, and gets an entry in ``registry.NETWORKS``.
"""

from physinv.nets.analytic import AnalyticNet
from physinv.nets.base import PhysicsNet
from physinv.nets.blackbox import DnCNN, UNet
from physinv.nets.decomposed import DecomposedNet, TikhonovResidual
from physinv.nets.spectral import FourierNet, SVDNet, WaveletNet
from physinv.nets.unrolled import LISTA, UnrolledHQS, UnrolledLandweber

__all__ = ["LISTA", "AnalyticNet", "DecomposedNet", "DnCNN", "FourierNet", "PhysicsNet",
           "SVDNet", "TikhonovResidual", "UNet", "UnrolledHQS", "UnrolledLandweber",
           "WaveletNet"]
