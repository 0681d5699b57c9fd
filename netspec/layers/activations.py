"""Activations: the one table every consumer reads.

An activation is usable two ways: as a layer kind (``- relu``, made from this table on first use by
``layers/core/activation.py``) and as the ``activation:`` shorthand of a layer that takes one
(``conv2d: {filters: 6, activation: tanh}``). Adding an activation is one entry here (plus a module
of its own in ``layers/core/`` only when it takes options of its own). Imports nothing from netspec, so the torch half
(``layers/torch/activations.py``) can read it too.
"""

from types import MappingProxyType
from typing import Any, Literal, Mapping, NamedTuple

_NONE: Mapping = MappingProxyType({})  # the shared empty default of a read-only table's mappings


class ActivationDef(NamedTuple):
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
    kwargs: Mapping[str, Any] = _NONE
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
    "gelu_tanh": ActivationDef("gelu", "GELU", {"approximate": "tanh"}),  # GPT-2's "gelu_new"
    "silu": ActivationDef("silu", "SiLU"),
    "tanh": ActivationDef("torch.tanh", "Tanh", output="bounded"),
    "sigmoid": ActivationDef("torch.sigmoid", "Sigmoid", output="probability"),
    "softplus": ActivationDef("softplus", "Softplus"),
    "relu6": ActivationDef("relu6", "ReLU6"),  # min(max(x, 0), 6): MobileNet v2
    "hardswish": ActivationDef("hardswish", "Hardswish"),  # x·relu6(x + 3)/6: MobileNet v3
    "hardsigmoid": ActivationDef("hardsigmoid", "Hardsigmoid", output="probability"),  # relu6(x + 3)/6
    "mish": ActivationDef("mish", "Mish"),  # x·tanh(softplus(x))
    "softmax": ActivationDef("softmax", "Softmax", {"dim": -1}, output="distribution", plain_kind=False),
    "log_softmax": ActivationDef("log_softmax", "LogSoftmax", {"dim": -1}, output="log_distribution",
                                 plain_kind=False),
    "step": ActivationDef("heaviside_step", "Step", output="binary"),
    "identity": ActivationDef("identity", "Identity"),
    "linear": ActivationDef("identity", "Identity", plain_kind=False),  # Keras' name; `linear` the kind is dense
}
ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]

