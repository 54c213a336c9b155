"""Process settings that make large CPU tensors cheap: freed memory kept for reuse.

PyTorch on a CPU allocates every tensor through the C library's ``malloc``. glibc returns a
freed block of more than its (dynamic) mmap threshold to the system at once and trims the top
of its heap beyond twice that, so an iterative solve that creates and frees the same few
megabyte-sized temporaries at every step pays for fresh pages each time: on a 256² image with
32 filter channels (8 MB per temporary) the page faults took 60–75 % of a learned-regulariser
gradient on this project's 2-core machine (measured: 87 → 33 ms per ∇R, one thread). The cure
is the one the caching allocators of PyTorch's GPU path and of jemalloc / tcmalloc apply —
keep freed memory in the process — set here through glibc's ``mallopt``:

- ``M_MMAP_THRESHOLD`` = 32 MiB (glibc's largest): blocks below it come from the heap;
- ``M_TRIM_THRESHOLD`` = 1 GiB: the heap is not trimmed until that much is free at its top.

The cost: the process keeps up to its peak heap (plus 1 GiB) between steps instead of giving
it back. The ``physinv`` command and the benchmark scripts call ``keep_freed_memory()`` at
start; a program that uses physinv as a library may call it once itself. Elsewhere than glibc
(macOS, Windows, musl) it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024

_state = {"kept": False}


def keep_freed_memory() -> bool:
    """Keep freed memory in the process (glibc ``mallopt``); True when the setting took.

    Returns
    -------
    bool
        True on glibc once both thresholds are set (idempotent), False elsewhere.
    """
    if _state["kept"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl has no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and \
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    _state["kept"] = ok
    return ok


def freed_memory_kept() -> bool:
    """Whether ``keep_freed_memory`` has taken effect in this process (recorded with results)."""
    return _state["kept"]
