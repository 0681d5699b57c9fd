"""The layer base class and the registry.

A layer kind is one class: its pydantic fields are its schema; beside them live its shape rule
(:meth:`Layer.infer`), parameter/buffer shapes, MAC count, receptive-field step, diagram label and
torch builder. ``@register_layer("conv2d")`` adds it to the registry, from which the schema union,
JSON Schema, DSL keywords and docs are derived. torch is imported only inside ``build``.

To add a kind: write its class in a module of its own in the family's package
(``netspec/layers/conv/conv2d.py``), decorate it, add the module's name to the family's ``MODULES``
(where in that list is where ``netspec kinds`` lists it), and regenerate ``index.py`` (:func:`write_index`).
``tests/layers/test_layers.py`` then builds it in torch and compares its shapes and counts
automatically (give it ``EXAMPLES``).
"""

import functools
import importlib
import sys
import threading
import typing
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Iterator, Literal, Protocol, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

import netspec.layers.index as index
from netspec.core.errors import Location, ShapeError, UnknownLayerError, did_you_mean
from netspec.core.fmt import bounds_text, show
from netspec.core.names import MODULE_ATTRIBUTES, reserved_name
from netspec.core.sizes import Dim
from netspec.core.source import walk
from netspec.core.types import Ref, TensorType
from netspec.layers.init import LayerInit

if TYPE_CHECKING:  # pragma: no cover
    import torch

MAX_WIDTH = 1 << 20  # filters, units, channels
MAX_KERNEL = 4096

MAX_RANK = 8  # per-sample axes a tensor may have (reshape and permute take at most 8)

Width = Field(ge=1, le=MAX_WIDTH)


# --- typed option values ---------------------------------------------------------------------------
# The language is typed, and the JSON Schema (`netspec schema`) says so: an integer option refuses
# true/false, strings ("8", "1e2") and fractional numbers; a boolean option refuses strings and numbers;
# a number option refuses true/false and strings. pydantic's lax mode would turn `true` into 1 and "yes"
# into True, so every kind's fields use these types instead of bare int/bool/float. A float with no
# fractional part (8.0) is an integer, as in JSON Schema, whose "integer" type accepts it.
def _int_value(v: Any) -> Any:
    if isinstance(v, (bool, str)):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**63:
        return int(v)
    return v


_BOOL_WORDS = ("yes", "no", "on", "off", "y", "n", "true", "false", "True", "False", "TRUE", "FALSE")


