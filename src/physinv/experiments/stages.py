"""Resumable, named stages of a long run (the demo): each finished stage's JSON result is
kept under ``<out>/stages/<name>.json`` (written atomically), so an interrupted run starts
again at the first unfinished stage; the run's configuration is kept in
``<out>/stages/config.json`` and a rerun with another configuration is refused with the list
of differences instead of mixing results of two configurations.

>>> import tempfile
>>> runner = Stages(tempfile.mkdtemp(), {"seed": 0}, ["a", "b"])
>>> runner.run("a", lambda: {"psnr": 30.0})
{'psnr': 30.0}
>>> runner.run("a", lambda: {"psnr": -1.0})  # finished before: not run again
{'psnr': 30.0}
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from physinv.errors import InputError
from physinv.io import write_json
from physinv.train.checkpoint import differences


class Stages:
    """Runs named stages once per configuration in ``out``; see the module docstring.

    Parameters
    ----------
    out : str or Path
        The run's folder (created if needed); results go to ``out/stages/``.
    config : dict
        The run's configuration, JSON values: written to ``stages/config.json`` the first
        time, compared with it on every later run.
    names : list of str
        Every stage of the run, in order.
    selected : list of str, optional
        The stages this invocation should run (default: all); ``pending`` lists those.

    Raises
    ------
    InputError
        For a selected name that is not a stage, an ``out`` that is a file or is not
        writable, an unreadable ``stages/config.json``, or a configuration that differs from
        the saved one (with the list of differences).
    """

    def __init__(self, out, config: dict, names: list[str], selected: list[str] | None = None):
        self.out = Path(out)
        self.names = list(names)
        unknown = [s for s in selected or [] if s not in self.names]
        if unknown:
            raise InputError("stage", ", ".join(unknown), f"one of {', '.join(self.names)}")
        self.selected = list(selected) if selected else list(self.names)
        self.config = json.loads(json.dumps(config))
        self.folder = self.out / "stages"
        if self.out.exists() and not self.out.is_dir():
            raise InputError("out", str(self.out), "a folder (it is a file)")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError("out", str(self.out), "a writable folder", str(err)) from None
        if not os.access(self.folder, os.W_OK):
            raise InputError("out", str(self.out), "a writable folder")
        saved = self.folder / "config.json"
        if saved.exists():
            try:
                old = json.loads(saved.read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise InputError("out", str(saved), "a readable stages/config.json",
                                 str(err)) from None
            diffs = differences(old, self.config)
            if diffs:
                raise InputError("out", str(self.out), "the configuration of the run it holds "
                                 "(or a new folder)", "differs: " + "; ".join(diffs))
        else:
            write_json(saved, self.config)

    def done(self, name: str) -> bool:
        """Whether stage ``name`` has a saved result (``stages/<name>.json`` exists).

        Parameters
        ----------
        name : str
            A stage name (not checked).

        Returns
        -------
        bool
        """
        return (self.folder / f"{name}.json").exists()

    def load(self, name: str) -> dict:
        """The saved result of stage ``name``.

        Parameters
        ----------
        name : str
            A finished stage (see ``done``).

        Returns
        -------
        dict
            As read back from its JSON file.
        """
        return json.loads((self.folder / f"{name}.json").read_text())

    def run(self, name: str, work: Callable[[], dict]) -> dict:
        """The stage's result: loaded if it finished before, else ``work()`` saved.

        Parameters
        ----------
        name : str
            One of the stage names.
        work : callable
            ``work() -> dict`` of JSON values, the stage's computation.

        Returns
        -------
        dict
            The result as read back from ``stages/<name>.json`` (so a fresh result and a
            loaded one are the same JSON values).

        Raises
        ------
        InputError
            For an unknown stage name.
        """
        if name not in self.names:
            raise InputError("stage", name, f"one of {', '.join(self.names)}")
        if self.done(name):
            return self.load(name)
        write_json(self.folder / f"{name}.json", work())
        return self.load(name)

    def pending(self) -> list[str]:
        """The selected stages without a saved result, in order.

        Returns
        -------
        list of str
        """
        return [n for n in self.selected if not self.done(n)]
