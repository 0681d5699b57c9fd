"""``netspec import``: a PyTorch model -> a spec, by tracing it with ``torch.fx``.

Each traced call of a standard module or function becomes a layer (:data:`MODULES`, :data:`FUNCTIONS`;
a recurrent module's ``(output, state)`` is read through how forward indexes it, :meth:`Importer.recurrent_uses`);
the module tree gives the groups (a container's dataflow read as a chain, a residual ``f(x) + x`` or
``f(x) + g(x)`` with a trailing activation, parallel branches merged at the end, or failing those a
group whose layers name their inputs with ``from:``). Containers of one class and one structure become
a block definition, what differs between them its parameters; a run of identical instances is a
``repeat``. Whatever cannot be mapped (a module netspec has no kind for, a shape computation, a weight
used twice) is listed by its place in the model, and nothing is written.

Names follow the model's: attributes keep theirs, the children of an ``nn.Sequential``/``nn.ModuleList``
are numbered by index (``features.0`` is ``conv2d_1``, ``layer1.0`` is ``basic_block_1``), which the
weights loader spells back as the indices, so the model's own state dict loads by name. DenseNet's dense
connectivity is read as a running concatenation (:func:`running_concatenations`): a repeated block.

The result is checked: the spec must resolve with the model's exact parameter count, compile, take
the model's own state dict and compute the same outputs on random inputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import operator
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from netspec.api import analyze
from netspec.api import compile as compile_spec
from netspec.core.errors import BuildError, Location, NetspecError, Problem, UsageError
from netspec.frontends.write.yaml import to_yaml
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import all_kind_names
from netspec.layers.conv.conv1d import Conv1d
from netspec.layers.conv.conv2d import Conv2d
from netspec.layers.core.dense import Dense
from netspec.layers.core.dropout import Dropout
from netspec.layers.core.flatten import Flatten
from netspec.layers.core.leaky_relu import LeakyReLU
from netspec.layers.merge.add import Add
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.multiply import Multiply
from netspec.layers.norm.batchnorm1d import BatchNorm1d
from netspec.layers.norm.batchnorm2d import BatchNorm2d
from netspec.layers.pool.adaptive_avg_pool2d import AdaptiveAvgPool2d
from netspec.layers.pool.avg_pool2d import AvgPool2d
from netspec.layers.pool.max_pool2d import MaxPool2d
from netspec.layers.recurrent.gru import GRU
from netspec.layers.recurrent.lstm import LSTM
from netspec.layers.recurrent.rnn import RNN
from netspec.layers.sequence.embedding import Embedding
from netspec.layers.structure.parallel import Parallel
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential

TORCHVISION_INPUT = [3, 224, 224]


class NotImportable(BuildError):
    """Parts of the model netspec cannot express; ``parts`` lists ``(where, what, why)``."""

    def __init__(self, parts: list[tuple[str, str, str]]) -> None:
        self.parts = parts
        width = max(len(w) for w, _, _ in parts)
        lines = [f"  {w:<{width}}  {what}: {why}" for w, what, why in parts]
        super().__init__(f"not importable ({len(parts)}):\n" + "\n".join(lines))


# --- one traced call -> one layer item ------------------------------------------------------------------
def _pair(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        v = list(v)
        return v[0] if len(set(v)) == 1 else v
    return v


def _conv(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if m.padding_mode != "zeros":
            raise ValueError(f"padding_mode {m.padding_mode!r}")
        item: dict[str, Any] = {"filters": m.out_channels, "kernel": _pair(m.kernel_size)}
        for key, value, default in (("stride", _pair(m.stride), 1), ("padding", _pair(m.padding), 0),
                                    ("dilation", _pair(m.dilation), 1), ("groups", m.groups, 1)):
            if value != default:
                item[key] = value
        if m.bias is None:
            item["bias"] = False
        return {kind: item}
    return make


def _norm(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if not m.track_running_stats or m.momentum is None:
            raise ValueError("batch norm without running statistics or with a cumulative average")
        item: dict[str, Any] = {}
        if m.eps != 1e-5:
            item["eps"] = m.eps
        if m.momentum != 0.1:
            item["momentum"] = m.momentum
        if not m.affine:
            item["affine"] = False
        return {kind: item}
    return make


def _pool(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if getattr(m, "dilation", 1) not in (1, (1, 1)) or getattr(m, "return_indices", False):
            raise ValueError("dilated pooling or pooling that returns indices")
        if not getattr(m, "count_include_pad", True) or getattr(m, "divisor_override", None):
            raise ValueError("average pooling that leaves the padding out of the count")
        item: dict[str, Any] = {"kernel": _pair(m.kernel_size)}
        stride = _pair(m.stride)
        if stride not in (None, item["kernel"]):
            item["stride"] = stride
        if _pair(m.padding) != 0:
            item["padding"] = _pair(m.padding)
        if m.ceil_mode:
            item["ceil_mode"] = True
        return {kind: item}
    return make


def _linear(m: nn.Module) -> dict[str, Any]:
    return {Dense.KIND: {"units": m.out_features, **({} if m.bias is not None else {"bias": False})}}


def _dropout(m: nn.Module) -> dict[str, Any]:
    return {Dropout.KIND: {"rate": m.p, **({"spatial": True} if isinstance(m, (nn.Dropout1d, nn.Dropout2d)) else {})}}


def _flatten(m: nn.Module) -> dict[str, Any]:
    if (m.start_dim, m.end_dim) != (1, -1):
        raise ValueError(f"flatten from dim {m.start_dim} to {m.end_dim} (netspec flattens all but the batch)")
    return {Flatten.KIND: {}}


def _adaptive(m: nn.Module) -> dict[str, Any]:
    return {AdaptiveAvgPool2d.KIND: {"output_size": _pair(m.output_size)}}


def _leaky(m: nn.Module) -> dict[str, Any]:
    return {LeakyReLU.KIND: {"slope": m.negative_slope}}


def _embedding(m: nn.Module) -> dict[str, Any]:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise ValueError("max_norm, scale_grad_by_freq or sparse (netspec's embedding is a plain lookup)")
    item: dict[str, Any] = {"vocab": m.num_embeddings, "dim": m.embedding_dim}
    if m.padding_idx is not None:
        item["padding_idx"] = m.padding_idx
    return {Embedding.KIND: item}


def _recurrent(layer: type) -> Callable[[nn.Module], dict[str, Any]]:
    """A recurrent module as ``layer`` (LSTM, GRU, RNN) with what differs from its defaults;
    ``return_sequences`` is set from how forward reads its output (:meth:`Importer.recurrent_uses`)."""
    def make(m: nn.Module) -> dict[str, Any]:
        if not m.batch_first:
            raise ValueError("batch_first=False (netspec's sequences are batch-first, (N, T, F))")
        if getattr(m, "proj_size", 0):
            raise ValueError("proj_size (netspec's LSTM has no projection)")
        extra = {"nonlinearity": m.nonlinearity} if layer is RNN else {}
        item = layer(kind=layer.KIND, units=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional,
                     dropout=m.dropout, bias=m.bias, **extra).model_dump(by_alias=True, exclude_defaults=True)
        item.pop("kind")
        return {layer.KIND: item}
    return make


RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
LAST_STEP = ((slice(None, None, None), -1), (slice(None, None, None), -1, slice(None, None, None)))


# torch.nn class -> the layer item it becomes (raising ValueError for options netspec lacks)
MODULES: dict[type, Callable[[nn.Module], dict[str, Any]]] = {
    nn.Conv2d: _conv(Conv2d.KIND), nn.Conv1d: _conv(Conv1d.KIND),
    nn.BatchNorm2d: _norm(BatchNorm2d.KIND), nn.BatchNorm1d: _norm(BatchNorm1d.KIND),
    nn.MaxPool2d: _pool(MaxPool2d.KIND), nn.AvgPool2d: _pool(AvgPool2d.KIND),
    nn.AdaptiveAvgPool2d: _adaptive, nn.Linear: _linear, nn.Dropout: _dropout, nn.Dropout2d: _dropout,
    nn.Flatten: _flatten, nn.LeakyReLU: _leaky, nn.Embedding: _embedding,
    nn.LSTM: _recurrent(LSTM), nn.GRU: _recurrent(GRU), nn.RNN: _recurrent(RNN),
}
# activation modules and functions without options: from the one activation table
ACTIVATION_MODULES = {getattr(nn, a.module): name for name, a in ACTIVATIONS.items()
                      if a.plain_kind and not a.kwargs and hasattr(nn, a.module)}
# activation modules whose options must be the table's defaults (softmax over the last axis)
ACTIVATION_DEFAULTS = {getattr(nn, a.module): name for name, a in ACTIVATIONS.items()
                       if a.kwargs and hasattr(nn, a.module) and getattr(nn, a.module) not in MODULES}
ACTIVATION_FUNCTIONS: dict[Any, str] = {}
for _name, _act in ACTIVATIONS.items():
    if _act.plain_kind and not _act.kwargs:
        _mod, _, _fn = _act.functional.rpartition(".")
        for _space in ((torch,) if _mod == "torch" else (F, torch)):
            if hasattr(_space, _fn):
                ACTIVATION_FUNCTIONS[getattr(_space, _fn)] = _name
IDENTITY = next(name for name, a in ACTIVATIONS.items() if a.is_identity and a.plain_kind)
MERGES = {operator.add: Add.KIND, operator.iadd: Add.KIND, torch.add: Add.KIND,
          operator.mul: Multiply.KIND, operator.imul: Multiply.KIND, torch.mul: Multiply.KIND}
FUNCTIONS = {torch.flatten, torch.cat, torch.concat, F.adaptive_avg_pool2d, F.dropout, *MERGES, *ACTIVATION_FUNCTIONS}
# tensor methods read as the torch function of the same name
METHODS = {f.__name__: f for f in (torch.flatten, *(f for f in ACTIVATION_FUNCTIONS if getattr(torch, f.__name__, None)
                                                   is f and hasattr(torch.Tensor, f.__name__)))}
INPLACE_OK = {"inplace"}  # keyword arguments that do not change the values


@dataclass
class Op:
    """One traced call, mapped: its layer item, its tensor inputs (fx node names), its container."""

    node: str
    container: str
    attr: str
    item: dict[str, Any]
    inputs: list[str]
    module: str | None = None  # the module's path, for a module call
    concat: bool = False  # a torch.cat (of one tensor: the identity)


@dataclass
class Box:
    """A container module: its ops and child containers, in trace order."""

    path: str
    attr: str
    cls: type
    units: list[Any] = field(default_factory=list)  # Op | Box
    inputs: list[str] = field(default_factory=list)  # fx nodes from outside, in order of use
    output: str | None = None
    exported: set[str] = field(default_factory=set)  # its fx nodes used outside it


class ModelCodeError(NetspecError):
    """The user's model code failed: a file that does not parse, a module or function that raises."""


