"""One entry point for "an image the user names": a bundled name or a file path → tensor."""

from __future__ import annotations

from pathlib import Path

import torch

from physinv.data import images
from physinv.errors import InputError, promote_4d
from physinv.io import read_image


def as_tensor(x, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Promote an (H, W), (C, H, W) or (B, C, H, W) array / tensor to ``(B, C, H, W)``."""
    t = promote_4d("x", x)
    if not t.is_floating_point():
        t = t.to(torch.float32)
    return t.to(dtype) if dtype is not None else t


def load_image(name_or_path: str, gray: bool = True) -> torch.Tensor:
    """A bundled image name (see ``images.NAMES``) or a file path → ``(1, C, H, W)`` tensor."""
    text = str(name_or_path)
    if text in images.NAMES:
        return images.load(text, gray=gray)
    path = Path(text)
    if path.suffix == "" and not path.exists():
        raise InputError("image", text, f"a bundled image name ({', '.join(images.NAMES)}) "
                         "or an image file path")
    return read_image(path, as_gray=gray)[None]
