"""`netspec convert` into another folder: every path netspec reads relative to the spec's folder (``imports``,
``train.data.path``/``val_path``/``root``, ``train.weights``) is rewritten so that it names the same file from
the written file's folder, and the read-back check reads the written text from there. Text on standard output
is read from the current directory, as text on standard input is.

The expected files are the ones each test puts on disk itself (``Path.resolve`` of the tree it built), never
what netspec says: a test reads the written spec with yaml or a regular expression and resolves its paths
against the written file's folder by hand."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netspec.cli.main import main
from netspec.convert import ANCHORED, convert

ROOT = Path(__file__).resolve().parents[2]
LIB = "blocks:\n  mlp:\n    params: {width: null}\n    layers:\n      - dense: $width\n"
LIB_NS = "block mlp(width) {\n  dense $width\n}\n"
# a spec in src/ that imports src/lib/lib.yaml and names data/weights in data/ (a sibling of src/)
SPEC_YAML = ("# a comment kept\nimports: [lib/lib.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 4}\n  - dense: 2\n"
             "train:\n  data: {name: npz, path: ../data/train.npz, val_path: ../data/val.npz, root: ../data/cache}\n"
             "  weights: {path: ../data/w.pt, partial: true}\n")
SPEC_NS = ('import "lib/lib.yaml"\n\ninput [8]\n\nmlp width=4\ndense 2\n\n'
           'train data={name=npz, path="../data/train.npz", val_path="../data/val.npz", root="../data/cache"} '
           'weights={path="../data/w.pt", partial=true}\n')
FILES = {"import": "src/lib/lib.yaml", "path": "data/train.npz", "val_path": "data/val.npz", "root": "data/cache",
         "weights": "data/w.pt"}


def tree(tmp_path: Path, spec_name: str, spec_text: str) -> Path:
    """tmp/src/<spec>, tmp/src/lib/lib.yaml, tmp/data/{train,val}.npz, w.pt, cache/; returns the spec."""
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "data" / "cache").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "lib.yaml").write_text(LIB, encoding="utf-8")
    for name in ("train.npz", "val.npz", "w.pt"):
        (tmp_path / "data" / name).write_bytes(b"")
    spec = tmp_path / "src" / spec_name
    spec.write_text(spec_text, encoding="utf-8")
    return spec


def written_paths(text: str, fmt: str) -> dict[str, str]:
    """The paths a written spec holds, read without netspec: yaml for YAML, regular expressions for the DSL."""
    if fmt == "yaml":
        raw = yaml.safe_load(text)
        train = raw.get("train", {})
        data, weights = train.get("data"), train.get("weights")
        out = {"import": raw["imports"][0]}
        if isinstance(data, dict):
            out.update({k: data[k] for k in ("path", "val_path", "root") if k in data})
        elif data is not None:
            out["path"] = data
        if weights is not None:
            out["weights"] = weights["path"] if isinstance(weights, dict) else weights
        return out
    out = {"import": re.search(r'^import "([^"]*)"', text, re.M).group(1)}
    data = re.search(r'\bdata\s*=\s*\{([^}]*)\}', text)
    for key in ("path", "val_path", "root"):
        m = re.search(rf'\b{key}\s*=\s*"([^"]*)"', data.group(1)) if data else None
        if m:
            out[key] = m.group(1)
    m = re.search(r'\bdata\s*=\s*"([^"]*)"', text)
    if m:
        out["path"] = m.group(1)
    m = re.search(r'\bweights\s*=\s*(?:\{path\s*=\s*)?"([^"]*)"', text)
    if m:
        out["weights"] = m.group(1)
    return out


def assert_same_files(out: Path, fmt: str, tmp_path: Path, keys=FILES) -> dict[str, str]:
    written = written_paths(out.read_text(encoding="utf-8"), fmt)
    for key, rel in keys.items():
        assert "\\" not in written[key]
        assert not os.path.isabs(written[key]), written  # it stays relative
        assert (out.parent / written[key]).resolve() == (tmp_path / rel).resolve(), (key, written[key])
    return written


def check_elsewhere(spec: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`netspec check` on the written spec, run from a folder that is neither its own nor the source's."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "check", str(spec)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


# (source name, source text, output format)
KINDS = {"yaml->dsl": ("net.yaml", SPEC_YAML, "dsl"), "dsl->yaml": ("net.ns", SPEC_NS, "yaml"),
         "yaml->yaml": ("net.yaml", SPEC_YAML, "yaml"), "dsl->dsl": ("net.ns", SPEC_NS, "dsl")}
PLACES = {"sibling": "out", "child": "src/sub/deeper", "parent": "."}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_convert_into_another_folder_points_at_the_same_files(tmp_path: Path, kind: str, place: str, capsys):
    name, text, fmt = KINDS[kind]
    src = tree(tmp_path, name, text)
    folder = tmp_path / PLACES[place]
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / ("converted.ns" if fmt == "dsl" else "converted.yaml")
    assert main(["convert", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
    assert_same_files(out, fmt, tmp_path)
    r = check_elsewhere(out, tmp_path)
    assert r.returncode == 0, r.stderr
    if name.endswith(".yaml"):
        assert "# a comment kept" in out.read_text(encoding="utf-8")


def test_the_written_paths_are_the_ones_worked_by_hand(tmp_path: Path, capsys):
    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    (tmp_path / "out").mkdir()
    assert main(["convert", str(src), "-o", str(tmp_path / "out" / "net.ns")]) == 0
    # from tmp/out: the library is ../src/lib/lib.yaml, the data ../data/...
    assert written_paths((tmp_path / "out" / "net.ns").read_text(encoding="utf-8"), "dsl") == {
        "import": "../src/lib/lib.yaml", "path": "../data/train.npz", "val_path": "../data/val.npz",
        "root": "../data/cache", "weights": "../data/w.pt"}


def test_the_same_folder_keeps_the_paths_as_written(tmp_path: Path, capsys):
    spec = SPEC_YAML.replace("imports: [lib/lib.yaml]", "imports: [./lib/../lib/lib.yaml]")
    src = tree(tmp_path, "net.yaml", spec)
    assert main(["convert", str(src), "-o", str(tmp_path / "src" / "net.ns")]) == 0
    assert written_paths((tmp_path / "src" / "net.ns").read_text(encoding="utf-8"), "dsl")["import"] == \
        "./lib/../lib/lib.yaml"  # nothing moved: not even normalized


def test_absolute_and_home_paths_stay_as_they_are(tmp_path: Path, capsys):
    lib = (tmp_path / "src" / "lib" / "lib.yaml").as_posix()
    spec = SPEC_YAML.replace("lib/lib.yaml", lib).replace("../data/w.pt", "~/w.pt")
    src = tree(tmp_path, "net.yaml", spec)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "net.yaml"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    written = written_paths(out.read_text(encoding="utf-8"), "yaml")
    assert written["import"] == lib and written["weights"] == "~/w.pt"
    assert (out.parent / written["path"]).resolve() == (tmp_path / "data" / "train.npz").resolve()


@pytest.mark.parametrize("data, expected", [("../data/train.npz", "data/train.npz"),
                                            ("../images", "./images"),  # a bare word would be a data set name
                                            ("../mnist", "./mnist"),  # ... here even a known one
                                            ("../images/", "images/"),  # a / says a folder: kept
                                            ("digits", "digits")])  # a data set by name: no path
def test_a_data_shorthand_stays_a_path(tmp_path: Path, data: str, expected: str, capsys):
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "net.yaml"
    src.write_text(f"input: [64]\nlayers: [dense: 10]\ntrain:\n  data: {data}\n", encoding="utf-8")
    out = tmp_path / "net.yaml"  # the parent folder
    assert main(["convert", str(src), "-o", str(out)]) == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["train"]["data"] == expected


def test_stdout_is_read_from_the_current_directory(tmp_path: Path, monkeypatch, capsys):
    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    cwd = tmp_path / "here"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["convert", str(src), "--to", "dsl"]) == 0
    (cwd / "net.ns").write_text(capsys.readouterr().out, encoding="utf-8")  # as `> net.ns` would
    assert_same_files(cwd / "net.ns", "dsl", tmp_path)
    assert check_elsewhere(cwd / "net.ns", tmp_path).returncode == 0


def test_standard_input_is_read_from_the_current_directory(tmp_path: Path, monkeypatch, capsys):
    tree(tmp_path, "net.yaml", SPEC_YAML)
    monkeypatch.chdir(tmp_path / "src")  # where the text's paths lead
    monkeypatch.setattr("netspec.cli.args._STDIN", [])  # read once a process: a fresh one here
    monkeypatch.setattr(sys, "stdin", io.StringIO(SPEC_YAML))
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "net.ns"
    assert main(["convert", "-", "-o", str(out)]) == 0, capsys.readouterr().err
    assert_same_files(out, "dsl", tmp_path)
    assert check_elsewhere(out, tmp_path).returncode == 0


def test_a_library_with_imports_converts_into_another_folder(tmp_path: Path, capsys):
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "base.ns").write_text(LIB_NS, encoding="utf-8")
    more = "imports: [base.ns]\nblocks:\n  two:\n    layers:\n      - mlp: {width: 3}\n"
    (tmp_path / "libs" / "more.yaml").write_text(more, encoding="utf-8")
    (tmp_path / "out").mkdir()
    assert main(["convert", str(tmp_path / "libs" / "more.yaml"), "-o", str(tmp_path / "out" / "more.ns")]) == 0
    text = (tmp_path / "out" / "more.ns").read_text(encoding="utf-8")
    entry = re.search(r'^import "([^"]*)"', text, re.M).group(1)
    assert (tmp_path / "out" / entry).resolve() == (tmp_path / "libs" / "base.ns").resolve()
    spec = tmp_path / "out" / "net.yaml"  # a spec beside it that uses the converted library
    spec.write_text("imports: [more.ns]\ninput: [5]\nlayers: [two]\n", encoding="utf-8")
    r = check_elsewhere(spec, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "18 total" in r.stdout  # dense 5 -> 3: 5*3 + 3 = 18


def test_the_read_back_reads_from_the_output_folder(tmp_path: Path, monkeypatch):
    """A writer that forgot to rewrite a path is caught by the read-back (the output folder is its base)."""
    import netspec.convert as module

    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(module, "rebase_paths", lambda raw, source, output: None)  # paths left as written
    with pytest.raises(module.NetspecError) as info:
        convert(src, "dsl", output=tmp_path / "out" / "net.ns")
    assert "does not read back" in str(info.value) and "lib/lib.yaml" in str(info.value)


def test_the_api_without_an_output_keeps_the_paths(tmp_path: Path):
    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    assert written_paths(convert(src, "dsl"), "dsl") == {"import": "lib/lib.yaml", "path": "../data/train.npz",
                                                         "val_path": "../data/val.npz", "root": "../data/cache",
                                                         "weights": "../data/w.pt"}


def test_every_path_the_recipe_anchors_is_rewritten():
    """The fields `spec.train.anchor_paths` makes absolute against the spec's folder are the ones convert
    rewrites: found by giving each string field of the recipe's sections a relative value."""
    from netspec.spec.train import DataConfig, TrainConfig, WeightsConfig, anchor_paths

    anchored = {}
    for section, model in (("data", DataConfig), ("weights", WeightsConfig)):
        fields = [f for f, info in model.model_fields.items() if "str" in str(info.annotation) and f != "name"]
        cfg = TrainConfig(**{section: {**({"name": "npz"} if section == "data" else {}), **{f: "rel" for f in fields}}})
        moved = anchor_paths(cfg, "/base").model_dump()[section]
        anchored[section] = tuple(sorted(f for f in fields if moved[f] != "rel"))
    assert anchored == {section: tuple(sorted(keys)) for section, keys in ANCHORED.items()}


