"""Weight initialisation schemes: the one table the schema and the torch backend read."""

import math
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping, NamedTuple, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapSerializer,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from netspec.core.errors import did_you_mean
from netspec.core.fmt import number_text, show

_NONE: Mapping = MappingProxyType({})  # the shared empty default of a read-only table's mappings


class InitScheme(NamedTuple):
    """One scheme: the ``torch.nn.init`` function and which :class:`InitSpec` fields it takes.

    Attributes:
        torch_fn: name in ``torch.nn.init`` (None: keep torch's default initialisation).
        args: InitSpec field -> the function's keyword.
        kwargs: fixed keywords (He schemes are for ReLU).
        fan_based: needs a fan-in/fan-out, so applies to weights only; a vector (a bias) starts at zero.
    """

    torch_fn: str | None
    args: Mapping[str, str] = _NONE
    kwargs: Mapping[str, str] = _NONE
    fan_based: bool = False


_XU = InitScheme("xavier_uniform_", {"gain": "gain"}, fan_based=True)
_XN = InitScheme("xavier_normal_", {"gain": "gain"}, fan_based=True)
_KU = InitScheme("kaiming_uniform_", kwargs={"nonlinearity": "relu"}, fan_based=True)
_KN = InitScheme("kaiming_normal_", kwargs={"nonlinearity": "relu"}, fan_based=True)
INIT_SCHEMES: dict[str, InitScheme] = {
    "xavier_uniform": _XU, "xavier_normal": _XN, "glorot_uniform": _XU, "glorot_normal": _XN,
    "kaiming_uniform": _KU, "kaiming_normal": _KN, "he_uniform": _KU, "he_normal": _KN,
    "normal": InitScheme("normal_", {"mean": "mean", "std": "std"}),
    "uniform": InitScheme("uniform_", {"a": "a", "b": "b"}),
    "zeros": InitScheme("zeros_"),
    "ones": InitScheme("ones_"),
    "orthogonal": InitScheme("orthogonal_", {"gain": "gain"}, fan_based=True),
    "constant": InitScheme("constant_", {"value": "val"}),
    "default": InitScheme(None),
}
SchemeName = Literal[tuple(INIT_SCHEMES)]  # type: ignore[valid-type]


# The largest float32 (parameters are float32): a value beyond it does not fit the tensor torch fills
# (``constant_`` refuses 1e39; ``uniform_`` refuses a range wider than it; ``.inf`` trains to nan).
FLOAT32_MAX = 3.4028234663852886e38


def _finite(v: float) -> float:
    """A value a float32 parameter can hold: not nan, not ±inf, not beyond float32's range."""
    if math.isnan(v) or abs(v) > FLOAT32_MAX:
        raise PydanticCustomError(
            "value_error", "expected a finite number (at most 3.4e38 in size, a float32); got {got}",
            {"got": number_text(v),
             "hint": "an init value fills a float32 parameter: write a finite number"})
    return v


# A number, typed as the JSON Schema says (true and "0.02" are refused; an int is a number), finite;
# strict here rather than base.Float, which this module cannot import (base imports it).
Number = Annotated[float, Strict(), AfterValidator(_finite)]


def _finite_leaves(v: list) -> list:
    """A nested list of values (``init: {weight: [[1, 0], [0, 1]]}``): its leaves finite numbers. A wrong
    leaf is reported at itself (its indices in the error's place), the first in reading order."""
    stack: list[tuple[tuple[int, ...], Any]] = [((), v)]
    while stack:
        at, item = stack.pop()
        if isinstance(item, list):
            stack.extend(((*at, i), x) for i, x in reversed(list(enumerate(item))))
            continue
        try:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise PydanticCustomError("value_error", "expected numbers (a nested list of them) in an init "
                                          "value; got {got}", {"got": show(item)})
            _finite(float(item))
        except PydanticCustomError as err:
            raise ValidationError.from_exception_data("Values", [InitErrorDetails(type=err, loc=at, input=item)])
    return v


Values = Annotated[list, AfterValidator(_finite_leaves)]


