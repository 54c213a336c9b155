"""Sample images that ship with scikit-image, by name, as ``(1, C, H, W)`` float32 tensors.

Grayscale conversion follows the benchmark protocol: colour → ``skimage.color.rgb2gray`` of the
[0, 1] image, uint8 → /255. Nothing is downloaded: only images bundled in scikit-image's wheel.

>>> from physinv.data import images
>>> tuple(images.load("camera").shape)
(1, 1, 512, 512)
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import InputError

TRAINING_POOL = ("camera", "moon", "brick", "grass", "gravel", "coins", "clock", "text",
                 "page", "astronaut", "coffee", "chelsea")
TEST_SET = ("rocket", "immunohistochemistry", "hubble_deep_field", "retina")
EXTRA = ("cat", "cell", "microaneurysms", "horse", "shepp_logan_phantom")
NAMES = TRAINING_POOL + TEST_SET + EXTRA


def _raw(name: str) -> np.ndarray:
    import skimage.data

    if name not in NAMES:
        raise InputError("image", name, f"a bundled image name ({', '.join(NAMES)}) or a path")
    return getattr(skimage.data, name)()


def load_array(name: str, gray: bool = True) -> np.ndarray:
    """The bundled image as a float64 array in [0, 1]: (H, W) if gray, else (H, W[, 3]).

    Integer images are divided by 255 (the bundled ones are 8-bit), booleans become 0 / 1,
    an alpha channel is dropped, and with ``gray`` a colour image goes through
    ``skimage.color.rgb2gray``.

    Parameters
    ----------
    name : str
        One of ``NAMES`` (``TRAINING_POOL``, ``TEST_SET`` and ``EXTRA``).
    gray : bool, default True
        Convert colour images to one channel.

    Returns
    -------
    numpy.ndarray, float64
        (H, W), or (H, W, 3) for a colour image with ``gray=False``.

    Raises
    ------
    InputError
        For a name that is not bundled.

    Examples
    --------
    >>> load_array("astronaut", gray=False).shape, load_array("astronaut").shape
    ((512, 512, 3), (512, 512))
    """
    arr = _raw(name)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    elif np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64) / 255.0
    else:
        arr = arr.astype(np.float64)
    if arr.ndim == 3:
        arr = arr[..., :3]
        if gray:
            from skimage.color import rgb2gray

            arr = rgb2gray(arr)
    return arr


def load(name: str, gray: bool = True, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The bundled image ``name`` as a ``(1, C, H, W)`` tensor in [0, 1].

    Parameters
    ----------
    name : str
        One of ``NAMES``.
    gray : bool, default True
        Convert colour images to one channel (see ``load_array``).
    dtype : torch.dtype, default torch.float32
        The tensor's dtype.

    Returns
    -------
    torch.Tensor, shape (1, C, H, W)
        C = 1, or 3 for a colour image with ``gray=False``.

    Raises
    ------
    InputError
        For a name that is not bundled.

    Examples
    --------
    >>> tuple(load("astronaut", gray=False).shape)
    (1, 3, 512, 512)
    """
    arr = load_array(name, gray)
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(dtype)
    return t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None].contiguous()
