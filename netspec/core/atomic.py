"""Files written whole or not at all, the one way netspec writes a file.

Each output is written to a new temporary file in its own folder (created exclusively, so nothing that
was there, a planted symbolic link included, is opened), flushed to the disk, and renamed onto the
output in one step once the writing succeeded; any failure removes the temporary file and leaves the
output as it was. So a file is never half-written, nor a product that failed its check: ``export``,
``import``, ``schema -o``, ``convert -o`` (:func:`staged`, :func:`staged_files`: their writers take a
path) and every file of a run directory (:func:`write_atomic`: its writers take an open file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# the mode of a new file (mkstemp makes its files private), read once: changing the umask for a moment
# at each write would race with other threads creating files
MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def staged_files(paths: Sequence[Path], suffix: str | None = None) -> Iterator[tuple[Path, ...]]:
    """Temporary files, one beside each of ``paths``, that become those paths only if the block succeeds.

    The block writes (and checks) the temporary files; once it has written them all they are synced to
    the disk and renamed into place, one after the other, so a failure in the block (a weight file the
    disk cannot hold, an export that computes something else) leaves none of them: never a spec without
    its weights, nor a half-written or unchecked file, nor anything to ``--force`` over. A symbolic link
    at a path is replaced, never written through.

    Args:
        paths: the outputs; their folders must exist.
        suffix: the temporary files' ending (``.<name>.<random><suffix>``); default ``.partial`` and the
            output's own suffix, for writers that look at it (``torch.export.save`` wants ``.pt2``).

    Raises:
        OSError: a path is a directory, a temporary file cannot be created or written, or a rename fails,
            naming the output, never its temporary file (a missing folder, no permission, a full disk).
    """
    temporaries: list[Path] = []
    try:
        for path in paths:
            if _is_directory(path):  # said before the work, not by the rename after it
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            ending = f".partial{path.suffix}" if suffix is None else suffix
            try:
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=ending)
            except OSError as exc:  # name the output, not the temporary file (a missing folder, no permission)
                raise type(exc)(exc.errno, exc.strerror, str(path)) from None
            temporaries.append(Path(name))
            try:
                with contextlib.suppress(OSError):  # a file system without modes (FAT) keeps its own
                    os.fchmod(fd, MODE)
            finally:
                os.close(fd)
        yield tuple(temporaries)
        for temporary in temporaries:
            _fsync(temporary)  # on the disk before the rename makes it the output (a crash leaves old or new)
        for temporary, path in zip(temporaries, paths):
            os.replace(temporary, path)
        for folder in dict.fromkeys(path.parent for path in paths):
            with contextlib.suppress(OSError):  # the renames on the disk too; not every file system can
                _fsync(folder)
    except BaseException as exc:
        for temporary in temporaries:
            with contextlib.suppress(OSError):
                temporary.unlink()
        named = dict(zip(map(str, temporaries), map(str, paths)))
        if isinstance(exc, OSError) and str(exc.filename) in named:  # the output, not its temporary file
            raise type(exc)(exc.errno, exc.strerror, named[str(exc.filename)]) from None
        raise


@contextlib.contextmanager
def staged(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """:func:`staged_files` for one file: a temporary file in ``path``'s folder that becomes ``path`` only
    if the block succeeds (an existing file is replaced only then)."""
    with staged_files([path], suffix) as (temporary,):
        yield temporary


def write_atomic(path: Path, write: Callable[[BinaryIO], None], suffix: str | None = None) -> Path:
    """Write ``path`` whole or not at all (:func:`staged`): ``write`` fills the new temporary file, opened
    without following a link (one planted in its place fails, never redirects the write).

    Raises:
        OSError: as :func:`staged_files`; an exception of ``write`` passes through (the file removed).
    """
    with staged(path, suffix) as temporary:
        fd = os.open(temporary, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "wb") as f:
            write(f)
    return path


def write_text(path: Path, text: str) -> Path:
    """:func:`write_atomic` for UTF-8 text."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))


def _is_directory(path: Path) -> bool:
    """A directory at ``path`` itself (a link to one is replaced like any link)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
