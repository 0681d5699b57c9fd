"""A number a spec file writes that its parser turns into something else (``1e-400`` is 0.0 in a float,
``1e400`` is inf, YAML 1.1 reads ``0x10`` as 16) is quoted in messages as the file writes it, and a number a
float cannot hold says so (it underflows to 0, it overflows to infinity), as ``--lr 1e-400`` does on the
command line: layer options, the ``train:`` section, block arguments; YAML and the DSL. Through the CLI,
``netspec check FILE``.

Every expected place is found in the spec text (the column of the value written), never copied from
netspec's output."""

from __future__ import annotations

import pytest

from netspec.cli.main import main

UNDER = "(too small for a float: it underflows to 0"
OVER = "(too large for a float: it overflows to infinity"


def check(tmp_path, capsys, text: str, suffix: str = ".yaml") -> tuple[int, str]:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    code = main(["check", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def place(text: str, line_with: str, at: str) -> str:
    """``line:col`` of ``at`` on the first line of ``text`` holding ``line_with`` (after it)."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_with in line:
            return f"{number}:{line.index(at, line.index(line_with)) + 1}"
    raise AssertionError(f"no line with {line_with!r}")


def line_at(out: str, where: str) -> str:
    found = [ln for ln in out.splitlines() if f"spec.yaml:{where}:" in ln or f"spec.ns:{where}:" in ln]
    assert len(found) == 1, out
    return found[0]


YAML = """netspec: 1
input: [1, 16, 16]
layers:
  - conv2d: {filters: 4, kernel: 3}
  - batchnorm2d: {eps: %s}
  - flatten
  - dense: 10
train:
  task: classification
  data: digits
  optimizer: {name: adam, lr: %s}
  epochs: %s
"""

# (eps, lr, epochs) as written; the option whose value is wrong; what the message must say
YAML_CASES = [
    ("1e400", "0.001", "2", "{eps: ", "1e400", OVER),  # a layer option: the layers' finite check
    ("1e-5", "1e-400", "2", "lr: ", "1e-400", UNDER),  # train: a range check
    ("1e-5", "-1e-400", "2", "lr: ", "-1e-400", UNDER),  # a negative one is also 0
    ("1e-5", "1e400", "2", "lr: ", "1e400", OVER),  # train: the finite check
    ("1e-5", "0.001", "0x0", "epochs: ", "0x0", "got 0x0"),  # YAML 1.1's hex: quoted as written
    ("1e-5", "0.001", "+0", "epochs: ", "+0", "got +0"),
]


@pytest.mark.parametrize("eps,lr,epochs,key,value,fragment", YAML_CASES, ids=[c[4] + "@" + c[3] for c in YAML_CASES])
def test_yaml_numbers_are_quoted_as_written(tmp_path, capsys, eps, lr, epochs, key, value, fragment):
    text = YAML % (eps, lr, epochs)
    code, out = check(tmp_path, capsys, text)
    assert code == 1, out
    assert "Traceback" not in out
    line = line_at(out, place(text, key, value))
    assert f"got {value}" in line, line  # as the file writes it: never 0.0, .inf or 0
    assert fragment in line, line
    assert "got 0.0" not in line and "got .inf" not in line


def test_an_underflowing_range_message_states_the_range(tmp_path, capsys):
    text = YAML % ("1e-5", "1e-400", "2")
    _, out = check(tmp_path, capsys, text)
    line = line_at(out, place(text, "lr: ", "1e-400"))
    assert "train.optimizer.lr: expected a number > 0" in line, line


def test_a_number_written_plainly_is_quoted_plainly(tmp_path, capsys):
    text = YAML % ("1e-5", "0.001", "0")
    _, out = check(tmp_path, capsys, text)
    line = line_at(out, place(text, "epochs: ", "0"))
    assert line.endswith("got 0"), line


def test_a_block_argument_is_quoted_as_written(tmp_path, capsys):
    text = ("netspec: 1\ninput: [3, 8, 8]\nblocks:\n  norm:\n    params: {eps: null}\n    layers:\n"
            "      - batchnorm2d: {eps: $eps}\nlayers:\n  - norm: {eps: 1e400}\n")
    code, out = check(tmp_path, capsys, text)
    assert code == 1, out
    line = line_at(out, place(text, "- norm: {eps: ", "1e400"))
    assert f"got 1e400 {OVER}" in line, line


DSL = """netspec f
input [1, 16, 16]

conv 4 3x3
batchnorm2d eps=%s
flatten
dense 10

train task=classification data=digits optimizer={name=adam, lr=%s} epochs=%s
"""

DSL_CASES = [
    ("1e400", "0.001", "2", "eps=", "1e400", OVER),
    ("1e-5", "1e-400", "2", "lr=", "1e-400", UNDER),
    ("1e-5", "0.001", "+0", "epochs=", "+0", "got +0"),
]


@pytest.mark.parametrize("eps,lr,epochs,key,value,fragment", DSL_CASES, ids=[c[4] for c in DSL_CASES])
def test_dsl_numbers_are_quoted_as_written(tmp_path, capsys, eps, lr, epochs, key, value, fragment):
    text = DSL % (eps, lr, epochs)
    code, out = check(tmp_path, capsys, text, ".ns")
    assert code == 1, out
    line = line_at(out, place(text, key, value))
    assert f"got {value}" in line and fragment in line, line


def test_a_valid_spec_with_numbers_written_otherwise_checks(tmp_path, capsys):
    text = YAML % ("1.0e-5", "1e-3", "0x2")  # every value in range: nothing to say
    code, out = check(tmp_path, capsys, text)
    assert code == 0, out


@pytest.mark.parametrize("text,key,value,fragment", [
    ("netspec: 1\ninput: [1e400, 8]\nlayers:\n  - dense: 4\n", "[", "1e400", OVER),  # an input's size
    ("netspec: 1\ninput: [8]\nlayers:\n  - dense: 4\nexpect:\n  macs: 1e400\n", "macs: ", "1e400", OVER),
    ("netspec: 1\ninput: [8]\nlayers:\n  - dense: 4\nexpect:\n  params: 1e400\n", "params: ", "1e400", OVER),
    ("netspec: 1\ninput: [8]\nlayers:\n  - leaky_relu: {slope: -1e400}\n", "slope: ", "-1e400", OVER),
], ids=["input size", "expect.macs", "expect.params", "negative overflow"])
def test_other_values_are_quoted_as_written(tmp_path, capsys, text, key, value, fragment):
    code, out = check(tmp_path, capsys, text)
    assert code == 1, out
    line = line_at(out, place(text, key, value))
    assert f"got {value} {fragment}" in line, line
