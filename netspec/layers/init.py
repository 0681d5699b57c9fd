"""Weight initialisation schemes: the one table the schema and the torch backend read."""

from types import MappingProxyType
from typing import Annotated, Literal, Mapping, NamedTuple, Union

from pydantic import BaseModel, ConfigDict, Strict

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


# A number, typed as the JSON Schema says (true and "0.02" are refused; an int is a number); strict
# here rather than base.Float, which this module cannot import (base imports it).
Number = Annotated[float, Strict()]


class InitSpec(BaseModel):
    """A named scheme with arguments: ``{scheme: normal, std: 0.02}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: SchemeName  # type: ignore[valid-type]
    mean: Number = 0.0
    std: Number = 1.0
    a: Number = 0.0
    b: Number = 1.0
    gain: Number = 1.0
    value: Number = 0.0


InitValue = Union[SchemeName, Number, list, InitSpec]  # type: ignore[valid-type]
