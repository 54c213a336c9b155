"""``Result``: what every solver returns, and the shared input checks of the solvers."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from physinv.errors import InputError, check_finite, check_image
from physinv.operators.base import LinearOperator


@dataclass
class Result:
    """A reconstruction: what every solver returns.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, *op.in_shape)
        The estimate, in the dtype of the data.
    variance : torch.Tensor, shape (B, C, *op.in_shape), optional
        Per-pixel posterior variance where the method defines one, else ``None``.
    history : dict of str to list, default {}
        Per-iteration values, e.g. ``{"objective": [...], "residual": [...]}``.
    params : dict, default {}
        Chosen or estimated (hyper-)parameters, e.g. ``{"lam": 0.01, "path": "fourier"}``.
    n_iter : int, default 0
        Iterations run (0 for closed forms).
    converged : bool, default True
        Whether the tolerance was met (closed forms: True).
    stop_reason : str, default "closed form"
        ``"tolerance"``, ``"max_iter"``, ``"closed form"`` …
    labels : torch.Tensor, shape (B, C, H, W), int64, optional
        A label map for segmentation methods (``potts``), else ``None``.

    Examples
    --------
    >>> import torch
    >>> from physinv.solvers import Result
    >>> r = Result(x=torch.zeros(1, 1, 4, 4), params={"lam": 0.01, "path": "fourier"})
    >>> r.summary()
    'lam=0.01, path=fourier'
    """

    x: torch.Tensor
    variance: torch.Tensor | None = None
    history: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    n_iter: int = 0
    converged: bool = True
    stop_reason: str = "closed form"
    labels: torch.Tensor | None = None

    def summary(self) -> str:
        """One line for logs: the scalar parameters, iterations and stop reason, last residual.

        Returns
        -------
        str
            E.g. ``"lam=0.01, path=cg, iterations=42 (tolerance), residual=0.0031"``.
        """
        parts = []
        for key, value in self.params.items():
            if isinstance(value, float):
                parts.append(f"{key}={value:.4g}")
            elif isinstance(value, int | str | bool):
                parts.append(f"{key}={value}")
        if self.n_iter:
            parts.append(f"iterations={self.n_iter} ({self.stop_reason})")
        if self.history.get("residual"):
            parts.append(f"residual={self.history['residual'][-1]:.4g}")
        return ", ".join(parts)


def check_problem(y, op) -> torch.Tensor:
    """Validate a measurement ``y`` against the operator ``op`` (every solver's first line).

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurement: a finite floating-point tensor.
    op : LinearOperator
        The forward operator.

    Returns
    -------
    torch.Tensor
        ``y`` itself.

    Raises
    ------
    InputError
        Naming the argument, what it got and what was expected.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> from physinv.solvers.result import check_problem
    >>> check_problem(torch.zeros(1, 1, 8, 8), Identity((4, 4)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: y: got tensor of shape (1, 1, 8, 8) ... the operator Identity
    """
    if not isinstance(op, LinearOperator):
        raise InputError("op", op, "a physinv.operators.LinearOperator")
    if not isinstance(y, torch.Tensor):
        raise InputError("y", y, f"a torch.Tensor of shape (B, C, *{op.out_shape})")
    if y.dim() != 2 + len(op.out_shape) or tuple(y.shape[2:]) != tuple(op.out_shape):
        raise InputError("y", y, f"shape (B, C, *{op.out_shape}) to match the operator "
                         f"{type(op).__name__}")
    if not y.is_floating_point():
        raise InputError("y", y, "a floating-point tensor")
    check_finite("y", y)
    return y


def check_x0(x0, y, op) -> torch.Tensor:
    """The starting point of an iterative solver: zeros by default, else a validated image.

    Parameters
    ----------
    x0 : torch.Tensor, shape (B, C, *op.in_shape), or None
        The caller's starting point.
    y : torch.Tensor
        The measurement: gives batch size, channels, dtype and device.
    op : LinearOperator
        Gives the image shape ``op.in_shape``.

    Returns
    -------
    torch.Tensor, shape (y.shape[0], y.shape[1], *op.in_shape)
        In the dtype and on the device of ``y``.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Decimation
    >>> from physinv.solvers.result import check_x0
    >>> y = torch.ones(2, 1, 4, 4, dtype=torch.float64)
    >>> x0 = check_x0(None, y, Decimation((8, 8), 2))
    >>> tuple(x0.shape), x0.dtype, float(x0.abs().sum())
    ((2, 1, 8, 8), torch.float64, 0.0)
    """
    if x0 is None:
        return torch.zeros(*y.shape[:2], *op.in_shape, dtype=y.dtype, device=y.device)
    check_image("x0", x0, shape=op.in_shape)
    return x0.to(dtype=y.dtype, device=y.device)
