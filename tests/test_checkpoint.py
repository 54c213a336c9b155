"""Checkpoints (safetensors + JSON) and exact resume: round trip, SIGKILL-and-resume equality,
refusals of corrupt / mismatched checkpoints, changed configurations, occupied folders and
failed saves."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from physinv.errors import InputError
from physinv.nets.registry import build
from physinv.noise import Gaussian
from physinv.operators.spec import from_spec
from physinv.train import Measurements, checkpoint, fit, load

SCRIPT = Path(__file__).parent / "scripts" / "train_tiny.py"


def _data(size=24, n=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    clean = torch.nn.functional.avg_pool2d(torch.rand(n, 1, size + 2, size + 2, generator=gen),
                                           3, 1)
    op = from_spec("blur:gaussian:sigma=1.5,size=9", (size, size))
    return op, Measurements(clean, op, Gaussian(0.02))


def _fit(net, data, out, **kw):
    options = dict(epochs=3, samples_per_epoch=8, batch_size=4, seed=1, patience=50, lr=3e-3)
    options.update(kw)
    return fit(net, data, out=out, **options)


@pytest.mark.parametrize("name", ["fourier-radial", "unrolled-hqs", "lista", "unet"])
def test_round_trip_gives_the_same_outputs(tmp_path, name):
    op, data = _data()
    net = build(name, op, 0.01)
    _fit(net, data, tmp_path / "run", epochs=2)
    again = load(tmp_path / "run")
    assert type(again) is type(net)
    assert again.op.spec == op.spec
    y = data.fixed(5)[0]
    assert torch.equal(net(y), again(y))
    # the .safetensors file alone is a checkpoint (its metadata carries the configuration)
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "w.safetensors").write_bytes((tmp_path / "run" / "model.safetensors").read_bytes())
    assert torch.equal(load(alone / "w.safetensors")(y), net(y))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["network"]["class"] == type(net).__name__
    assert config["operator"]["spec"] == "blur:gaussian:sigma=1.5,size=9"
    assert config["training"]["epochs"] == 2
    assert config["data"]["n"] == 6 and len(config["data"]["sha256"]) == 64
    assert {"physinv", "torch"} <= set(config["versions"])


def test_files_are_safetensors_and_json_only(tmp_path):
    op, data = _data()
    _fit(build("fourier", op, 0.01), data, tmp_path / "run", epochs=1)
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "model.safetensors", "last.safetensors", "metrics.csv",
            "metrics.jsonl", "summary.json"} <= names
    assert not any(n.endswith((".pt", ".pth", ".pkl", ".ckpt")) for n in names)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert (tmp_path / "run" / "metrics.csv").read_text().startswith("epoch,step,train_loss")


def test_load_moves_to_another_grid_and_device_errors(tmp_path):
    op, data = _data()
    net = build("fourier-radial", op, 0.01)
    _fit(net, data, tmp_path / "run", epochs=1)
    again = load(tmp_path / "run", device="cpu")
    bigger = again.for_operator(from_spec(op.spec, (48, 48)))
    assert bigger(torch.rand(1, 1, 48, 48)).shape == (1, 1, 48, 48)
    with pytest.raises(InputError, match="device"):
        load(tmp_path / "run", device="cuda:7")
    with pytest.raises(InputError, match="device"):
        load(tmp_path / "run", device="tpu")


def test_in_process_resume_matches_an_uninterrupted_run(tmp_path):
    op, data = _data()
    torch.manual_seed(0)
    full = build("unrolled-hqs", op, 0.01)
    _fit(full, data, tmp_path / "full", epochs=4)
    torch.manual_seed(0)
    part = build("unrolled-hqs", op, 0.01)
    _fit(part, data, tmp_path / "part", epochs=4, max_time=1e-9)  # stops after epoch 1
    info = checkpoint.resume_info(tmp_path / "part")
    assert info["epoch"] == 1 and info["finished"] == "time budget"
    again = build("unrolled-hqs", op, 0.01)
    result = _fit(again, data, tmp_path / "part", epochs=4, resume=True)
    assert result.resumed_from == 1 and result.stop_reason == "epochs"
    a = load_file(str(tmp_path / "full" / "last.safetensors"))
    b = load_file(str(tmp_path / "part" / "last.safetensors"))
    params = [k for k in a if k.startswith("param.")]
    assert params and all(torch.equal(a[k], b[k]) for k in params)
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("optim."))


def _run(args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _params(folder) -> dict:
    tensors = load_file(str(Path(folder) / "last.safetensors"))
    return {k: v for k, v in tensors.items() if k.startswith(("param.", "best.", "optim."))}


def _step(folder) -> int:
    try:
        return checkpoint.resume_info(folder)["step"]
    except (InputError, TypeError):
        return -1


def test_sigkill_and_resume_end_bitwise_equal(tmp_path):
    """A run killed (SIGKILL) twice at arbitrary moments — mid-epoch included, saves every
    step — and resumed with --resume ends with the weights of an uninterrupted run."""
    args = ["--epochs", "5", "--net", "unrolled-hqs", "--save-every", "1"]
    reference = _run([tmp_path / "ref", *args])
    out = tmp_path / "killed"
    proc = _run([out, *args])
    kills = 0
    for threshold in (3, 8):  # kill once after step 3 was saved, once after step 8
        deadline = time.time() + 120
        while _step(out) < threshold and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            # the killed writer's lock file is left behind, stale: --resume takes it over
            assert (out / "physinv.lock").read_text().split()[0] == str(proc.pid)
        assert proc.returncode in (-signal.SIGKILL, 0), proc.stderr.read()
        proc = _run([out, *args, "--resume"])
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert reference.wait(timeout=300) == 0, reference.stderr.read()
    assert kills >= 1
    a, b = _params(tmp_path / "ref"), _params(out)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]
    assert torch.equal(load(out)(torch.ones(1, 1, 32, 32)),
                       load(tmp_path / "ref")(torch.ones(1, 1, 32, 32)))
    history = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == list(range(6))
    assert not (out / "physinv.lock").exists()  # released by the run that finished


# --------------------------------------------------------------------------- bad input
@pytest.fixture()
def run(tmp_path):
    op, data = _data()
    net = build("fourier-radial", op, 0.01)
    _fit(net, data, tmp_path / "run", epochs=2)
    return tmp_path / "run", op, data, net


def test_truncated_or_corrupt_checkpoint_is_refused(run, tmp_path):
    folder = run[0]
    model = folder / "model.safetensors"
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load(folder)
    model.write_bytes(b"not a safetensors file at all")
    with pytest.raises(InputError, match="truncated or corrupt"):
        load(folder)
    (folder / "config.json").write_text("{ no json")
    model.write_bytes(data)
    with pytest.raises(InputError, match="readable JSON"):
        load(folder)


def test_weights_of_another_run_are_named_as_mismatched(run, tmp_path):
    folder, op, data, _ = run
    other = tmp_path / "other"
    _fit(build("unrolled-hqs", op, 0.01), data, other, epochs=1)
    (folder / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(InputError, match=r"mismatched: .*network\.class: 'FourierNet' → "
                                         r"'UnrolledHQS'"):
        load(folder)


def test_checkpoint_on_another_grid_or_physics_says_which_field(run, tmp_path):
    folder, op, data, _ = run
    big_op, big_data = _data(size=32)
    big = tmp_path / "big"
    _fit(build("fourier-radial", big_op, 0.01), big_data, big, epochs=1)
    (folder / "model.safetensors").write_bytes((big / "model.safetensors").read_bytes())
    with pytest.raises(InputError, match=r"operator\.in_shape: \[24, 24\] → \[32, 32\]"):
        load(folder)
    with pytest.raises(InputError, match=r"probe.*other physics"):
        load(big / "model.safetensors", op=from_spec("blur:gaussian:sigma=3", (32, 32)))
    with pytest.raises(InputError, match=r"in_shape"):
        load(big / "model.safetensors", op=from_spec(op.spec, (24, 24)))


def test_resume_with_a_changed_configuration_lists_the_differences(run):
    folder, op, data, _ = run
    with pytest.raises(InputError, match=r"differs: .*training\.lr: 0\.003 → 0\.01.*"
                                         r"training\.seed: 1 → 2"):
        _fit(build("fourier-radial", op, 0.01), data, folder, resume=True, lr=1e-2, seed=2)
    with pytest.raises(InputError, match=r"network\.config\.lam"):
        _fit(build("fourier-radial", op, 0.02), data, folder, resume=True)
    _, other = _data(seed=9)
    with pytest.raises(InputError, match=r"data\.sha256"):
        _fit(build("fourier-radial", op, 0.01), other, folder, resume=True)


def test_an_occupied_folder_needs_resume_or_overwrite(run, tmp_path):
    folder, op, data, _ = run
    before = (folder / "model.safetensors").read_bytes()
    with pytest.raises(InputError, match="--resume.*--overwrite"):
        _fit(build("fourier-radial", op, 0.01), data, folder)
    assert (folder / "model.safetensors").read_bytes() == before
    with pytest.raises(InputError, match="nothing to resume"):
        _fit(build("fourier-radial", op, 0.01), data, tmp_path / "new", resume=True)
    result = _fit(build("fourier-radial", op, 0.01), data, folder, overwrite=True, epochs=1)
    assert len(result.history) == 2


def test_a_failed_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    op, data = _data()
    folder = tmp_path / "run"
    _fit(build("fourier-radial", op, 0.01), data, folder, max_time=1e-9)  # epoch 1 saved
    good = load(folder)
    good_last = (folder / "last.safetensors").read_bytes()
    import physinv.io as io

    real = io.os.replace

    def disk_full(src, dst):
        if str(dst).endswith(".safetensors"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", disk_full)
    with pytest.raises(OSError, match=r"No space left.*last good checkpoint \(epoch 1\)"):
        _fit(build("fourier-radial", op, 0.01), data, folder, resume=True)
    monkeypatch.setattr(io.os, "replace", real)
    assert (folder / "last.safetensors").read_bytes() == good_last
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left
    y = data.fixed(5)[0]
    assert torch.equal(load(folder)(y), good(y))
    assert checkpoint.resume_info(folder)["epoch"] == 1


def test_unwritable_folder_is_named(run, tmp_path):
    _, op, data, _ = run
    target = tmp_path / "file-not-folder"
    target.write_text("x")
    with pytest.raises(InputError, match="out: .*a folder"):
        _fit(build("fourier-radial", op, 0.01), data, target)


def test_tensorboard_events_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    op, data = _data()
    _fit(build("fourier", op, 0.01), data, tmp_path / "run", epochs=2)
    events = list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
