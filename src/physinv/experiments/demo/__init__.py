"""``physinv demo``: the project's experiments end to end on bundled images, written as a report.

The stages are data: each is a ``Stage`` record (``common.Stage``: name, title, about text,
run, units of work, report section, checks) in its own file, and ``STAGES`` below is the one
registry. The run order, the letters a, b, c … of ``--stage`` and of the report's sections,
the progress totals, the checks and the report all come from it:

- ``deblur``: every structure class of network, the classical and Bayesian solvers and the
  linear limit (the per-image oracle Wiener filter) on deblur_gauss;
- ``data``: test PSNR against the number of training crops, physics inside or not;
- ``depth``: unrolled Landweber with K layers against K Landweber iterations;
- ``fourier``: the learned Fourier diagonal against the Wiener filter;
- ``ir``: thermal super-resolution ×4, posterior σ, calibrated intervals and defects;
- ``uq``: calibrated per-pixel intervals per task and method: coverage, σ against RMSE.
- ``blind``: the PSF estimated from the measurement alone against the true one.

**To add a stage**, write ``demo/<name>.py`` ending in ``STAGE = Stage(...)`` (see
``deblur.py``; train networks with ``common.train``) and list it in ``STAGES`` below — the one
place to touch; the knobs it needs, if any, are new fields of ``settings.DemoSettings``.

Each finished stage is kept under ``out/stages`` so an interrupted demo starts again at the
first unfinished one, and a rerun with another mode, seed or version is refused (the list of
differences is in the error) instead of mixing two configurations. Then, from every finished
stage:

- ``results.json`` — every score, hyper-parameter and count, and the checks of the claims that
  are mathematical facts; only what the seed determines, so the same seed gives the same file;
- ``timings.json`` — the wall-clock times of this run (inference ms, training s, stage s);
- the PNG figures, and ``report.html``, one self-contained file with all of them embedded.

Three sizes (``settings.MODES``): ``quick`` (under a minute on 2 cores: one test image, few
epochs), ``default`` (a few minutes) and ``full`` (every network, larger training sets, more
epochs).

>>> STAGE_NAMES
['deblur', 'data', 'depth', 'fourier', 'ir', 'uq', 'blind']
>>> parse_stages("a,depth")
['deblur', 'depth']
>>> units("deblur", MODES["quick"])
16
"""

from __future__ import annotations

import time

import physinv
from physinv.errors import InputError
from physinv.experiments.demo import blind, data, deblur, depth, fourier, ir, uq
from physinv.experiments.demo.common import Context, Stage, letters
from physinv.experiments.demo.report import write_report
from physinv.experiments.demo.settings import MODES, DemoSettings
from physinv.experiments.stages import Stages
from physinv.io import environment, write_json

__all__ = ["MODES", "STAGES", "STAGE_NAMES", "DemoSettings", "Stage", "checks", "mode_of",
           "parse_stages", "run", "units", "write_report"]

# the registry: every stage, in run and report order
STAGES: dict[str, Stage] = {s.name: s for s in [
    deblur.STAGE,
    data.STAGE,
    depth.STAGE,
    fourier.STAGE,
    ir.STAGE,
    uq.STAGE,
    blind.STAGE,
]}
STAGE_NAMES = list(STAGES)


def mode_of(quick: bool = False, full: bool = False) -> str:
    """The demo's mode from the ``--quick`` / ``--full`` flags.

    Parameters
    ----------
    quick, full : bool, default False
        The flags; at most one may be set.

    Returns
    -------
    {"quick", "default", "full"}

    Raises
    ------
    InputError
        When both are set.

    Examples
    --------
    >>> mode_of(), mode_of(quick=True), mode_of(full=True)
    ('default', 'quick', 'full')
    """
    if quick and full:
        raise InputError("--quick/--full", "both", "at most one of them (quick: under a "
                         "minute; full: every network and budget)")
    return "quick" if quick else "full" if full else "default"


