"""Frontends: spec text -> the raw tree (``PosDict``/``PosList`` with source positions), no validation.

Each format is one module (``yaml``, ``dsl``) with a ``parse_*(text, file)`` function; :func:`parse`
reads a path or text, tells the format and dispatches. ``write/`` turns a raw tree back into text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

from netspec.core.errors import NetspecError, Problem, UsageError

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


def read_source(source: str | os.PathLike[str], fmt: str | None = None) -> tuple[str, str, str]:
    """(text, file name, format) for a path or a spec given as text."""
    text_like = isinstance(source, str) and ("\n" in source or ":" in source and not os.path.exists(source))
    if text_like:
        return str(source), "<string>", fmt or _guess_format(str(source))
    path = Path(source)
    if not path.exists():
        raise UsageError(problems=[Problem(f"no such file: {path}", hint="check the path; specs/ holds examples")])
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, expected a spec file (.yaml or .ns)")
    suffix = path.suffix.lower()
    if fmt is None:
        fmt = "dsl" if suffix in DSL_SUFFIXES else "yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NetspecError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise NetspecError(f"{path}: cannot read: {exc.strerror}") from None
    return text, str(source), fmt


def parse(source: str | os.PathLike[str], fmt: str | None = None) -> tuple[Any, str]:
    """Raw tree (with positions) and file name, from a path or text."""
    text, file, fmt = read_source(source, fmt)
    return parser_for(fmt)(text, file), file


