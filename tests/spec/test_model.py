"""The validated spec model: the ``train:`` section, whose model is imported only when a spec has one."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

import netspec
from netspec.spec import model
from netspec.spec.model import Spec
from netspec.spec.train import TrainConfig

BASE = "name: t\ninput: [4]\nlayers:\n  - dense: 2\n"


class EagerSpec(Spec):
    """The spec model as it was with the recipe's model imported up front: the reference for the schema."""

    train: Optional[TrainConfig] = Field(default=None, description="training recipe (see `netspec build`)")


def test_train_is_validated_by_its_model():
    spec = netspec.load(BASE + "train: {epochs: 3, optimizer: adam}\n")
    assert isinstance(spec.train, TrainConfig)
    assert spec.train.epochs == 3 and spec.train.optimizer.name == "adam"
    assert netspec.load(BASE).train is None
    assert spec.model_dump()["train"] == spec.train.model_dump()


def test_the_json_schema_is_the_eager_one(monkeypatch):
    """pydantic's own schema for a plain `TrainConfig | None` field is what the lazy field gives, $defs
    included; pydantic titles a field of a custom type ("Train"), which the eager model's $ref omits.
    The schema users get (`netspec schema`) is the same with either model."""
    lazy, eager = Spec.model_json_schema(by_alias=True), EagerSpec.model_json_schema(by_alias=True)
    assert {k: v for k, v in lazy["properties"]["train"].items() if k != "title"} == eager["properties"]["train"]
    assert lazy["properties"]["train"]["anyOf"][0] == {"$ref": "#/$defs/TrainConfig"}
    assert lazy["$defs"] == eager["$defs"]
    users = netspec.schema()
    monkeypatch.setattr(model, "Spec", EagerSpec)
    assert netspec.schema() == users


def test_typos_in_train_get_suggestions():
    try:
        netspec.load(BASE + "train:\n  epocs: 3\n  optimizer: {name: adam, lrr: 0.1}\n", fmt="yaml")
    except netspec.SpecValidationError as err:
        text = str(err)
    else:
        raise AssertionError("typos in train: must be refused")
    assert "train.epocs" in text and "did you mean 'epochs'" in text
    assert "train.optimizer.lrr" in text and "did you mean 'lr'" in text
