"""Names and numbers in a spec written by ``netspec import``: snake-case names, children numbered from 1,
and floats written as the shortest text that reads back the same."""

from __future__ import annotations

import math
import re
import struct
from typing import Any

import torch.nn as nn

from netspec.core.source import map_leaves


def numbered_from_one(model: nn.Module) -> dict[str, str]:
    """Children named ``<stem>_0`` ... ``<stem>_<n-1>`` (torchvision's ViT ``encoder_layer_0``): their paths
    -> ``<stem>_1`` ... ``<stem>_<n>``, the names of a repeat's copies, which the weights loader spells
    back as ``<stem>_<k - 1>``. Children named after their parent (torchvision's RegNet ``block3`` holds
    ``block3-0`` ...) are named by their class instead (``res_bottleneck_block_1`` ..., spelled back as
    ``<parent>-<k - 1>``): a block definition that two parents share must not carry one parent's name."""
    out: dict[str, str] = {}
    for path, m in model.named_modules():
        kids = [(name, type(k)) for name, k in m.named_children()]
        found = [re.fullmatch(r"(.+?)([_-])(\d+)", k) for k, _ in kids]
        named_after = len(found) == 1 and found[0] is not None and found[0][1] == path.rpartition(".")[2]
        if (len(kids) > 1 or named_after) and all(found) and len({(f[1], f[2]) for f in found if f}) == 1 and \
                [int(f[3]) for f in found if f] == list(range(len(kids))):
            parent = path.rpartition(".")[2]
            for (k, cls), f in zip(kids, found):
                assert f is not None
                stem = snake(cls.__name__) if f[1] == parent or f[2] != "_" else f[1]
                out[f"{path}.{k}" if path else k] = f"{stem}_{int(f[3]) + 1}"
    return out


def shortest_float(x: float) -> float:
    """The shortest decimal that is the same float32 as ``x`` (``0.07500000000000001`` is ``0.075``,
    ``9.999999974752427e-07``, a float32's 1e-6 read back as a double, is ``1e-06``): tensors compute in
    float32, where the two are one number."""
    if not math.isfinite(x):
        return x
    same = struct.pack("<f", x) if abs(x) < 3.4e38 else None
    for digits in range(1, 18):
        short = float(f"{x:.{digits}g}")
        if short == x or (same is not None and struct.pack("<f", short) == same):
            return short
    return x


def tidy_floats(v: Any) -> Any:
    """Every float of a spec tree as :func:`shortest_float`."""
    return map_leaves(v, lambda x: shortest_float(x) if isinstance(x, float) else x)


def snake(name: str) -> str:
    name = name.lstrip("_")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
