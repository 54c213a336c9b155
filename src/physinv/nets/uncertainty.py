"""Uncertainty for any network: MC-dropout and deep ensembles → a mean and a variance map.

- ``mc_dropout(net, y, n_samples)``: the network's dropout layers kept active at inference
  (Gal & Ghahramani 2016), everything else in eval mode; mean and variance over the samples.
- ``ensemble(nets, y)``: mean and variance over independently trained members
  (Lakshminarayanan et al. 2017).
Calibration is measured, not assumed: ``physinv.metrics.coverage(mean, var.sqrt(), truth)`` is
the fraction of pixels inside the 95 % interval (a calibrated map gives ~0.95).
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError, check_int


def _dropouts(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Dropout, nn.Dropout2d))]


@torch.no_grad()
def mc_dropout(net: nn.Module, y: torch.Tensor, n_samples: int = 16,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of a network's output over passes with its dropout layers active.

    .. math::

        μ = (1/S) Σₛ f_θₛ(g),   σ² = (1/(S − 1)) Σₛ (f_θₛ(g) − μ)²

    with θₛ the weights under the s-th dropout mask (everything else in eval mode): an
    approximate posterior mean and variance. The random state is restored afterwards.

    Parameters
    ----------
    net : torch.nn.Module
        A network built with ``dropout > 0``.
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurements.
    n_samples : int, default 16
        Number of passes S ≥ 2.
    seed : int, default 0
        Seed of the dropout masks.

    Returns
    -------
    mean, variance : torch.Tensor, shape (B, C, *op.in_shape)
        Per-pixel mean and (unbiased) variance of the samples.

    Raises
    ------
    InputError
        For a network without dropout layers or fewer than 2 samples.

    References
    ----------
    .. [1] Y. Gal, Z. Ghahramani, "Dropout as a Bayesian approximation: representing model
           uncertainty in deep learning", Proc. ICML, PMLR 48, 1050–1059, 2016.

    Examples
    --------
    >>> import torch
    >>> from physinv.nets import DnCNN
    >>> from physinv.operators import Identity
    >>> net = DnCNN(Identity((16, 16)), width=8, depth=3, dropout=0.2)
    >>> _ = torch.nn.init.normal_(net.cnn[-1].weight, std=0.1)  # as if trained
    >>> mean, var = mc_dropout(net, torch.rand(1, 1, 16, 16), n_samples=4)
    >>> tuple(mean.shape), bool(var.max() > 0)
    ((1, 1, 16, 16), True)
    """
    n_samples = check_int("n_samples", n_samples, minimum=2)
    layers = _dropouts(net)
    if not layers:
        raise InputError("net", type(net).__name__,
                         "a network built with dropout > 0 for MC-dropout")
    was_training = net.training
    net.eval()
    for m in layers:
        m.train()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        samples = torch.stack([net(y) for _ in range(n_samples)])
    finally:
        torch.random.set_rng_state(state)
        net.train(was_training)
    return samples.mean(0), samples.var(0)


@torch.no_grad()
def ensemble(nets, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance over the outputs of independently trained networks.

    .. math::

        μ = (1/M) Σₘ f_m(g),   σ² = (1/(M − 1)) Σₘ (f_m(g) − μ)²

    each member run in eval mode (and left in the mode it was in).

    Parameters
    ----------
    nets : iterable of torch.nn.Module
        The members, M ≥ 2 (typically one network trained from several seeds).
    y : torch.Tensor, shape (B, C, *op.out_shape)
        Measurements.

    Returns
    -------
    mean, variance : torch.Tensor, shape (B, C, *op.in_shape)
        Per-pixel mean and (unbiased) variance over the members.

    Raises
    ------
    InputError
        For fewer than two members.

    References
    ----------
    .. [1] B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and scalable predictive
           uncertainty estimation using deep ensembles", Advances in Neural Information
           Processing Systems 30, 2017.

    Examples
    --------
    >>> import torch
    >>> from physinv.nets import FourierNet
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 7), (16, 16))
    >>> mean, var = ensemble([FourierNet(op, lam=0.01), FourierNet(op, lam=0.1)],
    ...                      torch.rand(1, 1, 16, 16))
    >>> tuple(mean.shape), bool(var.max() > 0)
    ((1, 1, 16, 16), True)
    """
    nets = list(nets)
    if len(nets) < 2:
        raise InputError("nets", len(nets), "at least two ensemble members")
    outs = []
    for net in nets:
        was_training = net.training
        net.eval()
        outs.append(net(y))
        net.train(was_training)
    samples = torch.stack(outs)
    return samples.mean(0), samples.var(0)
