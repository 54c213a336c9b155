"""Checkpoints: safetensors weights + a JSON configuration, written atomically; ``load``.

A run folder holds

- ``config.json`` — what the run is: network class and constructor arguments, the operator
  (class, spec, shapes and a probe value that detects changed physics), every training
  hyper-parameter, the training data (description + SHA-256 of its values), versions. Written
  once when the run starts.
- ``model.safetensors`` — the learned parameters at the best validation score (the fixed
  physics is rebuilt from the configuration, not stored); the same configuration travels in
  the file's metadata, so the file alone is a checkpoint too.
- ``last.safetensors`` — everything exact resume needs, at the end of the last epoch (or
  every ``save_every`` steps): current and best parameters, optimiser moments, the random
  states of torch (per process), NumPy and Python in the tensors, and in the metadata the
  epoch, step, position in the epoch, scheduler, history and elapsed time.

Every file goes to a temporary file in the same folder, is fsync-ed and renamed
(``physinv.io.atomic_write``): a crash or a full disk during a save leaves the previous
checkpoint whole. Nothing is pickled.

``load(path)`` gives back a ready network; a truncated or corrupt file, a ``config.json`` that
does not belong to the weights, or weights that do not fit the network named by the
configuration are refused with the field that differs.
"""

from __future__ import annotations

import json
import math
import platform
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from physinv.errors import InputError
from physinv.io import (
    LOCK_NAME,
    atomic_write,
    check_output,
    lock_folder,
    make_folder,
    unlock_folder,
)

FORMAT = "physinv-checkpoint/1"
CONFIG = "config.json"
MODEL = "model.safetensors"
LAST = "last.safetensors"
PROBE_SEED = 2024
PROBE_RTOL = 1e-6
# every file a run folder holds (what --overwrite replaces)
RUN_FILES = (CONFIG, MODEL, LAST, "metrics.csv", "metrics.jsonl", "summary.json")
# fields that may change between a run and its resumption without changing the result
RESUMABLE = {"training.device", "training.max_time", "training.progress", "versions"}


