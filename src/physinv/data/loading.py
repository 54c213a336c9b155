"""One entry point for "an image the user names": a bundled name or a file path → tensor."""

from __future__ import annotations

from pathlib import Path

import torch

from physinv.data import images
from physinv.errors import InputError, promote_4d
from physinv.io import read_image


def as_tensor(x, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Promote an (H, W), (C, H, W) or (B, C, H, W) array / tensor to ``(B, C, H, W)``.

    Parameters
    ----------
    x : array_like or torch.Tensor
        The image(s), 2-D to 4-D.
    dtype : torch.dtype, optional
        Cast to this dtype; by default a floating dtype is kept and any other becomes
        float32 — without rescaling (uint8 values stay 0–255).

    Returns
    -------
    torch.Tensor, shape (B, C, H, W)

    Raises
    ------
    InputError
        For fewer than 2 or more than 4 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> t = as_tensor(np.full((16, 16), 255, dtype=np.uint8))
    >>> tuple(t.shape), t.dtype, float(t.max())
    ((1, 1, 16, 16), torch.float32, 255.0)
    """
    t = promote_4d("x", x)
    if not t.is_floating_point():
        t = t.to(torch.float32)
    return t.to(dtype) if dtype is not None else t


def load_image(name_or_path: str, gray: bool = True) -> torch.Tensor:
    """A bundled image name (see ``images.NAMES``) or a file path → ``(1, C, H, W)`` tensor.

    A name is loaded with ``images.load``, anything else read with ``read_image`` (integer
    files scaled to [0, 1], float files unchanged).

    Parameters
    ----------
    name_or_path : str or Path
        A bundled image name, or an image file (PNG, JPEG, TIFF, NPY).
    gray : bool, default True
        Convert colour images to one channel (for files too).

    Returns
    -------
    torch.Tensor, shape (1, C, H, W)
        float32 (float64 for a float64 file).

    Raises
    ------
    InputError
        For a text without suffix that is neither a bundled name nor an existing file, or a
        file ``read_image`` refuses.

    Examples
    --------
    >>> tuple(load_image("camera").shape)
    (1, 1, 512, 512)
    """
    text = str(name_or_path)
    if text in images.NAMES:
        return images.load(text, gray=gray)
    path = Path(text)
    if path.suffix == "" and not path.exists():
        raise InputError("image", text, f"a bundled image name ({', '.join(images.NAMES)}) "
                         "or an image file path")
    return read_image(path, as_gray=gray, argument="image")[None]
