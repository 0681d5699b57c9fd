"""The drawing model of `netspec draw`: the options, and the boxes and clusters a network is drawn as."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from netspec.core.errors import UsageError
from netspec.ir.graph import NetGraph, Node

MAX_UNROLL = 12


@dataclass(frozen=True)
class DrawOptions:
    """What ``to_dot`` and ``draw`` take as keyword arguments."""

    depth: int | None = None  # None: automatic (readable); N: blocks nested deeper than N collapse
    collapse_repeats: bool | None = None  # None: only when the view with every copy drawn is not readable
    network: str | None = None
    unroll: int = 0
    rankdir: Literal["TB", "LR", "BT", "RL"] = "TB"
    shapes: bool = True
    params: bool = True
    legend: bool = True
    title: str | None = None
    bind: dict[str, int] | None = None
    strict: bool = False

    def check(self) -> "DrawOptions":
        if self.depth is not None and not _whole(self.depth):
            raise UsageError(f"depth must be a whole number ≥ 0 (or None for automatic), got {self.depth!r}")
        if not _whole(self.unroll) or self.unroll > MAX_UNROLL:
            raise UsageError(f"unroll must be a whole number from 0 to {MAX_UNROLL}, got {self.unroll!r}")
        if str(self.rankdir).upper() not in ("TB", "LR", "BT", "RL"):
            raise UsageError(f"rankdir must be TB or LR (or BT, RL), got {self.rankdir!r}")
        return self


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


@dataclass
class Box:
    """One drawn node: a layer, a collapsed block, a run of identical blocks, an input, the failed layer."""

    id: str
    kind: Literal["leaf", "collapsed", "run", "input", "failed"]
    nodes: list[Node] = field(default_factory=list)  # the leaves it stands for
    title: str = ""
    label: str = ""
    shape: str = ""
    params: int = 0
    family: str = "other"
    count: int = 1
    note: str = ""  # the error message of a failed layer
    fullname: str = ""


@dataclass
class Cluster:
    """An expanded group: a block, repeat, residual, parallel, branch or shortcut.

    ``topology`` is the group's (``GroupInfo.topology``), or ``network`` for a whole network.
    """

    id: str
    title: str
    topology: str
    items: list["Box | Cluster"] = field(default_factory=list)


@dataclass
class NetView:
    """A network as drawn: its clusters and boxes, which box each leaf maps to, the edges."""

    graph: NetGraph
    root: Cluster
    owner: dict[str, str]  # node name (or input name) -> box id
    boxes: dict[str, Box]
    # src, dst, label, style, key, index
    edges: list[tuple[str, str, str, str, str, int]] = field(default_factory=list)
    unrolled: dict[str, list[str]] = field(default_factory=dict)  # box id -> step box ids

    @property
    def n_items(self) -> int:
        return len(self.boxes)
