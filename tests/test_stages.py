"""Resumable stages (groundwork of the demo): finished stages are not rerun, a changed
configuration is refused with its differences, unknown stage names and unwritable folders
are clear errors, a stage that fails leaves the finished ones intact."""

from __future__ import annotations

import pytest

from physinv.errors import InputError
from physinv.experiments.stages import Stages


def test_resume_runs_only_unfinished_stages(tmp_path):
    calls = []

    def work(name, value):
        def run():
            calls.append(name)
            return {"value": value}
        return run

    first = Stages(tmp_path, {"seed": 0, "quick": True}, ["a", "b", "c"])
    assert first.run("a", work("a", 1)) == {"value": 1}

    def boom():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        first.run("b", boom)
    again = Stages(tmp_path, {"seed": 0, "quick": True}, ["a", "b", "c"])
    assert again.pending() == ["b", "c"]
    assert again.run("a", work("a", 99)) == {"value": 1}
    assert again.run("b", work("b", 2)) == {"value": 2}
    assert calls == ["a", "b"]
    assert not [p for p in (tmp_path / "stages").iterdir() if p.name.startswith(".")]


def test_changed_configuration_unknown_stage_and_bad_folder(tmp_path):
    Stages(tmp_path, {"seed": 0, "quick": True}, ["a"])
    with pytest.raises(InputError, match=r"differs: quick: true → false; seed: 0 → 1"):
        Stages(tmp_path, {"seed": 1, "quick": False}, ["a"])
    with pytest.raises(InputError, match="stage: got 'z'"):
        Stages(tmp_path, {"seed": 0, "quick": True}, ["a"], selected=["z"])
    with pytest.raises(InputError, match="stage"):
        Stages(tmp_path, {"seed": 0, "quick": True}, ["a"]).run("z", dict)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="out: .*folder"):
        Stages(blocker, {}, ["a"])
    with pytest.raises(InputError, match="writable"):
        Stages(blocker / "sub", {}, ["a"])
