"""A range refused for an option that takes whole numbers says so ("a whole number from 1 to 1048576", "a whole
number ≥ 1"), never "a number ≥ 1"; an option that takes any number says "a number". Layer options, ``repeat:``,
the ``train:`` section and its ``--set``/flag overrides; YAML and DSL, through the CLI (``netspec check FILE``).

Which fields are whole numbers comes from their declared types (the JSON Schema's ``integer``), read here from
the models, never from netspec's messages."""

from __future__ import annotations

import re

import pytest

from netspec.cli.main import main
from netspec.layers import layer_class
from netspec.spec.train import OptimizerConfig, ScheduleConfig, TrainConfig, apply_overrides
from netspec.core.errors import UsageError


def check(tmp_path, capsys, text: str, suffix: str = ".yaml") -> str:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr()
    return out.out + out.err


def schema_type(model, key: str) -> str:
    node = model.model_json_schema(by_alias=True)["properties"][key]
    return next(n["type"] for n in [node, *node.get("anyOf", [])] if n.get("type") in ("integer", "number"))


YAML = """netspec: 1
input: [3, 16, 16]
layers:
  - conv2d: {filters: 0, kernel: 3}
  - dropout: {rate: 2}
  - flatten
  - dense: {units: -3}
  - dense: 10
    repeat: -1
train:
  task: classification
  data: digits
  epochs: 0
  optimizer: {name: adam, lr: 0}
  schedule: {name: step, step_size: 0}
"""

# (the path a message names, the model and field declaring its type)
CASES = [
    ("layers[0].filters", lambda: (layer_class("conv2d"), "filters")),
    ("layers[1].rate", lambda: (layer_class("dropout"), "rate")),
    ("layers[3].units", lambda: (layer_class("dense"), "units")),
    ("train.epochs", lambda: (TrainConfig, "epochs")),
    ("train.optimizer.lr", lambda: (OptimizerConfig, "lr")),
    ("train.schedule.step_size", lambda: (ScheduleConfig, "step_size")),
]


@pytest.mark.parametrize("path,field", CASES, ids=[c[0] for c in CASES])
def test_a_range_says_whole_number_for_whole_fields(tmp_path, capsys, path, field):
    out = check(tmp_path, capsys, YAML)
    (message,) = re.findall(rf"spec\.yaml:\d+:\d+: {re.escape(path)}: (.*)", out)
    whole = schema_type(*field()) == "integer"
    if whole:
        assert re.match(r"expected a whole number (from \d+ to \d+|≥ \d+)", message), message
    else:
        assert re.match(r"expected a number [≥>]", message), message


def test_repeat_says_whole_number(tmp_path, capsys):
    out = check(tmp_path, capsys, YAML)
    line = next(n for n, ln in enumerate(YAML.splitlines(), 1) if "repeat: -1" in ln)
    assert re.search(rf"spec\.yaml:{line}:\d+: layers\[\d\]\.repeat: repeat must be a whole number from 0 to", out), out


def test_dsl_ranges_say_whole_number(tmp_path, capsys):
    text = "netspec w\ninput [3, 16, 16]\nconv 0 3x3\nflatten\ndense -3\n\ntrain task=classification data=digits epochs=0\n"
    out = check(tmp_path, capsys, text, ".ns")
    for path in ("layers[0].filters", "layers[2].units", "train.epochs"):
        (message,) = re.findall(rf"spec\.ns:\d+:\d+: {re.escape(path)}: (.*)", out)
        assert message.startswith("expected a whole number "), message
    assert "a number ≥" not in out


@pytest.mark.parametrize("sets,says", [
    (["epochs=0"], "--set epochs: must be a whole number ≥ 1, got 0"),  # TrainConfig.epochs: int, ge=1
    (["schedule.step_size=0"], "--set schedule.step_size: must be a whole number ≥ 1, got 0"),  # int, ge=1
    (["optimizer.lr=0"], "--set optimizer.lr: must be a number > 0, got 0"),  # float, gt=0
])
def test_overrides_say_whole_number_for_whole_fields(sets, says):
    with pytest.raises(UsageError) as info:
        apply_overrides({"task": "classification", "data": "digits"}, None, sets)
    assert says in str(info.value)
