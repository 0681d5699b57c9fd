"""``netspec import``: a PyTorch model -> a spec, by tracing it with ``torch.fx``.

Each traced call of a standard module or function becomes a layer (:data:`MODULES`, :data:`FUNCTIONS`; a
function that is a module's forward, ``F.max_pool2d``, as that module: :data:`FUNCTION_MODULES`; PyTorch's
Transformer encoder layer as a group of layers: :meth:`Importer.encoder`;
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

The model is traced once more as it runs on a random input (:class:`Recorder`): the sizes forward
computes from ``x.shape`` are read from what its reshapes produced, a parameter used in forward is read
from its shape (a class token, a position table, a layer scale), and a LayerNorm subclass from what it
computed. Containers whose layers form a chain of residuals (a pre-norm Transformer layer) become
residual groups (:meth:`Importer.segments`); an LSTM's final ``(h, c)`` selected by ``h[-1]``/``h[0]``
becomes its ``return_state`` outputs read by ``sequence_pool``.

The result is checked: the spec must resolve with the model's exact parameter count, compile, take
the model's own state dict and compute the same outputs on random inputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import operator
import re
import struct
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
from netspec.convert import convert, format_of
from netspec.core.errors import BuildError, DataError, Location, NetspecError, Problem, UsageError
from netspec.frontends.write.yaml import to_yaml
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.attention.attention import Attention
from netspec.layers.base import all_kind_names
from netspec.layers.conv.conv1d import Conv1d
from netspec.layers.conv.conv2d import Conv2d
from netspec.layers.core.dense import Dense
from netspec.layers.core.drop_path import DropPath
from netspec.layers.core.dropout import Dropout
from netspec.layers.core.elu import ELU
from netspec.layers.core.flatten import Flatten
from netspec.layers.core.leaky_relu import LeakyReLU
from netspec.layers.core.reshape import Reshape
from netspec.layers.merge.add import Add
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.multiply import Multiply
from netspec.layers.norm.batchnorm1d import BatchNorm1d
from netspec.layers.norm.batchnorm2d import BatchNorm2d
from netspec.layers.norm.group_norm import GroupNorm
from netspec.layers.norm.layernorm import LayerNorm
from netspec.layers.norm.rms_norm import RMSNorm
from netspec.layers.pool.adaptive_avg_pool2d import AdaptiveAvgPool2d
from netspec.layers.pool.avg_pool1d import AvgPool1d
from netspec.layers.pool.avg_pool2d import AvgPool2d
from netspec.layers.pool.global_avg_pool import GlobalAvgPool
from netspec.layers.pool.max_pool1d import MaxPool1d
from netspec.layers.pool.max_pool2d import MaxPool2d
from netspec.layers.recurrent.gru import GRU
from netspec.layers.recurrent.lstm import LSTM
from netspec.layers.recurrent.rnn import RNN
from netspec.layers.sequence.embedding import Embedding
from netspec.layers.sequence.permute import Permute
from netspec.layers.sequence.sequence_pool import SequencePool
from netspec.layers.structure.parallel import Parallel
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential
from netspec.layers.tensors.class_token import ClassToken
from netspec.layers.tensors.layer_scale import LayerScale
from netspec.layers.tensors.position_embedding import PositionEmbedding

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


def _elu(m: nn.Module) -> dict[str, Any]:
    return {ELU.KIND: {} if m.alpha == 1.0 else {"alpha": m.alpha}}


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


def _layer_norm(m: nn.Module) -> dict[str, Any]:
    """``nn.LayerNorm`` over the last ``len(normalized_shape)`` axes (a subclass is read by
    :meth:`Importer.layer_norm`, from what it computes)."""
    item: dict[str, Any] = {}
    if len(m.normalized_shape) != 1:
        item["axes"] = len(m.normalized_shape)
    return {LayerNorm.KIND: {**item, **_norm_options(m, "elementwise_affine")}}


def _norm_options(m: nn.Module, affine: str) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if getattr(m, affine) and getattr(m, "bias", True) is None:
        raise ValueError("a norm with a scale and no bias (netspec's has both or neither)")
    if m.eps != 1e-5:
        item["eps"] = m.eps
    if not getattr(m, affine):
        item["affine"] = False
    return item


def _group_norm(m: nn.Module) -> dict[str, Any]:
    return {GroupNorm.KIND: {"groups": m.num_groups, **_norm_options(m, "affine")}}


def _rms_norm(m: nn.Module) -> dict[str, Any]:
    item: dict[str, Any] = {"axes": len(m.normalized_shape)} if len(m.normalized_shape) != 1 else {}
    if m.eps is not None:
        item["eps"] = m.eps
    if not m.elementwise_affine:
        item["affine"] = False
    return {RMSNorm.KIND: item}


def _attention(m: nn.Module) -> dict[str, Any]:
    if not m.batch_first:
        raise ValueError("batch_first=False (netspec's sequences are batch-first, (N, T, E))")
    if m.bias_k is not None or m.add_zero_attn:
        raise ValueError("add_bias_kv or add_zero_attn (netspec's attention has neither)")
    item = Attention(kind=Attention.KIND, heads=m.num_heads, dropout=m.dropout, bias=m.in_proj_bias is not None,
                     **({} if m._qkv_same_embed_dim else {"kdim": m.kdim, "vdim": m.vdim})
                     ).model_dump(by_alias=True, exclude_defaults=True)
    item.pop("kind")
    return {Attention.KIND: item}


DROP_PATHS = ("StochasticDepth", "DropPath")  # the class names of stochastic depth (torchvision's, timm's)


def drop_path_rate(m: nn.Module) -> tuple[float, str] | None:
    """``(rate, mode)`` of a stochastic-depth module (torchvision's ``StochasticDepth``: ``p``, ``mode``;
    timm's ``DropPath``: ``drop_prob``, scaling the survivors as netspec does), read by its class name and
    attributes; None for any other module."""
    name = type(m).__name__
    if name not in DROP_PATHS:
        return None
    if name == "StochasticDepth" and isinstance(getattr(m, "p", None), (int, float)):
        mode = getattr(m, "mode", "row")
        return float(m.p), mode if isinstance(mode, str) else "row"
    if name == "DropPath" and isinstance(getattr(m, "drop_prob", None), (int, float)) and \
            getattr(m, "scale_by_keep", True):
        return float(m.drop_prob), "row"
    return None


def _drop_path(rate: float, mode: str) -> dict[str, Any]:
    if mode not in ("row", "batch"):
        raise ValueError(f"stochastic depth mode {mode!r} (netspec's drop_path: row or batch)")
    return {DropPath.KIND: {"rate": rate, **({"mode": mode} if mode != "row" else {})}}


RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
ENCODERS = (nn.TransformerEncoderLayer, nn.TransformerEncoder)  # written as groups (Importer.encoder)
LAST_STEP = ((slice(None, None, None), -1), (slice(None, None, None), -1, slice(None, None, None)))


# torch.nn class -> the layer item it becomes (raising ValueError for options netspec lacks)
MODULES: dict[type, Callable[[nn.Module], dict[str, Any]]] = {
    nn.Conv2d: _conv(Conv2d.KIND), nn.Conv1d: _conv(Conv1d.KIND),
    nn.BatchNorm2d: _norm(BatchNorm2d.KIND), nn.BatchNorm1d: _norm(BatchNorm1d.KIND),
    nn.MaxPool2d: _pool(MaxPool2d.KIND), nn.AvgPool2d: _pool(AvgPool2d.KIND),
    nn.MaxPool1d: _pool(MaxPool1d.KIND), nn.AvgPool1d: _pool(AvgPool1d.KIND),
    nn.AdaptiveAvgPool2d: _adaptive, nn.Linear: _linear, nn.Dropout: _dropout, nn.Dropout2d: _dropout,
    nn.Flatten: _flatten, nn.LeakyReLU: _leaky, nn.ELU: _elu, nn.Embedding: _embedding,
    nn.LSTM: _recurrent(LSTM), nn.GRU: _recurrent(GRU), nn.RNN: _recurrent(RNN),
    nn.LayerNorm: _layer_norm, nn.GroupNorm: _group_norm, nn.RMSNorm: _rms_norm, nn.MultiheadAttention: _attention,
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
# functions that are a module's forward: the module they are, and the names of their arguments after the input
_POOL2D = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
FUNCTION_MODULES: dict[Any, tuple[type, tuple[str, ...]]] = {
    F.max_pool2d: (nn.MaxPool2d, _POOL2D), F.max_pool1d: (nn.MaxPool1d, _POOL2D),
    F.avg_pool2d: (nn.AvgPool2d, ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                  "divisor_override")),
    F.avg_pool1d: (nn.AvgPool1d, ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
    F.softmax: (nn.Softmax, ("dim", "_stacklevel", "dtype")), torch.softmax: (nn.Softmax, ("dim", "dtype")),
    F.log_softmax: (nn.LogSoftmax, ("dim", "_stacklevel", "dtype")),
    torch.log_softmax: (nn.LogSoftmax, ("dim", "dtype")),
    F.leaky_relu: (nn.LeakyReLU, ("negative_slope", "inplace")), F.elu: (nn.ELU, ("alpha", "inplace")),
}
# tensor methods that are such functions (`x.softmax(-1)`)
METHOD_MODULES = {f.__name__: f for f in (torch.softmax, torch.log_softmax)}
UNUSED_ARGUMENTS = {"inplace": None, "_stacklevel": None}  # arguments that do not change what is computed
IDENTITY = next(name for name, a in ACTIVATIONS.items() if a.is_identity and a.plain_kind)
MERGES = {operator.add: Add.KIND, operator.iadd: Add.KIND, torch.add: Add.KIND,
          operator.mul: Multiply.KIND, operator.imul: Multiply.KIND, torch.mul: Multiply.KIND}
FUNCTIONS = {torch.flatten, torch.cat, torch.concat, F.adaptive_avg_pool2d, F.dropout, *MERGES, *ACTIVATION_FUNCTIONS}
# tensor methods read as the torch function of the same name
METHODS = {f.__name__: f for f in (torch.flatten, *(f for f in ACTIVATION_FUNCTIONS if getattr(torch, f.__name__, None)
                                                   is f and hasattr(torch.Tensor, f.__name__)))}
INPLACE_OK = {"inplace"}  # keyword arguments that do not change the values
PERMUTES = (torch.permute, torch.transpose, torch.swapaxes)
# reshapes and permutations, read from the sizes they produce: torch functions, and the tensor methods of their names
SHAPES = {torch.reshape, torch.Tensor.view.__name__, *PERMUTES, *(f.__name__ for f in (torch.reshape, *PERMUTES))}
STOCHASTIC_DEPTH = "torchvision.ops.stochastic_depth"  # the module of torchvision's function of that name
STATE_LAYOUT = ("PyTorch's recurrent state is (layers·directions, batch, units), netspec's (batch, layers·directions, "
                "units): netspec imports a selection of one, h[-1] (the last layer) or h[0]")


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
    param: str | None = None  # the parameter it reads (a class token, position table, layer scale)
    states: dict[str, str] = field(default_factory=dict)  # fx nodes of a recurrent layer's state -> h or c
    composite: type | None = None  # a module written as a group of layers (nn.TransformerEncoderLayer): its class


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
            hint = (f"netspec calls {attr} without arguments to build the model; make it build one that way "
                    "(give its arguments defaults, or import a function that calls it)" if _needs_arguments(obj)
                    else f"{attr} takes no arguments and failed as it built the model; run it with python to "
                    "see the traceback")
            error = _raised(exc, f"calling {target}", file or getattr(where_module, "__file__", None), hint)
            problem = error.problems[0]
            if problem.location is None and _needs_arguments(obj):  # at the definition that takes arguments
                try:
                    at = Location(inspect.getsourcefile(obj) or "", inspect.getsourcelines(obj)[1], 1)
                    if at.file and _user_frame([(at.file, at.line)]):  # the model's code, not torch's
                        error = ModelCodeError(problems=[Problem(problem.message, at, hint=problem.hint)])
                except (OSError, TypeError):
                    pass
            raise error from None
    if not isinstance(model, nn.Module):
        got = type(model).__name__
        raise UsageError(f"{target} gives {'an' if got[:1].lower() in 'aeiou' else 'a'} {got}, not a "
                         "torch.nn.Module")
    return model


def _needs_arguments(obj: Any) -> bool:
    """Whether calling ``obj()`` lacks arguments it requires (False when its signature is unknown)."""
    try:
        inspect.signature(obj).bind()
    except TypeError:
        return True
    except ValueError:
        return False
    return False


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
    kind = ACTIVATION_MODULES.get(type(model)) or ACTIVATION_DEFAULTS.get(type(model))  # `relu`, not `re_lu`
    if kind is not None or type(model) in MODULES:
        return OneLayer(kind or _snake(type(model).__name__), model)
    return model


def example_input(model: nn.Module, shape: list[int], dtype: str, batch: int = 2) -> torch.Tensor:
    """Random inputs: normal floats, or token ids below the smallest embedding's vocabulary."""
    if dtype == "long":
        vocab = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
        return torch.randint(0, min(vocab) if vocab else 2, (batch, *shape))
    return torch.randn(batch, *shape)


class LeafTracer(fx.Tracer):
    """torch.fx's tracer, keeping as one call the modules netspec maps whole: a subclass of ``nn.LayerNorm``
    (ConvNeXt's ``LayerNorm2d``, read from what it computes) and stochastic depth (:data:`DROP_PATHS`; traced
    through in eval mode, it would vanish). Nodes keep the stack they were traced at (the line of forward
    that a refused call is listed at)."""

    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, nn.LayerNorm) or type(m).__name__ in DROP_PATHS or \
            super().is_leaf_module(m, module_qualified_name)


