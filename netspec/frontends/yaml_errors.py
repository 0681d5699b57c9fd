"""PyYAML's syntax errors in words: where, what went wrong in the spec's terms, and a hint.

PyYAML reports its parser's state (``expected <block end>, but found '<block sequence start>'``,
``found unexpected end of stream``) at the place it gave up, often lines after the mistake. This module
turns a ``yaml.MarkedYAMLError`` into one :class:`~netspec.core.errors.Problem` located where the user
can fix it, without PyYAML's token names. It depends only on the error and the text, so whichever YAML
parser found the error (libyaml or the pure one, re-run for its marks) its message reads the same.
"""

from __future__ import annotations

import re
from typing import Any

from netspec.core.errors import Location, Problem

# PyYAML's token names, as a person would say them.
_TOKENS = {
    "<block end>": "the end of the block", "<block sequence start>": "a '-' list item",
    "<block mapping start>": "a 'key:'", "<block entry>": "a '-' list item", "-": "a '-' list item",
    "<stream end>": "the end of the file", "<scalar>": "a value", "<document start>": "'---'",
    "<document end>": "'...'", "?": "'?'", ":": "':'", ",": "','", "{": "'{'", "}": "'}'", "[": "'['",
    "]": "']'", "<flow mapping start>": "'{'", "<flow sequence start>": "'['", "<flow mapping end>": "'}'",
    "<flow sequence end>": "']'", "<key>": "a 'key:'", "<value>": "':'", "<anchor>": "an '&anchor'",
    "<alias>": "an '*alias'", "<tag>": "a '!tag'",
}
_KIND_THEN_BRACE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+([{\[].*)$")
_ALIGN = ("align each '- item' with the other items of its list and each 'key:' with the keys of its "
          "mapping (spaces only)")


def _loc(mark: Any, file: str) -> Location | None:
    return Location(file, mark.line + 1, mark.column + 1) if mark is not None else None


def _words(text: str) -> str:
    """PyYAML's message with its token names in words."""
    return re.sub(r"'(<[a-z ]+>|[-?:,{}\[\]])'|(<[a-z ]+>)",
                  lambda m: _TOKENS.get(m.group(1) or m.group(2), m.group(0)), text)


def yaml_problem(exc: Any, text: str, file: str) -> Problem:
    """One located problem for a PyYAML ``MarkedYAMLError`` met parsing ``text`` (the file ``file``)."""
    lines = text.split("\n")
    problem = exc.problem or str(exc)
    context = exc.context or ""
    at, started = _loc(exc.problem_mark, file), _loc(exc.context_mark, file)
    where = at or started

    def line(loc: Location | None) -> str:
        return lines[loc.line - 1] if loc is not None and 1 <= loc.line <= len(lines) else ""

    if "quoted scalar" in context and started is not None:  # an unclosed quote: PyYAML stops at the end of file
        quote = line(started)[started.column - 1:started.column] or '"'
        return Problem(f"the string opened with {quote} here is never closed", started, hint=(
            f"close it with {quote} on the same line (a value with ':' or '#' in it needs the quotes; "
            "otherwise remove them)"))
    if context.startswith("while parsing a flow") and started is not None and "<stream end>" in problem:
        opener = line(started)[started.column - 1:started.column] or "{"
        closer = {"{": "}", "[": "]"}.get(opener, "}")
        return Problem(f"the '{opener}' opened here is never closed", started,
                       hint=f"add '{closer}' at the end of the value (on line {started.line})")
    if "mapping values are not allowed" in problem:
        here = line(at)
        prev = next((lines[i] for i in range((at.line if at else 1) - 2, -1, -1) if lines[i].strip()), "")
        match = _KIND_THEN_BRACE.match(here)
        if match:  # `- conv2d {filters: 8}`
            kind, rest = match.groups()
            return Problem(f"missing ':' after '{kind}'", Location(file, at.line, here.index(kind) + len(kind) + 1)
                           if at else where, hint=f"a colon after the kind: '- {kind}: {rest.strip()}'")
        plain = re.match(r"^\s*-\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", prev)
        if plain and at is not None and here[:len(here) - len(here.lstrip())] > prev[:prev.index("-")]:
            kind = plain.group(1)  # `- conv2d` then an indented `name: x`
            return Problem(f"'{here.strip().split(':')[0]}:' is indented under '- {kind}', which has no ':'", at,
                           hint=f"write '- {kind}: ...' (its options after the colon) and put item keys such as "
                                "'name:' below it, aligned with the kind")
        return Problem("a ':' where a value was expected", at, hint=(
            "a value containing ': ' must be quoted, a '-' list item may be missing, or a key is indented "
            "under a value"))
    if "found character '\\t'" in problem:
        return Problem("a tab character in the indentation", at, hint="YAML indentation must use spaces, not tabs")
    if "expected <block end>" in problem:
        found = re.search(r"but found '([^']*)'", problem)
        what = _TOKENS.get(found.group(1), f"'{found.group(1)}'") if found else "this"
        block = f" (the block that starts at line {started.line})" if started is not None else ""
        return Problem(f"{what} is not indented like the lines around it{block}", at, hint=_ALIGN)
    if re.search(r"expected ',' or '[\]}]'", problem) and started is not None:
        opener = line(started)[started.column - 1:started.column] or "["
        return Problem(f"{_words(problem)} (in the '{opener}' opened at line {started.line}, column "
                       f"{started.column})", at, hint="separate the values with ',' and close the bracket on "
                                                     "the same value")
    message = _words(problem) + (f" ({_words(context)} at line {started.line})" if context and started else "")
    return Problem(message, where, hint="check the indentation and the brackets of this line and the one above")
