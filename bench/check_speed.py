"""How fast `netspec check` is: against the usual alternative, against its floor, and as specs grow.

1. Whole processes, as a user waits for them (imports included), alternated A B C A B C with medians:
   - ``python -m netspec check SPEC --json`` (what the ``netspec`` command runs);
   - the reference: build the model in torch and run ``torchinfo.summary`` at 224×224 (the ResNets of
     ``module_speed.py``, written by hand as torchvision lays them out, for resnet50/101/152 specs;
     ``netspec.compile`` for any other spec, or with ``--reference compile``);
   - the floor: ``python -c "import yaml; from pydantic import BaseModel, Field"``.
   CPU time (user + system, from ``os.wait4``) is the figure to quote on a shared machine, and the
   reference runs twice: with torch's default threads, and with one (``OMP_NUM_THREADS=1``). Under
   load the default threads spin while they wait for a core, so both the wall time and the CPU time of
   that run grow with the load; the 1-thread run's CPU time is the work alone, and the ratio quoted
   against the goal. Wall time and peak memory (max RSS) are printed too.
   Goals: >= 12x less CPU than the reference, within 1.5x of the floor.
2. The warm cost, in this process: ``check`` of SPEC again once everything is imported and built
   once (expansion, validation, the graph and the report), then the JSON text and the table of that
   report, each alone; median CPU ms of ``--rounds`` x 5 calls.
3. The scaling curve, in this process: generated specs of 10 … 10,000 layers (conv / batch norm / relu /
   dropout, repeated), written as YAML and as DSL, through ``check`` and ``draw --format dot``; prints
   CPU ms per layer and flags a step where the time per layer grows more than 2x for 10x the layers.

    python bench/check_speed.py                       # resnet152, 5 rounds, curve to 10,000
    python bench/check_speed.py specs/vgg16.yaml --rounds 3 --sizes 10,100,1000
    python bench/check_speed.py --no-curve            # or --curve-only

Child processes get a bytecode cache (``PYTHONPYCACHEPREFIX`` in a temporary folder) even where
``PYTHONDONTWRITEBYTECODE`` is set, as an installed package has one; a first untimed run fills it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.dirname(os.path.abspath(__file__))

FLOOR = "import yaml; from pydantic import BaseModel, Field"
REFERENCE_COMPILE = (
    "import sys, torch, torchinfo, netspec\n"
    "model = netspec.compile(sys.argv[1])\n"
    "torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0, depth=10)\n"
)
REFERENCE_HAND = (
    "import sys, torch, torchinfo\n"
    f"sys.path.insert(0, {BENCH!r})\n"
    "from module_speed import resnet\n"
    "model = resnet(int(sys.argv[2]))\n"
    "torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0, depth=10)\n"
)


# The reference with one intra-op thread: its CPU time is then its work alone. With torch's default
# threads, the OpenMP workers spin while they wait for a core, so on a busy machine its CPU time (and
# the ratio) grows with the load: 5.1 s at load 3.9 and 8.6 s at load 6.9 for the same ResNet-152. The
# 1-thread figure is the one to quote; on an idle machine the default-thread run costs at least as much CPU.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def child_env(cache: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MiB of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)[:200]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux reports KiB


def processes(spec: str, rounds: int, reference: str) -> None:
    # find_spec, not import: importing torch here would inflate every child's peak RSS through fork.
    if importlib.util.find_spec("torchinfo") is None:
        raise SystemExit("the reference needs torchinfo: pip install torchinfo")
    depth = re.fullmatch(r"resnet(50|101|152)", os.path.splitext(os.path.basename(spec))[0])
    if reference == "auto":
        reference = "hand" if depth else "compile"
    if reference == "hand" and not depth:
        raise SystemExit("--reference hand needs a resnet50/101/152 spec")
    ref_code, ref_label = ((REFERENCE_HAND, "torch (by hand) + torchinfo") if reference == "hand"
                           else (REFERENCE_COMPILE, "netspec.compile + torchinfo"))
    ref_args = [sys.executable, "-c", ref_code, spec, depth.group(1) if depth else ""]
    commands = {  # label -> (arguments, extra environment)
        "netspec check": ([sys.executable, "-m", "netspec", "check", spec, "--json"], {}),
        ref_label: (ref_args, {}),
        "  the same, 1 thread": (ref_args, ONE_THREAD),
        "floor (yaml + pydantic)": ([sys.executable, "-c", FLOOR], {}),
    }
    with tempfile.TemporaryDirectory(prefix="netspec-bench-pycache-") as cache:
        env = child_env(cache)
        for args, extra in commands.values():  # fill the bytecode cache
            measure(args, {**env, **extra})
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in commands}
        for _ in range(rounds):
            for label, (args, extra) in commands.items():
                runs[label].append(measure(args, {**env, **extra}))
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
    print(f"spec: {os.path.relpath(spec, ROOT)}; median of {rounds} rounds of fresh processes, alternated; "
          f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'':<30}{'CPU s':>8}{'wall s':>8}{'peak MiB':>10}")
    for label, (wall, cpu, mem) in med.items():
        print(f"{label:<30}{cpu:>8.3f}{wall:>8.3f}{mem:>10.1f}")
    (w, c, m), (rw, rc, rm), (_, rc1, _), (fw, fc, _) = med.values()
    print(f"vs the reference: {rc1 / c:.1f}x less CPU than its 1-thread run (goal >= 12x; {rc / c:.1f}x with "
          f"torch's default threads), {rw / w:.1f}x faster wall, {rm / m:.1f}x less memory")
    print(f"vs the floor:     {c / fc:.2f}x its CPU (goal <= 1.5x), {w / fw:.2f}x its wall")


def warm(spec: str, rounds: int) -> None:
    sys.path.insert(0, ROOT)
    from netspec.api import check

    report = check(spec)
    report.to_json(), report.table()  # first use: family modules, validators, the report's code
    parts = {"check (expand, validate, graph, report)": lambda: check(spec),
             "the JSON text (to_json)": report.to_json, "the table (table)": report.table}
    print(f"\nwarm, in this process (median CPU ms of {rounds * 5} calls; load average {os.getloadavg()[0]:.1f})")
    for label, fn in parts.items():
        times = []
        for _ in range(rounds * 5):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        print(f"{label:<42}{statistics.median(times) * 1e3:>8.2f}")


# --- the scaling curve --------------------------------------------------------------------------------

YAML_LINES = ("  - conv2d: {filters: 8, kernel: 3, padding: 1}", "  - batchnorm2d: {}", "  - relu", "  - dropout: 0.1")
DSL_LINES = ("conv 8 3x3 padding=1", "batchnorm2d", "relu", "dropout 0.1")


def generated(n: int, fmt: str) -> str:
    if fmt == "yaml":
        head, lines = ["name: generated", "input: [8, 8, 8]", "layers:"], YAML_LINES
    else:
        head, lines = ["netspec generated", "input [8, 8, 8]"], DSL_LINES
    return "\n".join([*head, *(lines[i % 4] for i in range(n))]) + "\n"


def cpu_seconds(fn: Callable[[], object], n: int) -> float:
    """Median CPU time of ``fn``, repeated so that small specs are timed over ~0.3 s at least."""
    reps = 1 if n >= 1000 else max(3, min(25, 3000 // max(n, 1)))
    times = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def curve(sizes: list[int]) -> None:
    sys.path.insert(0, ROOT)
    from netspec.api import check, to_dot

    print(f"\nscaling (this process, CPU ms per layer; load average {os.getloadavg()[0]:.1f})")
    print(f"{'layers':>8}  {'yaml check':>11}{'yaml dot':>10}{'dsl check':>11}{'dsl dot':>10}")
    per_layer: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="netspec-bench-") as tmp:
        for fmt in ("yaml", "ns"):  # warm-up: family modules, the DSL grammar, the report and DOT code
            path = os.path.join(tmp, f"warm.{fmt}")
            with open(path, "w") as f:
                f.write(generated(8, fmt))
            check(path), to_dot(path)
        for n in sizes:
            row = []
            for fmt in ("yaml", "ns"):
                path = os.path.join(tmp, f"g{n}.{fmt}")
                with open(path, "w") as f:
                    f.write(generated(n, fmt))
                for what, fn in (("check", lambda: check(path)), ("dot", lambda: to_dot(path))):
                    ms = cpu_seconds(fn, n) * 1e3 / n
                    per_layer.setdefault((fmt, what), []).append(ms)
                    row.append(ms)
            print(f"{n:>8,}  {row[0]:>11.3f}{row[1]:>10.3f}{row[2]:>11.3f}{row[3]:>10.3f}", flush=True)
    flagged = False
    for (fmt, what), values in per_layer.items():
        for (n0, a), (n1, b) in zip(zip(sizes, values), zip(sizes[1:], values[1:])):
            if n0 >= 1000 and b > 2 * a:
                print(f"SUPER-LINEAR: {fmt} {what}: {a:.3f} ms/layer at {n0:,} -> {b:.3f} at {n1:,}")
                flagged = True
    if not flagged:
        print("no step from 1,000 layers up grows more than 2x per layer: linear")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=os.path.join(ROOT, "specs", "resnet152.yaml"))
    parser.add_argument("--rounds", "--repeat", type=int, default=5)
    parser.add_argument("--reference", choices=("auto", "hand", "compile"), default="auto")
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--no-curve", action="store_true")
    parser.add_argument("--curve-only", action="store_true")
    args = parser.parse_args()
    if not args.curve_only:
        processes(os.path.abspath(args.spec), args.rounds, args.reference)
        warm(os.path.abspath(args.spec), args.rounds)
    if not args.no_curve:
        curve([int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
