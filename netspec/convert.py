"""``netspec convert``: a spec from YAML to the DSL and back, comments carried over.

Conversion works on the raw tree (before block expansion), so blocks stay blocks and imports stay
imports (``imports: [lib.yaml]`` <-> ``import "lib.yaml"``; the library is not inlined, and a block
library converts too). The source is
validated first, and the result is read back and compared with it: a conversion that would change
the validated spec is an error, never a silent rewrite.

Text written for another folder has its relative paths rewritten (:func:`rebase_paths`): every path netspec
reads relative to the spec's folder (:data:`ANCHORED`: the imports and the recipe's files) names the same file
from the new folder. The read-back reads the written text from that folder, so a path that would not is an
error there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netspec.core.errors import Location, NetspecError, Problem, UsageError
from netspec.frontends import DSL_SUFFIXES, YAML_SUFFIXES, import_base, read_imports, read_source
from netspec.frontends.keys import IMPORTS_KEY
from netspec.frontends.write.base import CannotWrite
from netspec.spec.imports import is_library
from netspec.spec.load import validate, validate_library

FORMATS = ("yaml", "dsl")
TRAIN_KEY = "train"
# The recipe's paths read relative to the spec file's folder, as spec.train.anchor_paths anchors them (a test
# keeps the two in step), besides the imports: section -> its path keys.
ANCHORED: dict[str, tuple[str, ...]] = {"data": ("path", "val_path", "root"), "weights": ("path",)}


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


def rebase(value: str, source: str, output: str) -> str:
    """A path written relative to the folder ``source``, written relative to the folder ``output`` (both
    absolute) so that it names the same file, with forward slashes. Absolute paths and ``~`` paths stay as
    they are; where there is no relative path (another drive), the absolute one. Resolved as netspec resolves
    a spec's paths: joined and normalized, ``..`` taken away with the name before it."""
    if not value or os.path.isabs(os.path.expanduser(value)):  # "" names no file (the recipe skips it too)
        return value
    target = os.path.normpath(os.path.join(source, value))
    try:
        out = os.path.relpath(target, output)
    except ValueError:  # Windows: another drive
        out = target
    for sep in {os.sep, os.altsep} - {None, "/"}:
        out = out.replace(sep, "/")  # type: ignore[arg-type]
    if value.endswith(("/", "\\")) and not out.endswith("/"):  # `data: images/` still says a folder
        out += "/"
    return out


def rebase_paths(raw: Any, source: str, output: str) -> None:
    """Rewrite, in place, every relative path of a raw spec (or library) tree that netspec reads relative to
    the spec's folder (``imports``, and :data:`ANCHORED` under ``train``) from the folder ``source`` to the
    folder ``output`` (both absolute; see :func:`rebase`). A ``data:`` shorthand that names a file stays one:
    ``./images``, never ``images``, which would name a data set."""
    if not isinstance(raw, dict):
        return
    entries = raw.get(IMPORTS_KEY)
    if isinstance(entries, list):
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                entries[i] = rebase(entry, source, output)
    train = raw.get(TRAIN_KEY)
    if not isinstance(train, dict):
        return
    for section, keys in ANCHORED.items():
        value = train.get(section)
        if isinstance(value, dict):
            for key in keys:
                if isinstance(value.get(key), str):
                    value[key] = rebase(value[key], source, output)
        elif isinstance(value, str) and section == "data":
            from netspec.spec.train import data_shorthand, guess_data

            if "path" in data_shorthand(value, source):  # a file or folder (`imgs` beside it too), not a name
                moved = rebase(value, source, output)
                train[section] = moved if guess_data(moved).get("path") == moved else "./" + moved
        elif isinstance(value, str):
            train[section] = rebase(value, source, output)


def _anchored(spec: Any, folder: str) -> Any:
    """The spec with its recipe's paths made absolute from ``folder``: what the read-back compares."""
    if spec.train is None:
        return spec
    from netspec.spec.train import anchor_paths

    return spec.model_copy(update={"train": anchor_paths(spec.train, folder)})


def convert(source: str | os.PathLike[str], to: str | None = None, fmt: str | None = None,
            comments: bool = True, output: str | os.PathLike[str] | None = None) -> str:
    """The spec at ``source`` (a path, or text with ``fmt``) written in format ``to``.

    ``to`` defaults to the other format. ``output``: where the text will be read from: the file it will be
    written to (it need not exist yet), or a name in angle brackets (``"<stdout>"``) for text that is read
    from the current directory, as a spec given as text is. Where that folder is not the source's, every
    relative path netspec reads from the spec's folder (imports, ``train`` data and weights) is rewritten to
    name the same file from there. None: the source's own folder (the paths are written as they are).
    A source given as text is in the current directory.

    Raises the source's syntax/validation errors, and a NetspecError if the written text, read from
    ``output``'s folder, would not read back as the same spec.
    """
    from netspec.frontends import parser_for

    text, file, src_fmt = read_source(source, fmt)
    to = to or ("yaml" if src_fmt == "dsl" else "dsl")
    if to not in FORMATS:
        raise UsageError(f"unknown format '{to}'; expected 'yaml' or 'dsl'")
    raw = parser_for(src_fmt)(text, file)
    default = Path(file).stem if file != "<string>" and Path(file).stem.isidentifier() else "net"
    # the folder the paths are read from: the file's, or the current directory for text (`<stdout>` too),
    # as for imports (import_base) and for the recipe's files (train.api anchors them at the file's folder)
    base = import_base(file)
    out_base = base if output is None else import_base(os.fspath(output))
    here, there = (os.path.abspath(folder or os.curdir) for folder in (base, out_base))

    validated: list[Any] = []  # the source's Spec, for check's messages where the text cannot be written

    def check(tree: Any, name: str, folder: str) -> Any:  # a spec, or a block library (its blocks as plain data)
        if library:
            return validate_library(tree, name, folder)
        spec = validate(tree, name, default, folder)
        validated.append(spec)
        return _anchored(spec, os.path.abspath(folder or os.curdir)).model_dump()

    def libraries(tree: Any, name: str, folder: str) -> list[str]:  # the files imported, at every level
        return [os.path.realpath(lib.file) for lib in read_imports(tree, name, folder)[0]]

    library = is_library(raw)
    before = check(raw, file, base)
    imported = libraries(raw, file, base) if isinstance(raw, dict) and IMPORTS_KEY in raw else []
    if there != here:
        rebase_paths(raw, here, there)
    notes = None
    if comments:
        from netspec.frontends.write.comments import dsl_comments, yaml_comments

        notes = dsl_comments(text) if src_fmt == "dsl" else yaml_comments(text)
    try:
        out = write(raw, to, notes)
    except CannotWrite as exc:  # the spec validated, but holds something the other format has no words for
        if validated:  # a spec that `check` refuses (`from: ["ch:0"]`, a chunk's outputs being out0...): its words
            from netspec.api import analyze

            try:
                analyze(validated[0])
            except NetspecError as wrong:
                raise wrong from None
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
        again = check(tree, f"<converted {to}>", out_base)
        moved = libraries(tree, f"<converted {to}>", out_base) if isinstance(tree, dict) and IMPORTS_KEY in tree else []
    except NetspecError as exc:
        raise NetspecError(f"{file}: converting to {to} produced text that does not read back; this is a "
                           f"netspec bug, please report it:\n{exc}") from None
    if again != before or moved != imported:
        raise NetspecError(f"{file}: converting to {to} would change the spec; this is a netspec bug, "
                           "please report it")
    return out