# --------------------------------------------------------------------------- descriptions
def versions() -> dict:
    """The versions a run records in its configuration (``config["versions"]``).

    Returns
    -------
    dict
        ``physinv``, ``torch``, ``numpy`` and ``python`` version strings. A change of version
        alone does not refuse a resume or a ``load``.

    Examples
    --------
    >>> sorted(versions())
    ['numpy', 'physinv', 'python', 'torch']
    """
    import physinv

    return {"physinv": physinv.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


@torch.no_grad()
def _probe(op) -> list[float]:
    """‖H p‖ and ⟨H p, q⟩ for fixed random p, q: equal for the same physics on the same grid,
    different (beyond rounding) for another PSF, mask, angle set or factor."""
    gen = torch.Generator().manual_seed(PROBE_SEED)
    p = torch.rand((1, 1, *op.in_shape), generator=gen, dtype=torch.float64)
    hp = op(p.to(_buffer_dtype(op)), check=False).to(torch.float64)
    if hp.is_complex():
        hp = hp.real
    q = torch.rand(hp.shape, generator=gen, dtype=torch.float64)
    return [float(torch.linalg.vector_norm(hp)), float((hp * q).sum())]


def _buffer_dtype(op) -> torch.dtype:
    for b in op.buffers():
        if b.is_floating_point():
            return b.dtype if b.dtype == torch.float64 else torch.float32
    return torch.float64


def describe_operator(op) -> dict:
    """The operator as the configuration records it (``spec`` is None for operators built in
    Python without a spec: ``load`` then needs ``op=``)."""
    return {"class": type(op).__name__, "spec": getattr(op, "spec", None),
            "in_shape": list(op.in_shape), "out_shape": list(op.out_shape),
            "probe": _probe(op)}


def describe_network(net) -> dict:
    """The network as the configuration records it: its class name and constructor arguments.

    Parameters
    ----------
    net : PhysicsNet
        The network; ``net.config`` holds its constructor arguments but ``op``.

    Returns
    -------
    dict
        ``{"class": name, "config": arguments}``: ``load`` rebuilds the network as
        ``network_class(name)(op, **arguments)``.

    Examples
    --------
    >>> from physinv.nets import FourierNet
    >>> from physinv.operators import Convolution, psf
    >>> net = FourierNet(Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
    >>> record = describe_network(net)
    >>> record["class"], record["config"]["lam"]
    ('FourierNet', 0.01)
    """
    return {"class": type(net).__name__, "config": dict(net.config)}


def run_config(net, training: dict, data: dict, extra: dict | None = None) -> dict:
    """The static configuration of a training run (``config.json``)."""
    config = {"format": FORMAT, "network": describe_network(net),
              "operator": describe_operator(net.op), "training": training, "data": data,
              "versions": versions()}
    if extra:
        config["run"] = extra
    return json.loads(json.dumps(config))  # plain JSON types, tuples → lists


def differences(old, new, prefix: str = "") -> list[str]:
    """Human-readable list of the fields that differ between two configurations.

    Dicts are compared key by key (recursively, keys in sorted order); a list under a key
    ending in ``probe`` is equal within a relative tolerance of 10⁻⁶ (the same physics
    rounded differently); anything else must be equal. Values are shown as JSON, cut at 60
    characters.

    Parameters
    ----------
    old, new : dict or JSON value
        The recorded and the new configuration.
    prefix : str, default ""
        The dotted name of ``old`` / ``new`` inside an enclosing configuration.

    Returns
    -------
    list of str
        ``"dotted.name: old → new"`` per difference (``(absent)`` for a missing key); [] if
        the configurations agree.

    Examples
    --------
    >>> differences({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 4})
    ['b.c: 2 → 3', 'd: (absent) → 4']
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{name}: (absent) → {_show(new[key])}")
            elif key not in new:
                out.append(f"{name}: {_show(old[key])} → (absent)")
            else:
                out.extend(differences(old[key], new[key], name))
        return out
    if prefix.endswith("probe") and isinstance(old, list) and isinstance(new, list) \
            and len(old) == len(new):
        same = all(math.isclose(a, b, rel_tol=PROBE_RTOL, abs_tol=1e-12)
                   for a, b in zip(old, new, strict=True))
        return [] if same else [f"{prefix}: {_show(old)} → {_show(new)} (other physics)"]
    return [] if old == new else [f"{prefix}: {_show(old)} → {_show(new)}"]


def _show(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _significant(diffs: list[str]) -> list[str]:
    return [d for d in diffs if not any(d.startswith(f + ":") or d.startswith(f + ".")
                                        for f in RESUMABLE)]


# --------------------------------------------------------------------------- files
def prepare_folder(out, resume: bool, overwrite: bool, main: bool) -> Path | None:
    """The run folder ``out`` made ready: refused if it is a file, if another process writes
    to it (its lock, ``io.lock_folder``, names that process), if it holds another run (unless
    ``overwrite``: its run files are removed) or, with ``resume``, if it holds no resume
    state; created and locked by the main process (``release_folder`` unlocks it). None when
    ``out`` is None."""
    if out is None:
        if resume:
            raise InputError("resume", True, "an out folder to resume from")
        return None
    out = Path(out)
    check_output("out", out, folder=True)
    if main and out.is_dir():
        lock_folder(out, "out", "physinv train")
    try:
        _check_run_folder(out, resume, overwrite)
    except BaseException:
        unlock_folder(out)
        raise
    if main:
        make_folder(out)
        lock_folder(out, "out", "physinv train")
        if overwrite and not resume:
            for name in RUN_FILES:
                if (out / name).exists():
                    (out / name).unlink()
            shutil.rmtree(out / "tensorboard", ignore_errors=True)
    return out


def _check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    held = [f for f in RUN_FILES if (out / f).exists()] if out.exists() else []
    if resume:
        if not (out / LAST).exists():
            raise InputError("resume", str(out), f"a run folder holding {LAST}",
                             "nothing to resume: start the run without --resume")
        return
    others = [p for p in out.iterdir() if p.name != LOCK_NAME] if out.exists() else []
    if others and not overwrite:
        raise InputError("out", str(out), "a new or empty folder",
                         "it already holds " + (", ".join(held) if held else "files")
                         + ": pass --resume to continue that run or --overwrite to replace it")


def release_folder(out) -> None:
    """Release the lock ``prepare_folder`` took on ``out`` (nothing for None)."""
    unlock_folder(out)


def _write_tensors(path, tensors: dict, metadata: dict) -> Path:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"format": FORMAT, "physinv": json.dumps(metadata)}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _read_tensors(path) -> tuple[dict, dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint", str(path), "an existing safetensors file")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        metadata = json.loads(meta["physinv"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError, RuntimeError,
            ValueError) as err:
        raise InputError("checkpoint", str(path), "a complete physinv safetensors file",
                         f"it is truncated or corrupt: {type(err).__name__}: {err}") from None
    return tensors, metadata


def _read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError("checkpoint", str(path), "a readable JSON configuration",
                         f"{type(err).__name__}: {err}") from None


def learned(net) -> dict:
    """The learned parameters by name (the fixed operator is not stored)."""
    return {name: p for name, p in net.named_parameters()}


def save_model(folder, net, config: dict, info: dict) -> Path:
    """``model.safetensors``: the learned parameters of ``net`` (+ config and ``info``, e.g.
    epoch and score, in the metadata)."""
    return _write_tensors(Path(folder) / MODEL, learned(net), {"config": config, **info})


# --------------------------------------------------------------------------- resume state
def rng_state() -> dict:
    """This process's random states: torch (CPU and CUDA), NumPy, Python."""
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available()
            else [],
            "numpy": {"key": np_state[1].astype(np.int64).tolist(), "pos": int(np_state[2]),
                      "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
            "python": _py_state(random.getstate())}


def _py_state(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def set_rng_state(state: dict) -> None:
    """Restore this process's random states (torch CPU and CUDA, NumPy, Python).

    Parameters
    ----------
    state : dict
        As ``rng_state`` returns it: ``torch`` (a uint8 tensor), ``cuda`` (a list of tensors,
        one per device; restored up to the devices present, ignored without CUDA),
        ``numpy`` (``key``, ``pos``, ``has_gauss``, ``cached`` of MT19937) and ``python``
        (``[version, internal state list, gauss]``).

    Examples
    --------
    >>> import torch
    >>> state = rng_state()
    >>> a = torch.rand(3)
    >>> set_rng_state(state)
    >>> torch.equal(torch.rand(3), a)
    True
    """
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        for i, s in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s, i)
    n = state["numpy"]
    np.random.set_state(("MT19937", np.asarray(n["key"], dtype=np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_last(folder, net, best: dict, optimizer, scheduler, rng: list[dict], info: dict,
              config: dict) -> Path:
    """``last.safetensors``: the state exact resume needs (see the module docstring)."""
    tensors = {f"param.{k}": v for k, v in learned(net).items()}
    tensors.update({f"best.{k}": v for k, v in best.items()})
    opt = optimizer.state_dict()
    opt_meta = {"param_groups": opt["param_groups"], "state": {}}
    for index, entry in opt["state"].items():
        opt_meta["state"][str(index)] = []
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
                opt_meta["state"][str(index)].append(key)
            else:
                raise TypeError(f"optimizer state {key} is not a tensor")
    rng_meta = []
    for rank, state in enumerate(rng):
        tensors[f"rng.{rank}.torch"] = state["torch"]
        for i, s in enumerate(state["cuda"]):
            tensors[f"rng.{rank}.cuda.{i}"] = s
        rng_meta.append({"cuda": len(state["cuda"]), "numpy": state["numpy"],
                         "python": state["python"]})
    meta = {"config": config, "optimizer": opt_meta, "scheduler": scheduler.state_dict(),
            "rng": rng_meta, **info}
    return _write_tensors(Path(folder) / LAST, tensors, meta)


def load_last(folder, net, optimizer, scheduler, rank: int, config: dict) -> tuple[dict, dict]:
    """Restore ``net``, ``optimizer`` and ``scheduler`` from ``last.safetensors`` and this
    process's random state; returns (best parameters, the saved info)."""
    tensors, meta = _read_tensors(Path(folder) / LAST)
    diffs = _significant(differences(meta.get("config", {}), config))
    if diffs:
        raise InputError("resume", str(folder), "the configuration of the run being resumed",
                         "differs: " + "; ".join(diffs))
    params = {k[6:]: v for k, v in tensors.items() if k.startswith("param.")}
    _check_fits(net, params, Path(folder) / LAST)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(params[name])
    device = next(net.parameters()).device
    best = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}
    opt_meta = meta["optimizer"]
    state = {int(i): {key: tensors[f"optim.{i}.{key}"] for key in keys}
             for i, keys in opt_meta["state"].items()}
    optimizer.load_state_dict({"state": state, "param_groups": opt_meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    rngs = meta["rng"]
    if rank < len(rngs):
        entry = rngs[rank]
        set_rng_state({"torch": tensors[f"rng.{rank}.torch"],
                       "cuda": [tensors[f"rng.{rank}.cuda.{i}"] for i in range(entry["cuda"])],
                       "numpy": entry["numpy"], "python": entry["python"]})
    info = {k: v for k, v in meta.items()
            if k not in ("config", "optimizer", "scheduler", "rng")}
    return best, info


def resume_info(folder) -> dict | None:
    """The saved info of ``last.safetensors`` (epoch, step, finished…), or None if absent."""
    path = Path(folder) / LAST
    if not path.exists():
        return None
    _, meta = _read_tensors(path)
    return {k: v for k, v in meta.items() if k not in ("optimizer", "scheduler", "rng")}


# --------------------------------------------------------------------------- loading
def _check_fits(net, params: dict, path) -> None:
    expected = {name: tuple(p.shape) for name, p in net.named_parameters()}
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise InputError("checkpoint", str(path), f"the parameters of {type(net).__name__}",
                         f"missing {missing[:4]}, unexpected {extra[:4]}")
    for name, shape in expected.items():
        if tuple(params[name].shape) != shape:
            raise InputError("checkpoint", str(path), f"{name} of shape {shape}",
                             f"it holds shape {tuple(params[name].shape)}: trained for another "
                             "operator or grid")


def _build_operator(record: dict, folder: Path):
    from physinv.operators.spec import from_spec

    spec = record.get("spec")
    if spec is None:
        raise InputError("op", None, f"the {record['class']} the network was trained with",
                         "the checkpoint has no operator spec; pass load(path, op=...)")
    resolved = _resolve_files(spec, folder)
    return from_spec(resolved, tuple(record["in_shape"]), record=spec)


def _resolve_files(spec: str, folder: Path) -> str:
    """Relative file names in a spec (a PSF or a mask copied into the run) → the run folder."""
    parts = spec.split(":")
    for i, part in enumerate(parts):
        if "=" not in part and i > 0 and (folder / part).is_file():
            parts[i] = str(folder / part)
    return ":".join(parts)


def load(path, device=None, op=None):
    """The trained network of a run folder (or of a ``.safetensors`` file), on ``device``.

    ``op`` replaces the operator rebuilt from the recorded spec (required when there is none);
    it must have the recorded physics. To run the network on another image size use
    ``net.for_operator(...)`` on the result.

    Parameters
    ----------
    path : str or Path
        A run folder (its ``model.safetensors``: the best validation weights) or a weights
        file written like it (the configuration travels in its metadata; ``last.safetensors``,
        the resume state, is not one). A ``config.json`` beside the file must agree with that
        metadata (versions aside).
    device : str or torch.device, optional
        ``"auto"`` (the default: CUDA when there is one), ``"cpu"`` or ``"cuda[:N]"``.
    op : LinearOperator, optional
        The operator, when the run recorded no spec (built in Python) or to use another
        instance of the same physics; its shapes and probe values must match the record.

    Returns
    -------
    PhysicsNet
        In eval mode on ``device``; ``net.checkpoint`` holds the file's metadata (``config``,
        and e.g. ``epoch``, ``score``).

    Raises
    ------
    InputError
        For a missing, truncated or foreign file, a ``config.json`` that does not belong to
        the weights, an ``op`` with other physics, a missing spec without ``op``, or weights
        that do not fit the recorded network (each with the field that differs).
    """
    from physinv.nets.registry import network_class
    from physinv.train.distributed import resolve_device

    path = Path(path)
    folder, file = (path, path / MODEL) if path.is_dir() else (path.parent, path)
    if not path.exists():
        raise InputError("checkpoint", str(path), "a run folder or a .safetensors file")
    tensors, meta = _read_tensors(file)
    config = meta.get("config")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError("checkpoint", str(file), f"a {FORMAT} file",
                         f"its format is {None if config is None else config.get('format')}")
    side = folder / CONFIG
    if side.exists():
        diffs = [d for d in differences(_read_json(side), config)
                 if not d.startswith("versions")]
        if diffs:
            raise InputError("checkpoint", str(file), f"weights that belong to {side}",
                             "mismatched: " + "; ".join(diffs))
    if op is None:
        op = _build_operator(config["operator"], folder)
    else:
        diffs = [d for d in differences(config["operator"], describe_operator(op))
                 if not d.startswith("spec")]
        if diffs:
            raise InputError("op", type(op).__name__, "the operator the network was trained "
                             "with", "differs: " + "; ".join(diffs))
    cls = network_class(config["network"]["class"])
    net = cls(op, **config["network"]["config"])
    _check_fits(net, tensors, file)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(tensors[name])
    dev = resolve_device(device)
    net = net.to(dev)
    net.eval()
    net.checkpoint = {k: v for k, v in meta.items() if k != "config"}
    net.checkpoint["config"] = config
    return net
