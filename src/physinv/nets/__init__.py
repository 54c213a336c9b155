"""Physics-constrained networks (nn.Module): the operator fixed, a small learnable part
initialised at the analytic solution. So far: ``UnrolledLandweber``, ``LISTA`` (see the
networks issue for the rest)."""

from physinv.nets.base import PhysicsNet
from physinv.nets.unrolled import LISTA, UnrolledLandweber

__all__ = ["LISTA", "PhysicsNet", "UnrolledLandweber"]
