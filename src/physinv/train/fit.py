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

With ``out=folder`` the run is kept (``physinv.train.checkpoint``): ``config.json``, the best
weights ``model.safetensors`` (safetensors, written atomically at each new best), the resume
state ``last.safetensors`` (each epoch end, and every ``save_every`` steps) and the metrics
(``physinv.train.logs``). ``resume=True`` continues a run from its last state — optimiser,
scheduler, random states and the position in the epoch restored — and ends with the same
weights, bit for bit on the CPU, as a run that was never interrupted; a changed configuration is
refused with the list of differences. An existing run folder is never replaced unless
``overwrite=True``.

Under ``torchrun`` (``physinv.train.distributed``) the network runs inside
DistributedDataParallel: every process computes its share of each global batch of
``batch_size`` samples (the same samples a single process would draw), gradients are averaged
so that the update equals the single-process one, validation is split between the processes
and only rank 0 writes. ``precision="auto"`` trains in bf16 autocast on CUDA (the operators'
FFTs and projections stay in float32) and in float32 on the CPU.
"""

from __future__ import annotations

import gc
import math
import shutil
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from physinv.errors import InputError, check_int, check_positive
from physinv.metrics import psnr
from physinv.train import checkpoint as ckpt
from physinv.train.data import Measurements, Pairs, split
from physinv.train.distributed import Context, wrap
from physinv.train.logs import RunLog
from physinv.train.losses import LOSSES, Loss

VAL_SEED = 777
ADAM_EPS = 1e-12  # gradients of physics parameters can be ~1e-9: the default 1e-8 would stall them
RUN_FILES = (ckpt.CONFIG, ckpt.MODEL, ckpt.LAST, "metrics.csv", "metrics.jsonl", "summary.json")


@dataclass
class TrainState:
    """Everything the loop carries from epoch to epoch (and a checkpoint restores)."""

    epoch: int = 0
    step: int = 0
    batch: int = 0  # batches of epoch ``epoch + 1`` already done (mid-epoch saves)
    loss_sum: float = 0.0
    loss_count: int = 0
    best_score: float = -math.inf
    best_epoch: int = -1
    best_weights: dict | None = None
    history: list = field(default_factory=list)
    optimizer: torch.optim.Optimizer | None = None
    scheduler: object | None = None
    seconds: float = 0.0
    finished: str | None = None


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
    resumed_from: int | None = None


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


def _score(net, loss: Loss, y, x, batch_size: int, ctx: Context) -> float:
    """Validation score (higher is better): mean PSNR, or −loss without ground truth; each
    process scores its share of the validation images and the sums are combined."""
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, y.shape[0], batch_size):
            yb = y[start: start + batch_size]
            est = net(yb).to(yb.dtype if yb.is_floating_point() else torch.float32)
            if loss.uses_truth and x is not None and hasattr(loss, "score"):
                total += float(loss.score(est, x[start: start + batch_size]).sum())
            elif loss.uses_truth and x is not None:
                total += float(psnr(est, x[start: start + batch_size].to(est)).sum())
            else:
                total -= float(loss(est, yb, None)) * yb.shape[0]
            count += yb.shape[0]
    net.train()
    total, count = ctx.sum([total, float(count)])
    return total / max(count, 1.0)


def _amp(precision: str, dev: torch.device) -> bool:
    if precision not in ("auto", "float32", "bf16"):
        raise InputError("precision", precision, "'auto', 'float32' or 'bf16'")
    if precision == "auto":
        return dev.type == "cuda" and torch.cuda.is_bf16_supported()
    return precision == "bf16"


def _prepare_folder(out, resume: bool, overwrite: bool, main: bool) -> Path | None:
    if out is None:
        if resume:
            raise InputError("resume", True, "an out folder to resume from")
        return None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("out", str(out), "a folder (it is a file)")
    held = [f for f in RUN_FILES if (out / f).exists()] if out.exists() else []
    if resume:
        if not (out / ckpt.LAST).exists():
            raise InputError("resume", str(out), f"a run folder holding {ckpt.LAST}",
                             "nothing to resume: start the run without --resume")
        return out
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError("out", str(out), "a new or empty folder",
                         "it already holds " + (", ".join(held) if held else "files")
                         + ": pass --resume to continue that run or --overwrite to replace it")
    if main:
        out.mkdir(parents=True, exist_ok=True)
        if overwrite:
            for name in held:
                (out / name).unlink()
            shutil.rmtree(out / "tensorboard", ignore_errors=True)
    return out


def fit(net: nn.Module, data: Measurements | Pairs, loss: str | Loss = "supervised", *,
        epochs: int = 30, samples_per_epoch: int = 32, batch_size: int = 4, lr: float = 1e-3,
        physics_lr: float = 3e-2,
        weight_decay: float = 1e-4, clip: float = 1.0, patience: int = 8,
        val_fraction: float = 0.25, max_time: float | None = None, seed: int = 0,
        dtype: torch.dtype = torch.float32, device=None, progress: bool = False,
        callback: Callable[[TrainState], None] | None = None, out=None, resume: bool = False,
        overwrite: bool = False, save_every: int | None = None, precision: str = "auto",
        run_info: dict | None = None, tensorboard: bool = True, **loss_options) -> FitResult:
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
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
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
    physics_lr = check_positive("physics_lr", physics_lr)
    clip = check_positive("clip", clip)
    patience = check_int("patience", patience)
    if save_every is not None:
        save_every = check_int("save_every", save_every)
    if max_time is not None:
        max_time = check_positive("max_time", max_time)
    if not any(p.requires_grad for p in net.parameters()):
        raise InputError("net", type(net).__name__, "a network with trainable parameters")
    ctx = Context.from_environment(device)
    dev = ctx.device
    amp = _amp(precision, dev)
    folder = _prepare_folder(out, resume, overwrite, ctx.main)
    ctx.barrier()

    torch.manual_seed(seed)  # dropout
    net.to(dev)
    net.train()
    model = wrap(net, ctx)
    train_part, val_part, split_note = split(data, val_fraction, seed)
    val_y, val_x = val_part.fixed(VAL_SEED + seed)
    mine = slice(ctx.rank, None, ctx.world)
    dummy = (val_y[:1].to(dev, dtype), None if val_x is None else val_x[:1].to(dev, dtype))
    val_y = val_y[mine].to(dev, dtype)
    val_x = None if val_x is None else val_x[mine].to(dev, dtype)

    state = TrainState()
    state.optimizer = torch.optim.AdamW(_param_groups(net, lr, physics_lr, weight_decay),
                                        eps=ADAM_EPS)
    steps_per_epoch = math.ceil(samples_per_epoch / batch_size)
    state.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        state.optimizer, T_max=epochs * steps_per_epoch)
    params = [p for p in net.parameters() if p.requires_grad]
    config = None
    if folder is not None:
        training = {"loss": loss_name, "loss_options": loss_options, "epochs": epochs,
                    "samples_per_epoch": samples_per_epoch, "batch_size": batch_size, "lr": lr,
                    "physics_lr": physics_lr, "weight_decay": weight_decay, "clip": clip,
                    "patience": patience, "val_fraction": val_fraction, "max_time": max_time,
                    "seed": seed, "dtype": str(dtype).replace("torch.", ""),
                    "precision": "bf16" if amp else "float32", "device": str(dev),
                    "save_every": save_every}
        config = ckpt.run_config(net, training, data.describe(), run_info)
    log = RunLog(folder, tensorboard) if folder is not None and ctx.main else None
    resumed_from = None

    saved = {"epoch": None}

    def guarded(write, what: str):
        try:
            write()
        except OSError as err:
            kept = ("no earlier checkpoint" if saved["epoch"] is None else
                    f"the last good checkpoint (epoch {saved['epoch']}) is intact")
            raise OSError(err.errno, f"could not save the {what} in {folder}: "
                          f"{err.strerror or err}; {kept}") from err

    def save_last():
        rngs = ctx.gather(ckpt.rng_state())
        if ctx.main:
            info = {"epoch": state.epoch, "step": state.step, "batch": state.batch,
                    "loss_sum": state.loss_sum, "loss_count": state.loss_count,
                    "best_score": state.best_score, "best_epoch": state.best_epoch,
                    "history": state.history, "seconds": state.seconds,
                    "finished": state.finished}
            guarded(lambda: ckpt.save_last(folder, net, state.best_weights, state.optimizer,
                                           state.scheduler, rngs, info, config),
                    "training state")
        saved["epoch"] = state.epoch

    def save_best():
        if ctx.main:
            guarded(lambda: ckpt.save_model(folder, net, config,
                                            {"epoch": state.best_epoch,
                                             "score": state.best_score,
                                             "score_name": score_name}), "best weights")

    score_name = ("dice" if hasattr(loss, "score") else "psnr") \
        if loss.uses_truth and val_x is not None else "-loss"
    if resume:
        state.best_weights, info = ckpt.load_last(folder, net, state.optimizer,
                                                  state.scheduler, ctx.rank, config)
        for key in ("epoch", "step", "batch", "loss_sum", "loss_count", "best_score",
                    "best_epoch", "history", "seconds", "finished"):
            setattr(state, key, info[key])
        resumed_from = saved["epoch"] = state.epoch
        if state.finished == "time budget" and (max_time is None or state.seconds < max_time):
            state.finished = None  # a larger budget: go on
    else:
        state.best_score = _score(net, loss, val_y, val_x, batch_size, ctx)
        state.best_epoch = 0
        state.best_weights = _learned_state(net)
        state.history.append({"epoch": 0, "step": 0, "train_loss": None,
                              "val": state.best_score, "lr": lr, "seconds": 0.0})
        if folder is not None:
            if ctx.main:
                ckpt.write_json(folder / ckpt.CONFIG, config)
            save_best()
            save_last()
    if log is not None:
        log.write(state.history)

    stop_reason = state.finished or "epochs"
    start = time.perf_counter() - state.seconds
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if amp else nullcontext
    bar = _progress(progress and ctx.main and state.finished is None, epochs, state.epoch)
    try:
        for epoch in range(state.epoch + 1, epochs + 1):
            if state.finished is not None:
                break
            for batch in train_part.batches(epoch, samples_per_epoch, batch_size, seed,
                                            start=state.batch, rank=ctx.rank, world=ctx.world):
                yb, xb, local = batch.y, batch.x, 0 if batch.y is None else batch.y.shape[0]
                if yb is None:  # this process's share is empty: take part with weight 0
                    yb, xb = dummy
                yb = yb.to(dev, dtype)
                xb = None if xb is None else xb.to(dev, dtype)
                with autocast():
                    estimate = model(yb)
                value = loss(estimate.to(dtype), yb, xb)
                if ctx.any(not bool(torch.isfinite(value))):
                    stop_reason = "non-finite loss"
                    break
                weight = local * ctx.world / batch.n_global
                state.optimizer.zero_grad(set_to_none=True)
                (value * weight if weight != 1 else value).backward()
                torch.nn.utils.clip_grad_norm_(params, clip)
                state.optimizer.step()
                state.scheduler.step()
                state.step += 1
                state.batch = batch.index + 1
                state.loss_sum += float(value.detach()) * local
                state.loss_count += local
                if save_every is not None and folder is not None \
                        and state.step % save_every == 0:
                    state.seconds = time.perf_counter() - start
                    save_last()
            if stop_reason == "non-finite loss":
                net.load_state_dict(state.best_weights, strict=False)
                state.finished = stop_reason
                warnings.warn(f"training stopped at epoch {epoch}: the loss became non-finite; "
                              f"the weights of epoch {state.best_epoch} (the last good best) "
                              "were restored", RuntimeWarning, stacklevel=2)
                break
            loss_sum, loss_count = ctx.sum([state.loss_sum, float(state.loss_count)])
            score = _score(net, loss, val_y, val_x, batch_size, ctx)
            elapsed = ctx.max(time.perf_counter() - start)
            state.epoch, state.batch, state.loss_sum, state.loss_count = epoch, 0, 0.0, 0
            state.seconds = elapsed
            state.history.append({"epoch": epoch, "step": state.step,
                                  "train_loss": loss_sum / max(loss_count, 1.0), "val": score,
                                  "lr": state.scheduler.get_last_lr()[0], "seconds": elapsed})
            improved = math.isfinite(score) and score > state.best_score
            if improved:
                state.best_score, state.best_epoch = score, epoch
                state.best_weights = _learned_state(net)
            if epoch - state.best_epoch >= patience:
                state.finished = stop_reason = "early stop"
            elif max_time is not None and elapsed >= max_time:
                state.finished = stop_reason = "time budget"
            elif epoch == epochs:
                state.finished = stop_reason = "epochs"
            if folder is not None:
                if improved:
                    save_best()
                save_last()
            if log is not None:
                log.write(state.history)
            if bar is not None:
                bar[0].update(bar[1], advance=1,
                              description=f"epoch {epoch} val {score:.3f}")
            if callback is not None:
                callback(state)
    finally:
        if bar is not None:
            bar[0].stop()
        if log is not None:
            log.close()
    if stop_reason == "non-finite loss" and folder is not None:
        save_last()
    net.load_state_dict(state.best_weights, strict=False)
    net.eval()
    result = FitResult(history=state.history, best_epoch=state.best_epoch,
                       best_score=state.best_score, score_name=score_name,
                       stop_reason=stop_reason, train_s=state.seconds, n_steps=state.step,
                       split=split_note, resumed_from=resumed_from)
    if folder is not None and ctx.main:
        ckpt.write_json(folder / "summary.json", {
            "best_epoch": result.best_epoch, "best_score": result.best_score,
            "score_name": result.score_name, "stop_reason": result.stop_reason,
            "train_s": result.train_s, "n_steps": result.n_steps, "split": result.split,
            "epochs_run": len(result.history) - 1, "world_size": ctx.world})
    if ctx.distributed:  # the DDP reducer, its gradient buckets and pending work go first
        net.zero_grad(set_to_none=True)
        del model
        gc.collect()
    ctx.close()
    return result


def _progress(enabled: bool, epochs: int, done: int = 0):
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                   transient=True)
    bar.start()
    return bar, bar.add_task("training", total=epochs, completed=done)
