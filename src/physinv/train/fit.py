"""``fit(net, data, loss=...)``: the training loop every network shares.

Losses (``physinv.train.losses``): ``"supervised"`` ‖f − f̂‖² (or L1, or per-image log),
``"physics"`` that plus μ‖g − Hf̂‖², ``"unsupervised"`` ‖g − Hf̂‖² + λ‖Df̂‖² with no ground
truth. AdamW with a cosine schedule and gradient-norm clipping; physics parameters (float64:
step sizes, thresholds, filter tables, spectral profiles) get the rate ``physics_lr`` relative
to their initial RMS (1 for those starting at 0), CNN weights the plain ``lr``. Each epoch
draws ``samples_per_epoch`` pairs (fresh noise and symmetries for ``Measurements``);
validation after each epoch on fixed measurements — PSNR when the loss uses ground truth, the
unsupervised loss otherwise — with early stopping and the best weights restored at the end.
A non-finite loss stops training with the last good weights restored (``stop_reason=
"non-finite loss"``, and a warning says so). Everything random comes from ``seed``: on the
CPU two runs give the same weights.

The loop's state (epoch, optimiser, scheduler, best weights) lives in ``TrainState`` so that
checkpoints and exact resume can hook in (``callback(state)`` after each epoch).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from physinv.errors import InputError, check_int, check_positive
from physinv.metrics import psnr
from physinv.train.data import Measurements, Pairs, split
from physinv.train.losses import LOSSES, Loss

VAL_SEED = 777
ADAM_EPS = 1e-12  # gradients of physics parameters can be ~1e-9: the default 1e-8 would stall them


@dataclass
class TrainState:
    """Everything the loop carries from epoch to epoch."""

    epoch: int = 0
    step: int = 0
    best_score: float = -math.inf
    best_epoch: int = -1
    best_weights: dict | None = None
    history: list = field(default_factory=list)
    optimizer: torch.optim.Optimizer | None = None
    scheduler: object | None = None


@dataclass
class FitResult:
    """What ``fit`` did: per-epoch history, the best epoch and score, why it stopped."""

    history: list
    best_epoch: int
    best_score: float
    score_name: str
    stop_reason: str
    train_s: float
    n_steps: int
    split: str


def _learned_state(net: nn.Module) -> dict:
    """A copy of the learned values only (the networks keep no learned buffers): the fixed
    operator — for CT millions of projector entries — is not copied at each new best."""
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def _param_groups(net: nn.Module, lr: float, physics_lr: float, weight_decay: float):
    cnn, physics = [], []
    for p in net.parameters():
        if not p.requires_grad:
            continue
        (physics if p.dtype == torch.float64 else cnn).append(p)
    groups = []
    if cnn:
        groups.append({"params": cnn, "lr": lr, "weight_decay": weight_decay})
    for p in physics:
        rms = float(p.detach().pow(2).mean().sqrt())
        scale = rms if rms > 0 and math.isfinite(rms) else 1.0
        groups.append({"params": [p], "lr": physics_lr * scale, "weight_decay": 0.0})
    return groups


def _resolve_device(device) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError("device", device, "'auto', 'cpu' or 'cuda[:N]'") from None
    if dev.type == "cuda" and (not torch.cuda.is_available()
                               or (dev.index or 0) >= torch.cuda.device_count()):
        raise InputError("device", device, "a device that exists on this machine",
                         f"{torch.cuda.device_count()} CUDA device(s) visible")
    return dev


def _score(net, loss: Loss, y, x, batch_size: int) -> float:
    """Validation score (higher is better): mean PSNR, or −loss without ground truth."""
    net.eval()
    values = []
    with torch.no_grad():
        for start in range(0, y.shape[0], batch_size):
            yb = y[start: start + batch_size]
            est = net(yb)
            if loss.uses_truth and x is not None:
                values.append(psnr(est, x[start: start + batch_size].to(est)))
            else:
                values.append(-loss(est, yb, None).reshape(1) * torch.ones(yb.shape[0]))
    net.train()
    return float(torch.cat(values).mean())


def fit(net: nn.Module, data: Measurements | Pairs, loss: str | Loss = "supervised", *,
        epochs: int = 30, samples_per_epoch: int = 32, batch_size: int = 4, lr: float = 1e-3,
        physics_lr: float = 3e-2,
        weight_decay: float = 1e-4, clip: float = 1.0, patience: int = 8,
        val_fraction: float = 0.25, max_time: float | None = None, seed: int = 0,
        dtype: torch.dtype = torch.float32, device=None, progress: bool = False,
        callback: Callable[[TrainState], None] | None = None, **loss_options) -> FitResult:
    """Train ``net`` on ``data``; see the module docstring. Returns a ``FitResult``; ``net``
    ends with its best validation weights."""
    if not isinstance(data, (Measurements, Pairs)):
        raise InputError("data", type(data).__name__,
                         "physinv.train.Measurements(clean, op, noise) or Pairs(ys, xs, op)")
    if tuple(data.op.in_shape) != tuple(net.op.in_shape) or \
            tuple(data.op.out_shape) != tuple(net.op.out_shape):
        raise InputError("data", f"operator {tuple(data.op.in_shape)}→{tuple(data.op.out_shape)}",
                         f"the network's operator shapes {tuple(net.op.in_shape)}→"
                         f"{tuple(net.op.out_shape)} (build the net with "
                         "net.for_operator(data.op))")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise InputError("loss", loss, f"one of {sorted(LOSSES)}")
        loss = LOSSES[loss](net.op, **loss_options)
    if loss.uses_truth and not data.supervised:
        raise InputError("loss", loss.name, "'unsupervised' for data without ground truth")
    epochs = check_int("epochs", epochs)
    samples_per_epoch = check_int("samples_per_epoch", samples_per_epoch)
    batch_size = check_int("batch_size", batch_size)
    lr = check_positive("lr", lr)
    clip = check_positive("clip", clip)
    patience = check_int("patience", patience)
    if max_time is not None:
        max_time = check_positive("max_time", max_time)
    dev = _resolve_device(device)
    if not any(p.requires_grad for p in net.parameters()):
        raise InputError("net", type(net).__name__, "a network with trainable parameters")

    torch.manual_seed(seed)  # dropout
    net.to(dev)
    net.train()
    train_part, val_part, split_note = split(data, val_fraction, seed)
    val_y, val_x = val_part.fixed(VAL_SEED + seed)
    val_y = val_y.to(dev, dtype)
    val_x = None if val_x is None else val_x.to(dev, dtype)

    state = TrainState()
    physics_lr = check_positive("physics_lr", physics_lr)
    state.optimizer = torch.optim.AdamW(_param_groups(net, lr, physics_lr, weight_decay),
                                        eps=ADAM_EPS)
    steps_per_epoch = math.ceil(samples_per_epoch / batch_size)
    state.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        state.optimizer, T_max=epochs * steps_per_epoch)
    params = [p for p in net.parameters() if p.requires_grad]
    state.best_score = _score(net, loss, val_y, val_x, batch_size)
    state.best_epoch = 0
    state.best_weights = _learned_state(net)
    state.history.append({"epoch": 0, "train_loss": None, "val": state.best_score,
                          "lr": lr, "seconds": 0.0})
    stop_reason = "epochs"
    start = time.perf_counter()
    bar = _progress(progress, epochs)
    try:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            total, count = 0.0, 0
            for yb, xb in train_part.batches(epoch, samples_per_epoch, batch_size, seed):
                yb = yb.to(dev, dtype)
                xb = None if xb is None else xb.to(dev, dtype)
                value = loss(net(yb), yb, xb)
                if not torch.isfinite(value):
                    stop_reason = "non-finite loss"
                    break
                state.optimizer.zero_grad(set_to_none=True)
                value.backward()
                torch.nn.utils.clip_grad_norm_(params, clip)
                state.optimizer.step()
                state.scheduler.step()
                state.step += 1
                total += float(value.detach()) * yb.shape[0]
                count += yb.shape[0]
            if stop_reason == "non-finite loss":
                net.load_state_dict(state.best_weights, strict=False)
                warnings.warn(f"training stopped at epoch {epoch}: the loss became non-finite; "
                              f"the weights of epoch {state.best_epoch} (the last good best) "
                              "were restored", RuntimeWarning, stacklevel=2)
                break
            score = _score(net, loss, val_y, val_x, batch_size)
            elapsed = time.perf_counter() - start
            state.history.append({"epoch": epoch, "train_loss": total / max(count, 1),
                                  "val": score, "lr": state.scheduler.get_last_lr()[0],
                                  "seconds": elapsed})
            if math.isfinite(score) and score > state.best_score:
                state.best_score, state.best_epoch = score, epoch
                state.best_weights = _learned_state(net)
            if bar is not None:
                bar[0].update(bar[1], advance=1,
                              description=f"epoch {epoch} val {score:.3f}")
            if callback is not None:
                callback(state)
            if epoch - state.best_epoch >= patience:
                stop_reason = "early stop"
                break
            if max_time is not None and elapsed >= max_time:
                stop_reason = "time budget"
                break
    finally:
        if bar is not None:
            bar[0].stop()
    net.load_state_dict(state.best_weights, strict=False)
    net.eval()
    return FitResult(history=state.history, best_epoch=state.best_epoch,
                     best_score=state.best_score,
                     score_name="psnr" if loss.uses_truth and val_x is not None else "-loss",
                     stop_reason=stop_reason, train_s=time.perf_counter() - start,
                     n_steps=state.step, split=split_note)


def _progress(enabled: bool, epochs: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                   transient=True)
    bar.start()
    return bar, bar.add_task("training", total=epochs)
