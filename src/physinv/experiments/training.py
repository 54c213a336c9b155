"""``physinv train`` as a library call: where the training data comes from, the λ the network
starts from, the network by name, and the one training recipe (``physinv.train.recipe``)
into a run folder.

Three sources of data:

- ``task_source("deblur_gauss", n_train)`` — the protocol's training crops (128×128), the task's
  operator and noise (``docs/PROTOCOL.md``);
- ``images_source(folder, op, noise, n_train)`` — the user's clean images (PNG, TIFF, NPY; all
  the same size), measured on the fly through ``op`` with ``noise``;
- ``pairs_source(measured, truth, op)`` — measured / true files matched by name (``truth``
  None: measurements only, trained with the unsupervised loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from physinv.data import patches
from physinv.errors import InputError, check_int
from physinv.io import READABLE, read_image
from physinv.limits import check_sizes
from physinv.nets.registry import NETWORKS
from physinv.noise import from_spec as noise_from_spec
from physinv.noise import simulate
from physinv.operators.spec import from_spec, image_shape
from physinv.solvers.tuning import tune_tikhonov
from physinv.train import Measurements, Pairs
from physinv.train.recipe import train_network
from physinv.train.regulariser import train_regulariser

TUNE_SEED = 10_000


@dataclass
class Source:
    """Training data, its operator, a description for the run's config, and up to four
    (x, y, op) pairs with ground truth for choosing λ (empty without ground truth).

    Parameters
    ----------
    data : Measurements or Pairs
        The training data; ``data.op`` is the operator the network is built on.
    description : dict
        Where the data came from (``source`` and its details), recorded under ``"run"`` in
        the run's ``config.json``.
    tune : list of (x, y, op)
        Float64 pairs with ground truth for ``initial_lambda`` (at most 4; [] without
        ground truth).
    """

    data: Measurements | Pairs
    description: dict
    tune: list


def _files(folder: Path, argument: str) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(argument, str(folder), "a folder of images (.png, .tif, .npy)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in READABLE
                   and not p.name.startswith("."))
    if not files:
        raise InputError(argument, str(folder), f"a folder holding {', '.join(READABLE)} files")
    return files


def _stack(files: list[Path], argument: str) -> torch.Tensor:
    images = []
    for f in files:
        x = read_image(f, as_gray=True, argument=argument).to(torch.float32)
        if images and x.shape != images[0].shape:
            raise InputError(argument, str(f), f"an image of shape {tuple(images[0].shape)} "
                             f"like {files[0].name}", f"it has shape {tuple(x.shape)}")
        images.append(x)
    return torch.stack(images)


def _first(items, n_train: int | None, argument: str):
    if n_train is None:
        return items
    n_train = check_int("n_train", n_train)
    if n_train > len(items):
        raise InputError("n-train", n_train, f"at most {len(items)}, the {argument} available")
    return items[:n_train]


def _absolute_files(spec: str) -> str:
    """File names inside an operator spec made absolute, so the checkpoint can find them."""
    parts = spec.split(":")
    return ":".join(str(Path(p).resolve()) if i > 0 and "=" not in p and Path(p).is_file()
                    else p for i, p in enumerate(parts))


def _tune_pairs(clean: torch.Tensor, op, noise) -> list:
    return [(clean[i: i + 1].double(), simulate(clean[i: i + 1].double(), op, noise,
                                                seed=TUNE_SEED + i), op)
            for i in range(min(4, clean.shape[0]))]


def task_source(task_name: str, n_train: int) -> Source:
    """The protocol's training data for a task: the first ``n_train`` training crops.

    The 128×128 crops of ``patches.training_crops`` (prepared by the task: for ct_sparse
    resized and masked), measured on the fly with the task's operator and noise; the λ
    tuning pairs are the first 4 crops measured with seeds ``TUNE_SEED + i``.

    Parameters
    ----------
    task_name : str
        A protocol task (``physinv.experiments.protocol.TASKS``).
    n_train : int
        Number of training crops, ≥ 1.

    Returns
    -------
    Source
        ``Measurements`` (float32) on the task's operator; description
        ``{"source": "task", "task", "n_train"}``.

    Raises
    ------
    InputError
        For an unknown task or a non-positive ``n_train``.

    Examples
    --------
    >>> source = task_source("denoise", 2)
    >>> type(source.data).__name__, len(source.data), len(source.tune)
    ('Measurements', 2, 2)
    """
    from physinv.experiments.protocol import get_task

    task = get_task(task_name)
    n_train = check_int("n_train", n_train)
    check_sizes(n_train)
    crops = task.prepare(patches.training_crops(n_train).to(torch.float64))
    op = task.operator(tuple(crops.shape[-2:]))
    data = Measurements(crops.float(), op, task.noise())
    return Source(data, {"source": "task", "task": task_name, "n_train": n_train},
                  _tune_pairs(crops, op, task.noise()))


def images_source(folder, op: str, noise: str, n_train: int | None = None) -> Source:
    """The user's clean images, measured on the fly through ``op`` with ``noise``.

    The files of ``folder`` (PNG, JPEG, TIFF, NPY; hidden files skipped), in name order,
    read as one gray channel (float32), all of the same size; the first 4 measured with
    seeds ``TUNE_SEED + i`` for choosing λ.

    Parameters
    ----------
    folder : str or Path
        The folder of clean images.
    op : str
        An operator spec (``physinv.operators.spec``), built on the images' shape; file
        names in it (a PSF, a mask) are made absolute for the checkpoint.
    noise : str
        A noise spec, e.g. ``"gaussian:sigma=0.01"``.
    n_train : int, optional
        Use only the first ``n_train`` files (default: all).

    Returns
    -------
    Source
        ``Measurements``; description ``{"source": "images", "folder", "files"}``.

    Raises
    ------
    InputError
        For a folder without images, images of different shapes, more ``n_train`` than
        files, or a bad spec.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("a", "b"):
    ...     np.save(folder / f"{name}.npy", np.random.default_rng(0).random((16, 16)))
    >>> source = images_source(folder, "blur:gaussian:sigma=1,size=5", "gaussian:sigma=0.01")
    >>> source.description["files"], source.data.op.in_shape
    (['a.npy', 'b.npy'], (16, 16))
    """
    files = _first(_files(folder, "images"), n_train, "images")
    clean = _stack(files, "images")
    spec = _absolute_files(op)
    operator = from_spec(spec, tuple(clean.shape[-2:]))
    model = noise_from_spec(noise)
    data = Measurements(clean, operator, model)
    return Source(data, {"source": "images", "folder": str(Path(folder).resolve()),
                         "files": [f.name for f in files]},
                  _tune_pairs(clean.double(), operator, model))


def pairs_source(measured, truth, op: str, n_train: int | None = None) -> Source:
    """Measured / true image files matched by name (``truth`` None: measurements only).

    The measurements of ``measured`` in name order (gray, float32, all the same size); each
    has its true image in ``truth`` with the same stem (``a.npy`` ↔ ``a.png`` too). The
    operator is built on the image shape the spec implies for the measurements' shape
    (``image_shape``: ×factor for super-resolution, N × N for an N-bin sinogram).

    Parameters
    ----------
    measured : str or Path
        The folder of measurements.
    truth : str or Path or None
        The folder of true images; None trains without ground truth (unsupervised loss,
        λ by GCV).
    op : str
        An operator spec; file names in it are made absolute for the checkpoint.
    n_train : int, optional
        Use only the first ``n_train`` measurements (default: all).

    Returns
    -------
    Source
        ``Pairs``; description ``{"source": "pairs", "measured", "truth", "files"}``; the
        first 4 pairs (float64) as tuning pairs when there is ground truth.

    Raises
    ------
    InputError
        For a folder without images, images of different shapes, a measurement without
        its true image, true images of another shape than the operator's input, or more
        ``n_train`` than files.
    """
    ys_files = _first(_files(measured, "measured"), n_train, "measurements")
    ys = _stack(ys_files, "measured")
    spec = _absolute_files(op)
    operator = from_spec(spec, image_shape(spec, tuple(ys.shape[-2:])))
    xs = None
    if truth is not None:
        by_stem = {f.stem: f for f in _files(truth, "truth")}
        missing = [f.name for f in ys_files if f.stem not in by_stem]
        if missing:
            raise InputError("truth", str(truth), "a true image named like each measurement",
                             f"none for {', '.join(missing[:3])}")
        xs = _stack([by_stem[f.stem] for f in ys_files], "truth")
        if tuple(xs.shape[-2:]) != tuple(operator.in_shape):
            raise InputError("truth", str(truth), f"images of shape {operator.in_shape} for "
                             f"--op {op}", f"they have shape {tuple(xs.shape[-2:])}")
    data = Pairs(ys, xs, operator)
    tune = [] if xs is None else [(xs[i: i + 1].double(), ys[i: i + 1].double(), operator)
                                  for i in range(min(4, len(ys_files)))]
    return Source(data, {"source": "pairs", "measured": str(Path(measured).resolve()),
                         "truth": None if truth is None else str(Path(truth).resolve()),
                         "files": [f.name for f in ys_files]}, tune)


def initial_lambda(source: Source, lam: float | str = "auto") -> float:
    """λ for the analytic initialisation: a number, or ``auto`` — Tikhonov λ with the best
    PSNR on (≤ 4 of) the training images, GCV on the first measurement without ground truth.

    Parameters
    ----------
    source : Source
        The training data and its tuning pairs.
    lam : float or str, default "auto"
        A positive λ (a number or its text) is returned as it is; ``"auto"`` tunes it
        (``tune_tikhonov`` on ``source.tune``, or ``tikhonov(lam="gcv")`` on the first
        measurement when there are no tuning pairs).

    Returns
    -------
    float
        The absolute λ.

    Raises
    ------
    InputError
        For a value that is neither a positive number nor ``"auto"``.

    Examples
    --------
    >>> initial_lambda(task_source("denoise", 1), "0.05")
    0.05
    """
    if lam != "auto":
        try:
            value = float(lam)
        except (TypeError, ValueError):
            raise InputError("lam", lam, "a positive number or 'auto'") from None
        if not value > 0:
            raise InputError("lam", lam, "a positive number or 'auto'")
        return value
    if source.tune:
        return tune_tikhonov(source.tune)
    from physinv.solvers import tikhonov

    y = source.data.ys[:1].double()
    return float(tikhonov(y, source.data.op, lam="gcv").params["lam"])


def run_training(source: Source, net_name: str, out, *, lam: float | str = "auto",
                 loss: str = "auto", preset: str = "default", seed: int = 0, **options):
    """Build ``net_name`` at its analytic initialisation (weights seeded by ``seed``) and
    train it into ``out`` with the recipe's ``preset`` (``options``: ``TrainConfig`` fields
    that override it, ``None`` for the preset's value; and ``resume``, ``overwrite``,
    ``progress``); returns (net, FitResult, λ).

    Parameters
    ----------
    source : Source
        The training data (``task_source``, ``images_source`` or ``pairs_source``).
    net_name : str
        A network of ``physinv.nets.registry`` (e.g. ``"fourier"``, ``"unrolled-hqs"``).
    out : str or Path or None
        The run folder (``physinv.train.checkpoint``); None keeps nothing on disk.
    lam : float or str, default "auto"
        λ of the analytic initialisation (see ``initial_lambda``).
    loss : str, default "auto"
        The training loss; ``"auto"``: the supervised log-MSE with ground truth, the
        unsupervised loss with λ without.
    preset : {"quick", "default", "long"}, default "default"
        The recipe's preset (``physinv.train.recipe.PRESETS``).
    seed : int, default 0
        Seed of the weights, the data order, the noise and dropout.
    **options
        ``TrainConfig`` fields overriding the preset (None: the preset's value), and
        ``resume``, ``overwrite``, ``progress`` for the trainer.

    Returns
    -------
    (net, FitResult, float)
        The trained network (best validation weights), what training did, and λ.
    """
    run = {k: options.pop(k) for k in ("resume", "overwrite", "progress") if k in options}
    if net_name in NETWORKS and NETWORKS[net_name].family == "regulariser":
        return _train_regulariser(source, net_name, out, preset, seed, run, options)
    lam_value = initial_lambda(source, lam)
    net, result = train_network(net_name, source.data, lam_value, preset, out=out,
                                run_info={**source.description, "net": net_name,
                                          "lam": lam_value}, loss=loss, seed=seed,
                                **run, **options)
    return net, result, lam_value


def _train_regulariser(source: Source, net_name: str, out, preset: str, seed: int, run: dict,
                       options: dict):
    """A learned regulariser trained as a denoiser on the source's clean images (the
    ``regulariser`` preset for ``default``); returns (net, FitResult, 0.0)."""
    clean = getattr(source.data, "clean", None)
    if clean is None:
        raise InputError("data", source.description.get("source"),
                         "clean images (--task or --images) to train a learned regulariser on")
    preset = "regulariser" if preset == "default" else preset
    options = {k: v for k, v in options.items() if k not in ("loss",)}
    net, result = train_regulariser(net_name, clean.to(torch.float32), preset, out=out,
                                    run_info=source.description, seed=seed, **run, **options)
    return net, result, 0.0
