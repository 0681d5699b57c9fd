"""The shared rule of ``rnn``, ``gru`` and ``lstm``."""

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product
from netspec.core.types import TensorType, fmt_shape, same_shape
from netspec.layers.base import READS_STEPS, Bool, Ctx, Float, Int, Layer, Width, need_float, option_error

MergeMode = Literal["concat", "sum", "mean", "mul"]


def need_sequence(x: TensorType, kind: str) -> int:
    """Check that ``x`` is a ``(T, F)`` sequence with a fixed feature size; return F."""
    if x.rank != 2:
        if x.rank == 1:
            hint = "a vector (F,) is not a sequence; 'repeat_vector: n' feeds it at n time steps"
        elif x.rank == 3:
            hint = ("an image (C, H, W) is not a sequence; reshape it to (T, F) first "
                    "(e.g. 'reshape: [28, 28]' reads rows as time steps)")
        else:
            hint = "reshape it to (time, features)"
        raise ShapeError(f"{kind} expects a sequence (T, F) (time steps, features), got shape {x}; hint: {hint}")
    need_float(x, kind)
    f = x.shape[1]
    if isinstance(f, str):
        raise ShapeError(f"{kind} needs a fixed feature size, got symbolic '{f}' in {x}; hint: a conv1d output "
                         "(C, L) is channels-first, 'permute: [1, 0]' turns it into (L, C)")
    return f


class RecurrentBase(Layer):
    """Shared shape rule, counts and options of rnn, lstm and gru."""

    GATES: ClassVar[int] = 1
    STATES: ClassVar[tuple[str, ...]] = ("h",)
    FAMILY: ClassVar[str] = "recurrent"
    READS: ClassVar[str | None] = READS_STEPS
    FEATURES_LAST: ClassVar[bool] = True
    PRIMARY: ClassVar[str] = "units"
    ARITY: ClassVar[int | None] = 2  # the sequence, then up to len(STATES) initial states

    units: Int = Width
    num_layers: Int = Field(default=1, ge=1, le=64, alias="layers", description="stacked layers")
    bidirectional: Bool = False
    merge: MergeMode = Field(default="concat", description="how the two directions combine (bidirectional)")
    dropout: Float = Field(default=0.0, ge=0.0, lt=1.0, description="dropout between stacked layers")
    return_sequences: Bool = Field(default=False, description="every step (T, D·H), else the last step (D·H,)")
    return_state: Bool = Field(default=False, description="extra outputs h (and c): (layers·directions, units)")
    bias: Bool = True

    @model_validator(mode="after")
    def _check(self) -> "RecurrentBase":
        if self.dropout > 0 and self.num_layers == 1:
            raise option_error("dropout", "dropout is applied between stacked layers, so it needs layers >= 2; "
                               "hint: for dropout on the input or output add a 'dropout' layer", self.dropout)
        if self.merge != "concat" and not self.bidirectional:
            raise option_error("merge", f"merge '{self.merge}' combines the two directions; it needs "
                               "bidirectional: true", self.merge)
        return self

    # --- shapes -----------------------------------------------------------------------------------
    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_features(self) -> int:
        return self.directions * self.units if self.merge == "concat" else self.units

    def layer_inputs(self, f: int) -> list[int]:
        """Input size of each stacked layer: F, then D·H."""
        return [f] + [self.directions * self.units] * (self.num_layers - 1)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType | dict[str, TensorType]:
        x = ins[0]
        need_sequence(x, self.KIND)
        states = ins[1:]
        if len(states) > len(self.STATES):
            raise ShapeError(f"{self.KIND} takes the sequence and at most {len(self.STATES)} initial state(s) "
                             f"({', '.join(self.STATES)}), got {len(ins)} inputs")
        state_shape = (self.num_layers * self.directions, self.units)
        for sname, t in zip(self.STATES, states):
            ok = same_shape(t.shape, state_shape) or (state_shape[0] == 1 and same_shape(t.shape, (self.units,)))
            if not ok:
                raise ShapeError(f"initial state {sname} must be (layers·directions, units) = "
                                 f"{fmt_shape(state_shape)}, got {t}")
        out = TensorType((x.shape[0], self.out_features) if self.return_sequences else (self.out_features,))
        if not self.return_state:
            return out
        return {"out": out, **{s: TensorType(state_shape) for s in self.STATES}}

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        gh = self.GATES * self.units
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, i in enumerate(self.layer_inputs(int(ins[0].shape[1]))):
            for sfx in ("", "_reverse")[: self.directions]:
                shapes[f"weight_ih_l{layer}{sfx}"] = (gh, i)
                shapes[f"weight_hh_l{layer}{sfx}"] = (gh, self.units)
                if self.bias:
                    shapes[f"bias_ih_l{layer}{sfx}"] = (gh,)
                    shapes[f"bias_hh_l{layer}{sfx}"] = (gh,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        per_step = sum(self.directions * self.GATES * self.units * (i + self.units)
                       for i in self.layer_inputs(int(ins[0].shape[1])))
        return size_product(ins[0].shape[:1]) * per_step

    def label(self) -> str:
        text = f"{'bi-' if self.bidirectional else ''}{self.KIND} {self.units}"
        if self.num_layers > 1:
            text += f" ×{self.num_layers}"
        return text + (" → seq" if self.return_sequences else "")

    def torch_kwargs(self) -> dict[str, Any]:
        return {}

    def torch_class(self) -> Any:
        """The module class in ``layers/torch/recurrent.py`` (torch's own, with netspec's outputs)."""
        raise NotImplementedError

    def build(self, ins: list[TensorType]) -> Any:
        return self.torch_class()(int(ins[0].shape[1]), self.units, num_layers=self.num_layers, bias=self.bias,
                                  dropout=self.dropout, bidirectional=self.bidirectional,
                                  return_sequences=self.return_sequences, return_state=self.return_state,
                                  merge=self.merge, **self.torch_kwargs())
