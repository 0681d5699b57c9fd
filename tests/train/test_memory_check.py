"""Review of 2026-11-30 (new user, second pass): `build` refuses, before building anything, a run whose
weights, gradients and optimizer state do not fit in the memory available (compile.check_memory with an
optimizer). The per-optimizer table (train.schedule.OPTIMIZER_STATE) is checked against torch itself: each
real optimizer is stepped once and its state tensors counted; the estimate against the bytes torch holds."""

from __future__ import annotations

import pytest
import torch

import netspec
from netspec.backends.torch import compile as C
from netspec.cli.main import main
from netspec.core.errors import BuildError, NetspecError
from netspec.core.fmt import human_bytes
from netspec.spec.train import OptimizerConfig
from netspec.train.schedule import build_optimizer, optimizer_state

SPEC = """
name: small
input: [2, 6, 6]
layers:
  - conv2d: {filters: 3, kernel: 3}
    name: conv
    trainable: false
  - batch_norm2d: {}
    name: bn
  - flatten
  - dense: {units: 4, activation: relu}
  - dense: 2
train: {device: cpu, epochs: 1, threads: 1}
"""

CONFIGS = [{"name": "sgd"}, {"name": "sgd", "momentum": 0.9}, {"name": "adam"}, {"name": "adamw"},
           {"name": "adagrad"}, {"name": "rmsprop"}, {"name": "rmsprop", "momentum": 0.5}]


def _stepped(opt_cfg: dict) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The spec's model after one real training step with this optimizer (torch allocates its state)."""
    torch.manual_seed(0)
    model = netspec.compile(SPEC)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(OptimizerConfig(**opt_cfg), params)
    model(torch.randn(4, 2, 6, 6)).sum().backward()
    opt.step()
    return model, opt


@pytest.mark.parametrize("opt_cfg", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_the_table_counts_the_state_torch_keeps(opt_cfg):
    model, opt = _stepped(opt_cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    state = [(key, value) for p in params for key, value in opt.state[p].items() if torch.is_tensor(value)]
    full, scalars, keys = optimizer_state(OptimizerConfig(**opt_cfg))
    assert set(keys) == {key for key, _ in state}
    assert sum(v.numel() for _, v in state) == full * sum(p.numel() for p in params) + scalars * len(params)


def _torch_bytes(opt_cfg: dict) -> int:
    """What torch holds for a training step: weights and buffers, gradients, optimizer state (bytes)."""
    model, opt = _stepped(opt_cfg)
    held = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    held += sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None)
    held += sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
    return held


def _check(opt_cfg: dict) -> None:
    full, scalars, keys = optimizer_state(OptimizerConfig(**opt_cfg))
    graph = netspec.analyze(SPEC)
    C.check_memory(list(graph.networks.values()), optimizer=(f"{opt_cfg['name']} keeps {', '.join(keys)}", full, scalars),
                   device=torch.device("cpu"))


@pytest.mark.parametrize("opt_cfg", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_the_estimate_is_what_torch_holds_and_one_byte_less_is_refused(opt_cfg, monkeypatch):
    need = _torch_bytes(opt_cfg)
    monkeypatch.setattr(C, "available_memory", lambda: need)
    _check(opt_cfg)  # fits exactly
    monkeypatch.setattr(C, "available_memory", lambda: need - 1)
    with pytest.raises(BuildError) as info:
        _check(opt_cfg)
    msg = str(info.value)
    assert f"training needs about {human_bytes(need)} before any activation" in msg
    assert f"more than the {human_bytes(need - 1)} of memory available" in msg
    assert "gradients" in msg and "optimizer state" in msg and "a smaller batch will not help" in msg


def test_build_refuses_before_building_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC, encoding="utf-8")
    sgd = _torch_bytes({"name": "sgd"})  # weights and gradients only: adam keeps two more of each weight
    monkeypatch.setattr(C, "available_memory", lambda: sgd)

    def no_build(*args, **kwargs):
        raise AssertionError("built before the memory check")

    monkeypatch.setattr(C, "compile_graph", no_build)
    assert main(["build", "s.yaml", "--optimizer", "adam"]) != 0
    err = capsys.readouterr().err
    assert "training needs about" in err and "adam keeps exp_avg, exp_avg_sq, step" in err, err
    assert "Traceback" not in err and not (tmp_path / "runs").exists()


def test_eval_does_not_count_a_training_state(monkeypatch):
    """evaluate/predict build the model only: the training estimate is not asked of them (prepare's
    ``checkpoint``); the weights' own check still runs when the model is compiled."""
    calls = []
    monkeypatch.setattr(C, "check_memory", lambda *a, **k: calls.append(k))
    from netspec.train import api

    with pytest.raises(NetspecError):  # (the default data does not fit this input: after the model is built)
        api.prepare(SPEC, checkpoint={"config": {}, "spec_name": "small"}, write=False, quiet=True)
    assert calls == [{}]  # compile_network's check of the weights, and no other
    calls.clear()
    with pytest.raises(NetspecError):
        api.prepare(SPEC, write=False, quiet=True)  # a run to train: counted with its optimizer first
    assert [sorted(k) for k in calls] == [["device", "optimizer"], []]


def test_on_a_cuda_device_its_free_memory_is_the_limit(monkeypatch):
    need = _torch_bytes({"name": "adam"})
    seen = []

    def free_on(device):
        seen.append(device)
        return need - 1, 1 << 40  # (free, total), as torch.cuda.mem_get_info gives them

    monkeypatch.setattr(torch.cuda, "mem_get_info", free_on)
    monkeypatch.setattr(C, "available_memory", lambda: 1 << 40)  # the host has plenty: not what counts
    full, scalars, keys = optimizer_state(OptimizerConfig(name="adam"))
    nets = list(netspec.analyze(SPEC).networks.values())
    with pytest.raises(BuildError) as info:
        C.check_memory(nets, optimizer=("adam keeps " + ", ".join(keys), full, scalars), device=torch.device("cuda", 0))
    assert seen == [torch.device("cuda", 0)]
    assert f"more than the {human_bytes(need - 1)} free on cuda:0" in str(info.value)
