"""Activations: the one table every consumer reads, and the activation layer kinds.

An activation is usable two ways: as a layer kind (``- relu``) and as the ``activation:`` shorthand of
a layer that takes one (``conv2d: {filters: 6, activation: tanh}``). Both read :data:`ACTIVATIONS`;
adding an activation is one entry there (plus a class below only when it takes options).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Layer, need_float, register_layer


@dataclass(frozen=True)
class ActivationDef:
    """How one activation is computed in torch, and what its output means.

    Attributes:
        functional: the function's name in ``torch.nn.functional`` (``torch.NAME`` for torch's own, netspec's own
            for ``heaviside_step``/``identity``).
        module: the ``torch.nn`` class of its module form.
        kwargs: default keyword arguments of both forms.
        output: what the values are, for loss selection: ``"probability"`` (each in [0, 1]),
            ``"distribution"`` (sums to 1 along the last axis), ``"log_distribution"``, ``"binary"``
            (exactly 0 or 1), ``"bounded"`` ([-1, 1]) or ``None`` (unbounded scores).
        plain_kind: registered as a layer kind with no options of its own.
    """

    functional: str
    module: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    plain_kind: bool = True

    @property
    def is_identity(self) -> bool:
        return self.functional == "identity"


ACTIVATIONS: dict[str, ActivationDef] = {
    "relu": ActivationDef("relu", "ReLU"),
    "leaky_relu": ActivationDef("leaky_relu", "LeakyReLU", {"negative_slope": 0.01}, plain_kind=False),
    "elu": ActivationDef("elu", "ELU", plain_kind=False),
    "selu": ActivationDef("selu", "SELU"),
    "gelu": ActivationDef("gelu", "GELU"),
    "silu": ActivationDef("silu", "SiLU"),
    "tanh": ActivationDef("torch.tanh", "Tanh", output="bounded"),
    "sigmoid": ActivationDef("torch.sigmoid", "Sigmoid", output="probability"),
    "softplus": ActivationDef("softplus", "Softplus"),
    "softmax": ActivationDef("softmax", "Softmax", {"dim": -1}, output="distribution", plain_kind=False),
    "log_softmax": ActivationDef("log_softmax", "LogSoftmax", {"dim": -1}, output="log_distribution",
                                 plain_kind=False),
    "step": ActivationDef("heaviside_step", "Step", output="binary"),
    "identity": ActivationDef("identity", "Identity"),
    "linear": ActivationDef("identity", "Identity", plain_kind=False),  # Keras' name; `linear` the kind is dense
}
ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]


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
                                   {"__doc__": f"The {_name} activation as a layer.", "__module__": __name__}))


@register_layer("leaky_relu")
class LeakyReLU(Activation):
    """``max(x, slope·x)``."""

    slope: float = Field(default=0.01, ge=0.0, le=1.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"negative_slope": self.slope}

    def label(self) -> str:
        return f"leaky_relu {self.slope:g}"


@register_layer("elu")
class ELU(Activation):
    """``x`` if positive, else ``alpha·(eˣ − 1)``."""

    alpha: float = Field(default=1.0, gt=0.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@register_layer("softmax")
class Softmax(Activation):
    """Softmax over ``axis`` (per-sample axes; -1 is the last)."""

    axis: int = -1

    def torch_kwargs(self) -> dict[str, Any]:
        return {"dim": _torch_dim(self.axis)}


@register_layer("log_softmax")
class LogSoftmax(Softmax):
    """Log of the softmax over ``axis``."""


