"""`netspec lsp` end to end: a real LSP client (pytest-lsp) talks to the server in a subprocess over stdio.

One server serves the whole module (starting one costs about a second); each test opens its own document.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from editor_support import watch
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netspec.cli.main import main; "
                                "sys.exit(main(['lsp']))"]
LENET = (ROOT / "specs" / "lenet5.yaml").read_text(encoding="utf-8")
aio = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    lsp_client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)(lambda *_: None)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 30}))
    yield
    await lsp_client.shutdown_session()


_count = iter(range(10_000))


def uri_of(name: str) -> str:
    return (ROOT / "specs" / f"lsp_test_{next(_count)}_{name}").as_uri()


async def published(client: LanguageClient, uri: str, send) -> list[lsp.Diagnostic]:  # noqa: ANN001
    """Send something, then wait for the diagnostics of ``uri`` it causes."""
    while True:
        waiting = asyncio.ensure_future(client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS))
        await asyncio.sleep(0)
        if send is not None:
            send()
            send = None
        params = await asyncio.wait_for(waiting, 20)
        if params.uri == uri:
            return list(params.diagnostics)


async def open_doc(client: LanguageClient, name: str, text: str, language: str = "yaml") -> tuple[str, list]:
    uri = uri_of(name)
    diags = await published(client, uri, lambda: client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))))
    return uri, diags


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line)


@aio
async def test_an_error_is_shown_at_its_range_with_its_hint_and_cleared_when_fixed(client: LanguageClient):
    uri, diags = await open_doc(client, "ok.yaml", LENET)
    assert diags == []
    bad = LENET.replace("{filters: 16, kernel: 5", "{filtrs: 16, kernel: 5")
    diags = await published(client, uri, lambda: change(client, uri, 2, bad))
    row = line_of(bad, "filtrs")
    col = bad.splitlines()[row].index("filtrs")
    typo = [d for d in diags if "filtrs" in d.message]
    assert len(typo) == 1
    assert typo[0].range == lsp.Range(lsp.Position(row, col), lsp.Position(row, col + len("filtrs")))
    assert typo[0].severity == lsp.DiagnosticSeverity.Error
    assert "unknown option 'filtrs' for conv2d" in typo[0].message and "did you mean 'filters'?" in typo[0].message
    # every problem check finds, and only root causes: not also the 'filters' the typo leaves missing
    assert not any("missing required 'filters'" in d.message for d in diags)
    diags = await published(client, uri, lambda: change(client, uri, 3, LENET))
    assert diags == []


@aio
async def test_shape_errors_failed_expectations_and_warnings(client: LanguageClient):
    text = ("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 4, kernel: 5, stride: 2}\n"
            "  - conv2d: {filters: 4, kernel: 5}\n    name: c2\nexpect:\n  params: 1\n")
    uri, diags = await open_doc(client, "shape.yaml", text)
    shape = [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error]
    # at the kernel's value: the 5 of "  - conv2d: {filters: 4, kernel: 5}" (0-based column 33)
    assert len(shape) == 1 and shape[0].range.start == lsp.Position(3, len("  - conv2d: {filters: 4, kernel: ")), shape
    assert "(3 + 2·0 − 5)/1 + 1" in shape[0].message or "window is larger" in shape[0].message
    warnings = [d for d in diags if d.severity == lsp.DiagnosticSeverity.Warning]
    assert [w.range.start.line for w in warnings] == [2, 2]  # height and width each lose a row
    assert "floor((10 + 2·0 − 5)/2) + 1 = 3 is not a whole division" in warnings[0].message
    fixed = text.replace("kernel: 5}\n    name", "kernel: 1}\n    name")
    diags = await published(client, uri, lambda: change(client, uri, 2, fixed))
    pins = [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error]
    assert len(pins) == 1 and pins[0].range.start.line == 6 and "expected 1 parameters" in pins[0].message


@aio
async def test_hover_shows_shape_params_macs_rf_and_the_kinds_doc(client: LanguageClient):
    uri, _ = await open_doc(client, "hover.yaml", LENET)
    row = line_of(LENET, "{filters: 16, kernel: 5")
    result = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(row, 6)))
    text = result.contents.value
    assert "(16, 10, 10)" in text and "2,416" in text and "240,000" in text and "14 /2" in text
    assert "2-D convolution" in text and "Options:" in text
    col = LENET.splitlines()[row].index("kernel")
    result = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(row, col + 1)))
    assert "`kernel` — kernel size" in result.contents.value and "default `3`" in result.contents.value


@aio
async def test_inlay_hints_end_each_layer_line(client: LanguageClient):
    uri, _ = await open_doc(client, "hints.yaml", LENET)
    lines = LENET.splitlines()
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(len(lines), 0))))
    by_line = {h.position.line: h for h in hints}
    row = line_of(LENET, "{filters: 16, kernel: 5")
    assert by_line[row].label == "→ (16, 10, 10) · 2,416 params"
    assert by_line[row].position.character == len(lines[row])
    assert by_line[line_of(LENET, "avg_pool2d")].label == "→ (6, 14, 14)"
    assert len(hints) == 8


@aio
async def test_completion_of_kinds_options_blocks_and_from_targets(client: LanguageClient):
    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    row = line_of(text, "- conv2d: {filters: 64, kernel: 7")
    lines = text.splitlines()
    typed = "\n".join([*lines[:row], "  - co", *lines[row:]]) + "\n"
    uri, _ = await open_doc(client, "complete.yaml", typed)

    async def labels(line: int, col: int) -> dict[str, lsp.CompletionItem]:
        result = await client.text_document_completion_async(lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line, col)))
        return {item.label: item for item in result.items}

    kinds = await labels(row, 6)
    assert {"conv2d", "conv", "dense", "flatten", "basic_block"} <= set(kinds)
    assert kinds["basic_block"].kind == lsp.CompletionItemKind.Module
    assert "2-D convolution" in kinds["conv2d"].documentation.value
    first = lines[row]
    options = await labels(row + 1, first.index("filters"))
    assert options["stride"].detail == "= 1" and options["filters"].detail == "required"
    uses = line_of(typed, "- basic_block: {width: 64}")
    params = await labels(uses, typed.splitlines()[uses].index("width"))
    assert {"width", "stride"} <= set(params)
    last = len(typed.splitlines())
    with_from = typed + "  - add: {from: [layer1, "
    change(client, uri, 2, with_from)
    targets = await labels(last, len("  - add: {from: [layer1, "))
    assert {"conv1", "maxpool", "layer1", "input"} <= set(targets)


@aio
async def test_completion_of_block_arguments_and_of_a_flow_mapping_continued_on_the_next_line(client: LanguageClient):
    import yaml

    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    params = yaml.safe_load(text)["blocks"]["basic_block"]["params"]  # the block's arguments, read by PyYAML
    written = "- conv2d: {filters: $width, kernel: 3, stride: $stride"
    typed = text.replace(written, written.replace("filters: $width", "filters: $wi"), 1)
    typed += "  - conv2d: {filters: 64,\n      kernel: 3, "
    uri, _ = await open_doc(client, "block_args.yaml", typed)
    lines = typed.split("\n")

    async def items(line: int, col: int) -> dict[str, lsp.CompletionItem]:
        result = await client.text_document_completion_async(lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line, col)))
        return {item.label: item for item in result.items}

    row = line_of(typed, "filters: $wi,")
    col = lines[row].index("$wi") + 3
    found = await items(row, col)
    args = {label: item for label, item in found.items() if item.kind == lsp.CompletionItemKind.Variable}
    assert set(args) == {f"${p}" for p in params}
    edit = args["$width"].text_edit  # replaces the `$wi` typed: an editor's word stops at `$`
    assert edit.new_text == "$width" and edit.range == lsp.Range(lsp.Position(row, col - 3), lsp.Position(row, col))
    last = len(lines) - 1
    options = await items(last, len(lines[last]))
    assert {"stride", "padding"} <= set(options) and not {"filters", "kernel"} & set(options)
    assert options["stride"].kind == lsp.CompletionItemKind.Property


@aio
async def test_go_to_definition_from_a_reference_and_a_block_use(client: LanguageClient):
    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    text = text.replace("    name: fc\n", "    name: fc\n  - add: {from: [maxpool, fc]}\n")
    uri, _ = await open_doc(client, "definition.yaml", text)
    lines = text.splitlines()

    async def target(line: int, col: int) -> lsp.Location:
        result = await client.text_document_definition_async(lsp.DefinitionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line, col)))
        return result[0] if isinstance(result, list) else result

    last = line_of(text, "- add: {from: [maxpool, fc]}")
    found = await target(last, lines[last].index("maxpool") + 2)
    assert found.range.start.line == line_of(text, "- max_pool2d:")
    use = line_of(text, "- basic_block: {width: 128")
    found = await target(use, lines[use].index("basic_block") + 3)
    assert found.range.start == lsp.Position(line_of(text, "  basic_block:"), 2)
    inside = line_of(text, "- conv2d: {filters: $width, kernel: 3, stride: $stride")
    found = await target(inside, lines[inside].index("$stride") + 2)  # a parameter: where the block declares it
    params = line_of(text, "params: {width: null, stride: 1}")
    assert found.range.start == lsp.Position(params, lines[params].index("stride"))


@aio
async def test_document_symbols_are_the_layer_outline(client: LanguageClient):
    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    uri, _ = await open_doc(client, "symbols.yaml", text)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    names = [s.name for s in symbols]
    assert names[0] == "basic_block" and symbols[0].kind == lsp.SymbolKind.Class
    assert [c.name for c in symbols[0].children] == ["conv1", "bn1", "relu", "conv2", "bn2"]
    assert names[1:] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    layer1 = symbols[names.index("layer1")]
    assert layer1.kind == lsp.SymbolKind.Module and "(64, 56, 56)" in layer1.detail


@aio
async def test_dsl_files_get_diagnostics_and_hints(client: LanguageClient):
    text = (ROOT / "specs" / "lenet5.ns").read_text(encoding="utf-8")
    uri, diags = await open_doc(client, "lenet.ns", text, language="netspec")
    assert diags == []
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(len(text.splitlines()), 0))))
    assert {h.label for h in hints} >= {"→ (6, 28, 28) · 156 params", "→ (10,) · 850 params"}
    bad = text.replace("conv 16 5x5", "conv 16 5*5")
    diags = await published(client, uri, lambda: change(client, uri, 2, bad))
    row = line_of(bad, "5*5")
    assert diags and diags[0].range.start == lsp.Position(row, bad.splitlines()[row].index("*"))
    assert "hint: write sizes with the letter x" in diags[0].message


@pytest.mark.parametrize("junk", [
    "\x00\x01\x02\xff\ufffe" * 50, "layers: [" * 3000, "- - - : : {{{{ ]]] ", "input: [1, 2]\nlayers:\n  - conv2d: {",
    "layers:\n  - " + "x" * 100_000, "input: !!python/object:os.system [ls]\nlayers: [flatten]\n",
], ids=["binary", "deep", "punctuation", "half-typed", "long", "python-tag"])
@aio
async def test_junk_text_does_not_kill_the_server(client: LanguageClient, junk: str):
    uri, diags = await open_doc(client, "junk.yaml", junk)
    assert isinstance(diags, list)
    uri2, diags = await open_doc(client, "after_junk.yaml", LENET)
    assert diags == []  # still answering


@aio
async def test_the_server_never_imports_torch_and_answers_a_resnet152_change_fast(client: LanguageClient):
    text = (ROOT / "specs" / "resnet152.yaml").read_text(encoding="utf-8")
    uri, diags = await open_doc(client, "resnet152.yaml", text)
    assert diags == []
    waits = []
    for version in range(2, 7):
        edited = text.replace("\ndescription: ", f"\ndescription: (v{version}) ")  # the whole spec is checked again
        await asyncio.sleep(0.05)  # a pause between keystrokes longer than the debounce
        start = time.perf_counter()
        diags = await published(client, uri, lambda: change(client, uri, version, edited))  # noqa: B023
        waits.append(time.perf_counter() - start)
        assert diags == []
    state = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="netspec.status"))
    assert state["torch_imported"] is False
    print(f"resnet152 change → diagnostics: best {min(waits) * 1000:.0f} ms, median "
          f"{sorted(waits)[2] * 1000:.0f} ms; in the server: change → published median {state['change_median_ms']} ms, "
          f"the check alone {state['check_median_ms']} ms")
    assert min(waits) < 2.0  # loose: CI machines are slow and shared; the measured numbers are printed


@aio
async def test_inlay_hints_can_be_switched_off():
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()
    await client.start_io(*SERVER)
    try:
        await client.initialize_session(lsp.InitializeParams(
            capabilities=client_capabilities("neovim"), initialization_options={"inlayHints": False}))
        uri, _ = await open_doc(client, "off.yaml", LENET)
        hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), range=lsp.Range(lsp.Position(0, 0),
                                                                                lsp.Position(60, 0))))
        assert not hints
    finally:
        await client.shutdown_session()


# --- netspec check --watch ------------------------------------------------------------------------------

def test_check_watch_rechecks_on_save_and_exits_0_on_ctrl_c(tmp_path: Path):
    import signal

    spec = tmp_path / "net.yaml"
    spec.write_text("input: [4]\nlayers:\n  - dense: 3\n", encoding="utf-8")
    proc, until = watch(spec)

    try:
        assert "params: 15 total" in until("watching")
        spec.write_text("input: [4]\nlayers:\n  - dense: 5\n", encoding="utf-8")
        assert "params: 25 total" in until("params:")
        spec.write_text("input: [4]\nlayers:\n  - dense: {unts: 5}\n", encoding="utf-8")
        assert "unknown option 'unts' for dense" in until("unts")  # a wrong spec is reported, the watch goes on
        spec.write_text("input: [4]\nlayers:\n  - dense: 2\n", encoding="utf-8")
        assert "params: 10 total" in until("params:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


# --- the parts, in-process ------------------------------------------------------------------------------

def test_while_a_spec_does_not_validate_unchanged_lines_keep_their_numbers():
    from netspec.editor.analysis import analyze

    before = analyze(LENET, "lenet5.yaml")
    row = line_of(LENET, "{filters: 16, kernel: 5")
    assert before.layers[row].hint() == "→ (16, 10, 10) · 2,416 params" and not before.stale
    broken = LENET.replace("units: 84", "units: 0")
    after = analyze(broken, "lenet5.yaml", previous=before)
    assert not after.ok and after.graph is None and after.stale
    assert after.layers[row].hint() == before.layers[row].hint()
    assert line_of(broken, "units: 0") not in after.layers


def test_a_block_line_shows_every_use_and_a_repeat_its_group():
    from netspec.editor.analysis import analyze, hover_text

    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    a = analyze(text, "resnet18.yaml")
    inside = a.layers[line_of(text, "- conv2d: {filters: $width, kernel: 3, stride: $stride")]
    assert len(inside.uses) == 8 and inside.hint() == "→ (64, 56, 56) … (512, 7, 7) · 36,864–2,359,296 params · ×8"
    layer1 = a.layers[line_of(text, "- basic_block: {width: 64}")]
    assert layer1.hint() == "→ (64, 56, 56) · 147,968 params"  # torchvision's layer1
    assert "`layer1`" in hover_text(layer1) and "462,422,016" in hover_text(layer1)  # 4 convs of 64·64·9 at 56×56


def test_completion_in_the_dsl_and_of_section_keys():
    from netspec.editor.analysis import analyze
    from netspec.editor.complete import complete

    text = (ROOT / "specs" / "lenet5.ns").read_text(encoding="utf-8")
    a = analyze(text, "lenet5.ns")
    row = line_of(text, "pool1:")
    assert "avg_pool2d" in [c.label for c in complete(a.lines, row, len("pool1:   "), "dsl", a.outline)]
    options = {c.label: c for c in complete(a.lines, row, len("pool1:   avgpool 2x2 /2 "), "dsl", a.outline)}
    assert options["ceil_mode"].insert == "ceil_mode=" and options["padding"].detail == "= 0"
    lines = LENET.splitlines() + ["train:", "  optimizer:", "    "]
    keys = [c.label for c in complete(lines, len(lines) - 1, 4, "yaml", None)]
    assert keys[:2] == ["name", "lr"]
    assert "epochs" in [c.label for c in complete([*lines[:-2], "  "], len(lines) - 2, 2, "yaml", None)]
