"""``Trainer``: the training loop every network shares, in small overridable steps.

``Trainer(net, data, config).run()`` does what ``physinv.train.fit`` documents (``fit`` is its
thin wrapper): ``setup`` checks the inputs, prepares the run folder, the optimiser (AdamW,
physics parameters at a rate relative to their initial RMS), the cosine schedule and the
validation set, and either scores the initial weights or resumes; ``run`` loops over epochs,
each a sequence of ``train_step`` (forward under autocast, ``compute_loss``, backward, clip,
step) then ``end_epoch`` (``validate``, keep the best, stop rules, ``save_best`` /
``save_last``, logs); ``finalize`` restores the best weights and writes ``summary.json``.

A subclass changes one step and keeps the rest — e.g. another objective:

>>> class L1Trainer(Trainer):
...     def compute_loss(self, estimate, y, x):
...         return (estimate - x).abs().mean()
"""

from __future__ import annotations

import gc
import math
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from physinv.errors import InputError
from physinv.io import write_json
from physinv.metrics import psnr
from physinv.train import checkpoint as ckpt
from physinv.train.config import TrainConfig
from physinv.train.data import Measurements, Pairs, split
from physinv.train.distributed import Context, wrap
from physinv.train.logs import RunLog
from physinv.train.losses import seen
from physinv.train.state import FitResult, TrainState

VAL_SEED = 777
ADAM_EPS = 1e-12  # gradients of physics parameters can be ~1e-9: the default 1e-8 would stall them


