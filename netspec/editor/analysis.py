"""One document's text through the pipeline, as ``netspec check`` runs it, kept for an editor: the problems
at their ranges (errors, the failed ``expect:`` pins, warnings), the raw tree's outline, and per layer line
what the graph IR resolved (output shape, parameters, MACs, receptive field).

Never imports torch. Any text is analysed without raising: a netspec bug on strange input becomes one
diagnostic instead of a dead server.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netspec.backends.report.report import make_report
from netspec.core.errors import Location, NetspecError, Problem, SpecSyntaxError
from netspec.core.sizes import Count, count_text
from netspec.core.source import PosDict
from netspec.core.types import fmt_shape
from netspec.editor.outline import Outline, zero
from netspec.frontends import DSL_SUFFIXES, parser_for, read_imports
from netspec.frontends.keys import IMPORTS_KEY
from netspec.ir.build import build_graph
from netspec.ir.graph import Graph, GroupInfo, NetGraph, Node
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import field_info
from netspec.spec.imports import is_library
from netspec.spec.load import validate, validate_library, with_the_rest

ERROR, WARNING = "error", "warning"
_WORD = re.compile(r"[\w$.\-+]+")
_SNIPPET = re.compile(r"\n {4}[^\n]*\n\s*\^\s*$")  # the DSL's source line and caret, shown by the editor itself


@dataclass(frozen=True)
class Diagnostic:
    """A problem at a 0-based range of the text."""

    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    severity: str = ERROR
    hint: str = ""

    @property
    def text(self) -> str:
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class Use:
    """What one IR node or group made from a layer line resolved to."""

    name: str  # dotted path of the submodule
    label: str  # conv 5×5 ×6 /1, bottleneck(width=64)
    kind: str  # the canonical kind
    shape: str  # the (first) output's shape
    params: int
    macs: Count
    rf: str
    group: bool  # a structure kind or block instance (its numbers are the totals of what it holds)


@dataclass
class Line:
    """A layer line's resolved numbers: one use, or several (a line of a block used many times)."""

    line: int
    uses: list[Use] = field(default_factory=list)

    def hint(self) -> str:
        """``→ (64, 56, 56) · 36,928 params`` (shapes and parameters of every use when there are several)."""
        shapes = list(dict.fromkeys(u.shape for u in self.uses))
        shown = shapes[0] if len(shapes) == 1 else f"{shapes[0]} … {shapes[-1]}"
        params = sorted({u.params for u in self.uses})
        text = f"→ {shown}"
        if params[-1]:
            text += f" · {params[0]:,} params" if len(params) == 1 else f" · {params[0]:,}–{params[-1]:,} params"
        if len(self.uses) > 1:
            text += f" · ×{len(self.uses)}"
        return text


@dataclass
class Analysis:
    """Everything an editor shows about one version of a document."""

    text: str
    file: str
    fmt: str
    lines: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    outline: Outline | None = None
    graph: Graph | None = None
    stale: bool = False  # the layer numbers are carried over from an earlier version (this one failed)
    seconds: float = 0.0  # wall time of the check
    cpu_seconds: float = 0.0  # its CPU time (what it costs on a machine that is not busy with other work)
    _layers: dict[int, Line] | None = None
    imports_at: Location | None = None  # the document's `imports:` key (or first `import` line)
    imported: dict[str, Location] = field(default_factory=dict)  # block name -> its definition in a library

    @property
    def ok(self) -> bool:
        return not any(d.severity == ERROR for d in self.diagnostics)

    @property
    def layers(self) -> dict[int, Line]:
        """0-based line -> what its layer resolved to; worked out when first asked (diagnostics do not
        need it, so a change is answered without it)."""
        if self._layers is None:
            self._layers = {}
            if self.graph is not None:
                _resolve_lines(self, self.graph)
        return self._layers


def format_of(path: str) -> str:
    return "dsl" if Path(path).suffix.lower() in DSL_SUFFIXES else "yaml"


def analyze(text: str, file: str, fmt: str | None = None, previous: Analysis | None = None) -> Analysis:
    """Run ``check`` on ``text`` (as the file ``file``) and keep what an editor shows; never raises.

    When the text does not get as far as the graph (a validation error while typing), the layer numbers of
    ``previous`` are kept for the lines whose text did not change, marked stale.
    """
    start, cpu = time.perf_counter(), time.thread_time()
    fmt = fmt or format_of(file)
    out = Analysis(text, file, fmt, text.splitlines())
    try:
        _run(out)
    except RecursionError:
        out.diagnostics.append(_at(out, Problem("the spec is nested too deeply to analyse"), ERROR))
    except Exception as err:  # a netspec bug must not kill the editor's server; say what happened instead
        out.diagnostics.append(_at(out, Problem(f"netspec internal error: {type(err).__name__}: {err}",
                                                hint="this is a bug in netspec, not in your spec; please "
                                                     "report it with the text that caused it"), ERROR))
    if out.graph is None and previous is not None:
        _carry_over(out, previous)
    out.seconds = time.perf_counter() - start
    out.cpu_seconds = time.thread_time() - cpu
    return out


