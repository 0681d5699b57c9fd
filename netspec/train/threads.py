"""How many CPU threads a run uses: torch's intra-op threads and DataLoader workers, chosen from the
cores actually free and the model's size. Torch-free: pure functions and a few reads of ``/proc``.

Torch's default, one intra-op thread per core, collapses on a busy machine: at the end of every
parallel region OpenMP's threads spin, waiting for a thread that another process keeps off its core
(LeNet-5 on a 2-core machine running two busy loops: 41 s with torch's default, 16 s with one thread).
So a run (unless ``threads`` is set):

- counts the cores it may use (:func:`usable_cores`: affinity, cgroup quota) and how much of them other
  processes used while it started (:class:`CpuMeter`: ``/proc/stat`` less this process's own time;
  elsewhere the 1-minute load average), and takes the free ones (:func:`free_cores`);
- gives a model no more threads than it keeps busy: one per :data:`MACS_PER_THREAD` forward
  multiply-adds of a batch (a model of a few thousand stays on one);
- shortens OpenMP's spinning before torch is loaded (:func:`limit_openmp_spinning`), so a machine that
  becomes busy during a run slows it down instead of collapsing it;
- looks again every :data:`WATCH_WINDOW_S` seconds while it trains (:class:`ThreadWatch`): fewer threads
  at once when other processes take cores, more again once they have been free for two looks.

:func:`choose` and :func:`retune` decide from plain numbers (tested with fake cores and loads); the
trainer feeds them and applies the result (:func:`netspec.train.setup.cpu_threads`).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Mapping, MutableMapping

# free cores = floor(usable - busy + FREE_CORE_SLACK): with 0.4, a core that other processes keep more
# than 60 % busy is not free.
FREE_CORE_SLACK = 0.4
# Forward multiply-adds of one batch (all networks) each intra-op thread needs to pay off: below 2 × this
# a step stays on one thread. Measured on an idle 2-core machine, 2 threads train LeNet-5 at batch 32
# (13 M a batch) 1.3× faster than one, a GRU classifier (8 M) 1.1-1.3×; models of a few thousand
# multiply-adds run equally fast on either.
MACS_PER_THREAD = 2e6
# DataLoader workers (lazy data sets only): at most this many, and none for an epoch of fewer batches
# than MIN_LOADER_BATCHES (starting the worker processes would cost more than they save).
MAX_WORKERS = 8
MIN_LOADER_BATCHES = 8
# GNU OpenMP's spin at a barrier before its threads sleep (libgomp's default: 300,000 iterations, a few
# milliseconds of a core, wasted whenever a thread of the team is not running).
OPENMP_SPINCOUNT = "1000"
# The shortest window :class:`CpuMeter` measures over (``/proc/stat`` counts in 10 ms ticks per core).
MIN_WINDOW_S = 0.1
# While training: how often the load is looked at again, and for how many looks in a row cores must be
# free before threads are added (they are removed at the first look that finds the cores taken).
WATCH_WINDOW_S = 1.0
RISE_AFTER = 2


def limit_openmp_spinning(environ: MutableMapping[str, str] | None = None,
                          modules: Mapping[str, object] | None = None) -> bool:
    """Set ``GOMP_SPINCOUNT`` (OpenMP threads sleep after a short spin) unless the user chose an OpenMP
    wait policy or torch is already loaded (its OpenMP runtime read the environment then).

    Returns:
        whether the environment was changed.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "torch" in modules or "GOMP_SPINCOUNT" in environ or "OMP_WAIT_POLICY" in environ:
        return False
    environ["GOMP_SPINCOUNT"] = OPENMP_SPINCOUNT
    return True


# --- the machine ----------------------------------------------------------------------------------------
def _cgroup_quota() -> float | None:
    """The cgroup's CPU quota in cores (v2 ``cpu.max``, v1 ``cfs_quota_us``), or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as f:
            q = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as f:
            p = int(f.read())
        return q / p if q > 0 and p > 0 else None
    except (OSError, ValueError):
        return None


def _affinity() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, within its cgroup's CPU quota."""
    cpus = _affinity()
    n = len(cpus) if cpus else (os.cpu_count() or 1)
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, int(quota)))
    return max(1, n)


