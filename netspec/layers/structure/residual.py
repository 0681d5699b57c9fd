import functools
from typing import Any, ClassVar, Literal, Union

from pydantic import Field

from netspec.core.errors import Problem, ShapeError
from netspec.core.sizes import conv_out, same_size
from netspec.core.types import Ref, TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import (
    Bool,
    Children,
    Composer,
    Layer,
    inverse_permutation,
    layer_class,
    register_layer,
)
from netspec.layers.structure.base_group import Group


def projection(x: TensorType, y: TensorType, norm: bool, strides: tuple[int | None, ...] | None,
               features_last: bool = False) -> list[Layer]:
    """Layers that map the block input ``x`` onto the body output's shape ``y`` (the notes'
    "convolutional block": a 1×1 convolution with the body's stride, then batch norm).

    ``strides`` is the body's stride per spatial axis (how far one output step moves on the input),
    so the shortcut samples the same grid as the body; when a 1×1 convolution with that stride cannot
    give the body's size, the shapes cannot line up and a ShapeError says so, as torch would fail.

    Features ``(F,)``, and a sequence ``(T, F)`` whose body changed only its width without a
    receptive field (dense, recurrent or attention layers, which act on the last axis; ``strides``
    is None then), get a dense projection of the last axis (``nn.Linear``, as a Transformer's
    width change is written), not a convolution over T. So does any input the builder knows to hold its
    features last (``features_last``: a sequence, a channels-last map) when only that axis changed; when
    another changed, no projection is guessed: a 1×1 convolution would read its positions as channels.
    """
    # Each kind's module is imported when this projection uses it: a spec creates only the classes it uses.
    width_only = (x.rank == 2 and y.rank == 2 and strides is None and same_size(x.shape[0], y.shape[0])
                  and not same_size(x.shape[1], y.shape[1]))
    if features_last and x.rank >= 2 and not (x.rank == y.rank and all(
            same_size(a, b) for a, b in zip(x.shape[:-1], y.shape[:-1]))):
        raise ShapeError(f"cannot project the residual input {x} onto the block output {y}: the input holds its "
                         "features on the last axis (a sequence or a channels-last map) and the body changed the "
                         f"other axes, where a 1×1 convolution would read axis 0 ({x.shape[0]}) as channels; "
                         "hint: write the shortcut: layers yourself")
    if x.rank == 1 or width_only or features_last:
        from netspec.layers.core.dense import Dense

        units = y.shape[-1]
        if not isinstance(units, int):
            raise ShapeError(f"cannot project the residual input {x} onto the block output {y}: a symbolic "
                             "width; hint: write the shortcut: layers yourself")
        return [Dense(kind=Dense.KIND, name="dense", units=units)]
    if x.rank not in (2, 3) or y.rank != x.rank:
        raise ShapeError(f"cannot project the residual input {x} onto the block output {y}: a projection is inferred "
                         "for (C, L) and (C, H, W) maps (a 1×1 convolution) and features-last inputs (a dense); hint: "
                         "write the shortcut: layers yourself")
    if not isinstance(y.shape[0], int):
        raise ShapeError(f"cannot project the residual input {x} onto the block output {y}: its first axis, the "
                         f"channels of a 1×1 convolution, is symbolic ({y.shape[0]}); hint: write the shortcut: "
                         "layers yourself")
    steps = []
    for i, (a, b) in enumerate(zip(x.shape[1:], y.shape[1:])):
        s = strides[i] if strides is not None and i < len(strides) else None
        if s is None:  # the body's stride is unknown (no receptive field): only an exact ratio is safe
            s = a // b if isinstance(a, int) and isinstance(b, int) and b and a % b == 0 else (1 if a == b else None)
        got = conv_out(a, 1, s).value if s else None
        if s is None or got != b:
            shown = f"a 1×1 stride-{s} projection gives {got}" if s else "no 1×1 projection stride gives it"
            raise ShapeError(f"the residual shortcut cannot line up with the body: input {x}, body output {y} "
                             f"({shown} on axis {i + 1}); hint: give the body padding so that its stride divides "
                             "the input, or write the shortcut: layers yourself")
        steps.append(s)
    conv = layer_class("conv2d" if x.rank == 3 else "conv1d")
    bn = layer_class("batchnorm2d" if x.rank == 3 else "batchnorm1d")
    out: list[Layer] = [conv(kind=conv.KIND, name="conv", filters=int(y.shape[0]), kernel=1,
                             stride=steps if x.rank == 3 else steps[0], bias=not norm)]
    if norm:
        out.append(bn(kind=bn.KIND, name="bn"))
    return out


@functools.cache
def _merge(activation: str | None) -> Layer:
    """A residual's add: one validated instance per activation, shared by every residual (layers are
    immutable; each node records its own name and place)."""
    from netspec.layers.merge.add import Add

    return Add(kind="add", name="add", activation=activation)


