"""The CLI's help texts list what the registries hold (never typed again), filled in only when
help is shown, so that ``physinv --version`` does not import the solvers and networks."""

from __future__ import annotations

import re
import subprocess
import sys

from physinv.cli import main
from physinv.nets.registry import NETWORKS
from physinv.solvers.registry import METHODS


def _help(command: str, capsys) -> str:
    assert main([command, "--help"]) == 0
    return re.sub(r"\s+", " ", capsys.readouterr().out)  # the help is wrapped to the terminal


def test_reconstruct_help_lists_every_registered_method_in_registry_order(capsys):
    text = _help("reconstruct", capsys)
    assert " | ".join(METHODS) in text
    assert "{methods}" not in text


def test_train_help_lists_every_registered_network(capsys):
    text = _help("train", capsys)
    listed = text.split("(physinv nets):")[1].split(".")[0]
    assert [n.strip() for n in listed.split(",")] == list(NETWORKS)
    assert "{networks}" not in text


def test_help_can_be_shown_twice(capsys):
    assert _help("train", capsys) == _help("train", capsys)


def test_version_does_not_import_the_registries():
    code = ("import sys; from physinv.cli import main; main(['--version']); "
            "print(sorted(m for m in sys.modules if m.startswith(('physinv.nets', "
            "'physinv.solvers'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[]"