class Recorder(fx.Interpreter):
    """Runs a traced model and keeps what every node computed (by node name)."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__(gm)
        self.seen: dict[str, Any] = {}
        self.current: fx.Node | None = None  # the node running (the one that failed, when one does)

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        value = super().run_node(n)
        self.seen[n.name] = value
        return value


def _numbered_from_one(model: nn.Module) -> dict[str, str]:
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
                stem = _snake(cls.__name__) if f[1] == parent or f[2] != "_" else f[1]
                out[f"{path}.{k}" if path else k] = f"{stem}_{int(f[3]) + 1}"
    return out


def _holds_tensor(v: Any) -> bool:
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_tensor(x) for x in v.values())
    return False


def _index_text(index: Any) -> str:
    def one(i: Any) -> str:
        if isinstance(i, slice):
            return ":" if (i.start, i.stop, i.step) == (None, None, None) else \
                f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
        return "..." if i is Ellipsis else repr(i)
    return "[" + ", ".join(one(i) for i in (index if isinstance(index, tuple) else (index,))) + "]"


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
        self.values: dict[str, Any] = {}  # fx node -> what it computed on the example input
        self.from_one = _numbered_from_one(model)  # module path -> its name numbered from 1 (`layer_0` -> `layer_1`)
        self.params: dict[str, str] = {}  # fx node (a get_attr, or an expand of one) -> the parameter's full name
        self.states: dict[str, tuple[str, str]] = {}  # fx node -> (its recurrent module's node, h or c)
        self.notes: dict[str, str] = {}  # fx node of a module -> why the way forward reads it is not importable

    # --- trace and map -------------------------------------------------------------------------------
    def trace(self) -> fx.GraphModule:
        """The traced model, without dead code, and :attr:`values`: what each node computes on an example
        input (sizes settle reshapes, parameters' shapes settle what a use of them is)."""
        try:
            gm = fx.GraphModule(self.model, LeafTracer().trace(self.model))
        except Exception as exc:
            raise self.trace_failed(exc) from None
        gm.graph.eliminate_dead_code()
        gm.recompile()
        recorder = Recorder(gm)
        try:
            with torch.no_grad():
                recorder.run(example_input(self.model, self.input_shape, self.input_dtype))
        except Exception as exc:
            raise self.run_failed(exc, recorder.current) from None
        self.values = recorder.seen
        return gm

    def trace_failed(self, exc: Exception) -> ModelCodeError:
        """torch.fx could not trace forward: the cause, at the deepest line of the model's code."""
        frame = _user_frame([(f.filename, f.lineno or 1) for f in traceback.extract_tb(exc.__traceback__)])
        detail = _first_paragraph(str(exc))
        if isinstance(exc, fx.proxy.TraceError):
            message = f"torch.fx cannot trace forward: {detail}"
            hint = ("forward takes a path that depends on the input's values (an if or a loop on a tensor); "
                    "netspec imports a forward that computes the same layers for every input")
        else:
            message = f"forward raised {type(exc).__name__} as torch.fx traced it" + (f": {detail}" if detail else "")
            hint = ("run the model with python: if it raises on a real input too, its own code fails there; if "
                    "not, forward reads a value from the input (x.shape as a Python int, .item(), a numpy call), "
                    "which torch.fx, running forward on placeholders rather than tensors, cannot trace")
        return ModelCodeError(problems=[Problem(message, Location(*frame, 1) if frame else None, hint=hint)])

    def run_failed(self, exc: Exception, n: fx.Node | None) -> ModelCodeError:
        """The traced model failed on the example input: the cause, at the line of forward that failed."""
        frame = _user_frame(FRAME.findall(n.meta.get("stack_trace") or "")) if n is not None else None
        module = self.modules.get(str(n.target)) if n is not None and n.op == "call_module" else None
        message = (f"the model does not run on a random input of shape {self.input_shape} (per sample): "
                   f"{type(exc).__name__}: {_first_paragraph(str(exc))}")
        if isinstance(module, nn.Embedding) and self.input_dtype == "float":
            hint = "the model starts with nn.Embedding, which takes token ids: pass --dtype long"
        else:
            hint = ("give --input the per-sample shape forward expects (without the batch axis)" +
                    ("; --dtype long gives token ids" if self.input_dtype == "float" and
                     any(isinstance(m, nn.Embedding) for m in self.modules.values()) else ""))
        return ModelCodeError(problems=[Problem(message, Location(*frame, 1) if frame else None, hint=hint)])

    def parameter(self, full: str) -> torch.Tensor:
        try:
            return self.model.get_parameter(full)
        except AttributeError:
            raise ValueError(f"reads {full}, which is not a parameter (a buffer or a constant)") from None

    def tensor(self, name: str) -> torch.Tensor | None:
        v = self.values.get(name)
        return v if isinstance(v, torch.Tensor) else None

    def ops(self, gm: fx.GraphModule) -> tuple[list[str], list[Op], list[str]]:
        """The placeholders, the mapped ops and the outputs (fx node names)."""
        inputs, ops, outputs = [], [], []
        used: dict[str, int] = {}
        alias: dict[str, str] = {}  # a node read through (a module's output indexed, `.contiguous()`) -> what it is
        skip: set[str] = set()  # nodes of no layer of their own (an LSTM's (h, c) tuple)
        sequences: dict[str, bool] = {}
        unmapped: set[str] = set()
        unread: set[str] = set()
        for n in gm.graph.nodes:
            if n.op == "get_attr":
                self.params[n.name] = str(n.target)
            elif n.op == "call_method" and n.target in ("expand", "expand_as") and \
                    isinstance(n.args[0], fx.Node) and n.args[0].name in self.params:
                self.params[n.name] = self.params[n.args[0].name]  # `class_token.expand(n, -1, -1)`
            elif n.op == "call_module" and isinstance(self.modules.get(str(n.target)), RECURRENT):
                sequences[n.name] = self.recurrent_uses(n, alias, skip)
            elif n.op == "call_module" and isinstance(self.modules.get(str(n.target)), nn.MultiheadAttention):
                self.attention_uses(n, alias)
        for n in gm.graph.nodes:
            stack = [re.sub(r"@\d+$", "", k) for k in n.meta.get("nn_module_stack", {})]
            if n.op == "placeholder":
                inputs.append(n.name)
                continue
            if n.op == "output":
                outputs = [alias.get(a.name, a.name) for a in _tensors(n.args[0])]
                for o in outputs:
                    if o in self.states:
                        self.problems.append(("forward", f"returns {self.states[o][1]}", STATE_LAYOUT))
                continue
            if n.name in alias or n.name in skip or n.name in self.params or n.name in self.states:
                continue
            if n.op in ("call_function", "call_method") and not _holds_tensor(self.values.get(n.name)):
                continue  # a size computed from a shape, an assertion: reshapes read the sizes they produce
            if n.op == "call_method" and n.target == "contiguous":
                alias[n.name] = alias.get(n.args[0].name, n.args[0].name)
                continue
            line = _source_line(n)
            where = (f"{stack[-1]} ({line})" if line else stack[-1]) if stack else line or n.name
            try:
                op = self.map(n, stack)
            except ValueError as exc:
                what = type(self.modules[n.target]).__name__ if n.op == "call_module" else _fn_name(n.target)
                self.problems.append((str(n.target) if n.op == "call_module" else where, what, str(exc)))
                if n.op == "call_module":
                    unmapped.add(str(n.target))  # called, though not mapped: not "never called"
                unread |= {self.params[a.name] for a in _tensors(list(n.args) + list(n.kwargs.values()))
                           if a.name in self.params}  # read, though not mapped
                continue
            op.inputs = [alias.get(a, a) for a in op.inputs]
            if n.name in sequences:
                kind = next(iter(op.item))
                op.states = {s: state for s, (rec, state) in self.states.items() if rec == n.name}
                op.item = {kind: {**op.item[kind], **({"return_sequences": True} if sequences[n.name] else {}),
                                  **({"return_state": True} if op.states else {})}}
            owner = op.module if op.module is not None else op.param
            if owner is not None and (op.param is not None or
                                      any(True for _ in self.modules[owner].parameters(recurse=False))):
                used[owner] = used.get(owner, 0) + 1
                if used[owner] == 2:
                    what = type(self.modules[owner]).__name__ if op.param is None else "Parameter"
                    self.problems.append((owner, what, "its weights are used twice (netspec layers own their weights)"))
            ops.append(op)
        called = {op.module for op in ops if op.module} | unmapped
        consumed = {op.param for op in ops if op.param} | unread
        for path, m in self.modules.items():
            own = [f"{path}.{k}" if path else k for k, _ in m.named_parameters(recurse=False)]
            if own and path not in called and not any(path.startswith(c + ".") for c in called) and \
                    not all(p in consumed for p in own):
                self.problems.append((path, type(m).__name__, "never called by forward (in eval mode)"))
        return inputs, ops, outputs

    def recurrent_uses(self, n: fx.Node, alias: dict[str, str], skip: set[str]) -> bool:
        """How forward reads a recurrent module's ``(output, state)``: True when it uses every step
        (``out``), False when only the last (``out[:, -1]``, one direction); the indexing nodes become
        aliases of the module's node. The final state (``_, (h, c) = lstm(x)``) becomes the layer's
        ``h`` and ``c`` outputs (:attr:`states`), which :meth:`select_state` reads."""
        m = self.modules[str(n.target)]
        getitems = [u for u in n.users if u.op == "call_function" and u.target is operator.getitem]
        if len(getitems) != len(n.users):
            return True  # the tuple is passed on: map() lists what it cannot take
        for u in getitems:
            if u.args[1] == 1:
                self.state_uses(n, u, m, skip)
        seq_users = [u for u in getitems if u.args[1] == 0]
        steps = [w for u in seq_users for w in u.users]
        last = [w for w in steps if w.op == "call_function" and w.target is operator.getitem
                and w.args[1] in LAST_STEP]
        if not seq_users or (steps and len(last) == len(steps) and not m.bidirectional):
            for u in seq_users:
                alias[u.name] = n.name
            for w in last:
                alias[w.name] = n.name
            return False
        for u in seq_users:
            alias[u.name] = n.name
        return True

    def state_uses(self, n: fx.Node, u: fx.Node, m: nn.Module, skip: set[str]) -> None:
        """``u``, forward's ``state`` of a recurrent module: an LSTM's ``(h, c)`` unpacked, or a GRU's or
        RNN's ``h``; each becomes a named output of the layer. A tuple used otherwise is left to map()."""
        if not isinstance(m, nn.LSTM):
            self.states[u.name] = (n.name, "h")
            return
        parts = list(u.users)
        if parts and all(w.op == "call_function" and w.target is operator.getitem and w.args[1] in (0, 1)
                         for w in parts):
            skip.add(u.name)
            for w in parts:
                self.states[w.name] = (n.name, ("h", "c")[w.args[1]])

    def attention_uses(self, n: fx.Node, alias: dict[str, str]) -> None:
        """``nn.MultiheadAttention`` returns ``(output, weights)``: forward reading ``[0]`` reads the
        layer's output; reading the weights is noted for :meth:`map`."""
        for u in n.users:
            if u.op == "call_function" and u.target is operator.getitem and u.args[1] == 0:
                alias[u.name] = n.name
            else:
                self.notes[n.name] = ("forward reads its attention weights (netspec's attention returns its "
                                      "output only)" if u.op == "call_function" and u.target is operator.getitem
                                      else "forward uses its (output, weights) tuple as a whole")

    def map(self, n: fx.Node, stack: list[str]) -> Op:
        args = [a.name for a in _tensors(n.args) + _tensors(list(n.kwargs.values())) if self.tensor(a.name) is not None]
        if n.op == "call_module":
            m = self.modules[n.target]
            container, _, attr = str(n.target).rpartition(".")
            if n.name in self.notes:
                raise ValueError(self.notes[n.name])
            item, args = self.module_item(m, n, args)
            self.check_inputs(args)
            return Op(n.name, container, attr, item, args, str(n.target),
                      composite=type(m) if isinstance(m, ENCODERS) else None)
        container = stack[-1] if stack else ""
        if args and args[0] in self.states:
            return self.select_state(n, container)
        if (n.op == "call_function" and n.target is torch.mean) or (n.op == "call_method" and
                                                                     n.target == torch.mean.__name__):
            self.check_inputs(args)
            return Op(n.name, container, n.name, self.mean(n, args), args[:1])
        as_module = self.function_module(n)
        if as_module is not None:
            if len(args) != 1:
                raise ValueError(f"{_fn_name(n.target)} of {len(args)} tensors")
            self.check_inputs(args)
            item, args = self.module_item(as_module, n, args)
            return Op(n.name, container, n.name, item, args)
        known = n.target in FUNCTIONS or n.target in SHAPES or n.target is operator.getitem or \
            (n.op == "call_method" and n.target in METHODS) or getattr(n.target, "__module__", None) == STOCHASTIC_DEPTH
        if not known:
            held = sorted({self.params[a] for a in args if a in self.params})
            raise ValueError(f"{n.op} {_fn_name(n.target)} has no netspec kind" +
                             (f" (it reads {', '.join(held)})" if held else ""))
        return self.function_op(n, args, container)

    def mean(self, n: fx.Node, args: list[str]) -> dict[str, Any]:
        """``x.mean(dims)``: over every axis after the channels a global average pool (``x.mean((2, 3))``),
        over the steps of a sequence ``(N, T, F)`` its mean (``x.mean(1)``)."""
        x = self.tensor(args[0]) if len(args) == 1 else None
        call = dict(zip(("dim", "keepdim"), n.args[1:])) | dict(n.kwargs)
        dim = call.get("dim")
        if x is None or dim is None or call.get("keepdim") or call.get("dtype") is not None:
            raise ValueError("a mean of all the values, keeping its axes or in another dtype (netspec pools over "
                             "the positions of each sample: x.mean((2, 3)), or the steps of a sequence: x.mean(1))")
        dims = sorted({int(d) % x.dim() for d in (dim if isinstance(dim, (list, tuple)) else [dim])})
        if x.dim() >= 3 and dims == list(range(2, x.dim())):
            return {GlobalAvgPool.KIND: {}}
        if x.dim() == 3 and dims == [1]:
            return {SequencePool.KIND: {"mode": "mean"}}
        raise ValueError(f"a mean over dims {dims} of a tensor of rank {x.dim()} (netspec pools over the positions "
                         "of each sample, x.mean((2, 3)), or the steps of a sequence, x.mean(1))")

    def function_module(self, n: fx.Node) -> nn.Module | None:
        """A function call that is a module's forward (``F.max_pool2d(x, 2)``, ``x.softmax(-1)``) as that
        module; None for any other call."""
        fn = n.target if n.op == "call_function" else METHOD_MODULES.get(str(n.target)) if n.op == "call_method" \
            else None
        if fn not in FUNCTION_MODULES:
            return None
        cls, names = FUNCTION_MODULES[fn]
        given = dict(zip(names, n.args[1:])) | dict(n.kwargs)
        if len(n.args) - 1 > len(names):
            raise ValueError(f"{_fn_name(n.target)} with {len(n.args) - 1} positional arguments")
        if given.pop("dtype", None) is not None:
            raise ValueError("a dtype given (netspec computes in the input's dtype)")
        given = {k: v for k, v in given.items() if k not in UNUSED_ARGUMENTS}
        try:
            return cls(**given)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"arguments {sorted(given)} ({exc})") from None

    def module_item(self, m: nn.Module, n: fx.Node, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The layer item of a standard module called at ``n`` (or a function that is one), and its inputs."""
        if type(m) in ACTIVATION_MODULES:
            item = {ACTIVATION_MODULES[type(m)]: {}}
            if isinstance(m, nn.GELU) and m.approximate != "none":
                item = {next(k for k, a in ACTIVATIONS.items() if getattr(nn, a.module, None) is type(m)
                             and a.kwargs.get("approximate") == m.approximate): {}}
        elif type(m) in ACTIVATION_DEFAULTS:
            kind = ACTIVATION_DEFAULTS[type(m)]
            x = self.tensor(args[0]) if args else None
            item = {kind: {}}
            for k, v in ACTIVATIONS[kind].kwargs.items():
                if k == "dim" and x is not None:
                    axis = _sample_axis(getattr(m, k, v), x.dim())
                    if axis != -1:
                        item = {kind: {"axis": axis}}
                elif getattr(m, k, v) != v:
                    raise ValueError(f"options other than {ACTIVATIONS[kind].kwargs}")
        elif isinstance(m, nn.MultiheadAttention):
            item, args = _attention(m), self.attention_inputs(n)
        elif isinstance(m, ENCODERS):
            item, args = self.encoder(m, n), args[:1]
        elif isinstance(m, nn.LayerNorm) and type(m) is not nn.LayerNorm:
            item = self.layer_norm(m, n)
        elif type(m) in MODULES:
            item = MODULES[type(m)](m)
        elif type(m).__name__ in DROP_PATHS:
            found = drop_path_rate(m)
            if found is None:
                raise ValueError("stochastic depth that netspec's drop_path does not compute (it scales the "
                                 "survivors by 1 / (1 - rate))")
            item = _drop_path(*found)
        else:
            raise ValueError(f"no netspec kind for {type(m).__module__}.{type(m).__name__}")
        return item, args

    def function_op(self, n: fx.Node, args: list[str], container: str) -> Op:
        """A known function or method call (a merge, a reshape, an activation, a parameter's use)."""
        with_param = self.parameter_use(n, args, container)
        if with_param is not None:
            return with_param
        self.check_inputs(args)
        if n.op == "call_function" and getattr(n.target, "__module__", None) == STOCHASTIC_DEPTH and \
                STOCHASTIC_DEPTH.endswith("." + _fn_name(n.target)):
            p = n.args[1] if len(n.args) > 1 else n.kwargs.get("p")
            mode = n.args[2] if len(n.args) > 2 else n.kwargs.get("mode", "row")
            return Op(n.name, container, DropPath.KIND, _drop_path(float(p), str(mode)), args[:1])
        if n.target in SHAPES or (n.op == "call_function" and n.target is operator.getitem):
            return Op(n.name, container, n.name, self.shape_op(n, args), args[:1])
        if n.op == "call_function" and n.target in FUNCTIONS:
            return Op(n.name, container, n.name, self.function(n, args), args,
                      concat=n.target in (torch.cat, torch.concat))
        if n.op == "call_method" and n.target in METHODS:  # x.flatten(1), x.relu(): as the functions
            fn = METHODS[n.target]
            if fn is torch.flatten:
                if list(n.args[1:]) not in ([1], [1, -1]):
                    return Op(n.name, container, n.name, self.shape_op(n, args), args[:1])
                return Op(n.name, container, Flatten.KIND, {Flatten.KIND: {}}, args[:1])
            return Op(n.name, container, n.name, {ACTIVATION_FUNCTIONS[fn]: {}}, args[:1])
        raise ValueError(f"{n.op} {_fn_name(n.target)} has no netspec kind")

    def encoder(self, m: nn.Module, n: fx.Node) -> dict[str, Any]:
        """``nn.TransformerEncoderLayer`` (post-norm or ``norm_first``) as a group: a residual around the
        attention, then one around the feed-forward layers, with the two LayerNorms where the layer has
        them; ``nn.TransformerEncoder`` as its ``layers`` (each such a group, one block) and its ``norm``.
        Sublayers are named as the module names its children, so the state dict loads by name."""
        call = dict(zip(("src", "mask", "src_key_padding_mask", "is_causal"), n.args)) | dict(n.kwargs)
        extra = sorted(k for k, v in call.items() if k != "src" and v not in (None, False))
        if extra:
            raise ValueError(f"called with {', '.join(extra)} (netspec imports an encoder called on its input "
                             "alone)")
        if isinstance(m, nn.TransformerEncoder):
            layers = []
            for k, layer in enumerate(m.layers):
                item = {**self.encoder(layer, n), "name": f"{_snake(type(layer).__name__)}_{k + 1}"}
                self.classes[id(item)] = type(layer)
                layers.append(item)
            group = [{Sequential.KIND: {"layers": layers}, "name": "layers"}]
            if m.norm is not None:
                if type(m.norm) is not nn.LayerNorm:
                    raise ValueError(f"a final norm of class {type(m.norm).__name__} (netspec reads nn.LayerNorm)")
                group.append({**_layer_norm(m.norm), "name": "norm"})
            return {Sequential.KIND: {"layers": group}}
        fn = m.activation
        act = ACTIVATION_MODULES.get(type(fn)) if isinstance(fn, nn.Module) else ACTIVATION_FUNCTIONS.get(fn)
        if act is None:
            raise ValueError(f"the activation {getattr(fn, '__name__', type(fn).__name__)} (netspec reads a plain "
                             "activation: relu, gelu, ...)")
        child = {id(c): k for k, c in m.named_children()}  # each sublayer named as the module names it

        def named(item: dict[str, Any], sub: nn.Module) -> dict[str, Any]:
            return {**item, "name": child[id(sub)]}

        attention = [named(_attention(m.self_attn), m.self_attn), named(_dropout(m.dropout1), m.dropout1)]
        ff = [named(_linear(m.linear1), m.linear1), {act: {}, "name": "activation"},
              named(_dropout(m.dropout), m.dropout), named(_linear(m.linear2), m.linear2),
              named(_dropout(m.dropout2), m.dropout2)]
        norm1, norm2 = named(_layer_norm(m.norm1), m.norm1), named(_layer_norm(m.norm2), m.norm2)
        if m.norm_first:
            parts = [{Residual.KIND: {"layers": [norm1, *attention]}, "name": "attention"},
                     {Residual.KIND: {"layers": [norm2, *ff]}, "name": "feed_forward"}]
        else:
            parts = [{Residual.KIND: {"layers": attention}, "name": "attention"}, norm1,
                     {Residual.KIND: {"layers": ff}, "name": "feed_forward"}, norm2]
        return {Sequential.KIND: {"layers": parts}}

    def check_inputs(self, args: list[str]) -> None:
        for a in args:
            if a in self.params:
                raise ValueError(f"uses the parameter {self.params[a]} itself (netspec reads a parameter through "
                                 "its layer: a class token, position embedding or layer scale)")
            if a in self.states:
                raise ValueError(f"reads {self.states[a][1]} as a whole. {STATE_LAYOUT}")

    def attention_inputs(self, n: fx.Node) -> list[str]:
        """The query, then the memory (key = value) or the key and the value, as fx node names."""
        names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
                 "is_causal")
        call = dict(zip(names, n.args)) | dict(n.kwargs)
        for key in ("key_padding_mask", "attn_mask"):
            if call.get(key) is not None:
                raise ValueError(f"called with {key} (netspec's attention takes a padding mask as an input, "
                                 "no other mask)")
        if call.get("is_causal"):
            raise ValueError("called with is_causal (write the layer with causal: true)")
        q, k, v = (call.get(key) for key in ("query", "key", "value"))
        if not all(isinstance(x, fx.Node) for x in (q, k, v)):
            raise ValueError("called without query, key and value tensors")
        return [q.name] if q is k is v else [q.name, k.name] if k is v else [q.name, k.name, v.name]

    def layer_norm(self, m: nn.Module, n: fx.Node) -> dict[str, Any]:
        """A subclass of ``nn.LayerNorm``, read from what it computed on the example input: over the last
        axes as ``nn.LayerNorm``, or over the channels (dim 1) at every position (ConvNeXt's LayerNorm2d)."""
        x = self.tensor(n.args[0].name) if n.args and isinstance(n.args[0], fx.Node) else None
        y = self.tensor(n.name)
        if x is None or y is None:
            raise ValueError("a LayerNorm subclass called without one tensor")
        with torch.no_grad():
            if tuple(x.shape[x.dim() - len(m.normalized_shape):]) == tuple(m.normalized_shape):
                plain = F.layer_norm(x, m.normalized_shape, m.weight, m.bias, m.eps)
                if plain.shape == y.shape and torch.allclose(plain, y, atol=1e-5):
                    return _layer_norm(m)
            if len(m.normalized_shape) == 1 and x.dim() >= 3 and x.shape[1] == m.normalized_shape[0]:
                channels = F.layer_norm(x.movedim(1, -1), m.normalized_shape, m.weight, m.bias, m.eps).movedim(-1, 1)
                if torch.allclose(channels, y, atol=1e-5):
                    item = _layer_norm(m)
                    return {LayerNorm.KIND: {**item[LayerNorm.KIND], "channels_first": True}}
        raise ValueError("a LayerNorm subclass that normalizes neither the last axes nor the channels")

    def select_state(self, n: fx.Node, container: str) -> Op:
        """``h[-1]``, ``h[0]`` or ``h.squeeze(0)`` of a recurrent layer's final state: the last or first of
        its ``(layers·directions, units)`` per sample, ``sequence_pool`` on the layer's ``h`` output."""
        x = n.args[0]
        rec, state = self.states[x.name]
        size = self.values[x.name].shape[0]
        k: Any = None
        if n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[1], int):
            k = n.args[1]
        elif n.op == "call_method" and n.target == "squeeze" and size == 1 and \
                (list(n.args[1:]) == [0] or n.kwargs.get("dim") == 0):
            k = 0
        if k is None:
            raise ValueError(f"reads {state} as {n.op} {_fn_name(n.target)}. {STATE_LAYOUT}")
        if k in (-1, size - 1):
            mode = "last"
        elif k in (0, -size):
            mode = "first"
        else:
            raise ValueError(f"{state}[{k}] of {size} stacked states (netspec selects the first or the last: "
                             f"{state}[0], {state}[-1])")
        return Op(n.name, container, SequencePool.KIND, {SequencePool.KIND: {"mode": mode}}, [x.name])

    def parameter_use(self, n: fx.Node, args: list[str], container: str) -> Op | None:
        """A parameter used in forward as one of netspec's learned-tensor layers: ``torch.cat([token, x],
        dim=1)`` a class token, ``x + table`` a position embedding, ``gamma * x`` a layer scale; None
        when ``n`` reads no parameter."""
        held = [a for a in args if a in self.params]
        if not held:
            return None
        if len(held) != 1 or len(args) != 2:
            return None  # check_inputs names the parameter
        p = held[0]
        x = next(a for a in args if a != p)
        full = self.params[p]
        pv, xv = self.parameter(full), self.tensor(x)
        owner, _, local = full.rpartition(".")
        kind: dict[str, Any] | None = None
        assert pv is not None and xv is not None
        if n.target in (torch.cat, torch.concat):
            dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
            if xv.dim() == 3 and dim in (1, -2) and args == [p, x] and tuple(pv.shape) == (1, 1, xv.shape[2]):
                kind = {ClassToken.KIND: {}}
        elif n.target in (operator.add, operator.iadd, torch.add) and not n.kwargs:
            if xv.dim() == 3 and tuple(pv.shape) == (1, *xv.shape[1:]):
                kind = {PositionEmbedding.KIND: {}}
        elif n.target in (operator.mul, operator.imul, torch.mul) and not n.kwargs:
            axis = 1 if xv.dim() == 3 else 0  # the layer's channel axis: the last of (T, C), else the first
            want = (xv.shape[1 + axis], *(1,) * (xv.dim() - 2 - axis))
            if xv.dim() >= 2 and tuple(pv.shape) == want:
                value = float(pv.detach().flatten()[0])
                kind = {LayerScale.KIND: {"value": value} if bool((pv == value).all()) and value != 1e-6 else {}}
        if kind is None:
            raise ValueError(f"uses the parameter {full} {tuple(pv.shape)} with a {tuple(xv.shape[1:])} input "
                             "(netspec reads a parameter as a class token (1, 1, E) prepended, a position table "
                             "(1, T, E) added, or a layer scale (C, 1, 1) multiplied)")
        return Op(n.name, container, local, kind, [x], param=full)

    def shape_op(self, n: fx.Node, args: list[str]) -> dict[str, Any]:
        """A reshape, permute or selection, read from the sizes it produced on the example input."""
        x, y = self.tensor(args[0]) if args else None, self.tensor(n.name)
        if n.target is operator.getitem and x is None:
            raise ValueError("indexes what a module returned as a tuple (netspec's layers return one tensor)")
        if x is None or y is None or len(args) != 1:
            raise ValueError("reshapes one tensor")
        if n.target is operator.getitem:
            index = n.args[1]
            index = index if isinstance(index, tuple) else (index,)
            rest = index[2:]
            if len(index) >= 2 and index[0] == slice(None) and isinstance(index[1], int) and \
                    all(r == slice(None) for r in rest) and x.dim() >= 3:
                t = x.shape[1]
                if index[1] in (0, -t):
                    return {SequencePool.KIND: {"mode": "first"}}
                if index[1] in (-1, t - 1):
                    return {SequencePool.KIND: {"mode": "last"}}
            raise ValueError(f"indexing {_index_text(n.args[1])} (netspec selects the first or last step, "
                             "x[:, 0] or x[:, -1], of a sequence)")
        if n.target in PERMUTES or n.target in {f.__name__ for f in PERMUTES}:
            dims = self.dims(n, x.dim())
            if dims[0] != 0:
                raise ValueError("a permutation that moves the batch axis")
            return {Permute.KIND: {"dims": [d - 1 for d in dims[1:]]}}
        if y.shape[:1] != x.shape[:1] or y.dim() < 2:
            raise ValueError(f"a reshape from {tuple(x.shape)} to {tuple(y.shape)} that changes the batch axis")
        if y.dim() == 2:
            return {Flatten.KIND: {}}
        return {Reshape.KIND: {"shape": list(y.shape[1:])}}

    def dims(self, n: fx.Node, rank: int) -> list[int]:
        """The full permutation (batch included) of a permute, transpose or swapaxes call."""
        if n.target in (torch.permute, torch.permute.__name__):
            raw = n.args[1:] if len(n.args) > 2 or not isinstance(n.args[1] if len(n.args) > 1 else None,
                                                                   (list, tuple)) else n.args[1]
            raw = raw or n.kwargs.get("dims", ())
            return [int(d) % rank for d in raw]
        a, b = (list(n.args[1:3]) + [n.kwargs.get("dim0"), n.kwargs.get("dim1")])[:2]
        order = list(range(rank))
        a, b = int(a) % rank, int(b) % rank
        order[a], order[b] = order[b], order[a]
        return order

    def function(self, n: fx.Node, tensors: list[str]) -> dict[str, Any]:
        fn, args, kwargs = n.target, list(n.args), dict(n.kwargs)
        extra = {k for k in kwargs if k not in INPLACE_OK and k not in ("dim", "start_dim", "end_dim", "p",
                                                                         "training", "output_size", "alpha")}
        if extra:
            raise ValueError(f"options {sorted(extra)}")
        if fn in MERGES:
            if len(tensors) != 2 or len(_tensors(args)) != 2 or kwargs.get("alpha", 1) != 1:
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
                return self.shape_op(n, tensors[:1])
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
            inside = {node for op in _ops(box) for node in (op.node, *op.states)}
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
            if isinstance(unit, Op):
                names.update({node: f"{full}:{state}" for node, state in unit.states.items()})
            prev = out_node
        return out

    def unit_name(self, unit: Any, taken: set[str]) -> str:
        # An index (a child of nn.Sequential or nn.ModuleList) becomes `<kind or class>_<index + 1>`: the
        # weights loader spells such numbered siblings back as the indices (weights.torch_names), and
        # children named from 0 (`encoder_layer_0`) are numbered from 1 (`from_one`), as a repeat's copies.
        if isinstance(unit, Op):
            base = unit.attr if unit.module is not None or unit.param is not None else next(iter(unit.item))
            if not base.isidentifier():
                base = f"{next(iter(unit.item))}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        else:
            base = unit.attr
            if not base.isidentifier():
                base = f"{_snake(unit.cls.__name__)}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        path = unit.module if isinstance(unit, Op) else unit.path
        base = self.from_one.get(path, base) if path is not None else base
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
            item = dict(unit.item)
            if unit.composite is not None:
                self.classes[id(item)] = unit.composite  # one block, when used more than once
            return item
        item = self.structured(unit, names, prefix)
        if item is None:
            layers = self.items(unit, names, prefix)
            self._last[unit.path] = names[unit.output] if unit.output else prefix.rstrip(".")
            item = {Sequential.KIND: {"layers": layers}}
        self.classes[id(item)] = unit.cls
        return item

    def structured(self, box: Box, names: dict[str, str], prefix: str) -> dict[str, Any] | None:
        """A chain, a residual or parallel branches, or a chain of those (a Transformer layer's two
        residuals), written without ``from:``; None when it is none."""
        if len(box.inputs) != 1 or box.output is None or any(isinstance(u, Box) and u.output is None
                                                             for u in box.units):
            return None
        item = self.group(box.units, box.inputs[0], box.output, names, prefix)
        if item is None:
            item = self.segments(box.units, box.inputs[0], box.output, names, prefix)
        if item is not None and _kind(item) == Sequential.KIND:
            self._last[box.path] = names[box.output]
        return item

    def segments(self, units: list[Any], x: str, output: str, names: dict[str, str],
                 prefix: str) -> dict[str, Any] | None:
        """``units`` as a chain of segments from ``x`` to ``output``, each one unit or a residual or
        parallel group (:meth:`group`) that nothing after it reads into; None when they are not."""
        reads: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            for a in u.inputs:
                reads.setdefault(a, []).append(i)
        parts: list[list[Any]] = []
        cur, start = x, 0
        for i, u in enumerate(units):
            part = units[start:i + 1]
            made = {_out(v) for v in part}
            if any(a not in made and a != cur for v in part for a in v.inputs):
                return None  # reads something before the segment: not a chain of segments
            end = _out(u)
            if any(j > i for node in made | {cur} if node != end for j in reads.get(node, ())):
                continue  # a later unit reads into it: the segment goes on
            parts.append(part)
            cur, start = end, i + 1
        if start != len(units) or cur != output or all(len(p) == 1 for p in parts):
            return None
        layers: list[dict[str, Any]] = []
        taken: set[str] = set()
        cur = x
        for part in parts:
            if len(part) == 1:
                layers += self.sub_items(part, names, prefix, taken)
            else:
                kind = Residual.KIND if any(next(iter(u.item)) == Add.KIND for u in part if isinstance(u, Op)) \
                    else Parallel.KIND
                name = self.free_name(kind, taken)
                item = self.group(part, cur, _out(part[-1]), names, f"{prefix}{name}.")
                if item is None or _kind(item) == Sequential.KIND:
                    return None
                item["name"] = name
                layers.append(item)
            cur = _out(part[-1])
        return {Sequential.KIND: {"layers": layers}}

    @staticmethod
    def free_name(base: str, taken: set[str]) -> str:
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    def group(self, units: list[Any], x: str, output: str, names: dict[str, str],
              prefix: str) -> dict[str, Any] | None:
        """``units`` from ``x`` to ``output`` as a chain, a residual or parallel branches; None otherwise."""
        outs = {_out(u): u for u in units}

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

        whole = chain(output)
        if whole is not None and len(whole) == len(units):
            return {Sequential.KIND: {"layers": self.sub_items(whole, names, prefix)}}
        # residual: ... merge(a, b) [activation]; parallel: merge(branches...)
        tail: list[Any] = []
        end = output
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
        if used != len(units) or len({id(u) for b in branches for u in b}) != used - 1 - len(tail):
            return None
        kind = next(iter(merge.item))
        act = next(iter(tail[0].item)) if tail else None
        if kind == Add.KIND and len(branches) == 2 and any(branches):
            # the shortcut is the identity or the projection: the empty branch, else the one of fewer layers
            # (torchvision's ResNet adds `out + downsample(x)`, its RegNet `proj(x) + f(x)`)
            size = [sum(len(_ops(u)) if isinstance(u, Box) else 1 for u in b) for b in branches]
            body, short = (branches[1], branches[0]) if size[0] < size[1] else (branches[0], branches[1])
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

    def sub_items(self, units: list[Any], names: dict[str, str], prefix: str,
                  taken: set[str] | None = None) -> list[dict[str, Any]]:
        out = []
        taken = set() if taken is None else taken
        for u in units:
            name = self.unit_name(u, taken)
            item = self.unit_item(u, names, f"{prefix}{name}.")
            item["name"] = name
            node = u.node if isinstance(u, Op) else u.output
            names[node] = self.output_name(u, item, f"{prefix}{name}")
            if isinstance(u, Op):
                names.update({n: f"{prefix}{name}:{state}" for n, state in u.states.items()})
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


