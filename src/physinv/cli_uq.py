"""``physinv calibrate`` and the calibration at the end of ``physinv train``: the split-conformal
scales of a method's or a trained network's variance, fitted on a task's held-out crops
(``physinv.experiments.uq_tasks``) and kept as a JSON — in the run folder for a network
(``calibration.json``, which ``reconstruct --net RUN --variance`` then applies by itself), in
the file ``-o`` names for a solver (``reconstruct --calibration FILE``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from physinv.errors import InputError, check_int
from physinv.paths import check_output

console = Console()
MAX_SAMPLES = 32  # bootstrap reconstructions per image (the cost bound)


def _run_config(target: Path) -> dict | None:
    """The config.json of a run folder (or of a model.safetensors' folder), else None."""
    folder = target if target.is_dir() else target.parent
    if not (folder / "model.safetensors").is_file():
        return None
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None


def calibrate(
    target: str = typer.Argument(..., help="A trained run folder (physinv train --out) or a "
                                 "solver name (physinv reconstruct --method)."),
    task: str = typer.Option(..., "--task", help="The protocol task whose held-out training "
                             "crops, operator and noise calibrate it."),
    images: int = typer.Option(8, "--images", help="Held-out calibration crops (≥ 2)."),
    validation: int = typer.Option(4, "--validation", help="Held-out crops after them that "
                                   "choose the calibration's form (≥ 1; physinv.uq.select)."),
    draws: int = typer.Option(2, "--draws", help="Noise draws per crop (≥ 1)."),
    samples: int = typer.Option(16, "--samples", help="Bootstrap reconstructions K per image, "
                                "2 to 32 (reconstruct --variance then uses the same K)."),
    lam: str | None = typer.Option(None, "--lam", help="A solver's λ as reconstruct will get "
                                   "it (a number, gcv, …; default: the solver's)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="The calibration JSON "
                                       "(default for a run: RUN/calibration.json; required "
                                       "for a solver)."),
):
    """Fit the conformal scales of a method's or a network's per-pixel variance on a task's
    held-out crops, so that x ± z·√v covers 50 / 80 / 90 / 95 / 99 % as it says: every form
    (bootstrap mean square or spread, posterior, with or without a bias term) is fitted on
    --images crops and the one chosen on the --validation crops after them is kept.

    Example: physinv calibrate runs/hqs --task deblur_gauss; physinv calibrate tv --task sr_x2
    -o tv-sr.json
    """
    from physinv.experiments.protocol import TASKS

    if task not in TASKS:
        raise InputError("--task", task, f"one of {', '.join(TASKS)}")
    check_int("--images", images, minimum=2)
    check_int("--draws", draws, minimum=1)
    check_int("--validation", validation, minimum=1)
    _check_samples(samples)
    config = _run_config(Path(target))
    if config is None:
        cal, where = _calibrate_solver(target, task, (images, draws, samples, validation), lam,
                                       output)
    else:
        if lam is not None:
            raise InputError("--lam", lam, "no --lam with a trained run (its λ is learned)")
        cal, where = _calibrate_run(Path(target), config, task,
                                    (images, draws, samples, validation), output)
    console.print(summary(cal, where), soft_wrap=True)


def _check_samples(samples: int) -> None:
    check_int("--samples", samples, minimum=2)
    if samples > MAX_SAMPLES:
        raise InputError("--samples", samples, f"at most {MAX_SAMPLES} bootstrap "
                         "reconstructions per image")


def _calibrate_solver(method, task, sizes, lam, output):
    from physinv.solvers.registry import METHODS

    if method not in METHODS:
        raise InputError("target", method, "a run folder holding model.safetensors or one of "
                         f"{', '.join(METHODS)}")
    if output is None:
        raise InputError("-o/--output", None, "a .json file for a solver's calibration")
    _check_json("-o/--output", output)
    from physinv.experiments.uq_tasks import calibrate_solver

    lam_value = _lam(lam)
    images, draws, samples, validation = sizes
    cal = calibrate_solver(method, task, images, draws, samples, {"lam": lam_value},
                           n_validation=validation)
    return cal, cal.save(output)


def _lam(lam):
    if lam is None or lam in ("gcv", "discrepancy", "lcurve", "evidence"):
        return lam
    try:
        value = float(lam)
    except ValueError:
        value = None
    if value is None or not 0 <= value < float("inf"):
        raise InputError("--lam", lam, "a non-negative number or gcv | discrepancy | lcurve "
                         "| evidence")
    return value


def _check_json(argument: str, path: Path) -> None:
    if path.suffix.lower() != ".json":
        raise InputError(argument, str(path), "a file ending in .json")
    check_output(argument, path)


def _calibrate_run(target: Path, config: dict, task: str, sizes, output):
    folder = target if target.is_dir() else target.parent
    run = config.get("run") or {}
    if run.get("source") == "task" and run.get("task") != task:
        raise InputError("--task", task, f"the task the run was trained for, {run.get('task')}")
    output = folder / "calibration.json" if output is None else output
    _check_json("-o/--output", output)
    from physinv.experiments.protocol import get_task
    from physinv.train import load

    spec = config["operator"]["spec"]
    if spec != get_task(task).spec:
        raise InputError("--task", task, f"a task with the run's operator {spec!r}",
                         f"{task} measures through {get_task(task).spec!r}")
    net = load(folder, device="cpu").eval()
    start = int(run.get("n_train", 0)) if run.get("source") == "task" else 0
    return network_calibration(net, task, spec, start, sizes, output)


def network_calibration(net, task, spec, start, sizes, output):
    """(Calibration, path): the network calibrated on crops ``start`` … and saved; ``sizes``
    = (calibration crops, draws, bootstrap K, validation crops) or None for the defaults."""
    from physinv.experiments.uq_tasks import calibrate_network

    if sizes is None:
        cal = calibrate_network(net, task, spec, start)
    else:
        images, draws, samples, validation = sizes
        cal = calibrate_network(net, task, spec, start, images, draws, samples,
                                n_validation=validation)
    return cal, cal.save(output)


def summary(cal, where) -> str:
    """One line: what was calibrated, on what, the scales, where it is."""
    scales = ", ".join(f"{k}: {v:.3g}" for k, v in sorted(cal.scales.items()))
    how = cal.variance_source + ("" if cal.samples is None else f" (K={cal.samples})")
    chosen = "" if not cal.selection else (
        f"; form {cal.selection['chosen']}, chosen on {cal.selection['validation_set']}: "
        f"{cal.describe_at(cal.level)} at {cal.level:g}")
    return (f"calibrated {cal.method} ({how}) for {cal.operator}, noise {cal.noise} on "
            f"{cal.calibration_set} ({cal.n_pixels:,} pixels): scales {scales}{chosen} "
            f"-> {where}")


def after_training(trained, source, out: Path, calibrate: bool) -> str | None:
    """The calibration at the end of ``physinv train`` (rank 0): on the crops after the
    training crops for a task's run; the line to print, or None when skipped silently."""
    from physinv.nets.ridge import RidgeNet

    if not calibrate:
        return None
    if isinstance(trained, RidgeNet):
        return "not calibrated: a learned regulariser has no operator of its own"
    if source.description.get("source") != "task":
        return ("not calibrated: no held-out crops for this data source; run physinv "
                f"calibrate {out} --task T")
    task = source.description["task"]
    spec = json.loads((Path(out) / "config.json").read_text())["operator"]["spec"]
    cal, where = network_calibration(trained.eval(), task, spec,
                                     source.description["n_train"], None,
                                     Path(out) / "calibration.json")
    return summary(cal, where)
