"""Fast answers: the lists that help, ``info`` and ``nets`` show are kept between runs of the
command (``physinv.cli_catalog``), so once built they need no torch; caps on run-time counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from physinv import cli_catalog
from physinv.cli import main
from physinv.nets.registry import NETWORKS

PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('TORCH=' + str('torch' in sys.modules), "
         "file=sys.stderr))\n"
         "sys.argv = ['physinv'] + {args!r}\n"
         "from physinv.cli import run\n"
         "run()\n")


def _command(args, cache, **env):
    environ = dict(os.environ, PHYSINV_CACHE_DIR=str(cache), COLUMNS="200", **env)
    environ.pop("PHYSINV_NO_CACHE", None)
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True,
                          text=True, env=environ, timeout=120)
    torch_loaded = done.stderr.strip().splitlines()[-1] == "TORCH=True"
    return done.returncode, re.sub(r"\s+", " ", done.stdout), torch_loaded


@pytest.mark.parametrize("args", [["train", "--help"], ["info"],
                                  ["nets", "--task", "sr_x2"]])
def test_second_run_needs_no_torch_and_shows_the_same(tmp_path, args):
    code, cold, torch_cold = _command(args, tmp_path)
    assert code == 0 and torch_cold  # the first run builds the lists from the registries
    code, warm, torch_warm = _command(args, tmp_path)
    assert code == 0 and not torch_warm
    assert warm == cold
    if args[0] == "train":
        listed = warm.split("(physinv nets):")[1].split(".")[0]
        assert [n.strip() for n in listed.split(",")] == list(NETWORKS)


def test_bad_task_refused_without_torch_once_warm(tmp_path):
    _command(["train", "--help"], tmp_path)
    code, _, torch_loaded = _command(["nets", "--task", "nope"], tmp_path)
    assert code == 2 and not torch_loaded


def test_cache_off_builds_each_time(tmp_path):
    code, _, torch_loaded = _command(["info"], tmp_path, PHYSINV_NO_CACHE="1")
    code, _, torch_loaded = _command(["info"], tmp_path, PHYSINV_NO_CACHE="1")
    assert code == 0 and torch_loaded
    assert not (tmp_path / cli_catalog.FILE_NAME).exists()


def test_cached_rebuilds_when_the_code_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSINV_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PHYSINV_NO_CACHE", raising=False)
    calls = []

    def build():
        calls.append(1)
        return {"a": [1, 2]}

    assert cli_catalog.cached("k", build) == {"a": [1, 2]}  # off outside the command
    monkeypatch.setitem(cli_catalog._STATE, "enabled", True)
    assert cli_catalog.cached("k", build) == {"a": [1, 2]}
    assert cli_catalog.cached("k", build) == {"a": [1, 2]}
    assert len(calls) == 2  # once off, once to fill the cache
    monkeypatch.setattr(cli_catalog, "fingerprint", lambda: "another version of the code")
    cli_catalog.cached("k", build)
    assert len(calls) == 3
    (tmp_path / cli_catalog.FILE_NAME).write_text("{not json")
    assert cli_catalog.cached("k", build) == {"a": [1, 2]} and len(calls) == 4


def test_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("PHYSINV_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setitem(cli_catalog._STATE, "enabled", True)
    assert cli_catalog.cached("k", lambda: 3) == 3


@pytest.mark.parametrize("args, words", [
    (["train", "--net", "fourier-radial", "--task", "denoise", "--n-train", "4", "--epochs",
      "1000000000"], "--epochs: got 1000000000, expected at most 10,000"),
    (["reconstruct", "y.npy", "--op", "identity", "--method", "tv", "--n-iter", "10000000000"],
     "--n-iter: got 10000000000, expected at most 100,000"),
])
def test_huge_counts_refused(tmp_path, capsys, args, words):
    import numpy as np

    np.save(tmp_path / "y.npy", np.zeros((16, 16), np.float32))
    args = [str(tmp_path / a) if a == "y.npy" else a for a in args]
    out = tmp_path / "out"
    assert main(args + (["--out", str(out)] if args[0] == "train" else
                        ["-o", str(tmp_path / "x.npy")])) == 2
    assert words in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "x.npy").exists()


def test_root_help_never_imports_torch(tmp_path):
    code, text, torch_loaded = _command(["--help"], tmp_path, PHYSINV_NO_CACHE="1")
    assert code == 0 and "reconstruct" in text and not torch_loaded
