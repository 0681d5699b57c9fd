"""What the import tests check of every imported spec, in one place: independently of the importer's own
self-check, the spec has the model's parameter count (torch at run time), takes its state dict completely
and every module by name, and computes the model's outputs."""

from __future__ import annotations

import torch
import torch.nn as nn

import netspec


def sample(shape: list[int], batch: int = 2) -> torch.Tensor:
    """A fixed random input of ``batch`` samples of ``shape``."""
    torch.manual_seed(1)
    return torch.randn(batch, *shape)


def same_function(text: str, model: nn.Module, x: torch.Tensor, atol: float = 1e-5) -> float:
    """Assert the above for the spec ``text`` and ``model`` on input ``x``; the largest output difference."""
    report = netspec.check(text)
    assert report.ok, [str(f) for f in report.failures]
    assert report.graph.network().params == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(text, weights=model.state_dict()).eval()
    assert mine.netspec_weights.complete
    assert {how for *_, how in mine.netspec_weights.loaded} <= {"name"}, mine.netspec_weights.table(True)
    with torch.no_grad():
        a, b = mine(x), model.eval()(x)
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=atol), float((a - b).abs().max())
    return float((a - b).abs().max())


def kinds_in(item: object) -> set[str]:
    """Every key of an imported spec's layer items, nested ones too (the kinds it holds, and their options)."""
    if isinstance(item, dict):
        return set(item) | {k for v in item.values() for k in kinds_in(v)}
    if isinstance(item, list):
        return {k for v in item for k in kinds_in(v)}
    return set()
