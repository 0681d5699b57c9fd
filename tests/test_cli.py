"""The command line: output, JSON contract, exit codes, and that `check` never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from netspec.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LENET_LIKE = """\
name: tiny
input: [1, 32, 32]
layers:
  - conv2d: {filters: 6, kernel: 5, activation: tanh, name: c1}
  - avg_pool2d: {kernel: 2, name: s2}
  - flatten
  - dense: {units: 10, name: out}
expect:
  params: 11926   # 6*25 + 6 = 156; 6*14*14 = 1176 features; 1176*10 + 10 = 11770; total 11926
  shapes: {c1: [6, 28, 28], s2: [6, 14, 14]}
"""


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(LENET_LIKE)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_check_prints_table_and_passes(spec_file, capsys):
    assert main(["check", str(spec_file)]) == 0
    out = capsys.readouterr().out
    for fragment in ("c1", "conv 5×5 ×6 /1", "(6, 28, 28)", "156", "11,926 total", "MACs"):
        assert fragment in out


def test_check_json_contract(spec_file, capsys):
    assert main(["check", str(spec_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "tiny"
    assert data["inputs"] == {"input": [1, 32, 32]}
    assert data["params"] == {"total": 11926, "trainable": 11926, "non_trainable": 0}
    assert [layer["name"] for layer in data["layers"]] == ["c1", "s2", "flatten_1", "out"]
    assert data["layers"][0] == {**data["layers"][0], "kind": "conv2d", "output_shape": [6, 28, 28], "params": 156,
                                 "macs": 6 * 28 * 28 * 25}
    assert list(data["outputs"].values()) == [[10]]


def test_failed_expectation_exits_1(tmp_path, capsys):
    path = tmp_path / "wrong.yaml"
    path.write_text(LENET_LIKE.replace("params: 11926", "params: 11925"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "expected 11,925 parameters" in out and "difference +1" in out


def test_exit_codes_subprocess(spec_file, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [1, 28, 28]\nlayers:\n  - conv2dd: {filters: 6}\n")
    r = run("check", str(bad))
    assert r.returncode == 1
    assert "bad.yaml:3:5" in r.stderr and "did you mean 'conv2d'" in r.stderr
    assert "Traceback" not in r.stderr
    assert run("check", str(tmp_path / "missing.yaml")).returncode == 2
    r = run("check", str(spec_file), "--batch", "0")
    assert r.returncode == 2 and "--batch" in r.stderr
    r = run("chekc", str(spec_file))
    assert r.returncode == 2 and "did you mean 'check'" in r.stderr
    assert run("check", str(spec_file), "--no-such-flag").returncode == 2


def test_check_does_not_import_torch(spec_file):
    code = ("import sys; from netspec.cli.main import main; rc = main(['check', sys.argv[1]]); "
            "bad = [m for m in ('torch', 'graphviz') if m in sys.modules]; print('IMPORTED', bad); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(spec_file)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "IMPORTED []" in r.stdout


def test_bind_and_symbolic_macs(tmp_path, capsys):
    from netspec.core.sizes import evaluate

    path = tmp_path / "seq.yaml"
    path.write_text("input: [4, T]\nlayers:\n  - conv1d: {filters: 8, kernel: 5, stride: 2, name: c}\n")
    assert main(["check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["output_shape"] == [8, "floor((T - 5)/2) + 1"]
    assert data["symbols"] == ["T"]
    for t in (5, 10, 37):  # 8 filters · (4 channels · 5 taps) at each of floor((t − 5)/2) + 1 positions
        assert evaluate(data["macs"], {"T": t}) == 8 * 4 * 5 * ((t - 5) // 2 + 1)
    assert main(["check", str(path), "--json", "--bind", "T=10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["output_shape"] == [8, 3]          # floor((10 - 5)/2) + 1
    assert data["layers"][0]["macs"] == 8 * 3 * 4 * 5            # outputs x (C_in * k)
    assert main(["check", str(path), "--bind", "T=ten"]) == 2


def test_schema_is_generated_from_registry(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    text = json.dumps(schema)
    from netspec.layers import layer_kinds

    for kind in layer_kinds():
        assert f'"{kind}"' in text, kind


def test_kinds_lists_every_kind(capsys):
    from netspec.layers import layer_kinds

    assert main(["kinds"]) == 0
    out = capsys.readouterr().out
    for kind in layer_kinds():
        assert kind in out


def test_layer_reference_doc_is_current():
    from netspec.spec.reference import kinds_markdown

    with open(os.path.join(ROOT, "docs", "layers.md"), encoding="utf-8") as f:
        assert f.read() == kinds_markdown(), "docs/layers.md is stale: run `netspec kinds --markdown > docs/layers.md`"


def test_several_networks_in_json(tmp_path, capsys):
    path = tmp_path / "gan.yaml"
    path.write_text("""\
name: pair
networks:
  generator:
    input: [8]
    layers: [{dense: {units: 16, activation: tanh, name: out}}]
    expect: {params: 144}          # 8*16 + 16
  discriminator:
    inputs: {x: generator}
    layers: [{dense: {units: 1, activation: sigmoid, name: score}}]
    expect: {params: 17}           # 16*1 + 1
""")
    assert main(["check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["networks"]) == {"generator", "discriminator"}
    disc = data["networks"]["discriminator"]
    assert disc["inputs"] == {"x": [16]} and disc["params"]["total"] == 17
    assert data["params"]["total"] == 144 + 17
    assert main(["check", str(path), "--json", "--network", "generator"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "generator"
    path.write_text(path.read_text().replace("params: 17", "params: 18"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "gan.yaml:10:14: networks.discriminator.expect.params" in out and "expected 18 parameters, the network has 17" in out


def test_readme_specs_are_valid():
    """Every complete YAML spec shown in the README checks, with its expectations."""
    import re

    import netspec

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        snippets = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
    complete = [s for s in snippets if re.search(r"^(input|inputs|networks):", s, re.M)]
    assert len(complete) >= 3
    for text in complete:
        assert netspec.check(text).ok


def test_internal_errors_are_reported_not_dumped(spec_file, monkeypatch, capsys):
    import netspec.api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(netspec.api, "check", broken)
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)
    assert main(["check", str(spec_file)]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "NETSPEC_DEBUG=1" in err
    monkeypatch.setenv("NETSPEC_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["check", str(spec_file)])


def test_readme_check_output_is_current(capsys):
    """The README's `netspec check specs/lenet5.yaml` transcript is the real output (a golden format)."""
    import re

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        shown = re.search(r"\$ netspec check specs/lenet5.yaml\n(.*?)```", f.read(), re.S).group(1)
    assert main(["check", os.path.join(ROOT, "specs", "lenet5.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(shown), "README's check transcript is stale"