class InitSpec(BaseModel):
    """A named scheme with arguments: ``{scheme: normal, std: 0.02}``. Each scheme takes only its own
    options (``INIT_SCHEMES[scheme].args``), with the values ``torch.nn.init`` accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: SchemeName  # type: ignore[valid-type]
    mean: Number = 0.0
    std: Number = 1.0
    a: Number = 0.0
    b: Number = 1.0
    gain: Number = 1.0
    value: Number = 0.0

    @model_validator(mode="before")
    @classmethod
    def _options_of_the_scheme(cls, data: Any) -> Any:
        """The scheme named first, then only the options it takes (``{scheme: normal, gain: 2}`` would
        silently keep std 1)."""
        if not isinstance(data, dict):
            return data
        if "scheme" not in data:
            written = [str(k) for k in data]
            takers = [name for name, entry in INIT_SCHEMES.items() if written and set(written) <= set(entry.args)]
            hint = f"add the key 'scheme' naming one: {', '.join(takers or INIT_SCHEMES)}"
            named = [k for k in written if k in INIT_SCHEMES]  # `{normal: {std: 0.02}}`: the scheme as a key
            if len(written) == 1 and named:
                options = data[named[0]] if isinstance(data[named[0]], dict) else {}
                hint = f"name it with the key 'scheme': {{scheme: {named[0]}" + "".join(  # a mapping: each format's
                    f", {key}: {show(value)}" for key, value in options.items() if isinstance(key, str)) + "}"
            elif takers:
                hint += f" ({'the one that takes' if len(takers) == 1 else 'those that take'} {', '.join(written)})"
            what = (f"'{named[0]}' is written as a key" if len(written) == 1 and named else
                    f"init options ({', '.join(written)}) need the scheme they are for" if written else
                    "an empty init mapping names no scheme")
            raise PydanticCustomError(  # the hint in words, not YAML's or the DSL's syntax
                "value_error", "scheme is missing: {what}", {"what": what, "hint": hint})
        scheme = data["scheme"]
        if not isinstance(scheme, str) or scheme not in INIT_SCHEMES:
            return data  # the scheme's own error (a did-you-mean among the names)
        takes = list(INIT_SCHEMES[scheme].args)
        for key in data:
            if key != "scheme" and key not in takes:
                others = [name for name, entry in INIT_SCHEMES.items() if key in entry.args]
                hint = did_you_mean(str(key), takes) or (
                    f"'{key}' is an option of {', '.join(others)}" if others else
                    f"no scheme takes '{key}'; a scheme for one parameter is written under the parameter's name: "
                    f"init: {{{key}: {{scheme: {scheme}}}}}")
                raise PydanticCustomError(  # "key": where problems.py puts it (at the key written)
                    "value_error", "unknown option '{key}' for init scheme {scheme} ({takes})",
                    {"key": str(key), "scheme": scheme,
                     "takes": f"it takes: {', '.join(takes)}" if takes else "it takes no options", "hint": hint})
        return data

    @field_validator("std")
    @classmethod
    def _std_not_negative(cls, v: float) -> float:
        if v < 0:  # torch.nn.init.normal_: "normal expects std >= 0.0"
            raise ValueError(f"std must be ≥ 0 (a standard deviation); got {v:g}")
        return v

    @field_validator("gain")
    @classmethod
    def _gain_positive(cls, v: float) -> float:
        if v <= 0:  # xavier_*: a negative gain is a negative std or bound, which torch refuses; 0: all zeros
            hint = "for all zeros write 'zeros'" if v == 0 else "the gain scales a std or a bound: write it positive"
            raise PydanticCustomError("value_error", "gain must be > 0 (it scales the scheme's std or bound); got {g}",
                                      {"g": f"{v:g}", "hint": hint})
        return v

    @model_validator(mode="after")
    def _range(self) -> "InitSpec":
        if self.scheme == "uniform":  # torch.nn.init.uniform_: from ≤ to, and to - from within a float
            if self.a > self.b:
                raise ValueError(f"a must be ≤ b (uniform draws from [a, b)); got a = {self.a:g}, b = {self.b:g}")
            if self.b - self.a > FLOAT32_MAX:
                raise ValueError(f"a and b are {self.b - self.a:g} apart, more than a float32 holds (3.4e38)")
        return self


InitValue = Union[SchemeName, Number, Values, InitSpec]  # type: ignore[valid-type]


def _one_scheme_for_all(v: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """``init: {scheme: normal, std: 0.02}`` on a layer: one scheme with arguments for all its parameters,
    as the bare name ``init: normal`` is; a mapping with the key 'scheme' is that scheme (checked as one),
    any other mapping names parameters."""
    if isinstance(v, InitSpec):
        return v
    if isinstance(v, dict) and "scheme" in v:
        return InitSpec.model_validate(v)
    return handler(v)


_WRITTEN_INIT = Union[SchemeName, InitSpec, dict[str, InitValue], None]  # type: ignore[valid-type]

# A layer's ``init:``: a scheme for every parameter (its name, or an :class:`InitSpec`), or
# ``{parameter: scheme | number | nested list}``. Read it through :func:`init_items`.
def _dump_scheme_for_all(v: Any, handler: SerializerFunctionWrapHandler) -> Any:
    """The one scheme for all parameters (an :class:`InitSpec`, which the validation union does not list, so
    that a wrong mapping is one problem, not one per branch) dumped as a mapping; anything else as its type."""
    return v.model_dump() if isinstance(v, InitSpec) else handler(v)


LayerInit = Annotated[Union[SchemeName, dict[str, InitValue], None],  # type: ignore[valid-type]
                      WrapValidator(_one_scheme_for_all, json_schema_input_type=_WRITTEN_INIT),
                      WrapSerializer(_dump_scheme_for_all)]


def init_items(init: Any, params: Any) -> list[tuple[str, Any]]:
    """The (parameter, value) pairs a layer's ``init:`` sets: a scheme (a name or an :class:`InitSpec`) for
    each of ``params`` (names), or the pairs of a ``{parameter: value}`` mapping; none for None."""
    if init is None:
        return []
    if isinstance(init, dict):
        return list(init.items())
    return [(p, init) for p in params]


def forms_hint(params: Any) -> str:
    """The two forms of a layer's ``init:``, for a mapping whose key names no parameter of the layer."""
    first = next(iter(params), None)
    one = f"init: {{{first}: kaiming_normal}} sets one parameter; " if first is not None else ""
    return one + "init: normal or init: {scheme: normal, std: 0.02} sets every parameter"
