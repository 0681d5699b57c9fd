"""Argument parsing shared by several commands."""

from __future__ import annotations

from netspec.core.errors import UsageError
from netspec.core.fmt import bounds_text
from netspec.spec.model import MAX_DIM

_SIZE = f"a size must be a whole number {bounds_text(1, MAX_DIM)}"  # as the spec says of an input's size


def bind_sizes(values: list[str] | None) -> dict[str, int]:
    """``--bind T=10 --bind B=3`` -> ``{"T": 10, "B": 3}``; anything else is a UsageError."""
    out = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        value = value.strip()
        digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
        whole = value.removeprefix("-")
        if sep and name.isidentifier() and whole.isascii() and whole.isdigit() and not digits:  # 0, -3
            raise UsageError(f"--bind {name}: {_SIZE}, got {clip(value)}")
        if not sep or not name.isidentifier() or not digits:
            raise UsageError(f"--bind takes NAME=SIZE (e.g. T=10), got '{clip(item)}'")
        if len(digits) > 9 or int(digits) > MAX_DIM:
            raise UsageError(f"--bind {name}: {_SIZE}, got {clip(value)}")
        value = digits
        out[name] = int(value)
    return out


def flag_number(text: str) -> float:
    """The ``type`` of every float flag (``--lr``, ``--val-split``, ``--momentum``, ...): a finite number.
    NaN and the infinities (``nan``, ``inf``, ``1e999``) are refused as not finite, and every refusal
    shows the value as it was typed (never Python's or YAML's spelling of the float it became): the value
    is a :class:`~netspec.spec.train.TypedFloat`, which keeps the text for the range checks made later
    (``--lr 1e-400``: "must be a number > 0 ..., got 1e-400 (... underflows to 0 ...)").

    Raises:
        argparse.ArgumentTypeError: argparse's ``argument --lr: ...`` (exit 2)."""
    import argparse
    import math

    from netspec.spec.train import TypedFloat

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{clip(text)}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {clip(text)}")
    return TypedFloat(value, text)


MAX_DIGITS = 30  # of a whole-number flag: every bound is far below 10**30


def flag_whole(text: str) -> int:
    """The ``type`` of every whole-number flag (``--epochs``, ``--batch-size``, ``check --batch``, ...): a
    whole number, written as ``--set`` and a spec may write it (``1000``, ``1e3``, ``+5``); the value is a
    :class:`~netspec.spec.train.TypedInt` that keeps the text typed, which every range refusal quotes.

    Raises:
        argparse.ArgumentTypeError: not a number, not finite, or not whole, with the text typed (exit 2)."""
    import argparse
    import math

    from netspec.spec.train import TypedInt

    plain = text.strip()
    if len(plain.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"must be a whole number of at most {MAX_DIGITS} digits, got {clip(text)}")
    try:
        return TypedInt(int(plain), text)
    except ValueError:
        pass
    try:
        value = float(plain)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got '{clip(text)}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {clip(text)}")
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"must be a whole number, got {clip(text)}")
    return TypedInt(int(value), text)


def typed(value: object) -> str:
    """A flag's value as the user typed it (a :func:`flag_number` or :func:`flag_whole` value), for a message."""
    return clip(str(getattr(value, "text", value)))


_STDIN: list[str] = []  # the spec text read from standard input ('-'), once


def spec_source(path: str) -> str:
    """A command's spec argument: the path, or for ``-`` the spec text read from standard input (its
    locations then read ``<stdin>``)."""
    if path != "-":
        return path
    if not _STDIN:
        import sys

        text = sys.stdin.read()
        if not text.strip():
            raise UsageError("'-' reads the spec from standard input, which was empty")
        _STDIN.append(text if "\n" in text else text + "\n")
    return _STDIN[0]


def stdin_used() -> bool:
    return bool(_STDIN)


def forget_stdin() -> None:
    """A new command reads its standard input afresh (a process runs one; tests and callers of ``main``
    run several in one process)."""
    _STDIN.clear()


def clip(text: str) -> str:
    """A piece of the command line as a message quotes it: cut to 40 characters."""
    return text if len(text) <= 40 else text[:37] + "..."


def check_output_file(path: str, flag: str, force: bool | None = None) -> None:
    """Refuse an output file that cannot be written, before any work: a missing folder, a file where a
    folder should be, a folder given as the file, no permission. Every command that writes a file it was
    given (``draw -o``, ``export -o``, ``convert -o``, ``schema -o``, ``import -o`` and ``--weights-out``)
    calls this first: a destination that cannot be written is a usage error, as a missing input file is
    (exit 2), said before the work is spent. Folders are never created for a file; a run directory
    (``build --out``) is created with its parents, as ``runs/<spec>/<time>`` is. ``force``: the command's
    ``--force`` (False: an existing file is refused, after a folder is: ``--force`` cannot write over one).

    Raises:
        UsageError: the flag, the path and what to do (exit 2)."""
    import os
    from pathlib import Path

    out = Path(path)
    parent = out.parent
    problem = None
    if out.is_dir():
        problem = "is a folder\n    hint: give a file name, not a folder"
    elif force is False and out.exists():
        raise UsageError(f"{path} exists; use --force to overwrite it")
    elif not parent.exists():
        problem = (f"the folder '{parent}' does not exist\n    hint: create it first (mkdir -p {parent}) "
                   "or choose another path")
    elif not parent.is_dir():
        problem = f"'{parent}' is a file, not a folder\n    hint: check the path"
    elif not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        problem = "permission denied\n    hint: choose a path you may write, e.g. in the current folder"
    if problem:
        raise UsageError(f"{flag} {path}: cannot write there: {problem}")
