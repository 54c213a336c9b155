"""What every stage of the demo shares: the ``Stage`` record, the ``Context`` a stage runs in,
the one function that trains a network (``train``), timing, and the deblur_gauss set-up.

Scores and hyper-parameters come from the protocol's tasks (``task.score``,
``task.tikhonov_lambda``, ``task.tv_weight``: tuned on training crops only); networks are
trained by the one recipe (``physinv.train.recipe``, preset ``quick``: a fixed number of
epochs, so the seed alone fixes the weights).

>>> letters(["deblur", "data", "depth"])
{'a': 'deblur', 'b': 'data', 'c': 'depth'}
>>> epochs_for("unet", cheap=20, cnn=2), epochs_for("fourier", cheap=20, cnn=2)
(2, 20)
"""

from __future__ import annotations

import math
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from physinv.experiments.demo.settings import DemoSettings
from physinv.experiments.nets_bench import plot_nets
from physinv.experiments.protocol import evaluation_pairs, get_task, training_pairs
from physinv.experiments.report import Report, png_bytes
from physinv.io import atomic_write
from physinv.nets.registry import NETWORKS
from physinv.train import Measurements
from physinv.train.recipe import train_network

__all__ = ["Context", "Stage", "deblur_problem", "epochs_for", "estimate", "letters",
           "mean_rows", "no_checks", "plot_nets", "select", "timed", "train"]


@dataclass
class Context:
    """What a stage gets: the mode's settings, the seed, the figure folder, a progress hook."""

    settings: DemoSettings
    seed: int
    out: Path
    advance: Callable[[float], None] = lambda amount=1.0: None
    describe: Callable[[str], None] = lambda text: None

    def figure(self, name: str, fig) -> str:
        """Write a matplotlib figure as ``<out>/<name>`` (atomically); return the name."""
        import matplotlib.pyplot as plt

        data = png_bytes(fig)
        plt.close(fig)
        atomic_write(self.out / name, lambda tmp: Path(tmp).write_bytes(data))
        return name


def no_checks(results: dict) -> list[dict]:
    """A stage that tests no claim."""
    return []


@dataclass(frozen=True)
class Stage:
    """One stage of the demo: everything the runner, the progress bars, ``--stage``, the
    checks and the report know about it.

    Parameters
    ----------
    name : str
        What ``--stage`` and the files under ``out/stages`` call it.
    title : str
        Its report section's title (the registry prefixes the letter: ``a. <title>``).
    about : str
        Its report section's text: what is measured and how.
    run : callable
        ``run(ctx: Context) -> {"results", "timings", "figures"}``: ``results`` only what the
        seed determines, wall-clock times in ``timings``, ``figures`` the PNG names written
        with ``ctx.figure``.
    units : callable
        ``units(settings: DemoSettings) -> int``: how many times ``run`` calls
        ``ctx.advance()`` (its progress bar's total).
    report : callable
        ``report(report: Report, results: dict, timings: dict) -> None`` adds its tables
        (the section and the figures are added around them).
    checks : callable
        ``checks(results: dict) -> [{"claim", "holds", "detail"}]``: the mathematical facts
        its results can test.
    """

    name: str
    title: str
    about: str
    run: Callable[[Context], dict]
    units: Callable[[DemoSettings], int]
    report: Callable[[Report, dict, dict], None]
    checks: Callable[[dict], list[dict]] = no_checks


def letters(names: Iterable[str]) -> dict[str, str]:
    """{letter: stage name}: a, b, c … in registry order (short names for ``--stage``, the
    report's section letters)."""
    return {string.ascii_lowercase[i]: name for i, name in enumerate(names)}


def timed(fn, repeats: int = 1):
    """(result, best wall-clock seconds over ``repeats`` calls).

    Parameters
    ----------
    fn : callable
        ``fn()``, called ``repeats`` times.
    repeats : int, default 1
        Number of calls.

    Returns
    -------
    (object, float)
        The last call's result and the shortest duration, in seconds.

    Examples
    --------
    >>> value, seconds = timed(lambda: sum(range(10)), repeats=2)
    >>> value, seconds >= 0
    (45, True)
    """
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def epochs_for(name: str, cheap: int, cnn: int) -> int:
    """``cnn`` for a network with a convolutional part (registry cost ``"cnn"``), else
    ``cheap``."""
    return cnn if NETWORKS[name].cost == "cnn" else cheap


def train(name: str, op, crops: torch.Tensor, noise, lam: float, epochs: int, seed: int,
          net=None):
    """(net trained for ``epochs`` fixed epochs — no time budget, so the seed fixes the
    weights —, FitResult). Every network the demo trains itself is trained here; ``net``
    replaces ``build(name, op, lam)`` (e.g. another depth).

    Parameters
    ----------
    name : str
        A network of the registry.
    op : LinearOperator
        The training operator (on the crops' grid).
    crops : torch.Tensor, shape (N, 1, H, W)
        Clean training crops (cast to float32), measured on the fly with fresh noise.
    noise : NoiseModel
        The task's noise.
    lam : float
        λ of the analytic initialisation.
    epochs : int
        The fixed number of epochs (the recipe's ``quick`` preset: no early stopping).
    seed : int
        Seed of the weights, the data order and the noise.
    net : PhysicsNet, optional
        A network built by the caller instead of ``build(name, op, lam)``.

    Returns
    -------
    (net, FitResult)
    """
    return train_network(name, Measurements(crops.float(), op, noise), lam, "quick",
                         epochs=epochs, seed=seed, net=net)


def estimate(net, y):
    """The network's estimate of ``y`` without gradients, in float64."""
    with torch.no_grad():
        return net(y.float()).double()


def mean_rows(rows: list[dict], keys=("psnr", "ssim")) -> dict:
    """The mean of each of ``keys`` over ``rows``.

    Parameters
    ----------
    rows : list of dict
        Per-image scores; every row has every key.
    keys : tuple of str, default ("psnr", "ssim")
        The scores to average.

    Returns
    -------
    dict
        ``{key: float mean}``.

    Examples
    --------
    >>> mean_rows([{"psnr": 30.0, "ssim": 0.75}, {"psnr": 32.0, "ssim": 0.25}])
    {'psnr': 31.0, 'ssim': 0.5}
    """
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def select(rows: list[dict], keep: list[str]) -> list[dict]:
    """The rows with only the columns ``keep`` (None where a row lacks one).

    Parameters
    ----------
    rows : list of dict
        The rows.
    keep : list of str
        The columns, in order.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> select([{"method": "tv", "psnr": 30.0, "ssim": 0.8}], ["method", "psnr", "dice"])
    [{'method': 'tv', 'psnr': 30.0, 'dice': None}]
    """
    return [{k: r.get(k) for k in keep} for r in rows]


def deblur_problem(settings: DemoSettings):
    """deblur_gauss: (task, test pairs, training pairs, training crops, training operator,
    Tikhonov λ tuned on the training crops)."""
    task = get_task("deblur_gauss")
    tests = evaluation_pairs(task, settings.test_images)
    train_set = training_pairs(task, settings.n_train)
    crops = torch.cat([x for x, _, _ in train_set])
    return task, tests, train_set, crops, train_set[0][2], task.tikhonov_lambda(train_set)
