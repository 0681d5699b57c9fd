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