def _raised(exc: BaseException, what: str, file: str | None, hint: str) -> ModelCodeError:
    """``what`` raised ``exc``: located at the deepest line of ``file`` in the traceback (if any)."""
    location = None
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        location = Location(exc.filename, exc.lineno, exc.offset or 1)
        message = f"{what}: the file does not parse: {exc.msg}"
        hint = "fix the Python syntax there: netspec imports the file to build the model"
    else:
        if file is not None:
            want = Path(file).resolve()
            for frame in traceback.extract_tb(exc.__traceback__):
                try:
                    if Path(frame.filename).resolve() == want:
                        location = Location(file, frame.lineno or 1, (frame.colno or 0) + 1)
                except OSError:
                    continue
        detail = str(exc).splitlines()[0] if str(exc) else ""
        message = f"{what} raised {type(exc).__name__}" + (f": {detail}" if detail else "")
    return ModelCodeError(problems=[Problem(message, location, hint=hint)])


def load_model(target: str) -> nn.Module:
    """``torchvision:resnet18``, ``package.module:function`` or ``path/file.py:function`` -> the module.

    A function or class is called without arguments; an ``nn.Module`` instance is used as it is.

    Raises:
        UsageError: the target is malformed, or not found.
        ModelCodeError: the file does not parse, or importing it or calling the function raised (located
            at the line of the user's file where it did).
    """
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"import takes torchvision:NAME or MODULE:FUNCTION (or FILE.py:FUNCTION), got '{target}'")
    file = where if where.endswith(".py") else None
    try:
        if where == "torchvision":
            import torchvision.models as where_module
        elif file is not None:
            spec = importlib.util.spec_from_file_location(Path(where).stem, where)
            if spec is None or spec.loader is None or not Path(where).exists():
                raise UsageError(f"no Python file at {where}")
            where_module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = where_module
            try:
                spec.loader.exec_module(where_module)
            except BaseException:
                sys.modules.pop(spec.name, None)
                raise
        else:
            where_module = importlib.import_module(where)
    except ImportError as exc:
        raise UsageError(f"cannot import {where}: {exc}") from None
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed as it was imported
        raise _raised(exc, f"importing {where}", file or _source_file(where),
                      "the model's own code failed before netspec read it; run it with python to see the "
                      "traceback") from None
    obj = getattr(where_module, attr, None)
    if obj is None:
        raise UsageError(f"{where} has no '{attr}'")
    if isinstance(obj, nn.Module):
        model = obj
    else:
        try:
            model = obj()
        except Exception as exc:
            raise _raised(exc, f"calling {target}", file or getattr(where_module, "__file__", None),
                          f"netspec calls {attr} without arguments to build the model; make it build one "
                          "that way (give its arguments defaults, or import a function that calls it)") from None
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target} gives a {type(model).__name__}, not a torch.nn.Module")
    return model


