"""Phantoms for tomography and tests: Shepp-Logan and random ellipses, in [0, 1].

>>> from physinv.data.phantoms import shepp_logan
>>> tuple(shepp_logan(64).shape)
(1, 1, 64, 64)
"""

from __future__ import annotations

import numpy as np
import torch

from physinv.errors import check_int


def shepp_logan(n: int = 256, circle: bool = True) -> torch.Tensor:
    """scikit-image's modified Shepp-Logan phantom resized to ``n``×``n`` (float32).

    With ``circle`` the values outside the inscribed disk (radius ``n // 2`` around
    ``n // 2``) are zeroed, as ``Radon(circle=True)`` expects.

    Parameters
    ----------
    n : int, default 256
        Side of the image in pixels, ≥ 4 (resized from 400×400 with anti-aliasing).
    circle : bool, default True
        Zero the pixels outside ``circle_mask(n)``.

    Returns
    -------
    torch.Tensor, shape (1, 1, n, n), float32
        Values in [0, 1].

    Examples
    --------
    >>> x = shepp_logan(16)
    >>> tuple(x.shape), float(x[0, 0, 0, 0])
    ((1, 1, 16, 16), 0.0)
    """
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    n = check_int("n", n, minimum=4)
    img = resize(shepp_logan_phantom(), (n, n), anti_aliasing=True)
    if circle:
        img = img * circle_mask(n)
    return torch.from_numpy(img.astype(np.float32))[None, None]


def circle_mask(n: int) -> np.ndarray:
    """Boolean disk of radius ``n // 2`` centred on pixel ``(n // 2, n // 2)``.

    .. math:: (i − c)² + (j − c)² ≤ c²,   c = ⌊n / 2⌋

    Parameters
    ----------
    n : int
        Side of the square in pixels.

    Returns
    -------
    numpy.ndarray of bool, shape (n, n)

    Examples
    --------
    >>> circle_mask(5).astype(int)
    array([[0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0]])
    """
    yy, xx = np.mgrid[:n, :n]
    c = n // 2
    return (xx - c) ** 2 + (yy - c) ** 2 <= c**2


def random_ellipses(n: int = 128, count: int = 10, seed: int = 0,
                    circle: bool = True) -> torch.Tensor:
    """Sum of ``count`` random ellipses (random centre, axes, angle, value), clipped to [0, 1].

    In coordinates scaled to [−1, 1] across the image, each ellipse has its centre uniform in
    [−0.6, 0.6]², semi-axes uniform in [0.05, 0.4], an angle uniform in [0, π) and a value
    uniform in [0.1, 0.6], all drawn by ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n : int, default 128
        Side of the image in pixels, ≥ 4.
    count : int, default 10
        Number of ellipses, ≥ 1.
    seed : int, default 0
        Seed of the draws.
    circle : bool, default True
        Zero the pixels outside ``circle_mask(n)``.

    Returns
    -------
    torch.Tensor, shape (1, 1, n, n), float32

    Examples
    --------
    >>> x = random_ellipses(16, count=3, seed=0)
    >>> tuple(x.shape), torch.equal(x, random_ellipses(16, count=3, seed=0))
    ((1, 1, 16, 16), True)
    """
    n = check_int("n", n, minimum=4)
    count = check_int("count", count)
    rng = np.random.default_rng(seed)
    yy, xx = (np.mgrid[:n, :n] - n / 2 + 0.5) / (n / 2)
    img = np.zeros((n, n))
    for _ in range(count):
        cy, cx = rng.uniform(-0.6, 0.6, 2)
        a, b = rng.uniform(0.05, 0.4, 2)
        phi = rng.uniform(0, np.pi)
        value = rng.uniform(0.1, 0.6)
        u = (xx - cx) * np.cos(phi) + (yy - cy) * np.sin(phi)
        v = -(xx - cx) * np.sin(phi) + (yy - cy) * np.cos(phi)
        img += value * ((u / a) ** 2 + (v / b) ** 2 <= 1)
    img = np.clip(img, 0, 1)
    if circle:
        img = img * circle_mask(n)
    return torch.from_numpy(img.astype(np.float32))[None, None]
