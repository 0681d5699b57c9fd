"""The command line with block libraries (issue 12): every import problem exits 1 with its place and a
hint, never 3 (an internal error) and never a traceback; a library checked alone says what it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = "blocks:\n  mlp:\n    params: {width: null}\n    layers:\n      - dense: $width\n"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


CASES = {
    "missing": ({"net.yaml": "imports: [gone.yaml]\ninput: [8]\nlayers: [relu]\n"},
                "net.yaml:1:11", "cannot import 'gone.yaml': no such file"),
    "wrong suffix": ({"net.yaml": "imports: [lib.txt]\ninput: [8]\nlayers: [relu]\n", "lib.txt": LIB},
                     "net.yaml:1:11", "a library is a .yaml, .yml or .ns file"),
    "cycle": ({"net.yaml": "imports: [a.yaml]\ninput: [8]\nlayers: [relu]\n",
               "a.yaml": "imports: [net.yaml]\nblocks: {x: {layers: [relu]}}\n"}, "a.yaml:1:11", "import cycle"),
    "network in a library": ({"net.yaml": "imports: [n.yaml]\ninput: [8]\nlayers: [relu]\n",
                              "n.yaml": "input: [3]\nlayers: [relu]\n"}, "n.yaml:1:1", "holds only blocks"),
    "duplicate": ({"net.yaml": "imports: [lib.yaml]\nblocks: {mlp: {layers: [relu]}}\ninput: [8]\nlayers: [relu]\n",
                   "lib.yaml": LIB}, "net.yaml:2:10", "block 'mlp' is defined here and also in"),
    "syntax in a library": ({"net.ns": 'import "lib.ns"\ninput [8]\nrelu\n', "lib.ns": "block b( {\n"},
                            "lib.ns:1:", "unexpected"),
    "not utf-8": ({"net.yaml": "imports: [lib.yaml]\ninput: [8]\nlayers: [relu]\n", "lib.yaml": b"\xff\xfe"},
                  "lib.yaml:1:1", "not a UTF-8 text file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_import_problems_exit_1_located_with_a_hint(case: str, tmp_path: Path):
    files, place, fragment = CASES[case]
    for name, text in files.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    main = "net.ns" if "net.ns" in files else "net.yaml"
    r = run("check", main, cwd=tmp_path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert place in r.stderr and fragment in r.stderr, r.stderr
    assert "hint:" in r.stderr


def test_checking_a_library_alone_exits_1_saying_it_is_one():
    r = run("check", "specs/blocks/transformer.yaml")
    assert r.returncode == 1
    assert "is a block library (blocks: encoder_layer, bert_layer), not a network" in r.stderr
    assert "import it from a spec" in r.stderr


def test_converting_a_library_and_a_spec_that_imports_one(tmp_path: Path):
    r = run("convert", "specs/blocks/transformer.yaml", "-o", str(tmp_path / "transformer.ns"))
    assert r.returncode == 0, r.stderr
    assert "block bert_layer(" in (tmp_path / "transformer.ns").read_text(encoding="utf-8")
    r = run("convert", "specs/vit_b_16.yaml")  # on stdout: the import leads from the current directory
    assert r.returncode == 0, r.stderr
    assert 'import "specs/blocks/transformer.yaml"' in r.stdout
    r = run("convert", "vit_b_16.yaml", cwd=ROOT / "specs")
    assert r.returncode == 0, r.stderr
    assert 'import "blocks/transformer.yaml"' in r.stdout


def test_check_from_another_directory_resolves_imports_beside_the_spec(tmp_path: Path):
    r = run("check", str(ROOT / "specs" / "vit_b_16.yaml"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "86,567,656 total" in r.stdout  # torchvision's documented count, pinned in the spec
    assert os.listdir(tmp_path) == []
