"""Size limits checked before anything is allocated: every size-like option of the CLI is
compared, through a documented estimate of the bytes it would take, with the memory the machine
has (``errors.check_memory``), so an absurd size is refused at once instead of swapping or
hanging.

Layer: the ground floor, standard library only, so that the CLI refuses without importing
torch. The formulas (bytes):

- training crops: ``n × 128 × 128 × 16`` (float32, a float64 copy, float32 measurements);
- an epoch's draw order: ``samples × 16`` (two int64 per sample);
- a training batch: ``batch × 128 × 128 × 4 × 64`` (float32 and 64 activations per pixel);
- an image of ``H × W`` to reconstruct or simulate: ``H × W × 8 × 16`` (float64, 16 copies);
- a projection operator: ``angles × H × W × 8 × 4`` (one rotated float64 image per angle and
  its gradient).

Counts that cost time rather than memory have caps (``check_count``): ``--epochs`` at most
``MAX_EPOCHS`` (10 000; the ``long`` preset trains 200) and ``--n-iter`` at most
``MAX_ITERATIONS`` (100 000; physinv's iterative solvers converge within a few thousand, and
10⁵ TV iterations on a 512×512 image already take minutes on a laptop CPU).
"""

from __future__ import annotations

from physinv.errors import InputError, check_int, check_memory

IMAGE_BYTES = 8 * 16
TEST_IMAGES = 4  # len(physinv.data.images.TEST_SET), checked by tests/test_catalogue.py
ANGLE_BYTES = 36  # cached weights per pixel × angle (physinv.operators.radon)
MAX_EPOCHS = 10_000
MAX_ITERATIONS = 100_000


CROP_BYTES = 128 * 128 * 16  # a 128×128 crop: float32, its float64 copy, its float32 copy
SAMPLE_BYTES = 16  # per sample drawn in an epoch: its index and its symmetry (int64 each)
BATCH_BYTES = 128 * 128 * 4 * 64  # per image of a batch: float32, × 64 for the activations


def check_sizes(n_train: int | None, samples_per_epoch: int | None = None,
                batch_size: int | None = None) -> None:
    """Refuse sizes whose memory cannot be had, before anything is allocated.

    The estimates (``errors.check_memory`` compares them with the available memory):
    ``n_train × 128 × 128 × 16`` bytes for the crops (float32, a float64 copy, float32
    measurements), ``samples_per_epoch × 16`` bytes for an epoch's draw order (two int64 per
    sample), ``batch_size × 128 × 128 × 4 × 64`` bytes for a batch and its activations.
    """
    if n_train is not None:
        n_train = check_int("--n-train", n_train)
        check_memory("--n-train", n_train, n_train * CROP_BYTES, "n × 128 × 128 × 16 bytes")
    if samples_per_epoch is not None:
        samples_per_epoch = check_int("--samples-per-epoch", samples_per_epoch)
        check_memory("--samples-per-epoch", samples_per_epoch,
                     samples_per_epoch * SAMPLE_BYTES, "samples × 16 bytes")
    if batch_size is not None:
        batch_size = check_int("--batch-size", batch_size)
        check_memory("--batch-size", batch_size, batch_size * BATCH_BYTES,
                     "batch × 128 × 128 × 4 × 64 bytes")


def check_image_size(argument: str, value: object, shape) -> None:
    """Refuse an image of ``shape`` (H, W) whose working memory, ``H × W × 8 × 16`` bytes,
    is above what is available."""
    h, w = (int(s) for s in shape[-2:])
    check_memory(argument, value, h * w * IMAGE_BYTES, f"{h} × {w} × 8 × 16 bytes")


def check_angles(argument: str, n_angles: int, shape, cache_bytes: int = 0) -> None:
    """Refuse a projection with ``n_angles`` over ``shape`` images whose memory is above what
    is available: the sinogram and its indices, ``angles × (H + W + 1) × 64`` bytes, plus the
    matrix-free projector's cached weights, ``min(angles × H × W × 36, cache_bytes)`` (above
    its budget the projector streams its weights per block of angles)."""
    h, w = (int(s) for s in shape[-2:])
    cached = min(n_angles * h * w * ANGLE_BYTES, int(cache_bytes))
    check_memory(argument, n_angles, n_angles * (h + w + 1) * 64 + cached,
                 f"{n_angles} × {h + w + 1} × 64 bytes + min({n_angles} × {h} × {w} × "
                 f"{ANGLE_BYTES}, {int(cache_bytes)}) bytes")


def check_count(argument: str, value: int, cap: int, minimum: int = 1) -> int:
    """An integer option between ``minimum`` and ``cap``, refused at once otherwise.

    Parameters
    ----------
    argument : str
        The option, e.g. ``--epochs``.
    value : int
        Its value.
    cap : int
        The largest value accepted (``MAX_EPOCHS``, ``MAX_ITERATIONS``).
    minimum : int, default 1
        The smallest value accepted.

    Returns
    -------
    int

    Raises
    ------
    InputError
        For a non-integer, a value below ``minimum`` or above ``cap``.

    Examples
    --------
    >>> check_count("--epochs", 10**9, MAX_EPOCHS)
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: --epochs: got 1000000000, expected at most 10,000 (a cap on the ...
    """
    value = check_int(argument, value, minimum=minimum)
    if value > cap:
        raise InputError(argument, value, f"at most {cap:,} (a cap on the run time; see "
                         "physinv.limits)")
    return value
