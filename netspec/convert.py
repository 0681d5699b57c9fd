"""``netspec convert``: a spec from YAML to the DSL and back, comments carried over.

Conversion works on the raw tree (before block expansion), so blocks stay blocks and imports stay
imports (``imports: [lib.yaml]`` <-> ``import "lib.yaml"``; the library is not inlined, and a block
library converts too). The source is
validated first, and the result is read back and compared with it: a conversion that would change
the validated spec is an error, never a silent rewrite.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netspec.core.errors import Location, NetspecError, Problem, UsageError
from netspec.frontends import DSL_SUFFIXES, YAML_SUFFIXES, import_base, read_source
from netspec.frontends.write.base import CannotWrite
from netspec.spec.imports import is_library
from netspec.spec.load import validate, validate_library

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
    base = import_base(file)  # the converted text is read back with the source's imports

    def check(tree: Any, name: str) -> Any:  # a spec, or a block library (its blocks as plain data)
        return validate_library(tree, name, base) if library else validate(tree, name, default, base).model_dump()

    library = is_library(raw)
    before = check(raw, file)
    notes = None
    if comments:
        from netspec.frontends.write.comments import dsl_comments, yaml_comments

        notes = dsl_comments(text) if src_fmt == "dsl" else yaml_comments(text)
    try:
        out = write(raw, to, notes)
    except CannotWrite as exc:  # the spec validated, but holds something the other format has no words for
        where = exc.location if exc.location is not None and exc.location.file == file else Location(file, 1, 1)
        names = {"dsl": "DSL", "yaml": "YAML"}
        raise NetspecError(problems=[Problem(f"this spec cannot be written as {names[to]}: {exc}", where,
                                             hint=f"keep it as {names[src_fmt]}, or write this part another way")]) \
            from None
    if to == "dsl":
        from netspec.frontends.dsl.errors import open_brackets

        _, deep = open_brackets(out, f"<converted {to}>")
        if deep is not None:  # a value nested deeper than the DSL reads: a limit of the DSL, not a bug
            raise NetspecError(problems=[Problem(f"this spec cannot be written as DSL: it would have {deep.message}, "
                                                 "more than the DSL reads", Location(file, 1, 1),
                                                 hint="keep it as YAML")])
    try:
        tree = parser_for(to)(out, f"<converted {to}>")
        library = library and is_library(tree)
        again = check(tree, f"<converted {to}>")
    except NetspecError as exc:
        raise NetspecError(f"{file}: converting to {to} produced text that does not read back; this is a "
                           f"netspec bug, please report it:\n{exc}") from None
    if again != before:
        raise NetspecError(f"{file}: converting to {to} would change the spec; this is a netspec bug, "
                           "please report it")
    return out
