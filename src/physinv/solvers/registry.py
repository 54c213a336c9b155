"""Solvers by name, for the CLI and the benchmarks: ``run(method, y, op, **options)``.

Names: ``tikhonov``, ``wiener``, ``cg``, ``landweber``, ``ista``, ``fista``, ``tv``, ``rl``
(Richardson–Lucy), ``bayes-gauss``, ``bayes-studentt``, ``bayes-jmap``, ``potts``, ``fbp``
(Radon only). Options not used by a method are refused with the list it accepts.
"""

from __future__ import annotations

import inspect

from physinv.errors import InputError
from physinv.operators import FanBeam, Radon, fan_fbp, fbp
from physinv.solvers.bayes import gaussian_posterior
from physinv.solvers.closed_form import tikhonov, wiener
from physinv.solvers.iterative import cg, fista, ista, landweber
from physinv.solvers.potts import potts
from physinv.solvers.result import Result, check_problem
from physinv.solvers.richardson_lucy import richardson_lucy
from physinv.solvers.studentt import studentt
from physinv.solvers.tv import tv


def _fbp(y, op, filter="ramp"):  # noqa: A002
    if isinstance(op, FanBeam):
        return Result(x=fan_fbp(y, op, filter=filter), params={"filter": filter})
    if not isinstance(op, Radon):
        raise InputError("method", "fbp", "a Radon or fan-beam operator for filtered "
                         "back-projection")
    return Result(x=fbp(y, op, filter=filter), params={"filter": filter})


def _jmap(y, op, **kw):
    return studentt(y, op, method="jmap", **kw)


METHODS = {
    "tikhonov": tikhonov, "wiener": wiener, "cg": cg, "landweber": landweber, "ista": ista,
    "fista": fista, "tv": tv, "rl": richardson_lucy, "bayes-gauss": gaussian_posterior,
    "bayes-studentt": studentt, "bayes-jmap": _jmap, "potts": potts, "fbp": _fbp,
}
ITERATIVE = {"landweber", "ista", "fista", "tv", "rl", "bayes-studentt", "bayes-jmap",
             "potts"}


def accepted(method: str) -> list[str]:
    """The keyword options a registered solver accepts (its signature after ``y, op``).

    Parameters
    ----------
    method : str
        A name in ``METHODS``.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from physinv.solvers.registry import accepted
    >>> accepted("fbp")
    ['filter']
    """
    fn = METHODS[method]
    if fn is _jmap:
        fn = studentt
    return [p for p in inspect.signature(fn).parameters if p not in ("y", "op", "method")]


def run(method: str, y, op, **options) -> Result:
    """Run a solver by name on ``g = H x + ε`` (the CLI's and the benchmarks' entry point).

    Parameters
    ----------
    method : str
        A name in ``METHODS``: ``tikhonov``, ``wiener``, ``cg``, ``landweber``, ``ista``,
        ``fista``, ``tv``, ``rl``, ``bayes-gauss``, ``bayes-studentt``, ``bayes-jmap``,
        ``potts``, ``fbp`` (Radon only).
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement g.
    op : LinearOperator
        Forward operator H.
    **options
        Keyword options of that solver (see ``accepted``); ``None``-valued ones are left at
        the solver's defaults.

    Returns
    -------
    Result

    Raises
    ------
    InputError
        For an unknown method, or an option the method does not accept (the message lists
        those it accepts).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> from physinv.solvers.registry import run
    >>> run("tikhonov", torch.zeros(1, 1, 4, 4), Identity((4, 4)), lam=0.1, tol=None).params
    {'reg': 'gradient', 'lam': 0.1, 'path': 'fourier'}
    """
    if method not in METHODS:
        raise InputError("method", method, f"one of {sorted(METHODS)}")
    check_problem(y, op)
    options = {k: v for k, v in options.items() if v is not None}
    allowed = accepted(method)
    for key in options:
        if key not in allowed:
            raise InputError(key, options[key], f"no such option for {method}; it accepts "
                             f"{', '.join(allowed)}")
    return METHODS[method](y, op, **options)
