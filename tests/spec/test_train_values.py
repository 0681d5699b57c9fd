"""Review of 2026-11-30 (new user, second pass): a training value means the same wherever it is written.
nan and the infinities get the one reason "finite" in a spec, in ``--set`` and in a flag, on every number
field of ``train:``; ``data: imgs`` in a spec is the folder ``imgs`` beside the spec, as ``--data imgs`` is
the folder ``./imgs``; an unknown word is refused with the names and a hint that paths are taken."""

from __future__ import annotations

import types
import typing

import pytest
from pydantic import BaseModel

import netspec
from netspec.core.errors import NetspecError, UsageError
from netspec.spec.train import TrainConfig, apply_overrides

HEAD = "input: [4]\nlayers: [dense: 3]\n"


def _number_fields(model: type[BaseModel] = TrainConfig, prefix: str = "") -> list[str]:
    """Every dotted train: key whose type is (or may be) an int or a float, read from the pydantic model."""
    out = []
    for name, field in model.model_fields.items():
        union = typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
        leaves = typing.get_args(field.annotation) if union else (field.annotation,)  # lists and mappings: below
        sub = next((a for a in leaves if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if sub is not None:
            out += _number_fields(sub, f"{prefix}{name}.")
        elif any(a in (int, float) for a in leaves):
            out.append(prefix + name)
    return out


NUMBER_FIELDS = _number_fields()
TAKES_NAMES = {"data.target"}  # int | str: a csv column by index or by name (DataConfig.target)


def test_the_number_fields_are_found():
    # a few written by hand, so that the walk above cannot come back empty
    assert {"epochs", "optimizer.lr", "optimizer.weight_decay", "clip.norm", "task.noise",
            "schedule.warmup_epochs", "data.subset"} <= set(NUMBER_FIELDS)


def _spec_problem(text: str):
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    (p,) = info.value.problems
    return p


def _nested(key: str, value: str) -> str:
    *parents, leaf = key.split(".")
    inner = f"{leaf}: {value}"
    for part in reversed(parents):
        inner = f"{part}: {{{inner}}}"
    return f"train: {{{inner}}}\n"


@pytest.mark.parametrize("key", NUMBER_FIELDS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_non_finite_number_in_a_spec_is_refused_as_not_finite(key, value):
    p = _spec_problem(HEAD + _nested(key, value))
    assert p.message == f"expected a finite number; got {value}", (key, p.message)
    assert p.path == f"train.{key}"


@pytest.mark.parametrize("key", NUMBER_FIELDS)
@pytest.mark.parametrize("value", ["nan", "-inf", ".inf", "1e999"])
def test_a_non_finite_number_in_set_is_refused_as_not_finite(key, value):
    if value.isalpha() or value.startswith("-") and value[1:].isalpha():
        if key in TAKES_NAMES:  # a word is a name there, in a spec as in --set (the last test)
            return
    with pytest.raises(UsageError) as info:
        apply_overrides(None, None, [f"{key}={value}"])
    assert f"--set {key}: must be a finite number, got {value}" in str(info.value)


@pytest.mark.parametrize("text, says", [
    ("optimizer: {betas: [.nan, 0.9]}", "item 1 is .nan, not a finite number"),
    ("optimizer: {group_lr: {dense: .inf}}", "the learning rate of 'dense' must be a finite number, got .inf"),
    ("schedule: {name: multistep, milestones: [3, .inf]}", "item 2 is .inf, not a finite number"),
])
def test_a_non_finite_number_in_a_list_or_mapping_says_finite(text, says):
    assert says in _spec_problem(HEAD + f"train: {{{text}}}\n").message


def test_a_word_nan_in_a_spec_is_refused_as_not_finite():
    # YAML reads `nan` as a string; Python's float() as NaN: either way it is not a finite number
    p = _spec_problem(HEAD + "train: {optimizer: {lr: nan}}\n")
    assert p.message == "expected a finite number; got 'nan'"


# --- data: a path wherever it is written --------------------------------------------------------------
def _image_folder(root):
    folder = root / "imgs"
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
    return folder


def test_data_naming_a_folder_beside_the_spec_is_that_folder(tmp_path, monkeypatch):
    _image_folder(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "train: {data: imgs}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative to the spec's folder, not to the working directory
    data = netspec.analyze(str(spec)).train.data
    assert (data.name, data.path) == ("folder", "imgs")


def test_data_naming_a_folder_is_read_as_the_data_flag_reads_it(tmp_path, monkeypatch):
    from netspec.cli.train import data_flag

    _image_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    by_flag = apply_overrides(None, {"data": data_flag("imgs")}).data
    by_set = apply_overrides(None, None, ["data=imgs"]).data
    by_spec = netspec.analyze(HEAD + "train: {data: imgs}\n").train.data  # text: the working directory
    assert (by_flag.name, by_set.name, by_spec.name) == ("folder",) * 3
    assert by_flag.path.endswith("imgs") and by_set.path == by_spec.path == "imgs"


def test_a_data_set_name_wins_over_a_folder_of_that_name_in_a_spec_too(tmp_path, monkeypatch):
    (tmp_path / "digits" / "a").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "train: {data: digits}\n", encoding="utf-8")
    data = netspec.analyze(str(spec)).train.data
    assert (data.name, data.path) == ("digits", None)


def test_an_unknown_data_word_names_the_data_sets_and_says_paths_are_taken(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(HEAD + "train: {data: imgs}\n", encoding="utf-8")  # no imgs beside it
    p = _spec_problem(str(spec))
    assert p.message.startswith("unknown value 'imgs': neither a data set (digits, mnist,") and \
        "nor an existing file or folder" in p.message
    assert "give a path" in p.hint and "relative to the spec's folder" in p.hint
    assert (p.location.line, p.location.column) == (3, len("train: {data: ") + 1)
    with pytest.raises(UsageError) as info:
        apply_overrides(None, None, ["data=digts"])
    assert "--set data: unknown value 'digts'" in str(info.value) and "did you mean 'digits'?" in str(info.value)


def test_a_field_that_takes_names_takes_the_word_nan_alike_everywhere():
    # data.target: a csv column, by index or by name; a column may be called 'nan'
    assert netspec.analyze(HEAD + "train: {data: {name: csv, path: t.csv, target: nan}}\n").train.data.target == "nan"
    assert apply_overrides(None, None, ["data.target=nan"]).data.target == "nan"


def test_the_data_suffixes_are_the_file_types_the_trainer_reads():
    from netspec.spec.train import DATA_SUFFIXES
    from netspec.train.data import DATA_FILE_TYPES

    assert set(DATA_SUFFIXES) == set(DATA_FILE_TYPES)
