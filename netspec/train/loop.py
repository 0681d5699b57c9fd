"""The training loop: epochs, steps, evaluation, early stopping, Ctrl-C, NaN checks.

One :class:`Trainer` per run. Tasks (``netspec.train.tasks``) say what a step computes; the trainer
runs the steps (it is their :class:`~netspec.train.tasks.base.StepContext`) and everything around
them. Design points:

- **Speed**: in-memory data sets are batched by indexing tensors that stay on the device (no
  DataLoader, no per-sample Python); per-step statistics accumulate on the device
  (:class:`~netspec.train.meter.RunningMean`) and are read only when the progress bar refreshes; the
  NaN check reads a per-step loss buffer (exact step, no per-step sync on CUDA).
- **Exact resume**: the sample order of an epoch is a function of (seed, epoch) only; a checkpoint
  (:mod:`netspec.train.checkpoint`) stores everything else, so resuming replays the remaining batches
  exactly.
- **Distributed**: under ``torchrun`` (``WORLD_SIZE`` > 1) each network is wrapped in
  DistributedDataParallel; the global batch is split across processes (DistributedSampler
  interleaving), only rank 0 logs and writes files.

Setting a run up (precision, data placement, wrapped networks, optimizers) is :mod:`netspec.train.setup`;
devices, seeding and RNG state are :mod:`netspec.train.runtime`; the epoch lines and run files are
:mod:`netspec.train.output`.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn as nn

from netspec.core.errors import NetspecError, UsageError
from netspec.ir.graph import Graph
from netspec.spec.train import TrainConfig
from netspec.train import checkpoint, output, setup
from netspec.train.batching import OrderSampler, TensorSet, epoch_order, make_loader, tensor_batches
from netspec.train.meter import RunningMean
from netspec.train.runtime import dist_env, eval_mode, resolve_device, seed_everything, train_mode
from netspec.train.schedule import LRSchedule
from netspec.train.tasks import make_task
from netspec.train.tasks.base import check_token_ids, step_failure
from netspec.train.threads import CpuMeter, ThreadWatch


class TrainingDiverged(NetspecError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(NetspecError):
    """Ctrl-C: the state was saved; ``--resume`` continues."""


# --- the trainer ------------------------------------------------------------------------------------------
class Trainer:
    """Trains one compiled spec; the :class:`~netspec.train.tasks.base.StepContext` its task's steps run in.

    See :func:`netspec.train.api.train` for the entry point.
    """

    def __init__(self, graph: Graph, model: nn.Module, cfg: TrainConfig, out_dir: Path | None = None,
                 progress: bool | None = None, quiet: bool = False, resume: dict[str, Any] | None = None,
                 spec_file: str | None = None, cpu: CpuMeter | None = None,
                 data_names: tuple[str, str] = ("training data", "validation data"),
                 threads_by: str = "train.threads", training: bool = True) -> None:
        cpu = cpu if cpu is not None else CpuMeter()  # how busy the machine is, measured while the run starts
        self.graph, self.cfg, self.out_dir = graph, cfg, out_dir
        self.quiet = quiet
        self.spec_file = spec_file
        self.rank, self.local_rank, self.world = dist_env()
        self.is_main = self.rank == 0
        self.distributed = self.world > 1
        self.device = resolve_device(cfg.device, self.local_rank)
        if self.distributed and not torch.distributed.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend)
        seed_everything(cfg.seed)
        self.progress = (sys.stderr.isatty() if progress is None else progress) and self.is_main and not quiet

        # model, task, data
        self.model = model.to(self.device)
        self.net_names = list(graph.networks)
        self.raw_nets = dict(model.items()) if isinstance(model, nn.ModuleDict) else {self.net_names[0]: model}
        setup.require_trainable(graph, model)
        self.task = make_task(cfg, graph, self.raw_nets)
        self.data = self.task.load_data()
        self.task.check_loss()  # a chosen loss that does not fit the output's values: refused or warned
        for note in self.task.notes:
            self.log(note)
        self.data.train, self.data.val = setup.place_data(self.data, self.device, cfg.data_on_device)
        for part, what in zip((self.data.train, self.data.val), data_names):
            check_token_ids(self.task, part, what)
        if self.data.val is not None:
            setup.require_finite(self.data.val, "validation")
        stored = resume.get("threads") if resume is not None else None
        self.threads = setup.cpu_threads(graph, cfg, self.data.train, self.device, cpu,
                                         stored if isinstance(stored, int) and stored > 0 else None, threads_by)
        # chosen threads follow the load while training (set ones, and distributed runs, stay)
        self._watch = ThreadWatch(self.threads, torch.set_num_threads) if self.threads.auto and \
            not self.distributed else None

        # precision, memory format, wrapped networks, optimizers
        amp = setup.precision(cfg.precision, self.device)
        if amp.note:
            self.log(amp.note)
            self.task.notes.append(amp.note)  # a dry run says it too
        self.amp_dtype = amp.amp_dtype
        # what runs (config.yaml records it): fp16 asked for off CUDA trains in fp32
        self.precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp.amp_dtype]
        self.scaler = setup.grad_scaler(amp)
        self.channels_last = setup.use_channels_last(cfg.channels_last, self.model, self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.task.nets = setup.wrap_nets(self.raw_nets, self.device, self.distributed, cfg.compile)
        # a batch norm cannot train on a last batch of one sample: it is left out (said), one-sample
        # training sets and batches refused here, before the work
        self.drop_last, note = setup.single_sample_batches(graph, self.data.train, cfg.batch_size, self.world) \
            if training else (False, None)
        if note:
            self.log(note)
            self.task.notes.append(note)  # a dry run says it too
        self.steps_per_epoch = setup.steps_per_epoch(self.data.train, cfg.batch_size, self.world, self.drop_last)
        self._names = {id(p): n for n, p in model.named_parameters()}
        self._param_groups = setup.param_groups(self.task, model, cfg, self._names)
        self._optimizers: list[torch.optim.Optimizer] | None = None  # built on first use (see optimizers)
        self._schedules: list[LRSchedule] = []
        self._aux_modules: list[nn.Module] | None = None

        # loop state (checkpoint.LOOP_FIELDS)
        self.epoch = 0
        self.batch = 0  # batches done in self.epoch
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.partial: dict[str, float] = {}  # the means of self.epoch so far, when stopped mid-way
        self.monitor = self._monitor()
        self._stop_requested = False
        self.train_time = 0.0
        self.train_samples = 0
        self.weight_scale = checkpoint.weight_scale(self.model)  # at initialisation: what "exploded" is measured by
        # where the resumed checkpoint stood (epoch, batch, best_epoch, _path)
        self.resumed: dict[str, Any] | None = None
        if resume is not None:
            self._restore(resume)
            self.resumed = {k: resume.get(k) for k in ("epoch", "batch", "best_epoch", "_path")}

    # --- optimizers (built when first used: dry runs, eval and predict never import torch._dynamo, which
    # constructing a torch optimizer does) ---
    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        if self._optimizers is None:
            self._optimizers, self._schedules = setup.optimizers(self._param_groups, self.cfg, self.steps_per_epoch,
                                                                 self._names)
        return self._optimizers

    @property
    def schedules(self) -> list[LRSchedule]:
        self.optimizers  # noqa: B018 (builds them)
        return self._schedules

    # --- messages ---
    def log(self, message: str) -> None:
        if self.is_main and not self.quiet:
            if self.progress:
                from tqdm import tqdm

                tqdm.write(message)
            else:
                print(message, flush=True)

    # --- the step context (what tasks use) ---
    def autocast(self) -> Any:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def aux_loss(self) -> torch.Tensor | float:
        """Sum of ``module.aux_loss`` over the model (activity regularization, VAE KL)."""
        if self._aux_modules is None:
            self._aux_modules = [m for m in self.model.modules() if hasattr(m, "aux_loss")]
        total: torch.Tensor | float = 0.0
        for m in self._aux_modules:
            term = m.aux_loss
            if isinstance(term, torch.Tensor):
                total = total + term.float()
        return total

    def backward(self, loss: torch.Tensor, index: int = 0, params: list[nn.Parameter] | None = None) -> None:
        """Backward, unscale, clip, optimizer step, zero the gradients (optimizer ``index``)."""
        opt = self.optimizers[index]
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        clip = self.cfg.clip
        if clip.norm is not None or clip.value is not None:
            if self.scaler is not None:
                self.scaler.unscale_(opt)
            ps = params if params is not None else [p for g in opt.param_groups for p in g["params"]]
            if clip.value is not None:
                torch.nn.utils.clip_grad_value_(ps, clip.value)
            if clip.norm is not None:
                torch.nn.utils.clip_grad_norm_(ps, clip.norm, foreach=True)
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def zero_grad(self, index: int) -> None:
        self.optimizers[index].zero_grad(set_to_none=True)

    # --- batches ---
    def to_device(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        out = []
        for t in batch:
            if t.device != self.device:
                t = t.to(self.device, non_blocking=True)
            if self.channels_last and t.dim() == 4 and t.is_floating_point():
                t = t.contiguous(memory_format=torch.channels_last)
            out.append(t)
        return tuple(out)

    def batches(self, data: Any, shuffle: bool, epoch: int, skip: int = 0,
                batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, ...]]:
        """The batches of ``data`` for this process in ``epoch``'s order, after the first ``skip``. The
        training set's last batch is left out when a batch norm could not train on it (``drop_last``)."""
        bs = batch_size or self.cfg.batch_size
        drop = self.drop_last and data is self.data.train and batch_size is None
        if isinstance(data, TensorSet):
            order = epoch_order(len(data), shuffle, self.cfg.seed, epoch)
            for b in tensor_batches(data, bs, order, self.rank, self.world, skip, drop):
                yield self.to_device(b)
            return
        pin = self.device.type == "cuda"
        loader, sampler = make_loader(data, bs, shuffle, self.cfg.seed, self.rank, self.world, self.threads.workers,
                                      pin, drop)
        if isinstance(sampler, OrderSampler):
            sampler.set_epoch(epoch, skip * max(1, bs // self.world))
            it = iter(loader)
        else:
            sampler.set_epoch(epoch)
            it = iter(loader)
            for _ in range(skip):
                next(it, None)
        for b in it:
            yield self.to_device(tuple(b) if isinstance(b, (list, tuple)) else (b,))

    # --- monitoring ---
    def _monitor(self) -> str:
        m = self.cfg.monitor
        if m != "auto":
            if m.startswith("val") and self.data.val is None:
                raise UsageError(f"monitor '{m}' needs a validation set (val_split > 0)")
            if m == "val_accuracy" and not self.task.HAS_ACCURACY:
                raise UsageError(f"monitor 'val_accuracy': task '{self.task.name}' has no accuracy")
            return m
        if self.data.val is None:
            return "train_loss"
        return "val_accuracy" if self.task.HAS_ACCURACY else "val_loss"

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.monitor.endswith("accuracy") else value < self.best

    # --- the loop ---
    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        if self.is_main and self.out_dir is not None:
            output.prepare_dir(self)
        self._tb = output.tensorboard(self)
        self.optimizers  # noqa: B018 (built before the clock starts: the first one imports torch._dynamo)
        old_handler = self._install_sigint()
        t_start = time.perf_counter()
        stopped_early = False
        try:
            while self.epoch < cfg.epochs:
                train_stats = self._train_epoch()
                val_stats = self.evaluate(self.data.val) if self.data.val is not None else {}
                row = {"epoch": self.epoch + 1, "train_loss": train_stats.get("loss"),
                       **{f"train_{k}": v for k, v in train_stats.items()
                          if not k.startswith("_") and k not in ("loss", "n")},
                       **{f"val_{k}": v for k, v in val_stats.items() if k != "n"},
                       "lr": self.optimizers[0].param_groups[0]["lr"],
                       "samples_per_s": round(train_stats.get("_throughput", 0.0), 1),
                       "time_s": round(train_stats.get("_time", 0.0), 3)}
                self.history.append(row)
                metric = row.get(self.monitor)
                stage = self.task.stage_of(self.epoch)  # a dbn: the RBM trained, whose loss this is
                for i, s in enumerate(self.schedules):
                    if stage is None or i == stage:
                        s.end_epoch(self.epoch, row.get("val_loss", row["train_loss"]))
                watched = self.task.monitored(self.epoch)  # a dbn: the last stage's epochs only
                improved = watched and metric is not None and self._improved(float(metric))
                if improved:
                    self.best, self.best_epoch, self.bad_epochs = float(metric), self.epoch + 1, 0
                elif watched:
                    self.bad_epochs += 1
                self.epoch += 1
                self.batch = 0
                self.partial = {}
                output.epoch_line(self, row, train_stats)
                self._check_weights()
                if self.is_main and self.out_dir is not None:
                    # last.pt (which records the best epoch) first, then best.pt: a build killed between
                    # the two is repaired on resume (checkpoint.repair_best); the metrics follow them
                    self.save("last.pt")
                    if improved:
                        self.save("best.pt")
                    output.write_metrics(self)
                    if self._tb is not None:
                        for k, v in row.items():
                            if isinstance(v, (int, float)) and k != "epoch":
                                self._tb.add_scalar(k, v, self.epoch)
                self._barrier()
                if cfg.patience is not None and self.bad_epochs >= cfg.patience:
                    self.log(f"early stop: no improvement of {self.monitor} for {cfg.patience} epochs")
                    stopped_early = True
                    break
        finally:
            self._restore_sigint(old_handler)
            if self._tb is not None:
                self._tb.close()
        elapsed = time.perf_counter() - t_start
        summary = output.summary(self, elapsed, stopped_early)
        if self.is_main and self.out_dir is not None:
            output.write_outputs(self, summary)
        return summary

    def _train_epoch(self) -> dict[str, Any]:
        cfg = self.cfg
        train_mode(self.model, *self.task.nets.values())  # frozen layers with state stay in eval mode
        steps = self.steps_per_epoch
        skip = self.batch
        losses = torch.zeros(steps, device=self.device)
        meter = RunningMean(self.device, start=self.partial)  # resumed mid-epoch: the means so far
        bar = None
        if self.progress:
            from tqdm import tqdm

            n_train = len(self.data.train)
            bar = tqdm(total=n_train, initial=min(n_train, skip * cfg.batch_size),
                       desc=f"epoch {self.epoch + 1}/{cfg.epochs}", unit="sample", unit_scale=True,
                       leave=False, dynamic_ncols=True, file=sys.stderr, mininterval=0.25)
        host = meter.on_host
        check_every = 50  # off the CPU: steps between reads of the loss buffer
        losses_host = losses.numpy() if host else None  # shares memory with ``losses``
        t0 = time.perf_counter()
        last_refresh = t0
        seen = 0
        b = skip
        try:
            for b, batch in enumerate(self.batches(self.data.train, True, self.epoch, skip), start=skip):
                for s in self.schedules:
                    s.step_batch(self.global_step, self.epoch)
                stats = self._first_step(batch) if self.global_step == 0 else self.task.train_step(self, batch)
                n = int(stats.pop("n"))
                meter.add(stats, n)
                if host:  # CPU: every step's loss is checked as it comes (on the host copy: no tensor op)
                    losses_host[b] = float(stats["loss"])
                    check = not math.isfinite(losses_host[b])
                else:
                    losses[b] = stats["loss"]
                    check = (b + 1) % check_every == 0
                seen += n
                self.global_step += 1
                self.batch = b + 1
                if check:
                    self._check_finite(losses, b + 1)
                if self._watch is not None:
                    self._follow_load()
                if bar is not None:
                    bar.update(n * self.world)
                    now = time.perf_counter()
                    if now - last_refresh > 0.25 or b == skip:
                        last_refresh = now
                        bar.set_postfix_str(f"loss {meter.mean('loss'):.4g}", refresh=False)
                if cfg.checkpoint_steps and self.global_step % cfg.checkpoint_steps == 0 and b + 1 < steps:
                    self._check_finite(losses, b + 1)
                    self._check_weights()
                    self.partial = meter.means()
                    if self.is_main and self.out_dir is not None:
                        self.save("last.pt")
                if self._stop_now():
                    self._check_finite(losses, b + 1)
                    self._check_weights()
                    self.partial = meter.means()
                    path = None
                    if self.is_main and self.out_dir is not None:
                        path = self.save("last.pt")
                    raise TrainingInterrupted(
                        f"interrupted at epoch {self.epoch + 1}, step {b + 1}/{steps}"
                        + (f"; saved {path}\n    resume with: netspec build {self.spec_file or 'SPEC'} "
                           f"--resume {path.parent}" if path else ""))
        finally:
            if bar is not None:
                bar.close()
        self._check_finite(losses, steps)
        elapsed = time.perf_counter() - t0
        self.train_time += elapsed
        self.train_samples += seen * self.world
        means = meter.means(reduce=self.distributed)
        means["_time"] = elapsed
        means["_throughput"] = seen * self.world / max(elapsed, 1e-9)
        return means

    def _follow_load(self) -> None:
        """Fewer intra-op threads when other processes take the cores, more when they leave them."""
        assert self._watch is not None
        changed = self._watch.poll()
        if changed is not None:
            old, new, _ = changed
            self.threads = self._watch.choice
            self.log(f"threads: {old} → {new} ({self.threads.reason})")

    def _first_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        """The run's first step: a data/target mismatch becomes a DataError naming both."""
        try:
            return self.task.train_step(self, batch)
        except Exception as exc:
            err = step_failure(self.task, batch, exc, "the first training step")
            if err is None:
                raise
            raise err from None

    def _check_finite(self, losses: torch.Tensor, upto: int) -> None:
        """Stop with the exact epoch and step when a loss in this epoch so far is NaN or infinite."""
        if self.device.type == "cpu":  # on CPU every step is checked as it comes
            if upto == 0 or math.isfinite(float(losses[upto - 1])):
                return
        bad = ~torch.isfinite(losses[:upto])
        if bool(bad.any()):
            b = int(bad.nonzero()[0])
            value = float(losses[b])
            raise self._diverged(f"the loss became {value} at epoch {self.epoch + 1}, step {b + 1}/"
                                 f"{self.steps_per_epoch} (global step {self.global_step - (self.batch - b) + 1})")

    def _check_weights(self) -> None:
        """Stop when the weights are no longer a good checkpoint (non-finite, or exploded while the
        loss was still finite): checked before every write of last.pt, so it always holds good weights."""
        problem = checkpoint.weights_problem(self.model, self.weight_scale)
        if problem is not None:
            where = f"epoch {self.epoch + (0 if self.batch == 0 else 1)}" + (
                f", step {self.batch}/{self.steps_per_epoch}" if self.batch else "")
            raise self._diverged(f"{problem} at {where} (global step {self.global_step})")

    def _diverged(self, what: str) -> TrainingDiverged:
        last = (self.out_dir / "last.pt") if self.out_dir is not None else None
        where = checkpoint.position_of(last) if last is not None and last.exists() else None
        keep = (f"the last good checkpoint is {last} ({where})" if where is not None
                else "no checkpoint had been written yet")
        return TrainingDiverged(
            f"training diverged: {what}; training stopped and {keep}\n"
            f"    hint: lower the learning rate (--lr), clip gradients (--clip-norm 1.0), "
            f"or check the data for NaN/inf values")

    @torch.no_grad()
    def evaluate(self, data: Any) -> dict[str, Any]:
        """Mean loss (and accuracy) over a data set; sharded across processes under torchrun."""
        eval_mode(self.model, *self.task.nets.values())
        meter = RunningMean(self.device, floats=False)  # float32 tensor sums: metrics as they have always been
        bs = self.cfg.eval_batch_size or 4 * self.cfg.batch_size
        for batch in self.batches(data, False, 0, batch_size=bs):
            stats = self.task.eval_step(self, batch)
            meter.add(stats, int(stats.pop("n")))
        out = meter.means(reduce=self.distributed)
        out.pop("n", None)
        return out

    def _barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()

    # --- Ctrl-C ---
    def _install_sigint(self) -> Any:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum: int, frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True
            if self.is_main:
                print("\nnetspec: stopping after this step and saving (Ctrl-C again to abort)", file=sys.stderr)

        return signal.signal(signal.SIGINT, handler)

    def _restore_sigint(self, old: Any) -> None:
        if old is not None:
            signal.signal(signal.SIGINT, old)

    def _stop_now(self) -> bool:
        if not self.distributed:
            return self._stop_requested
        if self.global_step % 10:
            return False
        flag = torch.tensor([1.0 if self._stop_requested else 0.0], device=self.device)
        torch.distributed.all_reduce(flag)
        return bool(flag.item() > 0)

    # --- checkpoints ---
    def state(self) -> dict[str, Any]:
        """The checkpoint of the run as it stands."""
        return checkpoint.make_state(self.graph.name, self.cfg, self.model, self.optimizers, self.schedules,
                                     self.scaler, self.device, self.task,
                                     {f: getattr(self, f) for f in checkpoint.LOOP_FIELDS},
                                     self.threads.threads if self.device.type == "cpu" else None,
                                     checkpoint.layer_lines(self.graph))

    def save(self, name: str) -> Path:
        assert self.out_dir is not None
        return checkpoint.save(self.state(), self.out_dir / name)

    def _restore(self, state: dict[str, Any]) -> None:
        loop = checkpoint.restore(state, self.model, self.optimizers, self.schedules, self.scaler, self.device,
                                  self.task)
        if loop["batch"] >= self.steps_per_epoch:
            raise UsageError(f"{state.get('_path')}: the checkpoint stopped after step {loop['batch']} of an epoch, "
                             f"but an epoch of this run has {self.steps_per_epoch} steps\n    hint: a run stopped "
                             f"within an epoch resumes with the batch size and data it was trained with")
        for field, value in loop.items():
            setattr(self, field, value)
        self.log(f"resumed from {state.get('_path')} at epoch {self.epoch + 1}"
                 + (f", step {self.batch}" if self.batch else ""))
