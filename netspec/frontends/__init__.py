"""Frontends: spec text -> the raw tree (``PosDict``/``PosList`` with source positions), no validation.

Each format is one module (``yaml``, ``dsl``) with a ``parse_*(text, file)`` function; :func:`parse`
reads a path or text, tells the format and dispatches. ``write/`` turns a raw tree back into text.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from netspec.core.errors import Location, NetspecError, Problem, SpecSyntaxError, UsageError
from netspec.core.fmt import show
from netspec.core.source import MAX_TEXT_BYTES
from netspec.frontends.keys import IMPORTS_KEY

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
            keyword = re.match(r"(netspec|input|inputs|block|network|description|import)\b(?!\s*:)", line)
            return "dsl" if keyword else "yaml"
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


# ------------------------------------------------------------------------------------------------
# imports: the block libraries a spec names under `imports:` (YAML) or with `import "..."` (DSL)

LIBRARY_SUFFIXES = (*YAML_SUFFIXES, *DSL_SUFFIXES)
MAX_IMPORTS = 64  # library files one spec may reach, at every level together
MAX_IMPORT_DEPTH = 8  # a spec imports a library that imports a library ...: at most this many levels


@dataclass
class Library:
    """One imported file, read and parsed (not validated: which keys a library may hold is the spec
    stage's business)."""

    file: str  # its path as locations in it say it: the importing file's folder joined with the entry
    raw: Any  # its raw tree
    where: Location | None  # the import entry that brought it in (the first, when several name it)
    chain: tuple[str, ...]  # the files from the spec down to this one


def import_base(file: str) -> str:
    """The folder a file's import paths are relative to: the file's own folder (whether or not it is saved
    yet: an editor's new buffer), or the current directory for a spec given as text (``<string>``)."""
    return "" if file.startswith("<") else os.path.dirname(file)


def read_imports(raw: Any, file: str, base: str | None = None) -> tuple[list[Library], list[Problem]]:
    """Read every library ``raw`` imports, and the libraries those import, depth first (a library's own
    imports come before it). Paths are relative to ``base`` (default :func:`import_base` of ``file``).

    A file reached twice (two libraries import a third) is read once; an import cycle, a missing or
    unreadable file, a file that is not ``.yaml``/``.yml``/``.ns``, a syntax error in a library, more
    than ``MAX_IMPORT_DEPTH`` levels or ``MAX_IMPORTS`` files are problems located at the import entry
    (a library's own syntax errors are located in it). Never raises for the user's input.
    """
    state = _Imports(base if base is not None else import_base(file))
    start = file if file.startswith("<") else os.path.realpath(file)
    state.walk(raw, state.base, (file,), (start,))
    return state.libraries, state.problems


class _Imports:
    def __init__(self, base: str) -> None:
        self.base = base
        self.libraries: list[Library] = []
        self.problems: list[Problem] = []
        self.seen: set[str] = set()
        self.stopped = False  # MAX_IMPORTS passed: say it once

    def problem(self, message: str, where: Location | None, hint: str = "") -> None:
        self.problems.append(Problem(message, where, IMPORTS_KEY, hint))

    def walk(self, raw: Any, folder: str, chain: tuple[str, ...], real_chain: tuple[str, ...]) -> None:
        if not isinstance(raw, dict) or IMPORTS_KEY not in raw:
            return
        entries = raw[IMPORTS_KEY]
        key_where = raw.where(IMPORTS_KEY) if hasattr(raw, "where") else None
        if not isinstance(entries, list):
            self.problem(f"'{IMPORTS_KEY}' is a list of spec files, got {show(entries)}",
                         raw.value_where(IMPORTS_KEY) if hasattr(raw, "value_where") else key_where,
                         "write 'imports: [blocks/transformer.yaml]' (paths relative to this file)")
            return
        for i, entry in enumerate(entries):
            where = entries.where(i) if hasattr(entries, "where") else key_where
            self.entry(entry, where or key_where, folder, chain, real_chain)

    def entry(self, entry: Any, where: Location | None, folder: str, chain: tuple[str, ...],
              real_chain: tuple[str, ...]) -> None:
        if not isinstance(entry, str) or not entry.strip() or "\0" in entry or len(entry) > MAX_PATH_CHARS:
            self.problem(f"an import is the path of a spec file, got {show(entry)}", where,
                         "write 'imports: [blocks/transformer.yaml]'")
            return
        if Path(entry).suffix.lower() not in LIBRARY_SUFFIXES:
            self.problem(f"cannot import '{entry}': a library is a .yaml, .yml or .ns file", where,
                         "name the file with its suffix, e.g. 'blocks/transformer.yaml'")
            return
        shown = os.path.normpath(os.path.join(folder, entry))
        real = os.path.realpath(shown)
        if real in real_chain:
            self.problem(f"import cycle: {' → '.join([*chain, shown])}", where,
                         "a library may not import, directly or not, a file that imports it; move the shared "
                         "blocks into a third file that both import")
            return
        if real in self.seen:  # two libraries import the same third one: read once
            return
        if len(chain) > MAX_IMPORT_DEPTH:
            self.problem(f"imports are nested more than {MAX_IMPORT_DEPTH} deep "
                         f"({' → '.join([*chain, shown])})", where, "import the libraries from fewer levels")
            return
        if len(self.seen) >= MAX_IMPORTS:
            if not self.stopped:
                self.stopped = True
                self.problem(f"the spec imports more than {MAX_IMPORTS} files", where,
                             "gather the blocks into fewer library files")
            return
        self.seen.add(real)
        try:
            text, file, fmt = read_source(Path(shown))
            raw = parser_for(fmt)(text, file)
        except NetspecError as err:
            inner = [p for p in err.problems if p.location is not None]
            reason = "" if inner else ": " + _reason(err, shown)
            self.problem(f"cannot import '{entry}'{reason}" + (" (its problems follow)" if inner else ""), where,
                         f"looked for {shown}; an import path is relative to the importing file's folder"
                         if not inner else "fix the library; each of its problems is located in it")
            self.problems.extend(inner)
            return
        self.walk(raw, os.path.dirname(shown), (*chain, shown), (*real_chain, real))
        self.libraries.append(Library(shown, raw, where, (*chain, shown)))


def _reason(err: NetspecError, shown: str) -> str:
    text = (err.problems[0].message if err.problems else str(err)).split("\n", 1)[0]
    return "no such file" if text.startswith("no such file") else text.replace(f"{shown}: ", "")
