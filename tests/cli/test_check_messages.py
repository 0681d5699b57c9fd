"""`check --json` on a spec that cannot be checked still prints one JSON object on stdout (the README's
contract: ok false, the stage, every problem with file, line, column, path, message, hint), exit code
unchanged; `--bind` says what is wrong with a size."""

from __future__ import annotations

import json

import pytest

from netspec.cli.main import main


@pytest.mark.parametrize("text,stage,line,column,path,message", [
    ("inptu: [3]\nlayers: [dense: 4]\n", "validation", 1, 1, "inptu", "unknown key 'inptu' in a spec"),
    ("input: [3]\nlayers:\n  - dense: {units: 4\n", "syntax", 3, 12, "", "not valid YAML"),
    ("input: [3, 32, 32]\nlayers:\n  - residual: {shortcut: identity, layers: [conv2d: {filters: 8, kernel: 1}]}\n",
     "shape", 3, 5, "layers[0] (residual_1.add)", "add needs equal shapes"),
])
def test_check_json_on_an_invalid_spec_prints_its_problems(tmp_path, capsys, text, stage, line, column, path, message):
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["check", str(spec), "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["ok"] is False and data["error"] == stage
    (p,) = data["problems"]
    assert (p["file"], p["line"], p["column"], p["path"]) == (str(spec), line, column, path)
    assert p["message"].startswith(message) and p["hint"]
    assert message in captured.err  # the words for people still go to stderr


def test_check_json_on_a_usage_error_keeps_exit_code_2(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [T, 3]\nlayers: [dense: 4]\n", encoding="utf-8")
    assert main(["check", str(spec), "--json", "--bind", "T=0"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["error"] == "usage" and data["problems"][0]["line"] is None
    assert "must be a whole number from 1 to 16777216, got 0" in data["problems"][0]["message"]  # 2**24


def test_check_without_json_prints_nothing_on_stdout_for_an_invalid_spec(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("inptu: [3]\nlayers: [dense: 4]\n", encoding="utf-8")
    assert main(["check", str(spec)]) == 1
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value,says", [("0", "a size must be a whole number from 1 to 16777216, got 0"),  # 2**24
                                        ("-3", "a size must be a whole number from 1 to 16777216, got -3"),
                                        ("x", "--bind takes NAME=SIZE")])
def test_bind_says_what_is_wrong(tmp_path, capsys, value, says):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [T, 3]\nlayers: [dense: 4]\n", encoding="utf-8")
    assert main(["check", str(spec), "--bind", f"T={value}"]) == 2
    assert says in capsys.readouterr().err


def test_strict_reports_both_axes(tmp_path, capsys):
    spec = tmp_path / "s.yaml"  # 5×5/2 on 10×10: (10 − 5)/2 is not whole on either axis
    spec.write_text("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 2, kernel: 5, stride: 2}\n", encoding="utf-8")
    assert main(["check", str(spec), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "height:" in err and "width:" in err


def test_count_flags_write_their_range_as_ranges_are_written(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3]\nlayers: [dense: 4]\n", encoding="utf-8")
    assert main(["check", str(spec), "--batch", "0"]) == 2
    assert "--batch must be a whole number ≥ 1, got 0" in capsys.readouterr().err
    assert main(["predict", str(spec), "--checkpoint", str(tmp_path / "w.pt"), "--first", "0"]) == 2
    assert "--first must be a whole number ≥ 1, got 0" in capsys.readouterr().err


# --- optimizer.group_lr names the network's layers: check knows them, and says a wrong one where written ----
def test_check_refuses_a_group_lr_name_of_no_layer_at_its_place(tmp_path, capsys):
    spec = tmp_path / "g.yaml"
    spec.write_text("input: [64]\nlayers: [dense: 10]\ntrain: {optimizer: {name: sgd, group_lr: {nope: 0.1}}}\n",
                    encoding="utf-8")
    assert main(["check", str(spec), "--json"]) == 1
    (p,) = json.loads(capsys.readouterr().out)["problems"]
    # line 3; `train: {optimizer: {name: sgd, group_lr: {` is 42 characters: the key starts at column 43
    assert (p["line"], p["column"], p["path"]) == (3, 43, "train.optimizer.group_lr")
    assert "'nope' names no trainable parameter" in p["message"] and "dense_1" in p["hint"]
    assert main(["build", str(spec), "--dry-run"]) == 1  # build says the same, at the same place
    assert f"{spec}:3:43: train.optimizer.group_lr: 'nope'" in capsys.readouterr().err
    spec.write_text(spec.read_text(encoding="utf-8").replace("nope", "dense_1"), encoding="utf-8")
    assert main(["check", str(spec)]) == 0


FROZEN_SHARED_TIED = """
name: s
input: {shape: [T], dtype: long}
layers:
  - embedding: {vocab: 100, dim: 16}
    name: wte
  - dense: 16
    name: fc
  - layernorm: {}
    trainable: false
  - dense: 16
    share: fc
    name: fc_again
  - dense: {units: 100, bias: false}
    tie: {weight: wte}
    name: head
"""


@pytest.mark.parametrize("spec", ["specs/lenet5.yaml", "specs/gan.yaml", "specs/resnet18_finetune.yaml",
                                  FROZEN_SHARED_TIED])
def test_the_trainable_names_check_reads_from_the_ir_are_torchs(spec):
    import netspec
    from netspec.cli.check import trainable_names

    model = netspec.compile(spec)
    assert sorted(trainable_names(netspec.analyze(spec))) == \
        sorted(n for n, p in model.named_parameters() if p.requires_grad)


@pytest.mark.parametrize("flags, says", [(["--batch", "x"], "argument --batch: must be a whole number, got 'x'"),
                                         (["--bacth", "2"], "unrecognized arguments: --bacth 2")])
def test_check_json_with_a_wrong_flag_still_prints_one_json_object(tmp_path, capsys, flags, says):
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3]\nlayers: [dense: 4]\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:  # argparse's exit, as without --json
        main(["check", str(spec), "--json", *flags])
    assert info.value.code == 2
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["ok"] is False and data["error"] == "usage" and data["problems"][0]["message"].startswith(says)
    assert says in captured.err and "usage: netspec check" in captured.err
    with pytest.raises(SystemExit):
        main(["check", str(spec), *flags])
    assert capsys.readouterr().out == ""  # no --json: no JSON


WARNED = """name: warned
input: [1, 8, 8]
layers:
  - dense: 4
train:
  optimizer: {name: sgd, betas: [0.9, 0.99]}
"""


def test_check_json_keeps_every_warning_in_the_json_and_stderr_for_errors(tmp_path, capsys):
    """One rule for the layers' warnings and the recipe's: with --json they are in the object's "warnings"
    only, stderr stays empty; what makes the exit code 1 (a failed expect:) is said on stderr too."""
    spec = tmp_path / "w.yaml"
    spec.write_text(WARNED)
    assert main(["check", str(spec), "--json"]) == 0
    out, err = capsys.readouterr()
    warnings = json.loads(out)["warnings"]
    assert err == ""
    assert [w.split(":")[0] for w in warnings if not w.startswith(str(spec))] == ["dense_1"]  # the layer's
    # the recipe's, at its place: line 6, column 26 (where `betas` starts in WARNED, counted by hand)
    assert [w for w in warnings if w.startswith(f"{spec}:6:26: train.optimizer.betas: ignored")]
    # dense 8 → 4 has 8·4 + 4 = 36 parameters: expecting 37 fails, and that failure is on stderr
    spec.write_text(WARNED.replace("train:", "expect: {params: 37}\ntrain:"))
    assert main(["check", str(spec), "--json"]) == 1
    out, err = capsys.readouterr()
    assert len(json.loads(out)["warnings"]) == 2 and json.loads(out)["expectations_failed"]
    assert err.startswith("expectation failed") and "warning" not in err and "betas" not in err, err
