from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import Problem, ShapeError
from netspec.core.types import Ref
from netspec.layers.activations import ActivationName
from netspec.layers.base import Axis, Children, Composer, inverse_permutation, layer_class, register_layer
from netspec.layers.structure.base_group import Group


@register_layer("parallel")
class Parallel(Group):
    """Branches applied to the same input and merged (concat along channels, as Inception; or add).

    A branch whose output holds branch 1's axes in another order (a permute not undone) is refused: the
    merge would meet values from different places (``Composer.axis_order``)."""

    CHILDREN: ClassVar[dict[str, int]] = {"branches": 2}
    TOPOLOGY: ClassVar[str] = "branches"
    EXAMPLES: ClassVar = [
        ({"branches": [[{"kind": "conv2d", "filters": 2, "kernel": 1}],
                       [{"kind": "conv2d", "filters": 3, "kernel": 3, "padding": 1}], []]}, [(4, 5, 5)]),
        ({"merge": "add", "branches": [[{"kind": "dense", "units": 3}], [{"kind": "dense", "units": 3}]]}, [(2,)]),
    ]

    branches: list[Children] = Field(min_length=1, max_length=64)
    merge: Literal["concat", "add", "multiply"] = "concat"
    axis: Axis = Field(default=0, description="concat axis (per-sample; 0 is channels)")
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def compose(self, builder: Composer, scope: Any, ins: list[Ref]) -> Ref:
        inner = builder.open_group(self, scope)
        outs = []
        for i, branch in enumerate(self.branches, start=1):
            sub = builder.open_group(None, inner, name=f"branch{i}", kind="branch")
            outs.append(builder.close_group(sub, builder.chain(branch, sub, ins[0])))
        if len(outs) == 1:
            return builder.close_group(inner, outs[0])
        for i, out in enumerate(outs[1:], start=2):  # the merge meets the branches' values place by place
            order = builder.axis_order(outs[0], out)
            if order is None or order == tuple(range(len(order))):
                continue
            # Blame the branch that left the input's axes permuted: branch 1 when branch i keeps them.
            own = builder.axis_order(ins[0], outs[0]), builder.axis_order(ins[0], out)
            kept = [o is not None and o == tuple(range(len(o))) for o in own]
            if kept[1] and own[0] is not None:
                blamed, undo = 1, inverse_permutation(own[0])
                message = (f"branch 1's output {builder.type_of(outs[0])} holds the axes of the input "
                           f"{builder.type_of(ins[0])} in another order, {list(own[0])}, and branch {i}'s "
                           f"{builder.type_of(out)} in theirs")
            else:
                blamed, undo = i, inverse_permutation(order)
                message = (f"branch {i}'s output {builder.type_of(out)} holds the axes of branch 1's "
                           f"{builder.type_of(outs[0])} in another order, {list(order)}")
            raise ShapeError(problems=[Problem(
                f"{message}: the {self.merge} would meet values from different places", self.where, self.path,
                f"permute back at the end of branch {blamed} (permute: {undo}), or merge the "
                "branches yourself (a layer with from: naming them)")])
        types = [builder.type_of(o) for o in outs]
        if self.merge == "concat" and "axis" not in self.model_fields_set and types[0].rank >= 2 and all(
                builder.is_features_last(o) for o in outs) and len({t.shape[1:] for t in types}) > 1:
            # sequences (T, F) whose features differ: axis 0 (the default) would join their positions
            raise ShapeError(problems=[Problem(
                f"concat along axis 0 needs equal sizes on the other axes, got "
                + ", ".join(f"branch {i} {t}" for i, t in enumerate(types, start=1)), self.where, self.path,
                "the concat joins axis 0 by default, the positions of these sequences: write axis: -1 on the "
                "parallel to join their features")])
        cls = layer_class(self.merge)  # `merge:` names the merge kind; only its class is created
        axis = {"axis": self.axis} if self.merge == "concat" and "axis" in self.model_fields_set else {}  # as written
        merge = cls(kind=cls.KIND, name="merge", activation=self.activation, **axis)
        return builder.close_group(inner, builder.add(merge, inner, outs))
