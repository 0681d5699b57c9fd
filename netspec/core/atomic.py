"""Files written whole or not at all, the one way netspec writes a file.

Each output is written to a new temporary file in its own folder (created exclusively, so nothing that
was there, a planted symbolic link included, is opened), flushed to the disk, and renamed onto the
output in one step once the writing succeeded; any failure removes the temporary file and leaves the
output as it was. So a file is never half-written, nor a product that failed its check: ``export``,
``import``, ``schema -o``, ``convert -o`` (:func:`staged`, :func:`staged_files`: their writers take a
path) and every file of a run directory (:func:`write_atomic`: its writers take an open file).

A write that fails is a :class:`WriteError` naming the output (never its temporary file) and the system's
reason: a missing folder, no permission, a full disk, a file-size limit. It is the user's environment, not
a bug, so the command line says so and exits 1 (2 for a path it cannot write at all). Which failures are
the output's is decided by where they came from: an error of the temporary file itself (its name, or a
write through the file object :func:`write_atomic` hands out), or one of :data:`WRITE_ERRNOS` (the disk
or the process limit, which nothing but a write raises) in the block that fills the temporaries; any other
exception of the block passes through as it is.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from netspec.core.errors import NetspecError

# errors that only a write raises, whatever file it was: no space on the device, the process's file-size
# limit (RLIMIT_FSIZE, `ulimit -f`; Python ignores SIGXFSZ, so the write fails with EFBIG), a disk quota
WRITE_ERRNOS = frozenset(code for code in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if code)

# failures of the path itself, which no retry on another disk cures (the CLI: a usage error, exit 2)
PATH_ERRNOS = frozenset((errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                         errno.ENAMETOOLONG))

_HINTS = {
    errno.ENOSPC: "free some disk space or write elsewhere",
    errno.EFBIG: "the file is larger than this process or file system allows (`ulimit -f`); "
                 "raise the limit or write elsewhere",
    errno.EACCES: "choose a path you may write, e.g. in the current folder",
    errno.EPERM: "choose a path you may write, e.g. in the current folder",
    errno.EROFS: "the disk is read-only; write elsewhere",
    errno.EISDIR: "give a file name, not a folder",
}
if getattr(errno, "EDQUOT", None):
    _HINTS[errno.EDQUOT] = "your disk quota is used up; free some space or write elsewhere"


class WriteError(NetspecError):
    """An output file could not be written: which, and why (the system's reason). Nothing partial was left:
    the output, if it existed, is as it was. ``errno`` and ``strerror`` are the OSError's (its
    ``__cause__``); ``paths`` every output of the write, ``path`` the one named."""

    def __init__(self, paths: Sequence[Path] | Path, error: OSError) -> None:
        self.paths = tuple(paths) if isinstance(paths, Sequence) else (paths,)
        self.path = self.paths[0]
        self.errno = error.errno
        self.strerror = error.strerror or str(error) or type(error).__name__
        hint = _HINTS.get(error.errno or 0, "")
        reason = _reason(self.strerror)
        if error.errno == errno.ENOENT and not self.path.parent.exists():  # removed meanwhile
            reason = f"the folder '{self.path.parent}' does not exist"
            hint = "create it first or choose another path"
        names = " and ".join(str(p) for p in self.paths)
        super().__init__(f"cannot write {names}: {reason}; nothing was written"
                         + (f"\n    hint: {hint}" if hint else ""))

    @property
    def is_path_problem(self) -> bool:
        """The path cannot be written at all (missing folder, no permission, a folder in its place), as
        opposed to a write that failed midway (a full disk, a size limit)."""
        return self.errno in PATH_ERRNOS


def _reason(strerror: str) -> str:
    """``No space left on device`` as ``no space left on device`` (an acronym keeps its case)."""
    return strerror[:1].lower() + strerror[1:] if strerror[:1].isupper() and strerror[1:2].islower() else strerror


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
        WriteError: a path is a directory, a temporary file cannot be created or written, or a rename
            fails, naming the output, never its temporary file (a missing folder, no permission, a full
            disk, a file-size limit); see the module's docstring for which errors of the block count.
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
                raise OSError(exc.errno, exc.strerror, str(path)) from None
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
        failed = _write_failure(exc, temporaries, paths)
        if failed is not None:
            outputs, error = failed
            raise WriteError(outputs, error) from error
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
        WriteError: as :func:`staged_files`, also when the file object's write fails inside a writer that
            wraps the error in its own (torch.save's RuntimeError); any other exception of ``write``
            passes through (the file removed).
    """
    with staged(path, suffix) as temporary:
        fill(temporary, write)
    return path


