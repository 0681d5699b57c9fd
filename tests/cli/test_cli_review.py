"""Review of 2026-11: output files that cannot be written, specs from standard input, convert --to ns,
`kinds KIND`, and an unknown flag reported by its subcommand."""

from __future__ import annotations

import io
import re
import sys

import pytest

from netspec.cli.main import main

SPEC = "name: tiny\ninput: [1, 32, 32]\nlayers:\n  - conv2d: {filters: 6, kernel: 5}\n  - flatten\n  - dense: 3\n"
# (1, 32, 32) → conv 5×5 ×6, stride 1, no padding: 32 − 5 + 1 = 28 → (6, 28, 28) → 4704 → 3


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(SPEC)
    return p


# every command that writes a file, with the argument list that makes it write to OUT
WRITERS = {
    "schema": lambda spec, out: ["schema", "-o", out],
    "draw": lambda spec, out: ["draw", spec, "--format", "dot", "-o", out],
    "convert": lambda spec, out: ["convert", spec, "--to", "dsl", "-o", out],
    "export": lambda spec, out: ["export", spec, "-o", out],
    "build": lambda spec, out: ["build", spec, "--epochs", "1", "--data", "random", "--out", out, "-q"],
}


# a run directory is created with its parents: only a file in its way stops it
@pytest.mark.parametrize("command, where", [(c, w) for c in sorted(WRITERS) for w in ("missing folder", "under a file")
                                            if not (c == "build" and w == "missing folder")])
def test_an_output_path_that_cannot_be_written_is_one_message_and_exit_2(tmp_path, spec, capsys, command, where):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    folder = (tmp_path / "no" / "such" / "folder") if where == "missing folder" else blocker
    out = str(folder / ("run" if command == "build" else "x.out.py" if command == "export" else
                        "x.ns" if command == "convert" else "x.dot" if command == "draw" else "x.json"))
    rc = main(WRITERS[command](str(spec), out))
    err = capsys.readouterr().err
    assert rc == 2, (rc, err)  # a destination that cannot be written is a usage error, as a missing input (docs/cli.md)
    assert "internal error" not in err and "Traceback" not in err
    assert str(folder if where == "missing folder" else blocker).split("/")[-1] in err


def test_convert_to_ns_is_the_dsl(spec, capsys):
    assert main(["convert", str(spec), "--to", "ns"]) == 0
    ns = capsys.readouterr().out
    assert main(["convert", str(spec), "--to", "dsl"]) == 0
    assert capsys.readouterr().out == ns and ns.startswith("netspec tiny")


@pytest.mark.parametrize("command", [["convert", "-"], ["check", "-"], ["draw", "-", "--format", "dot"]])
def test_a_spec_from_standard_input(monkeypatch, capsys, command):
    monkeypatch.setattr(sys, "stdin", io.StringIO(SPEC))
    assert main(command) == 0
    assert capsys.readouterr().out


@pytest.mark.parametrize("command", ["convert", "check", "draw"])
def test_a_wrong_spec_from_standard_input_is_located_at_stdin(monkeypatch, capsys, command):
    monkeypatch.setattr("netspec.cli.args._STDIN", [])
    monkeypatch.setattr(sys, "stdin", io.StringIO("input: [4]\nlayers:\n  - dense: -2\n"))
    assert main([command, "-"] + (["--format", "dot"] if command == "draw" else [])) == 1
    assert "<stdin>:3:" in capsys.readouterr().err


def test_kinds_kind_shows_its_options_defaults_and_shapes(capsys):
    assert main(["kinds", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "filters" in out and "required" in out and "stride" in out
    assert "(1, 32, 32) → (6, 28, 28)" in out  # 32 − 5 + 1 = 28 (the kind's first example: 6 filters of 5×5)
    assert main(["kinds", "conv"]) == 0  # an alias
    assert capsys.readouterr().out == out
    assert main(["kinds", "conv2x"]) == 2
    assert "did you mean 'conv2d'" in capsys.readouterr().err


def test_kinds_kind_writes_option_types_as_the_language_has_them(capsys):
    """Types read as a user writes values (the JSON Schema's), not Python's typing repr with pydantic's
    FieldInfo inside: conv2d's padding is a size, a pair of sizes, 'same' or 'valid'."""
    assert main(["kinds", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "FieldInfo" not in out and "Annotated" not in out and "Optional" not in out
    (padding,) = [ln for ln in out.splitlines() if ln.strip().startswith("padding ") and "default" in ln]
    assert "'same' | 'valid' | int | [int, int], each from 0 to 4096" in padding  # MAX_KERNEL = 4096
    assert main(["kinds", "lstm"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (dropout,) = [ln for ln in lines if ln.strip().startswith("dropout ") and "default" in ln]
    assert "float ≥ 0 and < 1" in dropout  # 0 ≤ p < 1, as nn.LSTM's dropout


@pytest.mark.parametrize("kind, option, written", [
    ("dropout", "rate", "float ≥ 0 and < 1"),  # 0 ≤ p < 1: both ends in one notation, no 0.0 beside 1
    ("batchnorm2d", "momentum", "float from 0 to 1"),  # both ends included: "from … to", as error messages say
    ("batchnorm2d", "eps", "float > 0"),  # one end only
    ("upsample", "scale", "float > 0 and ≤ 64"),
    ("conv2d", "filters", "int from 1 to 1048576"),  # MAX_WIDTH = 1 << 20 = 1,048,576
])
def test_kinds_writes_every_range_one_way(capsys, kind, option, written):
    assert main(["kinds", kind]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.strip().startswith(f"{option} ") and "default" in ln]
    assert written in line, line
    type_text = line.split(" default ")[0]
    assert not re.search(r"\.\.|\.0\b", type_text), line  # no 0..1, 0.0..<1.0 or 1000000.0 beside it


def test_kinds_writes_defaults_and_examples_as_a_spec_does(capsys):
    """A default and an example's options read as the user writes them: true/false/null, not Python's."""
    assert main(["kinds", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "True" not in out and "False" not in out and "None" not in out
    (bias,) = [ln for ln in out.splitlines() if ln.strip().startswith("bias ")]
    assert bias.rstrip().endswith("default true")
    assert "bias: false" in out  # the third example: {filters: 8, kernel: 3, groups: 4, bias: false, ...}


def test_an_unknown_flag_after_a_subcommand_shows_that_subcommands_usage(spec, capsys):
    with pytest.raises(SystemExit) as info:
        main(["build", str(spec), "--epochz", "3"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: netspec build") and "did you mean '--epochs'" in err


def test_a_kinds_reference_lists_every_key_a_layer_item_takes(capsys):
    # a layer item takes repeat: and if: too (docs: `repeat: n` copies an item, `if:` leaves it out)
    assert main(["kinds", "dense"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("every kind also takes:"))
    assert {"name", "from", "trainable", "init", "share", "tie", "repeat", "if"} <= \
        set(line.split(":", 1)[1].replace(",", " ").split())
