"""For the editor tests: `netspec check --watch` run as a user runs it (a process and a reader of its output),
and a text with the cursor marked in it, as a completion request sends it."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def watch(spec: Path) -> tuple[subprocess.Popen[str], Callable[[str], str]]:
    """Start ``netspec check --watch SPEC`` (this tree's code); return the process and ``until(fragment)``,
    which reads its output until ``fragment`` has appeared (30 s at most) and returns what it read."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netspec.cli.main import main; "
            f"sys.exit(main(['check', '--watch', {str(spec)!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def until(fragment: str) -> str:
        seen = ""
        deadline = time.monotonic() + 30
        while fragment not in seen:
            seen += lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        return seen

    return proc, until


CURSOR = "§"  # where the cursor is in a text written for a completion test


def at_cursor(text: str) -> tuple[list[str], int, int]:
    """``text`` with one :data:`CURSOR` in it → its lines (the mark removed) and the cursor's 0-based
    (line, column), as an editor sends them."""
    lines = text.split("\n")
    line = next(i for i, t in enumerate(lines) if CURSOR in t)
    column = lines[line].index(CURSOR)
    lines[line] = lines[line].replace(CURSOR, "", 1)
    return lines, line, column
