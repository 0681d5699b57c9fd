"""How much faster `netspec check` is than the usual alternative, measured in the same run.

The alternative: build the model in torch, then `torchinfo.summary` at 224×224. Each side runs in a
fresh Python process (imports included, as a user waits for them); wall time and peak memory (max
RSS) come from the OS for that process. Prints the ratios. Goal: ≥ 20× faster, ≥ 10× less memory.

    python bench/check_speed.py [specs/resnet152.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NETSPEC = "import sys; from netspec.cli.main import main; sys.exit(main(['check', sys.argv[1], '--json']))"
TORCHINFO = (
    "import sys, torch, torchinfo, netspec\n"
    "model = netspec.compile(sys.argv[1])\n"
    "torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0, depth=10)\n"
)


def measure(code: str, spec: str) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one fresh interpreter running ``code``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, spec], cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {code.splitlines()[0]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=os.path.join(ROOT, "specs", "resnet152.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # find_spec, not import: importing torch here would inflate every child's peak RSS through fork.
    if importlib.util.find_spec("torchinfo") is None:
        raise SystemExit("the reference needs torchinfo: pip install torchinfo")
    ours = [measure(NETSPEC, args.spec) for _ in range(args.repeat)]
    theirs = [measure(TORCHINFO, args.spec) for _ in range(args.repeat)]
    t_ours, m_ours = statistics.median(w for w, _ in ours), statistics.median(m for _, m in ours)
    t_ref, m_ref = statistics.median(w for w, _ in theirs), statistics.median(m for _, m in theirs)
    print(f"spec: {os.path.relpath(args.spec, ROOT)}  (median of {args.repeat} fresh processes each)")
    print(f"{'':<28}{'wall s':>10}{'peak MiB':>12}")
    print(f"{'netspec check':<28}{t_ours:>10.3f}{m_ours:>12.1f}")
    print(f"{'torch + torchinfo.summary':<28}{t_ref:>10.3f}{m_ref:>12.1f}")
    print(f"speed-up: {t_ref / t_ours:.1f}x (goal >= 20x)   memory: {m_ref / m_ours:.1f}x less (goal >= 10x)")


if __name__ == "__main__":
    main()