def fill(temporary: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a temporary file of :func:`staged_files` through a file object: a failed write, flush or close
    of that file object is an OSError naming ``temporary`` (so the block's failure names the output),
    whatever ``write`` made of it.

    Raises:
        OSError: the file could not be opened or written, with ``filename`` set to ``temporary``.
    """
    fd = os.open(temporary, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    f = _Tracked(os.fdopen(fd, "wb"))
    try:
        write(f)  # type: ignore[arg-type]
        f.close()
    except BaseException as exc:
        if f.failure is None:
            raise
        error = f.failure
        raise OSError(error.errno, error.strerror, str(temporary)) from exc
    finally:
        f.close_quietly()


class _Tracked(io.BufferedIOBase):
    """A binary file whose failed writes are remembered: a writer may wrap the OSError in its own error
    (torch's file writer does). An ``io`` stream itself, so writers that ask (torch.export.save) take it."""

    def __init__(self, f: BinaryIO) -> None:
        super().__init__()
        self._f = f
        self.failure: OSError | None = None

    def _guard(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._f, name)(*args)
        except OSError as exc:
            if self.failure is None:
                self.failure = exc
            raise

    def write(self, data: Any) -> int:  # type: ignore[override]
        return int(self._guard("write", data))

    def flush(self) -> None:
        if not self._f.closed:
            self._guard("flush")

    def close(self) -> None:
        if not self._f.closed:
            self._guard("close")  # the last buffered bytes are written here: a failure is the file's

    def close_quietly(self) -> None:
        with contextlib.suppress(OSError):
            self._f.close()

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return bool(self._f.closed)

    @property
    def name(self) -> Any:
        return self._f.name

    @property
    def mode(self) -> str:
        return str(self._f.mode)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._f.seekable())

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return int(self._guard("seek", offset, whence))

    def tell(self) -> int:
        return int(self._f.tell())

    def fileno(self) -> int:
        return int(self._f.fileno())

    def truncate(self, size: int | None = None) -> int:
        return int(self._guard("truncate", size))


def write_text(path: Path, text: str) -> Path:
    """:func:`write_atomic` for UTF-8 text."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))


def _write_failure(exc: BaseException, temporaries: Sequence[Path],
                   paths: Sequence[Path]) -> tuple[tuple[Path, ...], OSError] | None:
    """The outputs a failure of the block (or of the renames) is about, and its OSError; None when it is
    not a failure to write them (the block's own error, passed through as it is).

    An OSError naming a temporary file (or an output: the rename, the directory check) is that output's;
    one of :data:`WRITE_ERRNOS` without a name (a write through a path-taking writer: ``Path.write_bytes``,
    ``torch.export.save``) is the outputs' together, as the block writes nothing else. Where a writer wraps
    the OSError in its own error, the OSError is found among the causes."""
    named = {**dict(zip(map(str, paths), paths)), **dict(zip(map(str, temporaries), paths))}
    seen: set[int] = set()
    e: BaseException | None = exc
    if isinstance(exc, WriteError) and any(str(p) in named for p in exc.paths):  # a writer's own atomic write
        return tuple(dict.fromkeys(named.get(str(p), p) for p in exc.paths)), _os_error(exc)
    while e is not None and id(e) not in seen and not isinstance(e, NetspecError):  # netspec's own: as raised
        if isinstance(e, OSError):
            if e.filename is not None and str(e.filename) in named:
                return (named[str(e.filename)],), e
            if e.filename is None and e.errno in WRITE_ERRNOS and temporaries:
                return tuple(paths), e
            return None
        seen.add(id(e))
        e = e.__cause__ if e.__cause__ is not None else None if e.__suppress_context__ else e.__context__
    return None


def _os_error(err: WriteError) -> OSError:
    cause = err.__cause__
    return cause if isinstance(cause, OSError) else OSError(err.errno, err.strerror)


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
