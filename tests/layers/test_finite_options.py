"""Every number option of every kind refuses nan and the infinities, and says so (not a range)."""

import math
import typing

import pytest

from netspec.api import check
from netspec.core.errors import NetspecError
from netspec.layers import layer_kinds


def _float_options() -> list[tuple[str, str]]:
    """(kind, option) for every option whose type takes a float."""

    def takes_float(a: object) -> bool:
        return a is float or any(takes_float(x) for x in typing.get_args(a))

    out = []
    for kind, cls in layer_kinds().items():
        for name, info in cls.model_fields.items():
            if name != "init" and takes_float(info.annotation):
                out.append((kind, info.alias or name))
    return out


OPTIONS = _float_options()


def test_the_table_is_not_empty() -> None:
    assert ("dropout", "rate") in OPTIONS and ("layer_scale", "value") in OPTIONS


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize(("kind", "option"), OPTIONS)
def test_not_finite_is_refused_as_such(kind: str, option: str, value: str) -> None:
    text = f"name: t\nnetworks:\n  main:\n    input: [4, 8]\n    layers:\n      - {kind}: {{{option}: {value}}}\n"
    with pytest.raises(NetspecError) as err:
        check(text)
    problems = [p for p in err.value.problems if p.path.endswith(f".{option}")]
    assert problems, str(err.value)
    assert "finite" in problems[0].message, str(err.value)
