"""``physinv demo``: the quick demo end to end (report, JSON, figures, the mathematical
orderings), determinism, resuming an interrupted run, and its refusals."""

import io
import json
import math
import shutil
from dataclasses import replace

import pytest
import torch
from rich.console import Console

from physinv.cli import main
from physinv.errors import InputError
from physinv.experiments import demo
from physinv.experiments.demo.fourier import radial_profile, wiener_filter
from physinv.experiments.protocol import get_task, training_pairs
from physinv.solvers import wiener

# the tests that read the quick demo's folder share one run: keep them on one xdist worker
QUICK = pytest.mark.xdist_group("quick-demo")

@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "quick"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def _numbers(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


@QUICK
def test_quick_demo_writes_report_json_and_figures(quick):
    results = json.loads((quick / "results.json").read_text())
    timings = json.loads((quick / "timings.json").read_text())
    assert set(results["stages"]) == set(demo.STAGE_NAMES)
    numbers = list(_numbers(results["stages"]))
    assert len(numbers) > 200 and all(math.isfinite(v) for v in numbers)
    assert all(math.isfinite(v) for v in _numbers(timings["stages"]))
    html = (quick / "report.html").read_text()
    figures = [f for names in results["figures"].values() for f in names]
    assert len(figures) == 12
    for name in figures:
        data = (quick / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, name
    assert html.count("data:image/png;base64,") == len(figures)
    assert "<script" not in html and "http://" not in html and "https://" not in html
    for word in ("oracle-wiener", "unrolled", "Environment", results["environment"]["torch"]):
        assert word in html


@QUICK
def test_quick_demo_numbers_are_ordered_as_the_mathematics_says(quick):
    results = json.loads((quick / "results.json").read_text())
    assert results["checks"] and all(c["holds"] for c in results["checks"]), results["checks"]
    rows = {r["method"]: r for r in results["stages"]["deblur"]["rows"]}
    # every structure class is there
    families = {r["family"] for r in rows.values()}
    assert {"analytic", "transform", "decomposed", "unrolled", "black-box", "classical",
            "bayesian", "limit"} <= families
    oracle = rows["oracle-wiener"]
    linear = [r for r in rows.values() if r["linear"]]
    assert len(linear) >= 8
    for r in linear:  # the per-image oracle Wiener filter is the best linear filter
        for mine, best in zip(r["per_image"], oracle["per_image"], strict=True):
            assert best["psnr"] >= mine["psnr"], r["method"]
    for r in results["stages"]["depth"]["rows"]:  # fixed weights = K plain iterations
        assert r["fixed_vs_iterations_max_diff"] < 1e-9
        assert r["operator_applications"] == 2 * r["K"]
    ir = results["stages"]["ir"]
    for r in ir["restoration"]:
        assert r["rmse_k"] > 0
        assert r["coverage_95"] is None or 0 <= r["coverage_95"] <= 1
    for r in ir["segmentation"]:
        assert 0 <= r["iou"] <= r["dice"] <= 1  # Dice = 2J / (1 + J) ≥ J
    data = results["stages"]["data"]["rows"]
    for task in ("deblur_gauss", "sr_x2", "ct_sparse"):
        sizes = {r["n_train"] for r in data if r["task"] == task and r["n_train"] > 0}
        assert sizes == set(demo.MODES["quick"].data_sizes)
    fourier = results["stages"]["fourier"]
    assert set(fourier["profiles"]) >= {"Tikhonov (initial Λ)", "Wiener (training spectrum)"}
    blind = results["stages"]["blind"]["rows"]
    assert len(blind) == 4 and all(r["truth"] and r["estimate"] for r in blind)


@QUICK
def test_same_seed_same_results_and_resume_from_finished_stages(quick, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(quick, copy)
    before = (copy / "results.json").read_text()
    kept = (copy / "stages" / "deblur.json").stat().st_mtime_ns
    (copy / "stages" / "depth.json").unlink()  # as if interrupted before depth ended
    (copy / "stages" / "fourier.json").unlink()
    assert main(["demo", "--quick", "--out", str(copy), "--no-progress"]) == 0
    assert (copy / "stages" / "deblur.json").stat().st_mtime_ns == kept  # not rerun
    assert (copy / "results.json").read_text() == before  # recomputed stages: same numbers


def test_an_interrupted_demo_resumes_and_keeps_earlier_results(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def broken(ctx):
        raise KeyboardInterrupt

    fourier = demo.STAGES["fourier"]
    monkeypatch.setitem(demo.STAGES, "fourier", replace(fourier, run=broken))
    with pytest.raises(KeyboardInterrupt):
        demo.run(out, mode="quick", stages=["depth", "fourier"], progress=False)
    assert (out / "stages" / "depth.json").exists()
    assert not (out / "stages" / "fourier.json").exists()

    def must_not_run(ctx):
        raise AssertionError("a finished stage ran again")

    monkeypatch.setitem(demo.STAGES, "fourier", fourier)
    monkeypatch.setitem(demo.STAGES, "depth", replace(demo.STAGES["depth"], run=must_not_run))
    results = demo.run(out, mode="quick", stages=["depth", "fourier"], progress=False)
    assert set(results["stages"]) == {"depth", "fourier"}
    assert (out / "report.html").exists()


@pytest.mark.parametrize("args, words", [
    (["--quick", "--full"], ["--quick/--full", "at most one"]),
    (["--stage", "deblur,nope"], ["stage", "nope", "deblur, data, depth, fourier, ir"]),
])
def test_demo_refusals(tmp_path, capsys, args, words):
    assert main(["demo", "--out", str(tmp_path / "d"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    for word in words:
        assert word in err
    assert not (tmp_path / "d" / "stages").exists()


def test_demo_refuses_an_unwritable_folder_and_a_changed_configuration(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert main(["demo", "--quick", "--out", str(out), "--stage", "fourier"]) == 2
        assert "out" in capsys.readouterr().err
    out = tmp_path / "d"
    assert main(["demo", "--quick", "--out", str(out), "--stage", "fourier",
                 "--no-progress"]) == 0
    saved = (out / "stages" / "fourier.json").read_bytes()
    assert main(["demo", "--out", str(out), "--stage", "fourier", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "mode" in err and "seed" in err and "differs" in err
    assert (out / "stages" / "fourier.json").read_bytes() == saved  # nothing mixed or lost


def test_wiener_filter_of_the_fourier_stage_is_the_wiener_solver():
    task = get_task("deblur_gauss")
    pairs = training_pairs(task, 2)
    crops = torch.cat([x for x, _, _ in pairs])
    _, y, op = pairs[0]
    sigma2 = task.noise().variance(None)
    filt = wiener_filter(op, crops, sigma2)
    views = [torch.rot90(c, r, dims=(-2, -1)) for c in (crops, crops.flip(-1))
             for r in range(4)]
    psd = torch.cat([torch.fft.fft2(v).abs() ** 2 for v in views]).mean(0)[0] / 128**2
    ours = torch.fft.irfft2(torch.fft.rfft2(y) * filt, s=op.in_shape)
    ref = wiener(y, op, noise_var=sigma2, signal_psd=psd).x
    assert torch.allclose(ours, ref, atol=1e-10)
    rho, prof = radial_profile(torch.ones(128, 65), (128, 128))
    assert torch.allclose(torch.as_tensor(prof), torch.ones(len(prof), dtype=torch.float64))
    assert rho[0] > 0 and rho[-1] < 0.71


def test_a_stage_added_to_the_registry_is_lettered_counted_run_checked_and_reported(
        tmp_path, monkeypatch):
    def run(ctx):
        for _ in range(3 * ctx.settings.test_images):
            ctx.advance()
        return {"results": {"value": 0.5}, "timings": {"ms": 1.25}, "figures": []}

    def section(report, results, timings):
        report.table([{"fake value": results["value"], "fake ms": timings["ms"]}])

    claim = {"claim": "the fake value is a fraction", "holds": True, "detail": "1 value"}
    fake = demo.Stage(name="fake", title="A stage only this test has",
                      about="Registered for this test.", run=run,
                      units=lambda settings: 3 * settings.test_images, report=section,
                      checks=lambda results: [{**claim, "holds": 0 <= results["value"] <= 1}])
    monkeypatch.setitem(demo.STAGES, "fake", fake)
    mark = "abcdefghijklmnopqrstuvwxyz"[len(demo.STAGES) - 1]  # the fake stage's letter: last
    assert demo.parse_stages(mark) == ["fake"]
    assert demo.parse_stages("a, fake") == ["deblur", "fake"]
    with pytest.raises(InputError, match=rf"{', '.join(demo.STAGES)} \(or a–{mark}\)"):
        demo.parse_stages(chr(ord(mark) + 1))
    assert demo.units("fake", demo.MODES["quick"]) == 3
    console = Console(file=io.StringIO(), width=120)
    results = demo.run(tmp_path / "d", mode="quick", stages=["fake"], console=console)
    assert "fake: done" in console.file.getvalue() and "3/3" in console.file.getvalue()
    assert results["stages"] == {"fake": {"value": 0.5}}
    assert results["checks"] == [claim]
    html = (tmp_path / "d" / "report.html").read_text()
    assert f"{mark}. A stage only this test has" in html and "Registered for this test." in html
    assert "fake value" in html and "1.25" in html


def test_the_regulariser_row_tunes_on_training_crops_and_scores_every_test_image():
    # the default demo's crr row (quick mode has none): (s_λ, s_μ) from the training grid,
    # a converged solve per test image, on 32² crops so that it runs in seconds
    from types import SimpleNamespace

    from physinv.experiments.demo.deblur import _regulariser_row, verdict
    from physinv.train.regulariser import LAM_FACTORS, MU_FACTORS

    task = get_task("deblur_gauss")
    op = task.operator((32, 32))

    def pairs(seed0, n):
        out = []
        for i, (x, _, _) in enumerate(training_pairs(task, seed0 + n)[seed0:]):
            x = x[..., 40:72, 40:72].contiguous()
            out.append((x, task.measure(x, op, seed=100 + seed0 + i), op))
        return out

    train_set = pairs(0, 1)
    tests = [(f"crop{i}", x, y, o) for i, (x, y, o) in enumerate(pairs(1, 2))]
    steps = []
    ctx = SimpleNamespace(settings=replace(demo.MODES["default"], reg_tune_images=1),
                          describe=lambda text: None, advance=lambda: steps.append(1))
    times, shown = {}, {}
    row = _regulariser_row(ctx, "crr", task, tests, train_set, times, shown)
    assert row["lam_scale"] in LAM_FACTORS and row["mu_scale"] in MU_FACTORS  # coarse grid
    assert [p["image"] for p in row["per_image"]] == ["crop0", "crop1"]
    assert row["psnr"] == pytest.approx(sum(p["psnr"] for p in row["per_image"]) / 2)
    assert len(times["crr"]) == 2 and shown["crr"].shape == tests[0][1].shape
    assert steps == [1] and row["family"] == "regulariser" and row["train_steps"] == 0
    # and the verdict names it against TV
    rows = [row, {"method": "tv-tuned", "family": "classical", "psnr": row["psnr"] - 1},
            {"method": "tikhonov-tuned", "family": "classical", "psnr": row["psnr"] - 2}]
    assert "Above TV: crr." in verdict(rows)