def test_a_data_path_left_as_written_is_caught_by_the_read_back(tmp_path: Path, monkeypatch):
    """The read-back compares the recipe's files resolved from each folder, not the text of their paths."""
    import netspec.convert as module

    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    (tmp_path / "out" / "deeper").mkdir(parents=True)  # not at the source's depth: ../data leads elsewhere
    only_imports = module.rebase_paths

    def imports_only(raw, source, output):  # the imports rewritten, the train: section forgotten
        train = raw.pop("train")
        only_imports(raw, source, output)
        raw["train"] = train

    monkeypatch.setattr(module, "rebase_paths", imports_only)
    with pytest.raises(module.NetspecError) as info:
        convert(src, "yaml", output=tmp_path / "out" / "deeper" / "net.yaml")
    assert "would change the spec" in str(info.value)


def test_with_no_relative_path_the_absolute_one_is_written(tmp_path: Path, monkeypatch):
    """Windows: a file on another drive has no path relative to the output's folder (relpath raises)."""
    src = tree(tmp_path, "net.yaml", SPEC_YAML)
    (tmp_path / "out").mkdir()

    def no_relative_path(path, start=None):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", no_relative_path)
    text = convert(src, "yaml", output=tmp_path / "out" / "net.yaml")
    monkeypatch.undo()
    written = written_paths(text, "yaml")
    assert written["import"] == (tmp_path / "src" / "lib" / "lib.yaml").as_posix()
    assert written["weights"] == (tmp_path / "data" / "w.pt").as_posix()


def test_a_data_shorthand_naming_a_folder_beside_the_spec_is_rebased(tmp_path, monkeypatch):
    # `data: imgs` names the folder src/imgs (it exists beside the spec), as `--data imgs` would from src/
    (tmp_path / "src" / "imgs" / "a").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "src" / "s.yaml").write_text("input: [1, 4, 4]\nlayers: [flatten, dense: 2]\ntrain: {data: imgs}\n",
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "src/s.yaml", "-o", "out/s.yaml"]) == 0
    written = yaml.safe_load((tmp_path / "out" / "s.yaml").read_text(encoding="utf-8"))["train"]["data"]
    assert (tmp_path / "out" / written).resolve() == (tmp_path / "src" / "imgs").resolve()
