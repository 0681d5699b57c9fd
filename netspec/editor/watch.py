"""Re-run a command each time a file is saved: ``netspec check --watch`` for people without an LSP editor.

Polls the modification time and size of the file and of the block libraries it imports (no extra
dependency, works on every file system); an editor that saves by writing a new file and renaming it is
seen the same way. Ctrl-C ends the watch with exit 0.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable

from netspec.core.errors import NetspecError
from netspec.frontends import parse, read_imports

INTERVAL = 0.3  # seconds between polls
SETTLE = 0.05  # a save may write in several steps: look again after this before running


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # being replaced (save by rename), or removed: wait for it
    return st.st_mtime_ns, st.st_size


def _libraries(path: str) -> list[str]:
    """The block libraries the spec at ``path`` imports (at every level), so that saving one of them
    re-runs the check too; none when the spec does not parse (its own check says why)."""
    try:
        raw, file = parse(path)
        libraries, _ = read_imports(raw, file)
    except (NetspecError, RecursionError):
        return []
    return [lib.file for lib in libraries]


def _stamps(path: str, libraries: list[str]) -> tuple[tuple[int, int] | None, ...] | None:
    """The spec's stamp, then its libraries'; None while the spec itself is missing."""
    own = _stamp(path)
    return None if own is None else (own, *(_stamp(lib) for lib in libraries))


def _once(run: Callable[[], int]) -> None:
    try:
        run()
    except NetspecError as err:  # a wrong spec is what one watches for: report it and keep watching
        print(str(err), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()


def watch(path: str, run: Callable[[], int], interval: float = INTERVAL) -> int:
    """Run ``run`` now, then again each time ``path`` changes, until Ctrl-C (which returns 0).

    A missing file is a usage error before the first run (``run`` raises it); later it is waited for.
    """
    if _stamp(path) is None:
        return run()
    try:
        libraries = _libraries(path)
        last = _stamps(path, libraries)
        _once(run)
        also = f" and the {len(libraries)} file(s) it imports" if libraries else ""
        print(f"── watching {path}{also} (Ctrl-C to stop) ──", file=sys.stderr, flush=True)
        while True:
            time.sleep(interval)
            now = _stamps(path, libraries)
            if now is None or now == last:
                continue
            time.sleep(SETTLE)
            libraries = _libraries(path)  # the imports may have changed with the save
            last = _stamps(path, libraries) or now
            print(f"\n── {time.strftime('%H:%M:%S')} {path} changed ──", flush=True)
            _once(run)
    except KeyboardInterrupt:
        print("", file=sys.stderr, flush=True)
        return 0
