"""Writing an output file safely: all or nothing, never over an input, never by surprise.

`write_atomic` writes into a temporary file beside the target, syncs it to
disk and renames it into place, so an error, Ctrl-C or a crash leaves
neither a partial output nor a temporary file behind. A file it replaces
keeps its permissions.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import CczError, OutputError

__all__ = ["check_output", "write_atomic"]


def write_atomic(
    path: str | os.PathLike,
    write_fn: Callable[[BinaryIO], object],
    *,
    inputs: Iterable[str | os.PathLike] = (),
    force: bool = False,
) -> None:
    """Call ``write_fn(fp)`` on a temporary file and move it to `path` when it returns.

    Refuses (`OutputError`) when `path` is one of `inputs`, when its folder is
    missing or not writable, and when it exists unless `force` is true. A
    replaced file's permission bits are kept; a new file gets those of open().

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> write_atomic(out, lambda fp: fp.write(b"hi"))
    >>> out.read_bytes()
    b'hi'
    """
    path = Path(path)
    check_output(path, inputs=inputs, force=force)
    folder = path.parent
    mode = _mode_for(path)
    try:
        fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot create a file in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fp:
            write_fn(fp)
            fp.flush()
            # On disk before the rename: a crash must not leave an empty file under `path`.
            os.fsync(fp.fileno())
        # mkstemp makes the file 0600.
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError) and not isinstance(exc, CczError):
            raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise
    _sync_folder(folder)


def check_output(
    path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (), force: bool = False
) -> None:
    """Raise the `OutputError` `write_atomic` would raise before writing, if any.

    Lets a caller refuse a bad output before spending time on the data.
    """
    _refuse_folder_name(os.fspath(path))
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"{path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"{path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: permission denied: cannot write in {folder}")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder")
    for source in map(Path, inputs):
        if _same_file(path, source):
            raise OutputError(f"{path}: output is the same file as the input {source}")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists (use --force to overwrite it)")


def _refuse_folder_name(name: str) -> None:
    """A name ending in a slash means a folder; Path() would drop the slash and make a file."""
    if not name.endswith(("/", os.sep)) or os.path.isdir(name):
        return
    folder = name.rstrip("/" + os.sep) or name
    if os.path.lexists(folder):
        raise OutputError(f"{name}: {folder} is not a folder")
    raise OutputError(f"{name}: folder {folder} does not exist; name an output file")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return a.resolve() == b.resolve()


def _mode_for(path: Path) -> int:
    """The permission bits for `path`: those of the file it replaces, else what open() gives."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:  # no file to replace
        return 0o666 & ~_umask()


def _sync_folder(folder: Path) -> None:
    """Put the rename on disk too, where the system lets a folder be synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to sync a folder; the data is synced
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
