"""Paths before any work, and who may write where: output paths checked up front (naming the
option the user typed), the permission bits of new files (the umask's, as ``open()``), and the
advisory lock that keeps one writer per run folder.

Layer: the ground floor, standard library only (``physinv.errors`` aside), so that the CLI can
refuse a bad path without importing NumPy or torch. ``physinv.io`` re-exports these names.
"""

from __future__ import annotations

import os
from pathlib import Path

from physinv.errors import InputError

READABLE = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy")
LOSSLESS = (".npy", ".tif", ".tiff")
PREVIEW = (".png", ".jpg", ".jpeg")


def file_mode() -> int:
    """The permission bits ``open()`` gives a new file: 0o666 without the process's umask
    (0o644 under umask 022). Folders physinv creates get 0o777 without it (0o755)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def check_output(argument: str, path, *, folder: bool = False, create: bool = False) -> Path:
    """Refuse an output path before any work: ``argument`` (the CLI option, e.g.
    ``-o/--output``) and the path as given are named in the ``InputError``.

    A file (``folder=False``): not an existing folder; its folder exists (or, with ``create``,
    can be created under the nearest existing one), is a folder, and is writable. A folder
    (``folder=True``): not an existing file; it, or the nearest existing parent it will be
    created under, is a writable folder.

    Parameters
    ----------
    argument : str
        The option's name as the user typed it.
    path : str or Path
        The output path.
    folder : bool, default False
        The output is a folder (a run folder, the demo's), not a file.
    create : bool, default False
        Missing parent folders will be created (always so for ``folder=True``).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> (base / "a_file").write_text("x")
    1
    >>> check_output("-o/--output", base / "a_file" / "y.npy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: -o/--output: got '.../a_file/y.npy', expected a path in a folder ...
    """
    path = Path(path)
    shown = str(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise InputError(argument, shown, "a folder", "it is an existing file")
        if path.is_dir():
            if not os.access(path, os.W_OK | os.X_OK):
                raise InputError(argument, shown, "a writable folder", "permission denied")
            return path
        create = True
    elif path.is_dir():
        raise InputError(argument, shown, "a file path", "it is an existing folder")
    parent = path.parent if str(path.parent) else Path(".")
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(argument, shown, "a path in a folder",
                         f"{ancestor} is a file, not a folder")
    if ancestor != parent and not create:
        raise InputError(argument, shown, "a path in an existing folder",
                         f"folder {parent} does not exist")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(argument, shown, "a path in a writable folder",
                         f"permission denied in {ancestor}")
    return path


def make_folder(path) -> Path:
    """``path`` and its missing parents created as folders with the umask's mode (0o755
    under umask 022, as ``mkdir``); an existing folder is left as it is."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


LOCK_NAME = "physinv.lock"
_LOCKS: dict[str, int] = {}


def lock_folder(folder, argument: str = "--out", what: str = "a run") -> Path:
    """Take the advisory lock of a run folder: one writer per folder.

    The lock is ``fcntl.flock`` on ``folder/physinv.lock``, which holds the pid of its owner.
    The kernel drops it when the owner dies, so a lock file left by a killed process is stale
    and simply taken over (``--resume`` after a crash works); a live owner makes this an
    ``InputError`` that names ``argument``, the folder and the owner's pid. Taking a lock this
    process holds already is a no-op; ``unlock_folder`` (or the end of the process) releases
    it and removes the file.

    Parameters
    ----------
    folder : str or Path
        An existing folder.
    argument : str, default "--out"
        The option that named the folder, for the error message.
    what : str
        What the owner does, written into the lock file for people who look.

    Returns
    -------
    Path
        The lock file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> lock = lock_folder(folder)
    >>> int(lock.read_text().split()[0]) == os.getpid()
    True
    >>> unlock_folder(folder); lock.exists()
    False
    """
    import atexit
    import fcntl

    folder = Path(folder)
    key = str(folder.resolve())
    path = folder / LOCK_NAME
    if key in _LOCKS:
        return path
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.read(fd, 200).decode(errors="replace").split()
            os.close(fd)
            pid = owner[0] if owner else "unknown"
            raise InputError(argument, str(folder), "a folder no other physinv process is "
                             "writing to", f"process {pid} holds its lock {path}; wait for "
                             "it to end or choose another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # released and removed between our open and our flock
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {what}\n".encode())
    if not _LOCKS:
        atexit.register(_unlock_all)
    _LOCKS[key] = fd
    return path


def unlock_folder(folder) -> None:
    """Release the lock ``lock_folder`` took on ``folder`` and remove its file; a folder this
    process does not hold is left alone."""
    if folder is None:
        return
    folder = Path(folder)
    fd = _LOCKS.pop(str(folder.resolve()), None)
    if fd is None:
        return
    try:
        if os.fstat(fd).st_ino == os.stat(folder / LOCK_NAME).st_ino:
            os.unlink(folder / LOCK_NAME)
    except OSError:
        pass
    os.close(fd)


def _unlock_all() -> None:
    for key in list(_LOCKS):
        unlock_folder(key)


TEST_SIZE = 256  # side of the protocol's test crops (docs/PROTOCOL.md)


def image_folder_files(folder, argument: str = "--test-images",
                       size: int = TEST_SIZE) -> list[Path]:
    """The image files of a folder of one's own test images, checked before any work.

    The folder must exist and hold at least one ``.png``, ``.jpg``/``.jpeg``,
    ``.tif``/``.tiff`` or ``.npy`` file (hidden files aside); every such file must be readable
    as ``io.read_image`` reads it (suffix, dtype rule, header) and at least ``size`` pixels on
    each side (the protocol takes its centre ``size``×``size`` crop); no two files may share a
    stem (the stem is the image's name in the rows). Only the headers are read: NumPy, Pillow
    and tifffile are imported here, torch is not.

    Parameters
    ----------
    folder : str or Path
        The folder.
    argument : str, default "--test-images"
        The option that named it, for the messages.
    size : int, default 256
        The smallest side accepted.

    Returns
    -------
    list of Path
        The files, sorted by name (test image i gets the noise seed 1234 + i).

    Raises
    ------
    InputError
        Naming ``argument`` and the folder or the file at fault: a missing folder or a file,
        no image in it, two files with one stem, an unreadable file, or a side below
        ``size``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> np.save(folder / "b.npy", np.zeros((300, 256), np.float32))
    >>> np.save(folder / "a.npy", np.zeros((256, 256), np.float32))
    >>> [p.name for p in image_folder_files(folder)]
    ['a.npy', 'b.npy']
    >>> np.save(folder / "c.npy", np.zeros((255, 400), np.float32))
    >>> image_folder_files(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: --test-images: got '.../c.npy', expected an image at least ...
    """
    from physinv.io import probe_image

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(argument, str(folder), "a folder of test images",
                         "it is a file" if folder.exists() else "no such folder")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in READABLE
                    and not p.name.startswith(".") and not p.is_dir()), key=lambda p: p.name)
    if not files:
        raise InputError(argument, str(folder), f"a folder holding {', '.join(READABLE)} "
                         "images", "none found")
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise InputError(argument, str(path), "one file per image name",
                             f"{stems[path.stem].name} has the same name {path.stem!r}")
        stems[path.stem] = path
        probe_image(path, argument)
        shape = image_header_shape(path, argument)
        if min(shape) < size:
            raise InputError(argument, str(path), f"an image at least {size}×{size} (the "
                             f"protocol takes its centre {size}×{size} crop)",
                             f"it is {shape[0]}×{shape[1]}")
    return files


