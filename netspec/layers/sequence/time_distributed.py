from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product
from netspec.core.types import TensorType
from netspec.layers.base import (
    READS_STEPS,
    Children,
    Ctx,
    Layer,
    channels_first,
    check_layout,
    features_last,
    register_layer,
    step_channels_first,
)


@register_layer("time_distributed", aliases=("timedistributed",))
class TimeDistributed(Layer):
    """Apply a layer list at every time step: ``(T, *x)`` → ``(T, *y)`` where the list maps x → y.

    The wrapped layers are written as ``layers: [...]`` (one or more single-input leaf layers, applied
    in order, no ``from:``); their parameters are shared across steps and named ``layers.<i>.<param>``.
    """

    FAMILY: ClassVar[str] = "structure"
    READS: ClassVar[str | None] = READS_STEPS
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

    def normalized_axis(self) -> int | None:
        axis = self.layers[-1].normalized_axis()  # of one step's output: the steps axis comes first
        return axis if axis is None or axis < 0 else axis + 1

    def steps(self, x: TensorType, ctx: Ctx | None = None) -> list[tuple[Layer, TensorType, TensorType]]:
        """(layer, per-step input, per-step output) of each wrapped layer, each layer with the defaults that
        depend on its step's layout written out (``Layer.with_layout``)."""
        return [(layer, t, y) for layer, t, y, _ in self.walk(x, ctx)]

    def walk(self, x: TensorType, ctx: Ctx | None = None) -> list[tuple[Layer, TensorType, TensorType, Ctx]]:
        """:meth:`steps`, with the layout each layer's output has at one step (its ``Ctx``: what a layer after
        it would be told). The layout of a step is the builder's, one axis in: a ``(T, ..., F)`` sequence
        holds its features last at every step, a ``(T, C, H, W)`` video's frames are channels-first maps, a
        conv or a pool makes one, a dense makes features last, element-wise layers keep what they are given.
        Warnings go to ``ctx``."""
        if x.rank < 2:
            raise ShapeError(f"time_distributed needs a sequence (T, ...) to apply its layers at every step, got {x}")
        ctx = ctx or Ctx()
        t = TensorType(x.shape[1:], x.dtype)
        step = Ctx(ctx.strict)
        step.warnings = ctx.warnings
        step.channels_first = ((channels_first(ctx) or step_channels_first(ctx)) and t.rank >= 2,)
        step.features_last = (features_last(ctx),)
        out = []
        for i, layer in enumerate(self.layers):
            where = f"time_distributed layers[{i}] ({layer.kind})"
            if layer.CHILDREN or layer.ARITY != 1 or layer.from_:
                raise ShapeError(f"{where}: time_distributed wraps single-input layers applied in order "
                                 "(no blocks, merges or from:)", option=("layers", i))
            if layer.init is not None:
                raise ShapeError(f"{where}: put init on the time_distributed layer, naming layers.{i}.<param>",
                                 option=("layers", i, "init"))
            if layer.INPUT_DTYPE != "any" and t.dtype != layer.INPUT_DTYPE:
                raise ShapeError(f"{where} needs {layer.INPUT_DTYPE} input, got {t.dtype} {t}")
            try:
                y = layer.infer([t], step)
                check_layout(layer, [t], step)
            except ShapeError as err:
                raise ShapeError(f"{where} at each step of {x}: {err}",  # at the child's option, if about one
                                 option=("layers", i, *err.option) if err.option else ()) from None
            if isinstance(y, dict):
                raise ShapeError(f"{where}: a layer with several outputs cannot be time-distributed")
            layer = layer.with_layout([t], step)
            after = Ctx(ctx.strict)
            after.warnings = ctx.warnings
            rf = layer.receptive()
            after.channels_first = (y.rank >= 2 and (channels_first(step) if rf == "same" else
                                                     isinstance(rf, list) and len(rf) == y.rank - 1),)
            after.features_last = (layer.output_features_last([t], step),)
            out.append((layer, t, y, after))
            t, step = y, after
        return out

    def with_layout(self, ins: list[TensorType], ctx: Ctx) -> "TimeDistributed":
        """The wrapped layers with the defaults their step's layout decides written out (a layer_scale's
        channel axis), so that ``param_shapes`` and ``build`` make what ``infer`` said."""
        scratch = Ctx()  # infer has reported the warnings of the steps already
        scratch.channels_first, scratch.features_last = ctx.channels_first, ctx.features_last
        scratch.step_channels_first = ctx.step_channels_first
        layers = [layer for layer, _, _ in self.steps(ins[0], scratch)]
        if all(a is b for a, b in zip(layers, self.layers)):
            return self
        return self.model_copy(update={"layers": layers})

    def output_features_last(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """The layout of the last wrapped layer's output at one step: a dense at every step makes a sequence
        ``(T, U)`` with its features last; a conv at every step makes frames, not features last."""
        scratch = Ctx()
        scratch.channels_first, scratch.features_last = ctx.channels_first, ctx.features_last
        scratch.step_channels_first = ctx.step_channels_first
        return features_last(self.walk(ins[0], scratch)[-1][3])

    def output_step_channels_first(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """A channels-first map at every step (a conv's, a pool's) makes a sequence of them, ``(T, C, ...)``: its
        channels are axis 1 (layer_scale scales them; a kind reading axis 0 as channels would read the steps)."""
        scratch = Ctx()
        scratch.channels_first, scratch.features_last = ctx.channels_first, ctx.features_last
        scratch.step_channels_first = ctx.step_channels_first
        return channels_first(self.walk(ins[0], scratch)[-1][3])

    def output_axes(self, ins: list[TensorType], out: TensorType) -> tuple[int | None, ...] | None:
        """The time axis stays first; the axes of a step go as the wrapped layers take them."""
        order: tuple[int | None, ...] = tuple(range(ins[0].rank - 1))
        for layer, t, y in self.steps(ins[0]):
            step = layer.output_axes([t], y)
            if step is None:
                return (0, *(None,) * (out.rank - 1))
            order = tuple(order[a] if a is not None and 0 <= a < len(order) else None for a in step)
        return (0, *(a + 1 if a is not None else None for a in order))

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
