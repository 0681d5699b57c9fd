"""``netspec import model.onnx``: an ONNX graph -> a spec, node by node, where the mapping is direct.

ONNX is a flat graph of operators with the weights as initializers, so the spec is a flat list of
layers (``from:`` where a node does not read the one before it), each named after its ONNX node, and
the initializers become a state dict under those names (:attr:`OnnxImport.state`): the spec compiles
and loads it by name. Mapped directly: Conv (1-d, 2-d), Gemm and MatMul (+ Add of a bias),
BatchNormalization, MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool, ReduceMean and ReduceMax over
the positions (global pools, keepdims as a reshape to size 1 after them) or the steps of a sequence
(``sequence_pool``), LayerNormalization, Flatten, Reshape to a constant shape (or one computed from the input's
shape: ``x.view(x.size(0), -1)`` written with a dynamic batch, Shape, Gather, Unsqueeze, Concat folded), Squeeze/
Unsqueeze of axes after the batch, Transpose keeping the batch first, Add, Sub, Mul, Concat, Dropout, Identity and
the activations of the activation table (Relu, Sigmoid, Tanh, Softmax, LeakyRelu, Elu, Gelu, Clip to [0, 6] as
ReLU6, ...); constants and their casts are folded. ``auto_pad``
(SAME_UPPER, SAME_LOWER, VALID) is read as pads from the input's size (:func:`auto_pads`). Any other
node, or a mapped node with an option netspec lacks (asymmetric padding, a computed shape), is listed
by node name and op type (root causes only: not the nodes reading its output), and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from netspec.api import analyze
from netspec.api import compile as compile_spec
from netspec.core.errors import BuildError, Problem, UsageError
from netspec.frontends.write.yaml import to_yaml
from netspec.interop.importer import NotImportable
from netspec.interop.torch_table import ACTIVATION_DEFAULTS, ACTIVATION_MODULES
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.conv.conv1d import Conv1d
from netspec.layers.conv.conv2d import Conv2d
from netspec.layers.conv.conv3d import Conv3d
from netspec.layers.conv.conv_transpose1d import ConvTranspose1d
from netspec.layers.conv.conv_transpose2d import ConvTranspose2d
from netspec.layers.conv.conv_transpose3d import ConvTranspose3d
from netspec.layers.conv.upsample import Upsample
from netspec.layers.core.dense import Dense
from netspec.layers.recurrent.gru import GRU
from netspec.layers.recurrent.lstm import LSTM
from netspec.layers.recurrent.rnn import RNN
from netspec.layers.sequence.embedding import Embedding
from netspec.layers.core.elu import ELU
from netspec.layers.core.flatten import Flatten
from netspec.layers.core.leaky_relu import LeakyReLU
from netspec.layers.core.reshape import Reshape
from netspec.layers.merge.add import Add
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.multiply import Multiply
from netspec.layers.merge.subtract import Subtract
from netspec.layers.norm.batchnorm1d import BatchNorm1d
from netspec.layers.norm.batchnorm2d import BatchNorm2d
from netspec.layers.norm.layernorm import LayerNorm
from netspec.layers.pool.adaptive_avg_pool1d import AdaptiveAvgPool1d
from netspec.layers.pool.adaptive_avg_pool2d import AdaptiveAvgPool2d
from netspec.layers.pool.avg_pool2d import AvgPool2d
from netspec.layers.pool.global_avg_pool import GlobalAvgPool
from netspec.layers.pool.global_max_pool import GlobalMaxPool
from netspec.layers.pool.max_pool2d import MaxPool2d
from netspec.layers.sequence.permute import Permute
from netspec.layers.sequence.sequence_pool import SequencePool

REDUCTIONS = {"ReduceMean": "mean", "ReduceMax": "max"}  # ONNX reductions -> the pools' modes
# operators on sizes, folded to constants where their inputs are (Shape always: the sizes the file gives)
INT64 = 7  # onnx.TensorProto.INT64: an input of token ids
# ONNX recurrent operators: the layer, and torch's gates as indices of ONNX's (LSTM i, o, f, c -> i, f, g, o;
# GRU z, r, h -> r, z, n)
RECURRENT_OPS: dict[str, tuple[type, tuple[int, ...]]] = {"LSTM": (LSTM, (0, 2, 3, 1)), "GRU": (GRU, (1, 0, 2)),
                                                          "RNN": (RNN, (0,))}
SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Mul", "Add", "Sub", "Div", "Identity"}
BATCH, UNKNOWN = -(1 << 40), -(1 << 41)  # in a folded shape: the batch size, and a size the file does not fix
# ONNX activation operators -> the torch module the activation table knows them by (options: defaults)
ACTIVATION_OPS: dict[str, type] = {
    "Relu": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Softmax": nn.Softmax, "LogSoftmax": nn.LogSoftmax,
    "Selu": nn.SELU, "Softplus": nn.Softplus, "HardSwish": nn.Hardswish, "Mish": nn.Mish,
}
MAX_NAME = 64


def _weight_and_bias(item: dict[str, Any], weight: np.ndarray, bias: np.ndarray | None) -> dict[str, np.ndarray]:
    """A layer's tensors from an ONNX node's weight and bias; no bias initializer writes ``bias: false``."""
    if bias is None:
        item["bias"] = False
        return {"weight": weight}
    return {"weight": weight, "bias": bias}


@dataclass
class OnnxImport:
    """The spec (YAML and raw tree), its state dict from the initializers, and the check."""

    text: str
    spec: dict[str, Any]
    state: dict[str, torch.Tensor]
    params: int
    max_diff: float | None = None
    weights: str = ""
    checked: str = ""  # what the outputs were compared with
    problems: list[tuple[str, str, str]] = field(default_factory=list)


def _attrs(node: Any) -> dict[str, Any]:
    """A node's attributes by name; strings as ``str`` (ONNX stores them as bytes, which no message may show)."""
    import onnx

    def text(v: Any) -> Any:
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        if isinstance(v, list):
            return [text(x) for x in v]
        return v
    return {a.name: text(onnx.helper.get_attribute_value(a)) for a in node.attribute}


AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def auto_pads(mode: str, sizes: list[int | None], kernel: list[int], strides: list[int],
              dilations: list[int]) -> list[int]:
    """ONNX's ``auto_pad`` as explicit ``pads`` (begins, then ends) for inputs of spatial ``sizes``: ``VALID``
    none; ``SAME_UPPER``/``SAME_LOWER`` an output of ``ceil(n / s)`` per axis, the total padding
    ``max(0, (ceil(n / s) − 1)·s + d(k − 1) + 1 − n)`` split in two, the odd one at the end (UPPER) or at the
    beginning (LOWER). At stride 1 the total is ``d(k − 1)`` whatever ``n``; else ``n`` must be known.

    Raises:
        ValueError: an unknown mode, or a SAME padding at a stride over 1 of an axis whose size is not known.
    """
    if mode not in AUTO_PADS[1:]:
        raise ValueError(f"auto_pad '{mode}' (ONNX's are {', '.join(AUTO_PADS)})")
    if mode == "VALID":
        return [0] * (2 * len(kernel))
    begins, ends = [], []
    for n, k, st, d in zip(sizes, kernel, strides, dilations):
        if st == 1:
            total = d * (k - 1)
        elif n is None:
            raise ValueError(f"auto_pad '{mode}' at stride {st} of an axis whose size the file does not give "
                             "(export it with a fixed input size, or with explicit pads)")
        else:
            total = max(0, (-(-n // st) - 1) * st + d * (k - 1) + 1 - n)
        small = total // 2
        begins.append(small if mode == "SAME_UPPER" else total - small)
        ends.append(total - begins[-1])
    return begins + ends


def conv_groups_attribute() -> str:
    """ONNX Conv's grouped-convolution attribute, read off its schema (the word is a layer kind name,
    which only netspec/layers may spell)."""
    import onnx

    known = {"auto_pad", "dilations", "kernel_shape", "pads", "strides"}
    (name,) = set(onnx.defs.get_schema("Conv").attributes) - known
    return name


def _one(values: list[int]) -> Any:
    return values[0] if len(set(values)) == 1 else list(values)


class OnnxImporter:
    """Walk the (topologically sorted) ONNX graph, one layer item per node."""

    def __init__(self, model: Any, name: str) -> None:
        self.long_input = False
        import onnx
        import onnx.numpy_helper

        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # shapes only help to read axes; without them ranks come from the initializers
            pass
        self.graph = model.graph
        self.name = name
        self.consts: dict[str, np.ndarray] = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        for n in self.graph.node:  # constants depend on nothing: known before the walk reads them ahead (h[-1])
            if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value":
                self.consts[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
        self.ranks: dict[str, int] = {}
        self.shapes: dict[str, list[int | None]] = {}  # tensor -> its sizes where known (batch included)
        for v in [*self.graph.input, *self.graph.value_info, *self.graph.output]:
            t = v.type.tensor_type
            if t.HasField("shape"):
                self.ranks[v.name] = len(t.shape.dim)
                self.shapes[v.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                                       for d in t.shape.dim]
        self.problems: list[tuple[str, str, str]] = []
        self.layers: list[dict[str, Any]] = []
        self.state: dict[str, torch.Tensor] = {}
        self.names: dict[str, str] = {}  # ONNX tensor -> the netspec node (or input) producing it
        self.alias: dict[str, str] = {}  # ONNX tensor -> the tensor it equals (Identity, Dropout)
        self.taken: set[str] = {"input"}
        self.last: str | None = None  # the tensor the previous layer produced
        self.readers: dict[str, int] = {}
        for node in self.graph.node:
            for t in node.input:
                self.readers[t] = self.readers.get(t, 0) + 1
        self.fused: set[str] = set()  # outputs of nodes folded into a layer before them (MatMul's Add, LSTM's reads)
        self.zeros: set[str] = set()  # ConstantOfShape of zeros: a recurrent layer's initial states
        self.seq_first: dict[str, str] = {}  # a batch-first sequence transposed to time-first for a recurrent op
        self.failed: set[str] = set()  # outputs of nodes not imported: their readers are not reported again

    # --- helpers -----------------------------------------------------------------------------------------
    def where(self, node: Any) -> str:
        return node.name or (node.output[0] if node.output else node.op_type)

    def fail(self, node: Any, why: str) -> None:
        self.problems.append((self.where(node), node.op_type, why))
        self.failed.update(node.output)

    def layer_name(self, node: Any, kind: str) -> str:
        raw = node.name or ""
        parts = [p for p in re.split(r"[/.]", raw) if p]
        if parts and parts[-1] == node.op_type and len(parts) > 1:
            parts = parts[:-1]  # torch.onnx's `/layer1/layer1.0/conv1/Conv`: the module path is the name
        base = re.sub(r"\W+", "_", "_".join(dict.fromkeys(parts))).strip("_").lower() or kind
        if base[0].isdigit():
            base = f"{kind}_{base}"
        base = base[-MAX_NAME + 4:].lstrip("_") or kind
        name, i = base, 2
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        return name

    def tensor(self, name: str) -> str:
        return self.alias.get(name, name)

    def const(self, node: Any, i: int) -> np.ndarray | None:
        if len(node.input) <= i or not node.input[i]:
            return None
        return self.consts.get(self.tensor(node.input[i]))

    def rank(self, tensor: str) -> int | None:
        t = self.tensor(tensor)
        if t in self.ranks:
            return self.ranks[t]
        return None

    def add(self, node: Any, item: dict[str, Any], inputs: list[str], tensors: dict[str, np.ndarray] | None = None,
            output: str | None = None) -> None:
        kind = next(iter(item))
        name = self.layer_name(node, kind)
        refs = [self.names.get(self.tensor(t)) for t in inputs]
        if any(r is None for r in refs):
            self.fail(node, "reads a tensor no importable node produced")
            return
        entry: dict[str, Any] = dict(item)
        if [self.tensor(t) for t in inputs] != [self.last]:
            entry["from"] = refs[0] if len(refs) == 1 else refs
        entry["name"] = name
        self.layers.append(entry)
        for key, value in (tensors or {}).items():
            self.state[f"{name}.{key}"] = torch.from_numpy(np.array(value, copy=True))
        out = output or node.output[0]
        self.names[out] = name
        self.last = out

    # --- the walk ----------------------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            self.problems.append(("graph", f"{len(inputs)} inputs", "netspec imports one-input models"))
            raise NotImportable(self.problems)
        (x,) = inputs
        dims = x.type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "N") for d in dims][1:]
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            symbolic = [d for d in shape if not isinstance(d, int)]
            shape = [d if isinstance(d, int) and d > 0 else re.sub(r"\W", "_", str(d)) for d in shape]
            if not shape or any(not str(d).isidentifier() for d in symbolic):
                self.problems.append((x.name, "input", f"per-sample shape {shape} is not known"))
        self.long_input = x.type.tensor_type.elem_type == INT64
        self.names[x.name] = "input"
        self.last = x.name
        self.input_rank = len(dims)
        for node in self.graph.node:
            if node.output and node.output[0] in self.fused:
                continue
            if any(self.tensor(t) in self.failed for t in node.input):
                self.failed.update(node.output)  # follows from a problem already listed
                continue
            try:
                self.node(node)
            except ValueError as exc:
                self.fail(node, str(exc))
        outputs = [self.tensor(o.name) for o in self.graph.output]
        if not self.layers and not self.problems:
            self.problems.append(("graph", "no layer", "it computes its input unchanged (an identity): a spec needs "
                                  "at least one layer"))
        missing = [o for o in outputs if o not in self.names]
        if missing and not self.problems:
            self.problems.append((", ".join(missing), "output", "not produced by an importable node"))
        if self.problems:
            raise NotImportable(self.problems)
        spec: dict[str, Any] = {"netspec": 1, "name": self.name,
                                "description": f"{self.name} imported from ONNX by netspec import",
                                "input": {"shape": shape, "dtype": "long"} if self.long_input else shape,
                                "layers": self.layers}
        if outputs != [self.last]:
            spec["outputs"] = [self.names[o] for o in outputs]
        spec["expect"] = {"params": int(sum(t.numel() for k, t in self.state.items()
                                            if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))))}
        return spec

    def node(self, node: Any) -> None:
        op, a = node.op_type, _attrs(node)
        data = [t for t in node.input if t and self.tensor(t) not in self.consts]
        if op in ("Identity", "Dropout"):
            self.alias[node.output[0]] = self.tensor(node.input[0])
            return
        if op == "Cast" and self.tensor(node.input[0]) in self.consts:  # a constant's type: folded
            import onnx.helper

            value = self.consts[self.tensor(node.input[0])]
            self.consts[node.output[0]] = value.astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
            return
        if op in SHAPE_OPS and (op == "Shape" or (node.input and all(self.tensor(t) in self.consts
                                                                      for t in node.input if t))):
            self.fold(node, a)  # a size computed from a shape (`x.view(x.size(0), -1)`): a constant, the batch marked
            return
        if op == "Constant":
            import onnx.numpy_helper

            if "value" not in a:
                raise ValueError("a constant other than a tensor")
            self.consts[node.output[0]] = onnx.numpy_helper.to_array(a["value"])
            return
        if op == "ConstantOfShape" and node.input and self.tensor(node.input[0]) in self.consts:
            import onnx.numpy_helper

            if "value" in a and np.any(onnx.numpy_helper.to_array(a["value"])):
                raise ValueError("a constant tensor other than zeros (netspec reads zeros as initial states)")
            self.zeros.add(node.output[0])
            return
        if op == "Transpose" and [int(p) for p in a.get("perm", [])] == [1, 0, 2] and \
                self.consumers(node.output[0]) and all(n.op_type in RECURRENT_OPS and n.input[0] == node.output[0]
                                                       for n in self.consumers(node.output[0])):
            self.seq_first[node.output[0]] = node.input[0]  # torch's batch_first=True, written time-first
            return
        if op in RECURRENT_OPS:
            self.recurrent(node, a)
            return
        if op == "Resize":
            self.resize(node, a, data)
            return
        if op == "Gather" and self.tensor(node.input[0]) in self.consts and data:
            self.embedding(node, a, data)
            return
        if op == "Conv":
            self.conv(node, a)
        elif op == "ConvTranspose":
            self.conv_transpose(node, a)
        elif op == "Gemm":
            self.gemm(node, a)
        elif op == "MatMul":
            self.matmul(node)
        elif op == "BatchNormalization":
            self.batchnorm(node, a)
        elif op in ("MaxPool", "AveragePool"):
            self.pool(node, a)
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            rank = self.rank(node.input[0])
            if rank not in (3, 4, 5):
                raise ValueError(f"global pooling of a tensor of rank {rank} (netspec pools the positions of a "
                                 "(N, C, L), (N, C, H, W) or (N, C, D, H, W) map)")
            self.pooled(node, data, "mean" if op == "GlobalAveragePool" else "max", rank, True)
        elif op in REDUCTIONS:
            self.reduce(node, a, data)
        elif op in ("Squeeze", "Unsqueeze"):
            self.squeeze(node, a, data)
        elif op == "LayerNormalization":
            self.layer_norm(node, a, data)
        elif op == "Transpose":
            perm = [int(p) for p in a.get("perm", [])]
            if not perm or perm[0] != 0:
                raise ValueError(f"a transpose {perm} that moves the batch axis (netspec permutes each sample)")
            self.add(node, {Permute.KIND: {"dims": [p - 1 for p in perm[1:]]}}, data)
        elif op == "Sub":
            if len(data) != 2 or len(node.input) != 2:
                raise ValueError("an operand is a constant (netspec subtracts tensors)")
            self.add(node, {Subtract.KIND: {}}, data)
        elif op == "Gelu":
            approximate = a.get("approximate", "none")
            kind = next((k for k, act in ACTIVATIONS.items() if getattr(nn, act.module, None) is nn.GELU
                         and act.kwargs.get("approximate", "none") == approximate), None)
            if kind is None:
                raise ValueError(f"GELU with approximate {approximate!r}")
            self.add(node, {kind: {}}, data)
        elif op == "Elu":
            alpha = float(a.get("alpha", 1.0))
            self.add(node, {ELU.KIND: {} if alpha == 1.0 else {"alpha": alpha}}, data)
        elif op == "Flatten":
            if a.get("axis", 1) != 1:
                raise ValueError(f"flatten from axis {a.get('axis')} (netspec flattens all but the batch)")
            self.add(node, {Flatten.KIND: {}}, data)
        elif op == "Reshape":
            self.reshape(node)
        elif op in ("Add", "Mul", "Sum"):
            if len(data) != len(node.input) or len(data) < 2:
                raise ValueError("an operand is a constant (netspec merges tensors)")
            self.add(node, {(Multiply if op == "Mul" else Add).KIND: {}}, data)
        elif op == "Concat":
            axis = a.get("axis", 1)
            rank = self.rank(data[0]) if data else None
            if axis < 0 and rank is not None:
                axis += rank
            if axis <= 0:
                raise ValueError("concatenation along the batch or an unknown axis")
            self.add(node, {Concat.KIND: {"axis": axis - 1}}, data)
        elif op == "Clip":
            self.clip(node, a, data)
        elif op == "LeakyRelu":
            self.add(node, {LeakyReLU.KIND: {"slope": float(a.get("alpha", 0.01))}}, data)
        elif op in ACTIVATION_OPS:
            self.activation(node, a, data)
        else:
            raise ValueError("no netspec kind for this operator")

    def activation(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        cls = ACTIVATION_OPS[node.op_type]
        if node.op_type in ("Softmax", "LogSoftmax"):
            axis, rank = a.get("axis", -1), self.rank(data[0])
            if axis != -1 and (rank is None or axis != rank - 1):
                raise ValueError(f"{node.op_type} over axis {axis} (netspec's is the last axis)")
        kind = ACTIVATION_MODULES.get(cls) or ACTIVATION_DEFAULTS.get(cls)
        if kind is None:
            raise ValueError("no netspec kind for this operator")
        self.add(node, {kind: {}}, data)

    def clip(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """Clip to [0, 6] is ReLU6 (torch exports it so), to [0, inf) ReLU."""
        low, high = self.const(node, 1), self.const(node, 2)
        low = float(low) if low is not None else a.get("min", float("-inf"))
        high = float(high) if high is not None else a.get("max", float("inf"))
        cls = {(0.0, 6.0): nn.ReLU6, (0.0, float("inf")): nn.ReLU}.get((low, high))
        kind = ACTIVATION_MODULES.get(cls) if cls is not None else None
        if kind is None or len(data) != 1:
            raise ValueError(f"clip to [{low}, {high}] (netspec has ReLU for [0, inf) and ReLU6 for [0, 6])")
        self.add(node, {kind: {}}, data)

    def conv(self, node: Any, a: dict[str, Any]) -> None:
        w = self.const(node, 1)
        if w is None or w.ndim not in (3, 4, 5):
            raise ValueError("a convolution whose weights are not a 1-d, 2-d or 3-d kernel initializer")
        k = w.ndim - 2
        strides, dilations = list(a.get("strides", [1] * k)), list(a.get("dilations", [1] * k))
        pads = self.pads(node, a, list(w.shape[2:]), strides, dilations)
        padding: Any = _one(pads[:k])
        if pads[:k] != pads[k:]:
            if a.get("auto_pad") == "SAME_UPPER" and set(strides) == {1}:
                padding = "same"  # torch's padding='same': the odd zero at the end, as SAME_UPPER
            else:
                raise ValueError(self.asymmetric(a, pads, "torch pads a convolution alike at both ends, or at stride "
                                                          "1 the odd zero at the end (padding 'same')"))
        item: dict[str, Any] = {"filters": int(w.shape[0]), "kernel": _one(list(w.shape[2:]))}
        for key, value, default in (("stride", _one(strides), 1),
                                    ("padding", padding, 0),
                                    ("dilation", _one(dilations), 1),
                                    ("groups", int(a.get(conv_groups_attribute(), 1)), 1)):
            if value != default:
                item[key] = value
        tensors = _weight_and_bias(item, w, self.const(node, 2))
        self.add(node, {{1: Conv1d, 2: Conv2d, 3: Conv3d}[k].KIND: item}, [node.input[0]], tensors)

    def conv_transpose(self, node: Any, a: dict[str, Any]) -> None:
        """ConvTranspose: an output of ``s(n − 1) + output_padding + d(k − 1) + 1 − pads[start] − pads[end]`` per
        axis. torch crops ``padding`` at both ends and adds ``output_padding`` (less than the stride or the
        dilation) at the end, so pads ``(b, e)`` with ``b ≥ e`` are ``padding: b`` and ``output_padding:
        output_padding + b − e``. ``auto_pad`` SAME (an output of ``n·s``) crops ``output_padding + d(k − 1) + 1 − s``
        in all, split in two with the odd one at the end (SAME_UPPER: refused) or at the start (SAME_LOWER); VALID
        crops nothing. ``output_shape`` (pads derived at run time) is refused."""
        w = self.const(node, 1)
        if w is None or w.ndim not in (3, 4, 5):
            raise ValueError("a transposed convolution whose weights are not a 1-d, 2-d or 3-d kernel initializer")
        k = w.ndim - 2
        if a.get("output_shape"):
            raise ValueError(f"output_shape {list(a['output_shape'])} (ONNX derives the pads from it); hint: export "
                             "with explicit pads and output_padding (torch's ConvTranspose called without output_size "
                             "exports them)")
        kernel = [int(v) for v in w.shape[2:]]
        strides, dilations = list(a.get("strides", [1] * k)), list(a.get("dilations", [1] * k))
        extra = [int(v) for v in a.get("output_padding", [0] * k)]
        mode = str(a.get("auto_pad", "NOTSET"))
        if mode == "NOTSET":
            pads = [int(p) for p in a.get("pads", [0] * 2 * k)]
        elif mode == "VALID":
            pads = [0] * 2 * k
        elif mode in ("SAME_UPPER", "SAME_LOWER"):
            totals = [op + d * (kk - 1) + 1 - st for op, d, kk, st in zip(extra, dilations, kernel, strides)]
            if min(totals) < 0:
                raise ValueError(f"auto_pad {mode} with a stride larger than the kernel's reach: the output n·s "
                                 "would need negative pads; hint: export with explicit pads")
            small = [t // 2 for t in totals]
            begins = small if mode == "SAME_UPPER" else [t - h for t, h in zip(totals, small)]
            pads = begins + [t - b for t, b in zip(totals, begins)]
        else:
            raise ValueError(f"auto_pad '{mode}' (ONNX's are {', '.join(AUTO_PADS)})")
        begins, ends = pads[:k], pads[k:]
        output_padding = [op + b - e for op, b, e in zip(extra, begins, ends)]
        if any(b < e for b, e in zip(begins, ends)) or \
                any(op >= max(st, d) for op, st, d in zip(output_padding, strides, dilations)):
            source = f"auto_pad {mode} makes pads" if mode != "NOTSET" else "pads"
            raise ValueError(f"{source} {begins} at the start and {ends} at the end with output_padding {extra}: torch "
                             "crops a transposed convolution alike at both ends and extends its end by less than the "
                             "stride or the dilation (output_padding); hint: export with symmetric pads")
        groups = int(a.get(conv_groups_attribute(), 1))
        item: dict[str, Any] = {"filters": int(w.shape[1]) * groups, "kernel": _one(kernel)}
        for key, value, default in (("stride", _one(strides), 1), ("padding", _one(begins), 0),
                                    ("output_padding", _one(output_padding), 0), ("dilation", _one(dilations), 1),
                                    ("groups", groups, 1)):
            if value != default:
                item[key] = value
        tensors = _weight_and_bias(item, w, self.const(node, 2))
        kind = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}[k].KIND
        self.add(node, {kind: item}, [node.input[0]], tensors)

    def pads(self, node: Any, a: dict[str, Any], kernel: list[int], strides: list[int],
             dilations: list[int]) -> list[int]:
        """A convolution's or pool's ``pads`` (begins, then ends), explicit or from its ``auto_pad`` and the
        spatial sizes of its input (:func:`auto_pads`)."""
        mode = a.get("auto_pad", "NOTSET")
        if mode == "NOTSET":
            return [int(p) for p in a.get("pads", [0] * 2 * len(kernel))]
        shape = self.shapes.get(self.tensor(node.input[0]))
        sizes = shape[2:] if shape is not None and len(shape) == len(kernel) + 2 else [None] * len(kernel)
        return auto_pads(str(mode), sizes, kernel, strides, dilations)

    @staticmethod
    def asymmetric(a: dict[str, Any], pads: list[int], rule: str) -> str:
        k = len(pads) // 2
        source = f"auto_pad {a['auto_pad']} makes" if a.get("auto_pad", "NOTSET") != "NOTSET" else "pads"
        return (f"{source} asymmetric padding: {pads[:k]} at the start, {pads[k:]} at the end of the spatial axes "
                f"({rule}); hint: export with symmetric padding (an odd kernel, or padding (k - 1) // 2)")

    def consumers(self, tensor: str) -> list[Any]:
        return [n for n in self.graph.node if tensor in n.input]

    def recurrent(self, node: Any, a: dict[str, Any]) -> None:
        """ONNX ``LSTM``/``GRU``/``RNN`` as torch writes ``nn.LSTM(batch_first=True)``: the input transposed to
        time-first, zero initial states, one forward layer; its gates reordered to torch's (ONNX: LSTM i, o, f, c
        and GRU z, r, h; torch: i, f, g, o and r, z, n). The last step is read from ``Y_h`` (``Gather`` or
        ``Squeeze`` of its first axis), every step from ``Y`` (``Squeeze`` of the directions' axis, then the
        transpose back to batch-first)."""
        op = node.op_type
        layer, order = RECURRENT_OPS[op]
        ins = [*node.input, *[""] * 8]
        if ins[0] not in self.seq_first:
            raise ValueError("a sequence that is not the batch-first input transposed to time-first (netspec's "
                             "sequences are batch-first, as torch's batch_first=True)")
        w, r, bias = self.const(node, 1), self.const(node, 2), self.const(node, 3)
        if w is None or r is None:
            raise ValueError("weights that are not initializers")
        if ins[4]:
            raise ValueError("sequence lengths (netspec runs every step of every sequence)")
        for k in ((5, 6) if op == "LSTM" else (5,)):
            if ins[k] and self.tensor(ins[k]) not in self.zeros:
                raise ValueError("initial states other than zeros (netspec's start from zeros unless given as "
                                 "inputs)")
        direction = a.get("direction", "forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction != "forward" or w.shape[0] != 1:
            raise ValueError(f"direction {direction} (netspec imports one forward ONNX recurrent layer; torch "
                             "writes a stacked or bidirectional one otherwise)")
        if "clip" in a or int(a.get("layout", 0)) != 0 or (op == "LSTM" and ins[7]):
            raise ValueError("clip, layout 1 or peepholes (torch writes none)")
        if op == "GRU" and int(a.get("linear_before_reset", 0)) != 1:
            raise ValueError("linear_before_reset 0 (torch's GRU resets after the hidden product: 1)")
        acts = [x.decode() if isinstance(x, bytes) else x for x in a.get("activations", [])]
        item: dict[str, Any] = {"units": int(a["hidden_size"])}
        if op == "RNN" and acts not in ([], ["Tanh"]):
            if acts != ["Relu"]:
                raise ValueError(f"activations {acts} (torch's RNN is tanh or relu)")
            item["nonlinearity"] = acts[0].lower()  # torch's nonlinearity names ONNX's activation
        elif op != "RNN" and acts:
            raise ValueError(f"activations {acts} (torch's gates are sigmoid and tanh)")
        h, g = item["units"], len(order)

        def torch_gates(m: np.ndarray) -> np.ndarray:
            parts = np.split(m, g, axis=0)
            return np.ascontiguousarray(np.concatenate([parts[k] for k in order], axis=0))

        tensors = {"weight_ih_l0": torch_gates(w[0]), "weight_hh_l0": torch_gates(r[0])}
        if bias is None:
            item["bias"] = False
        else:
            tensors["bias_ih_l0"], tensors["bias_hh_l0"] = torch_gates(bias[0][:g * h]), torch_gates(bias[0][g * h:])
        used = [k for k, t in enumerate(node.output) if t and self.consumers(t)]
        if used == [0]:  # every step: Squeeze of the directions' axis, then back to batch-first
            (sq,) = self.consumers(node.output[0]) or [None]
            back = self.consumers(sq.output[0]) if sq is not None and sq.op_type == "Squeeze" and \
                self.axes(sq, _attrs(sq)) == [1] else []
            if len(back) != 1 or back[0].op_type != "Transpose" or [int(p) for p in _attrs(back[0]).get("perm", [])] \
                    != [1, 0, 2]:
                raise ValueError("its steps read otherwise than squeezed and transposed back to batch-first")
            item["return_sequences"] = True
            self.fused.update([sq.output[0], back[0].output[0]])
            out = back[0].output[0]
        elif used == [1]:  # the last step: the final hidden state of the one layer and direction
            (read,) = self.consumers(node.output[1]) if len(self.consumers(node.output[1])) == 1 else (None,)
            ok = read is not None and (
                read.op_type == "Squeeze" and self.axes(read, _attrs(read)) == [0] or
                read.op_type == "Gather" and int(_attrs(read).get("axis", 0)) == 0 and
                self.const(read, 1) is not None and int(self.const(read, 1).reshape(-1)[0]) in (0, -1) and
                self.const(read, 1).ndim == 0)
            if not ok:
                raise ValueError("its final state read otherwise than its one row (h[-1])")
            self.fused.add(read.output[0])
            out = read.output[0]
        else:
            raise ValueError("outputs read other than the steps alone or the final state alone (netspec's "
                             "return_state gives the states batch-first)")
        self.add(node, {layer.KIND: item}, [self.seq_first[ins[0]]], tensors, output=out)

    def resize(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """``Resize`` of a (N, C, H, W) map by one constant scale on both spatial axes, as torch writes
        ``nn.Upsample(scale_factor=s)``: nearest (asymmetric, floor) or bilinear (half_pixel, no corners)."""
        def text(key: str, default: str) -> str:
            value = a.get(key, default)
            return value.decode() if isinstance(value, bytes) else value

        scales = self.const(node, 2)
        if len(data) != 1 or scales is None or self.const(node, 3) is not None or scales.shape != (4,) or \
                scales[0] != 1 or scales[1] != 1 or scales[2] != scales[3]:
            raise ValueError("a resize other than one constant scale of both spatial axes of a (N, C, H, W) map "
                             "(netspec's upsample)")
        mode, where = text("mode", "nearest"), text("coordinate_transformation_mode", "half_pixel")
        if (mode, where) == ("nearest", "asymmetric") and text("nearest_mode", "round_prefer_floor") == "floor":
            item: dict[str, Any] = {"scale": float(scales[2])}
        elif (mode, where) in (("linear", "half_pixel"), ("linear", "pytorch_half_pixel")):
            item = {"scale": float(scales[2]), "mode": "bilinear"}
        else:
            raise ValueError(f"mode {mode} with coordinate_transformation_mode {where} (netspec's upsample: "
                             "nearest as torch writes it, or bilinear without align_corners)")
        self.add(node, {Upsample.KIND: item}, data)

    def embedding(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """``Gather`` of a 2-D initializer's rows by the token ids (what torch writes for ``nn.Embedding``)."""
        table = self.consts[self.tensor(node.input[0])]
        if table.ndim != 2 or int(a.get("axis", 0)) != 0 or data != [node.input[1]]:
            raise ValueError("a gather other than rows of a 2-D table by ids (netspec's embedding)")
        item = {"vocab": int(table.shape[0]), "dim": int(table.shape[1])}
        self.add(node, {Embedding.KIND: item}, data, {"weight": np.ascontiguousarray(table)})

    def gemm(self, node: Any, a: dict[str, Any]) -> None:
        w, c = self.const(node, 1), self.const(node, 2)
        if w is None or a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise ValueError("a product other than x·Wᵀ + b with an initializer W")
        weight = w if a.get("transB", 0) else w.T
        self.dense(node, weight, c, node.output[0])

    def matmul(self, node: Any) -> None:
        w = self.const(node, 1)
        if w is None or w.ndim != 2 or self.tensor(node.input[0]) in self.consts:
            raise ValueError("a product of two computed tensors, or with a weight of other than 2 axes")
        out, bias = node.output[0], None
        nxt = [n for n in self.graph.node if out in n.input]
        if len(nxt) == 1 and nxt[0].op_type == "Add" and self.readers.get(out) == 1:
            other = [t for t in nxt[0].input if t != out]
            b = self.consts.get(self.tensor(other[0])) if len(other) == 1 else None
            if b is not None and b.shape == (w.shape[1],):
                bias, out = b, nxt[0].output[0]
                self.fused.add(out)
        self.dense(node, w.T, bias, out)

    def dense(self, node: Any, weight: np.ndarray, bias: np.ndarray | None, out: str) -> None:
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"a bias of shape {tuple(bias.shape)} for {weight.shape[0]} units")
        item: dict[str, Any] = {"units": int(weight.shape[0])}
        tensors = _weight_and_bias(item, np.ascontiguousarray(weight), bias)
        self.add(node, {Dense.KIND: item}, [node.input[0]], tensors, output=out)

    def batchnorm(self, node: Any, a: dict[str, Any]) -> None:
        scale, bias, mean, var = (self.const(node, i) for i in range(1, 5))
        if any(t is None for t in (scale, bias, mean, var)):
            raise ValueError("batch norm whose scale, bias, mean and variance are not initializers")
        if a.get("training_mode", 0):
            raise ValueError("batch norm in training mode")
        rank = self.rank(node.input[0])
        kind = BatchNorm1d.KIND if rank in (2, 3) else BatchNorm2d.KIND
        if rank not in (2, 3, 4):
            raise ValueError(f"batch norm of a rank-{rank} tensor")
        eps = float(a.get("epsilon", 1e-5))
        item = {} if abs(eps - 1e-5) < 1e-12 else {"eps": eps}
        tensors = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var,
                   "num_batches_tracked": np.array(0, dtype=np.int64)}
        self.add(node, {kind: item}, [node.input[0]], tensors)

    def pool(self, node: Any, a: dict[str, Any]) -> None:
        kernel = list(a.get("kernel_shape", []))
        if len(kernel) != 2:
            raise ValueError("pooling of other than images")
        if any(d != 1 for d in a.get("dilations", [1])):
            raise ValueError(f"dilation {list(a['dilations'])} (netspec's pools are not dilated)")
        pads = self.pads(node, a, kernel, list(a.get("strides", [1, 1])), [1, 1])
        if pads[:2] != pads[2:]:
            raise ValueError(self.asymmetric(a, pads, "torch pads a pool alike at both ends"))
        if node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            raise ValueError("max pooling that returns indices")
        if node.op_type == "AveragePool" and not a.get("count_include_pad", 0) and any(pads):
            raise ValueError("average pooling that leaves the padding out of the count")
        item: dict[str, Any] = {"kernel": _one(kernel)}
        stride = _one(list(a.get("strides", [1, 1])))
        if stride != item["kernel"]:
            item["stride"] = stride
        if any(pads):
            item["padding"] = _one(pads[:2])
        if a.get("ceil_mode", 0):
            item["ceil_mode"] = True
        kind = MaxPool2d.KIND if node.op_type == "MaxPool" else AvgPool2d.KIND
        self.add(node, {kind: item}, [node.input[0]])

    def fold(self, node: Any, a: dict[str, Any]) -> None:
        """Shape and the arithmetic of sizes torch writes around a reshape (``x.view(x.size(0), -1)``: Shape, Gather,
        Unsqueeze, Concat), computed here as constants: the batch size (symbolic) as :data:`BATCH`, a size the file
        does not fix as :data:`UNKNOWN`, which a reshape refuses (:meth:`reshape`)."""
        op = node.op_type
        if op == "Shape":
            sizes = self.shapes.get(self.tensor(node.input[0]))
            if sizes is None:
                raise ValueError("the shape of a tensor whose shape the file does not give")
            value = np.array([BATCH if k == 0 else UNKNOWN if d is None else d for k, d in enumerate(sizes)],
                             dtype=np.int64)
            start, end = a.get("start", 0), a.get("end", None)
            self.consts[node.output[0]] = value[start:end]
            return
        ins = [self.consts[self.tensor(t)] if t else None for t in node.input]
        marked = any(v is not None and np.issubdtype(v.dtype, np.integer) and
                     bool(np.isin(v, (BATCH, UNKNOWN)).any()) for v in ins)
        if op == "Gather":
            value = np.take(ins[0], ins[1].astype(np.int64), axis=int(a.get("axis", 0)))
        elif op == "Unsqueeze":
            axes = self.axes(node, a) or []
            value = ins[0]
            for ax in sorted(d % (value.ndim + len(axes)) for d in axes):
                value = np.expand_dims(value, ax)
        elif op == "Squeeze":
            axes = self.axes(node, a)
            value = np.squeeze(ins[0], axis=None if axes is None else tuple(axes))
        elif op == "Concat":
            value = np.concatenate([v for v in ins if v is not None], axis=int(a.get("axis", 0)))
        elif marked:  # arithmetic on the batch size, or on a size the file does not fix
            raise ValueError("computes with a size the file does not fix (the batch, or a symbolic size)")
        else:
            arithmetic = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.floor_divide}
            value = arithmetic[op](ins[0], ins[1]) if op in arithmetic else ins[0]  # Identity
        self.consts[node.output[0]] = np.asarray(value)

    def layer_norm(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """LayerNormalization (opset 17, as torch writes ``nn.LayerNorm``): over the axes from ``axis`` to the last,
        with the scale and bias as its weight and bias."""
        rank = self.rank(data[0]) if len(data) == 1 else None
        axis = int(a.get("axis", -1))
        if rank is None:
            raise ValueError("layer normalization of a tensor of unknown rank")
        axes = rank - axis % rank
        if axis % rank == 0:
            raise ValueError("layer normalization over the batch axis (netspec normalizes each sample)")
        scale, bias = self.const(node, 1), self.const(node, 2)
        if scale is None:
            raise ValueError("a scale that is not an initializer")
        item: dict[str, Any] = {**({"axes": axes} if axes != 1 else {}),
                                **({"eps": float(np.float32(a["epsilon"]))} if "epsilon" in a and
                                   abs(a["epsilon"] - 1e-5) > 1e-12 else {})}
        if bias is None:
            raise ValueError("layer normalization with a scale and no bias (netspec's has both or neither)")
        self.add(node, {LayerNorm.KIND: item}, data, {"weight": scale, "bias": bias})

    def axes(self, node: Any, a: dict[str, Any]) -> list[int] | None:
        """A Reduce*'s or Squeeze's axes: the attribute (opset < 18, < 13 for Squeeze) or the constant second
        input; None when it gives none (every axis)."""
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            value = self.const(node, 1)
            if value is None:
                raise ValueError("axes computed in the graph (netspec reads constant axes)")
            axes = [int(v) for v in value.reshape(-1)]
        return None if axes is None else [int(v) for v in axes]

    def reduce(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """ReduceMean / ReduceMax, as torch writes ``x.mean((2, 3))``, ``AdaptiveAvgPool2d(1)`` (keepdims),
        ``x.amax(-1)``, ``x.mean(1)``: over every axis after the channels a global pool (keeping the axes: adaptive
        average pooling to one position, or the pool and a reshape to ``(C, 1, ...)``), over the steps of a
        ``(N, T, F)`` sequence a ``sequence_pool``. Any other set of axes is refused, naming it."""
        mode = REDUCTIONS[node.op_type]
        rank = self.rank(data[0]) if len(data) == 1 else None
        if len(data) != 1 or rank is None:
            raise ValueError(f"a {mode} of {len(data)} tensors, or of one of unknown rank")
        axes = self.axes(node, a)
        if not axes and a.get("noop_with_empty_axes", 0):  # none given, or an empty list: the identity
            self.alias[node.output[0]] = self.tensor(data[0])
            return
        keep = bool(a.get("keepdims", 1))
        dims = sorted({d % rank for d in axes}) if axes else list(range(rank))
        if rank >= 3 and dims == list(range(2, rank)):
            self.pooled(node, data, mode, rank, keep)
        elif rank == 3 and dims == [1]:
            self.pooled(node, data, mode, rank, keep, steps=True)
        else:
            example = f"axes {list(range(2, rank))}" if rank >= 3 else "axes [2, 3] of (N, C, H, W)"
            raise ValueError(f"a {mode} over axes {dims} of a rank-{rank} tensor (netspec pools over every axis "
                             f"after the channels, {example}, or over the steps of a (N, T, F) sequence, axes [1])")

    def pooled(self, node: Any, data: list[str], mode: str, rank: int, keep: bool, steps: bool = False) -> None:
        """A mean or max over the positions (``steps``: over the steps of a sequence), the pooled axes kept as
        size 1 or not: one layer, or the pool and a reshape to size 1 after it."""
        if steps:
            item: dict[str, Any] = {SequencePool.KIND: {"mode": mode}}
            kept = [1, -1]
        elif keep and mode == "mean" and rank in (3, 4):
            self.add(node, {(AdaptiveAvgPool1d if rank == 3 else AdaptiveAvgPool2d).KIND: {"output_size": 1}}, data)
            return
        else:
            item = {(GlobalAvgPool if mode == "mean" else GlobalMaxPool).KIND: {}}
            kept = [-1] + [1] * (rank - 2)
        if not keep:
            self.add(node, item, data)
            return
        pooled = f"{node.output[0]}\x00pooled"
        self.add(node, item, data, output=pooled)
        self.add(node, {Reshape.KIND: {"shape": kept}}, [pooled])

    def squeeze(self, node: Any, a: dict[str, Any], data: list[str]) -> None:
        """Squeeze / Unsqueeze of the axes after the batch (torch's ``x.squeeze(-1)`` after a pool, ``x.unsqueeze(1)``):
        a reshape to the output's per-sample shape, which the file's shapes give; the batch axis is refused."""
        rank = self.rank(data[0]) if len(data) == 1 else None
        axes = self.axes(node, a)
        out = self.shapes.get(node.output[0])
        if rank is None or out is None or axes is None:
            raise ValueError(f"{node.op_type.lower()} without constant axes or known shapes")
        out_rank = rank + len(axes) if node.op_type == "Unsqueeze" else rank - len(axes)
        if any(d % (out_rank if node.op_type == "Unsqueeze" else rank) == 0 for d in axes):
            raise ValueError(f"{node.op_type.lower()} of the batch axis (netspec reshapes each sample)")
        rest = out[1:]
        if any(d is None for d in rest) or not rest:
            raise ValueError(f"{node.op_type.lower()} to a shape the file does not fix ({out})")
        self.add(node, {(Flatten if len(rest) == 1 else Reshape).KIND: {} if len(rest) == 1 else {"shape": rest}},
                 data)

    def reshape(self, node: Any) -> None:
        target = self.const(node, 1)
        if target is None:
            raise ValueError("reshape to a computed shape (export with a fixed shape, or flatten)")
        dims = [int(d) for d in target.reshape(-1)]
        if dims and dims[0] == BATCH:
            dims[0] = 0  # the batch size read from the input's shape: the batch stays
        if UNKNOWN in dims or BATCH in dims:
            raise ValueError("reshape to a size the file does not fix (a symbolic size, or the batch elsewhere than "
                             "first)")
        if not dims or dims[0] not in (0, -1) and dims[0] < 1:
            raise ValueError(f"reshape to {dims}")
        rest = dims[1:]
        if rest.count(-1) > 1 or any(d < -1 or d == 0 for d in rest) or (dims[0] == -1 and -1 in rest):
            raise ValueError(f"reshape to {dims} (one axis may be -1, and the batch must stay first)")
        if len(rest) == 1:
            self.add(node, {Flatten.KIND: {}}, [node.input[0]])
        else:
            self.add(node, {Reshape.KIND: {"shape": rest}}, [node.input[0]])


def import_onnx(path: str | Path, name: str | None = None, check: bool = True) -> OnnxImport:
    """An ONNX file as a netspec spec and a state dict of its initializers, checked with onnxruntime.

    Raises:
        UsageError: no such file, or onnx is not installed.
        NotImportable: nodes netspec cannot express (all of them, by node name and op type).
        BuildError: the spec does not compute what the ONNX model does.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no ONNX file at {p}")
    try:
        import onnx
    except ImportError:
        raise UsageError("importing ONNX needs the onnx package (pip install onnx)") from None
    try:
        model = onnx.load(str(p))
    except Exception as exc:
        raise UsageError(f"{p}: not a readable ONNX file ({type(exc).__name__})") from None
    if name is None:
        name = re.sub(r"\W", "_", p.stem) or "imported"
        if name[0].isdigit():
            name = f"model_{name}"
    importer = OnnxImporter(model, name)
    raw = importer.spec()
    text = f"# {p.name}, written by `netspec import`.\n" + to_yaml(raw)
    done = OnnxImport(text, raw, importer.state, raw["expect"]["params"])
    if check:
        verify_onnx(done, model)
    return done


def file_batch(model: Any) -> int:
    """The batch size the ONNX file's first graph input fixes (2 where the batch is symbolic)."""
    consts = {i.name for i in model.graph.initializer}
    for v in model.graph.input:
        if v.name in consts:
            continue
        dims = v.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0:
            return int(dims[0].dim_value)
        return 2
    return 2


def verify_onnx(done: OnnxImport, model: Any) -> None:
    """The spec resolves with the initializers' parameter count, loads them by name and, where
    onnxruntime is installed, computes its outputs on random inputs."""
    graph = analyze(done.text)
    net = graph.network(None)
    if net.params != done.params:
        raise BuildError(f"the imported spec has {net.params} parameters, the ONNX initializers {done.params}")
    mine = compile_spec(graph, weights=done.state).eval()
    done.weights = mine.netspec_weights.summary()
    try:
        import onnxruntime as ort
    except ImportError:
        done.checked = "outputs not compared: onnxruntime is not installed"
        return
    x_type = net.inputs[next(iter(net.inputs))]
    shape = [d if isinstance(d, int) else 7 for d in x_type.shape]
    if x_type.dtype == "long":  # token ids, within the smallest table the spec reads them with
        vocab = min([int(t.shape[0]) for k, t in done.state.items() if k.endswith(".weight") and t.dim() == 2
                     and any(k == f"{layer['name']}.weight" and Embedding.KIND in layer for layer in done.spec["layers"])]
                    or [2])
        x = torch.randint(0, vocab, (file_batch(model), *shape))
    else:
        x = torch.randn(file_batch(model), *shape)
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x.numpy()}
        theirs = [torch.from_numpy(a) for a in session.run(None, feed)]
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BuildError(problems=[Problem(
            f"onnxruntime could not run the ONNX file on an input of shape {tuple(x.shape)} to check the "
            f"import: {first[:300]}", hint="pass --no-check to import without comparing outputs")]) from None
    with torch.no_grad():
        out = mine(x)
    ours = list(out) if isinstance(out, tuple) else [out]
    if len(ours) != len(theirs):  # every output compared, never the first alone
        raise BuildError(f"the imported spec computes {len(ours)} output(s), the ONNX graph {len(theirs)}")
    worst = 0.0
    for u, v in zip(ours, theirs):
        if u.shape != v.shape:
            raise BuildError(f"the imported spec computes an output of shape {tuple(u.shape)} where onnxruntime "
                             f"computes {tuple(v.shape)}")
        diff = float((u - v).abs().max())
        if diff > 1e-4 * max(1.0, float(v.abs().max())):
            raise BuildError("the imported spec computes something else than onnxruntime: outputs differ by "
                             f"{diff:.3g}")
        worst = max(worst, diff)
    done.max_diff = worst
    done.checked = "onnxruntime"
