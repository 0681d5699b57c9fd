"""Messages and docs name only commands that exist (review 2026-12, issue 6): the weights refusal's hint
said ``--partial (netspec train, netspec export)``, and there is no ``netspec train`` (training is
``netspec build``). Every ``--partial (netspec A, netspec B)`` hint names commands that take --partial, and
no text says ``netspec train`` as a command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netspec.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "netspec").rglob("*.py"))]
COMMAND_NAMES = {c for names in COMMANDS.values() for c in names}


def test_no_text_names_a_netspec_train_command():
    # `netspec train` followed by a space, a flag, a comma or a bracket: the command form (the package
    # netspec.train and "netspec trains" are not it)
    said = [f"{p.relative_to(ROOT)}:{t.count(chr(10), 0, m.start()) + 1}" for p in TEXTS
            for t in [p.read_text(encoding="utf-8")] for m in re.finditer(r"netspec train(?=[ ,)`'\"])", t)]
    assert "train" not in COMMAND_NAMES and said == []


def partial_hints() -> list[str]:
    found = set()
    for p in TEXTS:
        for m in re.finditer(r"--partial \(((?:netspec [a-z]+(?:, )?)+)\)", p.read_text(encoding="utf-8")):
            found.update(re.findall(r"netspec ([a-z]+)", m.group(1)))
    return sorted(found)


def test_the_partial_hints_are_found():
    assert partial_hints() == ["build", "export"]  # README.md and the weights refusal, by hand


@pytest.mark.parametrize("command", partial_hints())
def test_each_command_a_partial_hint_names_takes_partial(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "--partial" in capsys.readouterr().out
