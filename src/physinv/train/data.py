"""Training data: clean images and the physics that measures them, or fixed measured pairs.

With ``patch=P`` (and ``operator_for``, shape → the same physics on that grid, e.g.
``task.operator``) ``Measurements`` trains on random P×P crops measured through the P×P
operator — several times cheaper per step for convolutional networks, and the trained network
moves to any size with ``for_operator``. Validation uses the central P×P crops.

``Measurements(clean, op, noise)`` makes pairs (g, f) on the fly: each epoch every clean image is
drawn again under a random symmetry of the square (flips, quarter turns — valid for any
operator, since g is simulated from the transformed image) and fresh noise, all from explicit
seeds, so training is reproducible and never sees the same noise twice. ``Pairs(ys, xs)``
holds fixed measured / true pairs (no augmentation: the operator need not commute with it).
Both split into training and validation parts; validation measurements are fixed.

Every training sample draws its crop, symmetry and noise from its own generator, seeded by
(seed, epoch, position in the epoch): what sample j of epoch e looks like does not depend on the
batch size, on which process computes it (``rank``/``world`` under torch.distributed) or on
where a resumed run starts (``start``), so a resumed or data-parallel run sees exactly the data
of a single uninterrupted one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from physinv.errors import InputError, check_int
from physinv.noise import NoiseModel, make_generator
from physinv.operators.base import LinearOperator


def _check_samples(name: str, t: torch.Tensor, shape) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dim() != 4 or tuple(t.shape[-2:]) != tuple(shape):
        got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise InputError(name, got, f"a (N, C, {shape[0]}, {shape[1]}) tensor")
    bad = (~torch.isfinite(t)).flatten(1).any(1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise InputError(name, f"sample {i}", "finite values (it holds NaN or inf)")
    return t


class Batch(NamedTuple):
    """One global batch of an epoch: its index, this process's share (``y``, ``x``; ``None``
    when the share is empty) and the global batch size the loss is averaged over."""

    index: int
    y: torch.Tensor | None
    x: torch.Tensor | None
    n_global: int


def _plan(n: int, epoch: int, n_samples: int, seed: int, n_sym: int):
    """The epoch's sample order (a seeded permutation, repeated) and symmetries."""
    gen = make_generator(seed * 1_000_003 + epoch)
    order = torch.cat([torch.randperm(n, generator=gen)
                       for _ in range(math.ceil(n_samples / n))])[:n_samples]
    return order, torch.randint(0, n_sym, (n_samples,), generator=gen)


def _sample_generator(seed: int, epoch: int, j: int) -> torch.Generator:
    return make_generator((seed * 1_000_003 + epoch) * 1_000_033 + j)


def _shares(n_samples: int, batch_size: int, start: int, rank: int, world: int):
    """(batch index, global positions, this rank's positions) from batch ``start`` on."""
    for b in range(start, math.ceil(n_samples / batch_size)):
        positions = list(range(b * batch_size, min((b + 1) * batch_size, n_samples)))
        yield b, positions, positions[rank::world]


