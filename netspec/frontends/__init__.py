"""Frontends: spec text -> the raw tree (``PosDict``/``PosList`` with source positions), no validation.

Each format is one module (``yaml``, ``dsl``) with a ``parse_*(text, file)`` function; :func:`parse`
reads a path or text, tells the format and dispatches. ``write/`` turns a raw tree back into text.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, Callable

from netspec.core.errors import Location, NetspecError, Problem, SpecSyntaxError, UsageError
from netspec.core.source import MAX_TEXT_BYTES

YAML_SUFFIXES = (".yaml", ".yml")
DSL_SUFFIXES = (".ns",)


def parser_for(fmt: str) -> Callable[[str, str], Any]:
    """The ``parse_*(text, file)`` function of a format (``yaml`` or ``dsl``)."""
    if fmt == "yaml":
        from netspec.frontends.yaml import parse_yaml

        return parse_yaml
    if fmt == "dsl":
        from netspec.frontends.dsl import parse_dsl

        return parse_dsl
    raise NetspecError(f"unknown spec format '{fmt}'; expected 'yaml' or 'dsl'")


def _guess_format(text: str) -> str:
    """Spec text: DSL when its first statement opens with a DSL keyword (``netspec lenet5``,
    ``input [1, 28, 28]``, ``block``, ``network``), else YAML."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return "dsl" if re.match(r"(netspec|input|inputs|block|network|description)\b(?!\s*:)", line) else "yaml"
    return "yaml"


MAX_PATH_CHARS = 4096  # a longer string is spec text, never a path


def read_source(source: str | os.PathLike[str], fmt: str | None = None) -> tuple[str, str, str]:
    """(text, file name, format) for a path or a spec given as text.

    A file must be a regular file (not a device, a FIFO or a folder) of at most ``MAX_TEXT_BYTES``;
    both are checked before reading.

    Raises:
        UsageError: not a str or path, no such file, not a regular file.
        NetspecError: the file cannot be read.
        SpecSyntaxError: the text or the file is too large, or the file is not UTF-8 text.
    """
    if isinstance(source, bytes):
        raise UsageError("a spec is a path or text, got bytes; decode them first (data.decode('utf-8'))")
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(f"a spec is a path, spec text, a dict or a Spec, got {type(source).__name__}")
    if isinstance(source, str):
        if "\0" in source:
            raise UsageError("a spec path or text may not contain a NUL character")
        text_like = "\n" in source or len(source) > MAX_PATH_CHARS or (":" in source and not os.path.exists(source))
        if text_like:
            _check_size(source, "<string>")
            return source, "<string>", fmt or _guess_format(source)
    path = Path(source)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(problems=[Problem(f"no such file: {path}", hint="check the path; specs/ holds examples")]) \
            from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a loop of links
        raise NetspecError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path}: is a directory, expected a spec file (.yaml or .ns)")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: not a regular file (a device, a pipe or a socket); a spec is a .yaml or .ns file")
    if info.st_size > MAX_TEXT_BYTES:
        raise SpecSyntaxError(problems=[Problem(_too_large(info.st_size), Location(str(source), 1, 1))])
    suffix = path.suffix.lower()
    if fmt is None:
        fmt = "dsl" if suffix in DSL_SUFFIXES else "yaml"
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TEXT_BYTES + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise NetspecError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_TEXT_BYTES:
        raise SpecSyntaxError(problems=[Problem(_too_large(len(data)), Location(str(source), 1, 1))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecSyntaxError(problems=[Problem("not a UTF-8 text file", Location(str(source), line, column),
                                                hint="save the spec as UTF-8 text")]) from None
    return text, str(source), fmt


def _too_large(size: int) -> str:
    return (f"the spec is {size:,} bytes, more than the {MAX_TEXT_BYTES // 1_000_000} MB a spec may have; "
            "refusing to read it")


def _check_size(text: str, file: str) -> None:
    if len(text) > MAX_TEXT_BYTES or len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise SpecSyntaxError(problems=[Problem(_too_large(len(text.encode("utf-8", "replace"))),
                                                Location(file, 1, 1))])


def parse(source: str | os.PathLike[str], fmt: str | None = None) -> tuple[Any, str]:
    """Raw tree (with positions) and file name, from a path or text."""
    text, file, fmt = read_source(source, fmt)
    return parser_for(fmt)(text, file), file


