"""`netspec check --watch` run as a user runs it, for the editor tests: a process and a reader of its output."""

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
