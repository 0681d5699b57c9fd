"""Every command that writes a file refuses a destination it cannot write the same way: before the work,
with the flag, the path, why and a hint, exit 2 (as a missing input file). A run directory is created
with its parents (docs/cli.md); a file in the way of one is refused the same way."""

from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from netspec.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "specs" / "lenet5.yaml"
PERCEPTRON = ROOT / "specs" / "perceptron.yaml"


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    path = tmp_path_factory.mktemp("onnx") / "mlp.onnx"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval(), torch.randn(1, 4),
                          str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}})
    return path


def _commands(out: Path, onnx: Path | None) -> dict[str, tuple[list[str], str, str]]:
    """name -> (argv, the flag named, the path named) for a destination `out` in a missing folder."""
    cases = {
        "draw": (["draw", str(LENET), "-o", str(out / "x.dot")], "-o", str(out / "x.dot")),
        "export-py": (["export", str(LENET), "-o", str(out / "x.py")], "-o", str(out / "x.py")),
        "export-onnx": (["export", str(LENET), "-o", str(out / "x.onnx")], "-o", str(out / "x.onnx")),
        "convert": (["convert", str(LENET), "-o", str(out / "x.ns")], "-o", str(out / "x.ns")),
        "schema": (["schema", "-o", str(out / "s.json")], "-o", str(out / "s.json")),
    }
    if onnx is not None:
        cases["import"] = (["import", str(onnx), "-o", str(out / "x.yaml")], "-o", str(out / "x.yaml"))
        cases["import-weights"] = (["import", str(onnx), "--weights-out", str(out / "w.pt")], "--weights-out",
                                   str(out / "w.pt"))
    return cases


CASES = ["draw", "export-py", "export-onnx", "convert", "schema", "import", "import-weights"]


@pytest.mark.parametrize("case", CASES)
def test_a_missing_folder_is_a_usage_error_before_the_work(case, tmp_path, capsys, monkeypatch, request):
    onnx = request.getfixturevalue("onnx_file") if case.startswith("import") else None
    missing = tmp_path / "missing" / "dir"
    argv, flag, path = _commands(missing, onnx)[case]
    import netspec.interop.export as export
    import netspec.interop.onnx_import as onnx_import

    def no_work(*a, **k):
        raise AssertionError("the work started before the destination was checked")

    monkeypatch.setattr(export, "export", no_work)
    monkeypatch.setattr(onnx_import, "import_onnx", no_work)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"netspec: error: {flag} {path}: cannot write there: the folder '{missing}' does not exist" in err, err
    assert f"hint: create it first (mkdir -p {missing})" in err
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("case", CASES)
def test_a_file_where_the_folder_should_be_is_a_usage_error(case, tmp_path, capsys, request):
    onnx = request.getfixturevalue("onnx_file") if case.startswith("import") else None
    (tmp_path / "f").write_text("a file")
    argv, flag, path = _commands(tmp_path / "f", onnx)[case]
    assert main(argv) == 2
    assert f"{flag} {path}: cannot write there: '{tmp_path / 'f'}' is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_an_existing_folder_given_as_the_file_is_said_to_be_a_folder(case, force, tmp_path, capsys, request):
    # not "exists; use --force" first, then "is a folder" once --force is given: --force cannot help
    onnx = request.getfixturevalue("onnx_file") if case.startswith("import") else None
    argv, flag, path = _commands(tmp_path, onnx)[case]
    Path(path).mkdir()
    forced = force if case not in ("draw", "schema") else []  # these two overwrite without asking
    assert main(argv + forced) == 2
    err = capsys.readouterr().err
    assert f"netspec: error: {flag} {path}: cannot write there: is a folder" in err and "exists" not in err, err
    assert Path(path).is_dir() and not any(Path(path).iterdir())


def test_a_run_directory_is_created_with_its_parents(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "run"
    assert main(["build", str(PERCEPTRON), "--epochs", "1", "--out", str(out), "-q"]) == 0
    assert (out / "last.pt").is_file()
    capsys.readouterr()
    (tmp_path / "f").write_text("a file")
    for extra in ([], ["--dry-run"]):
        assert main(["build", str(PERCEPTRON), "--epochs", "1", "--out", str(tmp_path / "f" / "run"), *extra]) == 2
        assert f"--out {tmp_path / 'f' / 'run'}: cannot create it: '{tmp_path / 'f'}' is a file, not a directory" \
            in capsys.readouterr().err


def test_the_default_run_directory_is_checked_before_the_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("a file where runs/ goes")
    assert main(["build", str(PERCEPTRON), "--epochs", "1"]) == 2
    assert "the run directory runs/perceptron: cannot create it: 'runs' is a file" in capsys.readouterr().err


def test_an_os_error_on_a_path_exits_2_and_a_full_disk_exits_1(tmp_path, capsys, monkeypatch):
    """What slips past the checks (a folder removed meanwhile) is a path problem (2); a write that fails
    midway (a full disk) is not the path's fault (1)."""
    import netspec.cli.check as check

    def fails(code):
        def run(args):
            raise OSError(code, "simulated", str(tmp_path / "x.json"))
        return run

    for code, rc in ((errno.ENOENT, 2), (errno.EACCES, 2), (errno.ENOSPC, 1)):
        monkeypatch.setattr(check, "run_schema", fails(code))
        assert main(["schema"]) == rc, code
        assert "internal error" not in capsys.readouterr().err


def test_an_os_error_on_netspec_s_own_file_is_a_bug_not_the_user_s(capsys, monkeypatch):
    """Which OSError is the user's is decided by where it came from: one naming a file of netspec's own
    package (a broken install, a bug) is an internal error (3), never 'no such file' blamed on the user."""
    import netspec
    import netspec.cli.check as check

    own = Path(netspec.__file__).resolve().parent / "data" / "missing.json"

    def run(args):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(own))

    monkeypatch.setattr(check, "run_schema", run)
    assert main(["schema"]) == 3
    assert "internal error" in capsys.readouterr().err


def test_a_write_error_of_an_output_names_it_and_exits_1(tmp_path, capsys, monkeypatch):
    """core.atomic's WriteError (a full disk while writing the output) is one message, exit 1, in the JSON
    object too with --json; a path that cannot be written at all is a usage error (2)."""
    import netspec.cli.check as check
    from netspec.core.atomic import WriteError

    out = tmp_path / "x.json"
    for code, rc in ((errno.ENOSPC, 1), (errno.EFBIG, 1), (errno.EACCES, 2)):
        def run(args, code=code):
            raise WriteError(out, OSError(code, os.strerror(code)))

        monkeypatch.setattr(check, "run_schema", run)
        assert main(["schema"]) == rc, code
        err = capsys.readouterr().err
        assert f"netspec: error: cannot write {out}: {os.strerror(code).lower()}" in err, err
