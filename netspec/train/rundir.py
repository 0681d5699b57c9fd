"""Run directories: a unique one per build, one build at a time in it, no finished run overwritten.

A build writes into ``--out DIR`` or a new ``runs/<spec name>/<timestamp>[-N]`` (created exclusively,
so builds started in the same second get different directories). While it runs it holds an
exclusive lock on the directory (``flock`` on the directory itself: no lock file, released by the
kernel when the process dies), so a second build into the same directory stops with a message.
An existing directory that holds anything is refused unless the build resumes the run in it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from netspec.core.errors import UsageError
from netspec.train.runtime import TEMP_SUFFIX, file_error, make_dirs

try:  # POSIX; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

# the temporary files a killed build may leave: .<name>.<random>.tmp (and the older .<name>.tmp<pid>)
CHECKPOINTS = ("last.pt", "best.pt")  # what --resume continues from (train/checkpoint.py, train/loop.py)
STALE_TEMP = re.compile(rf"^\..+{re.escape(TEMP_SUFFIX)}[0-9]*$")


def new_run_dir(base: Path) -> Path:
    """``base/<timestamp>``, or ``base/<timestamp>-N`` when taken: created here, exclusively."""
    make_dirs(base)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    i = 1
    while True:
        path = base / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            i += 1
        except OSError as exc:
            raise file_error(exc, path, "create") from None


def require_creatable(path: Path, what: str) -> None:
    """Refuse a run directory that cannot be made, before any work: its nearest existing folder (the
    missing ones are created, ``mkdir -p``) is a file, or not writable. A destination that cannot be
    written is a usage error (exit 2), as ``-o`` is for the commands that write one file.

    Raises:
        UsageError: ``what`` (``--out DIR``, ``the run directory runs/x``), why, and a hint."""
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{what}: cannot create it: '{ancestor}' is a file, not a directory\n"
                         "    hint: check the path, or give another run directory with --out")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{what}: cannot create it: permission denied in '{ancestor}'\n"
                         "    hint: give a run directory you may write with --out")


class RunDirectory:
    """A run directory claimed by this process (locked until :meth:`release`)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @staticmethod
    def check(path: Path, resuming: bool) -> None:
        """What :meth:`claim` would refuse, found without creating anything (a dry run, and a build before
        its data is loaded): a file in the way, a run that is not being resumed, an unwritable place.

        Raises:
            UsageError: a file in the way, a run there, or it cannot be created there (exit 2)."""
        _refuse_a_file(path)
        if path.is_dir() and not resuming:
            _refuse_a_run(path)
        require_creatable(path, f"--out {path}")

    @classmethod
    def claim(cls, path: Path | None, base: Path, resuming: bool) -> "RunDirectory":
        """Create (or open) the run directory and lock it.

        Args:
            path: the directory asked for (``--out``, or the resumed run's); None: a new one under ``base``.
            resuming: the build continues the run in ``path``: it may hold files (stale temporary files
                of a killed build are removed); otherwise it must be new or empty.

        Raises:
            UsageError: another build holds the directory, or it holds a run that is not being resumed.
            RunDirectoryError: it cannot be created.
        """
        if path is None:
            path = new_run_dir(base)
        else:
            _refuse_a_file(path)
            make_dirs(path)
        run = cls(path, lock(path))
        try:
            if resuming:
                run.remove_stale_temps()
            else:
                _refuse_a_run(path)
        except BaseException:
            run.release()
            raise
        return run

    def remove_stale_temps(self) -> None:
        """Remove the temporary files a killed build left (we hold the lock: nobody is writing them)."""
        for name in os.listdir(self.path):
            if STALE_TEMP.match(name):
                p = self.path / name
                with contextlib.suppress(OSError):
                    if p.is_symlink() or p.is_file():
                        p.unlink()

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _refuse_a_file(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path}: a file is in the way (the run directory must be a directory)")


def _refuse_a_run(path: Path) -> None:
    """A build that does not resume starts in an empty directory: a finished run is never written over."""
    entries = sorted(os.listdir(path))
    if entries:
        shown = ", ".join(entries[:6]) + (", …" if len(entries) > 6 else "")
        if not any(name in entries for name in CHECKPOINTS):  # a run stopped before it saved: nothing to resume
            raise UsageError(f"{path} already holds a run that saved no checkpoint ({shown}); a build does not "
                             f"overwrite it\n    hint: give a new --out directory, or remove {path} to start "
                             "over there (with no checkpoint, --resume has nothing to continue)")
        raise UsageError(f"{path} already holds a run ({shown}); a build does not overwrite it\n"
                         f"    hint: continue it with --resume {path}, or give a new --out directory")


def lock(path: Path) -> int | None:
    """An exclusive, non-blocking lock on the directory; the descriptor holding it (None without fcntl).

    Raises:
        UsageError: another build holds it.
    """
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise file_error(exc, path, "open") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UsageError(f"{path} is in use by another netspec build (locked until it ends)\n"
                         f"    hint: wait for it, or give another --out directory") from None
    return fd
