"""A ``.pt2`` program torch.export fixed at a size the user bound is written, with a note naming each bound
size once (the program is checked at several other sizes of it; each failure is the same fact)."""

from __future__ import annotations

import re

import torch

from netspec.cli.main import main

TAGGER = """input: [T, 8]
layers:
  - lstm: {units: 6, return_sequences: true}
  - dense: 3
"""


def test_a_bound_size_the_program_is_fixed_at_is_said_once(tmp_path, capsys):
    spec = tmp_path / "tagger.yaml"
    spec.write_text(TAGGER, encoding="utf-8")
    out = tmp_path / "tagger.pt2"
    assert main(["export", str(spec), "-o", str(out), "--bind", "T=9"]) == 0
    err = capsys.readouterr().err
    assert err.rstrip().endswith("it runs only at T=9 (bound)"), err
    assert len(re.findall(r"T=9", err)) == 1, err
    # the note is true: torch.export unrolled the LSTM over 9 steps, so the loaded program refuses 10
    program = torch.export.load(out).module()
    assert program(torch.randn(2, 9, 8)).shape == (2, 9, 3)
    try:
        program(torch.randn(2, 10, 8))
    except Exception:  # noqa: BLE001 - torch's guard, whatever its type in this version
        pass
    else:
        raise AssertionError("the program ran at T=10: the note would be wrong")