def fingerprint(*tensors: torch.Tensor | None) -> str:
    """SHA-256 of the tensors' float64 values (names the data a run was trained on)."""
    digest = hashlib.sha256()
    for t in tensors:
        if t is not None:
            digest.update(t.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
    return digest.hexdigest()


def _d4(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 symmetries of the square (k in 0..7)."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


class Measurements:
    """Clean images (N, C, H, W) + operator + noise → on-the-fly (g, f) pairs.

    .. math::

        g = n(H T f),   T a random symmetry of the square,  n a noise draw

    each sample drawn from its own generator, seeded by (seed, epoch, position in the epoch).

    Parameters
    ----------
    clean : torch.Tensor, shape (N, C, *op.in_shape)
        The clean images f, finite, in the image's units (e.g. [0, 1] intensities).
    op : LinearOperator
        The forward operator H on the full image grid.
    noise : NoiseModel
        The noise model n, e.g. ``physinv.noise.Gaussian(0.01)``.
    augment : bool, default True
        Draw one of the 8 symmetries of the square (flips, quarter turns) per sample; ignored
        (no augmentation) when the operator's input grid is not square.
    patch : int, optional
        Train on random ``patch``×``patch`` crops (≥ 8, at most the smaller image side)
        measured through ``operator_for((patch, patch))``; validation uses central crops.
    operator_for : callable, optional
        ``shape -> LinearOperator``, the same physics on another grid (e.g.
        ``task.operator``); required with ``patch``.

    Raises
    ------
    InputError
        For an ``op`` that is not a ``LinearOperator``, a ``noise`` that is not a noise model,
        ``clean`` that is not a finite (N, C, *op.in_shape) tensor, or a bad ``patch``.

    Examples
    --------
    >>> import torch
    >>> from physinv.noise import Gaussian
    >>> from physinv.operators import Convolution, psf
    >>> op = Convolution(psf.gaussian(1.0, 5), (16, 16))
    >>> data = Measurements(torch.rand(4, 1, 16, 16), op, Gaussian(0.01))
    >>> batch = next(data.batches(epoch=0, n_samples=4, batch_size=3, seed=0))
    >>> batch.index, tuple(batch.y.shape), batch.n_global
    (0, (3, 1, 16, 16), 3)
    """

    supervised = True

    def __init__(self, clean: torch.Tensor, op: LinearOperator, noise: NoiseModel,
                 augment: bool = True, patch: int | None = None,
                 operator_for: Callable | None = None):
        if not isinstance(op, LinearOperator):
            raise InputError("op", op, "a physinv.operators.LinearOperator")
        if not isinstance(noise, NoiseModel):
            raise InputError("noise", noise, "a physinv.noise model, e.g. Gaussian(0.01)")
        self.clean = _check_samples("clean", clean, op.in_shape)
        self.noise = noise
        self.patch = patch
        self.operator_for = operator_for
        if patch is not None:
            check_int("patch", patch, minimum=8)
            if patch > min(op.in_shape):
                raise InputError("patch", patch, f"at most the image size {min(op.in_shape)}")
            if operator_for is None:
                raise InputError("operator_for", None, "a function shape → operator (the same "
                                 "physics on a patch, e.g. task.operator) when patch is given")
            op = operator_for((patch, patch))
        self.op = op
        square = op.in_shape[0] == op.in_shape[1]
        self.augment = augment and square

    def __len__(self) -> int:
        return self.clean.shape[0]

    def subset(self, index) -> Measurements:
        """The same data (operator, noise, patch) on the images ``clean[index]``.

        Parameters
        ----------
        index : slice, list of int or torch.Tensor of int
            Which images to keep (a 1-D selection: the result keeps the N axis).

        Returns
        -------
        Measurements
            A shallow copy sharing everything but ``clean``.
        """
        new = Measurements.__new__(Measurements)
        new.__dict__.update(self.__dict__)
        new.clean = self.clean[index]
        return new

    def take(self, n: int) -> Measurements:
        """The first ``n`` images (an error if there are fewer)."""
        n = check_int("n_train", n)
        if n > len(self):
            raise InputError("n_train", n, f"at most {len(self)}, the images available")
        return self.subset(slice(0, n))

    def measure(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Simulate the measurement g = n(H x) of images ``x``, without gradients.

        Parameters
        ----------
        x : torch.Tensor, shape (B, C, *self.op.in_shape)
            Images on the operator's grid (the patch grid with ``patch``); not checked.
        generator : torch.Generator
            The source of the noise draw.

        Returns
        -------
        torch.Tensor, shape (B, C, *self.op.out_shape)
            The noisy measurement.
        """
        with torch.no_grad():
            return self.noise(self.op(x, check=False), generator)

    def batches(self, epoch: int, n_samples: int, batch_size: int, seed: int, start: int = 0,
                rank: int = 0, world: int = 1):
        """The epoch's ``n_samples`` (g, f) pairs as ``Batch``es of ``batch_size``, from batch
        ``start`` on, each reduced to the share of process ``rank`` of ``world``."""
        order, sym = _plan(len(self), epoch, n_samples, seed, 8 if self.augment else 1)
        for b, positions, mine in _shares(n_samples, batch_size, start, rank, world):
            if not mine:
                yield Batch(b, None, None, len(positions))
                continue
            gens = [_sample_generator(seed, epoch, j) for j in mine]
            x = torch.cat([_d4(self._crop(self.clean[int(order[j]): int(order[j]) + 1], g),
                               int(sym[j])) for j, g in zip(mine, gens, strict=True)])
            with torch.no_grad():
                clean = self.op(x, check=False)
                y = torch.cat([self.noise(clean[i: i + 1], g) for i, g in enumerate(gens)])
            yield Batch(b, y, x, len(positions))

    def describe(self) -> dict:
        """What the data is, for a checkpoint's configuration (with a fingerprint)."""
        return {"kind": "measurements", "n": len(self), "shape": list(self.clean.shape[1:]),
                "noise": self.noise.spec(), "augment": self.augment, "patch": self.patch,
                "sha256": fingerprint(self.clean)}

    def _crop(self, image: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        """A ``patch``-sized crop (random with ``gen``, central without); the image if none."""
        if self.patch is None:
            return image
        h, w = image.shape[-2:]
        if gen is None:
            r, c = (h - self.patch) // 2, (w - self.patch) // 2
        else:
            r = int(torch.randint(0, h - self.patch + 1, (1,), generator=gen))
            c = int(torch.randint(0, w - self.patch + 1, (1,), generator=gen))
        return image[..., r: r + self.patch, c: c + self.patch]

    def fixed(self, seed: int):
        """All images (central patches) measured once with noise from ``seed`` (validation)."""
        x = self._crop(self.clean, None)
        return self.measure(x, make_generator(seed)), x


class Pairs:
    """Fixed measured / true pairs (ys: (N, C, *op.out_shape), xs: (N, C, *op.in_shape)).

    No augmentation and no new noise: every epoch draws the same pairs in a seeded order.

    Parameters
    ----------
    ys : torch.Tensor, shape (N, C, *op.out_shape)
        The measurements g (checked finite and of the operator's output shape when that
        shape is 2-D).
    xs : torch.Tensor, shape (N, C, *op.in_shape), or None
        The true images f, as many as ``ys``; None for measurements without ground truth
        (then ``supervised`` is False: only losses that need no truth apply).
    op : LinearOperator
        The forward operator H that measured ``ys``.

    Raises
    ------
    InputError
        For an ``op`` that is not a ``LinearOperator``, or tensors of the wrong shape, count
        or with non-finite values.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Identity
    >>> xs = torch.rand(4, 1, 16, 16)
    >>> pairs = Pairs(xs + 0.01, xs, Identity((16, 16)))
    >>> len(pairs.take(3)), pairs.supervised, pairs.describe()["kind"]
    (3, True, 'pairs')
    """

    def __init__(self, ys: torch.Tensor, xs: torch.Tensor | None, op: LinearOperator):
        if not isinstance(op, LinearOperator):
            raise InputError("op", op, "a physinv.operators.LinearOperator")
        self.ys = _check_samples("ys", ys, op.out_shape[-2:]) if len(op.out_shape) == 2 \
            else ys
        self.xs = None if xs is None else _check_samples("xs", xs, op.in_shape)
        if self.xs is not None and self.xs.shape[0] != self.ys.shape[0]:
            raise InputError("xs", tuple(self.xs.shape),
                             f"as many samples as ys ({self.ys.shape[0]})")
        self.op = op
        self.supervised = self.xs is not None

    def __len__(self) -> int:
        return self.ys.shape[0]

    def subset(self, index) -> Pairs:
        """The pairs ``ys[index]``, ``xs[index]`` with the same operator.

        Parameters
        ----------
        index : slice, list of int or torch.Tensor of int
            Which pairs to keep (a 1-D selection).

        Returns
        -------
        Pairs
        """
        return Pairs(self.ys[index], None if self.xs is None else self.xs[index], self.op)

    def take(self, n: int) -> Pairs:
        """The first ``n`` pairs.

        Parameters
        ----------
        n : int
            How many, at most ``len(self)``.

        Returns
        -------
        Pairs

        Raises
        ------
        InputError
            Named ``n_train``, for a non-integer ``n`` or more than there are.
        """
        n = check_int("n_train", n)
        if n > len(self):
            raise InputError("n_train", n, f"at most {len(self)}, the pairs available")
        return self.subset(slice(0, n))

    def batches(self, epoch: int, n_samples: int, batch_size: int, seed: int, start: int = 0,
                rank: int = 0, world: int = 1):
        """As ``Measurements.batches`` (fixed pairs: no symmetries, no new noise)."""
        order, _ = _plan(len(self), epoch, n_samples, seed, 1)
        for b, positions, mine in _shares(n_samples, batch_size, start, rank, world):
            if not mine:
                yield Batch(b, None, None, len(positions))
                continue
            idx = order[mine]
            yield Batch(b, self.ys[idx], None if self.xs is None else self.xs[idx],
                        len(positions))

    def describe(self) -> dict:
        """What the data is, for a checkpoint's configuration (with a fingerprint).

        Returns
        -------
        dict
            ``kind`` ("pairs"), ``n``, ``shape`` (of one measurement, (C, *out_shape)),
            ``supervised`` and ``sha256`` (``fingerprint(ys, xs)``).
        """
        return {"kind": "pairs", "n": len(self), "shape": list(self.ys.shape[1:]),
                "supervised": self.supervised, "sha256": fingerprint(self.ys, self.xs)}

    def fixed(self, seed: int):
        """The pairs themselves, for validation (as ``Measurements.fixed``).

        Parameters
        ----------
        seed : int
            Ignored: fixed pairs carry their noise.

        Returns
        -------
        (ys, xs)
            The measurements and the true images (None without ground truth).
        """
        return self.ys, self.xs


def split(data, val_fraction: float, seed: int):
    """(training part, validation part, note). With one sample, validation is that sample
    under another noise draw (``Measurements``) — a guard against fitting noise only."""
    n = len(data)
    if not 0 <= val_fraction < 1:
        raise InputError("val_fraction", val_fraction, "a fraction in [0, 1)")
    n_val = min(n - 1, max(1, round(val_fraction * n))) if val_fraction > 0 else 0
    if n_val == 0:
        return data, data, "validation on the training images (other noise draws)"
    perm = torch.randperm(n, generator=make_generator(seed))
    return (data.subset(perm[n_val:]), data.subset(perm[:n_val]),
            f"{n - n_val} training / {n_val} validation images")