def _busy_ticks(cpus: set[int] | None) -> int | None:
    """Non-idle ticks (user, nice, system, irq, softirq, steal) summed over ``cpus`` (all when None)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    total = 0
    found = False
    for line in lines:
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *fields = line.split()
        try:
            if cpus is not None and int(name[3:]) not in cpus:
                continue
            v = [int(x) for x in fields[:8]]
        except ValueError:
            continue
        found = True
        total += v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return total if found else None


class CpuMeter:
    """How busy other processes keep this process's cores, measured from its creation on: the CPU time
    the cores spent (``/proc/stat``) less this process's own, per second. Start it early (before the
    spec is compiled and the data loaded); :meth:`busy` reads it when the threads are chosen."""

    def __init__(self) -> None:
        self.cpus = _affinity()
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.t0 = time.monotonic()
        self.own0 = time.process_time()
        self.ticks0 = _busy_ticks(self.cpus)

    def busy(self) -> float | None:
        """Cores' worth of CPU other processes used since the meter started (at least MIN_WINDOW_S,
        waited for if need be); without ``/proc/stat``, the 1-minute load average; None if unknown."""
        if self.ticks0 is None:
            try:
                return max(0.0, os.getloadavg()[0])
            except (AttributeError, OSError):
                return None
        wait = MIN_WINDOW_S - (time.monotonic() - self.t0)
        if wait > 0:
            time.sleep(wait)
        ticks = _busy_ticks(self.cpus)
        wall = time.monotonic() - self.t0
        if ticks is None or wall <= 0:
            return None
        others = (ticks - self.ticks0) / self.hz - (time.process_time() - self.own0)
        return max(0.0, others / wall)


# --- the decision -----------------------------------------------------------------------------------------
def free_cores(cores: int, busy: float | None) -> int:
    """Cores left to this run: ``cores`` less what other processes use (a core mostly free counts)."""
    if busy is None:
        return cores
    return max(1, min(cores, math.floor(cores - busy + FREE_CORE_SLACK)))


def threads_for_size(step_macs: float | None) -> int:
    """The most intra-op threads a step of ``step_macs`` forward multiply-adds keeps busy (None: any)."""
    if step_macs is None:
        return 1 << 16
    return max(1, int(step_macs // MACS_PER_THREAD))


@dataclass(frozen=True)
class ThreadChoice:
    """The CPU threads of a run and why: ``str()`` is the run header's line. ``auto``: chosen here
    (not set, not ``OMP_NUM_THREADS``, on the CPU), so :class:`ThreadWatch` may change it; ``cores``
    and ``step_macs`` are what it was chosen from."""

    threads: int
    workers: int
    reason: str
    auto: bool = False
    cores: int = 1
    step_macs: float | None = None

    def __str__(self) -> str:
        workers = f"; {self.workers} loader worker{'s' if self.workers != 1 else ''}" if self.workers else ""
        return f"threads: {self.threads} ({self.reason}{workers})"


def _fmt_macs(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f}"


def choose(cores: int, busy: float | None, step_macs: float | None, *, threads: int | None = None,
           workers: int | None = None, env_threads: int | None = None, resumed: int | None = None,
           lazy_data: bool = False, batches: int = 0, device: str = "cpu",
           threads_by: str = "train.threads") -> ThreadChoice:
    """Intra-op threads and DataLoader workers for a run.

    Args:
        cores: usable cores (:func:`usable_cores`).
        busy: cores' worth of CPU other processes use (:class:`CpuMeter`); None: unknown (taken as idle).
        step_macs: forward multiply-adds of one training batch through every network; None: unknown.
        threads: the recipe's ``threads`` (wins when set).
        threads_by: what set ``threads``, said as the reason (``train.threads``, or the flag ``--threads``).
        workers: the recipe's ``workers`` (wins when set).
        env_threads: ``OMP_NUM_THREADS`` when set (torchrun sets 1 per process): kept, as torch does.
        resumed: the intra-op threads of the run being resumed: kept while that many cores are free
            (results on CPU depend on the thread count in their last bits).
        lazy_data: the training data goes through a DataLoader (workers apply).
        batches: batches per epoch of that data.
        device: where the model runs; off the CPU, one intra-op thread feeds it.
    """
    free = free_cores(cores, busy)
    load = describe_load(cores, busy)
    auto = False
    if threads is not None:
        n, reason = threads, threads_by
    elif env_threads is not None:
        n, reason = env_threads, "OMP_NUM_THREADS"
    elif device != "cpu":
        n, reason = 1, f"{load}; the model runs on {device}"
    else:
        by_size = threads_for_size(step_macs)
        n = min(free, by_size)
        reason = load
        auto = True
        if resumed is not None and resumed != n and resumed <= free:
            n, reason = resumed, f"{load}; as the resumed run"
        elif by_size < free and step_macs is not None:
            reason += f"; a small model: {_fmt_macs(step_macs)} multiply-adds a batch"
    if workers is None:
        spare = max(0, free - (n if device == "cpu" else 1))
        workers = min(MAX_WORKERS, spare) if lazy_data and batches >= MIN_LOADER_BATCHES else 0
    return ThreadChoice(max(1, n), workers if lazy_data else 0, reason, auto, cores, step_macs)


def describe_load(cores: int, busy: float | None) -> str:
    return f"{cores} core{'s' if cores != 1 else ''}" + (f", {busy:.1f} busy" if busy is not None else "")


def retune(current: int, cores: int, busy: float | None, step_macs: float | None, rising: int) -> tuple[int, int]:
    """The thread count after one more look at the load while training: fewer at once when other
    processes take the cores, more only after :data:`RISE_AFTER` looks in a row found them free.

    Args:
        rising: how many looks in a row so far found room for more threads.

    Returns:
        (threads, the new ``rising`` count).
    """
    if busy is None:
        return current, 0
    want = min(free_cores(cores, busy), threads_for_size(step_macs))
    if want < current:
        return want, 0
    if want > current:
        rising += 1
        return (want, 0) if rising >= RISE_AFTER else (current, rising)
    return current, 0


class ThreadWatch:
    """Looks at the load every :data:`WATCH_WINDOW_S` seconds of a training run (:meth:`poll` after
    each step costs a clock read) and changes the intra-op threads through ``apply``."""

    def __init__(self, choice: ThreadChoice, apply: Callable[[int], None]) -> None:
        self.choice, self.apply = choice, apply
        self.rising = 0
        self.meter = CpuMeter()
        self.next = self.meter.t0 + WATCH_WINDOW_S

    def poll(self) -> tuple[int, int, float] | None:
        """None, or (old threads, new threads, the other processes' load) when they changed."""
        if time.monotonic() < self.next or self.meter.ticks0 is None:  # the load average counts this run too
            return None
        busy = self.meter.busy()
        self.meter = CpuMeter()
        self.next = self.meter.t0 + WATCH_WINDOW_S
        old = self.choice.threads
        new, self.rising = retune(old, self.choice.cores, busy, self.choice.step_macs, self.rising)
        if new == old or busy is None:
            return None
        self.apply(new)
        self.choice = ThreadChoice(new, self.choice.workers, describe_load(self.choice.cores, busy), True,
                                   self.choice.cores, self.choice.step_macs)
        return old, new, busy
