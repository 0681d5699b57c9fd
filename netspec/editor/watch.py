"""Re-run a command each time a file is saved: ``netspec check --watch`` for people without an LSP editor.

Polls the file's modification time and size (no extra dependency, works on every file system); an editor
that saves by writing a new file and renaming it is seen the same way. Ctrl-C ends the watch with exit 0.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable

from netspec.core.errors import NetspecError

INTERVAL = 0.3  # seconds between polls
SETTLE = 0.05  # a save may write in several steps: look again after this before running


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # being replaced (save by rename), or removed: wait for it
    return st.st_mtime_ns, st.st_size


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
    last = _stamp(path)
    if last is None:
        return run()
    try:
        _once(run)
        print(f"── watching {path} (Ctrl-C to stop) ──", file=sys.stderr, flush=True)
        while True:
            time.sleep(interval)
            now = _stamp(path)
            if now is None or now == last:
                continue
            time.sleep(SETTLE)
            last = _stamp(path) or now
            print(f"\n── {time.strftime('%H:%M:%S')} {path} changed ──", flush=True)
            _once(run)
    except KeyboardInterrupt:
        print("", file=sys.stderr, flush=True)
        return 0
