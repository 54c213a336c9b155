"""The ``physinv`` command: parses arguments, calls the library, prints. Nothing else.

Bad input prints one line ``error: <argument>: got <value>, expected <what>`` on stderr, with
no traceback, and exits with status 2. Arguments are checked before any work — output paths
(``io.check_output``), sizes against the memory they would take (``errors.check_memory``) —
and torch and the library are imported only by the command that needs them, so ``--help``,
``--version`` and refusals answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

import physinv
from physinv.cli_catalog import cached
from physinv.errors import InputError, check_int
from physinv.limits import MAX_EPOCHS, MAX_ITERATIONS, check_count, check_sizes
from physinv.paths import check_output

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="physinv: imaging inverse problems g = Hf + ε with the physics inside "
                       "the networks.", rich_markup_mode=None, pretty_exceptions_enable=False)
console = Console()

OP_HELP = ("Forward operator spec, e.g. identity | blur:gaussian:sigma=2 | "
           "blur:motion:length=9,angle=30 | blur:disk:radius=3 | blur:airy:first_zero=2 | "
           "blur:psf.npy | blur:gaussian:sigma=2,boundary=reflect | sr:gaussian:sigma=1,factor=2 "
           "| decimate:factor=2 | mask:ratio=0.5,seed=0 | radon:angles=60 | "
           "fan:angles=360,size=256 | fan:angles=210,short_scan=true,size=256")
NOISE_HELP = ("Noise spec: none | gaussian:sigma=0.01 | poisson:photons=100 | "
              "poisson-gaussian:photons=100,sigma=0.01")
# placeholders of help texts that list a registry's entries (see ``_RegistryHelp``)
METHODS_LIST = "{methods}"
NETWORKS_LIST = "{networks}"
TASKS_LIST = "{tasks}"
IR_TASKS_LIST = "{ir_tasks}"
STAGES_LIST = "{stages}"


def _registry_lists() -> dict[str, str]:
    """The help texts' lists, from the registries (kept by ``cli_catalog`` between runs)."""
    return {k: v for k, v in cached("lists", _build_lists).items() if k.startswith("{")}


def _build_lists() -> dict:
    from physinv.experiments.demo import STAGES, letters
    from physinv.experiments.protocol import TASKS
    from physinv.nets.registry import names
    from physinv.solvers.registry import METHODS
    from physinv.thermal import IR_TASKS

    marks = letters(list(STAGES))
    return {METHODS_LIST: " | ".join(METHODS), NETWORKS_LIST: ", ".join(names()),
            TASKS_LIST: ", ".join(TASKS), IR_TASKS_LIST: ", ".join(IR_TASKS),
            STAGES_LIST: ", ".join(f"{name} ({mark})" for mark, name in marks.items()),
            "tasks": list(TASKS)}


class _RegistryHelp(TyperCommand):
    """A command whose option help texts list the solvers and networks of the registries.

    The lists are filled in when the help is shown: importing the registries (every solver and
    network) when the command starts would slow every call, ``physinv --version`` included.
    """

    def format_help(self, ctx, formatter):
        lists = _registry_lists()
        for param in self.params:
            for placeholder, text in lists.items():
                if param.help and placeholder in param.help:
                    param.help = param.help.replace(placeholder, text)
        super().format_help(ctx, formatter)


