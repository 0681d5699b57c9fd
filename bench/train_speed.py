"""Training throughput: `netspec build`'s loop vs a minimal hand-written PyTorch loop.

Same spec-compiled model (same initial weights), same in-memory data on the same device, same
optimizer and loss, same batch size, in the same process. Rounds alternate between the two loops
and the best epoch of each is compared (robust against other load on a shared machine).

    python bench/train_speed.py                       # LeNet-5 on the bundled digits, CPU (+ CUDA if present)
    python bench/train_speed.py --spec specs/vgg16.yaml --batch-size 32 --rounds 2

Goal: ratio (netspec / hand-written) ≥ 0.95.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from netspec.train.api import prepare  # noqa: E402
from netspec.train.loop import Trainer  # noqa: E402


def hand_written_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, loss_fn, x: torch.Tensor,
                       y: torch.Tensor, batch: int, epoch: int) -> float:
    """The minimal loop: shuffle, index, forward, loss, backward, step. Returns samples/s."""
    model.train()
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(epoch)
    perm = torch.randperm(len(x), generator=g).to(x.device)
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync()
    return len(x) / (time.perf_counter() - t0)


def netspec_epoch(trainer: Trainer) -> float:
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    sync()
    stats = trainer._train_epoch()
    sync()
    trainer.epoch += 1
    trainer.batch = 0
    return stats["_throughput"]


def bench(spec: str, device: str, batch: int, rounds: int, extra: dict) -> tuple[float, float]:
    flags = {"device": device, "batch_size": batch, "epochs": 1000, "val_split": 0.0, **extra}
    trainer = prepare(spec, flags, write=False, quiet=True, progress=False)
    x, y = trainer.data.train.tensors[:2]
    task = trainer.task

    # the same model, the same initial weights, an identical optimizer and loss
    from netspec.backends.torch.compile import compile_graph
    from netspec.train.schedule import build_optimizer

    model = compile_graph(trainer.graph).to(trainer.device)
    model.load_state_dict(trainer.raw_nets[trainer.net_names[0]].state_dict())
    if trainer.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = build_optimizer(trainer.cfg.optimizer, list(model.parameters()))
    loss_fn = task.loss_fn

    hand, ours = [], []
    hand_written_epoch(model, opt, loss_fn, x, y, batch, 0)  # warm-up (allocator, oneDNN/cuDNN plans)
    netspec_epoch(trainer)
    for r in range(rounds):
        hand.append(hand_written_epoch(model, opt, loss_fn, x, y, batch, r + 1))
        ours.append(netspec_epoch(trainer))
    return max(hand), max(ours)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=os.path.join(os.path.dirname(__file__), "..", "specs", "lenet5.yaml"))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", action="append", help="cpu, cuda (default: cpu, and cuda when available)")
    args = ap.parse_args()
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    print(f"spec {os.path.basename(args.spec)}, batch {args.batch_size}, best of {args.rounds} epochs each, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    worst = 1.0
    for dev in devices:
        hand, ours = bench(args.spec, dev, args.batch_size, args.rounds, {})
        ratio = ours / hand
        worst = min(worst, ratio)
        print(f"{dev:>5}: hand-written {hand:>10,.0f} samples/s   netspec build {ours:>10,.0f} samples/s   "
              f"ratio {ratio:.3f} {'(goal ≥ 0.95: ok)' if ratio >= 0.95 else '(goal ≥ 0.95: MISSED)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
