"""Sequence plumbing: embedding, permute, repeat_vector, sequence_pool, time_distributed.

Convention: recurrent layers read ``(T, F)`` (time first), while ``conv1d`` and the 1-D pools read
``(C, L)`` (channels first, as PyTorch). ``permute: [1, 0]`` converts between the two, so a spec can
downsample a long sequence with conv1d and feed the result to an LSTM.
"""

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product
from netspec.core.types import TensorType, fmt_shape
from netspec.layers.base import Children, Ctx, Int, Layer, Width, need_rank, number, option_error, register_layer


@register_layer("embedding")
class Embedding(Layer):
    """Lookup table: token ids ``(T,)`` (long) → vectors ``(T, dim)``; ``padding_idx`` rows stay zero."""

    FAMILY: ClassVar[str] = "embedding"
    INPUT_DTYPE: ClassVar[str] = "long"
    EXAMPLES: ClassVar = [({"vocab": 20, "dim": 4}, [(7,)]), ({"vocab": 10, "dim": 3, "padding_idx": 0}, [("T",)]),
                          ({"vocab": 5, "dim": 2}, [(3, 4)])]

    vocab: Int = Field(ge=1, le=1 << 26, description="vocabulary size (number of rows)")
    dim: Int = Width
    padding_idx: number(int, ge=0) | None = Field(  # type: ignore[valid-type]
        default=None, description="this id maps to a zero vector, never trained")

    @model_validator(mode="after")
    def _check(self) -> "Embedding":
        if self.padding_idx is not None and self.padding_idx >= self.vocab:
            raise option_error("padding_idx", f"expected an id smaller than vocab ({self.vocab})", self.padding_idx)
        return self

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (1, 2, 3), "token ids (T,) or (..., T)")
        return TensorType((*x.shape, self.dim))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.vocab, self.dim)}

    def label(self) -> str:
        return f"embedding {self.vocab}→{self.dim}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Embedding(self.vocab, self.dim, padding_idx=self.padding_idx)


@register_layer("permute", aliases=("transpose",))
class Permute(Layer):
    """Reorder the per-sample axes: ``permute: [1, 0]`` turns conv1d's (C, L) into an LSTM's (L, C)."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "dims"
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"dims": [1, 0]}, [(3, 5)]), ({"dims": [1, 2, 0]}, [(3, 4, 5)]),
                          ({"dims": [1, 0]}, [(4, "T")])]

    dims: list[Int] = Field(default_factory=lambda: [1, 0], min_length=1, max_length=8,
                            description="new order of the per-sample axes (batch excluded)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if sorted(self.dims) != list(range(x.rank)):
            raise ShapeError(f"dims {self.dims} must be a permutation of 0..{x.rank - 1} for an input of shape {x}")
        return TensorType(tuple(x.shape[d] for d in self.dims), x.dtype)

    def label(self) -> str:
        return f"permute {fmt_shape(self.dims)}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import Permute as TorchPermute

        return TorchPermute(self.dims)


@register_layer("repeat_vector")
class RepeatVector(Layer):
    """Feed one vector at every time step (vector-to-sequence): ``(F,)`` → ``(n, F)``."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "n"
    EXAMPLES: ClassVar = [({"n": 4}, [(3,)]), ({"n": 1}, [(5,)])]

    n: Int = Field(ge=1, le=1 << 20, description="number of time steps")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if x.rank != 1:
            raise ShapeError(f"repeat_vector repeats one feature vector (F,), got shape {x}; hint: reduce the "
                             "sequence to a vector first (return_sequences: false, or sequence_pool)")
        return TensorType((self.n, x.shape[0]), x.dtype)

    def label(self) -> str:
        return f"repeat ×{self.n}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import RepeatVector as TorchRepeat

        return TorchRepeat(self.n)