def _version(value: bool):
    if value:
        console.print(f"physinv {physinv.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):
    """physinv: imaging inverse problems g = Hf + ε."""


@app.command()
def info():
    """List the operators, PSFs, noise models, reconstruction methods and bundled images.

    Example: physinv info
    """
    table = Table(title=f"physinv {physinv.__version__}")
    table.add_column("what")
    table.add_column("names")
    for row in cached("info", _info_rows):
        table.add_row(*row)
    console.print(table)


def _info_rows() -> list[tuple[str, str]]:
    from physinv.data import images
    from physinv.noise import MODELS
    from physinv.operators import psf
    from physinv.operators.spec import KINDS
    from physinv.solvers.registry import METHODS as SOLVERS

    return [("operators (--op kinds)", ", ".join(KINDS)),
            ("PSFs (blur:<psf>)", ", ".join(sorted(psf.GENERATORS)) + ", or a file"),
            ("noise (--noise)", ", ".join(MODELS)),
            ("methods (reconstruct --method)", ", ".join(SOLVERS)),
            ("training images", ", ".join(images.TRAINING_POOL)),
            ("test images", ", ".join(images.TEST_SET)),
            ("other images", ", ".join(images.EXTRA))]


@app.command()
def simulate(
    image: str = typer.Argument(..., help="A bundled image name (physinv info) or a file path."),
    op: str = typer.Option("blur:gaussian:sigma=2", "--op", help=OP_HELP),
    noise: str = typer.Option("gaussian:sigma=0.01", "--noise", help=NOISE_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise generator."),
    output: Path = typer.Option(..., "-o", "--output",
                                help="Measurement file: .npy / .tif (lossless, with a .png "
                                     "preview beside) or .png."),
    color: bool = typer.Option(False, "--color", help="Keep colour channels (default: gray)."),
    truth: Path | None = typer.Option(None, "--truth", help="Also write the clean image here."),
):
    """Simulate a measurement g = Hf + ε from an image.

    Example: physinv simulate camera --op blur:gaussian:sigma=2 --noise gaussian:sigma=0.01
    --seed 0 -o y.npy
    """
    _file_output("-o/--output", output, preview=True)
    check_int("--seed", seed, minimum=0)
    if truth is not None:
        _file_output("--truth", truth)
    if Path(image).suffix:
        from physinv.io import probe_image

        probe_image(image, "image")
    from physinv.data import load_image, write_image, write_with_preview
    from physinv.noise import from_spec as noise_from_spec
    from physinv.noise import simulate as simulate_measurement
    from physinv.operators.spec import from_spec

    x = load_image(image, gray=not color)
    operator = from_spec(op, x.shape[-2:])
    model = noise_from_spec(noise)
    y = simulate_measurement(x, operator, model, seed=seed)
    written = write_with_preview(output, y[0])
    if truth is not None:
        written.append(write_image(truth, x[0]))
    console.print(f"simulated {tuple(y.shape[1:])} measurement with {op} and {model.spec()} "
                  f"(seed {seed}) -> " + ", ".join(str(p) for p in written))


class _NewFolder:
    """``with _NewFolder(out):`` — if the command is refused (``InputError``) after it created
    ``out``, the folder goes again when nothing but an empty tree or a lock file is in it."""

    def __init__(self, out: Path):
        self.out, self.existed = Path(out), Path(out).exists()

    def __enter__(self):
        return self.out

    def __exit__(self, kind, error, trace):
        if kind is not None and issubclass(kind, InputError) and not self.existed:
            from physinv.paths import LOCK_NAME

            leftovers = [p for p in self.out.rglob("*") if p.is_file() and p.name != LOCK_NAME]
            if self.out.is_dir() and not leftovers:
                import shutil

                shutil.rmtree(self.out, ignore_errors=True)
        return False


def _check_numbers(integers, positives=()) -> None:
    """Integer options ``(name, value, minimum)`` and positive finite ones ``(name, value)``
    checked before any work (None: not given)."""
    for name, value, minimum in integers:
        if value is not None:
            check_int(name, value, minimum=minimum)
    for name, value in positives:
        if value is not None and not 0 < value < float("inf"):
            raise InputError(name, value, "a positive finite number")


def _file_output(argument: str, path: Path, preview: bool = False) -> Path:
    """An output image file checked before any work: suffix, folder, writability (and the
    folder of the .png preview written beside a lossless file)."""
    from physinv.paths import LOSSLESS, PREVIEW

    if path.suffix.lower() not in LOSSLESS + PREVIEW:
        raise InputError(argument, str(path), f"a file ending in one of {LOSSLESS + PREVIEW}")
    check_output(argument, path)
    if preview and path.suffix.lower() in LOSSLESS and path.with_suffix(".png").is_dir():
        raise InputError(argument, str(path), "a name whose .png preview is not a folder",
                         f"{path.with_suffix('.png')} is a folder")
    return path


def _inputs(measurement: Path) -> list[Path]:
    from physinv.paths import READABLE

    if measurement.is_dir():
        files = sorted(p for p in measurement.iterdir()
                       if p.suffix.lower() in READABLE and not p.name.startswith("."))
        if not files:
            raise InputError("measurement", str(measurement),
                             f"a file or a folder holding {', '.join(READABLE)} files")
        return files
    if not measurement.exists():
        raise InputError("measurement", str(measurement), "an existing file or folder")
    return [measurement]


def _output_for(source: Path, output: Path, many: bool, suffix: str) -> Path:
    if not many:
        return output
    if output.exists() and not output.is_dir():
        raise InputError("output", str(output), "a folder when the measurement is a folder")
    output.mkdir(parents=True, exist_ok=True)
    return output / f"{source.stem}{suffix}"


@app.command(cls=_RegistryHelp)
def reconstruct(
    measurement: Path = typer.Argument(..., help="The measurement y (.npy, .tif, .png), or a "
                                       "folder of them."),
    op: str | None = typer.Option(None, "--op", help=OP_HELP + " (not with --net: the "
                                  "operator comes from the checkpoint)"),
    net: Path | None = typer.Option(None, "--net", help="A trained run folder (physinv train "
                                    "--out) or its model.safetensors: reconstruct with it."),
    method: str = typer.Option("tikhonov", "--method", help=METHODS_LIST),
    lam: str | None = typer.Option(None, "--lam", help="λ: a number, or for tikhonov gcv | "
                                   "discrepancy | lcurve | evidence (default gcv)."),
    n_iter: int | None = typer.Option(None, "--n-iter", help="Iteration cap."),
    tol: float | None = typer.Option(None, "--tol", help="Relative-change tolerance."),
    reg: str | None = typer.Option(None, "--reg", help="tikhonov / bayes-gauss: gradient | "
                                   "identity."),
    basis: str | None = typer.Option(None, "--basis", help="ista / fista: pixel | wavelet."),
    positivity: bool = typer.Option(False, "--positivity", help="tv: enforce x >= 0."),
    classes: int | None = typer.Option(None, "--classes", help="potts: number of classes."),
    output: Path = typer.Option(..., "-o", "--output",
                                help="Estimate: .npy / .tif (lossless, + .png preview) or .png; "
                                     "a folder when the measurement is a folder."),
    suffix: str = typer.Option(".tif", "--suffix", help="Format of the files written into an "
                               "output folder: .tif | .npy | .png."),
    variance: Path | None = typer.Option(None, "--variance", help="Write the per-pixel "
                                         "variance map v (x ± z·√v is the interval at "
                                         "--level): the posterior's for bayes-gauss / "
                                         "bayes-studentt, else the equivariant bootstrap's; "
                                         "calibrated with --calibration."),
    level: float | None = typer.Option(None, "--level", help="--variance: nominal level of "
                                       "the interval, in (0, 1) (default 0.95)."),
    samples: int | None = typer.Option(None, "--samples", help="--variance: bootstrap "
                                       "reconstructions K, 2 to 32 (default 16)."),
    calibration: Path | None = typer.Option(None, "--calibration", help="--variance: a "
                                            "calibration JSON (physinv.uq) for this method, "
                                            "operator and noise; without it the variance is "
                                            "uncalibrated."),
    noise: str | None = typer.Option(None, "--noise", help="--variance: the measurement's "
                                     "noise, " + NOISE_HELP + " (default: the calibration's, "
                                     "else Gaussian with σ estimated from the measurement); "
                                     "--net with --op: the known σ a learned regulariser is "
                                     "solved with (default: estimated per measurement)."),
    interval: str | None = typer.Option(None, "--interval", help="--variance: also write the "
                                        "bounds x ∓ z·√v at --level as LO,HI (two .npy / "
                                        ".tif files)."),
    labels: Path | None = typer.Option(None, "--labels", help="Write the label map (potts)."),
    device: str = typer.Option("auto", "--device", help="--net: auto | cpu | cuda[:N]."),
):
    """Reconstruct x from a measurement y = Hx + noise with a classical or Bayesian solver,
    or with a trained network (--net). A folder of measurements gives a folder of estimates;
    under torchrun each process takes its share of the files.

    Example: physinv reconstruct y.npy --op blur:gaussian:sigma=2 --method tikhonov --lam gcv
    -o x.png; physinv reconstruct y.npy --net runs/hqs -o x.tiff
    """
    files = _inputs(measurement)
    many = measurement.is_dir()
    _check_reconstruct(files, many, op, net, n_iter, classes, tol, lam, output, suffix,
                       variance, labels)
    auto = net is not None and calibration is None and variance is not None
    calibration = _run_calibration(net) if auto else calibration
    sigma, noise = _regulariser_sigma(noise, net is not None and op is not None, variance)
    uq = _check_uq(variance, level, samples, calibration, noise, interval)
    if uq is not None:
        uq["auto"] = auto and calibration is not None
    from physinv.solvers.registry import METHODS

    if net is not None:
        solve = _network_solver(net, device, uq, op_spec=op, lam=lam, positivity=positivity,
                                sigma=sigma)
    else:
        if op is None:
            raise InputError("--op", None, "an operator spec (or --net with a trained run)")
        if method not in METHODS:
            raise InputError("method", method, f"one of {sorted(METHODS)}")
        solve = _method_solver(op, method, lam, dict(n_iter=n_iter, tol=tol, reg=reg,
                                                     basis=basis, n_classes=classes,
                                                     positivity=positivity or None),
                               show=not many, uq=uq)
    _reconstruct_all(files, many, output, suffix, solve, variance, labels,
                     uq and uq["interval"])


def _check_reconstruct(files, many, op, net, n_iter, classes, tol, lam, output, suffix,
                       variance, labels) -> None:
    """The checks of ``reconstruct``'s arguments and paths, before any work."""
    from physinv.io import probe_image

    for f in files:
        probe_image(f, "measurement")
    if many and (variance is not None or labels is not None):
        raise InputError("--variance/--labels", str(variance or labels),
                         "a single measurement file (not a folder)")
    if many:
        check_output("-o/--output", output, folder=True)
        if suffix.lower() not in (".tif", ".tiff", ".npy", ".png"):
            raise InputError("--suffix", suffix, "one of .tif, .npy, .png")
    else:
        _file_output("-o/--output", output, preview=True)
    for argument, path in (("--variance", variance), ("--labels", labels)):
        if path is not None:
            _file_output(argument, path)
    if net is not None and op is not None and not _is_regulariser(net):
        raise InputError("--op", op, "no --op with --net (the checkpoint holds the operator; "
                         "only a learned regulariser, crr / wcrr, applies to any operator)")
    if net is not None and not (net.is_file() or (net / "model.safetensors").is_file()):
        raise InputError("--net", str(net), "a run folder holding model.safetensors (physinv "
                         "train --out) or a model.safetensors file")
    if n_iter is not None:
        check_count("--n-iter", n_iter, MAX_ITERATIONS)
    if classes is not None:
        check_int("--classes", classes, minimum=2)
    if tol is not None and not tol >= 0:
        raise InputError("--tol", tol, "a non-negative number")
    if lam is not None and lam not in ("gcv", "discrepancy", "lcurve", "evidence"):
        try:
            value = float(lam)
        except ValueError:
            value = lam
        if isinstance(value, str) or not 0 <= value < float("inf"):
            raise InputError("--lam", value, "a non-negative number or gcv | discrepancy | "
                             "lcurve | evidence")


MAX_SAMPLES = 32  # bootstrap reconstructions per image (the cost bound)


def _run_calibration(net: Path) -> Path | None:
    """A run folder's calibration.json (``physinv train`` / ``calibrate`` wrote it), if any."""
    path = (net if net.is_dir() else net.parent) / "calibration.json"
    return path if path.is_file() else None


def _check_uq(variance, level, samples, calibration, noise, interval=None) -> dict | None:
    """The options of ``reconstruct --variance`` checked before any work (JSON only, no torch):
    None without --variance, else {level, samples, calibration, noise, interval}."""
    if variance is None:
        for name, value in (("--level", level), ("--samples", samples),
                            ("--calibration", calibration), ("--noise", noise),
                            ("--interval", interval)):
            if value is not None:
                raise InputError(name, str(value), "to be given with --variance FILE")
        return None
    level = 0.95 if level is None else level
    if not 0 < level < 1:
        raise InputError("--level", level, "a probability strictly between 0 and 1",
                         "0.95 for 95 % intervals")
    record = _read_calibration(calibration, level) if calibration is not None else {}
    calibrated_k = record.get("samples")
    if samples is not None and calibrated_k is not None and samples != calibrated_k:
        raise InputError("--samples", samples, f"the K = {calibrated_k} bootstrap samples "
                         f"{calibration} was calibrated with (or no --samples)")
    if samples is None:
        samples = calibrated_k or 16
    check_int("--samples", samples, minimum=2)
    if samples > MAX_SAMPLES:
        raise InputError("--samples", samples, f"at most {MAX_SAMPLES} bootstrap "
                         "reconstructions per image")
    return dict(level=level, samples=samples, calibration=calibration, noise=noise,
                interval=_check_interval(interval, level))


def _check_interval(interval: str | None, level: float):
    """``LO,HI`` → (lo, hi, z) with both paths checked (lossless files), or None."""
    if interval is None:
        return None
    from physinv.paths import LOSSLESS

    parts = [Path(p.strip()) for p in interval.split(",")]
    if len(parts) != 2 or any(p.suffix.lower() not in LOSSLESS for p in parts) or \
            parts[0] == parts[1]:
        raise InputError("--interval", interval, f"two different files LO,HI ending in one "
                         f"of {', '.join(LOSSLESS)}")
    for p in parts:
        check_output("--interval", p)
    from statistics import NormalDist

    return parts[0], parts[1], NormalDist().inv_cdf((1 + level) / 2)


def _read_calibration(calibration: Path, level: float) -> dict:
    """A calibration JSON's record, checked to hold ``level`` (before any work)."""
    import json

    try:
        record = json.loads(calibration.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or not str(record.get("format", "")).startswith(
            "physinv-uq-calibration/") or not isinstance(record.get("scales"), dict):
        raise InputError("--calibration", str(calibration), "a readable calibration JSON "
                         "(physinv.uq.Calibration.save)")
    if f"{level:g}" not in record["scales"]:
        raise InputError("--level", level, f"one of the levels calibrated in {calibration}:"
                         f" {', '.join(sorted(record['scales']))}")
    return record


def _uncertainty(uq, reconstruct, y, operator, spec, method, x_hat, posterior):
    """The variance written by ``reconstruct --variance`` and the line that says what it is:
    the posterior variance if the method has one, else the equivariant bootstrap; scaled by the
    calibration if one is given (refused if made for another method, operator or noise)."""
    from physinv.errors import check_finite
    from physinv.noise import estimate_sigma
    from physinv.noise import from_spec as noise_from_spec
    from physinv.uq import equivariant_bootstrap, load, normal_quantile

    cal = load(uq["calibration"]) if uq["calibration"] is not None else None
    if uq["noise"] is not None:
        model, noise_text = noise_from_spec(uq["noise"]), "given"
    elif cal is not None:
        model, noise_text = noise_from_spec(cal.noise), "the calibration's"
    else:
        model = noise_from_spec(f"gaussian:sigma={estimate_sigma(y):.6g}")
        noise_text = "σ estimated from the measurement"
    from physinv.uq import Candidate, Maps

    source = "bootstrap" if posterior is None else "posterior"
    if cal is not None:
        cal.check(method=method, operator=spec, variance_source=source,
                  argument="--calibration",
                  noise=model.spec() if posterior is None or uq["noise"] is not None else None)
    # the calibration's candidate (physinv.uq.select) says which map — the bootstrap's mean
    # square or spread, or the posterior — and which bias proxy β² its weights take
    candidate = Candidate.of(cal) if cal is not None else Candidate(
        None if posterior is not None else "mse")
    if posterior is not None:
        maps, how = Maps(x_hat, check_finite("variance", posterior)), "posterior"
    else:
        boot = equivariant_bootstrap(reconstruct, y, operator, model, x_hat=x_hat,
                                     n_samples=uq["samples"], seed=0,
                                     estimator=candidate.estimator)
        maps = Maps(x_hat, boot.variance, boot.spread, boot.mean)
        how = f"{boot.describe()}, noise {model.spec()} ({noise_text}), {boot.seconds:.2f} s"
    var, bias2 = candidate.maps(maps)
    level = uq["level"]
    z = normal_quantile(level)
    if cal is None:
        return var, (f"variance: {how}; UNCALIBRATED (no --calibration): x ± {z:.3g}·√v is "
                     f"not known to cover {level:.0%}")
    whose = "the run's calibration, applied automatically: " if uq.get("auto") else ""
    return cal.apply(var, level, bias2), (
        f"variance: {how}; calibrated at {level:g} ({cal.describe_at(level)}, "
        f"{whose}{uq['calibration']}: {cal.calibration_set}): x ± {z:.3g}·√v is the "
        f"{level:.0%} interval")


def _reconstruct_all(files, many, output, suffix, solve, variance, labels,
                     interval=None) -> None:
    """Reconstruct one file, or this process's share of a folder's files with a bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from physinv.train.distributed import share

    mine = share(files)
    if many:
        with Progress(TextColumn("reconstruct"), BarColumn(), MofNCompleteColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("files", total=len(mine))
            for f in mine:
                written, _ = _reconstruct_file(f, _output_for(f, output, True, suffix), solve)
                progress.advance(task)
        console.print(f"reconstructed {len(mine)} of {len(files)} file(s) -> {output}")
        return
    written, result = _reconstruct_file(files[0], output, solve, variance, labels, interval)
    console.print(f"{result['text']} -> " + ", ".join(str(p) for p in written), soft_wrap=True)


def _reconstruct_file(path: Path, output: Path, solve, variance=None, labels=None,
                      interval=None):
    import torch

    from physinv.data import read_image, write_image, write_with_preview

    y = read_image(path, argument="measurement")[None].to(torch.float64)
    x, var, lab, text = solve(y)
    written = write_with_preview(output, x[0])
    if variance is not None:
        if var is None:
            raise InputError("--variance", str(variance),
                             "a method with a variance map (bayes-gauss, bayes-studentt)")
        written.append(write_image(variance, var[0]))
    if interval is not None:  # x ∓ z·√v at the level (the variance is the calibrated one)
        lo, hi, z = interval
        half = z * var[0].clamp_min(0).sqrt()
        written += [write_image(lo, x[0] - half), write_image(hi, x[0] + half)]
    if labels is not None:
        if lab is None:
            raise InputError("--labels", str(labels), "a method with a label map (potts)")
        lab = lab[0].to(torch.float64)
        written.append(write_image(labels, lab / max(float(lab.max()), 1.0)
                                   if labels.suffix.lower() in (".png", ".jpg", ".jpeg")
                                   else lab))
    return written, {"text": text}


def _is_regulariser(path: Path) -> bool:
    """Whether the run at ``path`` is a learned regulariser (read from its config.json)."""
    import json

    config = (path if path.is_dir() else path.parent) / "config.json"
    try:
        return json.loads(config.read_text())["network"]["class"] == "RidgeNet"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _regulariser_sigma(noise: str | None, regulariser: bool, variance) -> tuple:
    """(σ, --noise left for --variance): for a learned regulariser on --op (``regulariser``)
    the known noise level it is solved with — σ of a Gaussian --noise spec, None without one
    (then estimated per measurement); --noise stays with --variance when both are given."""
    if noise is None or not regulariser:
        return None, noise
    sigma = _gaussian_sigma(noise)
    return sigma, (noise if variance is not None else None)


def _gaussian_sigma(noise: str) -> float:
    """σ of a ``gaussian:sigma=S`` spec (S > 0), else a clear error."""
    from physinv.noise import Gaussian
    from physinv.noise import from_spec as noise_from_spec

    model = noise_from_spec(noise)
    if not isinstance(model, Gaussian) or not model.sigma > 0:
        raise InputError("--noise", noise, "with a learned regulariser: gaussian:sigma=S > 0, "
                         "the known noise level of the measurement (its λ(σ), μ(σ))")
    return float(model.sigma)


def _network_solver(path: Path, device: str, uq=None, op_spec: str | None = None,
                    lam: str | None = None, positivity: bool = False,
                    sigma: float | None = None):
    import time

    import torch

    from physinv.operators.spec import from_spec, image_shape
    from physinv.train import load

    model = load(path, device=device)
    spec = op_spec or model.checkpoint["config"]["operator"]["spec"]
    changes = {}
    if op_spec is not None:  # a learned regulariser on the user's operator
        from physinv.train.regulariser import SOLVE_MAX_ITER, SOLVE_TOL

        changes = {"positivity": positivity, "tol": SOLVE_TOL, "max_iter": SOLVE_MAX_ITER,
                   "sigma": sigma}
        if lam is not None:  # checked as a number ≥ 0 up front; the factor must be > 0
            if lam in ("gcv", "discrepancy", "lcurve", "evidence") or not float(lam) > 0:
                raise InputError("--lam", lam, "with a learned regulariser: its factor "
                                 "s_λ > 0 on the learned λ(σ)")
            changes["lam_scale"] = float(lam)
    nets = {} if op_spec is not None else {tuple(model.op.in_shape): model}
    dev = next(model.parameters()).device

    def solve(y):
        shape = image_shape(spec, tuple(y.shape[-2:]))
        if shape not in nets:
            nets[shape] = model.for_operator(from_spec(spec, shape), **changes).to(dev).eval()
        net = nets[shape]
        if tuple(y.shape[-2:]) != tuple(net.op.out_shape):
            raise InputError("measurement", tuple(y.shape[-2:]),
                             f"a measurement of the form {spec} gives "
                             f"(its shape {tuple(net.op.out_shape)} for {shape} images)")
        start = time.perf_counter()

        def reconstruct(g, o):
            with torch.no_grad():
                return net(g.to(dev, torch.float32)).to("cpu", torch.float64)

        x = reconstruct(y, net.op)
        text = (f"{type(net).__name__} ({path}): {time.perf_counter() - start:.2f} s, "
                f"{shape[0]}×{shape[1]}")
        var = None
        if uq is not None:
            operator = from_spec(spec, shape)
            var, line = _uncertainty(uq, reconstruct, y, operator, spec, type(net).__name__,
                                     x, None)
            text += f"\n{line}"
        return x, var, None, text

    return solve


def _describe(estimate) -> str:
    """``sigma=1.97 ± 0.01`` for each estimated parameter, then the noise level and notes."""
    parts = []
    for name, value in estimate.params.items():
        std = estimate.std.get(name)
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={shown}" + ("" if std is None else f" ± {std:.3f}"))
    text = f"{estimate.kind} " + ", ".join(parts)
    text += f"; noise σ ≈ {estimate.noise_var ** 0.5:.3g}"
    if estimate.seconds is not None:
        text += f"; {estimate.seconds:.1f} s"
    return text + "".join(f"; warning: {n}" for n in estimate.notes)


def _method_solver(op: str, method: str, lam, options: dict, show: bool, uq=None):
    import time

    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from physinv.operators.spec import from_spec, image_shape
    from physinv.solvers.blind import resolve_auto
    from physinv.solvers.registry import ITERATIVE, run

    lam_value = None
    if lam is not None:
        try:
            lam_value = float(lam)
        except ValueError:
            lam_value = lam
    options = dict(options, lam=lam_value)
    if method == "potts" and options["n_classes"] is None:
        options["n_classes"] = 2

    def solve(y):
        spec, estimate = resolve_auto(op, y, "--op")
        operator = (estimate.operator(tuple(y.shape[-2:]))
                    if estimate is not None and estimate.kind == "free"
                    else from_spec(spec, image_shape(spec, tuple(y.shape[-2:]))))
        if tuple(y.shape[-2:]) != tuple(operator.out_shape):
            raise InputError("measurement", tuple(y.shape[-2:]),
                             f"shape {operator.out_shape} for --op {op}")
        if estimate is not None:
            console.print(f"PSF estimated from the measurement: {_describe(estimate)}",
                          soft_wrap=True)
        start = time.perf_counter()
        if method in ITERATIVE and show:
            with Progress(TextColumn(f"{method}"), BarColumn(),
                          TextColumn("{task.completed} it"), TimeRemainingColumn(),
                          console=console, transient=True) as progress:
                task = progress.add_task(method, total=options["n_iter"] or None)
                result = run(method, y, operator, **options,
                             callback=lambda k, x: progress.update(task, completed=k))
        else:
            result = run(method, y, operator, **options)
        seconds = time.perf_counter() - start
        residual = float(torch.linalg.vector_norm(operator(result.x, check=False) - y) /
                         torch.linalg.vector_norm(y).clamp_min(1e-30))
        lam_text = result.params.get("lam")
        lam_text = f"{lam_text:.4g}" if isinstance(lam_text, float) else "-"
        text = (f"{method}: λ={lam_text}, iterations={result.n_iter} ({result.stop_reason}), "
                f"{seconds:.2f} s, relative residual {residual:.4g}")
        var = result.variance
        if uq is not None:
            var, line = _uncertainty(uq, lambda g, o: run(method, g, o, **options).x, y,
                                     operator, spec, method, result.x, result.variance)
            text += f"\n{line}"
        return result.x, var, result.labels, text

    return solve


@app.command(cls=_RegistryHelp)
def train(
    net: str = typer.Option(..., "--net", help="Network name (physinv nets): "
                            f"{NETWORKS_LIST}."),
    out: Path = typer.Option(..., "--out", help="Run folder: config.json, model.safetensors, "
                             "last.safetensors, metrics.csv / .jsonl."),
    task: str | None = typer.Option(None, "--task", help="Train on a protocol task's crops, "
                                    f"operator and noise: {TASKS_LIST}."),
    images: Path | None = typer.Option(None, "--images", help="Or: a folder of clean images "
                                       "(same size), measured through --op with --noise."),
    measured: Path | None = typer.Option(None, "--measured", help="Or: a folder of measured "
                                         "files y (with --op), paired by name with --truth."),
    truth: Path | None = typer.Option(None, "--truth", help="Folder of true images for "
                                      "--measured (without it: unsupervised training)."),
    op: str | None = typer.Option(None, "--op", help=OP_HELP),
    noise: str = typer.Option("gaussian:sigma=0.01", "--noise", help=NOISE_HELP),
    n_train: int | None = typer.Option(None, "--n-train", help="Number of training images "
                                       "(--task: required; folders: the first N)."),
    preset: str = typer.Option("default", "--preset", help="Training recipe: quick (fixed "
                               "epochs, 16 samples each) | default (30 epochs, 32 samples, "
                               "early stop after 15) | long (200 epochs, 64 samples, 30)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs (default: the preset's)."),
    samples: int | None = typer.Option(None, "--samples-per-epoch", help="Samples drawn per "
                                       "epoch (default: the preset's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Global batch (all "
                                          "processes; default: the preset's)."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate of the CNN weights "
                                    "(default: the preset's, 1e-3)."),
    loss: str = typer.Option("auto", "--loss", help="auto | supervised | physics | "
                             "unsupervised."),
    lam: str = typer.Option("auto", "--lam", help="λ of the analytic initialisation: a "
                            "number or auto (tuned on the training images)."),
    patience: int | None = typer.Option(None, "--patience", help="Early stop after N epochs "
                                        "without a better validation score (default: the "
                                        "preset's)."),
    budget: float | None = typer.Option(None, "--budget", help="Training time limit (s)."),
    seed: int = typer.Option(0, "--seed", help="Seed of weights, data order and noise."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 autocast on CUDA) | "
                                  "float32 | bf16."),
    save_every: int | None = typer.Option(None, "--save-every", help="Also save the resume "
                                          "state every N steps (default: each epoch)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out."),
    no_calibrate: bool = typer.Option(False, "--no-calibrate", help="Skip the calibration of "
                                      "the bootstrap variance on held-out crops at the end "
                                      "(--task runs: calibration.json in --out)."),
):
    """Train a physics-constrained network and keep it (safetensors + JSON) in --out.

    Example: physinv train --task deblur_gauss --net unrolled-hqs --n-train 16 --epochs 30
    --out runs/hqs; physinv train --images clean/ --op blur:gaussian:sigma=2 --noise
    gaussian:sigma=0.01 --net fourier-radial --out runs/mine; several processes:
    torchrun --nproc-per-node 2 -m physinv.cli train ...
    """
    check_output("--out", out, folder=True)
    if epochs is not None:
        check_count("--epochs", epochs, MAX_EPOCHS)
    _check_numbers([("--seed", seed, 0), ("--n-train", n_train, 1), ("--epochs", epochs, 1),
                    ("--samples-per-epoch", samples, 1), ("--batch-size", batch_size, 1),
                    ("--patience", patience, 0), ("--save-every", save_every, 1)],
                   [("--lr", lr), ("--budget", budget)])
    source = _training_source(task, images, measured, truth, op, noise, n_train, samples,
                              batch_size)
    from physinv.experiments import training

    with _NewFolder(out):
        trained, result, lam_value = training.run_training(
            source, net, out, lam=lam, loss=loss, preset=preset, seed=seed, epochs=epochs,
            samples_per_epoch=samples, batch_size=batch_size, lr=lr, patience=patience,
            max_time=budget, device=device, precision=precision, save_every=save_every,
            resume=resume, overwrite=overwrite, progress=True)
    from physinv.train.logs import summary_line

    if int(__import__("os").environ.get("RANK", "0")) == 0:
        note = f" (resumed after epoch {result.resumed_from})" \
            if result.resumed_from is not None else ""
        console.print(f"{net}: λ={lam_value:.4g}, {trained.trainable_parameters():,} trainable "
                      f"parameters; {summary_line(result)}{note} -> {out}", soft_wrap=True)
        from physinv.cli_uq import after_training

        line = after_training(trained, source, out, calibrate=not no_calibrate)
        if line:
            console.print(line, soft_wrap=True)


def _training_source(task, images, measured, truth, op, noise, n_train, samples, batch_size):
    """The training data of ``physinv train``: exactly one of --task, --images, --measured,
    with the sizes checked before any image is read."""
    chosen = [name for name, value in (("--task", task), ("--images", images),
                                       ("--measured", measured)) if value is not None]
    if len(chosen) != 1:
        raise InputError("data", ", ".join(chosen) or None,
                         "exactly one of --task, --images or --measured")
    if task is not None:
        if n_train is None:
            raise InputError("--n-train", None, "the number of training crops for --task")
        if op is not None:
            raise InputError("--op", op, "no --op with --task (the task defines it)")
        check_sizes(n_train, samples, batch_size)
        from physinv.experiments import training

        return training.task_source(task, n_train)
    if op is None:
        raise InputError("--op", None, "an operator spec for --images / --measured")
    check_sizes(n_train, samples, batch_size)
    from physinv.experiments import training

    return (training.images_source(images, op, noise, n_train) if images is not None
            else training.pairs_source(measured, truth, op, n_train))


@app.command()
def nets(
    task: str = typer.Option("deblur_gauss", "--task", help="Protocol task whose operator the "
                             "networks are built for (128×128 training grid)."),
    lam: float = typer.Option(0.01, "--lam", help="Tikhonov λ the networks start from."),
):
    """List the network structures for a task with their fixed / trainable parameter counts.

    Example: physinv nets --task deblur_gauss
    """
    _check_numbers([], [("--lam", lam)])
    tasks = cached("lists", _build_lists)["tasks"]
    if task not in tasks:
        raise InputError("--task", task, f"one of {sorted(tasks)}")
    listing = cached(f"nets:{task}:{lam!r}", lambda: _nets_table(task, lam))
    table = Table(title=listing["title"])
    for col in ("network", "class", "fixed", "trainable", "structure"):
        table.add_column(col)
    for row in listing["rows"]:
        table.add_row(*row)
    console.print(table)


def _nets_table(task: str, lam: float) -> dict:
    """``physinv nets``' title and rows: every network built for the task's 128×128 operator."""
    from physinv.experiments.protocol import get_task
    from physinv.nets.registry import NETWORKS, available, build

    op = get_task(task).operator((128, 128))
    rows = []
    for name, why in available(op).items():
        entry = NETWORKS[name]
        if why is not None:
            rows.append((name, entry.family, "—", "—", f"not offered: {why}"))
            continue
        net = build(name, op, lam)
        rows.append((name, entry.family, f"{net.fixed_parameters():,}",
                     f"{net.trainable_parameters():,}", entry.description))
    return {"title": f"networks for {task} ({type(op).__name__}, 128×128)", "rows": rows}


@app.command(cls=_RegistryHelp)
def bench(
    suite: str = typer.Option("classical", "--suite", help="classical, nets, ir or peers "
                              "(scikit-image and, with the [compare] extra, DeepInverse and "
                              "BM3D)."),
    json_path: Path = typer.Option(..., "--json", help="Where to write the JSON of this run."),
    tasks: str | None = typer.Option(None, "--tasks", help="Comma-separated subset of "
                                     f"{TASKS_LIST} (ir: {IR_TASKS_LIST})."),
    n_train: str = typer.Option("4", "--n-train", help="Training crops for hyper-parameters "
                                "(classical); comma-separated sizes N for nets (default "
                                "1,4,16,64)."),
    images: int | None = typer.Option(None, "--images", help="Use the first N test images."),
    methods: str | None = typer.Option(None, "--methods", help="Comma-separated subset."),
    budget: float = typer.Option(90.0, "--budget", help="nets: training seconds per network."),
    test_images: Path | None = typer.Option(None, "--test-images", help="A folder of your own "
                                            "test images (PNG, TIFF, NPY; at least 256×256) "
                                            "instead of the public set: centre 256×256 crop, "
                                            "gray, named after the files (classical, peers, "
                                            "nets)."),
):
    """Benchmark every method on the public protocol; write one JSON with all rows.

    Example: physinv bench --suite classical --json bench.json;
    physinv bench --suite nets --tasks deblur_gauss --n-train 1,4,16 --json nets.json
    (writes nets-<task>.png next to the JSON)
    """
    if suite not in ("classical", "nets", "ir", "peers"):
        raise InputError("--suite", suite, "one of classical, nets, ir, peers")
    if json_path.suffix.lower() != ".json":
        raise InputError("--json", str(json_path), "a file ending in .json")
    check_output("--json", json_path)
    _check_numbers([("--images", images, 1)], [("--budget", budget)])
    sizes = _int_list("--n-train", n_train)
    for size in sizes:
        check_sizes(size)
    _check_test_set(suite, images, test_images)
    from physinv.experiments.bench import run_suite
    from physinv.io import write_json

    task_list = [t.strip() for t in tasks.split(",")] if tasks else None
    method_list = [m.strip() for m in methods.split(",")] if methods else None
    if suite == "nets":
        _bench_nets(task_list, sizes, method_list, images, budget, json_path, test_images)
        return
    if suite == "ir":
        _bench_ir(task_list, sizes, method_list, images, budget, json_path)
        return
    if len(sizes) != 1:
        raise InputError("--n-train", n_train, "one number for the classical suite")
    with console.status("benchmark") as status:
        result = run_suite(suite, tasks=task_list, n_train=sizes[0], n_images=images,
                           methods=method_list, progress=lambda text: status.update(text),
                           test_images=test_images)
    path = write_json(json_path, result)
    shown = result["test_set"].get("folder", "public test set")
    table = Table(title=f"{suite} suite on {shown} ({result['seconds']:.0f} s)")
    for col in ("task", "method", "library", "PSNR", "SSIM", "ms/image", "tuned"):
        table.add_column(col)
    for row in result["summary"]:
        table.add_row(row["task"], row["method"], row["library"], f"{row['psnr']:.2f}",
                      f"{row['ssim']:.3f}", f"{row['infer_ms']:.1f}", str(row["hyper"]))
    console.print(table)
    for note in result.get("notes", []):
        console.print(f"note: {note}", soft_wrap=True)
    console.print(f"wrote {path}")


def _check_test_set(suite: str, images: int | None, test_images: Path | None) -> None:
    """``--images`` and ``--test-images`` checked before any work (image headers only)."""
    from physinv.limits import TEST_IMAGES

    if test_images is not None:
        if suite == "ir":
            raise InputError("--test-images", str(test_images), "no --test-images with "
                             "--suite ir (its scenes are simulated)")
        from physinv.paths import image_folder_files

        available = len(image_folder_files(test_images, "--test-images"))
        where = f"the number of images in {test_images}"
    else:
        available, where = TEST_IMAGES, "the size of the public test set"
    if images is not None and suite != "ir" and images > available:
        raise InputError("--images", images, f"at most {available}, {where}")


def _int_list(name: str, text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise InputError(name, text, "positive integers separated by commas, e.g. 1,4,16,64")
    return values


def _bench_ir(task_list, sizes, method_list, images, budget, json_path):
    from physinv.experiments.ir import run_ir
    from physinv.io import write_json
    from physinv.thermal import IR_TASKS

    if len(sizes) != 1:
        raise InputError("--n-train", ",".join(map(str, sizes)), "one number for the ir suite")
    with console.status("benchmark") as status:
        result = run_ir(tasks=task_list or tuple(IR_TASKS), n_train=sizes[0],
                        n_images=images or 8, budget_s=budget, networks=method_list,
                        progress=lambda text: status.update(text))
    path = write_json(json_path, result)
    table = Table(title=f"ir suite ({result['seconds']:.0f} s)")
    for col in ("task", "method", "class", "RMSE K", "PSNR", "coverage", "Dice", "IoU"):
        table.add_column(col)

    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    for row in result["summary"]:
        table.add_row(row["task"], row["method"], row["family"], fmt(row["rmse_k"], ".3f"),
                      fmt(row["psnr"], ".2f"), fmt(row["coverage"], ".3f"),
                      fmt(row["dice"], ".3f"), fmt(row["iou"], ".3f"))
    console.print(table)
    console.print(f"wrote {path}")


def _bench_nets(task_list, sizes, method_list, images, budget, json_path, test_images=None):
    from physinv.experiments.nets_bench import NETS_TASKS, plot_nets, run_nets
    from physinv.io import write_json

    with console.status("benchmark") as status:
        result = run_nets(tasks=task_list or NETS_TASKS, n_trains=sizes, networks=method_list,
                          budget_s=budget, n_images=images, test_images=test_images,
                          progress=lambda text: status.update(text))
    path = write_json(json_path, result)
    figures = plot_nets(result, lambda task: path.with_name(f"{path.stem}-{task}.png"))
    table = Table(title=f"nets suite ({result['seconds']:.0f} s)")
    for col in ("task", "method", "class", "N", "PSNR", "SSIM", "train s", "trainable"):
        table.add_column(col)
    for row in result["summary"]:
        table.add_row(row["task"], row["method"], row["family"], str(row["n_train"]),
                      f"{row['psnr']:.2f}", f"{row['ssim']:.3f}", f"{row['train_s']:.0f}",
                      f"{row['params_trainable']:,}")
    console.print(table)
    console.print(f"wrote {path} and {', '.join(str(f) for f in figures)}")


@app.command(cls=_RegistryHelp)
def demo(
    out: Path = typer.Option(Path("physinv-demo"), "--out", help="Output folder (an "
                             "interrupted demo resumes there from its finished stages)."),
    quick: bool = typer.Option(False, "--quick", help="Under a minute: one test image, "
                               "few epochs."),
    full: bool = typer.Option(False, "--full", help="Every network, larger training sets, "
                              "more epochs."),
    stage: str | None = typer.Option(None, "--stage", help="Comma-separated stages to run, "
                                     f"by name or letter: {STAGES_LIST}; default all."),
    seed: int = typer.Option(0, "--seed", help="Seed of network initialisation and training "
                             "draws (the test data follow the protocol's seeds)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
):
    """Run the experiments end to end and write report.html, results.json and the figures.

    Example: physinv demo --quick --out demo-quick
    """
    from physinv.paths import lock_folder, make_folder, unlock_folder

    check_output("--out", out, folder=True)
    check_int("--seed", seed, minimum=0)
    if quick and full:
        raise InputError("--quick/--full", "both", "at most one of --quick and --full")
    from physinv.experiments.demo import mode_of, parse_stages, run

    mode = mode_of(quick, full)
    names = parse_stages(stage)
    with _NewFolder(out):
        make_folder(out)
        lock_folder(out, "--out", "physinv demo")
        try:
            results = run(out, mode=mode, stages=names, seed=seed, progress=progress,
                          console=Console(stderr=True))
        finally:
            unlock_folder(out)
    table = Table(title=f"physinv demo ({mode}): checks")
    for col in ("claim", "holds", "figures"):
        table.add_column(col)
    for check in results["checks"]:
        table.add_row(check["claim"], "yes" if check["holds"] else "NO", check["detail"])
    console.print(table)
    console.print(f"wrote {out / 'report.html'}, {out / 'results.json'} and "
                  f"{out / 'timings.json'}")


from physinv.cli_ir import ir_app  # noqa: E402  (the `physinv ir` commands)
from physinv.cli_psf import psf_app  # noqa: E402  (the `physinv psf` commands)
from physinv.cli_uq import calibrate as _calibrate  # noqa: E402  (`physinv calibrate`)

app.add_typer(ir_app, name="ir")
app.add_typer(psf_app, name="psf")
app.command("calibrate")(_calibrate)


# the click that typer runs on (vendored since typer 0.22); Abort is public as typer.Abort
from typer._click.exceptions import NoArgsIsHelpError as _NoArgsIsHelp  # noqa: E402
from typer._click.exceptions import UsageError as _UsageError  # noqa: E402

_Abort = typer.Abort


def main(argv: list[str] | None = None) -> int:
    """Run the app; bad input (``InputError``, missing files) → one line on stderr, status 2;
    a failed write (a full disk) → one line, status 1; a library warning → one ``note:`` line."""
    import warnings

    def note(message, category, filename, lineno, file=None, line=None):
        print(f"note: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = note
            code = app(args=argv, prog_name="physinv", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except _UsageError as err:  # a value click / typer cannot parse: one line too
        if isinstance(err, _NoArgsIsHelp):
            err.show()
            return err.exit_code
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        print(f"error: {err.format_message()}{where}", file=sys.stderr)
        return 2
    except _Abort:
        print("aborted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # click/typer end every run this way; usage errors are 2
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. a full disk during a save: the earlier files are intact
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    """Console-script wrapper: exit with ``main``'s status. As a command, the lists that help,
    ``info`` and ``nets`` show are kept between runs (``cli_catalog``), so they need no torch."""
    from physinv import cli_catalog
    from physinv.runtime import keep_freed_memory

    cli_catalog.enable()
    keep_freed_memory()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
