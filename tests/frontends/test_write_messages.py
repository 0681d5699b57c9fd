"""What the writers cannot write is said with the value as a spec writes it, not as Python prints it."""

from __future__ import annotations

import pytest

from netspec.frontends.write.base import CannotWrite
from netspec.frontends.write.dsl import fmt_key, fmt_value
from netspec.frontends.write.yaml import key


@pytest.mark.parametrize("write, value, said", [
    (fmt_key, True, "got true"),  # the DSL's keys are text
    (fmt_value, float("inf"), "no literal for .inf"),
    (key, None, "the key null"),
])
def test_a_value_a_writer_refuses_is_shown_as_written(write, value, said):
    with pytest.raises(CannotWrite) as info:
        write(value)
    assert said in str(info.value) and "True" not in str(info.value) and "None" not in str(info.value)


def test_convert_of_a_spec_check_refuses_gives_checks_message():
    """`from: ["ch:0"]` is name:output form, but a chunk's outputs are out0, out1, out2 (its documented
    output names): convert says what check says, not that 'ch:0' is no node reference."""
    from netspec.api import check
    from netspec.convert import convert
    from netspec.core.errors import NetspecError

    text = ("input: [12, 5]\nlayers:\n  - chunk: {chunks: 3, axis: 0}\n    name: ch\n"
            "  - add: {from: [\"ch:0\", \"ch:2\"]}\n")
    with pytest.raises(NetspecError) as checked:
        check(text)
    with pytest.raises(NetspecError) as converted:
        convert(text, to="dsl")
    said = str(converted.value)
    assert "has no output '0'" in said and "out0, out1, out2" in said and "not a node reference" not in said
    assert [str(p) for p in converted.value.problems] == [str(p) for p in checked.value.problems]
    # the valid name:output form writes as it is
    good = text.replace("ch:0", "ch:out0").replace("ch:2", "ch:out2")
    assert "from ch:out0, ch:out2" in convert(good, to="dsl")
