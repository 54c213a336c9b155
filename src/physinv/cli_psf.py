"""``physinv psf``: estimate a PSF from a blurred measurement (``physinv.solvers.blind``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from physinv.errors import InputError

psf_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Point-spread functions: estimate one from a blurred measurement.")
console = Console()
KINDS_HELP = "gaussian | disk | airy | motion | free (a free-form kernel on --size)"


@psf_app.command("estimate")
def psf_estimate(
    measurement: Path = typer.Argument(..., help="The blurred measurement (.npy, .tif, .png)."),
    kind: str = typer.Option("gaussian", "--kind", help=f"PSF family: {KINDS_HELP}."),
    output: Path = typer.Option(..., "-o", "--output", help="The PSF: .npy or .tif (a .png "
                                "of it scaled to its maximum is written beside)."),
    size: int | None = typer.Option(None, "--size", help="PSF support in pixels (default: "
                                    "the family's own from its parameters; required, odd, "
                                    "for --kind free)."),
    boundary: str = typer.Option("circular", "--boundary", help="circular | reflect (for "
                                 "photographs, which are not periodic)."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the estimate "
                                          "(parameters, uncertainty, noise, criterion)."),
):
    """Estimate a parametric PSF from the measurement alone, by the evidence of the Gaussian
    model (the noise level and the image prior estimated with it), or a free-form kernel on
    a given support by alternating minimisation, coarse to fine (--kind free --size N).

    Example: physinv psf estimate y.npy --kind motion -o psf.npy --json psf.json;
    physinv psf estimate y.png --kind free --size 25 -o psf.npy
    """
    from physinv.cli import _file_output, check_output
    from physinv.io import probe_image
    from physinv.solvers.blind import KINDS

    if kind not in KINDS and kind != "free":
        raise InputError("--kind", kind, f"one of {', '.join(KINDS)}, free")
    if kind == "free" and (size is None or size < 3 or size % 2 == 0):
        raise InputError("--size", size, "an odd support size ≥ 3 with --kind free",
                         "the support cannot be estimated: give an upper bound of the "
                         "blur's extent")
    if boundary not in ("circular", "reflect"):
        raise InputError("--boundary", boundary, "circular or reflect")
    if output.suffix.lower() not in (".npy", ".tif", ".tiff"):
        raise InputError("-o/--output", str(output), "a .npy or .tif file (lossless)")
    _file_output("-o/--output", output, preview=True)
    if json_path is not None:
        if json_path.suffix.lower() != ".json":
            raise InputError("--json", str(json_path), "a .json file")
        check_output("--json", json_path)
    probe_image(measurement, "measurement")
    _estimate_and_write(measurement, kind, output, size, boundary, json_path)


def _estimate_and_write(measurement, kind, output, size, boundary, json_path) -> None:
    import torch

    from physinv.cli import _describe
    from physinv.io import read_image, write_image, write_json
    from physinv.solvers.blind import estimate_psf
    from physinv.solvers.blind_kernel import estimate_kernel

    y = read_image(measurement, as_gray=True, argument="measurement")[None].to(torch.float64)
    if kind == "free":
        est = estimate_kernel(y, size, boundary=boundary)
    else:
        est = estimate_psf(y, kind, size=size, boundary=boundary)
    written = [write_image(output, est.psf[None]),
               write_image(output.with_suffix(".png"), (est.psf / est.psf.max())[None])]
    if json_path is not None:
        written.append(write_json(json_path, {
            "kind": est.kind, "params": est.params, "std": est.std,
            "noise_var": est.noise_var, "prior_var": est.prior_var, "exponent": est.exponent,
            "psf_shape": list(est.psf.shape), "criterion": est.criterion, "notes": est.notes,
            "measurement": str(measurement)}, with_environment=True))
    console.print(f"{_describe(est)} -> " + ", ".join(str(p) for p in written),
                  soft_wrap=True)