def image_header_shape(path, argument: str = "path") -> tuple[int, int]:
    """(H, W) of an image file from its header alone (NPY, TIFF, PNG / JPEG).

    A 3-D array is read as ``io.read_image`` reads it: (H, W, C) with C = 3 or 4, else
    (C, H, W) with C = 1, 3 or 4.

    Parameters
    ----------
    path : str or Path
        An image file.
    argument : str, default "path"
        The name the message gives the file.

    Returns
    -------
    (int, int)

    Raises
    ------
    InputError
        For an unreadable header or an array that is not a 2-D or 3-D image.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            import numpy as np

            shape = tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tuple(tif.series[0].shape)
        else:
            from PIL import Image

            with Image.open(path) as img:
                shape = tuple(img.size[::-1])
    except Exception as err:  # noqa: BLE001 - any unreadable header is the same refusal
        raise InputError(argument, str(path), "a readable image file",
                         str(err)[:120] or type(err).__name__) from None
    if len(shape) == 3 and shape[-1] in (3, 4) and shape[0] not in (1, 3, 4):
        shape = shape[:2]
    elif len(shape) == 3 and shape[0] in (1, 3, 4):
        shape = shape[1:]
    if len(shape) != 2:
        raise InputError(argument, str(path), "a 2-D image or a 3-D (H, W, C) / (C, H, W) "
                         "image", f"array of shape {shape}")
    return int(shape[0]), int(shape[1])
