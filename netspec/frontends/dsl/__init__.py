"""DSL frontend: ``.ns`` text -> the raw tree (PosDict/PosList with locations) YAML would give.

The grammar (``netspec.lark``, shipped beside this package's modules) knows statements and values
but no layer kinds. A layer line is ``[label:] [repeat N] kind positional... key=value... [from a, b]
[{ body }]``; here the kind and its positional sugar are resolved through the layer registry:

* a bare number, ``$param``, string or list -> the kind's ``PRIMARY`` field (``dense 120``);
* once that is given, a bare whole number or ``$param`` -> ``kernel``, where the kind's kernel is a size
  (``conv1d 8 3``: a 1-D kernel has no ``KxK`` form; ``conv3d 8 3`` is every axis 3, as YAML's ``kernel: 3``);
* ``5x5`` -> ``kernel`` (5; ``3x5`` -> [3, 5]); ``/2`` -> ``stride``; a size has one number per axis of
  the option (its type says how many: 1-D ``3``, 2-D ``3x3``, 3-D ``3x3x3``), any other count is refused
  at the size with the form that fits;
* a bare word -> ``activation`` when it names one, else the one field whose allowed values include
  it (``same`` -> padding, ``concat`` -> merge).

A block instance takes its parameters positionally in declaration order (``bottleneck 64 /2``).
Parsing happens in two steps: lark parses and :class:`~.syntax.Statements` turns the tree into small
statement records; :class:`~.build.Builder` then builds the raw tree (it needs every block's
parameters, so blocks may be used before they are defined). Every problem is a located ``SpecSyntaxError``.

The parts: ``grammar`` (keywords, grammar, registry look-ups), ``syntax`` (the first pass), ``build``
(the second pass), ``errors`` (syntax errors in words).
"""

from __future__ import annotations

from typing import Any

from lark.exceptions import LarkError, UnexpectedInput

from netspec.core.errors import Location, NetspecError, Problem, SpecSyntaxError
from netspec.core.source import MAX_TEXT_BYTES
from netspec.frontends.dsl.build import Builder
from netspec.frontends.dsl.errors import open_brackets, snippet, syntax_problem
from netspec.frontends.dsl.grammar import parser
from netspec.frontends.dsl.syntax import Fail, Statements


def parse_dsl(text: str, file: str = "<string>") -> Any:
    """Parse DSL text into the raw tree (PosDict/PosList with locations) the YAML frontend would give.

    Raises:
        SpecSyntaxError: the text is not a well-formed spec, each problem located with the line,
            a caret under the column, what was expected and a hint. Where the only problems leave the tree
            whole (a size with the wrong number of axes, kept as written; a value given twice), its ``partial``
            is the tree, for the spec stage to report the rest of the file's problems with these.
    """
    if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise SpecSyntaxError(f"{file}: spec is larger than {MAX_TEXT_BYTES // 1_000_000} MB; refusing to parse it")
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = " " + text[1:]
    _, deep = open_brackets(text, file)
    if deep is not None:
        raise SpecSyntaxError(problems=[Problem(deep.message, deep.location, hint=deep.hint, excerpt=snippet(
            text, deep.location.line, deep.location.column))])
    try:
        tree = parser().parse(text + "\n")
    except UnexpectedInput as exc:
        raise SpecSyntaxError(problems=[syntax_problem(exc, text, file)]) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise SpecSyntaxError(problems=[Problem(f"cannot parse: {exc}", Location(file, 1, 1))]) from None
    statements = Statements(file, text)
    try:
        stmts = statements.transform(tree)
    except Fail as fail:
        raise SpecSyntaxError(problems=[_with_snippet(fail.problem, text)]) from None
    except LarkError as exc:  # a Fail raised inside a transformer callback arrives wrapped
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, Fail):
            raise SpecSyntaxError(problems=[_with_snippet(inner.problem, text)]) from None
        if isinstance(inner, NetspecError):
            raise inner from None
        raise  # pragma: no cover
    if not stmts:
        raise SpecSyntaxError(problems=[Problem("the spec is empty", Location(file, 1, 1),
                                                hint="start with 'input [1, 28, 28]' and a layer per line")])
    builder = Builder(file)
    raw = builder.spec(stmts)
    builder.kept.extend(statements.kept)
    if builder.problems or builder.kept:
        problems = sorted([*builder.problems, *builder.kept],
                          key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))
        # only problems that leave the tree whole: the spec stage may read the rest of the file (partial)
        raise SpecSyntaxError(problems=[_with_snippet(p, text) for p in problems],
                              partial=None if builder.problems else raw)
    return raw


def _with_snippet(problem: Problem, text: str) -> Problem:
    if problem.location is None:
        return problem
    return Problem(problem.message, problem.location, problem.path, problem.hint,
                   excerpt=snippet(text, problem.location.line, problem.location.column))