def _source_file(module: str) -> str | None:
    found = importlib.util.find_spec(module) if module else None
    return found.origin if found is not None else None


class OneLayer(nn.Module):
    """A bare standard module (``nn.Linear(3, 2)``) as the one child of a model, so the trace calls it
    as a module (traced as the root, it would be its functions and its weights' ``get_attr``)."""

    def __init__(self, name: str, module: nn.Module) -> None:
        super().__init__()
        self.add_module(name, module)
        self.child = name

    def forward(self, x: torch.Tensor) -> Any:
        return self.get_submodule(self.child)(x)


def standalone(model: nn.Module) -> nn.Module:
    """``model``, or, when it is itself one standard layer, a :class:`OneLayer` holding it (its state
    dict keys then gain the layer's name: ``weight`` is ``linear.weight``)."""
    if type(model) in MODULES or type(model) in ACTIVATION_MODULES or type(model) in ACTIVATION_DEFAULTS:
        return OneLayer(_snake(type(model).__name__), model)
    return model


def example_input(model: nn.Module, shape: list[int], dtype: str, batch: int = 2) -> torch.Tensor:
    """Random inputs: normal floats, or token ids below the smallest embedding's vocabulary."""
    if dtype == "long":
        vocab = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
        return torch.randint(0, min(vocab) if vocab else 2, (batch, *shape))
    return torch.randn(batch, *shape)


