"""The activation base, and the plain activations (``relu``, ``tanh``, ...) made from the table.

A plain activation takes no options of its own, so it is one entry of ``layers/activations.py`` and
no class written here. ``ON_DEMAND`` lists them (in the table's order, which is the order ``netspec
kinds`` lists them) and ``make_kind`` is the registry's hook: ``base.layer_class`` calls it the first
time a spec names one of them, so a spec creates the classes of the activations it uses and no other.
Activations that take options are classes in modules of their own (``leaky_relu.py``, ``softmax.py``).
"""

from typing import Any, ClassVar

from netspec.core.types import TensorType
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import Ctx, Layer, need_float, register_layer


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


# One table entry makes the kind; the activations with options are classes in their own modules.
ON_DEMAND: tuple[str, ...] = tuple(name for name, act in ACTIVATIONS.items() if act.plain_kind)


def make_kind(kind: str) -> type[Layer]:
    """Create and register the plain activation ``kind`` (one of ``ON_DEMAND``): the registry's hook."""
    act = ACTIVATIONS[kind]
    cls = type(kind.title().replace("_", ""), (Activation,),
               {"__doc__": f"The {kind} activation as a layer.", "__module__": __name__,
                "EVAL_IDENTITY": act.is_identity})
    return register_layer(kind)(cls)
