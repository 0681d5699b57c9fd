"""Dense, reshaping, dropout and activation layers."""

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import divide, numeric_product, product, size_product
from netspec.core.types import TensorType, fmt_shape
from netspec.layers.activations import ACTIVATIONS, ActivationName
from netspec.layers.base import (
    Axis,
    Bool,
    Ctx,
    Float,
    Int,
    Layer,
    Width,
    need_float,
    need_rank,
    register_layer,
    sample_axis,
)


@register_layer("dense", aliases=("linear", "fc"))
class Dense(Layer):
    """Fully connected layer over the last axis: ``y = x Wᵀ + b``."""

    FAMILY: ClassVar[str] = "dense"
    PRIMARY: ClassVar[str] = "units"
    EXAMPLES: ClassVar = [({"units": 7}, [(5,)]), ({"units": 3, "bias": False}, [(4, 6)]),
                          ({"units": 4, "activation": "relu"}, [(2, 3, 5)])]

    units: Int = Width
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        (x,) = ins
        need_rank(x, (1, 2, 3, 4), "features (F,) or (..., F)")
        need_float(x, "dense")
        if isinstance(x.shape[-1], str):
            raise ShapeError(f"dense needs a fixed feature size, got symbolic '{x.shape[-1]}' in {x}")
        return TensorType((*x.shape[:-1], self.units))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shapes = {"weight": (self.units, ins[0].shape[-1])}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        x = ins[0].shape
        return size_product(x[:-1]) * int(x[-1]) * self.units

    def label(self) -> str:
        return f"dense {self.units}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Linear(int(ins[0].shape[-1]), self.units, bias=self.bias)


