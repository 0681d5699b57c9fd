"""Files written whole or not at all (netspec.core.atomic), the one writer behind ``export``, ``import``,
``schema -o``, ``convert -o`` and the run directory: a file appears only when its block succeeds, a set of
files together, with the usual mode, never through a planted link, never leaving a temporary file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from netspec.core.atomic import WriteError, staged, staged_files, write_atomic


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _usual_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def test_staged_file_appears_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), staged(path) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the check failed")
    assert list(tmp_path.iterdir()) == []
    with staged(path) as temporary:
        temporary.write_bytes(b"whole")
        assert not path.exists()
        assert temporary.name.startswith(".out.bin.") and temporary.name.endswith(".partial.bin")  # the suffix kept
    assert path.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [path]
    assert stat.S_IMODE(path.stat().st_mode) == _usual_mode()  # not mkstemp's private 0o600


def test_staged_files_appear_only_once_the_block_has_written_all(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    with pytest.raises(RuntimeError):
        with staged_files([a, b]) as (ta, tb):
            ta.write_text("new a")
            raise RuntimeError("the second file fails")
    assert _listing(tmp_path) == ["a.txt"] and a.read_text() == "old a"  # untouched, no temporary left
    with staged_files([a, b]) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
        assert not b.exists()  # nothing is in place before the block ends
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert _listing(tmp_path) == ["a.txt", "b.txt"]


def test_errors_name_the_output_never_the_temporary_file(tmp_path):
    missing = tmp_path / "no" / "x.txt"
    with pytest.raises(WriteError) as info, staged(missing):
        pass
    assert info.value.path == missing and info.value.errno == errno.ENOENT and info.value.is_path_problem
    assert isinstance(info.value.__cause__, FileNotFoundError)
    (tmp_path / "d").mkdir()
    with pytest.raises(WriteError) as info, staged(tmp_path / "d") as temporary:
        pytest.fail(f"the block ran for a directory: {temporary}")  # refused before the work
    assert info.value.path == tmp_path / "d" and info.value.errno == errno.EISDIR
    out = tmp_path / "full.txt"
    with pytest.raises(WriteError) as info, staged(out) as temporary:  # the disk fills while the block writes
        raise OSError(errno.ENOSPC, "No space left on device", str(temporary))
    assert info.value.errno == errno.ENOSPC and info.value.path == out and not info.value.is_path_problem
    assert str(info.value).startswith(f"cannot write {out}: no space left on device")
    assert temporary.name not in str(info.value)
    assert _listing(tmp_path) == ["d"]


def test_write_atomic_replaces_a_planted_link_and_leaves_nothing_on_failure(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    out = tmp_path / "out.txt"
    out.symlink_to(victim)
    assert write_atomic(out, lambda f: f.write(b"new"), suffix=".tmp") == out
    assert victim.read_text() == "keep" and out.read_text() == "new" and not out.is_symlink()
    assert stat.S_IMODE(out.stat().st_mode) == _usual_mode()

    def fails(f):
        f.write(b"half")
        raise ValueError("the writer fails")

    with pytest.raises(ValueError, match="the writer fails"):
        write_atomic(out, fails, suffix=".tmp")
    assert out.read_text() == "new" and _listing(tmp_path) == ["out.txt", "victim"]


def test_the_file_is_synced_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    """A crash after the rename must not leave an empty file: the temporary file is fsynced first."""
    import netspec.core.atomic as atomic

    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (order.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                        real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (order.append(("replace", str(a))), real_replace(a, b))[1])
    write_atomic(tmp_path / "x.bin", lambda f: f.write(b"data"))
    (kind, first), (kind2, second) = order[:2]
    assert (kind, kind2) == ("fsync", "replace") and first == second and ".x.bin." in first


def test_a_failed_write_wrapped_by_the_writer_still_names_the_output(tmp_path):
    """torch.save turns a failed write of its file object into its own RuntimeError: the failure is
    still the output's (the file object saw it), with the system's reason."""
    out = tmp_path / "w.pt"
    out.write_bytes(b"old")

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")  # what a write on a full disk raises

    def writer(f):
        f.write(b"PK")
        try:
            f._f.write = Full(f._f).write  # the disk fills after the first bytes
            f.write(b"rest")
        except OSError as exc:
            raise RuntimeError("PytorchStreamWriter failed writing file") from exc

    with pytest.raises(WriteError) as info:
        write_atomic(out, writer)
    assert info.value.path == out and info.value.errno == errno.ENOSPC
    assert out.read_bytes() == b"old" and _listing(tmp_path) == ["w.pt"]


def test_only_failures_of_the_write_become_write_errors(tmp_path):
    """Decided by where it came from: a write error without a name (a path-taking writer's full disk) is
    the outputs'; an OSError about another file, or netspec's own error, passes through as raised."""
    a, b = tmp_path / "a.yaml", tmp_path / "b.pt"
    with pytest.raises(WriteError) as info, staged_files([a, b]):
        raise OSError(errno.EFBIG, "File too large")
    assert info.value.paths == (a, b) and str(info.value).startswith(f"cannot write {a} and {b}: file too large")
    other = tmp_path / "package-data.json"
    with pytest.raises(FileNotFoundError) as lookup, staged(a):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(other))
    assert lookup.value.filename == str(other)
    from netspec.core.errors import BuildError

    with pytest.raises(BuildError), staged(a):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise BuildError("the exporter refused the network") from None
    assert _listing(tmp_path) == []
