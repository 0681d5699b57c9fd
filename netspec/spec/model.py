"""The validated spec (pydantic v2): what every frontend's text becomes.

Structure of a spec (version 1), after :mod:`netspec.spec.expand` has put it into canonical form::

    Spec(netspec=1, name, description, networks={name: Network}, train)
    Network(inputs={name: InputSpec}, outputs=[node names], layers=[Layer...], expect=Expect)
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from netspec.core.errors import Location
from netspec.core.fmt import bounds_text, show
from netspec.core.names import reserved_name
from netspec.core.sizes import evaluate, symbols
from netspec.core.source import key_locations
from netspec.layers.base import Children, scalar_value

MAX_DIM = 1 << 24
NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

DimSpec = Union[int, str]


class Strict(BaseModel):
    # Built on first use: validating a Spec builds the models it nests in one pass.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _typed(cls, v: Any, info: Any) -> Any:
        """Numbers are typed, as the JSON Schema says: ``expect: {params: true}`` is refused, not read as 1."""
        return scalar_value(cls.model_fields[info.field_name].annotation, v)


class InputSpec(Strict):
    """One network input: per-sample shape (batch implicit) and dtype; or another network's output."""

    shape: list[DimSpec] | None = Field(default=None, max_length=8,
                                        description="per-sample shape, channels first; names are symbolic dims")
    dtype: Literal["float", "long"] = "float"
    from_: str | None = Field(default=None, alias="from", description="another network's output: 'net' or 'net.output'")

    @field_validator("shape", mode="before")  # before pydantic's lax int, which would read `true` as a size of 1
    @classmethod
    def _dims(cls, v: Any) -> Any:
        """Every bad size is reported, each at its own element (``shape[1]``), not the first at the list."""
        bad = []
        for i, d in enumerate(v if isinstance(v, (list, tuple)) else []):
            if isinstance(d, float) and d.is_integer() and not isinstance(d, bool):
                d = int(d)
            if isinstance(d, str):
                message = "" if d.isidentifier() else f"a symbolic size must be a name such as 'T', got {show(d)}"
            elif isinstance(d, int) and not isinstance(d, bool) and not 1 <= d <= MAX_DIM:
                message = f"a size must be a whole number {bounds_text(1, MAX_DIM)}, got {show(d)}"
            elif isinstance(d, bool) or not isinstance(d, int):
                message = (f"a size must be a whole number {bounds_text(1, MAX_DIM)} or a name such as 'T', "
                           f"got {show(d)}")
            else:
                message = ""
            if message:
                bad.append(InitErrorDetails(type=PydanticCustomError("value_error", "{message}", {"message": message}),
                                            loc=(i,), input=d))
        if bad:
            raise ValidationError.from_exception_data("Input", bad)
        return v

    @field_validator("from_")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        """Sizes written without their brackets (``input: 1, 28, 28``) are no network's name: said as sizes."""
        listed = re.fullmatch(r"\s*[(\[]?\s*\w+(\s*[,\s]\s*\w+)+\s*,?\s*[)\]]?\s*", v or "")
        if v is not None and (listed and any(c.isdigit() for c in v) or re.fullmatch(r"\s*\d+([x×]\d+)+\s*", v)):
            sizes = [p for p in re.split(r"[\s,x×()\[\]]+" if not listed else r"[\s,()\[\]]+", v) if p]
            shape = f"[{', '.join(sizes)}]"
            raise PydanticCustomError("value_error", "expected a list such as {shape} (the input's shape), got {got}", {
                "shape": shape, "got": show(v),
                "hint": f"write the sizes in brackets, {shape}; a string names another network's output "
                        "('net' or 'net.output')"})
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "InputSpec":
        if (self.shape is None) == (self.from_ is None):
            raise ValueError("give an input either a 'shape' or 'from: <network>'")
        return self


Shape = list[DimSpec]


class Expect(Strict):
    """Numbers the spec pins; ``netspec check`` fails when one does not hold."""

    params: int | None = Field(default=None, ge=0, description="total parameters")
    trainable: int | None = Field(default=None, ge=0)
    non_trainable: int | None = Field(default=None, ge=0)
    macs: Union[float, str, None] = Field(
        default=None, description="total multiply-adds per sample; with symbolic sizes an expression such as "
                                  "'6144*T + 32' (+ - * / // floor ceil min max)")
    macs_tolerance: float = Field(default=0.0, ge=0, le=1, description="relative tolerance on macs")
    output_shape: Shape | None = Field(default=None, description="shape of the (first) output")
    outputs: dict[str, Shape] | None = None
    shapes: dict[str, Shape] | None = Field(default=None, description="output shape per layer name")
    layer_params: dict[str, int] | None = Field(default=None, description="parameters per layer name")

    _where: dict[tuple[str, ...], Location] = PrivateAttr(default_factory=dict)

    @field_validator("macs")
    @classmethod
    def _macs(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, str):
            try:
                return float(v)  # a number written as text ("4.09e9" is a string to YAML 1.1)
            except ValueError:
                pass
            if not _size_expression(v):
                raise ValueError(f"macs must be a number or a size expression such as '6144*T + 32', got {show(v)}")
        elif v is not None and not 0 <= v < float("inf"):  # .nan and .inf too: no count of MACs
            raise ValueError(f"macs must be a finite number ≥ 0, got {show(v)}")
        return v

    @field_validator("output_shape")
    @classmethod
    def _shape(cls, v: Shape | None) -> Shape | None:
        return _check_shape(v)

    @field_validator("outputs", "shapes")
    @classmethod
    def _shapes(cls, v: dict[str, Shape] | None) -> dict[str, Shape] | None:
        for shape in (v or {}).values():
            _check_shape(shape)
        return v

    @model_validator(mode="wrap")
    @classmethod
    def _remember_source(cls, data: Any, handler: Any) -> "Expect":
        expect = handler(data)
        expect._where = dict(key_locations(data))
        return expect

    def where(self, *key: str) -> Location | None:
        """Where a pinned number was written (``where("shapes", "conv1")``: the value, not its key, since a failed
        pin is about the value); the block itself otherwise."""
        for n in range(len(key), -1, -1):
            if key[:n] in self._where:
                return self._where[key[:n]].of_value() if n == len(key) else self._where[key[:n]]
        return None