def _run(out: Analysis) -> None:
    try:
        raw = parser_for(out.fmt)(out.text, out.file)
    except NetspecError as err:
        if isinstance(err, SpecSyntaxError) and err.partial is not None:  # the rest of the file read: its problems too
            stem = Path(out.file).stem
            err = with_the_rest(err, out.file, stem if stem.isidentifier() else "net")
        _problems(out, err, ERROR)
        return
    out.outline = Outline(raw, out.lines, dsl=out.fmt == "dsl")
    if isinstance(raw, PosDict) and IMPORTS_KEY in raw:
        out.imports_at = raw.where(IMPORTS_KEY)
        out.imported = _imported_blocks(raw, out.file)
    if is_library(raw):  # a block library: its own problems, no network to build
        try:
            validate_library(raw, out.file)
        except NetspecError as err:
            _problems(out, err, ERROR)
        return
    stem = Path(out.file).stem
    try:
        spec = validate(raw, out.file, stem if stem.isidentifier() else "net")
        graph = build_graph(spec, partial=True)
    except NetspecError as err:
        _problems(out, err, ERROR)
        return
    out.graph = graph
    if graph.error is not None:
        _problems(out, graph.error, ERROR)
    for net in graph.networks.values():
        for node in net.nodes:
            for warning in node.warnings:
                out.diagnostics.append(_at(out, Problem(f"{node.name}: {warning}", node.location), WARNING))
    done = Graph(graph.name, {k: g for k, g in graph.networks.items() if g.error is None}, graph.single,
                 graph.train, None, graph.bind)
    if any(g.expect is not None for g in done.networks.values()):
        for problem in make_report(done).failures:  # the expect: pins that do not hold
            out.diagnostics.append(_at(out, problem, ERROR))


def _imported_blocks(raw: PosDict, file: str) -> dict[str, Location]:
    """Where each block the document imports is defined (the first definition of a name)."""
    found: dict[str, Location] = {}
    for lib in read_imports(raw, file)[0]:
        blocks = lib.raw.get("blocks") if isinstance(lib.raw, PosDict) else None
        if isinstance(blocks, PosDict):
            for name in blocks:
                where = blocks.where(name)
                if isinstance(name, str) and where is not None:
                    found.setdefault(name, where)
    return found


# "(in block 'b', used at FILE:L:C)" or, for a block used more than once, "used at FILE:L:C, ... and FILE:L:C)":
# the first use
_USED_AT = re.compile(r"used at (?P<file>.+?):(?P<line>\d+):(?P<column>\d+)(?=\)$|, | and )")


def _problems(out: Analysis, err: NetspecError, severity: str) -> None:
    problems = err.problems or [Problem(str(err))]
    for p in problems:
        out.diagnostics.append(_at(out, p, severity))


def _at(out: Analysis, p: Problem, severity: str) -> Diagnostic:
    """A problem at its range: the word it points at, or the rest of the line (without a comment). A problem
    in an imported file is shown where this document uses the block it is in, else at the imports, with
    its own file:line:col in the message."""
    elsewhere = ""
    if p.location is not None and _same_file(p.location.file, out.file):
        line, col = zero(p.location)
    else:
        used = _USED_AT.search(p.message)
        if p.location is not None:
            elsewhere = f"{p.location}: "
        if used is not None and _same_file(used["file"], out.file):
            line, col = int(used["line"]) - 1, int(used["column"]) - 1
        elif p.location is not None and out.imports_at is not None:
            line, col = zero(out.imports_at)
        else:
            line, col = 0, 0
    if line >= len(out.lines):
        line, col = max(len(out.lines) - 1, 0), 0
    text = out.lines[line] if out.lines else ""
    col = min(col, len(text))
    word = _WORD.match(text, col)
    closed = _closing(text, col)
    if closed:
        end = closed
    elif word and word.end() > col:
        end = word.end()
    else:
        body = text.split(" #", 1)[0].rstrip()
        end = max(len(body), col + 1) if body else col
    message = _SNIPPET.sub("", p.message).strip().removeprefix(f"{out.file}: ")  # the editor shows where
    if p.path and not message.startswith(p.path):
        message = f"{p.path}: {message}"
    message = elsewhere + message
    return Diagnostic(line, col, line, min(end, max(len(text), col)), message, severity, p.hint)


def _closing(text: str, col: int) -> int:
    """The end of a quoted string or a bracketed list/mapping that starts at ``col`` and closes on its line
    (a problem with such a value covers all of it), else 0."""
    if col >= len(text) or text[col] not in "\"'[{":
        return 0
    if text[col] in "\"'":
        end = text.find(text[col], col + 1)
        return end + 1 if end > col else 0
    depth, quote = 0, ""
    for i in range(col, len(text)):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return 0


def _same_file(a: str, b: str) -> bool:
    return a == b or a == "<string>"


# --- layer lines --------------------------------------------------------------------------------------

def _rf(rf: tuple[tuple[int, int], ...] | None) -> str:
    if not rf:
        return ""
    if len(set(rf)) == 1:
        return f"{rf[0][0]} /{rf[0][1]}"
    return "×".join(str(s) for s, _ in rf) + " /" + "×".join(str(j) for _, j in rf)


