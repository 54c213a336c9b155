"""physinv.uq.select: every calibration form fitted on calibration crops, one chosen on
validation crops by the smallest interval score, the choice kept in the file and reproduced at
use."""

import pytest
import torch

from physinv.data.patches import training_crops
from physinv.errors import InputError
from physinv.experiments.uq_tasks import bootstrap_maps
from physinv.noise import from_spec
from physinv.operators import Convolution, psf
from physinv.solvers import tikhonov
from physinv.uq import Candidate, calibrated_variance, candidates, draws, form_scores, load, select
from physinv.uq.select import choose


@pytest.fixture(scope="module")
def selected():
    crops = training_crops(6, size=32).to(torch.float64)
    op = Convolution(psf.gaussian(1.2, 7), (32, 32))
    noise = from_spec("gaussian:sigma=0.02")

    def reconstruct(y, o):
        return tikhonov(y, o, lam=3e-3).x

    def estimate(y, o):
        return bootstrap_maps(reconstruct, y, o, noise, 4)

    pairs = [(crops[i: i + 1], op) for i in range(6)]
    truth, outputs = draws(estimate, pairs[:4], noise, 1, seed=0)
    val_truth, val_outputs = draws(estimate, pairs[4:], noise, 1, seed=100)
    sel = select(truth, outputs, val_truth, val_outputs, variance_source="bootstrap",
                 method="tikhonov", operator="blur", noise=noise.spec(),
                 calibration_set="crops 0-3", validation_set="crops 4-5", samples=4)
    return sel, val_truth, val_outputs


@pytest.fixture(scope="module")
def selection(selected):
    return selected[0]


def test_every_form_is_fitted_and_each_file_says_how_to_rebuild_its_map(selection):
    names = [c.name for c in candidates("bootstrap")]
    assert list(selection.calibrations) == names == list(selection.validation)
    assert len(set(names)) == len(names) == 8
    for name, cal in selection.calibrations.items():
        # what reconstruct --variance computes from the file is the form that was fitted
        assert Candidate.of(cal).name == name
        assert (cal.weights is None) == ("+" not in name)


def test_the_chosen_form_has_the_best_validation_score_and_is_recorded(selection, tmp_path):
    chosen = selection.chosen
    record = chosen.selection
    assert record["chosen"] == choose(selection.validation)
    assert set(record["candidates"]) == set(selection.calibrations)
    best = min(r["interval_score"] for r in selection.validation.values())
    assert selection.validation[record["chosen"]]["interval_score"] == best
    for r in selection.validation.values():  # pooled coverage per level, and per crop at 95 %
        assert set(r["coverage"]) == {"0.5", "0.8", "0.9", "0.95", "0.99"}
        assert len(r["crop_coverage_95"]) == 2
    back = load(chosen.save(tmp_path / "cal.json"))
    assert back == chosen and back.selection["validation_set"] == "crops 4-5"
    # the file keeps every candidate's validation figures, per level and per crop
    assert back.selection["candidates"][record["chosen"]]["coverage"] == \
        selection.validation[record["chosen"]]["coverage"]


def test_the_map_rebuilt_from_the_file_gives_the_recorded_validation_coverage(selected):
    selection, val_truth, val_outputs = selected
    for name in ("mse", "spread+highpass:2", selection.chosen.selection["chosen"]):
        cal = selection.calibrations[name]
        hits = []
        for i, row in enumerate(val_outputs):
            m = row[0]
            h = 1.959964 * calibrated_variance(cal, m, 0.95).sqrt()
            hits.append(((m.x_hat.double() - val_truth[i]).abs() <= h).double().mean())
        recorded = selection.validation[name]["coverage"]["0.95"]
        assert float(torch.stack(hits).mean()) == pytest.approx(recorded, abs=1e-9)
        assert form_scores(val_truth[0], val_outputs[0][0], cal)["coverage_0.95"] == \
            pytest.approx(selection.validation[name]["crop_coverage_95"][0], abs=1e-9)


def test_choose_takes_the_best_score_or_first_the_fair_candidates_with_worst_min():
    def r(score, worst):
        return {"interval_score": score, "worst_crop_coverage_95": worst}

    assert choose({"sharp": r(1.0, 0.6), "fair": r(1.4, 0.92)}) == "sharp"
    # with worst_min: the sharper candidate leaves one crop at 0.6, the fair one is chosen
    assert choose({"sharp": r(1.0, 0.6), "fair": r(1.4, 0.92)}, worst_min=0.9) == "fair"
    # none is fair: the smallest score
    assert choose({"a": r(2.0, 0.7), "b": r(1.5, 0.8)}, worst_min=0.9) == "b"


def test_select_refuses_no_validation_crop_and_an_unknown_form(selection):
    cal = selection.chosen
    args = dict(variance_source="bootstrap", method="m", operator="o", noise="n",
                calibration_set="c", validation_set="v")
    with pytest.raises(InputError, match="validation"):
        select(torch.zeros(2, 1, 1, 1, 4, 4), [[None], [None]], None, [], **args)
    with pytest.raises(InputError, match="candidates.*'posterior'|one of"):
        select(torch.zeros(2, 1, 1, 1, 4, 4), [[None], [None]], None, [[None]],
               only=["nonsense"], **args)
    with pytest.raises(InputError, match="only"):
        select(torch.zeros(2, 1, 1, 1, 4, 4), [[None], [None]], None, [[None]], only=[],
               **args)
    with pytest.raises(InputError, match="bootstrap or posterior"):
        candidates("ensemble")
    assert cal.selection["rule"]
