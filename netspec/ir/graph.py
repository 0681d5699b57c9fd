"""The graph IR: the validated spec with every shape, parameter shape, MAC count and receptive field
resolved, statically. Backends (report, diagram, torch) read only this; :mod:`netspec.ir.build` makes it.

Each leaf layer becomes one frozen :class:`Node` whose ``name`` is the dotted path of its submodule in
the compiled module, carrying everything a consumer needs (label, family, activation, state names,
merge glyph, parameter and buffer shapes, MACs, receptive field, source location). Only the torch
backend reads ``Node.layer``, to call its ``build``. Structure kinds become :class:`GroupInfo`
records (clusters, collapsible blocks). A network whose shape inference failed keeps the nodes made
before the failure and a :class:`Failure` saying which layer failed and what it was fed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from netspec.core.errors import Location, NetspecError, UsageError, did_you_mean
from netspec.core.sizes import Count, numeric_product
from netspec.core.types import Ref, TensorType

if TYPE_CHECKING:  # pragma: no cover
    from netspec.layers.base import Layer
    from netspec.spec.model import Expect
    from netspec.spec.train import TrainConfig


@dataclass(frozen=True)
class Node:
    """One leaf layer, resolved.

    Attributes:
        name: dotted path of its submodule in the compiled module (``layer1.block_1.conv1``).
        kind: the canonical layer kind.
        label: short label in the notes' notation (``conv 5×5 ×6 /1``).
        family: the kind's family (colour and grouping: ``conv``, ``pool``, ``merge``, ...).
        activation: the ``activation:`` shorthand applied after the module, or None (identity too).
        output_activation: the activation the output went through last (an activation kind names
            itself; a wrapper names its last layer's), or None.
        normalized_axis: the per-sample axis over which that activation made values summing to 1 (a
            softmax's ``axis``; -1 for the ``activation:`` shorthand), None when no activation ends it.
        states: names of its recurrent state outputs besides ``out`` (LSTM: ``("h", "c")``).
        glyph: a merge's operator (``+``, ``‖``, ``×``), or None.
        shape_only: moves values without changing them (flatten, reshape, permute).
        eval_identity: in eval its output is its input (dropout, gaussian noise, identity).
        batch_stats: in training it normalizes with statistics over the batch, which needs more than one
            value per channel (batch norm).
        trainable: False when ``trainable: false`` freezes its parameters (on it or an enclosing group).
        init: its ``init:``, or the scheme of the innermost enclosing group that sets one.
        shared / tied: ``share:`` (it applies that node's module) and ``tie:`` (param -> that node's param).
        params / buffers: named shapes, exactly as the module's ``named_parameters()``/``named_buffers()``.
        macs: multiply-adds of one sample: an int, or an :class:`~netspec.core.sizes.Expr` of the
            symbolic sizes (``2128*(floor((T - 5)/2) + 1)``).
        buffer_dtypes: the dtype of each buffer (``float``, or ``long`` for batch norm's step counter).
        rf: receptive field per spatial axis, ``(size, jump)``; None when not defined (after dense).
        layer: the validated layer object; only the torch backend reads it (to call ``build``).
    """

    name: str
    kind: str
    label: str
    family: str
    layer: "Layer"
    inputs: tuple[Ref, ...]
    in_types: tuple[TensorType, ...]
    outputs: dict[str, TensorType]
    params: dict[str, tuple[int, ...]]
    buffers: dict[str, tuple[int, ...]]
    macs: Count
    rf: tuple[tuple[int, int], ...] | None  # per spatial axis: (size, jump)
    group: str
    location: Location | None
    path: str
    activation: str | None = None
    output_activation: str | None = None
    normalized_axis: int | None = None
    states: tuple[str, ...] = ()
    glyph: str | None = None
    shape_only: bool = False
    eval_identity: bool = False
    batch_stats: bool = False
    trainable: bool = True
    init: Any = None
    buffer_dtypes: dict[str, str] = field(default_factory=dict)
    shared: str | None = None  # this node applies that node's module (its parameters and buffers count there)
    tied: dict[str, tuple[str, str]] = field(default_factory=dict)  # param -> (node, param) it is
    warnings: tuple[str, ...] = ()
    role: str | None = None

    @property
    def out(self) -> TensorType:
        return next(iter(self.outputs.values()))

    # The counts are computed on first use and kept (the report, the table and the diagram each read
    # them several times). A cached_property stores into the instance's __dict__, which a frozen
    # dataclass allows: the fields stay read-only, and a node made by ``replace`` counts afresh.
    @cached_property
    def n_params(self) -> int:
        """Parameters this node owns: a shared module's and tied parameters count once, where they live
        (as ``torch.nn.Module.parameters()`` counts them)."""
        if self.shared:
            return 0
        return sum(numeric_product(s) for name, s in self.params.items() if name not in self.tied)

    @property
    def n_trainable(self) -> int:
        return self.n_params if self.trainable else 0

    @property
    def own_buffers(self) -> dict[str, tuple[int, ...]]:
        """Buffers this node owns: none for a shared module, whose buffers count once, where they live
        (as ``torch.nn.Module.buffers()`` counts them)."""
        return {} if self.shared else self.buffers

    @cached_property
    def n_buffers(self) -> int:
        """Values in the buffers this node owns (:attr:`own_buffers`)."""
        return sum(numeric_product(s) for s in self.own_buffers.values())


@dataclass
class GroupInfo:
    """A structure kind instance (block, repeat, residual, parallel branch).

    ``topology`` says how its children are wired: ``chain`` (in order), ``skip`` (a body plus a
    shortcut, summed), ``branches`` (side by side, merged); the builder's own scopes are
    ``shortcut`` and ``branch``.
    """

    name: str
    kind: str
    label: str
    parent: str
    block: str | None
    location: Location | None
    topology: str = "chain"
    children: list[str] = field(default_factory=list)
    output: Ref | None = None


@dataclass(frozen=True)
class Failure:
    """Where shape inference stopped: the layer (named as it would have been) and what it was fed."""

    name: str
    label: str
    family: str
    inputs: tuple[Ref, ...]
    location: Location | None
    activation: str | None = None


@dataclass
class NetGraph:
    """One network, resolved. ``error`` and ``failure`` are set on a partial graph (inference stopped)."""

    name: str
    inputs: dict[str, TensorType]
    input_sources: dict[str, str | None]
    nodes: list[Node]
    groups: dict[str, GroupInfo]
    outputs: dict[str, Ref]
    expect: "Expect | None" = None
    error: NetspecError | None = None
    failure: Failure | None = None
    _index: dict[str, Node] = field(default_factory=dict, repr=False)

    def type_of(self, ref: Ref) -> TensorType:
        if ref.src in self.inputs:
            return self.inputs[ref.src]
        return self.node(ref.src).outputs[ref.key]

    def node(self, name: str) -> Node:
        """The node of that name (a dict look-up; KeyError when there is none)."""
        if len(self._index) != len(self.nodes):
            self._index = {n.name: n for n in self.nodes}
        return self._index[name]

    @property
    def params(self) -> int:
        return sum(n.n_params for n in self.nodes)

    @property
    def trainable(self) -> int:
        return sum(n.n_trainable for n in self.nodes)

    @property
    def buffers(self) -> int:
        return sum(n.n_buffers for n in self.nodes)

    @property
    def macs(self) -> Count:
        return sum((n.macs for n in self.nodes), 0)

    @property
    def warnings(self) -> list[str]:
        return [f"{n.name}: {w}" for n in self.nodes for w in n.warnings]

    @property
    def symbolic(self) -> bool:
        """True when some shape has a symbolic dim (MACs are then an expression of it)."""
        types = list(self.inputs.values()) + [t for n in self.nodes for t in n.outputs.values()]
        return any(isinstance(d, str) for t in types for d in t.shape)

    def output_types(self) -> dict[str, TensorType]:
        return {name: self.type_of(ref) for name, ref in self.outputs.items()}


@dataclass
class Graph:
    """Every network of a spec, resolved (in dependency order).

    ``error`` is set on a partial graph (``build_graph(partial=True)``): the failing network is the
    last one, holding its nodes up to the failure; networks after it are absent.
    """

    name: str
    networks: dict[str, NetGraph]
    single: bool = True  # the spec has one network (expectation paths then start at `expect`)
    train: "TrainConfig | None" = None  # the spec's training recipe, for the trainer
    error: NetspecError | None = None
    bind: dict[str, int] = field(default_factory=dict)  # the sizes given to symbolic dims (`--bind T=50`)

    def network(self, name: str | None = None) -> NetGraph:
        if name is None:
            if len(self.networks) != 1:
                raise UsageError(f"the spec has {len(self.networks)} networks ({', '.join(self.networks)}); "
                                 "choose one with --network NAME")
            return next(iter(self.networks.values()))
        if name not in self.networks:
            hint = did_you_mean(name, self.networks)
            raise UsageError(f"no network '{name}' in the spec; it has: {', '.join(self.networks)}"
                             + (f"; {hint}" if hint else ""))
        return self.networks[name]

    def only(self, name: str) -> "Graph":
        """The same graph with one network (raises with the valid names)."""
        return Graph(self.name, {name: self.network(name)}, self.single, self.train, self.error, self.bind)