def _group_use(net: NetGraph, group: GroupInfo, totals: dict[str, tuple[int, Count]]) -> Use | None:
    if group.output is None:
        return None
    params, macs = totals.get(group.name, (0, 0))
    return Use(group.name, group.label, group.kind, fmt_shape(net.type_of(group.output).shape), params, macs, "",
               True)


def _totals(net: NetGraph, params: dict[str, int]) -> dict[str, tuple[int, Count]]:
    """Parameters and MACs of every group: each node counted in each group that encloses it."""
    out: dict[str, tuple[int, Count]] = {}
    for node in net.nodes:
        group, n = node.group, params[node.name]
        while group:
            p, macs = out.get(group, (0, 0))
            out[group] = (p + n, macs + node.macs)
            info = net.groups.get(group)
            group = info.parent if info is not None else ""
    return out


def _node_use(node: Node, params: int) -> Use:
    return Use(node.name, node.label, node.kind, fmt_shape(node.out.shape), params, node.macs, _rf(node.rf), False)


def _resolve_lines(out: Analysis, graph: Graph) -> None:
    """Each layer line's uses: every node or group located on it that no enclosing group of the same line
    holds (a repeat's group rather than its copies; every instance of a block's line, however deep the
    block's uses nest: a block used by the network and inside another block counts each)."""
    found: dict[int, list[Use]] = {}
    for net in graph.networks.values():
        params = {n.name: n.n_params for n in net.nodes}
        totals = _totals(net, params)
        things: list[tuple[Any, str, Use | None]] = [(n.location, n.group, _node_use(n, params[n.name]))
                                                     for n in net.nodes]
        things += [(g.location, g.parent, _group_use(net, g, totals)) for g in net.groups.values()
                   if canonical_kind(g.kind)]
        for loc, parent, use in things:
            if use is None or loc is None or not _same_file(loc.file, out.file):
                continue
            if _held_on_line(net, parent, loc):  # a copy of a repeat, or a part of a group made on this line
                continue
            found.setdefault(loc.line - 1, []).append(use)
    for line, uses in found.items():
        out.layers[line] = Line(line, uses)


def _held_on_line(net: NetGraph, group: str, loc: Location) -> bool:
    """Whether one of the groups enclosing a thing (``group`` and its parents) is located on ``loc``'s line."""
    seen: set[str] = set()
    while group and group not in seen:
        seen.add(group)
        info = net.groups.get(group)
        if info is None:
            return False
        where = info.location
        if where is not None and where.line == loc.line and _same_file(where.file, loc.file) and \
                canonical_kind(info.kind):
            return True
        group = info.parent
    return False


def _carry_over(out: Analysis, previous: Analysis) -> None:
    out._layers = {}
    for line, info in previous.layers.items():
        if line < len(out.lines) and line < len(previous.lines) and out.lines[line] == previous.lines[line]:
            out.layers[line] = info
            out.stale = True


# --- hover --------------------------------------------------------------------------------------------

def kind_doc(kind: str) -> str:
    """Markdown: a kind's docstring, its shorthand and its options with defaults."""
    from netspec.spec.reference import options

    canon = canonical_kind(kind)
    if canon is None:
        return ""
    cls = layer_class(canon)
    parts = [f"**{canon}** ({cls.FAMILY}) — {(cls.__doc__ or '').strip()}"]
    if cls.PRIMARY:
        parts.append(f"Shorthand: `- {canon}: <{cls.PRIMARY}>`")
    opts = [f"`{n}`" + ("" if d == "required" else f" = `{d}`") for n, d in options(cls)]
    if opts:
        parts.append("Options: " + ", ".join(opts))
    return "\n\n".join(parts)


def option_doc(kind: str, option: str) -> str:
    """Markdown: one option of a kind, its description and default."""
    canon = canonical_kind(kind)
    if canon is None:
        return ""
    info = field_info(layer_class(canon), option)
    if info is None:
        return ""
    default = "required" if info.is_required() else f"default `{info.get_default(call_default_factory=True)}`"
    return f"`{option}` — {info.description or f'option of {canon}'} ({default})"


def hover_text(info: Line) -> str:
    """Markdown for a layer line: what it resolved to, per use."""
    rows = ["| node | output | params | MACs | RF |", "| --- | --- | --- | --- | --- |"]
    for use in info.uses[:12]:
        label = f"`{use.name}` {use.label}" if use.label != use.name else f"`{use.name}`"
        rows.append(f"| {label} | {use.shape} | {use.params:,} | {count_text(use.macs) if use.macs else ''} | "
                    f"{use.rf} |")
    if len(info.uses) > 12:
        rows.append(f"| … {len(info.uses) - 12} more | | | | |")
    head = f"{len(info.uses)} uses of this line" if len(info.uses) > 1 else ""
    doc = kind_doc(info.uses[0].kind) if info.uses and not info.uses[0].group else ""
    return "\n\n".join(p for p in (head, "\n".join(rows), doc) if p)
