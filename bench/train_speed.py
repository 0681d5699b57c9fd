"""Training speed: threads chosen by `netspec build` against the best fixed setting, idle and with every
core busy; the trainer's overhead against a minimal hand-written PyTorch loop.

1. Threads (whole processes): `netspec build specs/lenet5.yaml --epochs 2` with the default threads and
   with each fixed `--threads N`, alternated (default, 1, 2, ..., default, 1, 2, ...), medians of the
   wall time of each process; first as the machine is, then with one busy-loop process per core that
   this script starts (bounded in time, killed at the end). Goal: default / best ≤ 1.2 in both.
2. Overhead (one process): the same spec-compiled model (same initial weights), the same in-memory data,
   optimizer, loss and batch size; epochs of the hand-written loop and of `netspec build`'s loop
   alternate (H O H O ... H), each of netspec's against the mean of the two either side; the median
   of those ratios is printed, for a small CNN (LeNet-5), an LSTM
   classifier and ResNet-18 at 32×32, on the CPU (and CUDA when present). Goal: ratio ≥ 0.95.

    python bench/train_speed.py                    # both parts, a few minutes
    python bench/train_speed.py --part threads --rounds 5
    python bench/train_speed.py --part overhead --device cuda
    python bench/train_speed.py --part threads --root /path/to/other/checkout   # compare code versions

The machine's load is printed with each phase: on a shared machine quote the ratios, not the times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

SPECS = ROOT / "specs"
BUSY_LOOP = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def loadavg() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average unknown"


# --- 1. threads --------------------------------------------------------------------------------------------
def build_once(root: Path, spec: Path, epochs: int, threads: int | None, out: Path) -> tuple[float, float, str]:
    """One `netspec build` process: (wall seconds, seconds in its training epochs, its 'threads:' line)."""
    cmd = [sys.executable, "-m", "netspec.cli.main", "build", str(spec), "--epochs", str(epochs), "--device", "cpu",
           "--out", str(out), "--json", "--no-progress"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    summary = json.loads(p.stdout)
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("threads:")]
    line = lines[0] if lines else ""
    if len(lines) > 1:  # the counts it moved to while training
        line += " then " + ", ".join(ln.split(" → ")[1].split(" (")[0] for ln in lines[1:] if " → " in ln)
    return wall, float(summary["train_time_s"]), line


class BusyLoops:
    """``n`` busy-loop processes, each ending by itself after ``seconds``; killed on exit."""

    def __init__(self, n: int, seconds: float) -> None:
        self.n, self.seconds = n, seconds
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> "BusyLoops":
        code = BUSY_LOOP.format(seconds=self.seconds)
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.n)]
        time.sleep(1.0)  # let them take their cores
        return self

    def __exit__(self, *exc: Any) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def settings(cores: int) -> list[int | None]:
    """None (the default) and the fixed thread counts worth trying: 1, 2, 4, ... and every core."""
    fixed = sorted({1, cores} | {n for n in (2, 4, 8) if n < cores})
    return [None, *fixed]


def threads_phase(root: Path, spec: Path, epochs: int, rounds: int, cores: int, tmp: Path) -> tuple[float, str]:
    """Alternated runs of every setting; prints the medians of the process and of its training epochs;
    returns (the larger of the two ratios default / best fixed, the default's distinct 'threads:' lines)."""
    walls: dict[int | None, list[float]] = {s: [] for s in settings(cores)}
    trains: dict[int | None, list[float]] = {s: [] for s in settings(cores)}
    lines: list[str] = []
    for r in range(rounds):
        for s in walls:
            wall, train, line = build_once(root, spec, epochs, s, tmp / f"run-{r}-{s}")
            walls[s].append(wall)
            trains[s].append(train)
            if s is None:
                lines.append(line)
    worst = 0.0
    for what, times in (("process", walls), ("training", trains)):
        med = {s: statistics.median(v) for s, v in times.items()}
        best = min((s for s in med if s is not None), key=lambda s: med[s])
        ratio = med[None] / med[best]
        worst = max(worst, ratio)
        cells = "  ".join(f"{'default' if s is None else f'--threads {s}'} {m:.2f} s" for s, m in med.items())
        print(f"    {what + ':':<10} medians {cells}; default / best fixed (--threads {best}) {ratio:.2f}"
              f"  {'(goal ≤ 1.2: ok)' if ratio <= 1.2 else '(goal ≤ 1.2: MISSED)'}")
    return worst, " | ".join(dict.fromkeys(lines))


def bench_threads(args: argparse.Namespace) -> bool:
    root = Path(args.root).resolve()
    spec = Path(args.spec).resolve() if args.spec else SPECS / "lenet5.yaml"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    print(f"threads: {spec.name}, {args.epochs} epochs per `netspec build` process, {cores} cores, "
          f"{args.rounds} alternated rounds, code from {root}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        print(f"  as the machine is ({loadavg()}):")
        ratio, line = threads_phase(root, spec, args.epochs, args.rounds, cores, Path(tmp) / "idle")
        print(f"    the default chose: {line or '(not reported)'}")
        ok &= ratio <= 1.2
        bound = 60.0 + 40.0 * args.rounds * len(settings(cores)) * args.epochs
        with BusyLoops(cores, bound):
            print(f"  with {cores} busy loops, one per core ({loadavg()}):")
            ratio, line = threads_phase(root, spec, args.epochs, args.rounds, cores, Path(tmp) / "busy")
            print(f"    the default chose: {line or '(not reported)'}")
            ok &= ratio <= 1.2
    return ok


# --- 2. overhead against a hand-written loop ---------------------------------------------------------------
def resnet18_at_32(tmp: Path) -> Path:
    """specs/resnet18.yaml with a 32×32 input (its pinned 224×224 expectations dropped)."""
    text = (SPECS / "resnet18.yaml").read_text(encoding="utf-8")
    text = text.replace("input: [3, 224, 224]", "input: [3, 32, 32]")
    text = re.sub(r"\nexpect:\n(  .*\n)+", "\n", text)
    path = tmp / "resnet18_32.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def hand_written_epoch(model: Any, opt: Any, loss_fn: Any, binary: bool, x: Any, y: Any, batch: int,
                       epoch: int) -> float:
    """The minimal loop: shuffle, index, forward, loss, backward, step. Returns seconds."""
    import torch

    model.train()
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(epoch)
    perm = torch.randperm(len(x), generator=g).to(x.device)
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        out, target = model(x[idx]), y[idx]
        if binary:
            out, target = out.reshape(-1), target.float()
        loss = loss_fn(out, target)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync()
    return time.perf_counter() - t0


def netspec_epoch(trainer: Any) -> float:
    import torch

    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    trainer._train_epoch()
    sync()
    trainer.epoch += 1
    trainer.batch = 0
    return time.perf_counter() - t0


def overhead(spec: Path, device: str, batch: int, subset: int | None, rounds: int) -> tuple[float, float, float, str]:
    """(median ratio hand / netspec, hand-written samples/s, netspec samples/s, threads line)."""
    import torch

    from netspec.backends.torch.compile import compile_graph
    from netspec.train.api import prepare
    from netspec.train.schedule import build_optimizer

    flags = {"device": device, "batch_size": batch, "epochs": 1000, "val_split": 0.0, "subset": subset}
    trainer = prepare(spec, {k: v for k, v in flags.items() if v is not None}, write=False, quiet=True,
                      progress=False)
    x, y = trainer.data.train.tensors[:2]
    task = trainer.task
    # the same model, the same initial weights, an identical optimizer and loss
    model = compile_graph(trainer.graph).to(trainer.device)
    model.load_state_dict(trainer.raw_nets[trainer.net_names[0]].state_dict())
    if trainer.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = build_optimizer(trainer.cfg.optimizer, list(model.parameters()))
    binary = bool(getattr(task, "binary", False))

    hand_written_epoch(model, opt, task.loss_fn, binary, x, y, batch, 0)  # warm-up (allocator, oneDNN plans)
    netspec_epoch(trainer)
    # H O H O ... H: each netspec epoch is compared with the mean of the hand-written epochs either side,
    # which cancels a load that drifts over the minute
    hand = [hand_written_epoch(model, opt, task.loss_fn, binary, x, y, batch, 1)]
    ours = []
    for r in range(rounds):
        ours.append(netspec_epoch(trainer))
        hand.append(hand_written_epoch(model, opt, task.loss_fn, binary, x, y, batch, r + 2))
    ratio = statistics.median((hand[i] + hand[i + 1]) / 2 / ours[i] for i in range(rounds))
    n = len(x)
    return ratio, n / statistics.median(hand), n / statistics.median(ours), str(trainer.threads)


def bench_overhead(args: argparse.Namespace) -> bool:
    import importlib

    importlib.import_module("netspec.train")  # before torch, as `netspec build` loads it (OpenMP's settings)
    import torch

    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        models = [("small CNN (LeNet-5)", SPECS / "lenet5.yaml", None),
                  ("LSTM (keras_lstm_classifier)", SPECS / "keras_lstm_classifier.yaml", None),
                  ("ResNet-18 at 32×32", resnet18_at_32(Path(tmp)), args.resnet_subset)]
        if args.spec:
            models = [(Path(args.spec).name, Path(args.spec), None)]
        print(f"overhead: batch {args.batch_size}, {args.rounds} netspec epochs between {args.rounds + 1} hand-written "
              f"ones, median ratio, torch {torch.__version__} ({loadavg()})")
        for dev in devices:
            for label, spec, subset in models:
                ratio, hand, ours, line = overhead(spec, dev, args.batch_size, subset, args.rounds)
                ok &= ratio >= 0.95
                goal = "(goal ≥ 0.95: ok)" if ratio >= 0.95 else "(goal ≥ 0.95: MISSED)"
                print(f"  {dev:>4} {label:<30} hand-written {hand:>8,.0f} samples/s  netspec {ours:>8,.0f} samples/s  "
                      f"ratio {ratio:.3f} {goal}  [{line}]")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("threads", "overhead", "both"), default="both")
    ap.add_argument("--spec", help="one spec instead of the defaults (threads: LeNet-5; overhead: three models)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2, help="threads: epochs per build process")
    ap.add_argument("--batch-size", type=int, default=64, help="overhead: batch size")
    ap.add_argument("--resnet-subset", type=int, default=512, help="overhead: ResNet-18's training samples")
    ap.add_argument("--device", action="append", help="overhead: cpu, cuda (default: cpu, and cuda when available)")
    ap.add_argument("--root", default=str(ROOT), help="threads: the checkout whose netspec the processes run")
    args = ap.parse_args()
    ok = True
    if args.part in ("threads", "both"):
        ok &= bench_threads(args)
    if args.part in ("overhead", "both"):
        ok &= bench_overhead(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