def learned_state(net: nn.Module) -> dict:
    """A copy of the learned values only (the networks keep no learned buffers): the fixed
    operator — for CT millions of projector entries — is not copied at each new best.

    Parameters
    ----------
    net : nn.Module
        The network.

    Returns
    -------
    dict
        ``{name: tensor}`` of ``net.named_parameters()``, detached clones on the
        parameters' device; ``net.load_state_dict(state, strict=False)`` restores them.

    Examples
    --------
    >>> from physinv.nets import UnrolledLandweber
    >>> from physinv.operators import Convolution, psf
    >>> net = UnrolledLandweber(Convolution(psf.gaussian(1.0, 5), (16, 16)), 3)
    >>> {name: tuple(v.shape) for name, v in learned_state(net).items()}
    {'step': (3,), 'lam': (3,)}
    """
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def param_groups(net: nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: CNN weights (float32) at ``lr`` with weight decay; each physics parameter
    (float64) alone at ``physics_lr`` × its initial RMS (1 when it starts at 0).

    .. math::

        lr_p = physics_lr · √(mean p₀²)   for each float64 parameter p

    so that a step size of 10⁻⁴ and a filter table of order 1 move by the same relative
    amount. Parameters with ``requires_grad=False`` are left out. The RMS is taken as it is:
    a parameter that starts at a tiny non-zero value (rounding noise) gets a tiny rate.

    Parameters
    ----------
    net : nn.Module
        The network.
    cfg : TrainConfig
        Supplies ``lr``, ``weight_decay`` (CNN group) and ``physics_lr``.

    Returns
    -------
    list of dict
        ``{"params", "lr", "weight_decay"}`` groups for ``torch.optim.AdamW``: first the
        non-float64 parameters together (if any), then one group per float64 parameter
        (weight decay 0).

    Examples
    --------
    >>> from physinv.nets import UnrolledLandweber
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.train import TrainConfig
    >>> net = UnrolledLandweber(Convolution(psf.gaussian(1.0, 5), (16, 16)), 3)
    >>> [(len(g["params"]), round(g["lr"], 6)) for g in param_groups(net, TrainConfig())]
    [(1, 0.03), (1, 0.03)]
    """
    cnn, physics = [], []
    for p in net.parameters():
        if p.requires_grad:
            (physics if p.dtype == torch.float64 else cnn).append(p)
    groups = []
    if cnn:
        groups.append({"params": cnn, "lr": cfg.lr, "weight_decay": cfg.weight_decay})
    for p in physics:
        rms = float(p.detach().pow(2).mean().sqrt())
        scale = rms if rms > 0 and math.isfinite(rms) else 1.0
        groups.append({"params": [p], "lr": cfg.physics_lr * scale, "weight_decay": 0.0})
    return groups


def check_inputs(net: nn.Module, data, loss) -> None:
    """Refuse data of another kind or shape than the network's, a loss needing ground truth
    on data without it, and a network with nothing to train.

    Parameters
    ----------
    net : PhysicsNet
        The network; ``net.op`` gives the shapes the data must have.
    data : Measurements or Pairs
        The training data; ``data.op`` must have the network's input and output shapes.
    loss : Loss
        The training loss; one with ``uses_truth`` needs ``data.supervised``.

    Raises
    ------
    InputError
        Naming ``data``, ``loss`` or ``net`` and what was expected.

    Examples
    --------
    >>> import torch
    >>> from physinv.nets import UnrolledLandweber
    >>> from physinv.operators import Convolution, psf
    >>> from physinv.train import Pairs, Supervised
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> unlabelled = Pairs(torch.rand(2, 1, 16, 16), None, op)
    >>> check_inputs(UnrolledLandweber(op, 3), unlabelled, Supervised(op))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: loss: got 'supervised', expected 'unsupervised' for data ...
    """
    if not isinstance(data, (Measurements, Pairs)):
        raise InputError("data", type(data).__name__,
                         "physinv.train.Measurements(clean, op, noise) or Pairs(ys, xs, op)")
    if tuple(data.op.in_shape) != tuple(net.op.in_shape) or \
            tuple(data.op.out_shape) != tuple(net.op.out_shape):
        raise InputError("data", f"operator {tuple(data.op.in_shape)}→{tuple(data.op.out_shape)}",
                         f"the network's operator shapes {tuple(net.op.in_shape)}→"
                         f"{tuple(net.op.out_shape)} (build the net with "
                         "net.for_operator(data.op))")
    if loss.uses_truth and not data.supervised:
        raise InputError("loss", loss.name, "'unsupervised' for data without ground truth")
    if not any(p.requires_grad for p in net.parameters()):
        raise InputError("net", type(net).__name__, "a network with trainable parameters")


class Trainer:
    """Trains ``net`` on ``data`` with ``config``; see the module docstring.

    Parameters
    ----------
    net : PhysicsNet
        The network; it ends with its best validation weights.
    data : Measurements or Pairs
        Training data on the network's operator.
    config : TrainConfig
        The hyper-parameters (recorded in the run folder).
    out : path, optional
        Run folder (``physinv.train.checkpoint``); None keeps nothing.
    resume, overwrite : bool
        Continue the run in ``out`` / replace it.
    run_info : dict, optional
        Recorded under ``"run"`` in ``config.json`` (data source, λ, ...).
    progress : bool
        Show a progress bar (process 0 only).
    tensorboard : bool
        Also log to TensorBoard when it is installed.
    callback : callable, optional
        Called with the ``TrainState`` after each epoch.
    """

    def __init__(self, net: nn.Module, data, config: TrainConfig | None = None, *, out=None,
                 resume: bool = False, overwrite: bool = False, run_info: dict | None = None,
                 progress: bool = False, tensorboard: bool = True,
                 callback: Callable[[TrainState], None] | None = None):
        self.net, self.data = net, data
        self.cfg = config if config is not None else TrainConfig()
        self.out, self.resume, self.overwrite = out, resume, overwrite
        self.run_info, self.progress, self.tensorboard = run_info, progress, tensorboard
        self.callback = callback
        self.state = TrainState()
        self.saved_epoch: int | None = None
        self.resumed_from: int | None = None

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        """Check the inputs; prepare the folder, the device, the validation set, the
        optimiser and schedule; then score the initial weights or resume."""
        cfg, net = self.cfg, self.net
        self.loss = cfg.make_loss(net.op)
        check_inputs(net, self.data, self.loss)
        self.ctx = ctx = Context.from_environment(cfg.device)
        self.device = ctx.device
        self.amp = cfg.use_amp(self.device)
        self.folder = ckpt.prepare_folder(self.out, self.resume, self.overwrite, ctx.main)
        ctx.barrier()
        torch.manual_seed(cfg.seed)  # dropout
        net.to(self.device)
        net.train()
        self.model = wrap(net, ctx)
        self.train_part, val_part, self.split_note = split(self.data, cfg.val_fraction,
                                                           cfg.seed)
        self._validation_set(val_part)
        state = self.state
        state.optimizer = torch.optim.AdamW(param_groups(net, cfg), eps=ADAM_EPS)
        steps_per_epoch = math.ceil(cfg.samples_per_epoch / cfg.batch_size)
        state.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            state.optimizer, T_max=cfg.epochs * steps_per_epoch)
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.config = None if self.folder is None else ckpt.run_config(
            net, cfg.record(self.device), self.data.describe(), self.run_info)
        self.log = RunLog(self.folder, self.tensorboard) \
            if self.folder is not None and ctx.main else None
        self.score_name = ("dice" if hasattr(self.loss, "score") else "psnr") \
            if self.loss.uses_truth and self.val_x is not None else "-loss"
        self._restore() if self.resume else self._start()
        if self.log is not None:
            self.log.write(state.history)

    def _validation_set(self, val_part) -> None:
        """Fixed validation measurements; this process's share of them."""
        dev, dtype, ctx = self.device, self.cfg.dtype, self.ctx
        val_y, val_x = val_part.fixed(VAL_SEED + self.cfg.seed)
        mine = slice(ctx.rank, None, ctx.world)
        self.dummy = (val_y[:1].to(dev, dtype),
                      None if val_x is None else val_x[:1].to(dev, dtype))
        self.val_y = val_y[mine].to(dev, dtype)
        self.val_x = None if val_x is None else val_x[mine].to(dev, dtype)

    def _start(self) -> None:
        state = self.state
        state.best_score = self.validate()
        state.best_epoch = 0
        state.best_weights = learned_state(self.net)
        state.history.append({"epoch": 0, "step": 0, "train_loss": None,
                              "val": state.best_score, "lr": self.cfg.lr, "seconds": 0.0})
        if self.folder is not None:
            if self.ctx.main:
                write_json(self.folder / ckpt.CONFIG, self.config)
            self.save_best()
            self.save_last()

    def _restore(self) -> None:
        state = self.state
        state.best_weights, info = ckpt.load_last(self.folder, self.net, state.optimizer,
                                                  state.scheduler, self.ctx.rank, self.config)
        state.load(info)
        self.resumed_from = self.saved_epoch = state.epoch
        if state.finished == "time budget" and not self.cfg.over_budget(state.seconds):
            state.finished = None  # a larger budget: go on

    # ------------------------------------------------------------------ steps
    def compute_loss(self, estimate: torch.Tensor, y: torch.Tensor, x: torch.Tensor | None):
        """The training objective for one batch (the configured loss)."""
        return self.loss(estimate, y, x)

    def train_step(self, batch) -> bool:
        """One optimiser step on ``batch``; False (and no step) if the loss or its gradient
        is not finite."""
        cfg, ctx, state = self.cfg, self.ctx, self.state
        yb, xb, local = batch.y, batch.x, 0 if batch.y is None else batch.y.shape[0]
        if yb is None:  # this process's share is empty: take part with weight 0
            yb, xb = self.dummy
        yb = yb.to(self.device, cfg.dtype)
        xb = None if xb is None else xb.to(self.device, cfg.dtype)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp \
            else nullcontext()
        with autocast:
            estimate = self.model(yb)
        value = self.compute_loss(estimate.to(cfg.dtype), yb, xb)
        if ctx.any(not bool(torch.isfinite(value))):
            return False
        weight = local * ctx.world / batch.n_global
        state.optimizer.zero_grad(set_to_none=True)
        (value * weight if weight != 1 else value).backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.clip)
        if ctx.any(not bool(torch.isfinite(norm))):  # e.g. a failed implicit solve
            state.optimizer.zero_grad(set_to_none=True)
            return False
        state.optimizer.step()
        state.scheduler.step()
        state.step += 1
        state.batch = batch.index + 1
        state.loss_sum += float(value.detach()) * local
        state.loss_count += local
        return True

    def validate(self) -> float:
        """Validation score (higher is better): mean PSNR (Dice for segmentation), or −loss
        without ground truth; each process scores its share and the sums are combined."""
        net, loss, y, x = self.net, self.loss, self.val_y, self.val_x
        size = self.cfg.batch_size
        net.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, y.shape[0], size):
                yb = y[start: start + size]
                est = net(yb).to(yb.dtype if yb.is_floating_point() else torch.float32)
                if loss.uses_truth and x is not None and hasattr(loss, "score"):
                    total += float(loss.score(est, x[start: start + size]).sum())
                elif loss.uses_truth and x is not None:  # on the pixels H sees
                    total += float(psnr(seen(est, net.op),
                                        seen(x[start: start + size].to(est), net.op)).sum())
                else:
                    total -= float(loss(est, yb, None)) * yb.shape[0]
                count += yb.shape[0]
        net.train()
        total, count = self.ctx.sum([total, float(count)])
        return total / max(count, 1.0)

    def train_epoch(self, epoch: int) -> bool:
        """The batches of ``epoch`` (from the saved position); False on a non-finite loss or
        gradient."""
        cfg, state = self.cfg, self.state
        for batch in self.train_part.batches(epoch, cfg.samples_per_epoch, cfg.batch_size,
                                             cfg.seed, start=state.batch, rank=self.ctx.rank,
                                             world=self.ctx.world):
            if not self.train_step(batch):
                return False
            if cfg.save_every is not None and self.folder is not None \
                    and state.step % cfg.save_every == 0:
                state.seconds = time.perf_counter() - self.start
                self.save_last()
        return True

    def end_epoch(self, epoch: int) -> None:
        """Validate, keep the best weights, apply the stop rules, save and log."""
        cfg, ctx, state = self.cfg, self.ctx, self.state
        loss_sum, loss_count = ctx.sum([state.loss_sum, float(state.loss_count)])
        score = self.validate()
        elapsed = ctx.max(time.perf_counter() - self.start)
        state.epoch, state.batch, state.loss_sum, state.loss_count = epoch, 0, 0.0, 0
        state.seconds = elapsed
        state.history.append({"epoch": epoch, "step": state.step,
                              "train_loss": loss_sum / max(loss_count, 1.0), "val": score,
                              "lr": state.scheduler.get_last_lr()[0], "seconds": elapsed})
        improved = math.isfinite(score) and score > state.best_score
        if improved:
            state.best_score, state.best_epoch = score, epoch
            state.best_weights = learned_state(self.net)
        if cfg.stops_early(epoch, state.best_epoch):
            state.finished = "early stop"
        elif cfg.over_budget(elapsed):
            state.finished = "time budget"
        elif epoch == cfg.epochs:
            state.finished = "epochs"
        if self.folder is not None:
            if improved:
                self.save_best()
            self.save_last()
        if self.log is not None:
            self.log.write(state.history)
        if self.bar is not None:
            self.bar[0].update(self.bar[1], advance=1,
                               description=f"epoch {epoch} val {score:.3f}")
        if self.callback is not None:
            self.callback(state)

    # ------------------------------------------------------------------ saving
    def _guarded(self, write: Callable[[], object], what: str) -> None:
        try:
            write()
        except OSError as err:
            kept = ("no earlier checkpoint" if self.saved_epoch is None else
                    f"the last good checkpoint (epoch {self.saved_epoch}) is intact")
            raise OSError(err.errno, f"could not save the {what} in {self.folder}: "
                          f"{err.strerror or err}; {kept}") from err

    def save_last(self) -> None:
        """The resume state (every process's random state gathered to process 0)."""
        state = self.state
        rngs = self.ctx.gather(ckpt.rng_state())
        if self.ctx.main:
            self._guarded(lambda: ckpt.save_last(
                self.folder, self.net, state.best_weights, state.optimizer, state.scheduler,
                rngs, state.to_dict(), self.config), "training state")
        self.saved_epoch = state.epoch

    def save_best(self) -> None:
        """The best weights so far (process 0)."""
        if self.ctx.main:
            info = {"epoch": self.state.best_epoch, "score": self.state.best_score,
                    "score_name": self.score_name}
            self._guarded(lambda: ckpt.save_model(self.folder, self.net, self.config, info),
                          "best weights")

    # ------------------------------------------------------------------ the loop
    def run(self) -> FitResult:
        """``setup``, the epochs, ``finalize``; returns the ``FitResult``. The run folder's
        lock (taken by ``checkpoint.prepare_folder``) is released at the end, whatever
        happens."""
        try:
            return self._run()
        finally:
            ckpt.release_folder(getattr(self, "folder", None))

    def _run(self) -> FitResult:
        self.setup()
        state = self.state
        stop_reason = state.finished or "epochs"
        self.start = time.perf_counter() - state.seconds
        self.bar = _progress(self.progress and self.ctx.main and state.finished is None,
                             self.cfg.epochs, state.epoch)
        try:
            for epoch in range(state.epoch + 1, self.cfg.epochs + 1):
                if state.finished is not None:
                    break
                if not self.train_epoch(epoch):
                    self._non_finite(epoch)
                    break
                self.end_epoch(epoch)
        finally:
            if self.bar is not None:
                self.bar[0].stop()
            if self.log is not None:
                self.log.close()
        stop_reason = state.finished or stop_reason
        if stop_reason == "non-finite loss" and self.folder is not None:
            self.save_last()
        return self.finalize(stop_reason)

    def _non_finite(self, epoch: int) -> None:
        state = self.state
        self.net.load_state_dict(state.best_weights, strict=False)
        state.finished = "non-finite loss"
        warnings.warn(f"training stopped at epoch {epoch}: the loss or its gradient became "
                      "non-finite; "
                      f"the weights of epoch {state.best_epoch} (the last good best) "
                      "were restored", RuntimeWarning, stacklevel=4)

    def finalize(self, stop_reason: str) -> FitResult:
        """Best weights back in the network, ``summary.json``, the process group closed."""
        state, ctx = self.state, self.ctx
        self.net.load_state_dict(state.best_weights, strict=False)
        self.net.eval()
        result = FitResult(history=state.history, best_epoch=state.best_epoch,
                           best_score=state.best_score, score_name=self.score_name,
                           stop_reason=stop_reason, train_s=state.seconds,
                           n_steps=state.step, split=self.split_note,
                           resumed_from=self.resumed_from)
        if self.folder is not None and ctx.main:
            write_json(self.folder / "summary.json", result.summary(ctx.world))
        if ctx.distributed:  # the DDP reducer, its gradient buckets and pending work go first
            self.net.zero_grad(set_to_none=True)
            del self.model
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