class Importer:
    """Trace, map, structure, write."""

    def __init__(self, model: nn.Module, input_shape: list[int], name: str, input_dtype: str = "float") -> None:
        self.model = model.eval()
        self.input_shape = input_shape
        self.input_dtype = input_dtype
        self.name = name
        self.problems: list[tuple[str, str, str]] = []
        self.modules = dict(model.named_modules())
        self.blocks: dict[str, dict[str, Any]] = {}
        self.kinds = set(all_kind_names())
        self.classes: dict[int, type] = {}  # id(item) -> the container class it came from
        self._last: dict[str, Any] = {}  # container path -> full name of its output node

    # --- trace and map -------------------------------------------------------------------------------
    def trace(self) -> fx.GraphModule:
        try:
            return fx.symbolic_trace(self.model)
        except Exception as exc:
            raise BuildError(f"torch.fx cannot trace the model: {type(exc).__name__}: {exc}") from None

    def ops(self, gm: fx.GraphModule) -> tuple[list[str], list[Op], list[str]]:
        """The placeholders, the mapped ops and the outputs (fx node names)."""
        inputs, ops, outputs = [], [], []
        used: dict[str, int] = {}
        alias: dict[str, str] = {}  # the output of a recurrent module read through indexing -> that module's node
        sequences: dict[str, bool] = {}
        unmapped: set[str] = set()
        for n in gm.graph.nodes:
            if n.op == "call_module" and isinstance(self.modules.get(str(n.target)), RECURRENT):
                sequences[n.name] = self.recurrent_uses(n, alias)
        for n in gm.graph.nodes:
            stack = [re.sub(r"@\d+$", "", k) for k in n.meta.get("nn_module_stack", {})]
            if n.op == "placeholder":
                inputs.append(n.name)
                continue
            if n.op == "output":
                outputs = [alias.get(a.name, a.name) for a in _tensors(n.args[0])]
                continue
            if n.name in alias:
                continue
            where = stack[-1] if stack else n.name
            try:
                op = self.map(n, stack)
            except ValueError as exc:
                what = type(self.modules[n.target]).__name__ if n.op == "call_module" else _fn_name(n.target)
                self.problems.append((str(n.target) if n.op == "call_module" else where, what, str(exc)))
                if n.op == "call_module":
                    unmapped.add(str(n.target))  # called, though not mapped: not "never called"
                continue
            op.inputs = [alias.get(a, a) for a in op.inputs]
            if n.name in sequences:
                kind = next(iter(op.item))
                op.item = {kind: {**op.item[kind], **({"return_sequences": True} if sequences[n.name] else {})}}
            if op.module is not None and any(True for _ in self.modules[op.module].parameters(recurse=False)):
                used[op.module] = used.get(op.module, 0) + 1
                if used[op.module] == 2:
                    self.problems.append((op.module, type(self.modules[op.module]).__name__,
                                          "its weights are used twice (netspec layers own their weights)"))
            ops.append(op)
        called = {op.module for op in ops if op.module} | unmapped
        for path, m in self.modules.items():
            if any(True for _ in m.parameters(recurse=False)) and path not in called and \
                    not any(path.startswith(c + ".") for c in called):
                self.problems.append((path, type(m).__name__, "never called by forward (in eval mode)"))
        return inputs, ops, outputs

    def recurrent_uses(self, n: fx.Node, alias: dict[str, str]) -> bool:
        """How forward reads a recurrent module's ``(output, state)``: True when it uses every step
        (``out``), False when only the last (``out[:, -1]``, one direction); the indexing nodes become
        aliases of the module's node. Reading the final state is left to :meth:`map`'s problems."""
        m = self.modules[str(n.target)]
        seq_users: list[fx.Node] = []
        unused = [u for u in n.users if u.op == "call_function" and u.target is operator.getitem and not u.users]
        for u in n.users:
            if u.op == "call_function" and u.target is operator.getitem and u.args[1] == 0 and u.users:
                seq_users.append(u)
        if not seq_users or len(seq_users) + len(unused) != len(n.users):
            return True  # the state is read (or the tuple is passed on): map() lists what it cannot take
        steps = [w for u in seq_users for w in u.users]
        last = [w for w in steps if w.op == "call_function" and w.target is operator.getitem
                and w.args[1] in LAST_STEP]
        for u in unused:  # `out, _ = self.lstm(x)`: the state is unpacked and dropped
            alias[u.name] = n.name
        if steps and len(last) == len(steps) and not m.bidirectional:
            for u in seq_users:
                alias[u.name] = n.name
            for w in last:
                alias[w.name] = n.name
            return False
        for u in seq_users:
            alias[u.name] = n.name
        return True

    def map(self, n: fx.Node, stack: list[str]) -> Op:
        args = [a.name for a in _tensors(n.args)] + [a.name for a in _tensors(list(n.kwargs.values()))]
        if n.op == "call_module":
            m = self.modules[n.target]
            container, _, attr = str(n.target).rpartition(".")
            if type(m) in ACTIVATION_MODULES:
                item = {ACTIVATION_MODULES[type(m)]: {}}
            elif type(m) in ACTIVATION_DEFAULTS:
                kind = ACTIVATION_DEFAULTS[type(m)]
                if any(getattr(m, k, v) != v for k, v in ACTIVATIONS[kind].kwargs.items()):
                    raise ValueError(f"options other than {ACTIVATIONS[kind].kwargs}")
                item = {kind: {}}
            elif type(m) in MODULES:
                item = MODULES[type(m)](m)
            else:
                raise ValueError(f"no netspec kind for {type(m).__module__}.{type(m).__name__}")
            return Op(n.name, container, attr, item, args, str(n.target))
        container = stack[-1] if stack else ""
        if n.op == "call_function" and n.target in FUNCTIONS:
            return Op(n.name, container, n.name, self.function(n), args,
                      concat=n.target in (torch.cat, torch.concat))
        if n.op == "call_method" and n.target in METHODS:  # x.flatten(1), x.relu(): as the functions
            fn = METHODS[n.target]
            if fn is torch.flatten:
                if list(n.args[1:]) not in ([1], [1, -1]):
                    raise ValueError(f"{n.target}{tuple(n.args[1:])} (netspec flattens all but the batch)")
                return Op(n.name, container, Flatten.KIND, {Flatten.KIND: {}}, args[:1])
            return Op(n.name, container, n.name, {ACTIVATION_FUNCTIONS[fn]: {}}, args[:1])
        raise ValueError(f"{n.op} {_fn_name(n.target)} has no netspec kind")

    def function(self, n: fx.Node) -> dict[str, Any]:
        fn, args, kwargs = n.target, list(n.args), dict(n.kwargs)
        extra = {k for k in kwargs if k not in INPLACE_OK and k not in ("dim", "start_dim", "end_dim", "p",
                                                                         "training", "output_size", "alpha")}
        if extra:
            raise ValueError(f"options {sorted(extra)}")
        if fn in MERGES:
            if len(_tensors(args)) != 2 or kwargs.get("alpha", 1) != 1:
                raise ValueError("a sum or product with a scalar (netspec merges tensors)")
            return {MERGES[fn]: {}}
        if fn in (torch.cat, torch.concat):
            if len(_tensors(args[0])) == 1:  # cat([x]) is x (DenseNet's first layer of a block)
                return {IDENTITY: {}}
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if not isinstance(dim, int) or dim == 0:
                raise ValueError("concatenation along the batch or a computed axis")
            return {Concat.KIND: {"axis": dim - 1 if dim > 0 else dim}}
        if fn is torch.flatten:
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            if (start, end) != (1, -1):
                raise ValueError(f"flatten from dim {start} to {end} (netspec flattens all but the batch)")
            return {Flatten.KIND: {}}
        if fn is F.adaptive_avg_pool2d:
            size = args[1] if len(args) > 1 else kwargs.get("output_size")
            return {AdaptiveAvgPool2d.KIND: {"output_size": _pair(size)}}
        if fn is F.dropout:
            p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            return {Dropout.KIND: {"rate": p}}
        return {ACTIVATION_FUNCTIONS[fn]: {}}

    # --- containers -------------------------------------------------------------------------------------
    def tree(self, ops: list[Op], outputs: list[str]) -> Box:
        root = Box("", self.name, type(self.model))
        boxes = {"": root}
        where: dict[str, Box] = {}
        for op in ops:
            parts = op.container.split(".") if op.container else []
            box = root
            for i in range(len(parts)):
                path = ".".join(parts[: i + 1])
                if path not in boxes:
                    boxes[path] = Box(path, parts[i], type(self.modules.get(path, nn.Module())))
                    box.units.append(boxes[path])
                box = boxes[path]
            box.units.append(op)
            where[op.node] = box
        for path, box in boxes.items():
            inside = {op.node for op in _ops(box)}
            for op in _ops(box):
                for a in op.inputs:
                    if a not in inside and a not in box.inputs:
                        box.inputs.append(a)
            outside = [a for op in ops if op.node not in inside for a in op.inputs if a in inside]
            outside += [o for o in outputs if o in inside]
            box.exported = set(outside)
            last = _ops(box)[-1].node if _ops(box) else None
            box.output = last
            if path and (len(box.exported) > 1 or (box.exported and last not in box.exported)):
                box.output = None  # read from outside: its layers must be named, not its output
        return root

    # --- items --------------------------------------------------------------------------------------
    def items(self, box: Box, names: dict[str, str], prefix: str) -> list[dict[str, Any]]:
        """The layer items of a container's units (a chain, or layers naming their inputs)."""
        out: list[dict[str, Any]] = []
        prev = box.inputs[0] if len(box.inputs) == 1 else None
        taken: set[str] = set()
        for unit in box.units:
            name = self.unit_name(unit, taken)
            full = f"{prefix}{name}"
            ins = unit.inputs
            item = self.unit_item(unit, names, full + ".")
            if list(ins) != [prev] and ins and (isinstance(unit, Op) or len(ins) == 1):
                # a group of several inputs takes none itself: its layers name theirs
                item["from"] = [names[a] for a in ins] if len(ins) > 1 else names[ins[0]]
            item["name"] = name
            out.append(item)
            out_node = unit.node if isinstance(unit, Op) else unit.output
            if out_node is not None:
                names[out_node] = self.output_name(unit, item, full)
            prev = out_node
        return out

    def unit_name(self, unit: Any, taken: set[str]) -> str:
        # An index (a child of nn.Sequential or nn.ModuleList) becomes `<kind or class>_<index + 1>`: the
        # weights loader spells such numbered siblings back as the indices (weights.torch_names).
        if isinstance(unit, Op):
            base = unit.attr if unit.module is not None else next(iter(unit.item))
            if not base.isidentifier():
                base = f"{next(iter(unit.item))}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        else:
            base = unit.attr
            if not base.isidentifier():
                base = f"{_snake(unit.cls.__name__)}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    def output_name(self, unit: Any, item: dict[str, Any], full: str) -> str:
        """The full name of the node a unit's output is (a group's is inside it)."""
        if isinstance(unit, Op):
            return full
        kind = _kind(item)
        if kind == Residual.KIND:
            return f"{full}.{Add.KIND}"
        if kind == Parallel.KIND:
            return f"{full}.merge"
        return self._last[unit.path]

    def unit_item(self, unit: Any, names: dict[str, str], prefix: str) -> dict[str, Any]:
        if isinstance(unit, Op):
            return dict(unit.item)
        item = self.structured(unit, names, prefix)
        if item is None:
            layers = self.items(unit, names, prefix)
            self._last[unit.path] = names[unit.output] if unit.output else prefix.rstrip(".")
            item = {Sequential.KIND: {"layers": layers}}
        self.classes[id(item)] = unit.cls
        return item

    def structured(self, box: Box, names: dict[str, str], prefix: str) -> dict[str, Any] | None:
        """A chain, a residual or parallel branches, written without ``from:``; None when it is none."""
        if len(box.inputs) != 1 or box.output is None or any(isinstance(u, Box) and u.output is None
                                                             for u in box.units):
            return None
        x = box.inputs[0]
        outs = {(u.node if isinstance(u, Op) else u.output): u for u in box.units}

        def chain(end: str) -> list[Any] | None:
            seq: list[Any] = []
            cur = end
            while cur != x:
                u = outs.get(cur)
                if u is None or len(u.inputs) != 1:
                    return None
                seq.append(u)
                cur = u.inputs[0]
            return seq[::-1]

        whole = chain(box.output)
        if whole is not None and len(whole) == len(box.units):
            layers = self.sub_items(whole, names, prefix)
            self._last[box.path] = names[box.output]
            return {Sequential.KIND: {"layers": layers}}
        # residual: ... merge(a, b) [activation]; parallel: merge(branches...)
        tail: list[Any] = []
        end = box.output
        while outs.get(end) is not None and isinstance(outs[end], Op) and len(outs[end].inputs) == 1 and \
                next(iter(outs[end].item)) in ACTIVATIONS and not tail:
            tail.append(outs[end])
            end = outs[end].inputs[0]
        merge = outs.get(end)
        if not isinstance(merge, Op) or next(iter(merge.item)) not in (Add.KIND, Concat.KIND, Multiply.KIND):
            return None
        branches = []
        for a in merge.inputs:
            b = [] if a == x else chain(a)
            if b is None:
                return None
            branches.append(b)
        used = sum(len(b) for b in branches) + 1 + len(tail)
        if used != len(box.units) or len({id(u) for b in branches for u in b}) != used - 1 - len(tail):
            return None
        kind = next(iter(merge.item))
        act = next(iter(tail[0].item)) if tail else None
        if kind == Add.KIND and len(branches) == 2 and any(branches):
            body, short = (branches[0], branches[1]) if branches[0] else (branches[1], branches[0])
            item: dict[str, Any] = {"layers": self.sub_items(body, names, prefix)}
            if short:
                item["shortcut"] = self.sub_items(short, names, prefix + "shortcut.")
            if act:
                item["activation"] = act
            names[merge.node] = f"{prefix}{Add.KIND}"
            for t in tail:
                names[t.node] = f"{prefix}{Add.KIND}"
            return {Residual.KIND: item}
        if any(branches) and len(branches) >= 2:  # an empty branch is the input (DenseNet's concat(x, f(x)))
            item = {"merge": kind, "branches": [self.sub_items(b, names, f"{prefix}branch{i + 1}.")
                                                for i, b in enumerate(branches)]}
            if kind == Concat.KIND and merge.item[kind].get("axis", 0) != 0:
                item["axis"] = merge.item[kind]["axis"]
            if act:
                item["activation"] = act
            names[merge.node] = f"{prefix}merge"
            for t in tail:
                names[t.node] = f"{prefix}merge"
            return {Parallel.KIND: item}
        return None

    def sub_items(self, units: list[Any], names: dict[str, str], prefix: str) -> list[dict[str, Any]]:
        out = []
        taken: set[str] = set()
        for u in units:
            name = self.unit_name(u, taken)
            item = self.unit_item(u, names, f"{prefix}{name}.")
            item["name"] = name
            node = u.node if isinstance(u, Op) else u.output
            names[node] = self.output_name(u, item, f"{prefix}{name}")
            out.append(item)
        return out

    # --- blocks -------------------------------------------------------------------------------------
    def make_blocks(self, layers: list[dict[str, Any]]) -> None:
        """Groups of one container class and one structure become a block definition (inner ones first)."""
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}

        def visit(items: list[dict[str, Any]]) -> None:
            for item in items:
                kind = _kind(item)
                body = item[kind]
                if isinstance(body, dict):
                    for key in ("layers", "shortcut"):
                        if isinstance(body.get(key), list):
                            visit(body[key])
                    for branch in body.get("branches") or []:
                        visit(branch)
                cls = self.classes.get(id(item))
                if cls is not None and cls not in (nn.Sequential, nn.ModuleList, nn.ModuleDict) and \
                        not _mentions(body, "from"):
                    found.setdefault((cls.__name__, _shape(item)), []).append(item)

        visit(layers)
        for (cls_name, _), group in found.items():
            if len(group) < 2:
                continue
            base = _snake(cls_name) or "block"
            numbered = {re.sub(r"_?\d+$", "", str(item.get("name", ""))) for item in group}
            if len(numbered) == 1 and all(re.search(r"\d$", str(item.get("name", ""))) for item in group):
                base = numbered.pop() or base  # `denselayer1`...: the block is `denselayer`, as the model says
            if base in self.kinds:
                base += "_block"
            name = base
            if name in self.blocks:
                name = f"{base}_with_shortcut" if _mentions(group[0], "shortcut") else base
            i = 2
            while name in self.blocks:
                name, i = f"{base}_{i}", i + 1
            self.blocks[name] = self.parameterise(name, group)

    def parameterise(self, bname: str, group: list[dict[str, Any]]) -> dict[str, Any]:
        kind = _kind(group[0])
        columns: dict[tuple[Any, ...], list[Any]] = {}
        for item in group:
            for path, value in _leaves(item[kind], ()):
                columns.setdefault(path, []).append(value)
        varying = {p: v for p, v in columns.items() if any(x != v[0] for x in v)}
        params: dict[str, tuple[Any, ...]] = {}
        pnames: dict[tuple[Any, ...], str] = {}
        for path, values in varying.items():
            key = tuple(repr(v) for v in values)
            existing = next((n for n, k in params.items() if k == key), None)
            if existing is None:
                base = _param_name(path)
                name, i = base, 2
                while name in params:
                    name, i = f"{base}_{i}", i + 1
                params[name] = key
                existing = name
            pnames[path] = existing
        definition = _substitute(group[0][kind], (), pnames)
        block: dict[str, Any] = {"params": {n: None for n in params}} if params else {}
        if kind == Sequential.KIND:
            block["layers"] = definition["layers"]
        elif kind == Residual.KIND:
            block.update({k: definition[k] for k in ("layers", "shortcut", "activation") if k in definition})
            block = {**({"params": block["params"]} if params else {}), Residual.KIND: True,
                     **{k: v for k, v in block.items() if k != "params"}}
        else:
            block["layers"] = [{Parallel.KIND: definition, "name": "branches"}]
        for item in group:
            values = {n: _get(item[kind], p) for p, n in pnames.items()}
            name = item.get("name")
            frm = item.get("from")
            item.clear()
            item[bname] = values
            if frm is not None:
                item["from"] = frm
            if name is not None:
                item["name"] = name
        return block

    # --- the spec -----------------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        gm = self.trace()
        inputs, ops, outputs = self.ops(gm)
        if len(inputs) != 1:
            self.problems.append(("forward", f"{len(inputs)} inputs", "netspec imports one-input models"))
        if self.problems:
            raise NotImportable(self.problems)
        ops, outputs = running_concatenations(ops, outputs)
        root = self.tree(ops, outputs)
        names = {inputs[0]: "input"}
        layers = self.items(root, names, "")
        self.make_blocks(layers)
        layers = _repeats(layers)
        spec: dict[str, Any] = {"netspec": 1, "name": self.name,
                                "description": f"{type(self.model).__name__} imported from PyTorch by netspec import"}
        if self.blocks:
            spec["blocks"] = self.blocks
        spec["input"] = list(self.input_shape) if self.input_dtype == "float" else \
            {"shape": list(self.input_shape), "dtype": self.input_dtype}
        spec["layers"] = layers
        if len(outputs) > 1:
            spec["outputs"] = [names[o] for o in outputs]
        with torch.no_grad():
            out = self.model(example_input(self.model, self.input_shape, self.input_dtype, batch=1))
        spec["expect"] = {"params": sum(p.numel() for p in self.model.parameters())}
        if isinstance(out, torch.Tensor):
            spec["expect"]["output_shape"] = list(out.shape[1:])
        return spec


