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
    """(mean, variance) over ``n_samples`` forward passes with dropout on."""
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
    """(mean, variance) over the members' outputs (at least two)."""
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