def _bool_value(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v in _BOOL_WORDS:
        raise PydanticCustomError("bool_word", "expected true or false (write true/false, not a word or a string)")
    raise PydanticCustomError("bool_type", "Input should be a valid boolean")


def _float_value(v: Any) -> Any:
    if isinstance(v, (bool, str)):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return v


def scalar_value(annotation: Any, v: Any) -> Any:
    """``v`` checked as :data:`Int`/:data:`Bool`/:data:`Float` check it, for a model whose fields are
    written with bare ``int``/``bool``/``float`` (``train:``'s sections call it from a ``"*"`` field
    validator): a field that takes only numbers, booleans or null refuses the other scalar kinds. Other
    fields, and lists and mappings, are left to pydantic."""
    leaves: list[Any] = []

    def flat(a: Any) -> None:
        origin = typing.get_origin(a)
        if origin is Annotated:
            flat(typing.get_args(a)[0])
        elif origin is Union or type(a).__name__ == "UnionType":
            for arg in typing.get_args(a):
                flat(arg)
        else:
            leaves.append(a)

    flat(annotation)
    if not leaves or any(leaf not in (int, float, bool, type(None)) for leaf in leaves) or v is None:
        return v
    if bool in leaves:
        return _bool_value(v) if not (int in leaves or float in leaves) else v
    return _float_value(v) if float in leaves else _int_value(v)


Int = Annotated[int, BeforeValidator(_int_value)]
Bool = Annotated[bool, BeforeValidator(_bool_value)]
Float = Annotated[float, BeforeValidator(_float_value)]


def number(t: type, **bounds: Any) -> Any:
    """:data:`Int` or :data:`Float` with bounds (``ge``, ``le``, ``gt``, ``lt``) that the JSON Schema carries
    as minimum/maximum. Use it where the bounds cannot sit on the field (``number(int, ge=1) | None``):
    pydantic pushes a field's bounds into ``int`` but not through a union with a before-validator."""
    return Annotated[t, Field(**bounds), BeforeValidator(_int_value if t is int else _float_value)]


Count = number(int, ge=1, le=MAX_WIDTH)  # a size of at least 1
# A per-sample axis: 0 is the first axis after the batch, -1 the last; the kind checks it against the
# input's rank when it knows the input (see `sample_axis`).
Axis = number(int, ge=-MAX_RANK, le=MAX_RANK - 1)


class _Reused:
    """``Annotated`` marker: the type's core schema is generated by the first kind that uses it and
    reused by every later one. Every kind inherits the common fields below; regenerating their schemas
    for each kind's validator was most of what building one cost (≈ 1.4 M instructions of ≈ 9 M). The
    stored schema stands alone (definition references resolved), and pydantic wraps, not edits, a
    field's type schema, so sharing it is safe; `tests/layers/test_options.py` holds the JSON Schema
    and every kind's validation to the same answers."""

    def __init__(self) -> None:
        self.schema: Any = None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        if self.schema is None:
            def resolved(node: Any) -> Any:
                if isinstance(node, dict):
                    if node.get("type") == "definition-ref":
                        node = handler.resolve_ref_schema(node)
                    return {key: resolved(value) for key, value in node.items()}
                return [resolved(value) for value in node] if isinstance(node, list) else node

            self.schema = resolved(handler(source))
        return self.schema


@functools.cache
def sizes(n: int | tuple[int, ...], low: int = 1, words: tuple[str, ...] = (), high: int = MAX_KERNEL) -> Any:
    """The type of a size option (kernel, stride, padding, dilation): one whole number from ``low`` to
    ``high`` for every axis, or a list of ``n`` of them (``n`` may be a tuple of allowed lengths), or one
    of ``words``. The value is checked before pydantic's union, so a wrong one gets one plain message at
    the option's own place, and the JSON Schema carries the same bounds (minimum/maximum)."""
    lengths = (n,) if isinstance(n, int) else n
    bounded = Annotated[int, Field(ge=low, le=high)]
    members: list[Any] = [bounded, *(tuple[(bounded,) * k] for k in lengths)]
    if words:
        members.append(Literal[words])  # type: ignore[valid-type]
    counts = " or ".join(str(k) for k in lengths)
    listed = f"a list of {counts} of them" if lengths != (1,) else "a list of one"
    spelled = " or ".join(show(w) for w in words)
    whole = f"a whole number {bounds_text(low, high)}"  # "from 1 to 4096", as every range is written
    expected = f"{whole}, or {listed}" + (f", or {spelled}" if words else "")

    def check(v: Any) -> Any:
        if isinstance(v, str) and v in words:
            return v
        if isinstance(v, str) and words and did_you_mean(v, list(words)):
            raise PydanticCustomError("value_error", "expected {spelled}, or {sizes}", {  # the hint: see spec.problems
                "spelled": spelled, "hint": did_you_mean(v, list(words)),
                "sizes": f"{whole} or {listed}"})
        values = list(v) if isinstance(v, (list, tuple)) else [v]
        if isinstance(v, (list, tuple)) and len(values) not in lengths:
            raise PydanticCustomError("value_error", "expected {counts} value{s} (one per axis) or one number",
                                      {"counts": counts, "s": "" if lengths == (1,) else "s"})
        out = []
        for i, x in enumerate(values):
            if isinstance(x, float) and x.is_integer():
                x = int(x)
            in_list = isinstance(v, (list, tuple))
            if isinstance(x, bool) or not isinstance(x, int):
                if in_list:  # at the item: `kernel: [3, x]` is layers[0].kernel[1]
                    raise _item_error(i, "int_type", "Input should be a valid integer", x)
                raise PydanticCustomError("value_error", "expected {expected}", {"expected": expected})
            if not low <= x <= high:
                if in_list:
                    raise _item_error(i, "value_error", f"expected {whole}", x)
                raise PydanticCustomError("value_error", "expected {expected}", {"expected": expected})
            out.append(x)
        return tuple(out) if isinstance(v, (list, tuple)) else out[0]

    return Annotated[Union[tuple(members)], BeforeValidator(check), _Reused()]  # type: ignore[return-value]


IntPair = sizes(2)  # kernel, stride, dilation of a 2-D window
PadPair = sizes(2, low=0)
Padding = sizes(2, low=0, words=("same", "valid"))


def pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _item_error(index: int, kind: str, message: str, value: Any) -> ValidationError:
    return ValidationError.from_exception_data("Layer", [InitErrorDetails(
        type=PydanticCustomError(kind, "{message}", {"message": message}), loc=(index,), input=value)])


def option_error(field: str | tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """An error about one option, to raise from a kind's model validator (a check across options):
    pydantic reports it at that option (``layers[0].groups``, its own line and column) with its value,
    not at the layer with the whole mapping. ``field`` may be a path into the option (``("padding", 1)``:
    one element of a list, reported at that element)."""
    loc = (field,) if isinstance(field, str) else tuple(field)
    return ValidationError.from_exception_data("Layer", [InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=loc, input=value)])


def torch_dim(axis: int) -> int:
    """A per-sample axis (0 is the first after the batch, negative from the end) as torch's ``dim``."""
    return axis if axis < 0 else axis + 1


def sample_axis(axis: int, x: TensorType, option: str = "axis", kind: str = "") -> int:
    """A per-sample axis (negative counts from the end of the per-sample shape, never reaching the batch)
    as an index into ``x.shape``; a ShapeError naming the valid range when it is outside."""
    if not -x.rank <= axis < x.rank:
        where = f"{kind} " if kind else ""
        raise ShapeError(f"{where}{option} {axis} is out of range for an input of rank {x.rank} {x}: expected an "
                         f"axis {bounds_text(-x.rank, x.rank - 1)} (counting per sample, 0 is the first axis after "
                         "the batch, -1 the last; the batch axis cannot be named)", option=option)
    return axis % x.rank


class Ctx:
    """What a shape rule may use besides its inputs: warnings, strictness, symbolic bindings."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.warnings: list[str] = []
        # Per input of the layer being inferred: known to be a channels-first map, (C, spatial...) as inputs of
        # rank 3 or more, convs and pools make it and element-wise layers keep it (a permute or a flatten ends
        # it). A rank-2 network input is not known to be one: (C, L) and (T, F) look alike. Set by the builder.
        self.channels_first: tuple[bool, ...] = ()
        # Per input: known to hold its features on the last axis (see `features_last`). Set by the builder.
        self.features_last: tuple[bool, ...] = ()
        # Per input: known to be a sequence of channels-first maps (T, C, ...), as time_distributed makes of a conv
        # at every step (see `step_channels_first`). Set by the builder.
        self.step_channels_first: tuple[bool, ...] = ()

    def warn(self, message: str) -> None:
        if self.strict:
            raise ShapeError(message + " (--strict makes this an error)")
        self.warnings.append(message)


def features_last(ctx: Ctx, index: int = 0) -> bool:
    """Whether input ``index`` is known to hold its features on the last axis: a sequence ``(T, F)`` from a
    dense, embedding, recurrent or attention layer, or a channels-last map (ConvNeXt's ``(H, W, C)`` after
    a permute). A rank-2 shape alone cannot tell ``(C, L)`` from ``(T, F)``; the builder can
    (``Ctx.features_last``). Unknown (a layer checked alone) reads as False: only a known layout warns."""
    return ctx.features_last[index:index + 1] == (True,)


def channels_first(ctx: Ctx, index: int = 0) -> bool:
    """Whether input ``index`` is known to be a channels-first map ``(C, spatial...)`` (a conv's or a pool's
    output, an image input; see ``Ctx.channels_first``). Unknown reads as False."""
    return ctx.channels_first[index:index + 1] == (True,)


def step_channels_first(ctx: Ctx, index: int = 0) -> bool:
    """Whether input ``index`` is known to be a sequence of channels-first maps ``(T, C, ...)``: a conv or a
    pool at every step (``time_distributed``), element-wise layers after it. Its channels are axis 1, not
    axis 0 (the steps). Unknown reads as False."""
    return ctx.step_channels_first[index:index + 1] == (True,)


# What a kind reads axis 0 of its (first) input as (``Layer.reads``): the builder warns, in one place
# (`check_layout`), when the layout it knows of that input says otherwise.
READS_CHANNELS = "channels"  # (C, ...): convolutions, pools, channel norms, pads, crops, shuffles
READS_STEPS = "steps"  # (T, F): recurrent and attention layers, sequence pooling, tokens, position tables


def check_layout(layer: "Layer", ins: list[TensorType], ctx: Ctx) -> None:
    """Warn when ``layer`` reads axis 0 of its input as something the builder knows it is not: channels of a
    sequence or a channels-last map (the positions would be its channels), channels of a sequence of maps
    (the steps would be), or the steps of a channels-first ``(C, L)`` map (conv1d's output before an LSTM:
    its channels would be the steps). The builder (and ``time_distributed``, for the layers it wraps) calls it
    for every leaf layer before its shape rule, from what the kind declares (``Layer.reads``), so that no kind
    can skip it by overriding ``infer``."""
    reads = layer.reads() if ins else None
    if reads is None:
        return
    x, kind = ins[0], layer.KIND
    if reads == READS_CHANNELS and features_last(ctx):
        hint = layer.LAYOUT_HINT + "; or " if layer.LAYOUT_HINT else ""
        reads_as = f"{kind} {layer.LAYOUT_VERB} axis 0 of {x} as channels"  # written only when said
        ctx.warn(f"{reads_as}, but this input holds its features on the last axis "
                 f"(a sequence or a channels-last map): its channels would be the positions; hint: {hint}permute: "
                 f"[{x.rank - 1}, {', '.join(map(str, range(x.rank - 1)))}] puts the features first")
    elif reads == READS_CHANNELS and step_channels_first(ctx) and x.rank >= 3:
        ctx.warn(f"{kind} {layer.LAYOUT_VERB} axis 0 of {x} as channels, but this input is a sequence of "
                 "channels-first maps (T, C, ...), a layer applied at every step (time_distributed): its channels "
                 "would be the steps; "
                 f"hint: permute: [1, 0, {', '.join(map(str, range(2, x.rank)))}] puts the channels first, "
                 "(C, T, ...) as conv3d reads a clip; or apply it at every step (inside the time_distributed)")
    elif reads == READS_STEPS and channels_first(ctx) and x.rank == 2:
        ctx.warn(f"{kind} reads axis 0 of {x} as the steps of a sequence (T, F), but this input is a channels-first "
                 f"map (C, L), a convolution's or a pool's output: its {x.shape[0]} channels would be the steps and "
                 f"its {x.shape[1]} positions the features; hint: permute: [1, 0] makes it (L, C)")


def inverse_permutation(order: tuple[int, ...]) -> list[int]:
    """The ``permute:`` dims that undo ``order`` (output axis i is input axis ``order[i]``): ``[1, 2, 0]``
    is undone by ``[2, 0, 1]``."""
    out = [0] * len(order)
    for i, axis in enumerate(order):
        out[axis] = i
    return out


# For a kind that reads axis 0 as channels and finds a symbolic size there: the usual cause.
SEQUENCE_HINT = ("; hint: axis 0 is the channels; a sequence (T, F) has its features last: permute: [1, 0] makes "
                 "it (F, T)")


def need_rank(t: TensorType, ranks: tuple[int, ...], what: str, hint: str = "") -> None:
    """Raise a ShapeError unless ``t`` has one of ``ranks`` dimensions."""
    if t.rank not in ranks:
        msg = f"expects {what}, got shape {t}"
        raise ShapeError(msg + (f"; hint: {hint}" if hint else ""))


def need_float(t: TensorType, kind: str) -> None:
    if t.dtype != "float":
        raise ShapeError(f"{kind} needs a float input, got {t.dtype} {t}; "
                         "hint: token ids go through an 'embedding' first")


class Composer(Protocol):
    """What a structure kind may ask of the graph builder (``netspec.ir.build.Builder``)."""

    def type_of(self, ref: Ref) -> TensorType: ...

    def chain(self, layers: list["Layer"], scope: Any, cur: Ref | None) -> Ref: ...

    def open_group(self, layer: "Layer | None", scope: Any, name: str | None = None,
                   kind: str | None = None) -> Any: ...

    def close_group(self, inner: Any, out: Ref) -> Ref: ...

    def add(self, layer: "Layer", scope: Any, ins: list[Ref], role: str | None = None) -> Ref: ...

    def stride_between(self, src: Ref, dst: Ref) -> tuple[int | None, ...] | None: ...

    def axis_order(self, src: Ref, dst: Ref) -> tuple[int, ...] | None: ...

    def is_features_last(self, ref: Ref) -> bool: ...

    def is_channels_first(self, ref: Ref) -> bool: ...


def _not_a_module_attribute(v: str | None) -> str | None:
    why = reserved_name(v) if v is not None else None
    if why:
        raise ValueError(why)
    return v


def _one_or_many(v: Any) -> Any:
    if isinstance(v, list) and not v:  # not the same as leaving it out (the previous layer)
        raise ValueError("an empty list names no input; leave 'from' out to take the previous layer's output")
    return [v] if isinstance(v, str) else v


# The types of the fields every kind has (constraints inside the type, so that the shared schema has them).
LayerName = Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64),
                      AfterValidator(_not_a_module_attribute), _Reused()]
Sources = Annotated[list[str] | None, BeforeValidator(_one_or_many), _Reused()]
Trainable = Annotated[Bool, _Reused()]
InitOption = Annotated[LayerInit, _Reused()]
LayerRef = Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$"), _Reused()]
TiedParams = Annotated[dict[str, str] | None, _Reused()]


_WRITTEN = "_written"  # the key of a layer's place in ``__pydantic_private__``
_UNWRITTEN: tuple[Location | None, str, tuple[Location | None, ...], Any] = (None, "", (), None)


class Layer(BaseModel):
    """Base of every layer kind. Fields shared by all kinds live here."""

    # defer_build: a kind's validator is built the first time a spec uses it, so `netspec check`
    # pays only for the kinds it meets (building all of them costs a third of a second).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    KIND: ClassVar[str] = ""
    FAMILY: ClassVar[str] = "other"
    PRIMARY: ClassVar[str | None] = None  # `- dense: 120` sets this field
    CHILDREN: ClassVar[dict[str, int]] = {}  # structure kinds: field -> 1 (list of layers) or 2 (list of lists)
    ARITY: ClassVar[int | None] = 1  # 1: exactly one input; None: two or more (merges); n > 1: up to n (infer checks)
    INPUT_DTYPE: ClassVar[str] = "float"  # "float", "long" or "any"
    INPUT_DTYPES: ClassVar[tuple[str, ...]] = ()  # per input, when they differ (overrides INPUT_DTYPE)
    ELEMENTWISE: ClassVar[bool] = False  # keeps the receptive field
    EXAMPLES: ClassVar[list[tuple[dict[str, Any], list[tuple[Dim, ...]]]]] = []  # (args, input shapes) for tests
    # Properties consumers read from the IR (never the kind name):
    STATES: ClassVar[tuple[str, ...]] = ()  # recurrent state outputs besides "out" (LSTM: h, c)
    GLYPH: ClassVar[str | None] = None  # merges: the operator drawn in diagrams (+, ‖, ×)
    SHAPE_ONLY: ClassVar[bool] = False  # moves values without changing them (flatten, reshape, permute)
    EVAL_IDENTITY: ClassVar[bool] = False  # in eval its output is its input (dropout, noise, identity)
    COMPOSITE: ClassVar[bool] = False  # a structure kind: compose() wires children instead of infer()
    FEATURES_LAST: ClassVar[bool] = False  # its output holds each position's features on the last axis
    # Its outputs keep its input's axes and what each holds, some cut shorter (chunk, split): the layout and the
    # axis order pass through, as through an element-wise kind.
    KEEPS_LAYOUT: ClassVar[bool] = False
    READS: ClassVar[str | None] = None  # axis 0 of its input is its channels (READS_CHANNELS) or steps (READS_STEPS)
    LAYOUT_HINT: ClassVar[str] = ""  # READS_CHANNELS: the kind's own way out when the input is features-last
    LAYOUT_VERB: ClassVar[str] = "reads"  # what it does to axis 0, in that warning ("normalizes")

    kind: str
    name: LayerName = Field(default=None, description="node name; also the submodule name in the compiled module",
                            json_schema_extra={"not": {"anyOf": [  # what _not_a_module_attribute refuses
                                {"enum": sorted(MODULE_ATTRIBUTES)}, {"type": "string", "pattern": "^_"}]}})
    from_: Sources = Field(default=None, alias="from", description="input node(s); default: the previous layer")
    trainable: Trainable = Field(default=True, description="false freezes the parameters")
    init: InitOption = Field(
        default=None, description="weight initialisation: a scheme for every parameter (a name, or {scheme: ..., "
                                 "options}), or {param: scheme | number | values}")
    share: LayerRef = Field(default=None, description="apply the module of this earlier layer (the same parameters) "
                                                      "to this layer's input: weight sharing, as in Siamese networks")
    tie: TiedParams = Field(default=None, description="{param: layer or layer.param}: use that earlier layer's "
                                                      "parameter as this one (weight tying)")

    # Where the item was written: (its place, its path, the place of each `from:` name, the mapping as written,
    # which knows where each option's value is: `option_where`). One entry in
    # pydantic's slot for private values, set once per instance by the validator below. Declared
    # `PrivateAttr`s would have pydantic compute every default for every instance first (3 % of a
    # ResNet-152 `check`). A layer made in Python, or by `model_construct`, has no entry.
    @model_validator(mode="wrap")
    @classmethod
    def _remember_source(cls, data: Any, handler: Any) -> "Layer":
        layer = handler(data)
        pos = getattr(data, "pos", None) if isinstance(data, dict) else None  # not a structure's validated child
        if pos is not None:
            from_at: tuple[Location | None, ...] = ()
            sources = data.get("from")
            if sources is not None:  # each source's place, so that a wrong name is reported where it is written
                at = getattr(sources, "item_pos", None)
                from_at = tuple(at) if isinstance(at, list) else (data.where("from"),)
            written = (pos, getattr(data, "path", None) or "", from_at, data)
            if cls.__private_attributes__:  # pydantic has filled the slot with a kind's own private values
                layer.__pydantic_private__[_WRITTEN] = written
            else:  # the slot is unset: reading it would go through pydantic's __getattr__
                object.__setattr__(layer, "__pydantic_private__", {_WRITTEN: written})
        return layer

    @classmethod
    def common_keys(cls) -> tuple[str, ...]:
        """The options every layer item takes, as users write them (``name``, ``from``, ``trainable``,
        ``init``): the fields of this base class, less ``kind``, which the item's own key gives."""
        return tuple(info.alias or name for name, info in Layer.model_fields.items() if name != "kind")

    # --- the shape rule and counts: override in kinds -------------------------------------------
    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType | dict[str, TensorType]:
        """Output type(s) from input types. Raise ShapeError with the arithmetic when impossible."""
        raise NotImplementedError

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        """Named parameter shapes, exactly as the torch module's ``named_parameters()`` has them."""
        return {}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        """Named buffer shapes, exactly as the torch module's ``named_buffers()`` has them: batch-norm running
        statistics (in the state dict) and non-persistent ones such as a sinusoidal position table (not in
        the state dict). ``buffers``/``buffer_bytes`` in reports count all of them: memory the module holds."""
        return {}

    def buffer_dtype(self, name: str) -> str:
        """The dtype of a buffer: ``float`` unless a kind says otherwise (batch norm's step counter is ``long``)."""
        return "float"

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        """Multiply-adds of one sample; symbolic dims count as 1 (per step)."""
        return 0

    def receptive(self) -> list[tuple[int, int, int]] | Literal["same"] | None:
        """Per spatial axis (kernel, stride, dilation); 'same' keeps the field; None resets it (dense)."""
        return "same" if self.keeps_layout() else None

    def label(self) -> str:
        """Short label in the notes' notation, for tables and diagrams."""
        return self.KIND

    def build(self, ins: list[TensorType]) -> "torch.nn.Module":
        """The torch module for this layer (imports torch lazily)."""
        raise NotImplementedError

    def shorthand_activation(self) -> str | None:
        """The ``activation:`` applied after this layer's module, for kinds that take one."""
        # The fields are the instance's __dict__; getattr() on a kind without the field would go through
        # pydantic's __getattr__, which raises and catches inside (≈ 7 µs, several times a layer in a build).
        return self.__dict__.get("activation")

    def output_activation(self) -> str | None:
        """The activation its output went through last, if any (an activation kind names itself)."""
        return self.shorthand_activation()

    def output_features_last(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """Whether the output is known to hold its features on the last axis, given the inputs and what the
        builder knows of them (``ctx.channels_first``, ``ctx.features_last``): kinds marked
        ``FEATURES_LAST`` make such outputs, element-wise kinds keep their inputs'. The builder tracks it
        so that a kind that reads axis 0 as channels can warn on a sequence."""
        return self.FEATURES_LAST or (self.keeps_layout() and bool(ctx.features_last) and all(ctx.features_last))

    def output_step_channels_first(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """Whether the output is known to be a sequence of channels-first maps ``(T, C, ...)`` (see
        ``ctx.step_channels_first``): ``time_distributed`` of a conv makes one, kinds that keep the layout keep
        their inputs'. The builder tracks it so that layer_scale scales the channels of each step, and kinds
        that read axis 0 as channels warn."""
        return self.keeps_layout() and bool(ctx.step_channels_first) and all(ctx.step_channels_first)

    def keeps_layout(self) -> bool:
        """Whether the output's axes hold what the input's do (``ELEMENTWISE`` or ``KEEPS_LAYOUT``)."""
        return self.ELEMENTWISE or self.KEEPS_LAYOUT

    def reads(self) -> str | None:
        """What this layer reads axis 0 of its input as (``READS``; a kind whose option decides says so here:
        layernorm's ``channels_first``, dropout's ``spatial``). The builder warns on a known layout that says
        otherwise (:func:`check_layout`)."""
        return self.READS

    def output_axes(self, ins: list[TensorType], out: TensorType) -> tuple[int | None, ...] | None:
        """Per axis of the output ``out``, the axis of input 0 it carries (resized or not: a conv's channels
        are still its input's channel axis), or None for an axis it makes; None when not known. The builder
        composes these along the graph, so that it knows the axis order of any output relative to an
        earlier one (``Composer.axis_order``: a residual's body that permutes and permutes back adds to its
        input; one that does not, does not). By default a kind that keeps the rank keeps the axes in their
        order, and one that changes the rank makes new ones; kinds that move values between axes
        (``SHAPE_ONLY``) are not known unless they say (permute does) or keep the layout (``KEEPS_LAYOUT``)."""
        if (self.SHAPE_ONLY and not self.KEEPS_LAYOUT) or not ins or out.rank != ins[0].rank:
            return None
        return tuple(range(out.rank))

    def with_layout(self, ins: list[TensorType], ctx: Ctx) -> "Layer":
        """This layer with every default that depends on its input's layout (``ctx.channels_first``,
        ``ctx.features_last``) written out, e.g. layer_scale's channel axis. The builder calls it after
        :meth:`infer` (which warns where the layout leaves the choice a guess) with the same ``ctx`` and keeps
        the result in the IR node, so that :meth:`param_shapes` and :meth:`build`, which see only shapes,
        make what the shape rule said. By default the layer itself."""
        return self

    def compose(self, builder: "Composer", scope: Any, ins: list[Ref]) -> Ref:
        """Structure kinds (``COMPOSITE``): wire the children through the builder, return the output."""
        raise NotImplementedError

    # --- helpers --------------------------------------------------------------------------------
    def _written(self) -> tuple[Location | None, str, tuple[Location | None, ...], Any]:
        private = self.__pydantic_private__
        return private.get(_WRITTEN, _UNWRITTEN) if private else _UNWRITTEN

    @property
    def where(self) -> Location | None:
        """Where the item was written (None for a layer made in Python)."""
        return self._written()[0]

    def from_where(self, index: int) -> Location | None:
        """Where the ``index``-th source of ``from:`` was written (else where the item was)."""
        where, _, at, _ = self._written()
        return (at[index] if index < len(at) else None) or where

    def option_where(self, option: tuple[str | int, ...]) -> Location | None:
        """Where the value of one of its options is written (``("axis",)``), or a part of it (``("sizes", 1)``;
        a last step ``"[key]"``: the key, not its value); inside a structure's child, that child's
        (``("layers", 0, "axis")``). None when the option is not written (its default) or the layer has no
        place (made in Python)."""
        data = self._written()[3]
        if not option or data is None or option[0] not in data:
            return None
        depth = self.CHILDREN.get(str(option[0]), 0)
        if depth and len(option) > depth:  # in a child: the validated children know their own places
            child: Any = getattr(self, str(option[0]), None)
            for step in option[1:1 + depth]:
                ok = isinstance(child, list) and isinstance(step, int) and 0 <= step < len(child)
                child = child[step] if ok else None
            if isinstance(child, Layer):
                return child.option_where(option[1 + depth:]) or child.where
            return data.value_where(option[0])
        key = option[-1] == "[key]"
        steps = option[:-1] if key else option
        reached = walk(data, steps)
        if len(reached.steps) != len(steps):  # a step not written: the deepest one that is
            return reached.at
        return reached.where if key else reached.at

    @property
    def path(self) -> str:
        """The item's path in the file (``layers[3]``); may carry block arguments (``spec.carried``)."""
        return self._written()[1]


# Nested layers (structure kinds): already-validated instances of any kind. The loader validates
# each item with its own class (see loader.validate_layers); dumping keeps each item's own fields.
def _instantiate(items: Any) -> Any:
    """Plain ``{kind: ..., ...}`` dicts in Python-built specs become layers of their kind."""
    if not isinstance(items, list):
        return items
    return [layer_class(i["kind"]).model_validate(i) if isinstance(i, dict) and isinstance(i.get("kind"), str)
            else i for i in items]


Children = Annotated[list[SerializeAsAny[Layer]], BeforeValidator(_instantiate)]

_REGISTRY: dict[str, type[Layer]] = {}
_ALIASES: dict[str, str] = {}


def register_layer(kind: str, aliases: tuple[str, ...] = ()):  # noqa: ANN201
    """Class decorator adding a layer kind to the registry; a duplicate name is a bug and raises."""

    def deco(cls: type[Layer]) -> type[Layer]:
        for name in (kind, *aliases):
            if name in _REGISTRY or name in _ALIASES:
                raise RuntimeError(f"layer kind '{name}' registered twice")
        cls.KIND = kind
        _REGISTRY[kind] = cls
        for alias in aliases:
            _ALIASES[alias] = kind
        return cls

    return deco


# The kind modules are imported on first use: `netspec check` creates the pydantic classes of the kinds
# a spec uses (and their bases), not those of every kind. `netspec/layers/index.py` (generated, tested
# to be current) says which module holds each kind name. A module may make some of its kinds on demand
# instead of at import (the plain activations, made from a table): it lists them in `ON_DEMAND` and
# defines `make_kind(kind)`, which the registry calls the first time that kind is looked up.
_MAKING = threading.Lock()  # imports hold the import lock; a hook is called under this one (threads)


def _make(module: Any, kind: str) -> None:
    with _MAKING:
        if kind not in _REGISTRY:
            module.make_kind(kind)


def _load(kind: str) -> None:
    """Register a canonical kind of the index: import its module, then ask the module's hook if needed."""
    module = importlib.import_module(f"netspec.layers.{index.KINDS[kind][1]}")
    if kind not in _REGISTRY and kind in getattr(module, "ON_DEMAND", ()):
        _make(module, kind)
    if kind not in _REGISTRY:
        raise RuntimeError(f"layer kind '{kind}' is not in {module.__name__}: netspec/layers/index.py is stale; "
                           'run python -c "from netspec.layers import base; base.write_index()"')


def _kind_modules() -> list[str]:
    """Every kind module, in the order ``layer_kinds`` lists their kinds: by family in ``index.FAMILIES``'s
    order, then as each family package's ``MODULES`` lists them."""
    out = []
    for family in index.FAMILIES:
        package = importlib.import_module(f"netspec.layers.{family}")
        out += [f"{package.__name__}.{module}" for module in package.MODULES]
    return out


def load_all() -> None:
    """Import every kind module and make every on-demand kind (``layer_kinds``, the schema, the docs)."""
    for name in _kind_modules():
        module = importlib.import_module(name)
        for kind in getattr(module, "ON_DEMAND", ()):
            if kind not in _REGISTRY:
                _make(module, kind)


def canonical_kind(kind: str) -> str | None:
    """The registered kind for a name or alias, or None (no kind module is imported)."""
    if kind in _REGISTRY:
        return kind
    if kind in _ALIASES:
        return _ALIASES[kind]
    entry = index.KINDS.get(kind)
    return entry[0] if entry else None


def walk_layers(layers: list[Layer]) -> Iterator[Layer]:
    """Every layer of ``layers`` and, depth first, of the structures among them (their ``CHILDREN``
    fields), in file order."""
    for layer in layers:
        yield layer
        for field, depth in layer.CHILDREN.items():
            value = getattr(layer, field, None)
            if isinstance(value, list):
                for part in (value if depth == 2 else [value]):
                    if isinstance(part, list):
                        yield from walk_layers(part)


def layer_class(kind: str) -> type[Layer]:
    """Look a kind up, importing its module on first use; unknown names raise with close matches."""
    canon = canonical_kind(kind)
    if canon is None:
        hint = did_you_mean(kind, all_kind_names())
        raise UnknownLayerError(f"unknown layer kind '{kind}'" + (f"; {hint}" if hint else ""))
    if canon not in _REGISTRY:
        _load(canon)
    return _REGISTRY[canon]


def layer_kinds() -> dict[str, type[Layer]]:
    """All registered kinds (canonical names), in the order of their sources, whatever order they were
    imported or made in: by family in ``index.FAMILIES``'s order, by module in the family's ``MODULES``
    order, then in definition order within a module (``ON_DEMAND``'s order for the kinds it makes).
    Kinds registered from outside ``netspec.layers`` (a user's ``register_layer``) come last, in
    registration order."""
    load_all()
    by_module: dict[str, list[str]] = {}
    for kind, cls in _REGISTRY.items():
        by_module.setdefault(cls.__module__, []).append(kind)
    ordered: list[str] = []
    for name in _kind_modules():
        on_demand = list(getattr(sys.modules[name], "ON_DEMAND", ()))
        ordered += [k for k in by_module.get(name, []) if k not in on_demand] + on_demand
    listed = set(ordered)
    ordered += [k for k in _REGISTRY if k not in listed]
    return {k: _REGISTRY[k] for k in ordered}


def aliases_of(kind: str) -> list[str]:
    """The other names a registered kind answers to (``conv2d`` -> ``["conv"]``)."""
    known = [name for name, (canon, _) in index.KINDS.items() if canon == kind and name != kind]
    return known + [a for a, canon in _ALIASES.items() if canon == kind and a not in known]


def registered_aliases(kind: str) -> list[str]:
    """Aliases of a kind as its class registered them (what ``index.py`` is generated from)."""
    return [a for a, canon in _ALIASES.items() if canon == kind]


def all_kind_names() -> list[str]:
    """Every kind name and alias, registered or in the index."""
    return list(dict.fromkeys([*index.KINDS, *_REGISTRY, *_ALIASES]))


def render_index() -> str:
    """The text of ``index.py``, from the kind modules themselves (``layer_kinds``' order)."""
    rows = []
    for kind, cls in layer_kinds().items():
        module = cls.__module__.removeprefix("netspec.layers.")
        for name in (kind, *registered_aliases(kind)):
            rows.append(f"    {name!r}: ({kind!r}, {module!r}),")
    with open(index.__file__, encoding="utf-8") as f:
        text = f.read()
    start = text.index("KINDS: dict")
    return text[:start] + "KINDS: dict[str, tuple[str, str]] = {\n" + "\n".join(rows) + "\n}\n"


def write_index() -> None:
    """Regenerate ``index.py`` after adding a kind or an alias (a test fails until you do)."""
    text = render_index()
    with open(index.__file__, "w", encoding="utf-8") as f:
        f.write(text)


@functools.cache
def field_names(cls: type[BaseModel]) -> tuple[str, ...]:
    """Names a user may write for a model's fields (aliases where set). Kept per class: the expander
    asks for every item."""
    return tuple(f.alias or n for n, f in cls.model_fields.items())