def _out(unit: Op | Box) -> str | None:
    return unit.node if isinstance(unit, Op) else unit.output


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


TORCH_DIR = Path(torch.__file__).resolve().parent
NETSPEC_DIR = Path(__file__).resolve().parent.parent
FRAME = re.compile(r'File "(.+?)", line (\d+), in ')


def _user_frame(frames: list[tuple[str, Any]]) -> tuple[str, int] | None:
    """The deepest of ``(file, line)`` frames outside torch and netspec: the model's own code."""
    found = None
    for file, line in frames:
        try:
            where = Path(file).resolve()
            inside = where.is_relative_to(TORCH_DIR) or where.is_relative_to(NETSPEC_DIR)
        except (OSError, ValueError):
            inside = True
        if not inside and not file.startswith("<"):
            found = (file, int(line))
    return found


def _source_line(n: fx.Node) -> str | None:
    """``file.py:line`` of the model's code that made node ``n``, from the stack the tracer recorded;
    None when it kept none."""
    frame = _user_frame(FRAME.findall(n.meta.get("stack_trace") or ""))
    return f"{Path(frame[0]).name}:{frame[1]}" if frame else None


def _first_paragraph(text: str) -> str:
    """An exception's own text, without what torch.fx appends (``While executing ...``, its traceback)."""
    return text.split("\n\nWhile executing", 1)[0].split("\nWhile executing", 1)[0].strip()


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
    if isinstance(v, float):
        return shortest_float(v)
    if isinstance(v, dict):
        return {k: tidy_floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tidy_floats(x) for x in v]
    return v


