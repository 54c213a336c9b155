"""Classical and Bayesian solvers: pure functions ``solver(y, op, ...) -> Result``.

Quadratic: ``tikhonov`` (λ given or ``"gcv"``/``"discrepancy"``/``"lcurve"``/``"evidence"``),
``wiener``. Iterative: ``cg``, ``landweber``, ``ista``, ``fista``, ``tv``, ``richardson_lucy``.
Bayesian: ``gaussian_posterior`` (mean + variance), ``studentt`` (JMAP / VBA), ``potts``
(joint restoration and segmentation). Every one returns a ``Result``.
"""

from physinv.solvers.bayes import gaussian_posterior
from physinv.solvers.closed_form import tikhonov, wiener
from physinv.solvers.iterative import cg, fista, ista, landweber, soft_threshold, solve_spd
from physinv.solvers.potts import potts
from physinv.solvers.result import Result
from physinv.solvers.richardson_lucy import richardson_lucy
from physinv.solvers.studentt import studentt
from physinv.solvers.tv import tv

__all__ = ["Result", "cg", "fista", "gaussian_posterior", "ista", "landweber", "potts",
           "richardson_lucy", "soft_threshold", "solve_spd", "studentt", "tikhonov", "tv",
           "wiener"]
