"""Editor support for specs that import block libraries (issue 12): the analysis behind the language
server, go-to-definition into the library, and `check --watch` re-running when a library is saved."""

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

from netspec.editor.analysis import analyze

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netspec.cli.main import main; "
                                "sys.exit(main(['lsp']))"]
LIB = "blocks:\n  mlp:\n    params: {width: null}\n    layers:\n      - dense: {units: $width}\n        name: hidden\n"
SPEC = "imports: [lib.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 4}\n  - dense: 2\n"
aio = pytest.mark.asyncio(loop_scope="module")


def test_a_spec_importing_a_library_analyses_with_its_numbers(tmp_path: Path):
    (tmp_path / "lib.yaml").write_text(LIB, encoding="utf-8")
    found = analyze(SPEC, str(tmp_path / "net.yaml"))  # the document need not be saved: its folder counts
    assert found.ok, found.diagnostics
    # the use's line shows the block's total: 8·4 + 4 = 36; the library's own lines are not this document's
    assert found.layers[3].hint() == "→ (4,) · 36 params"
    assert found.imported["mlp"].file == str(tmp_path / "lib.yaml") and found.imported["mlp"].line == 2


def test_a_problem_in_the_library_is_shown_at_the_use_with_its_own_place(tmp_path: Path):
    (tmp_path / "lib.yaml").write_text(LIB.replace("{units: $width}", "{units: $width, colour: red}"),
                                       encoding="utf-8")
    found = analyze(SPEC, str(tmp_path / "net.yaml"))
    diag = next(d for d in found.diagnostics if "colour" in d.message)
    assert (diag.line, diag.column) == (3, 4)  # `mlp` on line 4 (0-based 3), where the block is used
    assert diag.message.startswith(f"{tmp_path / 'lib.yaml'}:5:")


def test_a_problem_in_a_library_block_used_twice_is_one_diagnostic_at_the_first_use(tmp_path: Path):
    (tmp_path / "lib.yaml").write_text(LIB.replace("{units: $width}", "{units: $width, colour: red}"),
                                       encoding="utf-8")
    twice = SPEC.replace("  - dense: 2\n", "  - mlp: {width: 3}\n")
    found = analyze(twice, str(tmp_path / "net.yaml"))
    [diag] = [d for d in found.diagnostics if "colour" in d.message]
    assert (diag.line, diag.column) == (3, 4)  # `mlp` on line 4 (0-based 3), its first use; not the imports
    assert "net.yaml:4:5 and " in diag.message and "net.yaml:5:5)" in diag.message


def test_a_missing_library_is_shown_at_the_import(tmp_path: Path):
    found = analyze(SPEC, str(tmp_path / "net.yaml"))
    diag = next(d for d in found.diagnostics if "cannot import 'lib.yaml'" in d.message)
    assert (diag.line, diag.column) == (0, 10)


def test_a_library_document_shows_only_its_own_problems(tmp_path: Path):
    ok = analyze(LIB, str(tmp_path / "lib.yaml"))
    assert ok.diagnostics == []  # a library is not "a network without input"
    bad = analyze(LIB + "  other:\n    layers: [relu]\n    colour: red\n", str(tmp_path / "lib2.yaml"))
    assert [(d.line, d.message) for d in bad.diagnostics] == [
        (8, "blocks.other.colour: unknown key 'colour' in a block definition")]


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 30}))
    yield
    await lsp_client.shutdown_session()


@aio
async def test_go_to_definition_of_an_imported_block_opens_the_library(client: LanguageClient, tmp_path: Path):
    (tmp_path / "lib.yaml").write_text(LIB, encoding="utf-8")
    uri = (tmp_path / "net.yaml").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=SPEC)))
    result = None
    for _ in range(100):  # until the document is analysed
        result = await client.text_document_definition_async(lsp.DefinitionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(3, 5)))
        if result:
            break
        await asyncio.sleep(0.05)
    found = result[0] if isinstance(result, list) else result
    assert found is not None
    assert found.uri == (tmp_path / "lib.yaml").resolve().as_uri()
    assert found.range.start == lsp.Position(1, 2)  # `  mlp:` on the library's second line


def test_check_watch_reruns_when_an_imported_library_is_saved(tmp_path: Path):
    import signal

    (tmp_path / "lib.yaml").write_text(LIB, encoding="utf-8")
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    proc, until = watch(spec)

    try:
        # 8·4 + 4 = 36, then 4·2 + 2 = 10: 46
        assert "params: 46 total" in until("watching")
        time.sleep(0.05)
        (tmp_path / "lib.yaml").write_text(LIB.replace("{units: $width}", "{units: $width, bias: false}"),
                                           encoding="utf-8")
        assert "params: 42 total" in until("params:")  # the library's change: 8·4 = 32, + 10
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