@register_layer("residual")
class Residual(Group):
    """A skip connection around ``layers``: ``activation(body(x) + shortcut(x))``.

    The shortcut is the identity when shapes agree; with ``shortcut: auto`` a projection (1×1 conv +
    batch norm, the block's stride) is inserted otherwise. A body whose output has its input's shape but
    its axes in another order (a permute not undone: a square ``(T, T)`` transposed) is refused: adding
    it to the input would add values from different places. A body that permutes and permutes back
    (MLP-Mixer's token mixing, ConvNeXt's channels-last MLP) keeps the order (``Composer.axis_order``)."""

    CHILDREN: ClassVar[dict[str, int]] = {"layers": 1, "shortcut": 1}
    TOPOLOGY: ClassVar[str] = "skip"
    EXAMPLES: ClassVar = [
        ({"layers": [{"kind": "conv2d", "filters": 4, "kernel": 3, "padding": 1}], "activation": "relu"}, [(4, 6, 6)]),
        ({"layers": [{"kind": "conv2d", "filters": 8, "kernel": 3, "stride": 2, "padding": 1}]}, [(4, 6, 6)]),
        ({"layers": [{"kind": "dense", "units": 5}]}, [(3,)]),
    ]

    layers: Children = Field(min_length=1, max_length=10_000)
    shortcut: Union[Literal["auto", "identity", "projection"], Children] = "auto"
    projection_norm: Bool = Field(default=True, description="batch norm after the projection convolution")
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def check_order(self, builder: Composer, x: Ref, body: Ref, strides: tuple[int | None, ...] | None) -> None:
        """Refuse to guess a projection where the axes of the body's output are not known to be the input's in
        its order (``Composer.axis_order``): a reshape or a flatten made new ones, or a permute is not undone.
        A body that permutes and permutes back is projected as if it had not permuted (a 1×1 convolution of a
        channels-first map, a dense over a features-last one's last axis); a rank-2 input of unknown layout
        whose body changed both axes with no receptive field to follow, though, has no known channel axis."""
        xt, bt = builder.type_of(x), builder.type_of(body)
        if xt.rank <= 1:
            return
        order = builder.axis_order(x, body)
        if order is None:
            raise ShapeError(problems=[Problem(
                f"cannot infer the shortcut from {xt} to {bt}: the body's output axes are not known to be the "
                "input's (a reshape or a flatten moves values between axes and makes new ones), so which axis of its "
                "output matches which of the input is not known", self.where, self.path,
                "write the shortcut: layers yourself (e.g. the same reshapes around a projection)")])
        if order != tuple(range(len(order))):
            raise ShapeError(problems=[Problem(
                f"cannot infer the shortcut from {xt} to {bt}: the body's output holds the input's axes in another "
                f"order, {list(order)}, so a projection would add each value to one from another place",
                self.where, self.path, f"permute back at the end of the body (permute: {inverse_permutation(order)}), "
                "or write the shortcut: layers yourself")])
        known = builder.is_channels_first(x) or builder.is_features_last(x)
        width_only = xt.rank == 2 and bt.rank == 2 and same_size(xt.shape[0], bt.shape[0])
        if xt.rank == 2 and not known and strides is None and not width_only:
            raise ShapeError(problems=[Problem(
                f"cannot infer the shortcut from {xt} to {bt}: the input's layout is not known (a rank-2 (C, L) and "
                f"(T, F) look alike) and the body changed its first axis ({xt.shape[0]} → {bt.shape[0]}) with no "
                "receptive field to follow (it moves values between axes, or mixes them), so which axis holds the "
                "channels is not known",
                self.where, self.path, "write the shortcut: layers yourself (e.g. the same permutes around a 1×1 "
                "convolution)")])

    def compose(self, builder: Composer, scope: Any, ins: list[Ref]) -> Ref:
        inner = builder.open_group(self, scope)
        x = ins[0]
        body = builder.chain(self.layers, inner, x)
        xt, bt = builder.type_of(x), builder.type_of(body)
        if isinstance(self.shortcut, list):
            sc_layers: list[Layer] = self.shortcut
        elif self.shortcut == "projection" or (self.shortcut == "auto" and xt != bt):
            strides = builder.stride_between(x, body)
            self.check_order(builder, x, body, strides)
            try:
                sc_layers = projection(xt, bt, self.projection_norm, strides, builder.is_features_last(x))
            except ShapeError as err:  # the shortcut is the residual's: located there, not at the body's last layer
                if err.problems:
                    raise
                message, _, hint = str(err).partition("; hint: ")
                raise ShapeError(problems=[Problem(message, self.where, self.path, hint)]) from None
        else:
            order = builder.axis_order(x, body) if self.shortcut == "auto" else None
            if order is not None and order != tuple(range(len(order))):
                raise ShapeError(problems=[Problem(
                    f"the body's output {bt} has the shape of the input {xt}, but its axes are the input's in "
                    f"another order, {list(order)}: the identity shortcut would add each value to one from "
                    "another place (x + f(x) transposed)",
                    self.where, self.path, "permute back at the end of the body (permute: "
                    f"{inverse_permutation(order)}), or write the shortcut: layers yourself (shortcut: identity adds "
                    "the input as it is)")])
            sc_layers = []
        if sc_layers:
            sc_scope = builder.open_group(None, inner, name="shortcut", kind="shortcut")
            short = builder.close_group(sc_scope, builder.chain(sc_layers, sc_scope, x))
        else:
            short = x
        out = builder.add(_merge(self.activation), inner, [body, short], role="residual")
        return builder.close_group(inner, out)
