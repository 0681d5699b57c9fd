"""Compiled modules against hand-written ones: forward and forward+backward time, in the same process.

Each case pairs the module ``netspec.compile`` builds from a spec with the model a PyTorch user would
write by hand (torchvision's layout, ``ReLU(inplace=True)``, ``out += identity``; ``nn.LSTM``;
``F.scaled_dot_product_attention``), with the same parameter count and the same weights. Calls
alternate A B A B and the medians of wall and CPU time are compared; the ratio is netspec / hand-written
(1.00 = equal, goal ≤ 1.02). CPU time is the process's (all its threads), which another process's load
disturbs less than wall time.

    python bench/module_speed.py                      # ResNet-50, LSTM classifier, ViT-B/16; 1 and 2 threads
    python bench/module_speed.py --cases resnet50,lstm --threads 1 --no-backward --out-of-place   # ~30 s
    python bench/module_speed.py --compile            # also under torch.compile (minutes per graph on a small CPU)
    python bench/module_speed.py --device cuda --threads 1 --batch-scale 8 --compile   # on a GPU

On a busy 2-core machine the full default run takes ~20 minutes (ResNet-50's forward+backward at batch 8
is seconds per call) and two threads measure mostly the contention: start with the ~30 s line above.

The hand-written models are defined here (no torchvision needed); ``check_speed.py`` builds its
reference ResNet from them too, so this module imports neither netspec nor anything heavy but torch at
import time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- hand-written models (torchvision's layout and idioms) -------------------------------------------

class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision.models.resnet.ResNet with bottleneck blocks."""

    def __init__(self, layers: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes, stages = 64, []
        for i, (width, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = []
            for b in range(blocks):
                stage.append(Bottleneck(inplanes, width, 2 if i > 0 and b == 0 else 1))
                inplanes = width * Bottleneck.expansion
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


RESNET_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


def resnet(depth: int) -> ResNet:
    return ResNet(RESNET_LAYERS[depth])


class LSTMClassifier(nn.Module):
    """specs/keras_lstm_classifier.yaml by hand: LSTM(128) → last step → dense 64 relu → dense 1 sigmoid."""

    def __init__(self, features: int = 256, hidden: int = 128) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.fc1 = nn.Linear(hidden, 64)
        self.fc2 = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return torch.sigmoid(self.fc2(F.relu(self.fc1(out[:, -1]), inplace=True)))


class EncoderBlock(nn.Module):
    """Pre-norm Transformer encoder block, attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int = 768, heads: int = 12, mlp: int = 3072) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, e = x.shape
        q, k, v = (y.unflatten(-1, (self.heads, e // self.heads)).transpose(1, 2)
                   for y in self.qkv(self.ln_1(x)).chunk(3, dim=-1))
        a = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, e))
        return x + self.fc2(F.gelu(self.fc1(self.ln_2(x))))


class ViT(nn.Module):
    """torchvision's vit_b_16 layout (patch conv, class token, learned positions, 12 blocks, head)."""

    def __init__(self, dim: int = 768, depth: int = 12, patch: int = 16, image: int = 224, classes: int = 1000) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.layers = nn.Sequential(*(EncoderBlock(dim) for _ in range(depth)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])


# --- cases -------------------------------------------------------------------------------------------

# name: (spec, hand-written factory, input shape per sample, default CPU batch)
CASES: dict[str, tuple[str, Callable[[], nn.Module], tuple[int, ...], int]] = {
    "resnet50": ("specs/resnet50.yaml", lambda: resnet(50), (3, 224, 224), 8),
    "lstm": ("specs/keras_lstm_classifier.yaml", LSTMClassifier, (10, 256), 64),
    "vit_b_16": ("specs/vit_b_16.yaml", ViT, (3, 224, 224), 2),
}


def copy_weights(src: nn.Module, dst: nn.Module) -> bool:
    """Give ``dst`` the numbers of ``src``: each entry of its state dict takes the first unused entry of
    ``src`` with the same shape, in registration order (a module's own parameters come before its
    children's in ``dst``, in network order in ``src``). False if some shape finds no partner."""
    pool = list(src.state_dict().values())
    out = {}
    for key, value in dst.state_dict().items():
        i = next((i for i, v in enumerate(pool) if v.shape == value.shape), None)
        if i is None:
            return False
        out[key] = pool.pop(i)
    dst.load_state_dict(out)
    return True


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> tuple[float, float]:
    sync()
    w, c = time.perf_counter(), time.process_time()
    fn()
    sync()
    return time.perf_counter() - w, time.process_time() - c


def compare(models: list[nn.Module], x: torch.Tensor, backward: bool, rounds: int,
            sync: Callable[[], None]) -> list[tuple[float, float]]:
    """Median (wall, CPU) seconds of each model, calls interleaved in a rotating order; warm-up calls first."""
    def step(model: nn.Module) -> Callable[[], object]:
        if backward:
            def run() -> None:
                model(x).float().sum().backward()
                for p in model.parameters():
                    p.grad = None
            return run

        def infer() -> None:
            with torch.inference_mode():
                model(x)
        return infer

    steps = [step(m) for m in models]
    for s in steps:  # warm-up (allocator, oneDNN kernels)
        s()
    # small models: repeat each sample so that it lasts ~0.2 s, and take twice the samples (a timer tick, a
    # context switch or another process's burst is a large part of a 10 ms call)
    reps = max(1, round(0.2 / max(timed(steps[-1], sync)[0], 1e-4)))
    if reps > 1:
        steps = [(lambda s=s: [s() for _ in range(reps)]) for s in steps]
        rounds *= 2
    times: list[list[tuple[float, float]]] = [[] for _ in steps]
    for r in range(rounds):
        order = list(range(len(steps)))
        order = order[r % len(order):] + order[:r % len(order)]  # A B, B A, ...: no model always runs first
        for i in order:
            times[i].append(timed(steps[i], sync))
    med = statistics.median
    return [(med(t[0] for t in ts) / reps, med(t[1] for t in ts) / reps) for ts in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--threads", default="1,2", help="torch intra-op thread counts to try (CPU)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-scale", type=int, default=1, help="multiply every case's batch (e.g. 8 on a GPU)")
    parser.add_argument("--compile", action="store_true", help="also compare both under torch.compile")
    parser.add_argument("--no-backward", action="store_true", help="forward only")
    parser.add_argument("--out-of-place", action="store_true",
                        help="also time netspec with in_place=False (the compiler before in-place activations)")
    args = parser.parse_args()

    sys.path.insert(0, ROOT)
    import netspec
    from netspec.backends.torch.compile import compile_graph

    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    threads = [int(t) for t in args.threads.split(",")] if device.type == "cpu" else [torch.get_num_threads()]
    print(f"torch {torch.__version__}, device {device}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; median of {args.rounds} alternating calls")
    print("ratio = netspec / hand-written (goal <= 1.02); wall and CPU (process time, all threads)")
    print(f"{'case':<10}{'batch':>6}{'thr':>4}  {'mode':<26}{'ours ms':>9}{'hand ms':>9}{'wall x':>8}{'cpu x':>8}")
    for name in args.cases.split(","):
        spec, factory, shape, batch = CASES[name]
        path = os.path.join(ROOT, spec)
        if not os.path.exists(path):
            print(f"{name:<10} skipped: {spec} does not exist")
            continue
        batch *= args.batch_scale
        torch.manual_seed(0)
        ours = compile_graph(netspec.analyze(path)).to(device)
        theirs = factory().to(device)
        n_ours, n_ref = (sum(p.numel() for p in m.parameters()) for m in (ours, theirs))
        if n_ours != n_ref:
            raise SystemExit(f"{name}: parameter counts differ ({n_ours} vs {n_ref}); not the same model")
        same = copy_weights(ours, theirs)
        if same:  # the same function, not only the same parameter count
            with torch.no_grad():
                probe = torch.randn(2, *shape, device=device)
                diff = (ours.eval()(probe) - theirs.eval()(probe)).abs().max().item()
            if diff > 1e-4:
                print(f"{name}: warning: outputs differ from the hand-written model by {diff:.2e}")
        models = {"netspec": ours, "hand": theirs}
        if args.out_of_place:
            models["netspec out-of-place"] = compile_graph(netspec.analyze(path), in_place=False).to(device)
            models["netspec out-of-place"].load_state_dict(ours.state_dict())
        x = torch.randn(batch, *shape, device=device)
        variants = [("eager", dict(models))]
        if args.compile:
            variants.append(("compiled", {k: torch.compile(m) for k, m in models.items()}))
        for t in threads:
            torch.set_num_threads(t)
            for label, runs in variants:
                for backward in (False, True) if not args.no_backward else (False,):
                    for m in models.values():
                        m.train(backward)
                    t0 = time.perf_counter()
                    res = dict(zip(runs, compare(list(runs.values()), x, backward, args.rounds, sync)))
                    wall_ref, cpu_ref = res["hand"]
                    note = f"({time.perf_counter() - t0:.0f} s{'' if same else ', weights not copied'})"
                    for key, (wall, cpu) in res.items():
                        if key == "hand":
                            continue
                        mode = f"{label} {'fwd+bwd' if backward else 'forward'}{key[7:]}"
                        print(f"{name:<10}{batch:>6}{t:>4}  {mode:<26}{wall * 1e3:>9.1f}{wall_ref * 1e3:>9.1f}"
                              f"{wall / wall_ref:>8.3f}{cpu / cpu_ref:>8.3f}   {note}", flush=True)
                        note = ""


if __name__ == "__main__":
    main()
