from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import Ref
from netspec.layers.base import Children, Composer, register_layer
from netspec.layers.structure.base_group import Group


@register_layer("sequential", aliases=("group", "block"))
class Sequential(Group):
    """A named group of layers applied in order (a block instance, or ``repeat: n``)."""

    CHILDREN: ClassVar[dict[str, int]] = {"layers": 1}
    EXAMPLES: ClassVar = [({"layers": [{"kind": "dense", "units": 4}, {"kind": "relu"}]}, [(3,)])]

    # A default, copied per instance: `default_factory=list` made pydantic parse list's text signature (13 M
    # instructions on every check).
    layers: Children = Field(default=[], max_length=10_000)

    def compose(self, builder: Composer, scope: Any, ins: list[Ref]) -> Ref:
        inner = builder.open_group(self, scope)
        return builder.close_group(inner, builder.chain(self.layers, inner, ins[0]))