@register_layer("sequence_pool", aliases=("seq_pool",))
class SequencePool(Layer):
    """Reduce the time axis: ``(T, F)`` → ``(F,)`` by the last or first step, the mean or the max."""

    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "mode"
    EXAMPLES: ClassVar = [({"mode": "last"}, [(5, 3)]), ({"mode": "mean"}, [("T", 4)]), ({"mode": "max"}, [(2, 6)]),
                          ({"mode": "first"}, [(3, 2, 2)])]

    mode: Literal["last", "first", "mean", "max"] = "last"

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (2, 3, 4), "a sequence (T, F) (time first)")
        return TensorType(x.shape[1:], x.dtype)

    def label(self) -> str:
        return f"{self.mode} step" if self.mode in ("last", "first") else f"{self.mode} over time"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import SequencePool as TorchPool

        return TorchPool(self.mode)


@register_layer("time_distributed", aliases=("timedistributed",))
class TimeDistributed(Layer):
    """Apply a layer list at every time step: ``(T, *x)`` → ``(T, *y)`` where the list maps x → y.

    The wrapped layers are written as ``layers: [...]`` (one or more single-input leaf layers, applied
    in order, no ``from:``); their parameters are shared across steps and named ``layers.<i>.<param>``.
    """

    FAMILY: ClassVar[str] = "structure"
    CHILDREN: ClassVar[dict[str, int]] = {"layers": 1}
    EXAMPLES: ClassVar = [
        ({"layers": [{"kind": "dense", "units": 4, "activation": "relu"}]}, [(5, 3)]),
        ({"layers": [{"kind": "conv2d", "filters": 2, "kernel": 3}, {"kind": "flatten"},
                     {"kind": "dense", "units": 3}]}, [(4, 1, 6, 6)]),
        ({"layers": [{"kind": "dense", "units": 2}]}, [("T", 3)]),
    ]

    layers: Children = Field(min_length=1, max_length=64)

    def output_activation(self) -> str | None:
        return self.layers[-1].output_activation()

    def steps(self, x: TensorType, ctx: Ctx | None = None) -> list[tuple[Layer, TensorType, TensorType]]:
        """(layer, per-step input, per-step output) of each wrapped layer."""
        if x.rank < 2:
            raise ShapeError(f"time_distributed needs a sequence (T, ...) to apply its layers at every step, got {x}")
        ctx = ctx or Ctx()
        t = TensorType(x.shape[1:], x.dtype)
        out = []
        for i, layer in enumerate(self.layers):
            where = f"time_distributed layers[{i}] ({layer.kind})"
            if layer.CHILDREN or layer.ARITY != 1 or layer.from_:
                raise ShapeError(f"{where}: time_distributed wraps single-input layers applied in order "
                                 "(no blocks, merges or from:)")
            if layer.init is not None:
                raise ShapeError(f"{where}: put init on the time_distributed layer, naming layers.{i}.<param>")
            if layer.INPUT_DTYPE != "any" and t.dtype != layer.INPUT_DTYPE:
                raise ShapeError(f"{where} needs {layer.INPUT_DTYPE} input, got {t.dtype} {t}")
            try:
                y = layer.infer([t], ctx)
            except ShapeError as err:
                raise ShapeError(f"{where} at each step of {x}: {err}") from None
            if isinstance(y, dict):
                raise ShapeError(f"{where}: a layer with several outputs cannot be time-distributed")
            out.append((layer, t, y))
            t = y
        return out

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        y = self.steps(x, ctx)[-1][2]
        return TensorType((x.shape[0], *y.shape), y.dtype)

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {f"layers.{i}.{k}": v for i, (layer, t, _) in enumerate(self.steps(ins[0]))
                for k, v in layer.param_shapes([t]).items()}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {f"layers.{i}.{k}": v for i, (layer, t, _) in enumerate(self.steps(ins[0]))
                for k, v in layer.buffer_shapes([t]).items()}

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        per_step = sum(layer.macs([t], [y]) for layer, t, y in self.steps(ins[0]))
        return size_product(ins[0].shape[:1]) * per_step

    def label(self) -> str:
        return "every step: " + ", ".join(layer.label() for layer in self.layers)

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import TimeDistributed as TorchTD

        modules, acts = [], []
        for layer, t, _ in self.steps(ins[0]):
            m = layer.build([t])
            if not layer.trainable:
                for p in m.parameters():
                    p.requires_grad_(False)
            modules.append(m)
            act = getattr(layer, "activation", None)
            acts.append(None if act in (None, "identity", "linear") else act)
        return TorchTD(modules, acts)