@register_layer("flatten")
class Flatten(Layer):
    """Flattens everything but the batch axis."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    EXAMPLES: ClassVar = [({}, [(3, 4, 5)]), ({}, [(6,)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return TensorType((product(ins[0].shape),), ins[0].dtype)

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Flatten()


@register_layer("reshape")
class Reshape(Layer):
    """Reshape each sample; one entry may be -1 (inferred)."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "shape"
    EXAMPLES: ClassVar = [({"shape": [2, 6]}, [(12,)]), ({"shape": [-1, 4]}, [(2, 3, 4)])]

    shape: list[Int] = Field(min_length=1, max_length=8)

    @field_validator("shape")
    @classmethod
    def _check(cls, v: list[int]) -> list[int]:
        if sum(1 for d in v if d == -1) > 1 or any(d == 0 or d < -1 for d in v):
            raise ValueError("entries must be positive, with at most one -1")
        return v

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if any(isinstance(d, str) for d in x.shape):
            raise ShapeError(f"reshape needs a fixed input shape, got {x}")
        total = numeric_product(x.shape)
        known = numeric_product([d for d in self.shape if d != -1])
        if -1 in self.shape:
            if total % known:
                raise ShapeError(f"cannot reshape {x} ({total} values) to {fmt_shape(self.shape)}: "
                                 f"{total} is not divisible by {known}")
            return TensorType(tuple(total // known if d == -1 else d for d in self.shape), x.dtype)
        if known != total:
            raise ShapeError(f"cannot reshape {x} ({total} values) to {fmt_shape(self.shape)} ({known} values)")
        return TensorType(tuple(self.shape), x.dtype)

    def label(self) -> str:
        return f"reshape {fmt_shape(self.shape)}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.core import Reshape as TorchReshape

        return TorchReshape(tuple(self.shape))


@register_layer("dropout")
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of activations in training; identity in eval."""

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "rate"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"rate": 0.5}, [(10,)]), ({"rate": 0.2, "spatial": True}, [(3, 8, 8)])]

    rate: Float = Field(default=0.5, ge=0.0, lt=1.0)
    spatial: Bool = Field(default=False, description="drop whole channels (Dropout1d/2d)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if self.spatial:
            need_rank(ins[0], (2, 3), "a (C, L) or (C, H, W) input for spatial dropout")
        return ins[0]

    def label(self) -> str:
        return f"dropout {self.rate:g}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        if self.spatial:
            return (nn.Dropout1d if ins[0].rank == 2 else nn.Dropout2d)(self.rate)
        return nn.Dropout(self.rate)


@register_layer("drop_path", aliases=("stochastic_depth",))
class DropPath(Layer):
    """Stochastic depth on a residual branch: drops a sample's whole input in training; identity in eval.

    With probability ``rate`` the input of a sample (``mode: row``, torchvision's StochasticDepth "row")
    or of the whole batch (``mode: batch``) becomes zero; survivors are scaled by 1/(1 − rate). Put it
    last in a ``residual`` body, so that a dropped sample passes the shortcut alone (EfficientNet,
    ConvNeXt)."""

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "rate"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"rate": 0.2}, [(4, 5, 5)]), ({"rate": 0.5, "mode": "batch"}, [(6,)]),
                          ({"rate": 0.0}, [("T", 3)])]

    rate: Float = Field(default=0.1, ge=0.0, lt=1.0, description="probability of dropping the branch")
    mode: Literal["row", "batch"] = Field(default="row", description="row: per sample; batch: the whole batch")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        return ins[0]

    def label(self) -> str:
        return f"drop_path {self.rate:g}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.core import StochasticDepth

        return StochasticDepth(self.rate, self.mode)


def _torch_dim(axis: int) -> int:
    return axis if axis < 0 else axis + 1


class Activation(Layer):
    """Base of the activation layers (element-wise, no parameters)."""

    FAMILY: ClassVar[str] = "activation"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(4, 5)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        return ins[0]

    def torch_kwargs(self) -> dict[str, Any]:
        return dict(ACTIVATIONS[self.KIND].kwargs)

    def output_activation(self) -> str | None:
        return self.KIND

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.activations import activation_module

        return activation_module(self.KIND, **self.torch_kwargs())


for _name, _act in ACTIVATIONS.items():
    if _act.plain_kind:  # one table entry makes the kind; options-taking activations are classes below
        register_layer(_name)(type(_name.title().replace("_", ""), (Activation,),
                                   {"__doc__": f"The {_name} activation as a layer.", "__module__": __name__,
                                    "EVAL_IDENTITY": _act.is_identity}))


@register_layer("leaky_relu")
class LeakyReLU(Activation):
    """``max(x, slope·x)``."""

    slope: Float = Field(default=0.01, ge=0.0, le=1.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"negative_slope": self.slope}

    def label(self) -> str:
        return f"leaky_relu {self.slope:g}"


@register_layer("elu")
class ELU(Activation):
    """``x`` if positive, else ``alpha·(eˣ − 1)``."""

    alpha: Float = Field(default=1.0, gt=0.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@register_layer("softmax")
class Softmax(Activation):
    """Softmax over ``axis`` (per-sample axes; -1 is the last)."""

    EXAMPLES: ClassVar = [({}, [(4, 5)]), ({"axis": 0}, [(3, 4, 4)]), ({"axis": -3}, [(3, 4, 4)]),
                          ({"axis": 1}, [("T", 6)])]

    axis: Axis = Field(default=-1, description="the axis it normalizes over (per sample; 0 is channels, -1 the last)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        sample_axis(self.axis, ins[0], kind=self.KIND)
        return ins[0]

    def torch_kwargs(self) -> dict[str, Any]:
        return {"dim": _torch_dim(self.axis)}

    def label(self) -> str:
        return self.KIND if self.axis == -1 else f"{self.KIND} (axis {self.axis})"


@register_layer("log_softmax")
class LogSoftmax(Softmax):
    """Log of the softmax over ``axis``."""




@register_layer("glu")
class GLU(Layer):
    """Gated linear unit: ``value ⊗ gate(other half)`` over the two halves of ``axis``, which halves.

    The default is torch's ``nn.GLU``: value = the first half, gate = sigmoid(second half).
    ``gate: gelu`` gives GEGLU; ``gate_half: first`` gates the first half instead. ``swiglu`` is the
    SiLU-gated form with its own convention (see there)."""

    FAMILY: ClassVar[str] = "activation"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(4, 6)]), ({"axis": 0}, [(6, 5, 5)]),
                          ({"gate": "tanh", "gate_half": "first"}, [("T", 8)])]

    axis: Axis = Field(default=-1, description="the axis that is halved (per sample; 0 is channels, -1 the last)")
    gate: ActivationName = Field(default="sigmoid", description="the activation of the gate half")  # type: ignore[valid-type]
    gate_half: Literal["first", "second"] = Field(default="second", description="which half is the gate")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_float(x, self.KIND)
        ax = sample_axis(self.axis, x, kind=self.KIND)
        half = divide(x.shape[ax], 2)
        if not half.exact:
            raise ShapeError(f"{self.KIND} halves axis {self.axis}, which has an odd size: {half.arithmetic}; "
                             "hint: the layer before it gives twice the width you want")
        return TensorType(tuple(half.value if i == ax else d for i, d in enumerate(x.shape)))

    def label(self) -> str:
        return self.KIND if self.gate == type(self).model_fields["gate"].default else f"{self.KIND} ({self.gate})"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.activations import GatedUnit

        return GatedUnit(_torch_dim(self.axis), self.gate, gate_first=self.gate_half == "first")


@register_layer("swiglu")
class SwiGLU(GLU):
    """SwiGLU on a fused projection: ``silu(first half) ⊗ second half`` of ``axis``, which halves.

    Shazeer 2020's ``Swish(xW) ⊗ xV`` with W and V stacked in one ``dense`` of twice the hidden width
    before it. The FIRST half is the gate, as in fused gate/up projections (Megatron-LM's ``swiglu``,
    LLaMA's ``w1`` then ``w3``); note that torch's GLU gates the second half."""

    EXAMPLES: ClassVar = [({}, [(8,)]), ({"axis": 0}, [(4, 3, 3)]), ({}, [("T", 6)])]

    gate: ActivationName = Field(default="silu", description="the activation of the gate half")  # type: ignore[valid-type]
    gate_half: Literal["first", "second"] = Field(default="first", description="which half is the gate")
