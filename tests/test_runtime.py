import sys

from physinv.io import environment
from physinv.runtime import freed_memory_kept, keep_freed_memory


def test_keep_freed_memory_is_idempotent_and_recorded():
    first = keep_freed_memory()
    assert keep_freed_memory() is first
    assert freed_memory_kept() is first
    assert environment()["freed_memory_kept"] is first
    if sys.platform.startswith("linux") and "musl" not in sys.version.lower():
        assert first  # glibc: the thresholds are set
