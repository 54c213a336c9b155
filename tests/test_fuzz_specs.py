"""Fuzzing the spec languages and the CLI's numbers: any input gives a result or an
``InputError`` (a one-line refusal with status 2 in the CLI), never another exception.

Strings are drawn two ways: free text over the characters the mini-language uses, and
grammar-shaped specs (a kind, words, ``key=value`` pairs with hostile values: negative, zero,
NaN, inf, huge, text, booleans) so that most examples reach the builders, not only the parser.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from physinv.errors import InputError
from physinv.noise import from_spec as noise_from_spec
from physinv.operators import psf
from physinv.operators.spec import KINDS, from_spec, image_shape

SHAPE = (16, 16)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

HOSTILE = st.one_of(
    st.integers(min_value=-10, max_value=40),
    st.sampled_from([0, -1, 10**9, 10**30, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "1e-320", "true", "false", "", "abc",
                     "reflect", "periodic", "zero", "2.5", "-0"]),
)
KEYS = st.sampled_from(["sigma", "size", "length", "angle", "radius", "first_zero", "factor",
                        "ratio", "seed", "angles", "start", "stop", "circle", "boundary",
                        "offset", "wavelength", "width", "photons", "fraction", "oversample",
                        "n_detectors", "bogus"])
WORDS = st.sampled_from(sorted(psf.GENERATORS) + ["psf.npy", "nothing", "", "gaussian:"])


def _value_text(value) -> str:
    return str(value)


@st.composite
def grammar_specs(draw, kinds):
    kind = draw(st.one_of(st.sampled_from(kinds), st.text(max_size=6)))
    parts = [kind]
    parts += draw(st.lists(WORDS, max_size=2))
    pairs = draw(st.lists(st.tuples(KEYS, HOSTILE), max_size=4))
    if pairs:
        parts.append(",".join(f"{k}={_value_text(v)}" for k, v in pairs))
    return ":".join(parts)


FREE_TEXT = st.lists(st.sampled_from(list("blur:gaussian,sigma=0.5-1e9nanif/._ ")
                                     + ["radon", "sr", "mask", "decimate", "identity",
                                        "\x00", "é"]), max_size=30).map("".join)


def _operator_or_input_error(spec: str) -> None:
    try:
        op = from_spec(spec, SHAPE)
    except InputError:
        return
    assert tuple(op.in_shape) == SHAPE
    assert all(int(s) >= 1 for s in op.out_shape)


@FUZZ
@given(grammar_specs(list(KINDS)))
def test_operator_specs_give_an_operator_or_an_input_error(spec):
    _operator_or_input_error(spec)


@FUZZ
@given(FREE_TEXT)
def test_free_text_operator_specs_give_an_operator_or_an_input_error(spec):
    _operator_or_input_error(spec)


@FUZZ
@given(grammar_specs(list(KINDS)), st.tuples(st.integers(1, 64), st.integers(1, 64)))
def test_image_shape_of_any_spec_is_a_shape_or_an_input_error(spec, shape):
    try:
        h, w = image_shape(spec, shape)
    except InputError:
        return
    assert h >= 1 and w >= 1


@FUZZ
@given(st.one_of(grammar_specs(["none", "gaussian", "poisson", "poisson-gaussian",
                                "relative-gaussian"]), FREE_TEXT))
def test_noise_specs_give_a_model_or_an_input_error(spec):
    try:
        model = noise_from_spec(spec)
    except InputError:
        return
    assert model.spec()


@FUZZ
@given(st.sampled_from(sorted(psf.GENERATORS)), st.dictionaries(KEYS, HOSTILE, max_size=3))
def test_psf_parameters_give_a_normalised_kernel_or_an_input_error(name, params):
    try:
        kernel = psf.from_name(name, **params)
    except InputError:
        return
    assert kernel.dim() == 2 and math.isclose(float(kernel.sum()), 1.0, rel_tol=1e-6)


# ------------------------------------------------------------------ the CLI's numeric options
BAD_NUMBERS = st.sampled_from(["-1", "-0.5", "nan", "inf", "-inf", "-1e300"])
HUGE_SIZES = st.sampled_from(["10000000000000", str(2**62)])  # beyond any memory


def _cli(argv, capsys, option) -> None:
    from physinv.cli import main

    capsys.readouterr()
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert option.lstrip("-") in err, (option, err)


# (command prefix, option, what it takes): every numeric option of every command
NUMERIC = [
    (["reconstruct", "{y}", "--op", "identity", "-o", "{t}/x.npy"], "--lam"),
    (["reconstruct", "{y}", "--op", "identity", "-o", "{t}/x.npy"], "--tol"),
    (["reconstruct", "{y}", "--op", "identity", "-o", "{t}/x.npy"], "--n-iter"),
    (["reconstruct", "{y}", "--op", "identity", "-o", "{t}/x.npy"], "--classes"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--lr"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--budget"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--epochs"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--samples-per-epoch"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--batch-size"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r",
      "--n-train", "2"], "--save-every"),
    (["train", "--task", "denoise", "--net", "fourier-radial", "--out", "{t}/r"],
     "--n-train"),
    (["bench", "--json", "{t}/b.json"], "--budget"),
    (["bench", "--json", "{t}/b.json"], "--images"),
    (["bench", "--json", "{t}/b.json"], "--n-train"),
    (["nets"], "--lam"),
    (["ir", "simulate", "--out", "{t}/ir"], "--netd"),
    (["ir", "simulate", "--out", "{t}/ir"], "--size"),
    (["ir", "simulate", "--out", "{t}/ir"], "--factor"),
    (["ir", "restore", "{y}", "--out", "{t}/ir"], "--netd"),
    (["ir", "restore", "{y}", "--out", "{t}/ir"], "--fwhm"),
    (["ir", "restore", "{y}", "--out", "{t}/ir"], "--detect"),
    (["ir", "restore", "{y}", "--out", "{t}/ir"], "--lam"),
    (["ir", "segment", "{y}", "--out", "{t}/ir"], "--detect"),
    (["ir", "train", "--out", "{t}/ir"], "--epochs"),
    (["ir", "train", "--out", "{t}/ir"], "--n-train"),
    (["ir", "train", "--out", "{t}/ir"], "--budget"),
]
SIZE_OPTIONS = {"--n-train", "--samples-per-epoch", "--batch-size", "--size"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    import numpy as np

    d = tmp_path_factory.mktemp("fuzz-cli")
    np.save(d / "y.npy", np.random.default_rng(0).random((16, 16)) + 280.0)
    return d


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.sampled_from(range(len(NUMERIC))), data=st.data())
def test_every_numeric_option_refuses_negative_nan_inf_and_absurd_sizes(index, data, folder,
                                                                        capsys):
    prefix, option = NUMERIC[index]
    value = data.draw(HUGE_SIZES if option in SIZE_OPTIONS and data.draw(st.booleans())
                      else BAD_NUMBERS)
    argv = [a.replace("{y}", str(folder / "y.npy")).replace("{t}", str(folder))
            for a in prefix] + [f"{option}={value}"]
    before = sorted(p.name for p in folder.iterdir())
    _cli(argv, capsys, option)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_fan_spec_start_that_is_not_a_number_is_an_input_error():
    _operator_or_input_error("fan:start=abc")