def parse_stages(text: str | None) -> list[str] | None:
    """``"deblur,depth"`` → the names, each checked (the letters a, b, … name them too)."""
    if text is None:
        return None
    short = letters(STAGES)
    names = [short.get(s.strip(), s.strip()) for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise InputError("stage", text, f"names from {', '.join(STAGES)} (or "
                         f"{min(short)}–{max(short)}), separated by commas")
    return names


def units(name: str, settings: DemoSettings) -> int:
    """How many progress steps the stage ``name`` reports (for its bar and ETA)."""
    return STAGES[name].units(settings)


def checks(stages: dict) -> list[dict]:
    """The claims this run can test that hold as mathematical facts, each with its figures,
    from the finished stages' results (name → results), in registry order."""
    return [c for name, stage in STAGES.items() if stages.get(name)
            for c in stage.checks(stages[name])]


def run(out, mode: str = "default", stages: list[str] | None = None, seed: int = 0,
        progress: bool = True, console=None) -> dict:
    """Run the pending stages of ``stages`` (all by default) into ``out``, then write
    results.json, timings.json and report.html from every finished stage; returns results.

    Parameters
    ----------
    out : str or Path
        The output folder; ``out/stages`` keeps each finished stage (see
        ``experiments.stages.Stages``).
    mode : {"quick", "default", "full"}, default "default"
        The settings (``MODES``).
    stages : list of str, optional
        The stages to run (default: all); stages finished earlier are loaded, not rerun.
    seed : int, default 0
        Seed of every training and draw.
    progress : bool, default True
        Show progress bars.
    console : rich.console.Console, optional
        Where the bars go.

    Returns
    -------
    dict
        The content of results.json: ``physinv``, ``mode``, ``seed``, ``settings``,
        ``stages`` (name → results), ``figures``, ``checks`` and ``environment``.

    Raises
    ------
    InputError
        For an unknown mode or stage, or an ``out`` that holds a run with another
        configuration (mode, seed, settings or version).
    """
    if mode not in MODES:
        raise InputError("mode", mode, f"one of {sorted(MODES)}")
    settings = MODES[mode]
    recorded = settings.to_dict()
    config = {"mode": mode, "seed": int(seed), "settings": recorded,
              "physinv": physinv.__version__}
    runner = Stages(out, config, list(STAGES), stages)
    out = runner.out
    started = time.perf_counter()
    _run_pending(runner, settings, int(seed), progress, console)
    finished = {n: runner.load(n) for n in STAGES if runner.done(n)}
    results = {"physinv": physinv.__version__, "mode": mode, "seed": int(seed),
               "settings": recorded, "stages": {n: s["results"] for n, s in finished.items()},
               "figures": {n: s["figures"] for n, s in finished.items()},
               "checks": checks({n: s["results"] for n, s in finished.items()}),
               "environment": environment()}
    timings = {"stages": {n: s["timings"] for n, s in finished.items()},
               "stage_seconds": {n: s.get("seconds") for n, s in finished.items()},
               "this_run_seconds": time.perf_counter() - started}
    write_json(out / "results.json", results)
    write_json(out / "timings.json", timings)
    write_report(out / "report.html", results, timings, out, STAGES)
    return results


def _run_pending(runner: Stages, settings: DemoSettings, seed: int, progress: bool,
                 console) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    pending = runner.pending()
    columns = [TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not progress) as bars:
        tasks = {n: bars.add_task(n, total=units(n, settings)) for n in pending}
        for name in pending:
            task = tasks[name]
            ctx = Context(
                settings=settings, seed=seed, out=runner.out,
                advance=lambda amount=1.0, task=task: bars.advance(task, amount),
                describe=lambda text, task=task: bars.update(task, description=text[:44]))

            def work(name=name, ctx=ctx):
                t0 = time.perf_counter()
                result = STAGES[name].run(ctx)
                result["seconds"] = time.perf_counter() - t0
                return result

            runner.run(name, work)
            bars.update(task, description=f"{name}: done", completed=bars.tasks[task].total)

