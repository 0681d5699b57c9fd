"""Fuzz: every reference spec, mutated, never makes `netspec check` fail with an internal error.

Each spec in specs/ is mutated a fixed number of times (seeded by its name, so a failure reproduces):
lines deleted, duplicated and swapped, numbers perturbed, junk tokens inserted and substituted. A
mutant may be valid or not; what must hold is that `netspec check` answers with exit 0, 1 or 2 and a
message, never exit 3 (an internal error) and never a traceback. Bounded to keep the suite fast.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import zlib
from pathlib import Path

import pytest

from netspec.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("specs/*.ns")])
MUTANTS = 20  # per spec

# Tokens that break things in different ways: YAML and DSL punctuation, anchors and tags, expressions,
# numbers at the edges, values of the wrong type, real kinds and keys in the wrong place.
JUNK = ["{", "}", "[", "]", ":", "- ", "&a", "*a", "!!str", "'", '"', "#", "${", "$x", "${1/0}", "${w*2}", "${i}",
        "null", "~", "-1", "0", "1e999", ".inf", "nan", "99999999999", "9" * 40, "0x10", "1:2", "3.5", "T",
        "true", "|", ">", "\t", "%", "@", "`", "?", ",", "=", "/", "x" * 50, "\u00e9", "[]", "{}", "[[1]]",
        "{a: b}", "[1, T]", "{shape: [2]}", "from:", "from: [a, b]", "name: a", "repeat: 999", "repeat: 0",
        "trainable: false", "init: zeros", "dtype: long", "conv2d", "dense", "residual", "parallel", "input",
        "layers:", "blocks:", "networks:", "expect:", "shortcut", "merge", "5x5", "/2", "{", "relu"]


def mutate(text: str, rng: random.Random) -> str:
    """One to four random edits of ``text``."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(6)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            numbers = list(re.finditer(r"\d+", lines[i]))
            if numbers:
                m = rng.choice(numbers)
                new = rng.choice(["0", "1", "-1", "2", str(int(m.group()) * 7), str(int(m.group()) + 1), "3.5",
                                  "100000000", "T", "null"])
                lines[i] = lines[i][:m.start()] + new + lines[i][m.end():]
        elif op == 4:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(JUNK) + lines[i][at:]
        else:
            words = lines[i].split()
            if words:
                words[rng.randrange(len(words))] = rng.choice(JUNK)
                lines[i] = " ".join(words)
    return "\n".join(lines)


def check(path: Path, *flags: str) -> tuple[int, str]:
    """`netspec check PATH FLAGS` in-process: the exit code and everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(["check", str(path), *flags])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue()


def test_there_are_reference_specs():
    assert len(SPECS) >= 30
    assert any(p.suffix == ".ns" for p in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[p.name for p in SPECS])
def test_mutated_reference_specs_never_crash_check(spec: Path, tmp_path, monkeypatch):
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)  # the internal error must be reported, not raised
    text = spec.read_text(encoding="utf-8")
    rng = random.Random(zlib.crc32(spec.name.encode()))
    target = tmp_path / spec.name
    for n in range(MUTANTS):
        mutant = mutate(text, rng)
        target.write_text(mutant, encoding="utf-8")
        code, out = check(target, *(("--json",) if n % 2 else ()))
        assert code in (0, 1, 2) and "Traceback" not in out and "internal error" not in out, (
            f"mutant {n} of {spec.name} (exit {code}):\n{out[-2000:]}\n--- mutant:\n{mutant}")


def test_a_crash_would_be_caught(tmp_path, monkeypatch):
    """The harness sees an internal error: exit 3 and its message."""
    import netspec.api

    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)

    def broken(*args, **kwargs):
        raise RecursionError("deep")

    monkeypatch.setattr(netspec.api, "check", broken)
    code, out = check(SPECS[0])
    assert code == 3 and "internal error" in out
