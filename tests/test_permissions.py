"""Files physinv writes are readable by others as a plain ``open()`` would make them (the
umask decides, not ``mkstemp``'s 0600); one writer per run folder (an advisory lock naming its
owner's pid, stale locks taken over)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.io import LOCK_NAME, lock_folder, unlock_folder, write_image, write_json


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize(("mask", "file_mode"), [(0o022, 0o644), (0o077, 0o600),
                                                 (0o002, 0o664)])
def test_written_files_follow_the_umask_like_open(tmp_path, umask, mask, file_mode):
    umask(mask)
    written = [write_image(tmp_path / "x.npy", torch.rand(1, 8, 8)),
               write_image(tmp_path / "x.png", torch.rand(1, 8, 8)),
               write_image(tmp_path / "x.tif", torch.rand(1, 8, 8)),
               write_json(tmp_path / "r.json", {"a": 1})]
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as handle:
        handle.write("x")
    assert _mode(plain) == file_mode
    assert [oct(_mode(p)) for p in written] == [oct(file_mode)] * len(written)


def test_overwriting_keeps_the_umask_mode(tmp_path, umask):
    path = tmp_path / "r.json"
    write_json(path, {"a": 1})
    write_json(path, {"a": 2})
    assert _mode(path) == 0o644


def test_training_run_folder_and_its_files_are_readable_by_others(tmp_path, umask):
    from physinv.cli import main

    images = tmp_path / "clean"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        np.save(images / f"{i}.npy", rng.random((16, 16)).astype(np.float32))
    out = tmp_path / "runs" / "r"
    assert main(["train", "--images", str(images), "--op", "blur:gaussian:sigma=1",
                 "--net", "fourier-radial", "--lam", "0.01", "--epochs", "1",
                 "--samples-per-epoch", "2", "--batch-size", "2", "--preset", "quick",
                 "--device", "cpu", "--out", str(out)]) == 0
    assert _mode(out) == 0o755 and _mode(out.parent) == 0o755
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "model.safetensors", "last.safetensors"}
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o644" for p in files}
    assert not (out / LOCK_NAME).exists()  # released at the end of the run


HOLD = ("import sys, time; from physinv.io import lock_folder; lock_folder(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(60)")


def test_a_second_writer_is_refused_with_the_pid_of_the_first(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"--out: .*process {holder.pid} holds"):
            lock_folder(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the dead holder's lock: its file is stale and is taken over
    assert (tmp_path / LOCK_NAME).read_text().split()[0] == str(holder.pid)
    lock = lock_folder(tmp_path)
    assert lock.read_text().split()[0] == str(os.getpid())
    unlock_folder(tmp_path)
    assert not lock.exists()


def test_cli_train_refuses_a_folder_another_process_writes_to(tmp_path, capsys):
    from physinv.cli import main

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.perf_counter()
        code = main(["train", "--task", "deblur_gauss", "--n-train", "2", "--net",
                     "fourier-radial", "--out", str(tmp_path), "--resume"])
        seconds = time.perf_counter() - start
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and f"process {holder.pid}" in err and "Traceback" not in err
    assert seconds < 2


def test_the_demo_folder_and_its_report_are_readable_by_others(tmp_path, umask):
    from physinv.cli import main

    out = tmp_path / "shared" / "demo"
    assert main(["demo", "--quick", "--stage", "fourier", "--no-progress", "--out",
                 str(out)]) == 0
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"report.html", "results.json", "timings.json"} <= {p.name for p in files}
    assert {str(p): oct(_mode(p)) for p in folders} == {str(p): "0o755" for p in folders}
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o644" for p in files}
    assert not (out / LOCK_NAME).exists()