def _sample_axis(dim: int | None, rank: int) -> int:
    """A softmax's ``dim`` on a tensor of ``rank`` (batch included) as netspec's per-sample axis, -1 for
    the last axis however it is written (``dim=1`` of an ``(N, F)`` tensor)."""
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1  # torch's implicit choice (deprecated) for dim=None
    if not -rank <= dim < rank:
        raise ValueError(f"dim {dim} of a tensor of rank {rank}")
    d = dim % rank
    if d == 0:
        raise ValueError(f"dim {dim}: over the batch axis (netspec normalizes within each sample)")
    return -1 if d == rank - 1 else d - 1


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
                # `block_block` when the class's name is a kind), `<block><k>` as the model's `<block><k>` and
                # `<block>_<k>` as the model's `<block>_<k - 1>` (see from_one).
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
    raw = tidy_floats(Importer(model, list(input_shape), name, input_dtype).spec())
    text = f"# {type(model).__name__} from {label}, written by `netspec import`.\n" + to_yaml(raw)
    params = raw["expect"]["params"]
    done = Imported(text, raw, params)
    if check:
        done.max_diff, done.weights = verify(text, model, list(input_shape), input_dtype)
    return done


def output_format(output: str | None) -> str:
    """The format a spec is written in to ``output``: YAML (``.yaml``, ``.yml``, or stdout: None) or the
    DSL (``.ns``).

    Raises:
        UsageError: the suffix names neither format.
    """
    to = "yaml" if output is None else format_of(output)
    if to is None:
        raise UsageError(f"-o {output}: netspec writes a spec as YAML (.yaml, .yml) or in the DSL (.ns); "
                         f"the suffix '{Path(str(output)).suffix}' is neither")
    return to


def written_as(text: str, to: str) -> str:
    """The imported spec (YAML ``text``) in format ``to`` (the DSL: converted, and read back as the same spec)."""
    return text if to == "yaml" else convert(text, to=to, fmt="yaml")


def verify(text: str, model: nn.Module, input_shape: list[int], input_dtype: str = "float") -> tuple[float, str]:
    """Resolve the spec (its ``expect:`` pins the model's parameter count), compile it with the model's
    own state dict and compare outputs on random inputs; the largest difference and the load summary."""
    graph = analyze(text)
    net = graph.network(None)
    want = sum(p.numel() for p in model.parameters())
    if net.params != want:
        raise BuildError(f"the imported spec has {net.params} parameters, the model {want}")
    try:
        mine = compile_spec(graph, weights=model.state_dict()).eval()
    except DataError as exc:
        raise BuildError(f"the imported spec does not take the model's own state dict: {exc}".rsplit("\nrefused", 1)[0]
                         + "\n    hint: this is netspec import's fault (its names should spell the model's); "
                         "--no-check writes the spec without this check") from None
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
    return worst, mine.netspec_weights.summary() if model.state_dict() else "the model holds no tensors"
