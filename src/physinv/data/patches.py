"""The benchmark protocol's images: training crops and the public test set.

- ``training_crops(n)``: the first ``n`` of one fixed sequence of 128×128 crops (numpy seed 0),
  drawn round-robin over ``images.TRAINING_POOL`` — the same crops for every method.
- ``test_images()``: centre 256×256 crops of rocket, immunohistochemistry, hubble_deep_field and
  retina (retina first resized to 512×512 with anti-aliasing).
- ``folder_test_images(folder)``: one's own test images, prepared like the public set (centre
  256×256 crop of each file of a folder, gray, [0, 1]), named after the files.
- ``random_patches``: a reproducible patch sampler over any list of images, for training.
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.data import images
from physinv.errors import InputError, check_int


def training_crops(n: int, size: int = 128, seed: int = 0) -> torch.Tensor:
    """``(n, 1, size, size)`` float32 crops, round-robin over the training pool.

    Crop i comes from ``images.TRAINING_POOL[i % 12]`` (gray, [0, 1]) at a position drawn
    uniformly by ``numpy.random.default_rng(seed)``: the first ``n`` crops are the same
    whatever ``n``.

    Parameters
    ----------
    n : int
        Number of crops, ≥ 1.
    size : int, default 128
        Side of a crop in pixels, at most the smallest pool image's side.
    seed : int, default 0
        Seed of the crop positions.

    Returns
    -------
    torch.Tensor, shape (n, 1, size, size), float32

    Raises
    ------
    InputError
        For a non-positive ``n`` or ``size``, or a ``size`` larger than a pool image.

    Examples
    --------
    >>> crops = training_crops(3, size=16)
    >>> tuple(crops.shape), bool(crops.min() >= 0), bool(crops.max() <= 1)
    ((3, 1, 16, 16), True, True)
    """
    n = check_int("n", n)
    size = check_int("size", size)
    pool = [images.load_array(name) for name in images.TRAINING_POOL]
    small = min(min(a.shape) for a in pool)
    if size > small:
        raise InputError("size", size, f"at most {small} (the smallest pool image)")
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        arr = pool[i % len(pool)]
        r = int(rng.integers(0, arr.shape[0] - size + 1))
        c = int(rng.integers(0, arr.shape[1] - size + 1))
        crops.append(arr[r: r + size, c: c + size])
    return torch.from_numpy(np.stack(crops)[:, None].astype(np.float32))


def center_crop(arr: np.ndarray, size: int) -> np.ndarray:
    """The central ``size``×``size`` crop of an image array (a view).

    The crop starts at row ``(H − size) // 2`` and column ``(W − size) // 2``.

    Parameters
    ----------
    arr : numpy.ndarray, shape (H, W) or (H, W, ...)
        The image.
    size : int
        Side of the crop, at most min(H, W).

    Returns
    -------
    numpy.ndarray, shape (size, size, ...)

    Raises
    ------
    InputError
        For a ``size`` larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> center_crop(np.arange(36).reshape(6, 6), 2)
    array([[14, 15],
           [20, 21]])
    """
    h, w = arr.shape[:2]
    if size > min(h, w):
        raise InputError("size", size, f"at most the image size {min(h, w)}")
    r, c = (h - size) // 2, (w - size) // 2
    return arr[r: r + size, c: c + size]


def test_images(size: int = 256) -> dict[str, torch.Tensor]:
    """The public test set: name → ``(1, 1, size, size)`` float32 tensor.

    The centre crops of ``images.TEST_SET`` (gray, [0, 1]); retina is first resized to
    512×512 with anti-aliasing.

    Parameters
    ----------
    size : int, default 256
        Side of the crops, at most 427 (rocket's height).

    Returns
    -------
    dict of str to torch.Tensor
        rocket, immunohistochemistry, hubble_deep_field, retina (in that order), each
        (1, 1, size, size).

    Examples
    --------
    >>> {name: tuple(x.shape) for name, x in test_images(16).items()}["retina"]
    (1, 1, 16, 16)
    """
    from skimage.transform import resize

    out = {}
    for name in images.TEST_SET:
        arr = images.load_array(name)
        if name == "retina":
            arr = resize(arr, (512, 512), anti_aliasing=True)
        crop = center_crop(arr, size).astype(np.float32)
        out[name] = torch.from_numpy(np.ascontiguousarray(crop))[None, None]
    return out


def folder_test_images(folder, size: int = 256,
                       argument: str = "--test-images") -> dict[str, torch.Tensor]:
    """One's own test set: file stem → ``(1, 1, size, size)`` float32 tensor, in file-name order.

    Each image file of ``folder`` (``paths.image_folder_files``: PNG, JPEG, TIFF, NPY, at least
    ``size`` on each side) is read as ``io.read_image`` reads it (uint8 / uint16 → [0, 1];
    colour → gray by scikit-image's ``rgb2gray`` weights; an alpha channel dropped with a
    note), and its centre ``size``×``size`` crop is kept, as for the public set (no resizing).

    Parameters
    ----------
    folder : str or Path
        The folder of images.
    size : int, default 256
        Side of the crops.
    argument : str, default "--test-images"
        The option that named the folder, for the messages.

    Returns
    -------
    dict of str to torch.Tensor
        Sorted by file name (test image i gets the protocol's noise seed 1234 + i).

    Raises
    ------
    InputError
        As ``paths.image_folder_files``, and for a file whose pixels cannot be read or lie
        outside [0, 1] (float files are not rescaled: the protocol scores on a peak of 1).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> np.save(folder / "flat.npy", np.full((300, 260), 0.5, np.float32))
    >>> {k: tuple(v.shape) for k, v in folder_test_images(folder).items()}
    {'flat': (1, 1, 256, 256)}
    """
    from physinv.io import read_image
    from physinv.paths import image_folder_files

    out = {}
    for path in image_folder_files(folder, argument, size):
        arr = read_image(path, as_gray=True, argument=argument)[0].numpy()
        low, high = float(arr.min()), float(arr.max())
        if low < 0 or high > 1:
            raise InputError(argument, str(path), "pixel values in [0, 1] (the protocol's "
                             "peak is 1)", f"its values span [{low:.4g}, {high:.4g}]; scale "
                             "it, or save it as uint8 / uint16")
        crop = center_crop(arr, size).astype(np.float32)
        out[path.stem] = torch.from_numpy(np.ascontiguousarray(crop))[None, None]
    return out


def random_patches(stack: torch.Tensor, n: int, size: int,
                   generator: torch.Generator) -> torch.Tensor:
    """``n`` random ``size``×``size`` patches from a ``(B, C, H, W)`` stack (reproducible).

    Each patch takes a uniformly drawn image of the stack and a uniformly drawn position, all
    from ``generator``.

    Parameters
    ----------
    stack : torch.Tensor, shape (B, C, H, W)
        The images, H and W ≥ ``size``.
    n : int
        Number of patches, ≥ 1.
    size : int
        Side of a patch in pixels.
    generator : torch.Generator
        The source of the draws (a seeded one gives the same patches).

    Returns
    -------
    torch.Tensor, shape (n, C, size, size)
        Copies, the dtype of ``stack``.

    Raises
    ------
    InputError
        For a stack that is not 4-D or smaller than ``size``.

    Examples
    --------
    >>> import torch
    >>> stack = torch.rand(2, 1, 16, 16)
    >>> tuple(random_patches(stack, 5, 8, torch.Generator().manual_seed(0)).shape)
    (5, 1, 8, 8)
    """
    n, size = check_int("n", n), check_int("size", size)
    if stack.dim() != 4 or size > min(stack.shape[-2:]):
        raise InputError("stack", stack, f"a (B, C, H, W) stack with H, W >= {size}")
    b, _, h, w = stack.shape
    idx = torch.randint(0, b, (n,), generator=generator)
    rows = torch.randint(0, h - size + 1, (n,), generator=generator)
    cols = torch.randint(0, w - size + 1, (n,), generator=generator)
    return torch.stack([stack[i, :, r: r + size, c: c + size]
                        for i, r, c in zip(idx.tolist(), rows.tolist(), cols.tolist(),
                                           strict=True)])
