"""``netspec lsp``: a language server (pygls) for ``.yaml`` specs and ``.ns`` files, over stdio.

Diagnostics on open and on change (debounced: the first change after a quiet spell is checked at once,
the rest of a burst once it pauses), hover on a layer line, inlay hints with each layer's output shape and
parameters, completion, go-to-definition, the layer outline, and the command ``netspec.status``.

Requests about a document always answer from its current text (a pending check runs first). Every
handler survives any text: a failure is logged and answered with nothing.

initializationOptions: ``{"inlayHints": true, "debounceMs": 150}``.

A message is at most ``MAX_MESSAGE`` bytes (64 MiB; a spec is a few KiB): a larger ``Content-Length`` is
never allocated. Its frame is skipped, the body read and dropped in pieces so that the stream stays in
step, the error logged on stderr (the editor's output panel), and the server serves the next message; a
stream that ends inside it is a lost client (the server exits 1, saying so).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from netspec import __version__
from netspec.editor.analysis import ERROR, Analysis, analyze, format_of, hover_text, kind_doc, option_doc
from netspec.editor.complete import BLOCK, KEY, KIND, NAME, OPTION, PARAM, VALUE, Candidate, complete
from netspec.editor.outline import Item, Outline
from netspec.layers import canonical_kind, layer_class

log = logging.getLogger("netspec.lsp")
F = TypeVar("F", bound=Callable[..., Any])

_SPEC_KEY = re.compile(r"^(netspec|layers|networks|blocks|inputs?)\s*:", re.M)
_WORD = re.compile(r"[\w$.]+")
_KINDS = {KIND: lsp.CompletionItemKind.Class, BLOCK: lsp.CompletionItemKind.Module,
          OPTION: lsp.CompletionItemKind.Property, KEY: lsp.CompletionItemKind.Keyword,
          NAME: lsp.CompletionItemKind.Reference, VALUE: lsp.CompletionItemKind.EnumMember,
          PARAM: lsp.CompletionItemKind.Variable}


def is_spec(text: str, fmt: str) -> bool:
    """Whether a document is a netspec spec: any ``.ns`` file; YAML with a spec's top-level key (editors
    may send every YAML file to this server; a docker-compose file is left alone)."""
    return fmt == "dsl" or bool(_SPEC_KEY.search(text))


@dataclass
class Document:
    """What the server keeps per open document."""

    uri: str
    analysis: Analysis | None = None
    outline: Outline | None = None  # the last outline of a text that parsed (completion while it does not)
    timer: asyncio.TimerHandle | None = None
    last_run: float = -1e9
    changed: float | None = None  # when the oldest change not yet checked arrived (perf_counter)


@dataclass
class Stats:
    """Timings: a check alone, and a change received → its diagnostics sent (debounce included)."""

    analyses: int = 0
    check_ms: list[float] = field(default_factory=list)
    check_cpu_ms: list[float] = field(default_factory=list)
    change_ms: list[float] = field(default_factory=list)

    def add(self, values: list[float], ms: float) -> None:
        values.append(ms)
        del values[:-200]


class SpecServer(LanguageServer):
    """The language server; features are registered on :data:`server` below."""

    def __init__(self) -> None:
        super().__init__("netspec", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.inlay_hints = True
        self.debounce = 0.15
        self.documents: dict[str, Document] = {}
        self.stats = Stats()

    # --- analysis -----------------------------------------------------------------------------------
    def text_document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def schedule(self, uri: str) -> None:
        """Check soon: at once after a quiet spell, else when the burst of changes pauses."""
        doc = self.documents.setdefault(uri, Document(uri))
        if doc.timer is not None:
            doc.timer.cancel()
        if doc.changed is None:
            doc.changed = time.perf_counter()
        loop = asyncio.get_running_loop()
        quiet = loop.time() - doc.last_run >= self.debounce
        doc.timer = loop.call_later(0 if quiet else self.debounce, self.refresh, uri)

    def refresh(self, uri: str) -> Analysis | None:
        """Analyse the document's current text and publish its diagnostics."""
        doc = self.documents.setdefault(uri, Document(uri))
        if doc.timer is not None:
            doc.timer.cancel()
            doc.timer = None
        try:
            text_doc = self.text_document(uri)
            text = text_doc.source
            file = text_doc.path or uri
            fmt = format_of(file)
            if not is_spec(text, fmt):
                doc.analysis = None
                self.publish(uri, [], text_doc.version)
                return None
            if doc.analysis is not None and doc.analysis.text == text and doc.analysis.file == file:
                analysis = doc.analysis  # the same text again (an undo and a redo): the same answer
            else:
                analysis = analyze(text, file, fmt, previous=doc.analysis)
                self.stats.analyses += 1
                self.stats.add(self.stats.check_ms, analysis.seconds * 1000)
                self.stats.add(self.stats.check_cpu_ms, analysis.cpu_seconds * 1000)
            doc.analysis = analysis
            doc.outline = analysis.outline or doc.outline
            doc.last_run = asyncio.get_running_loop().time()
            self.publish(uri, [self.diagnostic(text_doc, analysis, d) for d in analysis.diagnostics],
                         text_doc.version)
            if doc.changed is not None:
                self.stats.add(self.stats.change_ms, (time.perf_counter() - doc.changed) * 1000)
                doc.changed = None
            if self.inlay_hints and self._client_refreshes_hints():
                self.workspace_inlay_hint_refresh(None)
            return analysis
        except Exception:  # noqa: BLE001 - the server must outlive any bug on any text
            log.exception("checking %s failed", uri)
            return None

    def current(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text (checked now if a check is pending or stale)."""
        doc = self.documents.get(uri)
        text = self.text_document(uri).source
        if doc is None or doc.analysis is None or doc.analysis.text != text:
            return self.refresh(uri)
        return doc.analysis

    def publish(self, uri: str, diagnostics: list[lsp.Diagnostic], version: int | None) -> None:
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    def _client_refreshes_hints(self) -> bool:
        caps = self.client_capabilities
        hints = caps.workspace.inlay_hint if caps and caps.workspace else None
        return bool(hints and hints.refresh_support)

    # --- positions ----------------------------------------------------------------------------------
    @staticmethod
    def to_client(doc: TextDocument, analysis: Analysis, line: int, start: int, end_line: int, end: int) -> lsp.Range:
        lines = analysis.lines or [""]
        rng = ServerTextRange(ServerTextPosition(line, start), ServerTextPosition(end_line, end))
        return doc.position_codec.range_to_client_units(lines, rng)

    @staticmethod
    def from_client(doc: TextDocument, lines: list[str], pos: lsp.Position) -> tuple[int, int]:
        if pos.line >= len(lines):
            return pos.line, 0
        server = doc.position_codec.position_from_client_units(lines, pos)
        return server.line, server.character

    def diagnostic(self, doc: TextDocument, analysis: Analysis, d: Any) -> lsp.Diagnostic:
        severity = lsp.DiagnosticSeverity.Error if d.severity == ERROR else lsp.DiagnosticSeverity.Warning
        return lsp.Diagnostic(range=self.to_client(doc, analysis, d.line, d.column, d.end_line, d.end_column),
                              message=d.text, severity=severity, source="netspec")


server = SpecServer()


def guarded(default: Any = None) -> Callable[[F], F]:
    """A handler that logs a failure and answers ``default`` instead of taking the server down."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def run(ls: SpecServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception:  # noqa: BLE001
                log.exception("%s failed", fn.__name__)
                return default

        return run  # type: ignore[return-value]

    return deco


def _word_at(line: str, column: int) -> tuple[str, int, int]:
    for m in _WORD.finditer(line):
        if m.start() <= column <= m.end():
            return m.group(), m.start(), m.end()
    return "", column, column


# --- lifecycle and documents -----------------------------------------------------------------------------

@server.feature(lsp.INITIALIZE)
@guarded()
def initialize(ls: SpecServer, params: lsp.InitializeParams) -> None:
    opts = params.initialization_options
    if isinstance(opts, dict):
        if "inlayHints" in opts:
            ls.inlay_hints = bool(opts["inlayHints"])
        if isinstance(opts.get("debounceMs"), (int, float)) and opts["debounceMs"] >= 0:
            ls.debounce = opts["debounceMs"] / 1000


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@guarded()
def did_open(ls: SpecServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.documents[params.text_document.uri] = Document(params.text_document.uri)
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@guarded()
def did_change(ls: SpecServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@guarded()
def did_save(ls: SpecServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.current(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@guarded()
def did_close(ls: SpecServer, params: lsp.DidCloseTextDocumentParams) -> None:
    doc = ls.documents.pop(params.text_document.uri, None)
    if doc is not None and doc.timer is not None:
        doc.timer.cancel()
    ls.publish(params.text_document.uri, [], None)


# --- features ------------------------------------------------------------------------------------------

@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guarded()
def hover(ls: SpecServer, params: lsp.HoverParams) -> lsp.Hover | None:
    uri = params.text_document.uri
    analysis = ls.current(uri)
    if analysis is None or analysis.outline is None:
        return None
    doc = ls.text_document(uri)
    line, col = ls.from_client(doc, analysis.lines, params.position)
    if line >= len(analysis.lines):
        return None
    word, start, end = _word_at(analysis.lines[line], col)
    item = analysis.outline.owner(line)
    parts = []
    if item is not None:
        if word and word != item.key:
            parts.append(option_doc(item.key, word))
        info = analysis.layers.get(item.line)
        if info is not None:
            parts.append(("*(numbers of the last version that checked)*\n\n" if analysis.stale else "")
                         + hover_text(info))
        elif canonical_kind(item.key):
            parts.append(kind_doc(item.key))
    elif canonical_kind(word):
        parts.append(kind_doc(word))
    text = "\n\n---\n\n".join(p for p in parts if p)
    if not text:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=ls.to_client(doc, analysis, line, start, line, end))


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
@guarded(default=[])
def inlay_hints(ls: SpecServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    if not ls.inlay_hints:
        return []
    uri = params.text_document.uri
    analysis = ls.current(uri)
    if analysis is None:
        return []
    doc = ls.text_document(uri)
    first, last = params.range.start.line, params.range.end.line
    out = []
    for line, info in sorted(analysis.layers.items()):
        if not first <= line <= last or line >= len(analysis.lines) or not info.uses:
            continue
        end = len(analysis.lines[line])
        pos = ls.to_client(doc, analysis, line, end, line, end).start
        out.append(lsp.InlayHint(position=pos, label=info.hint(), kind=lsp.InlayHintKind.Type, padding_left=True))
    return out


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[" ", "{", ",", "-", "[", "=", "$"]))
@guarded()
def completion(ls: SpecServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
    uri = params.text_document.uri
    doc = ls.text_document(uri)
    text = doc.source
    fmt = format_of(doc.path or uri)
    if text.strip() and not is_spec(text, fmt):
        return None
    ls.current(uri)  # the outline of the text as it is, when it parses
    state = ls.documents.get(uri)
    lines = [t.rstrip("\r") for t in text.split("\n")]
    line, col = ls.from_client(doc, lines, params.position)
    found = complete(lines, line, col, fmt, state.outline if state is not None else None)
    items = [lsp.CompletionItem(label=c.label, kind=_KINDS.get(c.what), detail=c.detail or None,
                                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=c.doc)
                                if c.doc else None,
                                insert_text=None if c.replace else c.insert, sort_text=f"{i:04d}",
                                text_edit=_edit(doc, lines, line, col, c))
             for i, c in enumerate(found)]
    return lsp.CompletionList(is_incomplete=False, items=items)


def _edit(doc: TextDocument, lines: list[str], line: int, col: int, c: Candidate) -> lsp.TextEdit | None:
    """A candidate that replaces what is typed before the cursor (``$wi`` → ``$width``: editors do not
    count ``$`` as part of a word) says which characters, in the client's units."""
    if not c.replace:
        return None
    rng = ServerTextRange(ServerTextPosition(line, col - c.replace), ServerTextPosition(line, col))
    return lsp.TextEdit(range=doc.position_codec.range_to_client_units(lines, rng), new_text=c.insert or c.label)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guarded()
def definition(ls: SpecServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    uri = params.text_document.uri
    analysis = ls.current(uri)
    if analysis is None or analysis.outline is None:
        return None
    outline = analysis.outline
    doc = ls.text_document(uri)
    line, col = ls.from_client(doc, analysis.lines, params.position)
    if line >= len(analysis.lines):
        return None
    word, _, _ = _word_at(analysis.lines[line], col)
    target = None
    if word.startswith("$"):  # a block parameter: where the block declares it
        target = outline.parameter(word.strip("${}"), line)
    item = outline.owner(line)
    if target is None and word in outline.blocks and (item is None or item.key == word or item.line != line):
        target = outline.blocks[word]
    if target is None:
        for name in (word, word.split(".")[0]):
            target = outline.definition(name, line) if name else None
            if target is not None:
                break
    if target is None and word in analysis.imported:  # a block of an imported library: into that file
        where = analysis.imported[word]
        start = lsp.Position(line=where.line - 1, character=where.column - 1)
        end = lsp.Position(line=where.line - 1, character=where.column - 1 + len(word))
        return lsp.Location(uri=Path(where.file).resolve().as_uri(), range=lsp.Range(start=start, end=end))
    if target is None or (target.line, target.column) == (line, col):
        return None
    end = target.column + len(_word_at(analysis.lines[target.line], target.column)[0] or " ")
    return lsp.Location(uri=uri, range=ls.to_client(doc, analysis, target.line, target.column, target.line, end))


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(default=[])
def document_symbols(ls: SpecServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    uri = params.text_document.uri
    analysis = ls.current(uri)
    if analysis is None or analysis.outline is None:
        return []
    doc = ls.text_document(uri)
    outline = analysis.outline

    def span(line: int, col: int, end_line: int) -> tuple[lsp.Range, lsp.Range]:
        text = analysis.lines[line] if line < len(analysis.lines) else ""
        word = _word_at(text, col)[2] if _word_at(text, col)[0] else col
        end = len(analysis.lines[end_line]) if end_line < len(analysis.lines) else 0
        return (ls.to_client(doc, analysis, line, col, end_line, max(end, word if end_line == line else end)),
                ls.to_client(doc, analysis, line, col, line, max(word, col)))

    def symbol(item: Item) -> lsp.DocumentSymbol:
        whole, pick = span(item.line, item.column, item.end_line)
        info = analysis.layers.get(item.line)
        canon = canonical_kind(item.key)
        composite = item.block or (canon is not None and layer_class(canon).COMPOSITE)
        detail = " ".join(p for p in ((item.key if item.name else ""), info.hint() if info else "") if p)
        return lsp.DocumentSymbol(
            name=item.name or item.key, detail=detail or None, range=whole, selection_range=pick,
            kind=lsp.SymbolKind.Module if composite else lsp.SymbolKind.Function,
            children=[symbol(c) for c in item.children] or None)

    out = []
    for section in outline.sections:
        whole, pick = span(section.line, section.column, section.end_line)
        what = lsp.SymbolKind.Class if section.what == "block" else lsp.SymbolKind.Namespace
        out.append(lsp.DocumentSymbol(name=section.title, detail=section.what, kind=what, range=whole,
                                      selection_range=pick, children=[symbol(i) for i in section.items] or None))
    out += [symbol(i) for i in outline.items]
    return sorted(out, key=lambda s: (s.range.start.line, s.range.start.character))


@server.command("netspec.status")
def status(ls: SpecServer, *args: Any) -> dict[str, Any]:
    """The server's state, for tests and the curious: whether torch was ever imported (it must not be),
    and how long the checks took."""
    def median(values: list[float]) -> float | None:
        return round(sorted(values)[len(values) // 2], 2) if values else None

    return {"version": __version__, "torch_imported": "torch" in sys.modules, "documents": len(ls.documents),
            "analyses": ls.stats.analyses, "check_median_ms": median(ls.stats.check_ms),
            "check_cpu_median_ms": median(ls.stats.check_cpu_ms),
            "change_median_ms": median(ls.stats.change_ms),
            "change_max_ms": round(max(ls.stats.change_ms), 2) if ls.stats.change_ms else None,
            "inlay_hints": ls.inlay_hints, "debounce_ms": round(ls.debounce * 1000)}


MAX_MESSAGE = 64 * 2**20  # bytes of one message's body (a spec is a few KiB; an editor sends it whole)
MAX_HEADER_LINE = 64 * 2**10  # bytes of one header line (LSP sends two short ones)
_CONTENT_LENGTH = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r?\n", re.IGNORECASE)
_CHUNK = 2**20


class BoundedInput:
    """The server's standard input, for pygls' reader: header lines and bodies bounded, so a client (or a
    corrupt stream) cannot make the server allocate what a ``Content-Length`` says.

    pygls reads a frame as header lines (``readline``) then the body (``read(n)``, allocated whole). A frame
    whose ``Content-Length`` exceeds ``limit`` never reaches it: :meth:`readline` reads the rest of its
    headers and drops its body in pieces, logs why, and goes on with the next frame's first line. The
    stream ending within a dropped frame ends the server (``lost`` says so)."""

    def __init__(self, stream: Any, limit: int = MAX_MESSAGE) -> None:
        self._stream = stream
        self.limit = limit
        self.lost = ""  # why the stream could not go on (it ended inside a frame that was dropped)
        self._lines: list[bytes] = []  # a frame of our own in place of a dropped one: its header lines,
        self._body = b""  # then its body

    def readline(self) -> bytes:
        if self._lines:
            return self._lines.pop(0)
        while True:
            line = self._stream.readline(MAX_HEADER_LINE)
            m = _CONTENT_LENGTH.fullmatch(line)
            if m is None or int(m.group(1)) <= self.limit:
                return bytes(line)
            what = self._skip(int(m.group(1)))
            if what is None:
                return b""  # end of stream: pygls stops
            # the dropped frame becomes a notification to this server, which shows the editor why
            self._body = json.dumps({"jsonrpc": "2.0", "method": SKIPPED, "params": {"message": what}}).encode()
            self._lines = [b"\r\n"]
            return b"Content-Length: %d\r\n" % len(self._body)

    def read(self, n: int) -> bytes:
        if self._body:
            body, self._body = self._body, b""
            return body
        return bytes(self._stream.read(min(n, self.limit)))  # the header said n ≤ limit: never more

    def _skip(self, size: int) -> str | None:
        """Drop a frame of ``size`` bytes past its Content-Length line: why, or None when the stream ends
        first."""
        what = (f"a message of {size:,} bytes is larger than the {self.limit // 2**20} MiB a netspec "
                "language server accepts; it was skipped")
        while True:  # the rest of its headers, up to the empty line
            line = self._stream.readline(MAX_HEADER_LINE)
            if not line:
                return self._ended(what)
            if not line.strip():
                break
        left = size
        while left:
            piece = self._stream.read(min(left, _CHUNK))
            if not piece:
                return self._ended(what)
            left -= len(piece)
        log.error("%s", what)
        return what

    def _ended(self, what: str) -> None:
        self.lost = f"{what}, and the input ended inside it: the client is gone or the stream is corrupt"
        log.error("%s", self.lost)
        return None


SKIPPED = "netspec/messageSkipped"  # the notification BoundedInput puts in place of a dropped frame


@server.feature(SKIPPED)
def message_skipped(ls: SpecServer, params: Any) -> None:
    """A message too large to read was dropped: the editor shows why (a request in it gets no answer: its
    id was never read)."""
    ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error,
                                                 message=f"netspec: {getattr(params, 'message', params)}"))


def serve() -> int:
    """Run the server over stdio until the client exits it (1 when the input broke off inside a message
    too large to read, :class:`BoundedInput`)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="netspec lsp: %(levelname)s %(message)s")
    start = time.perf_counter()
    stdin = BoundedInput(sys.stdin.buffer)
    server.start_io(stdin=stdin)  # type: ignore[arg-type]
    log.info("served for %.1f s", time.perf_counter() - start)
    return 1 if stdin.lost else 0
