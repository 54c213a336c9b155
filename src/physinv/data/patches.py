"""The benchmark protocol's images: training crops and the public test set.

- ``training_crops(n)``: the first ``n`` of one fixed sequence of 128×128 crops (numpy seed 0),
  drawn round-robin over ``images.TRAINING_POOL`` — the same crops for every method.
- ``test_images()``: centre 256×256 crops of rocket, immunohistochemistry, hubble_deep_field and
  retina (retina first resized to 512×512 with anti-aliasing).
- ``random_patches``: a reproducible patch sampler over any list of images, for training.
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.data import images
from physinv.errors import InputError, check_int


def training_crops(n: int, size: int = 128, seed: int = 0) -> torch.Tensor:
    """``(n, 1, size, size)`` float32 crops, round-robin over the training pool."""
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
    h, w = arr.shape[:2]
    if size > min(h, w):
        raise InputError("size", size, f"at most the image size {min(h, w)}")
    r, c = (h - size) // 2, (w - size) // 2
    return arr[r: r + size, c: c + size]


def test_images(size: int = 256) -> dict[str, torch.Tensor]:
    """The public test set: name → ``(1, 1, size, size)`` float32 tensor."""
    from skimage.transform import resize

    out = {}
    for name in images.TEST_SET:
        arr = images.load_array(name)
        if name == "retina":
            arr = resize(arr, (512, 512), anti_aliasing=True)
        crop = center_crop(arr, size).astype(np.float32)
        out[name] = torch.from_numpy(np.ascontiguousarray(crop))[None, None]
    return out


def random_patches(stack: torch.Tensor, n: int, size: int,
                   generator: torch.Generator) -> torch.Tensor:
    """``n`` random ``size``×``size`` patches from a ``(B, C, H, W)`` stack (reproducible)."""
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
