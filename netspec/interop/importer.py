"""``netspec import``: a PyTorch model -> a spec, by tracing it with ``torch.fx``.

Each traced call of a standard module or function becomes a layer (:data:`torch_table.MODULES`,
:data:`torch_table.FUNCTIONS`; a function that is a module's forward, ``F.max_pool2d``, as that module:
:data:`torch_table.FUNCTION_MODULES`; PyTorch's Transformer encoder and decoder layers as groups of layers:
:meth:`Importer.encoder`, :meth:`Importer.decoder`, a causal mask given to them or to attention as ``causal: true``:
:meth:`Importer.mask_options`; a pool to one position and the squeeze after it as a global pool:
:meth:`Importer.pool_to_one`;
a recurrent module's ``(output, state)`` is read through how forward indexes it, :meth:`Importer.recurrent_uses`);
the module tree gives the groups (a container's dataflow read as a chain, a residual ``f(x) + x`` or
``f(x) + g(x)`` with a trailing activation, parallel branches merged at the end, or failing those a
group whose layers name their inputs with ``from:``). Containers of one class and one structure become
a block definition, what differs between them its parameters; a run of identical instances is a
``repeat``. A module forward calls again is its first call's layer applied again (``share:``, a container called
again a group of its own), a parameter two modules hold the later layer's ``tie:``. Whatever cannot be mapped (a
module netspec has no kind for, a shape computation, a recurrent state in PyTorch's layout) is listed by its place
in the model, and nothing is written. An input size given as a name (``--input T,16``) is traced at an example size
and written as the name (:func:`symbolic_sizes`), the spec checked at a second size too.

Names follow the model's: attributes keep theirs, the children of an ``nn.Sequential``/``nn.ModuleList``
are numbered by index (``features.0`` is ``conv2d_1``, ``layer1.0`` is ``basic_block_1``), which the
weights loader spells back as the indices, so the model's own state dict loads by name. DenseNet's dense
connectivity is read as a running concatenation (:func:`structure.running_concatenations`): a repeated block.

The model is traced once more as it runs on a random input (:class:`tracing.Recorder`): the sizes forward
computes from ``x.shape`` are read from what its reshapes produced, a parameter used in forward is read
from its shape (a class token, a position table, a layer scale), and a LayerNorm subclass from what it
computed. Containers whose layers form a chain of residuals (a pre-norm Transformer layer) become
residual groups (:meth:`structure.Structure.segments`); an LSTM's final ``(h, c)`` selected by ``h[-1]``/``h[0]``
becomes its ``return_state`` outputs read by ``sequence_pool`` (another row: :meth:`Importer.select_state`),
and a bidirectional layer's ``torch.cat([h[-2], h[-1]], dim=1)`` its own output (:meth:`Importer.final_merge`).
PyTorch's ``batch_first=False`` attention and Transformer layers, given ``x.transpose(0, 1)`` and read back
through the same transpose (or a mean over dim 0, ``y[0]``, ``y[-1]``), are the batch-first layers of the
same function, the transposes no layers (``layout.batch_second``).
What cannot be imported is listed once per cause, with the places it was met (:class:`NotImportable`).

The result is checked: the spec must resolve with the model's exact parameter count, compile, take
the model's own state dict and compute the same outputs on random inputs.

This module is the entry point (:func:`import_model`, :class:`Importer`'s tracing and mapping); the parts
live beside it: ``tracing`` (loading, tracing and running the model), ``torch_table`` (torch modules and
functions -> netspec layer items), ``structure`` (groups, residuals, parallels, blocks, repeats), ``naming``
(names and floats as written), ``layout`` (batch-second sequences around ``batch_first=False`` layers).
"""

from __future__ import annotations

import inspect
import math
import operator
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from netspec.api import analyze
from netspec.api import compile as compile_spec
from netspec.convert import convert, format_of
from netspec.core.errors import BuildError, DataError, Location, NetspecError, Problem, UsageError
from netspec.frontends.write.yaml import to_yaml
from netspec.interop.layout import Layout, batch_second, is_swap, permutation
from netspec.interop.naming import numbered_from_one, snake, tidy_floats
from netspec.interop.structure import MEMORY, Op, Structure, repeats, running_concatenations, tensor_nodes
from netspec.interop.torch_table import (
    ACTIVATION_DEFAULTS,
    ACTIVATION_FUNCTIONS,
    ACTIVATION_MODULES,
    ACTIVATION_VARIANTS,
    ADAPTIVE_MAX,
    ALPHA_DROPOUTS,
    BIDIRECTIONAL_MERGES,
    CUTS,
    DECODERS,
    DROP_PATHS,
    ENCODERS,
    FLATTENS,
    FUNCTION_MODULES,
    FUNCTIONAL_DROPOUTS,
    FUNCTIONS,
    IDENTITY,
    INPLACE_OK,
    LAST_STEP,
    MERGES,
    METHOD_MODULES,
    METHODS,
    MODULES,
    PAIR,
    PERMUTES,
    RECURRENT,
    REDUCTIONS,
    SHAPES,
    SPATIAL_DROPOUTS,
    STATE_HINT,
    STATE_LAYOUT,
    STATE_NAMES,
    STOCHASTIC_DEPTH,
    TRANSFORMERS,
    TRANSPOSED_CONVS,
    UNUSED_ARGUMENTS,
    WINDOWED,
    alpha_dropout_refusal,
    attention_item,
    drop_path_item,
    drop_path_rate,
    dropout_item,
    fn_name,
    holds_tensor,
    index_text,
    is_causal_mask,
    layer_norm_item,
    linear_item,
    merge_mode,
    output_padding_of,
    own_function,
    own_module,
    pair,
    sample_axis,
    spatial_dropout_rank,
    state_index,
)
from netspec.interop.tracing import (
    FRAME,
    LeafTracer,
    ModelCodeError,
    Recorder,
    example_input,
    first_paragraph,
    load_model,
    source_line,
    standalone,
    user_frame,
)
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.attention.attention import Attention
from netspec.layers.base import Layer, all_kind_names
from netspec.layers.core.drop_path import DropPath
from netspec.layers.core.flatten import Flatten
from netspec.layers.core.reshape import Reshape
from netspec.layers.merge.chunk import Chunk
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.split import Split
from netspec.layers.norm.layernorm import LayerNorm
from netspec.layers.pool.adaptive_avg_pool1d import AdaptiveAvgPool1d
from netspec.layers.pool.adaptive_avg_pool2d import AdaptiveAvgPool2d
from netspec.layers.pool.global_avg_pool import GlobalAvgPool
from netspec.layers.pool.global_max_pool import GlobalMaxPool
from netspec.layers.sequence.permute import Permute
from netspec.layers.sequence.sequence_pool import SequencePool
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential
from netspec.layers.tensors.class_token import ClassToken
from netspec.layers.tensors.layer_scale import LayerScale
from netspec.layers.tensors.position_embedding import PositionEmbedding
from netspec.spec.model import MAX_DIM

TORCHVISION_INPUT = [3, 224, 224]
TRAINABLE = next(k for k in Layer.common_keys() if k == "trainable")  # a layer's option that freezes its weights
SYMBOL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:=([0-9]{1,9}))?")  # a symbolic input size: `T`, or `T=50`
SYMBOL_EXAMPLE = 32  # the size a symbolic input size is traced at unless given (`T=50`), then checked at 48 too
MAX_INPUT_VALUES = 1 << 26  # values in one sample: the model runs on a random batch of two before anything is written


@dataclass(frozen=True)
class Refusal:
    """One part of a model netspec cannot express: the module's path (``""`` for the model's own forward), the
    line of forward that calls it (``file.py:42``, ``""`` when unknown), what it is and why it is refused."""

    path: str
    line: str
    what: str
    why: str

    @property
    def where(self) -> str:
        if self.path and self.line:
            return f"{self.path} ({self.line})"
        return self.path or self.line or "forward"


class NotImportable(BuildError):
    """Parts of the model netspec cannot express: ``refusals`` (:class:`Refusal`), ``parts`` the same as
    ``(where, what, why)``, ``causes`` grouped by cause: ``(line, what, why, places)``, in the order met.

    A cause met at several places (a refused call inside a block the model repeats: Swin's shifted window
    attention in each of its twelve blocks) is one line of the message, which lists the places after it."""

    def __init__(self, parts: list[Refusal] | list[tuple[str, str, str]]) -> None:
        self.refusals = refusals = [p if isinstance(p, Refusal) else Refusal(p[0], "", p[1], p[2]) for p in parts]
        self.parts = [(r.where, r.what, r.why) for r in refusals]
        grouped: dict[tuple[str, str, str], list[Refusal]] = {}
        for r in refusals:
            same = grouped.setdefault((r.line, r.what, r.why), [])
            if all(r.where != o.where for o in same):
                same.append(r)
        self.causes = [(line, what, why, [r.path or r.where for r in same])
                       for (line, what, why), same in grouped.items()]
        # one place: where it is; several: the line of forward (the same code), the places listed after
        heads = [same[0].where if len(same) == 1 else line or "in" for (line, _, _), same in grouped.items()]
        width = max(len(h) for h in heads)
        lines = []
        for head, (_, what, why, places) in zip(heads, self.causes):
            why, _, hint = why.partition("; hint: ")  # the hint on a line of its own, as a Problem writes it
            lines.append(f"  {head:<{width}}  {what}: {why}")
            if len(places) > 1:
                lines.append(f"  {'':<{width}}    at {len(places)} places: {', '.join(places)}")
            if hint:
                lines.append(f"  {'':<{width}}    hint: {hint}")
        count = f"{len(refusals)}" if len(self.causes) == len(refusals) else \
            f"{len(refusals)} places, {len(self.causes)} causes"
        super().__init__(f"not importable ({count}):\n" + "\n".join(lines))


def dropout_calls(graph: fx.Graph) -> dict[str, tuple[tuple[Any, str, int], Any]]:
    """Each dropout function's node of ``graph`` -> its key (the function, the line of forward it was traced at,
    how many calls of it that line made before) and the ``training`` argument it was given."""
    found: dict[str, tuple[tuple[Any, str, int], Any]] = {}
    counts: dict[tuple[Any, str], int] = {}
    for n in graph.nodes:
        if n.op == "call_function" and n.target in FUNCTIONAL_DROPOUTS:
            place = (n.target, n.meta.get("stack_trace") or "")
            counts[place] = counts.get(place, -1) + 1
            call = dict(zip(("p", "training", "inplace"), n.args[1:])) | dict(n.kwargs)
            found[n.name] = ((*place, counts[place]), call.get("training", FUNCTIONAL_DROPOUTS[n.target][1]))
    return found


