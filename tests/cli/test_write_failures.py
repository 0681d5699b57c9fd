"""A write the environment refuses midway (a full disk, a file-size limit) is the user's environment, not a
bug (docs/cli.md, "Files written"): the message names the file, or standard output, and the system's
reason, exit 1; an output file is written whole or not at all (an existing one is left as it was), and
text on standard output is never cut short with exit 0.

Reproduced for real in a subprocess of the command line: RLIMIT_FSIZE (``ulimit -f``; Python ignores
SIGXFSZ, so the write fails with EFBIG) and /dev/full (every write fails with ENOSPC). Linux only."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):  # pragma: no cover
    pytest.skip("RLIMIT_FSIZE behaviour and /dev/full are Linux's", allow_module_level=True)

import resource

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "specs" / "lenet5.yaml"
RESNET = ROOT / "specs" / "resnet50.yaml"
FILE_TOO_LARGE = os.strerror(errno.EFBIG).lower()  # "file too large"
NO_SPACE = os.strerror(errno.ENOSPC).lower()  # "no space left on device"


def _limit(size: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
    return apply


def cli(args: list[str], cwd: Path, *, fsize: int | None = None, stdout: Path | str | None = None,
        unbuffered: bool = False, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python3 cli.py ARGS`` in ``cwd``: files limited to ``fsize`` bytes, stdout into ``stdout`` (a file,
    /dev/full) or a pipe; stderr is a pipe, which no file-size limit applies to."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "NETSPEC_DEBUG")}
    env["PYTHONPATH"] = str(ROOT)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    out = open(stdout, "w") if stdout is not None else subprocess.PIPE  # noqa: SIM115
    try:
        return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, env=env, stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              preexec_fn=_limit(fsize) if fsize is not None else None)
    finally:
        if stdout is not None:
            out.close()  # type: ignore[union-attr]


def _no_bug(done: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


# --- files written with -o ------------------------------------------------------------------------------

def test_draw_leaves_an_existing_picture_as_it_was_when_the_write_fails(tmp_path):
    pytest.importorskip("graphviz")
    out = tmp_path / "r.svg"
    out.write_text("a good picture")
    # resnet50's svg is hundreds of KiB: a 4 KiB limit stops it midway
    done = cli(["draw", str(RESNET), "-o", "r.svg"], tmp_path, fsize=4096)
    _no_bug(done)
    assert done.returncode == 1, done.stderr
    assert f"cannot write r.svg: {FILE_TOO_LARGE}" in done.stderr
    assert out.read_text() == "a good picture"  # not replaced, not truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.svg"]  # no temporary file left


def _has(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


WRITERS = {
    "schema": (["schema", "-o", "{out}"], "s.json"),
    "convert": (["convert", str(RESNET), "-o", "{out}"], "r.ns"),
    "export-py": (["export", str(LENET), "-o", "{out}"], "l.py"),
    "export-onnx": (["export", str(LENET), "-o", "{out}"], "l.onnx"),
    "export-pt2": (["export", str(LENET), "-o", "{out}"], "l.pt2"),
    "draw-dot": (["draw", str(RESNET), "-o", "{out}"], "r.dot"),
}


@pytest.mark.parametrize("case", list(WRITERS))
def test_a_file_too_large_is_named_with_its_reason_exit_1_and_nothing_left(case, tmp_path):
    if case == "export-onnx" and not _has("onnx", "onnxruntime"):
        pytest.skip("ONNX export needs onnx and onnxruntime")
    argv, name = WRITERS[case]
    # every one of these files is larger than 1 KiB (lenet5's weights alone are 61,706 floats)
    done = cli([a.format(out=name) for a in argv], tmp_path, fsize=1024)
    _no_bug(done)
    assert done.returncode == 1, done.stderr
    assert f"cannot write {name}: {FILE_TOO_LARGE}" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing partial, no temporary file


# --- standard output ------------------------------------------------------------------------------------

DEV_FULL = Path("/dev/full")

STDOUT_COMMANDS = {
    "check": ["check", str(LENET)],
    "check-json": ["check", str(LENET), "--json"],
    "convert": ["convert", str(LENET)],
    "kinds": ["kinds"],
    "schema": ["schema"],
}


@pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("case", list(STDOUT_COMMANDS))
def test_a_full_standard_output_is_an_error_naming_it(case, tmp_path):
    done = cli(STDOUT_COMMANDS[case], tmp_path, stdout=DEV_FULL)
    _no_bug(done)
    assert done.returncode == 1, done.stderr
    assert f"netspec: error: cannot write standard output: {NO_SPACE}" in done.stderr, done.stderr
    assert done.stderr.count("cannot write standard output") == 1  # said once, not again at exit


TRUNCATED = {
    "convert": ["convert", str(RESNET)],
    "check": ["check", str(RESNET)],
    "draw-dot": ["draw", "--format", "dot", str(RESNET)],
    "export-py": ["export", str(LENET)],
}


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
@pytest.mark.parametrize("case", list(TRUNCATED))
def test_standard_output_cut_by_a_size_limit_never_exits_0(case, unbuffered, tmp_path):
    # each output is several KiB (resnet50's table, DOT and text; lenet5's Python source): 1 KiB stops it
    out = tmp_path / "out.txt"
    done = cli(TRUNCATED[case], tmp_path, fsize=1024, stdout=out, unbuffered=unbuffered)
    _no_bug(done)
    assert done.returncode == 1, done.stderr
    assert f"cannot write standard output: {FILE_TOO_LARGE}" in done.stderr, done.stderr
    assert "wrote" not in done.stderr  # export does not claim it wrote the source
    assert out.stat().st_size <= 1024


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_standard_output_within_the_limit_is_whole_and_exits_0(unbuffered, tmp_path):
    out = tmp_path / "out.ns"
    whole = cli(["convert", str(RESNET)], tmp_path)
    assert whole.returncode == 0, whole.stderr
    done = cli(["convert", str(RESNET)], tmp_path, fsize=len(whole.stdout.encode()) + 1, stdout=out,
               unbuffered=unbuffered)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert out.read_text() == whole.stdout


@pytest.mark.parametrize("args", [["kinds"], ["draw", "--format", "dot", str(RESNET)]], ids=["kinds", "draw"])
def test_a_reader_that_leaves_early_ends_the_command_quietly(args, tmp_path):
    """`netspec kinds | head -1`: the pipe closes; the command ends, exit 0, nothing on stderr (as before)."""
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == "", err
