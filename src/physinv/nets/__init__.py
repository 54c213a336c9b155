"""Physics-constrained networks (nn.Module): the operator fixed, a small learnable part
initialised at the analytic solution. So far: ``AnalyticNet``, ``FourierNet``
(per-frequency), ``SVDNet``, ``UnrolledLandweber``, ``LISTA`` (see the networks issue for the
rest)."""

from physinv.nets.analytic import AnalyticNet
from physinv.nets.base import PhysicsNet
from physinv.nets.spectral import FourierNet, SVDNet
from physinv.nets.unrolled import LISTA, UnrolledLandweber

__all__ = ["LISTA", "AnalyticNet", "FourierNet", "PhysicsNet", "SVDNet", "UnrolledLandweber"]