def running_concatenations(ops: list[Op], outputs: list[str]) -> tuple[list[Op], list[str]]:
    """Dense connectivity as a chain: DenseNet's layer k concatenates everything before it,
    ``cat([x, n1, ..., n(k-1)])``; when ``cat([x, n1, ..., n(k-2)])`` was computed before (by layer k-1),
    it is ``cat([that, n(k-1)])`` (concatenation is associative), and that concatenation of a container's
    input with its last output belongs to that container: layer k-1 becomes ``x -> concat(x, f(x))``, a
    parallel group with an empty branch, and the layers of a dense block are copies of one block.
    A concatenation of one tensor is that tensor."""
    alias: dict[str, str] = {}
    seen: dict[tuple[str, ...], str] = {}  # the inputs of a concatenation -> its node
    producer = {op.node: op for op in ops}
    readers: dict[str, set[str]] = {}
    for op in ops:
        for a in op.inputs:
            readers.setdefault(a, set()).add(op.container)
    out: list[Op] = []
    for op in ops:
        op.inputs = [alias.get(a, a) for a in op.inputs]
        if not op.concat:
            out.append(op)
            continue
        ins = tuple(op.inputs)
        if len(ins) == 1:
            alias[op.node] = ins[0]
            seen.setdefault(ins, ins[0])
            continue
        prefix = seen.get(ins[:-1])
        last = producer.get(ins[-1])
        axis = op.item.get(Concat.KIND, {}).get("axis")
        prior = producer.get(prefix) if prefix is not None else None
        same_axis = prior is None or not prior.concat or prior.item.get(Concat.KIND, {}).get("axis") == axis
        if prefix is not None and last is not None and same_axis and len(ins) > 2:
            op.inputs = [prefix, ins[-1]]
        if prefix is not None and last is not None and same_axis and last.container != op.container and \
                last.container in readers.get(prefix, set()):  # the container reads the prefix: it is its input
            op.container = last.container
        seen[ins] = op.node
        out.append(op)
    return out, [alias.get(o, o) for o in outputs]


