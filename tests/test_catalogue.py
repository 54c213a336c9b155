"""The catalogue of bad inputs: every class of mistake a user can make, on every command.

Each case asserts status 2, one line on stderr that starts with ``error:`` and names the
argument (and, where it matters, the value or the limit), no traceback, and nothing left
behind in the folder the command was pointed at. The classes: missing, corrupt, truncated and
wrongly-typed files; impossible numbers (zero, negative, NaN, inf); output paths that cannot
be written (a folder where a file goes, a file where a folder goes, a folder under a file, a
missing folder, a wrong suffix); absurd sizes (refused from an estimate of their memory);
options that contradict each other; a folder another process writes to.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from physinv.cli import main

HUGE = "100000000"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("catalogue")
    rng = np.random.default_rng(0)
    np.save(d / "good.npy", rng.random((32, 32)))
    np.save(d / "complex.npy", rng.random((32, 32)) + 1j)
    np.save(d / "int.npy", np.arange(1024, dtype=np.int64).reshape(32, 32))
    np.save(d / "struct.npy", np.zeros((32, 32), dtype=[("a", "f4"), ("b", "i4")]))
    np.save(d / "nan.npy", np.full((32, 32), np.nan))
    np.save(d / "cube.npy", np.zeros((2, 2, 32, 32)))
    np.save(d / "sino.npy", rng.random((30, 30)))
    (d / "trunc.npy").write_bytes((d / "good.npy").read_bytes()[:100])
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a png" * 10)
    np.lib.format.open_memmap(d / "huge.npy", mode="w+", dtype=np.float32,
                              shape=(300_000, 300_000))  # sparse: the header is what counts
    (d / "a_file").write_text("x")
    (d / "notes.txt").write_text("x")
    (d / "folder.npy").mkdir()
    (d / "empty").mkdir()
    (d / "clean").mkdir()
    for i in range(2):
        np.save(d / "clean" / f"{i}.npy", rng.random((16, 16)).astype(np.float32))
    (d / "full").mkdir()
    (d / "full" / "other.txt").write_text("x")
    (d / "existing").mkdir()
    (d / "dir.json").mkdir()
    (d / "complex-images").mkdir()
    np.save(d / "complex-images" / "0.npy", rng.random((16, 16)) + 1j)
    (d / "int-measured").mkdir()
    np.save(d / "int-measured" / "0.npy", np.ones((16, 16), np.int32))
    return d


def _rec(*args):
    return ["reconstruct", "{d}/good.npy", "--op", "identity", "-o", "{d}/x.npy", *args]


def _sim(*args):
    return ["simulate", "camera", "-o", "{d}/y.npy", *args]


def _train(*args):
    return ["train", "--task", "denoise", "--net", "fourier-radial", "--n-train", "2",
            "--out", "{d}/run", *args]


def _images(*args):
    return ["train", "--images", "{d}/clean", "--op", "identity", "--net", "fourier-radial",
            "--out", "{d}/run", *args]


def _bench(*args):
    return ["bench", "--json", "{d}/b.json", *args]


def _ir(command, *args):
    frame = ["{d}/good.npy"] if command in ("restore", "segment") else []
    return ["ir", command, *frame, "--out", "{d}/ir", *args]


CASES = {
    # ------------------------------------------------------------------ simulate
    "simulate/missing-file": (["simulate", "{d}/none.npy", "-o", "{d}/y.npy"], ["image"]),
    "simulate/unknown-name": (["simulate", "cameraman", "-o", "{d}/y.npy"], ["image"]),
    "simulate/corrupt-png": (["simulate", "{d}/corrupt.png", "-o", "{d}/y.npy"], ["image"]),
    "simulate/truncated-npy": (["simulate", "{d}/trunc.npy", "-o", "{d}/y.npy"], ["image"]),
    "simulate/complex-dtype": (["simulate", "{d}/complex.npy", "-o", "{d}/y.npy"],
                               ["image", "complex128"]),
    "simulate/int-dtype": (["simulate", "{d}/int.npy", "-o", "{d}/y.npy"], ["image", "int64"]),
    "simulate/structured-dtype": (["simulate", "{d}/struct.npy", "-o", "{d}/y.npy"],
                                  ["image", "dtype"]),
    "simulate/nan-pixels": (["simulate", "{d}/nan.npy", "-o", "{d}/y.npy"], ["image", "NaN"]),
    "simulate/huge-image": (["simulate", "{d}/huge.npy", "-o", "{d}/y.npy"],
                            ["image", "memory", "available"]),
    "simulate/output-under-a-file": (_sim()[:3] + ["{d}/a_file/y.npy"], ["-o/--output",
                                                                         "a_file"]),
    "simulate/output-is-a-folder": (_sim()[:3] + ["{d}/folder.npy"], ["-o/--output", "folder"]),
    "simulate/output-missing-folder": (_sim()[:3] + ["{d}/nowhere/y.npy"],
                                       ["-o/--output", "does not exist"]),
    "simulate/output-suffix": (_sim()[:3] + ["{d}/y.txt"], ["-o/--output", ".npy"]),
    "simulate/truth-under-a-file": (_sim("--truth", "{d}/a_file/t.npy"), ["--truth"]),
    "simulate/op-unknown-kind": (_sim("--op", "warp:x=1"), ["op", "warp"]),
    "simulate/op-negative-sigma": (_sim("--op", "blur:gaussian:sigma=-1"), ["sigma", "-1"]),
    "simulate/op-absurd-angles": (_sim("--op", f"radon:angles={HUGE}"),
                                  ["angles", "memory", "available"]),
    "simulate/noise-unknown": (_sim("--noise", "speckle:sigma=1"), ["noise", "speckle"]),
    "simulate/noise-nan": (_sim("--noise", "gaussian:sigma=nan"), ["sigma", "nan"]),
    "simulate/negative-seed": (_sim("--seed", "-1"), ["--seed", "-1"]),
    "simulate/seed-not-a-number": (_sim("--seed", "zero"), ["--seed"]),
    # --------------------------------------------------------------- reconstruct
    "reconstruct/missing-file": (["reconstruct", "{d}/none.npy", "--op", "identity", "-o",
                                  "{d}/x.npy"], ["measurement"]),
    "reconstruct/empty-folder": (["reconstruct", "{d}/empty", "--op", "identity", "-o",
                                  "{d}/xs"], ["measurement"]),
    "reconstruct/wrong-suffix": (["reconstruct", "{d}/notes.txt", "--op", "identity", "-o",
                                  "{d}/x.npy"], ["measurement", ".npy"]),
    "reconstruct/corrupt-png": (["reconstruct", "{d}/corrupt.png", "--op", "identity", "-o",
                                 "{d}/x.npy"], ["measurement"]),
    "reconstruct/truncated-npy": (["reconstruct", "{d}/trunc.npy", "--op", "identity", "-o",
                                   "{d}/x.npy"], ["measurement"]),
    "reconstruct/complex-dtype": (["reconstruct", "{d}/complex.npy", "--op", "identity", "-o",
                                   "{d}/x.npy"], ["measurement", "complex128"]),
    "reconstruct/int-dtype": (["reconstruct", "{d}/int.npy", "--op", "identity", "-o",
                               "{d}/x.npy"], ["measurement", "int64"]),
    "reconstruct/structured-dtype": (["reconstruct", "{d}/struct.npy", "--op", "identity",
                                      "-o", "{d}/x.npy"], ["measurement", "dtype"]),
    "reconstruct/four-dims": (["reconstruct", "{d}/cube.npy", "--op", "identity", "-o",
                               "{d}/x.npy"], ["measurement", "shape"]),
    "reconstruct/nan": (["reconstruct", "{d}/nan.npy", "--op", "identity", "-o", "{d}/x.npy"],
                        ["measurement", "NaN"]),
    "reconstruct/huge-image": (["reconstruct", "{d}/huge.npy", "--op", "identity", "-o",
                                "{d}/x.npy"], ["measurement", "memory", "available"]),
    "reconstruct/psf-file-missing": (_rec()[:2] + ["--op", "blur:{d}/nopsf.npy", "-o",
                                                   "{d}/x.npy"], ["nopsf.npy"]),
    "reconstruct/psf-file-complex": (_rec()[:2] + ["--op", "blur:{d}/complex.npy", "-o",
                                                   "{d}/x.npy"], ["complex128"]),
    "reconstruct/output-under-a-file": (_rec()[:5] + ["{d}/a_file/x.npy"], ["-o/--output"]),
    "reconstruct/output-is-a-folder": (_rec()[:5] + ["{d}/folder.npy"], ["-o/--output"]),
    "reconstruct/output-missing-folder": (_rec()[:5] + ["{d}/nowhere/x.npy"],
                                          ["-o/--output"]),
    "reconstruct/output-suffix": (_rec()[:5] + ["{d}/x.bmp"], ["-o/--output"]),
    "reconstruct/folder-output-is-a-file": (["reconstruct", "{d}/clean", "--op", "identity",
                                             "-o", "{d}/a_file"], ["-o/--output"]),
    "reconstruct/folder-suffix": (["reconstruct", "{d}/clean", "--op", "identity", "-o",
                                   "{d}/xs", "--suffix", ".bmp"], ["--suffix"]),
    "reconstruct/variance-under-a-file": (_rec("--variance", "{d}/a_file/v.npy"),
                                          ["--variance"]),
    "reconstruct/labels-is-a-folder": (_rec("--labels", "{d}/folder.npy"), ["--labels"]),
    "reconstruct/level-one": (_rec("--variance", "{d}/v.npy", "--level", "1"), ["--level"]),
    "reconstruct/level-negative": (_rec("--variance", "{d}/v.npy", "--level", "-0.5"),
                                   ["--level"]),
    "reconstruct/level-nan": (_rec("--variance", "{d}/v.npy", "--level", "nan"), ["--level"]),
    "reconstruct/samples-one": (_rec("--variance", "{d}/v.npy", "--samples", "1"),
                                ["--samples"]),
    "reconstruct/samples-too-many": (_rec("--variance", "{d}/v.npy", "--samples", "33"),
                                     ["--samples", "32"]),
    "reconstruct/level-without-variance": (_rec("--level", "0.9"), ["--level", "--variance"]),
    "reconstruct/calibration-missing": (_rec("--variance", "{d}/v.npy", "--calibration",
                                             "{d}/nocal.json"), ["--calibration"]),
    "reconstruct/calibration-not-json": (_rec("--variance", "{d}/v.npy", "--calibration",
                                              "{d}/a_file"), ["--calibration"]),
    "reconstruct/variance-with-folder": (["reconstruct", "{d}/clean", "--op", "identity",
                                          "-o", "{d}/xs", "--variance", "{d}/v.npy"],
                                         ["--variance"]),
    "reconstruct/no-op": (["reconstruct", "{d}/good.npy", "-o", "{d}/x.npy"], ["--op"]),
    "reconstruct/op-and-net": (_rec("--net", "{d}/existing"), ["--op"]),
    "reconstruct/unknown-method": (_rec("--method", "magic"), ["method", "magic"]),
    "reconstruct/negative-lam": (_rec("--lam", "-1"), ["lam", "-1"]),
    "reconstruct/nan-lam": (_rec("--lam", "nan"), ["lam", "nan"]),
    "reconstruct/zero-iterations": (_rec("--method", "landweber", "--n-iter", "0"),
                                    ["--n-iter", "0"]),
    "reconstruct/negative-tol": (_rec("--method", "cg", "--tol", "-1"), ["--tol"]),
    "reconstruct/one-class": (_rec("--method", "potts", "--classes", "1"), ["--classes"]),
    "reconstruct/net-not-a-run": (["reconstruct", "{d}/good.npy", "--net", "{d}/existing",
                                   "-o", "{d}/x.npy"], ["--net", "existing"]),
    "reconstruct/iterations-not-a-number": (_rec("--n-iter", "many"), ["--n-iter"]),
    # --------------------------------------------------------------------- train
    "train/no-data": (["train", "--net", "fourier-radial", "--out", "{d}/run"], ["data"]),
    "train/two-sources": (_train("--images", "{d}/clean"), ["data", "exactly one"]),
    "train/task-without-n-train": (["train", "--task", "denoise", "--net", "fourier-radial",
                                    "--out", "{d}/run"], ["--n-train"]),
    "train/zero-n-train": (_train("--n-train", "0"), ["--n-train", "0"]),
    "train/absurd-n-train": (_train("--n-train", HUGE), ["--n-train", HUGE, "memory",
                                                         "n × 128 × 128 × 16"]),
    "train/absurd-samples": (_train("--samples-per-epoch", "10000000000000"),
                             ["--samples-per-epoch", "memory"]),
    "train/absurd-batch": (_train("--batch-size", HUGE), ["--batch-size", "memory"]),
    "train/n-train-beyond-the-folder": (_images("--n-train", "5"), ["n-train", "at most 2"]),
    "train/zero-epochs": (_train("--epochs", "0"), ["--epochs"]),
    "train/negative-epochs": (_train("--epochs", "-3"), ["--epochs", "-3"]),
    "train/nan-lr": (_train("--lr", "nan"), ["--lr", "nan"]),
    "train/negative-lr": (_train("--lr", "-0.1"), ["--lr"]),
    "train/inf-budget": (_train("--budget", "inf"), ["--budget", "inf"]),
    "train/negative-patience": (_train("--patience", "-1"), ["--patience"]),
    "train/zero-save-every": (_train("--save-every", "0"), ["--save-every"]),
    "train/out-is-a-file": (_train()[:-2] + ["--out", "{d}/a_file"], ["--out", "a_file"]),
    "train/out-under-a-file": (_train()[:-2] + ["--out", "{d}/a_file/run"], ["--out"]),
    "train/out-holds-other-files": (_train()[:-2] + ["--out", "{d}/full"], ["out", "--resume"]),
    "train/resume-nothing": (_train("--resume")[:-3] + ["--out", "{d}/existing", "--resume"],
                             ["resume"]),
    "train/unknown-net": (["train", "--task", "denoise", "--net", "resnet9000", "--n-train",
                           "1", "--out", "{d}/run"], ["net", "resnet9000"]),
    "train/unknown-task": (["train", "--task", "deblur", "--net", "fourier-radial",
                            "--n-train", "1", "--out", "{d}/run"], ["task", "deblur"]),
    "train/op-with-task": (_train("--op", "identity"), ["--op"]),
    "train/images-without-op": (["train", "--images", "{d}/clean", "--net", "fourier-radial",
                                 "--out", "{d}/run"], ["--op"]),
    "train/images-missing-folder": (["train", "--images", "{d}/nowhere", "--op", "identity",
                                     "--net", "fourier-radial", "--out", "{d}/run"],
                                    ["images"]),
    "train/images-complex-dtype": (["train", "--images", "{d}/complex-images", "--op",
                                    "identity", "--net", "fourier-radial", "--out", "{d}/run"],
                                   ["images", "complex128"]),
    "train/measured-int-dtype": (["train", "--measured", "{d}/int-measured", "--op", "identity",
                                  "--net", "fourier-radial", "--out", "{d}/run"],
                                 ["measured", "int32"]),
    "train/negative-seed": (_train("--seed", "-1"), ["--seed", "-1"]),
    "train/refused-late-leaves-no-folder": (["train", "--task", "denoise", "--net",
                                             "fourier-radial", "--n-train", "1", "--out",
                                             "{d}/new-run", "--loss", "telepathy"], ["loss"]),
    "train/device": (["train", "--task", "denoise", "--net", "fourier-radial", "--n-train",
                      "1", "--out", "{d}/run", "--device", "cuda:7"], ["device"]),
    # --------------------------------------------------------------------- bench
    "bench/unknown-suite": (_bench("--suite", "rivals"), ["--suite", "rivals"]),
    "bench/json-under-a-file": (["bench", "--json", "{d}/a_file/b.json"], ["--json"]),
    "bench/json-is-a-folder": (["bench", "--json", "{d}/dir.json"], ["--json", "folder"]),
    "bench/json-suffix": (["bench", "--json", "{d}/b.txt"], ["--json", ".json"]),
    "bench/json-missing-folder": (["bench", "--json", "{d}/nowhere/b.json"], ["--json"]),
    "bench/zero-n-train": (_bench("--suite", "nets", "--n-train", "0,4"), ["--n-train"]),
    "bench/text-n-train": (_bench("--n-train", "four"), ["--n-train", "four"]),
    "bench/absurd-n-train": (_bench("--n-train", HUGE), ["--n-train", "memory"]),
    "bench/two-sizes-classical": (_bench("--n-train", "1,4"), ["--n-train", "one number"]),
    "bench/zero-images": (_bench("--images", "0"), ["--images"]),
    "bench/images-beyond-the-test-set": (_bench("--images", "99"), ["--images", "at most 4"]),
    "bench/negative-budget": (_bench("--budget", "-1"), ["--budget"]),
    # ---------------------------------------------------------------------- demo
    "demo/quick-and-full": (["demo", "--quick", "--full", "--out", "{d}/demo"],
                            ["--quick/--full"]),
    "demo/unknown-stage": (["demo", "--stage", "nope", "--out", "{d}/demo"],
                           ["stage", "nope"]),
    "demo/out-is-a-file": (["demo", "--out", "{d}/a_file"], ["--out", "a_file"]),
    "demo/out-under-a-file": (["demo", "--out", "{d}/a_file/demo"], ["--out"]),
    "demo/negative-seed": (["demo", "--seed", "-2", "--out", "{d}/demo"], ["--seed"]),
    "demo/seed-not-a-number": (["demo", "--seed", "x", "--out", "{d}/demo"], ["--seed"]),
    # ------------------------------------------------------------------------ ir
    "ir-simulate/out-is-a-file": (["ir", "simulate", "--out", "{d}/a_file"], ["--out"]),
    "ir-simulate/absurd-size": (_ir("simulate", "--size", "10000000"),
                                ["--size", "memory"]),
    "ir-simulate/negative-seed": (_ir("simulate", "--seed", "-1"), ["--seed"]),
    "ir-simulate/zero-netd": (_ir("simulate", "--netd", "0"), ["--netd"]),
    "ir-simulate/zero-factor": (_ir("simulate", "--factor", "0"), ["--factor"]),
    "ir-simulate/unknown-task": (_ir("simulate", "--task", "ir_everything"),
                                 ["task", "ir_everything"]),
    "ir-restore/missing-frame": (["ir", "restore", "{d}/none.npy", "--out", "{d}/ir"],
                                 ["frame"]),
    "ir-restore/nan-netd": (_ir("restore", "--netd", "nan"), ["--netd", "nan"]),
    "ir-restore/negative-fwhm": (_ir("restore", "--fwhm", "-1"), ["--fwhm"]),
    "ir-restore/out-under-a-file": (["ir", "restore", "{d}/good.npy", "--out",
                                     "{d}/a_file/ir"], ["--out"]),
    "ir-restore/zero-detect": (_ir("restore", "--detect", "0"), ["--detect"]),
    "ir-restore/incomplete-flats": (_ir("restore", "--flat-lo", "{d}/good.npy"),
                                    ["flat fields"]),
    "ir-segment/out-is-a-file": (["ir", "segment", "{d}/good.npy", "--out", "{d}/a_file"],
                                 ["--out"]),
    "ir-train/absurd-n-train": (_ir("train", "--n-train", HUGE), ["--n-train", "memory"]),
    "ir-train/zero-epochs": (_ir("train", "--epochs", "0"), ["--epochs"]),
    "ir-train/out-is-a-file": (["ir", "train", "--out", "{d}/a_file"], ["--out"]),
    "ir-train/zero-factor": (_ir("train", "--factor", "0"), ["--factor"]),
    # ---------------------------------------------------------------------- nets
    "nets/unknown-task": (["nets", "--task", "deblur"], ["task", "deblur"]),
    "nets/negative-lam": (["nets", "--lam", "-1"], ["--lam"]),
    "nets/nan-lam": (["nets", "--lam", "nan"], ["--lam"]),
}


def _snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")}


def _argv(template, base) -> list[str]:
    return [a.replace("{d}", str(base)) for a in template]


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_status_2_one_line_naming_the_argument_nothing_left(case, base, capsys):
    template, words = CASES[case]
    before = _snapshot(base)
    capsys.readouterr()
    start = time.perf_counter()
    code = main(_argv(template, base))
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (case, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, err)
    assert "Traceback" not in err + out
    for word in words:
        assert word in lines[0], (case, word, lines[0])
    assert _snapshot(base) == before, case  # no file, folder or temporary left behind
    assert seconds < 10, (case, seconds)  # refusals come before the work


def test_the_catalogue_covers_every_command_with_many_cases():
    per_command = {}
    for name in CASES:
        command = name.split("/")[0]
        per_command[command] = per_command.get(command, 0) + 1
    assert len(CASES) >= 60
    assert set(per_command) == {"simulate", "reconstruct", "train", "bench", "demo",
                                "ir-simulate", "ir-restore", "ir-segment", "ir-train", "nets"}
    assert min(per_command.values()) >= 1


def test_the_test_set_size_the_cli_refuses_against_is_the_registry_s():
    from physinv.data import images
    from physinv.limits import TEST_IMAGES

    assert TEST_IMAGES == len(images.TEST_SET)


ABSURD = [
    ["train", "--task", "denoise", "--net", "fourier-radial", "--n-train", HUGE, "--out", "r"],
    ["train", "--task", "denoise", "--net", "fourier-radial", "--n-train", "2",
     "--samples-per-epoch", "10000000000000", "--out", "r"],
    ["bench", "--n-train", HUGE, "--json", "b.json"],
    ["ir", "train", "--n-train", HUGE, "--out", "r"],
    ["ir", "simulate", "--size", "10000000", "--out", "r"],
]


@pytest.mark.parametrize("argv", ABSURD, ids=lambda a: " ".join(a[:2]) + " " + a[-3])
def test_absurd_sizes_are_refused_by_the_console_script_at_once(argv, tmp_path):
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "physinv.cli", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert "memory" in done.stderr
    assert list(tmp_path.iterdir()) == []
    assert seconds < 2, seconds


def test_help_and_version_do_not_import_torch():
    code = ("import sys; from physinv.cli import main; "
            "codes = [main(['--help']), main(['--version']), main(['ir', 'restore', '--help']), "
            "main(['simulate', '--help'])]; "
            "print(codes, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'scipy', 'matplotlib', 'skimage')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[0, 0, 0, 0] []"


HOLD = ("import sys, time; from physinv.io import lock_folder; lock_folder(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(60)")


@pytest.mark.parametrize("command", [["demo", "--quick", "--stage", "fourier"],
                                     ["train", "--task", "denoise", "--net", "fourier-radial",
                                      "--n-train", "2", "--overwrite"]])
def test_a_folder_another_process_writes_to_is_refused_with_its_pid(command, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = sorted(p.name for p in out.iterdir())
        code = main([*command, "--out", str(out)])
        err = capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == before
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: ") and "out" in err and f"process {holder.pid}" in err


def test_a_full_disk_during_the_write_keeps_the_old_file_and_says_so(tmp_path, capsys,
                                                                     monkeypatch):
    import errno

    import physinv.io as io

    out = tmp_path / "y.npy"
    assert main(["simulate", "camera", "--op", "identity", "--noise", "none", "-o",
                 str(out)]) == 0
    old = out.read_bytes()
    real = io.os.replace

    def disk_full(src, dst):
        if str(dst).endswith(".npy"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", disk_full)
    capsys.readouterr()
    assert main(["simulate", "camera", "--op", "blur:gaussian:sigma=2", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(out) in err and "No space left" in err and "earlier file is intact" in err
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.npy", "y.png"]  # no temporary


def test_documented_conversions_are_applied_and_alpha_is_noted(tmp_path, capsys):
    import imageio.v3 as iio

    from physinv.io import read_image

    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 128
    iio.imwrite(tmp_path / "rgba.png", rgba)
    np.save(tmp_path / "u16.npy", np.full((16, 16), 65535, np.uint16))
    np.save(tmp_path / "mask.npy", np.eye(16, dtype=bool))
    np.save(tmp_path / "half.npy", np.full((16, 16), 0.25, np.float16))
    assert float(read_image(tmp_path / "u16.npy").max()) == 1.0
    assert float(read_image(tmp_path / "mask.npy").sum()) == 16.0
    half = read_image(tmp_path / "half.npy")
    assert str(half.dtype) == "torch.float32" and float(half.max()) == 0.25
    assert read_image(tmp_path / "u16.npy", raw=True).max() \
        == 65535
    capsys.readouterr()
    assert main(["simulate", str(tmp_path / "rgba.png"), "--op", "identity", "--noise", "none",
                 "-o", str(tmp_path / "y.npy")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("note: ") and "alpha channel is dropped" in err and err.count("\n") == 1
    y = np.load(tmp_path / "y.npy")
    assert np.allclose(y, 0.2125)  # pure red, alpha ignored, then gray = 0.2125 R


def test_an_unwritable_folder_is_refused_naming_the_option(tmp_path, capsys, monkeypatch):
    import physinv.paths as paths

    monkeypatch.setattr(paths.os, "access", lambda path, mode: False)
    for argv, option in ((["simulate", "camera", "-o", str(tmp_path / "y.npy")], "-o/--output"),
                         (["bench", "--json", str(tmp_path / "b.json")], "--json"),
                         (["train", "--task", "denoise", "--net", "fourier-radial", "--n-train",
                           "1", "--out", str(tmp_path / "run")], "--out")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {option}: ") and "permission denied" in err, err
    assert list(tmp_path.iterdir()) == []
