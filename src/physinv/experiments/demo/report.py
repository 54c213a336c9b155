"""The demo's report.html: a header, the checks, one lettered section per finished stage (its
``about`` text, the tables of its ``report`` function, its figures), the settings and the
environment — one self-contained file (``experiments.report.Report``)."""

from __future__ import annotations

import math
from pathlib import Path

from physinv.experiments.demo.common import Stage, letters
from physinv.experiments.report import Report


def write_report(path: Path, results: dict, timings: dict, folder: Path,
                 stages: dict[str, Stage]) -> Path:
    """Write ``path`` from results.json and timings.json (as dicts); ``stages`` is the
    registry (name → Stage, in order), ``folder`` holds the figures."""
    report = Report(f"physinv demo ({results['mode']}, seed {results['seed']})")
    report.text("Every number and figure below was computed by this run of `physinv demo` "
                "on images bundled with scikit-image or generated; hyper-parameters were "
                "chosen on training data only. results.json holds the numbers (the same for "
                "the same seed), timings.json the wall-clock times.", note=True)
    flag = {"quick": " --quick", "full": " --full"}.get(results["mode"], "")
    report.text(f"To reproduce: physinv demo{flag} --seed {results['seed']} --out DIR "
                f"(physinv {results['physinv']}).", note=True)
    if results["checks"]:
        report.section("Checks of claims that are mathematical facts")
        report.table([{"claim": c["claim"], "holds": "yes" if c["holds"] else "NO",
                       "figures": c["detail"]} for c in results["checks"]])
    for letter, name in letters(stages).items():
        if name not in results["stages"]:
            continue
        stage = stages[name]
        report.section(f"{letter}. {stage.title}", stage.about)
        stage.report(report, results["stages"][name], timings["stages"].get(name, {}))
        for fig in results["figures"].get(name, []):
            report.figure(folder / fig, caption=fig)
    report.section("Settings of this mode")
    report.table([{"setting": k, "value": ", ".join(map(str, v)) if isinstance(v, list) else v}
                  for k, v in results["settings"].items()], ["setting", "value"])
    env = dict(results["environment"])
    env["seconds (this run)"] = round(timings["this_run_seconds"], 1)
    for name, secs in timings["stage_seconds"].items():
        if secs is not None and math.isfinite(secs):
            env[f"stage {name} (s)"] = round(secs, 1)
    report.environment(env)
    return report.write(path)
