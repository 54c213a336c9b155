"""``PhysicsNet``: what every physics-constrained network shares.

The forward operator is a fixed submodule (buffers only, never in the optimiser); learnable
layers are ``Parameter``s initialised at their analytic values, so that an untrained network is
the classical solver it grows from. Two templates hold for every network:

- ``forward(y)`` checks ``y`` against the operator (``op.check_measurement``), then calls the
  network's ``_reconstruct(y)`` — as operators check, then call ``_forward``;
- ``config`` is recorded from the constructor's signature (every argument but ``op``, defaults
  applied; values a constructor resolves — a default step 1/‖H‖², a wavelet level — recorded
  as resolved through ``record_resolved``), so that ``type(net)(op, **net.config)`` rebuilds
  the network. ``net.for_operator(op)`` does so around the same physics on another grid —
  trained on 128×128 patches, applied to 256×256 images — carrying the learned parameters.

>>> import torch
>>> from physinv.operators import Identity
>>> class Scale(PhysicsNet):
...     def __init__(self, op, gain: float = 1.0):
...         super().__init__(op)
...         self.gain = torch.nn.Parameter(torch.tensor(gain))
...     def _reconstruct(self, y):
...         return self.gain * y
>>> net = Scale(Identity((4, 4)))
>>> net.config, net.trainable_parameters()
({'gain': 1.0}, 1)
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch import nn

from physinv.errors import InputError
from physinv.operators.base import LinearOperator


class PhysicsNet(nn.Module):
    """Base class of the networks: a fixed operator, a reconstruction hook, a recorded config.

    A network maps a measurement to an estimate, x̂ = f_θ(y), with the forward operator H
    inside it as a fixed submodule. Subclasses implement ``_reconstruct(y)`` (``y`` already
    checked) and may override ``_resize_parameters`` for parameters tied to the image grid;
    their constructor's first argument is ``op`` and its other arguments are recorded in
    ``config``.

    Parameters
    ----------
    op : LinearOperator
        The forward operator H, from images ``(B, C, *op.in_shape)`` to measurements
        ``(B, C, *op.out_shape)``.

    Attributes
    ----------
    op : LinearOperator
        The operator (a submodule: moved with the network, not trained).
    config : dict
        The constructor's arguments but ``op``, as JSON values: ``type(net)(op, **config)``
        rebuilds the network (what a checkpoint records).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.nets import FourierNet
    >>> net = FourierNet(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
    >>> net.config["lam"], tuple(net(torch.rand(2, 1, 16, 16)).shape)
    (0.01, (2, 1, 16, 16))
    """

    def __init__(self, op: LinearOperator):
        super().__init__()
        if not isinstance(op, LinearOperator):
            raise InputError("op", op, "a physinv.operators.LinearOperator")
        self.op = op
        self.config: dict = {}  # filled from the constructor's arguments when it returns
        self._resolved: dict = {}

    def __init_subclass__(cls, **kwargs):
        """Wrap the subclass's ``__init__`` so that it records ``config`` when it returns."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:  # the parent's (wrapped) constructor records for this class too
            return
        signature = inspect.signature(init)
        parameters = list(signature.parameters.values())
        if len(parameters) < 2 or parameters[1].name != "op" or any(
                p.kind is p.VAR_POSITIONAL for p in parameters):
            raise TypeError(f"{cls.__name__}.__init__ must be (self, op, ...) without *args: "
                            "its arguments but op are recorded as keywords in config")

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            if type(self).__init__ is __init__:  # the outermost constructor records
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                self.config = _recorded(bound, self._resolved)

        cls.__init__ = __init__

    def record_resolved(self, **values) -> None:
        """Record in ``config`` the values constructor arguments were resolved to.

        For a default computed from the operator (``step=None`` → 1/‖H‖², ``level=None`` →
        the deepest wavelet level up to 3) or a number normalised by a check (``10.0`` → 10):
        the configuration then rebuilds the same network on another grid, and holds what the
        network was built with. Called from the constructor; names that are not arguments of
        the constructor called are ignored.

        Parameters
        ----------
        **values
            ``name=value`` for constructor arguments (JSON values).
        """
        self._resolved.update(values)

    def forward(self, y: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """The estimate x̂ = f_θ(y): checks ``y``, then runs the network (``_reconstruct``).

        Parameters
        ----------
        y : torch.Tensor, shape (B, C, *op.out_shape)
            Measurements, float32 or float64 (the dtype is preserved); NaN and infinite values
            are refused.
        *args, **kwargs
            Passed on to ``_reconstruct`` (e.g. ``UnrolledLandweber``'s start ``x0``).

        Returns
        -------
        torch.Tensor, shape (B, C, *op.in_shape)
            The estimate (for segmentation heads: per-pixel logits).
        """
        self.op.check_measurement(y, "y")
        return self._reconstruct(y, *args, **kwargs)

    def _reconstruct(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The network on a checked measurement batch ``y``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _reconstruct")

    def fixed_parameters(self) -> int:
        """Number of fixed values (buffers: the operator's physics and frozen layers).

        Returns
        -------
        int
            Elements of every buffer and of every parameter with ``requires_grad=False``.
        """
        frozen = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        return int(sum(b.numel() for b in self.buffers()) + frozen)

    def trainable_parameters(self) -> int:
        """Number of learnable values.

        Returns
        -------
        int
            Elements of every parameter with ``requires_grad=True``.
        """
        return int(sum(p.numel() for p in self.parameters() if p.requires_grad))

    def for_operator(self, op: LinearOperator, **changes) -> PhysicsNet:
        """The same network (same ``config``, learned parameters) around ``op``.

        Typically the same physics on another image size. Buffers derived from the operator
        are recomputed; parameters tied to the grid (per-frequency tables) are moved through
        their spatial kernel where the network says how (``_resize_parameters``).

        Parameters
        ----------
        op : LinearOperator
            The operator to build around, e.g. the same PSF on a larger grid.
        **changes
            Configuration values to change (e.g. a learned regulariser's per-task
            ``lam_scale``); the learned parameters are carried all the same.

        Returns
        -------
        PhysicsNet
            A new network of the same class, on this network's device.

        Raises
        ------
        physinv.errors.InputError
            When a parameter is tied to the grid and cannot be moved.

        Examples
        --------
        >>> import torch
        >>> from physinv.operators import Convolution, psf
        >>> from physinv.nets import FourierNet
        >>> small = FourierNet(Convolution(psf.gaussian(1.0, 7), (16, 16)), structure="radial")
        >>> large = small.for_operator(Convolution(psf.gaussian(1.0, 7), (32, 32)))
        >>> tuple(large(torch.rand(1, 1, 32, 32)).shape)
        (1, 1, 32, 32)
        """
        new = type(self)(op, **{**self.config, **changes})
        new.to(device=_device(self))
        mine = dict(self.named_parameters())
        theirs = dict(new.named_parameters())
        resized = self._resize_parameters(tuple(self.op.in_shape), tuple(op.in_shape), new) \
            if tuple(self.op.in_shape) != tuple(op.in_shape) else {}
        with torch.no_grad():
            for name, target in theirs.items():
                value = resized.get(name, mine[name])
                if value.shape != target.shape:
                    raise InputError("op", f"{type(op).__name__}{tuple(op.in_shape)}",
                                     f"the grid {tuple(self.op.in_shape)} this "
                                     f"{type(self).__name__} was built for (parameter "
                                     f"{name!r} is tied to it)")
                target.copy_(value)
        return new

    def _resize_parameters(self, old_shape, new_shape, new=None) -> dict[str, torch.Tensor]:
        """Grid-tied parameters recomputed for ``new_shape`` (none by default); ``new`` is the
        network just built around the new operator, at its initialisation."""
        return {}

    def extra_repr(self) -> str:
        """What ``print(net)`` shows besides the submodules: fixed and trainable counts."""
        return (f"fixed={self.fixed_parameters()} (operator {type(self.op).__name__}), "
                f"trainable={self.trainable_parameters()}")


def _recorded(bound: inspect.BoundArguments, resolved: dict) -> dict:
    """The configuration: the bound arguments but ``self`` and ``op`` (``**kwargs`` spread),
    with the values the constructor resolved them to."""
    config = {}
    for name, value in list(bound.arguments.items())[2:]:
        if bound.signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            config.update(value)
        else:
            config[name] = value
    return {name: resolved.get(name, value) for name, value in config.items()}


def _device(module: nn.Module) -> torch.device:
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return torch.device("cpu")
