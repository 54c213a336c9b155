"""The ``physinv`` command: parses arguments, calls the library, prints. Nothing else.

Bad input prints one line ``error: <argument>: got <value>, expected <what>`` on stderr, with
no traceback, and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

import physinv
from physinv.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="physinv: imaging inverse problems g = Hf + ε with the physics inside "
                       "the networks.", rich_markup_mode=None, pretty_exceptions_enable=False)
console = Console()

OP_HELP = ("Forward operator spec, e.g. identity | blur:gaussian:sigma=2 | "
           "blur:motion:length=9,angle=30 | blur:disk:radius=3 | blur:airy:first_zero=2 | "
           "blur:psf.npy | blur:gaussian:sigma=2,boundary=reflect | sr:gaussian:sigma=1,factor=2 "
           "| decimate:factor=2 | mask:ratio=0.5,seed=0 | radon:angles=60")
NOISE_HELP = ("Noise spec: none | gaussian:sigma=0.01 | poisson:photons=100 | "
              "poisson-gaussian:photons=100,sigma=0.01")


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
    """List the operators, PSFs, noise models and bundled images.

    Example: physinv info
    """
    from physinv.data import images
    from physinv.noise import MODELS
    from physinv.operators import psf
    from physinv.operators.spec import KINDS

    table = Table(title=f"physinv {physinv.__version__}")
    table.add_column("what")
    table.add_column("names")
    table.add_row("operators (--op kinds)", ", ".join(KINDS))
    table.add_row("PSFs (blur:<psf>)", ", ".join(sorted(psf.GENERATORS)) + ", or a file")
    table.add_row("noise (--noise)", ", ".join(MODELS))
    table.add_row("training images", ", ".join(images.TRAINING_POOL))
    table.add_row("test images", ", ".join(images.TEST_SET))
    table.add_row("other images", ", ".join(images.EXTRA))
    console.print(table)


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


@app.command()
def demo(
    out: Path = typer.Option(Path("physinv-demo"), "--out", help="Output folder."),
    image: str = typer.Option("camera", "--image", help="Bundled image to use."),
    seed: int = typer.Option(0, "--seed", help="Noise seed."),
):
    """Run the demonstration and write its figure and results.json.

    Example: physinv demo --out physinv-demo
    """
    from physinv.experiments.demo import run

    results = run(out, image=image, seed=seed)
    table = Table(title=f"deblur_gauss on {image} ({results['seconds']:.1f} s)")
    for col in ("method", "PSNR (dB)", "SSIM"):
        table.add_column(col)
    for row in results["rows"]:
        table.add_row(row["method"], f"{row['psnr']:.2f}", f"{row['ssim']:.3f}")
    console.print(table)
    console.print(f"wrote {out / 'demo.png'} and {out / 'results.json'}")


def main(argv: list[str] | None = None) -> int:
    """Run the app; bad input (``InputError``, missing files) → one line on stderr, status 2."""
    try:
        app(args=argv, prog_name="physinv")
    except SystemExit as exc:  # click/typer end every run this way; usage errors are 2
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """Console-script wrapper: exit with ``main``'s status."""
    sys.exit(main())
