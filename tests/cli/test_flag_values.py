"""Review of 2026-11-30 (new user, second pass): a number refused by a range check is quoted as it was
typed, on every numeric flag (floats and whole numbers) and in ``--set``; nan and the infinities get one
reason ("must be a finite number") however they are given; a number that underflows to 0 says so."""

from __future__ import annotations

import re

import pytest
from train_support import MLP3

from netspec.cli.main import main

# each flag's range is the TrainConfig field's (netspec/spec/train.py): lr > 0, val_split < 1, clip.norm > 0,
# momentum < 1, epochs/batch_size/subset/threads/patience ≥ 1, seed/workers ≥ 0


@pytest.fixture()
def spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlp.yaml").write_text(MLP3, encoding="utf-8")
    return "mlp.yaml"


def _refused(capsys, *args) -> str:
    """Run the command; it must be refused as a usage error (exit 2, argparse's or netspec's)."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's refusal of a flag's type
        rc = exc.code
    assert rc == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("flags, typed, parsed", [
    (["--lr", "-1"], "-1", "-1.0"),  # float('-1') is -1.0: the float, not the text
    (["--lr", "-1e0"], "-1e0", "-1.0"),
    (["--lr", "0.000"], "0.000", "0.0"),
    (["--val-split", "2.50"], "2.50", "2.5"),
    (["--momentum", "1E0"], "1E0", "1.0"),
    (["--clip-norm", "-0.0"], "-0.0", None),
    (["--warmup", "-5e-1"], "-5e-1", "-0.5"),
    (["--epochs", "+0"], "+0", None),  # int('+0') is 0
    (["--batch-size", "00"], "00", None),
    (["--subset", "-007"], "-007", "-7"),
    (["--threads", "0e0"], "0e0", None),  # a whole number written as a float, as --set and a spec may
    (["--patience", "-1_0"], "-1_0", "-10"),  # Python's int() reads 1_0 as 10
    (["--seed", "-1"], "-1", None),
    (["--workers", "-2"], "-2", None),
    (["--set", "optimizer.lr=-1e0"], "-1e0", "-1.0"),
    (["--set", "val_split=2.50"], "2.50", "2.5"),
    (["--set", "epochs=+0"], "+0", None),
])
def test_a_range_refusal_quotes_the_number_as_typed(spec, capsys, flags, typed, parsed):
    err = _refused(capsys, "build", spec, "--dry-run", *flags)
    assert re.findall(r", got (\S+)", err) == [typed], err
    assert "expected one argument" not in err  # -1e0, -5e-1: a value, not an unknown option


@pytest.mark.parametrize("flags", [["--lr", "1e-400"], ["--set", "optimizer.lr=1e-400"],
                                   ["--clip-norm", "1.0e-400"], ["--set", "clip.value=1e-400"]])
def test_an_underflowing_positive_number_is_refused_saying_it_underflows(spec, capsys, flags):
    # 1e-400 is below the smallest positive double (about 4.9e-324): float('1e-400') == 0.0
    assert float("1e-400") == 0.0
    err = _refused(capsys, "build", spec, "--dry-run", *flags)
    typed = flags[1].partition("=")[2] or flags[1]
    assert f"must be a number > 0, got {typed}" in err and "underflows to 0" in err, err
    assert "0.0" not in err.replace(typed, ""), err


@pytest.mark.parametrize("flags, typed", [
    (["--lr", "nan"], "nan"), (["--lr", "-inf"], "-inf"), (["--epochs", "inf"], "inf"),
    (["--batch-size", "nan"], "nan"),
    (["--set", "optimizer.lr=nan"], "nan"), (["--set", "optimizer.lr=.nan"], ".nan"),
    (["--set", "optimizer.lr=-Infinity"], "-Infinity"), (["--set", "optimizer.lr=1e999"], "1e999"),
    (["--set", "epochs=nan"], "nan"), (["--set", "optimizer.weight_decay=inf"], "inf"),  # ≥ 0 let inf through
    (["--set", "clip.norm=.inf"], ".inf"), (["--set", "task.noise=inf"], "inf"),
])
def test_nan_and_infinity_get_one_reason_however_given(spec, capsys, flags, typed):
    err = _refused(capsys, "build", spec, "--dry-run", *flags)
    assert f"must be a finite number, got {typed}" in err, err
    assert "must be a number," not in err and "> 0" not in err


@pytest.mark.parametrize("flags, says", [
    (["--epochs", "1.5"], "argument --epochs: must be a whole number, got 1.5"),
    (["--epochs", "ten"], "argument --epochs: must be a whole number, got 'ten'"),
    (["--set", "epochs=1.5"], "--set epochs: must be a whole number, got 1.5"),
    (["--seed", "9" * 31], "argument --seed: must be a whole number of at most 30 digits"),
])
def test_a_whole_number_flag_refuses_in_words(spec, capsys, flags, says):
    err = _refused(capsys, "build", spec, "--dry-run", *flags)
    assert says in err and "invalid int value" not in err, err


def test_a_whole_number_written_as_a_float_is_taken_as_set_takes_it():
    from netspec.cli.args import flag_whole
    from netspec.spec.train import apply_overrides

    flagged = apply_overrides(None, {"subset": flag_whole("1e2"), "epochs": flag_whole("2.0")})
    set_ = apply_overrides(None, None, ["data.subset=1e2", "epochs=2.0"])
    assert (flagged.data.subset, flagged.epochs) == (set_.data.subset, set_.epochs) == (100, 2)
    assert type(flagged.epochs) is int  # the plain number is validated, not the flag's text-keeping one


@pytest.mark.parametrize("args, says", [
    (["check", "{spec}", "--batch", "+0"], "--batch must be a whole number ≥ 1, got +0"),
    (["check", "{spec}", "--batch", "1.5"], "argument --batch: must be a whole number, got 1.5"),
    (["predict", "{spec}", "--checkpoint", "none.pt", "--first", "-0"], "--first must be a whole number ≥ 1, got -0"),
    # MAX_UNROLL (netspec.backends.graphviz.model) is 12
    (["draw", "{spec}", "--format", "dot", "--unroll", "+13"], "--unroll must be a whole number from 0 to 12, got +13"),
])
def test_other_commands_whole_number_flags_quote_the_text(spec, capsys, args, says):
    err = _refused(capsys, *(a.format(spec=spec) for a in args))
    assert says in err, err


def test_a_warning_names_a_flag_with_its_value_as_typed():
    from netspec.cli.args import flag_number
    from netspec.spec.recipe import flag_keys

    assert flag_keys({"momentum": flag_number("9e-1")}, None) == {"optimizer.momentum": "--momentum 9e-1"}
