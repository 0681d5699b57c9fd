"""``netspec convert``: a spec from YAML to the DSL and back, comments carried over.

Conversion works on the raw tree (before block expansion), so blocks stay blocks. The source is
validated first, and the result is read back and compared with it: a conversion that would change
the validated spec is an error, never a silent rewrite.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netspec.core.errors import Location, NetspecError, Problem, UsageError
from netspec.frontends import DSL_SUFFIXES, YAML_SUFFIXES, read_source
from netspec.spec.load import validate

FORMATS = ("yaml", "dsl")


def format_of(path: str | os.PathLike[str]) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in DSL_SUFFIXES:
        return "dsl"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    return None


def write(raw: Any, to: str, comments: Any = None) -> str:
    """Text in format ``to`` ('yaml' or 'dsl') for a raw spec tree."""
    if to == "dsl":
        from netspec.frontends.write.dsl import to_dsl

        return to_dsl(raw, comments)
    if to == "yaml":
        from netspec.frontends.write.yaml import to_yaml

        return to_yaml(raw, comments)
    raise UsageError(f"unknown format '{to}'; expected 'yaml' or 'dsl'")


def convert(source: str | os.PathLike[str], to: str | None = None, fmt: str | None = None,
            comments: bool = True) -> str:
    """The spec at ``source`` (a path, or text with ``fmt``) written in format ``to``.

    ``to`` defaults to the other format. Raises the source's syntax/validation errors, and a
    NetspecError if the written text would not read back as the same spec.
    """
    from netspec.frontends import parser_for

    text, file, src_fmt = read_source(source, fmt)
    to = to or ("yaml" if src_fmt == "dsl" else "dsl")
    if to not in FORMATS:
        raise UsageError(f"unknown format '{to}'; expected 'yaml' or 'dsl'")
    raw = parser_for(src_fmt)(text, file)
    default = Path(file).stem if file != "<string>" and Path(file).stem.isidentifier() else "net"
    spec = validate(raw, file, default)
    notes = None
    if comments:
        from netspec.frontends.write.comments import dsl_comments, yaml_comments

        notes = dsl_comments(text) if src_fmt == "dsl" else yaml_comments(text)
    out = write(raw, to, notes)
    if to == "dsl":
        from netspec.frontends.dsl.errors import open_brackets

        _, deep = open_brackets(out, f"<converted {to}>")
        if deep is not None:  # a value nested deeper than the DSL reads: a limit of the DSL, not a bug
            raise NetspecError(problems=[Problem(f"this spec cannot be written as DSL: it would have {deep.message}, "
                                                 "more than the DSL reads", Location(file, 1, 1),
                                                 hint="keep it as YAML")])
    try:
        again = validate(parser_for(to)(out, f"<converted {to}>"), f"<converted {to}>", default)
    except NetspecError as exc:
        raise NetspecError(f"{file}: converting to {to} produced text that does not read back; this is a "
                           f"netspec bug, please report it:\n{exc}") from None
    if again.model_dump() != spec.model_dump():
        raise NetspecError(f"{file}: converting to {to} would change the spec; this is a netspec bug, "
                           "please report it")
    return out