MAX_EXPR_DEPTH = 64  # operators inside operators; the size functions recurse, and a report runs them deeper


def _size_expression(text: str) -> bool:
    """Whether ``text`` is a size expression (``T``, ``floor((T - 5)/2) + 1``): a whole number for some
    values of its symbols, nested at most MAX_EXPR_DEPTH deep."""
    try:
        tree = ast.parse(text.replace("−", "-").replace("·", "*"), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    stack = [(tree.body, 1)]
    while stack:  # no recursion: the depth is what is being checked
        node, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    names = symbols(text)
    for value in (7, 8, 9, 10, 12, 16, 32):
        try:
            evaluate(text, {name: value for name in names})
            return True
        except (ValueError, ArithmeticError, TypeError, KeyError, RecursionError, MemoryError):
            continue
    return False


def _check_shape(shape: Shape | None) -> Shape | None:
    for d in shape or []:
        if isinstance(d, str) and not _size_expression(d):
            raise ValueError(f"'{d[:40]}' is not a size (a number, or an expression such as 'T' or "
                             "'floor(T/2) + 1')")
    return shape


class LazyTrainConfig:
    """The type of ``train:``: :class:`netspec.spec.train.TrainConfig` or None, the model imported by the first
    spec that has the section, so that ``check`` of a spec without one never builds the recipe's classes.

    pydantic validates through :meth:`validate` (the model's errors keep their locations under ``train``)
    and takes the JSON Schema from the model (filed under ``$defs`` as ``TrainConfig``, as a plain
    annotation would be); :meth:`lazy_model` is also what :func:`netspec.spec.problems.model_at` follows
    for the key suggestions of a typo in ``train:``.
    """

    @staticmethod
    def lazy_model() -> type[BaseModel]:
        from netspec.spec.train import TrainConfig

        return TrainConfig

    @classmethod
    def validate(cls, value: Any) -> Any:
        return None if value is None else cls.lazy_model().model_validate(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(cls.validate)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        # through a nullable schema, pydantic's generator files the model under $defs and refers to it
        return handler(core_schema.nullable_schema(cls.lazy_model().__pydantic_core_schema__))


if TYPE_CHECKING:  # pragma: no cover
    from netspec.spec.train import TrainConfig

    TrainSection = Union[TrainConfig, None]
else:
    TrainSection = LazyTrainConfig


class Network(Strict):
    """One network: inputs, a list of layers (a chain unless ``from:`` says otherwise), outputs."""

    description: str | None = None
    inputs: dict[str, InputSpec] = Field(min_length=1, max_length=64)
    outputs: list[str] | None = Field(default=None, description="output node names; default: the last layer")
    layers: Children = Field(min_length=1, max_length=100_000)
    expect: Expect | None = None

    _where: dict[tuple[Any, ...], Location] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_source(cls, data: Any, handler: Any) -> "Network":
        net = handler(data)  # its layers are validated already: the walk stops at them
        net._where = dict(key_locations(data))
        return net

    def where(self, *key: Any) -> Location | None:
        """Where a key of the network was written (``where("outputs", 1)``, ``where("inputs", "z")``);
        the nearest enclosing place that has a location otherwise."""
        for n in range(len(key), -1, -1):
            if key[:n] in self._where:
                return self._where[key[:n]]
        return None


class Spec(Strict):
    """A whole spec file: one or more networks, and optionally a training recipe."""

    netspec: Literal[1] = Field(default=1, description="spec language version")
    name: str = Field(pattern=NAME, max_length=64)
    description: str | None = None
    networks: dict[str, Network] = Field(min_length=1, max_length=64)
    train: TrainSection = Field(default=None, description="training recipe (see `netspec build`)")


    @field_validator("networks")
    @classmethod
    def _names(cls, v: dict[str, Network]) -> dict[str, Network]:
        import re

        for name in v:
            if not re.match(NAME, name):
                raise _name_error(name, f"network name '{name}' must be an identifier")
            why = reserved_name(name, "network") if len(v) > 1 else None  # several: submodules of one module
            if why:
                raise _name_error(name, why)
        return v


def _name_error(name: str, message: str) -> ValidationError:
    """An error about a key of a mapping (a network's name): pydantic's ``[key]`` step after the key puts it at
    the name, not at the network it names."""
    return ValidationError.from_exception_data("Spec", [InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=(name, "[key]"), input=name)])
