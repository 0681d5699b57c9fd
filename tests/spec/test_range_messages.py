"""Ranges and choices are written one way (core.fmt.bounds_text: `from 0 to 1000`, `≥ 1`, `> 0`), and a
pattern of choices in words, never as a regular expression."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, UsageError
from netspec.spec.train import apply_overrides


def _problems(text: str):
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    return info.value.problems


def test_the_device_choices_in_words():
    text = "input: [64]\nlayers: [dense: 10]\ntrain: {device: tpu}\n"
    (p,) = _problems(text)
    assert p.message == "expected auto, cpu, cuda, cuda:N or mps; got 'tpu'"
    assert (p.location.line, p.location.column) == (3, text.splitlines()[2].index("tpu") + 1)


def test_repeat_range():
    (p,) = _problems("input: [4]\nlayers:\n  - {dense: 4, repeat: 5000}\n")
    assert p.message == "repeat must be a whole number from 0 to 1000, got 5000"


@pytest.mark.parametrize("sets, says", [
    (["data.subset=-1"], "--set data.subset: must be a whole number ≥ 1, got -1"),  # subset: int, ge=1
    (["epochs=0"], "--set epochs: must be a whole number ≥ 1, got 0"),  # epochs: int, ge=1
    (["workers=-1"], "--set workers: must be a whole number ≥ 0, got -1"),  # workers: int, ge=0
    (["optimizer.lr=0"], "--set optimizer.lr: must be a number > 0, got 0"),  # lr: gt=0
])
def test_a_set_value_out_of_range(sets, says):
    with pytest.raises(UsageError) as info:
        apply_overrides(None, None, sets)
    assert says in str(info.value)