def _tensors(value: Any) -> list[fx.Node]:
    if isinstance(value, fx.Node):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _ops(box: Box) -> list[Op]:
    out: list[Op] = []
    for u in box.units:
        out += [u] if isinstance(u, Op) else _ops(u)
    return out


def _kind(item: dict[str, Any]) -> str:
    return next(k for k in item if k not in ("name", "from", "repeat"))


def _mentions(v: Any, key: str) -> bool:
    if isinstance(v, dict):
        return key in v or any(_mentions(x, key) for x in v.values())
    if isinstance(v, list):
        return any(_mentions(x, key) for x in v)
    return False


def _fn_name(target: Any) -> str:
    return getattr(target, "__name__", str(target))


def _snake(name: str) -> str:
    name = name.lstrip("_")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _shape(item: dict[str, Any]) -> str:
    """An item's structure without its values (what instances of one block share)."""
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            return [strip(x) for x in v]
        if isinstance(v, list) and v and all(isinstance(x, list) for x in v):
            return [strip(x) for x in v]
        return type(v).__name__
    return repr({k: strip(v) for k, v in item.items() if k not in ("name", "from", "repeat")})


def _leaves(v: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(v, dict):
        return [leaf for k, x in v.items() if k != "name" for leaf in _leaves(x, path + (k,))]
    if isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
        return [leaf for i, x in enumerate(v) for leaf in _leaves(x, path + (i,))]
    return [(path, v)]


def _get(v: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        v = v[p]
    return v


def _substitute(v: Any, path: tuple[Any, ...], params: dict[tuple[Any, ...], str]) -> Any:
    if path in params:
        return f"${params[path]}"
    if isinstance(v, dict):
        return {k: (x if k == "name" else _substitute(x, path + (k,), params)) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
        return [_substitute(x, path + (i,), params) for i, x in enumerate(v)]
    return v


def _param_name(path: tuple[Any, ...]) -> str:
    """``('layers', 0, 'conv2d', 'filters')`` -> ``filters``; the layer's name is added where it clashes."""
    keys = [p for p in path if isinstance(p, str) and p not in ("layers", "shortcut", "branches")]
    return keys[-1] if keys else "value"


def _repeats(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A group whose children are identical block instances becomes one item with ``repeat``."""
    out = []
    for item in items:
        kind = _kind(item)
        body = item[kind]
        if kind == Sequential.KIND and isinstance(body, dict) and isinstance(body.get("layers"), list):
            kids = body["layers"] = _repeats(body["layers"])
            kinds = {_kind(c) for c in kids}
            if len(kids) > 1 and len(kinds) == 1 and all("from" not in c and "repeat" not in c for c in kids):
                block = next(iter(kinds))
                args = [c[block] for c in kids]
                # The copies of a repeat are `<block>_1`...; the loader spells `<any>_<k>` as the index k - 1 (an
                # nn.Sequential child, which unit_name numbers so, whatever the block came to be called:
                # `block_block` when the class's name is a kind) and `<block><k>` as the model's `<block><k>`.
                names = [str(c.get("name")) for c in kids]
                stem = re.sub(r"_\d+$", "", names[0])
                numbered = names in ([f"{stem}_{i + 1}" for i in range(len(kids))],
                                     [f"{block}{i + 1}" for i in range(len(kids))])
                if all(a == args[0] for a in args) and numbered:
                    new = {block: args[0], "repeat": len(kids)}
                    new.update({k: v for k, v in item.items() if k in ("name", "from")})
                    out.append(new)
                    continue
        elif isinstance(body, dict):
            for key in ("layers", "shortcut"):
                if isinstance(body.get(key), list):
                    body[key] = _repeats(body[key])
        out.append(item)
    return out


@dataclass
class Imported:
    """What ``netspec import`` made: the YAML, its raw tree, and the check against the model."""

    text: str
    spec: dict[str, Any]
    params: int
    max_diff: float | None = None
    weights: str = ""  # the load report's summary line


def import_model(source: str | nn.Module, input_shape: list[int] | None = None, name: str | None = None,
                 check: bool = True, input_dtype: str = "float") -> Imported:
    """A PyTorch model as a netspec spec (YAML), checked to compute the same function.

    Args:
        source: ``torchvision:NAME``, ``module:function``, ``file.py:function``, or a module.
        input_shape: the per-sample input shape (default ``[3, 224, 224]`` for torchvision models).
        name: the spec's name (default: the function's).
        check: resolve, compile, load the model's state dict and compare outputs on random inputs.
        input_dtype: ``float``, or ``long`` for token ids (a model that starts with an embedding).

    Raises:
        UsageError: the source cannot be found, or no input shape is known.
        NotImportable: parts of the model netspec cannot express (all of them, located).
        BuildError: the spec does not compute what the model does.
    """
    model = standalone(load_model(source) if isinstance(source, str) else source)
    if input_dtype not in ("float", "long"):
        raise UsageError(f"the input dtype is float or long (token ids), got '{input_dtype}'")
    label = source if isinstance(source, str) else type(source).__name__
    if input_shape is None:
        if isinstance(source, str) and source.startswith("torchvision:"):
            input_shape = list(TORCHVISION_INPUT)
        else:
            raise UsageError("give the model's input shape, e.g. --input 3,224,224")
    if name is None:
        name = _snake(label.rpartition(":")[2]) if isinstance(source, str) else _snake(type(source).__name__)
        name = re.sub(r"\W", "_", name) or "imported"
    raw = Importer(model, list(input_shape), name, input_dtype).spec()
    text = f"# {type(model).__name__} from {label}, written by `netspec import`.\n" + to_yaml(raw)
    params = raw["expect"]["params"]
    done = Imported(text, raw, params)
    if check:
        done.max_diff, done.weights = verify(text, model, list(input_shape), input_dtype)
    return done


def verify(text: str, model: nn.Module, input_shape: list[int], input_dtype: str = "float") -> tuple[float, str]:
    """Resolve the spec (its ``expect:`` pins the model's parameter count), compile it with the model's
    own state dict and compare outputs on random inputs; the largest difference and the load summary."""
    graph = analyze(text)
    net = graph.network(None)
    want = sum(p.numel() for p in model.parameters())
    if net.params != want:
        raise BuildError(f"the imported spec has {net.params} parameters, the model {want}")
    mine = compile_spec(graph, weights=model.state_dict()).eval()
    x = example_input(model, input_shape, input_dtype)
    with torch.no_grad():
        a, b = mine(x), model.eval()(x)
    a = list(a) if isinstance(a, tuple) else [a]
    b = list(b) if isinstance(b, tuple) else [b]
    worst = 0.0
    for u, v in zip(a, b):
        diff = float((u - v).abs().max())
        if diff > 1e-4 * max(1.0, float(v.abs().max())):
            raise BuildError(f"the imported spec computes something else: outputs differ by up to {diff:.3g}")
        worst = max(worst, diff)
    return worst, mine.netspec_weights.summary()
