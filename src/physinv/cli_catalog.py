"""What the CLI lists (registries' names, ``physinv info``, ``physinv nets``), kept on disk so
that listing needs no torch: the registries stay the one source of truth.

Building these lists imports torch and every solver and network (about 1–2 s on a small CPU),
while showing them is instant. ``cached(key, build)`` returns ``build()``'s JSON-able value and
keeps it in ``<cache>/cli-catalog.json`` under a fingerprint of the installed code — physinv's
version and the size and modification time of every ``.py`` file of the package — so any change
of a registry (a network added, a file edited) rebuilds the lists on the next call. The cache
folder is ``$PHYSINV_CACHE_DIR``, else ``$XDG_CACHE_HOME/physinv``, else ``~/.cache/physinv``;
``PHYSINV_NO_CACHE=1`` turns it off. A cache that cannot be read or written is ignored (the
lists are then built each time). The CLI enables it only when run as a command (``enable``),
so the library and in-process calls always see the live registries.

Layer: the ground floor, standard library only.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

FILE_NAME = "cli-catalog.json"
_STATE = {"enabled": False}


def enable(on: bool = True) -> None:
    """Use the cache in this process (the console script does; library calls do not)."""
    _STATE["enabled"] = on


def cache_dir() -> Path:
    """The cache folder: ``$PHYSINV_CACHE_DIR``, ``$XDG_CACHE_HOME/physinv`` or
    ``~/.cache/physinv``."""
    if os.environ.get("PHYSINV_CACHE_DIR"):
        return Path(os.environ["PHYSINV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "physinv"


def fingerprint() -> str:
    """physinv's version and (path, size, mtime) of every ``.py`` file of the package, hashed.

    Returns
    -------
    str
        A hex digest; it changes when any source file of the package changes.
    """
    import hashlib

    import physinv

    root = Path(physinv.__file__).parent
    digest = hashlib.sha256(physinv.__version__.encode())
    for folder, dirs, files in sorted(os.walk(root)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                stat = os.stat(os.path.join(folder, name))
                rel = os.path.relpath(os.path.join(folder, name), root)
                digest.update(f"{rel}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def _read(path: Path, stamp: str) -> dict:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(record, dict) or record.get("fingerprint") != stamp:
        return {}
    entries = record.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write(path: Path, stamp: str, entries: dict) -> None:
    from physinv.paths import file_mode

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cli-catalog.", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"fingerprint": stamp, "entries": entries}, handle)
            os.chmod(tmp, file_mode())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a read-only home: the lists are built again next time


def cached(key: str, build: Callable[[], object]):
    """``build()``, or its value kept from an earlier call of the same code.

    Parameters
    ----------
    key : str
        What is built, e.g. ``"lists"`` or ``"nets:deblur_gauss:0.01"``.
    build : callable
        Returns a JSON-able value (lists, dicts, strings, numbers). Errors it raises (e.g. an
        ``InputError`` for a bad task) pass through and nothing is kept.

    Returns
    -------
    object
        The value (as JSON gives it back: tuples become lists).

    Examples
    --------
    >>> cached("demo", lambda: [1, 2])  # the cache is off outside the CLI command
    [1, 2]
    """
    if not _STATE["enabled"] or os.environ.get("PHYSINV_NO_CACHE"):
        return build()
    stamp = fingerprint()
    path = cache_dir() / FILE_NAME
    entries = _read(path, stamp)
    if key in entries:
        return entries[key]
    value = json.loads(json.dumps(build()))
    entries = dict(_read(path, stamp), **{key: value})
    _write(path, stamp, entries)
    return value