def changed_options(m: nn.Module) -> dict[str, Any]:
    """The options a module keeps as attributes that differ from a fresh ``type(m)()``'s (``beta`` of
    ``nn.Softplus(beta=2)``), but those that do not change the values (``inplace``); none for a module that
    takes required arguments."""
    try:
        fresh = type(m)()
    except TypeError:
        return {}
    return {k: getattr(m, k) for k, v in vars(fresh).items()
            if not k.startswith("_") and k != "training" and k not in UNUSED_ARGUMENTS and getattr(m, k, v) != v}


class Importer(Structure):
    """Trace, map, structure, write."""

    def __init__(self, model: nn.Module, input_shape: list[int], name: str, input_dtype: str = "float") -> None:
        self.model = model.eval()
        self.input_shape = input_shape
        self.input_dtype = input_dtype
        self.name = name
        self.problems: list[Refusal] = []
        self.modules = dict(model.named_modules())
        self.blocks: dict[str, dict[str, Any]] = {}
        self.kinds = set(all_kind_names())
        self.classes: dict[int, type] = {}  # id(item) -> the container class it came from
        self.last_output: dict[str, Any] = {}  # container path -> full name of its output node
        self.values: dict[str, Any] = {}  # fx node -> what it computed on the example input
        # dropout functions as traced in train mode: their `training` argument (None: not traceable so)
        self.train_mode_calls: dict[tuple[Any, str, int], Any] | None = {}
        self.from_one = numbered_from_one(model)  # module path -> its name numbered from 1 (`layer_0` -> `layer_1`)
        self.params: dict[str, str] = {}  # fx node (a get_attr, or an expand of one) -> the parameter's full name
        self.states: dict[str, tuple[str, str]] = {}  # fx node -> (its recurrent module's node, h or c)
        self.state_pairs: dict[str, tuple[str, str]] = {}  # an LSTM's (h, c) tuple used whole -> its two states' keys
        self.state_views: set[str] = set()  # fx nodes of `h.transpose(0, 1)`: netspec's layout of the state, no layer
        self.notes: dict[str, str] = {}  # fx node of a module -> why the way forward reads it is not importable
        self.merges: dict[str, str] = {}  # fx node of a bidirectional layer -> how forward merges h[-2] and h[-1]
        self.folded: set[str] = set()  # fx nodes of pools to one position whose squeeze was folded into them
        self.masks: set[str] = set()  # fx nodes that compute only the masks of attention calls
        self.mask_buffers: set[str] = set()  # buffers read only as such masks (a causal mask kept in the model)
        self.nodes: dict[str, fx.Node] = {}  # the traced graph's nodes by name
        self.pieces: dict[str, tuple[str, str]] = {}  # fx node of a piece -> (its chunk or split's node, out<k>)
        self.left_out: list[str] = []  # modules forward never calls in eval mode (auxiliary heads): not in the spec
        self.layout = Layout()  # batch-second tensors: the transposes around batch_first=False layers (layout.py)
        self.batch_second = False  # the call being mapped is a batch_first=False layer given batch-second tensors
        self.symbols: dict[int, str] = {}  # input axis -> its name, for a size given as a name (`--input T,4`)

    # --- trace and map -------------------------------------------------------------------------------
    def trace(self) -> fx.GraphModule:
        """The traced model, without dead code, and :attr:`values`: what each node computes on an example
        input (sizes settle reshapes, parameters' shapes settle what a use of them is)."""
        try:
            gm = fx.GraphModule(self.model, LeafTracer(self.model).trace(self.model))
        except Exception as exc:
            raise self.trace_failed(exc) from None
        gm.graph.eliminate_dead_code()
        gm.recompile()
        self.one_input(gm)
        recorder = Recorder(gm)
        try:
            with torch.no_grad():
                recorder.run(example_input(self.model, self.input_shape, self.input_dtype))
        except Exception as exc:
            raise self.run_failed(exc, recorder.current) from None
        self.values = recorder.seen
        self.train_mode_calls = self.traced_in_training(gm)
        return gm

    def one_input(self, gm: fx.GraphModule) -> None:
        """Refuse a forward that takes more than one tensor without a default: netspec import runs the model on
        one input (its ``--input`` shape)."""
        names = [str(n.target) for n in gm.graph.nodes if n.op == "placeholder" and not n.args]
        if len(names) > 1:
            raise NotImportable([Refusal("", "", f"forward({', '.join(names)})",
                                         f"takes {len(names)} inputs (netspec import runs the model on one input "
                                         "tensor, of the --input shape); hint: import a module whose forward takes "
                                         "one tensor (an encoder, a decoder apart), or wrap the model in one that "
                                         "builds the other inputs from it")])

    def traced_in_training(self, gm: fx.GraphModule) -> dict[tuple[Any, str, int], Any] | None:
        """The ``training`` argument each dropout function of ``gm`` gets when the model is traced in train mode,
        keyed by (function, line of forward, count at that line): ``training=self.training`` is False in both
        traces, so only the second tells it from a constant ``training=False`` (identity in both modes).
        None when forward cannot be traced in train mode."""
        if not any(n.op == "call_function" and n.target in FUNCTIONAL_DROPOUTS for n in gm.graph.nodes):
            return {}
        try:
            self.model.train()
            graph = LeafTracer(self.model).trace(self.model)
        except Exception:
            return None
        finally:
            self.model.eval()
        return dict(dropout_calls(graph).values())

    def trace_failed(self, exc: Exception) -> ModelCodeError:
        """torch.fx could not trace forward: the cause, at the deepest line of the model's code."""
        frame = user_frame([(f.filename, f.lineno or 1) for f in traceback.extract_tb(exc.__traceback__)])
        detail = first_paragraph(str(exc))
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
        frame = user_frame(FRAME.findall(n.meta.get("stack_trace") or "")) if n is not None else None
        module = self.modules.get(str(n.target)) if n is not None and n.op == "call_module" else None
        message = (f"the model does not run on a random input of shape {self.input_shape} (per sample): "
                   f"{type(exc).__name__}: {first_paragraph(str(exc))}")
        if isinstance(module, nn.Embedding) and self.input_dtype == "float":
            hint = "the model starts with nn.Embedding, which takes token ids: pass --dtype long"
        else:
            hint = ("give --input the per-sample shape forward expects (without the batch axis)" +
                    ("; --dtype long gives token ids" if self.input_dtype == "float" and
                     any(isinstance(m, nn.Embedding) for m in self.modules.values()) else ""))
        if self.symbols:  # traced at an example size: the model may need another, or a fixed one
            at = ", ".join(f"{name}={self.input_shape[k]}" for k, name in self.symbols.items())
            fixed = ",".join(str(size) for size in self.input_shape)
            hint += (f"; the symbolic sizes were traced at {at}: give the size forward expects, as a number "
                     f"(--input {fixed} with it) or a name's example size ({next(iter(self.symbols.values()))}=SIZE)")
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
        self.nodes = {n.name: n for n in gm.graph.nodes}
        used: dict[str, int] = {}
        first: dict[str, str] = {}  # a module (or parameter) used -> the fx node of its first use
        firsts: dict[str, dict[str, Any]] = {}  # ... and the layer item it was mapped to
        holders: dict[int, tuple[str, str]] = {}  # id of a parameter -> (the fx node of its first use, its name there)
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
            elif n.op == "call_module" and own_module(self.modules[str(n.target)]) is not None:
                self.own_uses(n, alias)  # netspec's own module (before torch's classes it derives from)
            elif n.op == "call_module" and isinstance(self.modules.get(str(n.target)), RECURRENT):
                sequences[n.name] = self.recurrent_uses(n, alias, skip)
                self.final_merge(n, alias, skip)
            elif n.op == "call_module" and isinstance(self.modules.get(str(n.target)), nn.MultiheadAttention):
                self.attention_uses(n, alias)
            elif len(n.args) > 0 and isinstance(n.args[0], fx.Node) and n.args[0].name in self.states and \
                    is_swap(n, self.values.get(n.args[0].name)):
                alias[n.name] = n.args[0].name  # `h.transpose(0, 1)`: the state in netspec's layout, the layer's h
                self.state_views.add(n.name)
            elif n.op in ("call_function", "call_method") and n.target in CUTS:
                self.piece_uses(n)
            elif self.pool_to_one(n) is not None:
                self.squeezes(n, alias)
            elif n.op in ("call_function", "call_method") and REDUCTIONS.get(n.target) and \
                    isinstance(self.values.get(n.name), tuple):
                self.max_uses(n, alias)
        self.mask_nodes(gm)
        self.layout = batch_second(gm, self.modules, self.values, self.masks | self.state_views)
        for n in gm.graph.nodes:
            stack = [re.sub(r"@\d+$", "", k) for k in n.meta.get("nn_module_stack", {})]
            if n.op == "placeholder":
                inputs.append(n.name)
                continue
            if n.op == "output":
                if n.name in self.layout.notes:
                    self.problems.append(Refusal("", "", "output", self.layout.notes[n.name]))
                outputs = [alias.get(a.name, a.name) for a in tensor_nodes(n.args[0])]
                twice = sorted({o for o in outputs if outputs.count(o) > 1})
                if twice:  # a spec names each output once: the model's second copy would be dropped
                    self.problems.append(Refusal("", source_line(n) or "", "output",
                                                 f"returns the same tensor more than once ({', '.join(twice)}); a "
                                                 "spec's outputs are distinct tensors; hint: return it once"))
                for o in (a.name for a in tensor_nodes(n.args[0])):  # h.transpose(0, 1) is no refusal: netspec's h
                    if o in self.states or o in self.state_pairs:
                        what = self.states[o][1] if o in self.states else "(h, c)"
                        self.problems.append(Refusal("", source_line(self.nodes[o]) or "", f"returns {what}",
                                                     f"{STATE_LAYOUT}; hint: {STATE_HINT}"))
                continue
            if n.name in alias or n.name in skip or n.name in self.params or n.name in self.states or \
                    n.name in self.masks or n.name in self.pieces:
                continue
            if n.op in ("call_function", "call_method") and not holds_tensor(self.values.get(n.name)):
                continue  # a size computed from a shape, an assertion: reshapes read the sizes they produce
            if n.op == "call_method" and n.target == "contiguous":
                alias[n.name] = alias.get(n.args[0].name, n.args[0].name)
                continue
            if n.name in self.layout.swaps:  # into or out of a batch_first=False layer's (T, N, E): no layer
                source = self.layout.swaps[n.name]
                alias[n.name] = alias.get(source, source)
                continue
            try:
                op = self.map(n, stack)
            except ValueError as exc:
                what = type(self.modules[n.target]).__name__ if n.op == "call_module" else fn_name(n.target)
                path = str(n.target) if n.op == "call_module" else stack[-1] if stack else ""
                self.problems.append(Refusal(path, source_line(n) or ("" if path else n.name), what, str(exc)))
                if n.op == "call_module":
                    unmapped.add(str(n.target))  # called, though not mapped: not "never called"
                unread |= {self.params[a.name] for a in tensor_nodes(list(n.args) + list(n.kwargs.values()))
                           if a.name in self.params}  # read, though not mapped
                continue
            op.calls = {re.sub(r"@\d+$", "", k): k for k in n.meta.get("nn_module_stack", {}) if re.search(r"@\d+$", k)}
            op.inputs = [alias.get(a, a) for a in op.inputs]
            op.reads = [alias.get(a, a) for a in op.reads]
            if n.name in sequences:
                kind = next(iter(op.item))
                op.states = {s: state for s, (rec, state) in self.states.items() if rec == n.name}
                op.item = {kind: {**op.item[kind], **({"return_sequences": True} if sequences[n.name] else {}),
                                  **({"return_state": True} if op.states else {}),
                                  **({"merge": self.merges[n.name]} if self.merges.get(n.name) not in
                                     (None, BIDIRECTIONAL_MERGES[Concat.KIND]) else {})}}
            op.states.update({p: out for p, (cut, out) in self.pieces.items() if cut == n.name})
            self.frozen(op)
            owner = op.module if op.module is not None else op.param
            if owner is not None and (op.param is not None or any(True for _ in self.modules[owner].parameters())):
                used[owner] = used.get(owner, 0) + 1
                if used[owner] == 1:
                    first[owner], firsts[owner] = op.node, op.item
                    self.tied_to(op, holders)
                elif op.module is not None and op.composite is None and op.param is None and \
                        op.item == firsts[owner]:
                    op.shares = first[owner]  # called again: `share:` the first call's layer (its module, its weights)
                elif op.module is not None and op.composite is None and op.param is None:
                    self.problems.append(Refusal(owner, source_line(n) or "", type(self.modules[owner]).__name__,
                                                 f"called again as {flow(op.item)}, first as {flow(firsts[owner])} "
                                                 "(a layer that "
                                                 "shares another's weights runs as that layer, share:); hint: read "
                                                 "its outputs alike at every call"))
                elif used[owner] == 2:
                    what = type(self.modules[owner]).__name__ if op.param is None else "Parameter"
                    self.problems.append(Refusal(owner, source_line(n) or "", what, (
                        "forward reads this parameter twice (netspec's learned-tensor layers own theirs)"
                        if op.param is not None else "called twice, and netspec writes it as a group of layers, which "
                        "share: (one layer's module applied again) cannot take") + "; hint: call it once"))
            ops.append(op)
        called = {op.module for op in ops if op.module} | unmapped
        consumed = {op.param for op in ops if op.param} | unread
        idle = set()
        for path, m in self.modules.items():
            own = [f"{path}.{k}" if path else k for k, _ in m.named_parameters(recurse=False)]
            if own and path not in called and not any(path.startswith(c + ".") for c in called) and \
                    not any(p in consumed for p in own):
                idle.add(path)
            elif own and path not in called and not any(path.startswith(c + ".") for c in called) and \
                    not all(p in consumed for p in own):
                self.problems.append(Refusal(path, "", type(m).__name__, "some of its parameters are read by "
                                             "forward, others never (netspec layers own all their weights)"))
        self.left_out = self.idle_modules(idle)
        return inputs, ops, outputs

    def tied_to(self, op: Op, holders: dict[int, tuple[str, str]]) -> None:
        """The parameters of ``op``'s module that an earlier layer's module holds too (GPT-2's ``self.head.weight =
        self.wte.weight``): ``op.ties``, written as its ``tie:``; the others recorded in ``holders`` for later ops."""
        if op.module is None:
            if op.param is not None:
                holders.setdefault(id(self.model.get_parameter(op.param)), (op.node, op.param.rpartition(".")[2]))
            return
        for pname, p in self.modules[op.module].named_parameters(recurse=False):
            if id(p) in holders:
                op.ties[pname] = holders[id(p)]
            else:
                holders[id(p)] = (op.node, pname)

    def frozen(self, op: Op) -> None:
        """A layer whose every weight is frozen (``requires_grad`` False: exported source freezes the layers a spec
        says ``trainable: false`` of) is written so."""
        if op.composite is not None:
            return
        weights = list(self.modules[op.module].parameters()) if op.module is not None else \
            [self.model.get_parameter(op.param)] if op.param is not None else []
        if weights and not any(w.requires_grad for w in weights):
            kind = next(iter(op.item))
            op.item = {kind: {**op.item[kind], TRAINABLE: False}}

    def left_out_note(self) -> str:
        """What the spec leaves out, and why: said in its description and by ``netspec import``."""
        names = ", ".join(self.left_out)
        return (f"left out {names} ({self.left_out_params():,} parameters), which forward never calls in eval mode "
                "(auxiliary heads used only in training): the spec computes the model's eval-mode outputs, and those "
                "weights are not imported")

    def idle_modules(self, idle: set[str]) -> list[str]:
        """The outermost modules whose every parameter-holding module is in ``idle`` (never called by forward
        in eval mode, its parameters never read: an auxiliary head, called only in training): left out of the
        spec (:attr:`left_out`). A parameter shared with a module forward calls is refused: leaving it out
        would leave out a weight the spec computes with."""
        called = {n for n in self.modules if n and n not in idle and any(True for _ in
                                                                          self.modules[n].parameters(recurse=False))}
        ids = {id(p) for n in called for p in self.modules[n].parameters(recurse=False)}
        whole = set()
        for path in self.modules:
            inside = [n for n in self.modules if n == path or n.startswith(path + ".")] if path else []
            holders = [n for n in inside if any(True for _ in self.modules[n].parameters(recurse=False))]
            if holders and all(n in idle for n in holders):
                whole.add(path)
        out = sorted(p for p in whole if p.rpartition(".")[0] not in whole)
        for path in out:
            if any(id(p) in ids for p in self.modules[path].parameters()):
                self.problems.append(Refusal(path, "", type(self.modules[path]).__name__,
                                             "never called by forward (in eval mode), yet it shares weights with a "
                                             "module forward calls; hint: build the model without it (torchvision's "
                                             "GoogLeNet and Inception3: aux_logits=False)"))
        root_idle = "" in idle
        if root_idle:
            self.problems.append(Refusal("", "", type(self.model).__name__, "its own parameters are never read by "
                                         "forward (in eval mode)"))
        return [p for p in out if not any(id(q) in ids for q in self.modules[p].parameters())]

    def left_out_params(self) -> int:
        """The parameters of the modules left out (:attr:`left_out`), each counted once."""
        return sum(p.numel() for name, p in self.model.named_parameters()
                   if any(name.startswith(path + ".") for path in self.left_out))

    def recurrent_uses(self, n: fx.Node, alias: dict[str, str], skip: set[str]) -> bool:
        """How forward reads a recurrent module's ``(output, state)``: True when it uses every step
        (``out``), False when only the last (``out[:, -1]``, one direction); the indexing nodes become
        aliases of the module's node. The final state (``_, (h, c) = lstm(x)``) becomes the layer's
        ``h`` and ``c`` outputs (:attr:`states`), which :meth:`select_state` reads."""
        m = self.modules[str(n.target)]
        getitems = [u for u in n.users if u.op == "call_function" and u.target is operator.getitem]
        if len(getitems) != len(n.users):  # returned or passed on whole: the state inside it, in torch's layout
            returned = any(u.op == "output" for u in n.users)
            self.notes[n.name] = (f"forward {'returns' if returned else 'uses'} its (output, {STATE_NAMES[type(m)]}) "
                                  f"tuple as a whole. {STATE_LAYOUT}; hint: {STATE_HINT}")
            return True
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

    def recurrent_inputs(self, n: fx.Node, m: nn.Module) -> list[str]:
        """The inputs of a recurrent module's call: its sequence, then its initial state when it is given one, which
        netspec takes as another recurrent layer's final state (``h``, and ``c`` of an LSTM: the layer's
        ``return_state`` outputs, in netspec's layout on both sides); any other initial state is refused."""
        call = self.call(n)
        x, hx = call.get("input"), call.get("hx")
        if not isinstance(x, fx.Node):
            raise ValueError("called without an input sequence tensor")
        if hx is None:
            return [x.name]
        if isinstance(m, nn.LSTM):
            keys = list(self.state_pairs[hx.name]) if isinstance(hx, fx.Node) and hx.name in self.state_pairs else \
                [a.name for a in hx] if isinstance(hx, (tuple, list)) and len(hx) == 2 and \
                all(isinstance(a, fx.Node) for a in hx) else []
            wanted = ["h", "c"]
        else:
            keys, wanted = ([hx.name] if isinstance(hx, fx.Node) else []), ["h"]
        if len(keys) != len(wanted) or any(k not in self.states for k in keys) or \
                [self.states[k][1] for k in keys] != wanted or len({self.states[k][0] for k in keys}) != 1:
            raise ValueError(f"an initial state {STATE_NAMES[type(m)]} other than another recurrent layer's final "
                             f"state (netspec's recurrent layers take that one, its return_state outputs, as their "
                             f"initial state; {STATE_LAYOUT.partition(': ')[0]}); hint: start from zeros (no initial "
                             "state), or from another recurrent layer's state as it returns it")
        return [x.name, *keys]

    def state_uses(self, n: fx.Node, u: fx.Node, m: nn.Module, skip: set[str]) -> None:
        """``u``, forward's ``state`` of a recurrent module: an LSTM's ``(h, c)`` unpacked, or a GRU's or
        RNN's ``h``; each becomes a named output of the layer. A tuple used otherwise is left to map()."""
        if not isinstance(m, nn.LSTM):
            self.states[u.name] = (n.name, "h")
            return
        skip.add(u.name)
        for w in u.users:
            if w.op == "call_function" and w.target is operator.getitem and w.args[1] in (0, 1, -2, -1):
                self.states[w.name] = (n.name, ("h", "c")[w.args[1] % 2])  # `hidden[-1]` is c
            else:  # `(h, c)` passed on whole (another LSTM's initial state) or returned: both, by name
                self.state_pairs[u.name] = (f"{u.name}{PAIR}h", f"{u.name}{PAIR}c")
                self.states.update({f"{u.name}{PAIR}{s}": (n.name, s) for s in ("h", "c")})

    def piece_uses(self, n: fx.Node) -> None:
        """A cut into pieces (``x1, x2 = x.chunk(2, dim=1)``) read through indexing only: each piece
        ``[k]`` becomes the layer's named output ``out<k>`` (:attr:`pieces`); the tuple used otherwise is
        noted for :meth:`cut`."""
        value = self.values.get(n.name)
        count = len(value) if isinstance(value, (tuple, list)) else 0
        if n.users and all(u.op == "call_function" and u.target is operator.getitem and isinstance(u.args[1], int)
                           and -count <= u.args[1] < count for u in n.users):
            for u in n.users:
                self.pieces[u.name] = (n.name, f"out{u.args[1] % count}")
        else:
            self.notes[n.name] = ("forward uses its pieces as a tuple (netspec reads each piece, x.chunk(2)[k], "
                                  "as one of the layer's outputs, out0, out1, ...)")

    def cut(self, n: fx.Node, args: list[str]) -> dict[str, Any]:
        """A chunk or split (:data:`torch_table.CUTS`) from the pieces it produced on the example input: equal
        pieces a ``chunk``, others a ``split`` with their sizes, along the axis it cut."""
        if n.name in self.notes:
            raise ValueError(self.notes[n.name])
        x, pieces = (self.tensor(args[0]) if len(args) == 1 else None), self.values.get(n.name)
        if x is None or not isinstance(pieces, (tuple, list)) or not pieces:
            raise ValueError("cuts something other than one tensor")
        dim = n.args[2] if len(n.args) > 2 else n.kwargs.get("dim", 0)
        if not isinstance(dim, int) or not -x.dim() <= dim < x.dim():
            raise ValueError(f"dim {dim!r} of a tensor of rank {x.dim()}")
        if dim % x.dim() == 0:
            raise ValueError("a cut along the batch axis (netspec cuts each sample)")
        axis = dim if dim < 0 else dim - 1
        sizes = [int(p.shape[dim]) for p in pieces]
        kind: dict[str, Any] = {"chunks": len(sizes)} if len(set(sizes)) == 1 else {"sizes": sizes}
        return {(Chunk if "chunks" in kind else Split).KIND: {**({"axis": axis} if axis else {}), **kind}}

    def own_uses(self, n: fx.Node, alias: dict[str, str]) -> None:
        """netspec's own module returning a tuple (an LSTM with ``return_state``, a split into pieces), read through
        indexing only: item ``k`` is the layer's ``k``-th output (:data:`torch_table.OWN_MODULES`), its main
        output ``out`` the layer's node itself; the tuple used otherwise is noted for :meth:`map`."""
        m = self.modules[str(n.target)]
        own = own_module(m)
        try:
            names = own.outputs(m) if own is not None and own.outputs is not None else None
        except AttributeError:
            return  # module_item refuses it
        if not names:
            return
        count = len(names)
        if n.users and all(u.op == "call_function" and u.target is operator.getitem and isinstance(u.args[1], int)
                           and -count <= u.args[1] < count for u in n.users):
            for u in n.users:
                name = names[u.args[1] % count]
                if name == "out":
                    alias[u.name] = n.name
                else:
                    self.pieces[u.name] = (n.name, name)
        else:
            self.notes[n.name] = (f"forward uses the tuple it returns as a whole (netspec reads each item, y[k], as "
                                  f"one of the layer's outputs: {', '.join(names)})")

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

    # --- calls with masks, pools to one position ----------------------------------------------------
    def call(self, n: fx.Node) -> dict[str, Any]:
        """A module call's arguments by the names of its class's ``forward`` (``src_key_padding_mask``, ...)."""
        m = self.modules[str(n.target)]
        try:
            bound = inspect.signature(type(m).forward).bind(m, *n.args, **n.kwargs)
        except (TypeError, ValueError):
            return {}
        return {k: v for k, v in list(bound.arguments.items())[1:]}

    def mask_nodes(self, gm: fx.GraphModule) -> None:
        """The nodes that compute only masks passed to attention or a Transformer layer (a causal mask made in
        forward, a padding mask ``x == 0``): no layers of their own. The call they are passed to says whether
        netspec takes its masks (:meth:`mask_options`), so a refused mask is one refusal, at that call."""
        masked: dict[str, set[str]] = {}  # a call -> the nodes it takes as masks only
        for n in gm.graph.nodes:
            if n.op == "call_module" and isinstance(self.modules.get(str(n.target)),
                                                    (nn.MultiheadAttention, *TRANSFORMERS)):
                call = self.call(n)
                data = {v.name for k, v in call.items() if "mask" not in k for v in tensor_nodes(v)}
                masked[n.name] = {v.name for k, v in call.items() if "mask" in k for v in tensor_nodes(v)} - data
        for n in reversed(list(gm.graph.nodes)):
            if n.op not in ("placeholder", "output") and n.users and \
                    all(u.name in self.masks or n.name in masked.get(u.name, ()) for u in n.users):
                if n.op == "get_attr":
                    self.mask_buffers.add(str(n.target))  # a mask kept as a buffer: no tensor of the spec's
                else:
                    self.masks.add(n.name)

    def mask_options(self, n: fx.Node) -> set[str]:
        """The masks of a call to attention or a Transformer layer that netspec takes, by argument name: a
        causal mask (``nn.Transformer.generate_square_subsequent_mask``: the positions after each query
        masked), which the attention it goes to writes as ``causal: true``. Any other mask, and a causality
        hint without its mask, is refused (ValueError), all of them in one message."""
        call = self.call(n)
        causal, refused = set(), []
        for key, v in call.items():
            if "mask" not in key or v is None:
                continue
            value = self.values.get(v.name) if isinstance(v, fx.Node) else v
            if "padding" in key:
                refused.append(f"{key} (netspec's attention reads a key padding mask as an input of the network, "
                               "padding_mask: true, and netspec imports one-input models)")
            elif isinstance(value, torch.Tensor) and is_causal_mask(value):
                causal.add(key)
            else:
                refused.append(f"{key} that is not the causal mask (netspec masks attention only causally, causal: "
                               "true, the positions after each query masked)")
        for key, v in call.items():
            prefix = key[:-len("is_causal")]  # tgt_is_causal: tgt_mask's hint
            masks = [k for k, m in call.items() if k.startswith(prefix) and "mask" in k and m is not None]
            if key.endswith("is_causal") and v and not masks:  # a mask given is taken or refused above
                refused.append(f"{key}=True without its mask")
        if refused:
            them = "them" if len(refused) > 1 else "it"
            raise ValueError(f"called with {', and '.join(refused)}; hint: import the model with forward calling it "
                             f"without {them} (the spec then computes the unmasked function), and write the masks into "
                             "the spec (attention's causal: true, padding_mask: true)")
        return causal

    def pool_to_one(self, n: fx.Node) -> str | None:
        """``max`` or ``avg`` when ``n`` pools every position to one where netspec has no pooling of that form:
        an adaptive max pool to size 1 (module or function), or a max or average pool whose window forward
        computes from the input's size and covers it (``F.max_pool1d(x, x.size(2))``); None otherwise."""
        y = self.tensor(n.name)
        if y is None or y.dim() < 3 or any(d != 1 for d in y.shape[2:]):
            return None
        if n.op == "call_module":
            return "max" if isinstance(self.modules.get(str(n.target)), ADAPTIVE_MAX) else None
        if n.op != "call_function":
            return None
        if n.target in (F.adaptive_max_pool1d, F.adaptive_max_pool2d):
            return "max"
        x = self.tensor(n.args[0].name) if n.args and isinstance(n.args[0], fx.Node) else None
        window = n.args[1] if len(n.args) > 1 else n.kwargs.get("kernel_size")
        if n.target not in WINDOWED or x is None or not tensor_nodes(window):
            return None
        # the function's own argument names (an average pool has no dilation; its divisor may be overridden)
        call = self.settled(dict(zip(FUNCTION_MODULES[n.target][1], n.args[1:])) | dict(n.kwargs))
        size = call["kernel_size"]
        size = tuple(size) if isinstance(size, (list, tuple)) else (size,) * (x.dim() - 2)
        if size != tuple(x.shape[2:]) or pair(call.get("padding", 0)) != 0 or pair(call.get("dilation", 1)) != 1 \
                or call.get("divisor_override"):
            return None
        return WINDOWED[n.target]

    def squeezes(self, n: fx.Node, alias: dict[str, str]) -> None:
        """A pool to one position (:meth:`pool_to_one`) read only through squeezes to ``(N, C)``
        (``.squeeze(-1)``, ``torch.squeeze``, ``.flatten(1)``, ``.view(n, -1)``, or a chain of them:
        ``.squeeze(-1).squeeze(-1)``): the squeezes are the global pool's own output, aliases of the pool."""
        y = self.tensor(n.name)
        if y is None or not n.users:
            return
        chain: list[fx.Node] = []
        ends = list(n.users)
        while ends:
            u = ends.pop()
            z = self.tensor(u.name)
            if u.op not in ("call_function", "call_method") or u.target not in FLATTENS or not u.args or \
                    not isinstance(u.args[0], fx.Node) or u.args[0] not in (n, *chain) or z is None or \
                    z.numel() != y.numel() or z.shape[:1] != y.shape[:1]:
                return
            chain.append(u)
            if tuple(z.shape) != tuple(y.shape[:2]):  # on the way to (N, C): every use of it goes on too
                if not u.users:
                    return
                ends.extend(u.users)
        self.folded.add(n.name)
        for u in chain:
            alias[u.name] = n.name

    def global_pool(self, n: fx.Node, mode: str) -> dict[str, Any]:
        """A pool to one position (:meth:`pool_to_one`): ``global_max_pool``/``global_avg_pool`` where its
        squeeze was folded into it (:meth:`squeezes`), else the same shape as the model's, ``(C, 1)``: the
        adaptive average pool to 1, or the global max pool reshaped."""
        kind = GlobalMaxPool.KIND if mode == "max" else GlobalAvgPool.KIND
        y = self.tensor(n.name)
        assert y is not None
        if n.name in self.folded:
            return {kind: {}}
        if mode == "avg":
            return {(AdaptiveAvgPool1d if y.dim() == 3 else AdaptiveAvgPool2d).KIND: {"output_size": 1}}
        return {Sequential.KIND: {"layers": [{kind: {}, "name": "pool"},
                                             {Reshape.KIND: {"shape": list(y.shape[1:])}, "name": "positions"}]}}

    def settled(self, call: dict[str, Any]) -> dict[str, Any]:
        """A call's arguments with the sizes forward computed (``x.size(2)``) as they were on the example input."""
        def value(v: Any) -> Any:
            if isinstance(v, fx.Node):
                return self.values.get(v.name)
            if isinstance(v, (list, tuple)):
                return type(v)(value(x) for x in v)
            return v
        return {k: value(v) for k, v in call.items()}

    def map(self, n: fx.Node, stack: list[str]) -> Op:
        args = [a.name for a in tensor_nodes(n.args) + tensor_nodes(list(n.kwargs.values()))
                if self.tensor(a.name) is not None]
        if n.name in self.layout.notes:
            raise ValueError(self.layout.notes[n.name])
        pairs = [a for a in tensor_nodes(list(n.args) + list(n.kwargs.values())) if a.name in self.state_pairs]
        if pairs and not (n.op == "call_module" and isinstance(self.modules[n.target], RECURRENT)):
            raise ValueError(f"reads an LSTM's (h, c) as a whole. {STATE_LAYOUT}")
        if n.op == "call_module":
            m = self.modules[n.target]
            container, _, attr = str(n.target).rpartition(".")
            if n.name in self.notes:
                raise ValueError(self.notes[n.name])
            self.batch_second = n.name in self.layout.layers
            try:
                item, args = self.module_item(m, n, args)
            finally:
                self.batch_second = False
            self.check_inputs(args[:1] if isinstance(m, RECURRENT) else args)  # a recurrent layer's initial states
            reads = [self.call(n)["memory" if isinstance(m, DECODERS) else "tgt"].name] \
                if isinstance(m, (*DECODERS, nn.Transformer)) else []
            return Op(n.name, container, attr, item, args, str(n.target),
                      composite=type(m) if isinstance(m, TRANSFORMERS) else None, reads=reads)
        container = stack[-1] if stack else ""
        if args and args[0] in self.states:
            return self.select_state(n, container)
        if n.name in self.layout.pools:  # a mean over dim 0, y[0] or y[-1] of a batch-second (T, N, E)
            self.check_inputs(args[:1])
            mode = self.layout.pools[n.name]
            return Op(n.name, container, SequencePool.KIND, {SequencePool.KIND: {"mode": mode}}, args[:1])
        mode = self.pool_to_one(n)
        if mode is not None:
            self.check_inputs(args[:1])
            return Op(n.name, container, n.name, self.global_pool(n, mode), args[:1])
        reduction = REDUCTIONS.get(n.target) if n.op in ("call_function", "call_method") else None
        if reduction is not None and len(args) == 1:  # not torch.max(a, b): no pool
            self.check_inputs(args)
            return Op(n.name, container, n.name, self.reduce(n, args, reduction), args[:1])
        as_module = self.function_module(n)
        if as_module is not None:
            if len(args) != 1:
                raise ValueError(f"{fn_name(n.target)} of {len(args)} tensors")
            self.check_inputs(args)
            item, args = self.module_item(as_module, n, args)
            return Op(n.name, container, n.name, item, args)
        if n.op in ("call_function", "call_method") and n.target in CUTS:
            self.check_inputs(args[:1])
            return Op(n.name, container, n.name, self.cut(n, args[:1]), args[:1])
        if n.op == "call_function" and own_function(n.target) is not None:  # netspec's step, as exported
            self.check_inputs(args)
            if len(args) != 1:
                raise ValueError(f"{fn_name(n.target)} of {len(args)} tensors")
            return Op(n.name, container, n.name, {own_function(n.target): {}}, args)
        known = n.target in FUNCTIONS or n.target in SHAPES or n.target is operator.getitem or \
            (n.op == "call_method" and n.target in METHODS) or getattr(n.target, "__module__", None) == STOCHASTIC_DEPTH
        if not known:
            held = sorted({self.params[a] for a in args if a in self.params})
            held = [h[len(container) + 1:] if container and h.startswith(container + ".") else h for h in held]
            raise ValueError(f"{n.op} {fn_name(n.target)} has no netspec kind" +
                             (f" (it reads {', '.join(held)})" if held else ""))
        return self.function_op(n, args, container)

    def reduce(self, n: fx.Node, args: list[str], mode: str) -> dict[str, Any]:
        """``x.mean(dims)``, ``x.amax(dims)``, ``x.max(dim)[0]`` (``mode``: mean or max): over every axis after
        the channels a global pool (``x.mean((2, 3))``, ``x.max(dim=2)[0]`` of a ``(N, C, L)`` map), over the
        steps of a sequence ``(N, T, F)`` its ``sequence_pool`` (``x.mean(1)``, ``torch.max(x, 1).values``)."""
        x = self.tensor(args[0]) if len(args) == 1 else None
        call = dict(zip(("dim", "keepdim"), n.args[1:])) | dict(n.kwargs)
        dim = call.get("dim")
        if n.name in self.notes:
            raise ValueError(self.notes[n.name])
        example = "x.mean((2, 3))" if mode == "mean" else "x.amax((2, 3))"
        if x is None or dim is None or call.get("keepdim") or call.get("dtype") is not None:
            raise ValueError(f"a {mode} of all the values, keeping its axes or in another dtype (netspec pools over "
                             f"the positions of each sample: {example}, or the steps of a sequence: x.{mode}(1))")
        dims = sorted({int(d) % x.dim() for d in (dim if isinstance(dim, (list, tuple)) else [dim])})
        if x.dim() >= 3 and dims == list(range(2, x.dim())):
            return {(GlobalAvgPool if mode == "mean" else GlobalMaxPool).KIND: {}}
        if x.dim() == 3 and dims == [1]:
            return {SequencePool.KIND: {"mode": mode}}
        raise ValueError(f"a {mode} over dims {dims} of a tensor of rank {x.dim()} (netspec pools over the positions "
                         f"of each sample, {example}, or the steps of a sequence, x.{mode}(1))")

    def max_uses(self, n: fx.Node, alias: dict[str, str]) -> None:
        """``torch.max(x, dim)`` returns ``(values, indices)``: forward reading ``[0]`` or ``.values`` reads the
        pool (:meth:`reduce`); reading the indices is noted for it."""
        for u in n.users:
            if u.op == "call_function" and ((u.target is operator.getitem and u.args[1] == 0) or
                                            (u.target is getattr and u.args[1] == "values")):
                alias[u.name] = n.name
            else:
                self.notes[n.name] = "forward reads the indices of the maxima (netspec's pools return the values)"

    def function_module(self, n: fx.Node) -> nn.Module | None:
        """A function call that is a module's forward (``F.max_pool2d(x, 2)``, ``x.softmax(-1)``) as that
        module; None for any other call."""
        fn = n.target if n.op == "call_function" else METHOD_MODULES.get(str(n.target)) if n.op == "call_method" \
            else None
        if fn not in FUNCTION_MODULES:
            return None
        cls, names = FUNCTION_MODULES[fn]
        given = self.settled(dict(zip(names, n.args[1:])) | dict(n.kwargs))
        if len(n.args) - 1 > len(names):
            raise ValueError(f"{fn_name(n.target)} with {len(n.args) - 1} positional arguments")
        if given.pop("dtype", None) is not None:
            raise ValueError("a dtype given (netspec computes in the input's dtype)")
        given = {k: v for k, v in given.items() if k not in UNUSED_ARGUMENTS}
        try:
            return cls(**given)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"arguments {sorted(given)} ({exc})") from None

    def module_item(self, m: nn.Module, n: fx.Node, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The layer item of a standard module called at ``n`` (or a function that is one), and its inputs."""
        own = own_module(m)
        if own is not None:  # netspec's own (exported source copies it): its tensor arguments in order
            try:
                return (own.read(m, self.tensor(args[0]) if args else None) if own.with_input else own.read(m)), args
            except AttributeError as exc:
                raise ValueError(f"a {type(m).__name__} like netspec's, without what netspec's has ({exc}); hint: "
                                 "netspec reads the class as `netspec export --format py` writes it") from None
        if type(m) in ACTIVATION_MODULES:
            item = {ACTIVATION_MODULES[type(m)]: {}}
            if isinstance(m, nn.GELU) and m.approximate != "none":
                item = {next(k for k, a in ACTIVATIONS.items() if getattr(nn, a.module, None) is type(m)
                             and a.kwargs.get("approximate") == m.approximate): {}}
            kind = next(iter(item))
            other = {k: v for k, v in changed_options(m).items() if ACTIVATIONS[kind].kwargs.get(k) != v}
            if other:  # nn.Softplus(beta=2) is not netspec's softplus, torch's default
                raise ValueError(f"options {sorted(other)} ({', '.join(f'{k}={v!r}' for k, v in other.items())}): "
                                 f"netspec's {kind} is {type(m).__name__}() with torch's defaults")
        elif type(m) in ACTIVATION_DEFAULTS:
            kind = ACTIVATION_DEFAULTS[type(m)]
            x = self.tensor(args[0]) if args else None
            item = {kind: {}}
            for k, v in ACTIVATIONS[kind].kwargs.items():
                if k == "dim" and x is not None:
                    axis = sample_axis(getattr(m, k, v), x.dim())
                    if axis != -1:
                        item = {kind: {"axis": axis}}
                elif getattr(m, k, v) != v:
                    raise ValueError(f"options other than {ACTIVATIONS[kind].kwargs}")
        elif isinstance(m, nn.MultiheadAttention):
            item, args = self.attention_of(m, self.mask_options(n)), self.attention_inputs(n)
        elif isinstance(m, ADAPTIVE_MAX):
            mode = self.pool_to_one(n)
            if m.return_indices:
                raise ValueError("max pooling that returns indices (netspec's pools return the values)")
            if mode is None:
                raise ValueError(f"max pooling to output_size {pair(m.output_size)} (netspec max-pools every position "
                                 "to one, global_max_pool: output_size 1)")
            item = self.global_pool(n, mode)
        elif isinstance(m, ENCODERS):
            item, args = self.encoder(m, self.mask_options(n)), args[:1]
        elif isinstance(m, DECODERS):
            item, args = self.decoder(m, self.mask_options(n)), [self.call(n)["tgt"].name]
        elif isinstance(m, nn.Transformer):
            item, args = self.transformer(m, self.mask_options(n)), [self.call(n)["src"].name]
        elif isinstance(m, nn.LayerNorm) and type(m) is not nn.LayerNorm:
            item = self.layer_norm(m, n)
        elif type(m) in MODULES and isinstance(m, RECURRENT):
            item, args = MODULES[type(m)](m), self.recurrent_inputs(n, m)
        elif type(m) in MODULES:
            item = MODULES[type(m)](m)
            if type(m) in SPATIAL_DROPOUTS and args and self.tensor(args[0]) is not None:
                spatial_dropout_rank(m, self.tensor(args[0]).dim())
            if isinstance(m, TRANSPOSED_CONVS) and self.call(n).get("output_size") is not None:
                item = self.output_size(m, n, args, item)
        elif isinstance(m, ALPHA_DROPOUTS):
            raise ValueError(alpha_dropout_refusal(m))
        elif isinstance(m, nn.Unflatten):  # a reshape, read from the sizes it produced
            item = self.shape_op(n, args[:1])
        elif type(m).__name__ in DROP_PATHS:
            found = drop_path_rate(m)
            if found is None:
                raise ValueError("stochastic depth that netspec's drop_path does not compute (it scales the "
                                 "survivors by 1 / (1 - rate))")
            item = drop_path_item(*found)
        else:
            raise ValueError(f"no netspec kind for {type(m).__module__}.{type(m).__name__}")
        return item, args

    def output_size(self, m: nn.Module, n: fx.Node, args: list[str], item: dict[str, Any]) -> dict[str, Any]:
        """A transposed convolution called with ``output_size`` (a U-Net's ``up(x, output_size=skip.size())``):
        the ``output_padding`` torch made of it for the import's input shape, read from the sizes it produced."""
        x, y = (self.tensor(args[0]) if args else None), self.tensor(n.name)
        if x is None or y is None:
            raise ValueError("a transposed convolution called with output_size and without one input tensor")
        kind = next(iter(item))
        extra = output_padding_of(m, x, y)
        options = {k: v for k, v in item[kind].items() if k != "output_padding"}
        return {kind: {**options, **({"output_padding": extra} if extra != 0 else {})}}

    def function_op(self, n: fx.Node, args: list[str], container: str) -> Op:
        """A known function or method call (a merge, a reshape, an activation, a parameter's use)."""
        with_param = self.parameter_use(n, args, container)
        if with_param is not None:
            return with_param
        self.check_inputs(args)
        if n.op == "call_function" and getattr(n.target, "__module__", None) == STOCHASTIC_DEPTH and \
                STOCHASTIC_DEPTH.endswith("." + fn_name(n.target)):
            p = n.args[1] if len(n.args) > 1 else n.kwargs.get("p")
            mode = n.args[2] if len(n.args) > 2 else n.kwargs.get("mode", "row")
            return Op(n.name, container, DropPath.KIND, drop_path_item(float(p), str(mode)), args[:1])
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
        raise ValueError(f"{n.op} {fn_name(n.target)} has no netspec kind")

    def encoder(self, m: nn.Module, causal: set[str]) -> dict[str, Any]:
        """``nn.TransformerEncoderLayer`` (post-norm or ``norm_first``) as a group: a residual around the
        attention, then one around the feed-forward layers, with the two LayerNorms where the layer has
        them; ``nn.TransformerEncoder`` as its ``layers`` (each such a group, one block) and its ``norm``.
        Sublayers are named as the module names its children, so the state dict loads by name. A causal
        mask (``causal``: the names of the masks :meth:`mask_options` took) makes the attention causal."""
        if isinstance(m, nn.TransformerEncoder):
            return self.stack(m, lambda layer: self.encoder(layer, causal))
        act = self.activation(m)
        named = self.named_in(m)
        attention = [named(self.attention_of(m.self_attn, causal), m.self_attn), named(dropout_item(m.dropout1),
                                                                                      m.dropout1)]
        ff = self.feed_forward(m, act, m.dropout2)
        norm1, norm2 = named(layer_norm_item(m.norm1), m.norm1), named(layer_norm_item(m.norm2), m.norm2)
        if m.norm_first:
            parts = [{Residual.KIND: {"layers": [norm1, *attention]}, "name": "attention"},
                     {Residual.KIND: {"layers": [norm2, *ff]}, "name": "feed_forward"}]
        else:
            parts = [{Residual.KIND: {"layers": attention}, "name": "attention"}, norm1,
                     {Residual.KIND: {"layers": ff}, "name": "feed_forward"}, norm2]
        return {Sequential.KIND: {"layers": parts}}

    def decoder(self, m: nn.Module, causal: set[str], memory: str = MEMORY) -> dict[str, Any]:
        """``nn.TransformerDecoderLayer`` (post-norm or ``norm_first``) as a group: residuals around the
        self-attention (causal where ``tgt_mask`` is the causal mask), around the attention onto the memory
        (``from: [query, memory]``, the memory named as it is named where the decoder is used:
        :data:`structure.MEMORY`) and around the feed-forward layers, with the three LayerNorms where the
        layer has them; ``nn.TransformerDecoder`` as its ``layers``, each such a group, and its ``norm``.
        ``memory`` names the memory where the decoder is not read as a layer of the model's (nn.Transformer)."""
        if isinstance(m, nn.TransformerDecoder):
            return self.stack(m, lambda layer: self.decoder(layer, causal, memory))
        act = self.activation(m)
        named = self.named_in(m)
        norms = [named(layer_norm_item(x), x) for x in (m.norm1, m.norm2, m.norm3)]
        self_attention = [named(self.attention_of(m.self_attn, causal & {"tgt_mask"}), m.self_attn),
                          named(dropout_item(m.dropout1), m.dropout1)]
        query = "norm2" if m.norm_first else "norm1"  # what the attention onto the memory reads: the residual's input
        cross = {**self.attention_of(m.multihead_attn, causal & {"memory_mask"}), "from": [query, memory]}
        cross_attention = [named(cross, m.multihead_attn), named(dropout_item(m.dropout2), m.dropout2)]
        ff = self.feed_forward(m, act, m.dropout3)
        if m.norm_first:
            parts = [{Residual.KIND: {"layers": [norms[0], *self_attention]}, "name": "self_attention"},
                     {Residual.KIND: {"layers": [norms[1], *cross_attention]}, "name": "cross_attention"},
                     {Residual.KIND: {"layers": [norms[2], *ff]}, "name": "feed_forward"}]
        else:
            parts = [{Residual.KIND: {"layers": self_attention}, "name": "self_attention"}, norms[0],
                     {Residual.KIND: {"layers": cross_attention}, "name": "cross_attention"}, norms[1],
                     {Residual.KIND: {"layers": ff}, "name": "feed_forward"}, norms[2]]
        return {Sequential.KIND: {"layers": parts}}

    def transformer(self, m: nn.Module, causal: set[str]) -> dict[str, Any]:
        """``nn.Transformer(src, tgt)``: its ``encoder`` on ``src``, then its ``decoder`` on ``tgt`` (read by name,
        :data:`structure.MEMORY`) attending to the encoder's output."""
        if not isinstance(m.encoder, nn.TransformerEncoder) or not isinstance(m.decoder, nn.TransformerDecoder):
            raise ValueError("a custom encoder or decoder (netspec reads nn.TransformerEncoder and "
                             "nn.TransformerDecoder)")
        encoder = {**self.encoder(m.encoder, causal & {"src_mask"}), "name": "encoder"}
        decoder = {**self.decoder(m.decoder, causal, "encoder"), "from": MEMORY, "name": "decoder"}
        return {Sequential.KIND: {"layers": [encoder, decoder]}}

    def stack(self, m: nn.Module, layer_item: Any) -> dict[str, Any]:
        """``nn.TransformerEncoder``/``nn.TransformerDecoder``: its ``layers`` (each ``layer_item(layer)``, one
        block where the layers are alike) and its final ``norm``."""
        layers = []
        for k, layer in enumerate(m.layers):
            item = {**layer_item(layer), "name": f"{snake(type(layer).__name__)}_{k + 1}"}
            self.classes[id(item)] = type(layer)
            layers.append(item)
        group = [{Sequential.KIND: {"layers": layers}, "name": "layers"}]
        if m.norm is not None:
            if type(m.norm) is not nn.LayerNorm:
                raise ValueError(f"a final norm of class {type(m.norm).__name__} (netspec reads nn.LayerNorm)")
            group.append({**layer_norm_item(m.norm), "name": "norm"})
        return {Sequential.KIND: {"layers": group}}

    @staticmethod
    def activation(m: nn.Module) -> str:
        """The kind of a Transformer layer's feed-forward activation (a module or a function)."""
        fn = m.activation
        act = ACTIVATION_MODULES.get(type(fn)) if isinstance(fn, nn.Module) else ACTIVATION_FUNCTIONS.get(fn)
        if act is None:
            raise ValueError(f"the activation {getattr(fn, '__name__', type(fn).__name__)} (netspec reads a plain "
                             "activation: relu, gelu, ...)")
        return act

    @staticmethod
    def named_in(m: nn.Module) -> Any:
        """A function naming a sublayer's item as ``m`` names that child (so the state dict loads by name)."""
        child = {id(c): k for k, c in m.named_children()}

        def named(item: dict[str, Any], sub: nn.Module) -> dict[str, Any]:
            return {**item, "name": child[id(sub)]}
        return named

    def attention_of(self, m: nn.Module, causal: set[str]) -> dict[str, Any]:
        item = attention_item(m, self.batch_second)
        return {Attention.KIND: {**item[Attention.KIND], "causal": True}} if causal else item

    @staticmethod
    def feed_forward(m: nn.Module, act: str, last: nn.Module) -> list[dict[str, Any]]:
        """A Transformer layer's ``linear2(dropout(activation(linear1(x))))`` and its dropout ``last``."""
        named = Importer.named_in(m)
        return [named(linear_item(m.linear1), m.linear1), {act: {}, "name": "activation"},
                named(dropout_item(m.dropout), m.dropout), named(linear_item(m.linear2), m.linear2),
                named(dropout_item(last), last)]

    def check_inputs(self, args: list[str]) -> None:
        for a in args:
            if a in self.params:
                raise ValueError(f"uses the parameter {self.params[a]} itself (netspec reads a parameter through "
                                 "its layer: a class token, position embedding or layer scale)")
            if a in self.states:
                raise ValueError(f"reads {self.states[a][1]} as a whole. {STATE_LAYOUT}")

    def attention_inputs(self, n: fx.Node) -> list[str]:
        """The query, then the memory (key = value) or the key and the value, as fx node names."""
        call = self.call(n)
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
                    return layer_norm_item(m)
            if len(m.normalized_shape) == 1 and x.dim() >= 3 and x.shape[1] == m.normalized_shape[0]:
                channels = F.layer_norm(x.movedim(1, -1), m.normalized_shape, m.weight, m.bias, m.eps).movedim(-1, 1)
                if torch.allclose(channels, y, atol=1e-5):
                    item = layer_norm_item(m)
                    return {LayerNorm.KIND: {**item[LayerNorm.KIND], "channels_first": True}}
        raise ValueError("a LayerNorm subclass that normalizes neither the last axes nor the channels")

    def select_state(self, n: fx.Node, container: str) -> Op:
        """``h[k]`` (``h[k, :, :]``) or ``h.squeeze(0)`` of a recurrent layer's final state: row ``k`` of its
        ``(layers·directions, units)`` per sample, read from the layer's ``h`` output: ``sequence_pool`` last
        or first, and a row between them the last of a ``split`` that keeps the rows up to it."""
        x = n.args[0] if n.args else None
        if not isinstance(x, fx.Node) or x.name not in self.states:  # torch.cat([h, c], 2)[-1]: states joined
            raise ValueError(f"reads recurrent states through {n.op} {fn_name(n.target)} of several tensors. "
                             f"{STATE_LAYOUT}")
        rec, state = self.states[x.name]
        size = self.values[x.name].shape[0]
        k = state_index(n, size)
        if k is None:
            raise ValueError(f"reads {state} as {n.op} {fn_name(n.target)}. {STATE_LAYOUT}")
        if k == size - 1:
            return Op(n.name, container, SequencePool.KIND, {SequencePool.KIND: {"mode": "last"}}, [x.name])
        if k == 0:
            return Op(n.name, container, SequencePool.KIND, {SequencePool.KIND: {"mode": "first"}}, [x.name])
        rows = [{Split.KIND: {"sizes": [k + 1, size - k - 1]}, "name": "rows"},
                {SequencePool.KIND: {"mode": "last"}, "name": "row"}]
        return Op(n.name, container, f"{state}_{k + 1}", {Sequential.KIND: {"layers": rows}}, [x.name], named=True)

    def final_merge(self, n: fx.Node, alias: dict[str, str], skip: set[str]) -> None:
        """A bidirectional layer's two final states merged, ``torch.cat([h[-2], h[-1]], dim=1)`` (the classic
        text classifier; ``h[-2] + h[-1]``, ``h[-2] * h[-1]``), where forward reads no step of its output: the
        layer's own output (netspec's last step of a bidirectional layer is the two directions' final states,
        merged: concat, sum, mul). The merge becomes an alias of the layer, the selections no layers."""
        m = self.modules[str(n.target)]
        if not m.bidirectional or any(u.op == "call_function" and u.target is operator.getitem and u.args[1] == 0
                                      for u in n.users):
            return
        hs = [h for h, (rec, state) in self.states.items() if rec == n.name and state == "h"]
        if len(hs) != 1:
            return
        h = self.nodes[hs[0]]
        size = self.values[h.name].shape[0]
        picked = {u.name: k for u in h.users if (k := state_index(u, size)) is not None}
        for merge in dict.fromkeys(w for u in h.users if u.name in picked for w in u.users):
            parts = tensor_nodes(list(merge.args) + list(merge.kwargs.values()))
            mode = merge_mode(merge)
            rows = [picked.get(x.name) for x in parts]
            either = mode != BIDIRECTIONAL_MERGES[Concat.KIND]  # a sum or product, of either order
            if mode is None or not (rows == [size - 2, size - 1] or (either and rows == [size - 1, size - 2])) or \
                    any(len(x.users) != 1 for x in parts):
                continue
            alias[merge.name] = n.name
            skip.update(x.name for x in parts)
            self.merges[n.name] = mode
            if all(w.name in skip for w in h.users):
                del self.states[h.name]
                skip.add(h.name)
            return

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
            raise ValueError(f"indexing {index_text(n.args[1])} (netspec selects the first or last step, "
                             "x[:, 0] or x[:, -1], of a sequence)")
        if n.target in PERMUTES or n.target in {f.__name__ for f in PERMUTES}:
            dims = permutation(n, x.dim())
            if dims[0] != 0:
                raise ValueError("a permutation that moves the batch axis")
            return {Permute.KIND: {"dims": [d - 1 for d in dims[1:]]}}
        if y.shape[:1] != x.shape[:1] or y.dim() < 2:
            raise ValueError(f"a reshape from {tuple(x.shape)} to {tuple(y.shape)} that changes the batch axis")
        if y.dim() == 2:
            return {Flatten.KIND: {}}
        return {Reshape.KIND: {"shape": list(y.shape[1:])}}

    def function(self, n: fx.Node, tensors: list[str]) -> dict[str, Any]:
        fn, args, kwargs = n.target, list(n.args), dict(n.kwargs)
        variant = ACTIVATION_VARIANTS.get((fn, frozenset((k, v) for k, v in kwargs.items() if k not in INPLACE_OK)))
        if variant is not None and len(args) == 1:
            return {variant: {}}
        extra = {k for k in kwargs if k not in INPLACE_OK and k not in ("dim", "start_dim", "end_dim", "p",
                                                                         "training", "output_size", "alpha")}
        if extra:
            raise ValueError(f"options {sorted(extra)}")
        if fn in MERGES:
            if len(tensors) != 2 or len(tensor_nodes(args)) != 2 or kwargs.get("alpha", 1) != 1:
                raise ValueError("a sum or product with a scalar (netspec merges tensors)")
            return {MERGES[fn]: {}}
        if fn in (torch.cat, torch.concat):
            if len(tensor_nodes(args[0])) == 1:  # cat([x]) is x (DenseNet's first layer of a block)
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
        if fn in FUNCTIONAL_DROPOUTS:
            return self.dropout_function(n, tensors)
        return {ACTIVATION_FUNCTIONS[fn]: {}}

    def dropout_function(self, n: fx.Node, tensors: list[str]) -> dict[str, Any]:
        """``F.dropout(x, p, training)`` and its channel and alpha kinds, as their modules (the ``training`` forward
        passes, ``self.training``, is False as traced in eval mode; True drops in eval mode too: refused). The
        train-mode trace (:meth:`traced_in_training`) tells ``self.training`` from a constant False: a call that
        never drops is the identity (netspec's dropout would drop in training)."""
        cls, drops = FUNCTIONAL_DROPOUTS[n.target]
        call = dict(zip(("p", "training", "inplace"), n.args[1:])) | dict(n.kwargs)
        name = f"F.{fn_name(n.target)}"
        if call.get("training", drops) is not False:
            raise ValueError(f"{name} with training=True: it drops in eval mode too (netspec's dropout drops in "
                             f"training only); hint: call it with training=self.training")
        calls = self.train_mode_calls
        if calls is None:
            raise ValueError(f"{name} with training=False, and forward cannot be traced in train mode to tell "
                             "self.training from a constant; hint: call it with training=self.training to drop "
                             "in training, or leave the call out (it never drops)")
        key, _ = dropout_calls(n.graph)[n.name]
        in_training = calls.get(key, "missing")
        if in_training == "missing":
            raise ValueError(f"{name} called in eval mode only (forward calls it elsewhere, or not at all, in "
                             "train mode): netspec's dropout computes one function in both modes; hint: call it "
                             "in both modes with training=self.training")
        if in_training is False:  # a constant: the model never drops here, in either mode
            return {IDENTITY: {}}
        if in_training is not True:
            raise ValueError(f"{name} with training={in_training!r} in train mode (netspec's dropout drops in "
                             "training); hint: call it with training=self.training")
        m = cls(float(call.get("p", 0.5)))
        if isinstance(m, ALPHA_DROPOUTS):
            raise ValueError(alpha_dropout_refusal(m))
        x = self.tensor(tensors[0]) if tensors else None
        if type(m) in SPATIAL_DROPOUTS and x is not None:
            spatial_dropout_rank(m, x.dim())
        return dropout_item(m)

    # --- the spec -----------------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        gm = self.trace()
        inputs, ops, outputs = self.ops(gm)
        if len(inputs) != 1:
            self.problems.append(Refusal("", "", f"{len(inputs)} inputs", "netspec imports one-input models"))
        if self.problems:
            raise NotImportable(self.problems)
        ops, outputs = running_concatenations(ops, outputs)
        root = self.tree(ops, outputs)
        names = {inputs[0]: "input"}
        layers = self.items(root, names, "")
        self.make_blocks(layers)
        layers = repeats(layers)
        spec: dict[str, Any] = {"netspec": 1, "name": self.name,
                                "description": f"{type(self.model).__name__} imported from PyTorch by netspec import"
                                + (f"; {self.left_out_note()}" if self.left_out else "")}
        if self.blocks:
            spec["blocks"] = self.blocks
        written = [self.symbols.get(k, size) for k, size in enumerate(self.input_shape)]  # `T`, not its traced 32
        spec["input"] = written if self.input_dtype == "float" else {"shape": written, "dtype": self.input_dtype}
        spec["layers"] = layers
        if len(outputs) > 1 or any(o in self.states for o in outputs):  # a state (`lstm:h`) is no last layer's output
            spec["outputs"] = [names[o] for o in outputs]
        with torch.no_grad():
            out = self.model(example_input(self.model, self.input_shape, self.input_dtype))  # batch 2, as traced
        spec["expect"] = {"params": sum(p.numel() for p in self.model.parameters()) - self.left_out_params()}
        if isinstance(out, torch.Tensor) and not self.symbols:  # with a symbolic size, at the traced size only
            spec["expect"]["output_shape"] = list(out.shape[1:])
        return spec


@dataclass
class Imported:
    """What ``netspec import`` made: the YAML, its raw tree, and the check against the model."""

    text: str
    spec: dict[str, Any]
    params: int
    max_diff: float | None = None
    weights: str = ""  # the load report's summary line
    left_out: list[str] = field(default_factory=list)  # modules forward never calls in eval mode: not in the spec
    note: str = ""  # why they are left out


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
    symbols: dict[int, str] = {}
    if input_shape is not None:
        input_shape, symbols = symbolic_sizes(list(input_shape))
        check_input_shape(list(input_shape))  # before the model is built
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
        name = snake(label.rpartition(":")[2]) if isinstance(source, str) else snake(type(source).__name__)
        name = re.sub(r"\W", "_", name) or "imported"
    importer = Importer(model, list(input_shape), name, input_dtype)
    importer.symbols = symbols
    raw = tidy_floats(importer.spec())
    text = f"# {type(model).__name__} from {label}, written by `netspec import`.\n" + \
        (f"# Note: {importer.left_out_note()}.\n" if importer.left_out else "") + to_yaml(raw)
    params = raw["expect"]["params"]
    done = Imported(text, raw, params, left_out=list(importer.left_out),
                    note=importer.left_out_note() if importer.left_out else "")
    if check:
        done.max_diff, done.weights = verify(text, model, list(input_shape), input_dtype, importer.mask_buffers,
                                             tuple(importer.left_out), symbols)
    return done


def symbolic_sizes(shape: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """An input shape whose sizes may be names (``T``, or ``T=50``: a sequence of any length, a ``3,H,W`` image of
    any size): the shape the model is traced at (a name's size, else :data:`SYMBOL_EXAMPLE`), and each named
    axis -> its name, which the spec's input is written with.

    Raises:
        UsageError: a size that is neither a whole number nor a name (with an optional ``=size``)."""
    traced: list[Any] = []
    names: dict[int, str] = {}
    for k, size in enumerate(shape):
        if not isinstance(size, str):
            traced.append(size)
            continue
        found = SYMBOL.fullmatch(size.strip())
        if found is None:
            raise UsageError(f"input shape {shape}: size {k + 1} is {size!r}; expected a whole number ≥ 1 or a name "
                             "for a size of any value (T, or T=50 to trace the model at 50), e.g. T,16 or 3,H,W")
        names[k] = found.group(1)
        traced.append(int(found.group(2)) if found.group(2) else SYMBOL_EXAMPLE)
    seen: dict[str, int] = {}
    for k, name in names.items():  # one name is one size: `S=8,S=9` says two
        if seen.setdefault(name, traced[k]) != traced[k]:
            raise UsageError(f"input shape {shape}: '{name}' is given two sizes, {seen[name]} and {traced[k]}")
    return traced, names


def other_sizes(shape: list[int], names: dict[int, str]) -> list[int] | None:
    """``shape`` with each named size about half as large again (32 -> 48, 1 -> 2): the second size the import is
    checked at, so that a spec that holds at the traced size only is refused; None when that is too large to run."""
    other = [size + max(1, size // 2) if k in names else size for k, size in enumerate(shape)]
    return other if math.prod(other) <= MAX_INPUT_VALUES and max(other) <= MAX_DIM else None


def check_input_shape(shape: list[Any]) -> None:
    """Refuse an input shape that is not whole sizes ≥ 1 or is too large to run, before any work.

    Raises:
        UsageError: naming the bad size, or the number of values.
    """
    for k, size in enumerate(shape, 1):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise UsageError(f"input shape {shape}: size {k} is {size!r}; expected whole numbers ≥ 1 (without the "
                             "batch), e.g. [3, 224, 224]")
    if not shape or math.prod(shape) > MAX_INPUT_VALUES:
        raise UsageError(f"input shape {shape} is {math.prod(shape):,} values per sample; netspec import runs the "
                         f"model on at most {MAX_INPUT_VALUES:,} (and at least one axis)")


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


def flow(item: dict[str, Any]) -> str:
    """A layer item as a message shows it: ``lstm {units: 4, return_sequences: true}``."""
    kind, options = next(iter(item.items()))
    shown = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in (options or {}).items())
    return f"{kind} {{{shown}}}"


def flat_outputs(value: Any) -> list[Any]:
    """The tensors a model returns, in order, out of any nesting of tuples, lists and dicts."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat_outputs(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in flat_outputs(v)]
    return [value] if isinstance(value, torch.Tensor) else []


def verify(text: str, model: nn.Module, input_shape: list[int], input_dtype: str = "float",
           masks: set[str] | frozenset[str] = frozenset(), left_out: tuple[str, ...] = (),
           symbols: dict[int, str] | None = None) -> tuple[float, str]:
    """Resolve the spec (its ``expect:`` pins the model's parameter count), compile it with the model's
    own state dict (less the buffers that hold masks, ``masks``: the spec's attention is causal instead, and
    the tensors of the modules ``left_out``: never called in eval mode) and compare outputs on random inputs;
    the largest difference and the load summary. With ``symbols`` (input axes written as names) the outputs are
    compared at a second size of each too (:func:`other_sizes`): a size the trace kept refuses the import."""
    symbols = symbols or {}
    named = ", ".join(dict.fromkeys(symbols.values()))
    fixed = ",".join(str(size) for size in input_shape)
    try:
        graph = analyze(text)
    except NetspecError as exc:
        if not symbols:
            raise
        said = re.sub(r"^<string>:\d+:\d+: ", "", first_paragraph(str(exc)))  # a place in the text written, not
        raise BuildError(f"with {named} symbolic, the imported spec does not hold: {said}; "  # the user's file
                         "hint: part of the model needs the size it was traced at (a layer whose width depends on it, "
                         f"a reshape to it); give it as a number, --input {fixed}") from None
    net = graph.network(None)
    want = sum(p.numel() for name, p in model.named_parameters()
               if not any(name.startswith(path + ".") for path in left_out))
    if net.params != want:
        held: dict[int, list[str]] = {}
        for name, p in model.named_parameters(remove_duplicate=False):
            held.setdefault(id(p), []).append(name)
        inside = [names for names in held.values() if len({n.rpartition(".")[0] for n in names}) < len(names)]
        hint = (f"\n    hint: the model holds {' and '.join(inside[0])} as one tensor within one module; netspec's "
                "layers hold their own tensors (tie: and share: join layers, not a layer's own tensors)"
                if inside else "")
        raise BuildError(f"the imported spec has {net.params} parameters, the model {want}{hint}")
    try:
        first: dict[int, str] = {}
        aliases = [name for name, m in model.named_modules(remove_duplicate=False)
                   if name and first.setdefault(id(m), name) != name]  # `nn.ModuleList([block] * 3)`: one module
        weights = {k: v for k, v in model.state_dict().items()
                   if k not in masks and not any(k.startswith(path + ".") for path in (*left_out, *aliases))}
        mine = compile_spec(graph, weights=weights).eval()
    except DataError as exc:
        raise BuildError(f"the imported spec does not take the model's own state dict: {exc}".rsplit("\nrefused", 1)[0]
                         + "\n    hint: this is netspec import's fault (its names should spell the model's); "
                         "--no-check writes the spec without this check") from None
    worst = compare(mine, model, input_shape, input_dtype)
    other = other_sizes(input_shape, symbols) if symbols else None
    if other is not None:
        at = ", ".join(f"{symbols[k]}={other[k]}" for k in symbols)
        try:
            with torch.no_grad():
                model.eval()(example_input(model, other, input_dtype))
        except Exception as exc:
            raise UsageError(f"--input: the model does not run at {at} ({type(exc).__name__}: "
                             f"{first_paragraph(str(exc))}), so {named} is no size of any value; give it as a number, "
                             f"--input {fixed}") from None
        try:
            worst = max(worst, compare(mine, model, other, input_dtype))
        except (BuildError, RuntimeError) as exc:
            raise BuildError(f"the imported spec computes the model's outputs at the traced size, not at {at} "
                             f"({first_paragraph(str(exc))}): the trace kept a size; hint: give {named} as a number, "
                             f"--input {fixed}") from None
    return worst, mine.netspec_weights.summary() if weights else "the model holds no tensors"


def compare(mine: nn.Module, model: nn.Module, input_shape: list[int], input_dtype: str) -> float:
    """The largest difference between the spec's module's outputs and the model's on a random input of
    ``input_shape``, every tensor the model returns compared.

    Raises:
        BuildError: they differ (in number, shape or value)."""
    x = example_input(model, input_shape, input_dtype)
    with torch.no_grad():
        a, b = mine(x), model.eval()(x)
    a, b = flat_outputs(a), flat_outputs(b)
    if len(a) != len(b):  # never compare the first outputs only: a dropped output is a wrong import, said so
        raise BuildError(f"the imported spec computes {len(a)} output(s), the model returns {len(b)} tensor(s); hint: "
                         "this is netspec import's fault (every tensor forward returns should be an output of the "
                         "spec, or refused); --no-check writes the spec without this check")
    worst = 0.0
    for u, v in zip(a, b):
        if u.shape != v.shape:
            raise BuildError(f"the imported spec computes an output of shape {tuple(u.shape)} where the model returns "
                             f"{tuple(v.shape)}")
        diff = float((u - v).abs().max())
        if diff > 1e-4 * max(1.0, float(v.abs().max())):
            raise BuildError(f"the imported spec computes something else: outputs differ by up to {diff:.3g}")
        worst = max(worst, diff)
    return worst
