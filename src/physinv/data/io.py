"""Temporary alias of ``physinv.io`` during issue 13, to be removed: import from physinv.io."""

from physinv.io import (
    LOSSLESS,
    PREVIEW,
    READABLE,
    atomic_write,
    read_image,
    write_image,
    write_with_preview,
)

__all__ = ["LOSSLESS", "PREVIEW", "READABLE", "atomic_write", "read_image", "write_image",
           "write_with_preview"]
