"""The command line: output, JSON contract, exit codes, and that `check` never imports torch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from netspec.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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


def _symbolic_specs() -> list[str]:
    import glob

    import netspec

    found = []
    paths = glob.glob(os.path.join(ROOT, "specs", "*.yaml")) + glob.glob(os.path.join(ROOT, "specs", "*.ns"))
    for path in sorted(paths):
        spec = netspec.load(path)
        dims = [d for net in spec.networks.values() for i in net.inputs.values() for d in i.shape or ()]
        if any(isinstance(d, str) for d in dims):
            found.append(os.path.basename(path))
    return found


SYMBOLIC_SPECS = _symbolic_specs()
# Specs whose sizes are tied to each other: a binary tree over L leaves has M = L − 1 internal nodes.
RELATED_SIZES = {"recursive_nn.yaml": {"L": 50, "M": 49}}


def test_there_are_symbolic_reference_specs():
    assert len(SYMBOLIC_SPECS) >= 5, SYMBOLIC_SPECS


@pytest.mark.parametrize("name", SYMBOLIC_SPECS)
def test_bind_keeps_every_reference_spec_true_to_its_expect(name, capsys):
    """`check --bind T=50` (every symbol of the spec bound) passes the spec's own `expect:`, as the unbound check
    does."""
    import netspec
    from netspec.core.sizes import evaluate

    path = os.path.join(ROOT, "specs", name)
    spec = netspec.load(path)
    names = sorted({d for net in spec.networks.values() for i in net.inputs.values() for d in i.shape or ()
                    if isinstance(d, str)})
    assert main(["check", path]) == 0
    values = {**dict.fromkeys(names, 50), **RELATED_SIZES.get(name, {})}
    binds = [arg for n in names for arg in ("--bind", f"{n}={values[n]}")]
    assert main(["check", path, *binds]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["check", path, "--json"]) == 0
    free = json.loads(capsys.readouterr().out)
    assert main(["check", path, "--json", *binds]) == 0
    bound = json.loads(capsys.readouterr().out)
    assert isinstance(bound["macs"], int)  # every size bound: a number, and the formula's value at 50
    assert evaluate(free["macs"], values) == bound["macs"]


def test_bind_and_network_usage_errors_exit_2_with_close_matches(tmp_path, capsys):
    """A --bind symbol the spec lacks and a --network it lacks are usage errors (exit 2) that name the close match."""
    seq = tmp_path / "seq.yaml"
    seq.write_text("input: [4, T]\nlayers:\n  - conv1d: {filters: 8, kernel: 3}\n")
    assert main(["check", str(seq), "--bind", "X=3"]) == 2
    err = capsys.readouterr().err
    assert "bind: 'X' is not a symbolic size of any input of the spec" in err and "symbolic sizes: T" in err
    assert main(["check", str(seq), "--bind", "t=3"]) == 2
    assert "did you mean 'T'?" in capsys.readouterr().err
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text("input: [4, 9]\nlayers:\n  - conv1d: {filters: 8, kernel: 3}\n")
    assert main(["check", str(fixed), "--bind", "T=3"]) == 2
    assert "it has no symbolic sizes" in capsys.readouterr().err
    for bad in ("T=0", "T=-1", "T=x", "=3", "T=" + "9" * 5000):
        assert main(["check", str(seq), "--bind", bad]) == 2, bad
        assert "--bind" in capsys.readouterr().err
    pair = tmp_path / "pair.yaml"
    pair.write_text("networks:\n  generator:\n    input: [8]\n    layers: [dense: 4]\n"
                    "  discriminator:\n    inputs: {x: generator}\n    layers: [dense: 1]\n")
    for command in ("check", "draw"):
        extra = ["--format", "dot"] if command == "draw" else []
        assert main([command, str(pair), "--network", "generatr", *extra]) == 2
        err = capsys.readouterr().err
        assert "no network 'generatr'" in err and "did you mean 'generator'?" in err
    r = run("check", str(pair), "--network", "Discriminator")
    assert r.returncode == 2 and "did you mean 'discriminator'?" in r.stderr and "Traceback" not in r.stderr


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
    assert "gan.yaml:10:22: networks.discriminator.expect.params" in out  # at the pinned value
    assert "expected 18 parameters, the network has 17" in out


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


# --- every README transcript is the real output ------------------------------------------------------
def _transcripts() -> list[tuple[int, list[tuple[str, list[str]]]]]:
    """Every ``` block of the README that shows ``$ command`` lines: (its line, [(command, output lines)])."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    found, steps, start, inside = [], [], 0, False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if inside and steps:
                found.append((start, steps))
            inside, start, steps = not inside, number, []
        elif inside and line.startswith("$ "):
            steps.append((line[2:], []))
        elif inside and steps:
            steps[-1][1].append(line)
    return found


def _steady(text: str) -> str:
    """A transcript with what changes from run to run (timings, throughput, the run directory's stamp,
    the thread count chosen from the cores free at the time) masked."""
    text = re.sub(r"(?m)^threads: .*$", "threads: CHOSEN", text)
    text = re.sub(r"[\d,]+ samples/s", "N samples/s", text)
    text = re.sub(r"\b\d+\.\d+ ?s\b", "T s", text)
    return re.sub(r"runs/(\w+)/\S+", r"runs/\1/STAMP", text)


def _matches(shown: list[str], out: str) -> bool:
    """``out`` is ``shown`` line for line, where a line ``...`` stands for any number of lines."""
    pattern = "".join(r"(?:.*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in shown)
    return re.fullmatch(pattern, out) is not None


TRANSCRIPTS = _transcripts()


def _transcript_params():
    for line, steps in TRANSCRIPTS:
        commands = [c for c, _ in steps]
        marks = [pytest.mark.slow] if any(c.startswith("netspec build") for c in commands) else []
        yield pytest.param(steps, id=f"README.md:{line}", marks=marks)


@pytest.mark.parametrize("steps", list(_transcript_params()))
def test_readme_transcripts_are_the_real_output(steps, tmp_path, monkeypatch):
    """Each `$ command` of the README and the output shown under it: `cat FILE` writes the file shown,
    `netspec ...` runs in-process in a scratch folder (specs/ linked in) and must print exactly what is
    shown (a `...` line stands for any lines; timings and run-directory stamps are masked)."""
    import contextlib
    import io
    import shlex
    import shutil

    commands = " ".join(c for c, _ in steps)
    if "netspec draw" in commands and ("--format dot" not in commands or "-o" in commands) and not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed")
    if "netspec build" in commands:
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            pytest.skip("the README's build transcript is a CPU run")
    os.symlink(os.path.join(ROOT, "specs"), tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)
    assert TRANSCRIPTS and len(steps) >= 1
    for command, shown in steps:
        words = shlex.split(command, comments=True)
        if words[0] == "cat":
            (tmp_path / words[1]).write_text("\n".join(shown) + "\n", encoding="utf-8")
            continue
        assert words[0] == "netspec", f"the README runs {command!r}; teach this test what that is"
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = main(words[1:])
        out = buffer.getvalue()
        assert code in (0, 1), f"{command}: exit {code}\n{out}"
        assert _matches([_steady(line) for line in shown], _steady(out)), (
            f"README's transcript of `{command}` differs from the real output:\n--- shown\n" + "\n".join(shown)
            + "\n--- real\n" + out)


def test_a_dsl_syntax_error_in_json_is_data_and_in_text_shows_the_line(tmp_path, capsys):
    """The source line and its caret are for people: the text shows them under the message; the JSON's
    message is the sentence alone, with the place in its own fields."""
    import json

    path = tmp_path / "bad.ns"
    path.write_text("netspec n\ninput [3, 8, 8]\nconv 8 3x3 stride=\n", encoding="utf-8")
    assert main(["check", str(path), "--json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert "\n" not in problem["message"] and "^" not in problem["message"]
    assert (problem["line"], problem["column"]) == (3, 19)  # just after `stride=`
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "\n    conv 8 3x3 stride=\n" + " " * 22 + "^" in err  # the caret under column 19 (4 spaces of indent)
