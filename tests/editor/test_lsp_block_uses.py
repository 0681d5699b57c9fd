"""A block line used both by the network and inside other blocks (at any depth): the editor counts every
instance, on hover and in the inlay hint, through a real LSP client (pytest-lsp) talking to ``netspec lsp``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netspec.cli.main import main; "
                                "sys.exit(main(['lsp']))"]
aio = pytest.mark.asyncio(loop_scope="module")

# dc is used by e1, e2, mid (3) and once inside up, which the network uses twice (up_1, up_2): 5 instances.
# Its conv c → f with a 3×3 kernel has 9·c·f + f parameters: e1 1 → 4: 40; mid 8 → 16: 1,168; up_1's dc
# (after an up-convolution to 8 channels) 8 → 8: 584.
# deep is used only inside mid2, itself only inside top, which the network uses twice, and once by the
# network: 3 instances, the deepest three blocks down (top_1.mid2_1.deep_1.conv2d_1).
NESTED = """input: [1, 32, 32]
blocks:
  dc:
    params: {f: null}
    layers:
      - conv2d: {filters: $f, kernel: 3, padding: 1}
      - relu: {}
  up:
    params: {f: null}
    layers:
      - conv_transpose2d: {filters: $f, kernel: 2, stride: 2}
      - dc: {f: $f}
  deep:
    layers:
      - conv2d: {filters: 2, kernel: 1}
        repeat: 2
  mid2:
    layers:
      - deep: {}
  top:
    layers:
      - mid2: {}
layers:
  - dc: {f: 4}
    name: e1
  - max_pool2d: 2
  - dc: {f: 8}
    name: e2
  - max_pool2d: 2
  - dc: {f: 16}
    name: mid
  - up: {f: 8}
  - up: {f: 4}
  - top: {}
  - top: {}
  - deep: {}
"""


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    lsp_client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)(lambda *_: None)
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 30}))
    yield
    await lsp_client.shutdown_session()


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line)


async def _open(client: LanguageClient, name: str, text: str) -> str:
    uri = (ROOT / "specs" / f"lsp_block_uses_{name}").as_uri()
    waiting = client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)))
    params = await waiting
    assert params.uri == uri and not [d for d in params.diagnostics
                                      if d.severity == lsp.DiagnosticSeverity.Error], params.diagnostics
    return uri


async def _hover(client: LanguageClient, uri: str, row: int) -> str:
    result = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(row, 8)))
    return result.contents.value


async def _hints(client: LanguageClient, uri: str, text: str) -> dict[int, str]:
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(len(text.splitlines()), 0))))
    return {h.position.line: h.label for h in hints}


@aio
async def test_a_block_line_used_by_the_network_and_inside_another_block_counts_every_instance(
        client: LanguageClient):
    uri = await _open(client, "nested.yaml", NESTED)
    row = _line(NESTED, "- conv2d: {filters: $f, kernel: 3, padding: 1}")
    text = await _hover(client, uri, row)
    assert "5 uses of this line" in text, text
    for name in ("e1.conv2d_1", "e2.conv2d_1", "mid.conv2d_1", "up_1.dc_1.conv2d_1", "up_2.dc_1.conv2d_1"):
        assert f"`{name}`" in text, (name, text)
    assert "| 584 |" in text  # up_1's dc: 8 → 8 channels, 9·8·8 + 8
    hints = await _hints(client, uri, NESTED)
    assert hints[row].endswith("· 40–1,168 params · ×5"), hints[row]
    assert hints[_line(NESTED, "- relu: {}")].endswith("· ×5")
    # the up-convolution is inside up only: its two uses
    assert hints[_line(NESTED, "- conv_transpose2d")].endswith("· ×2")


@aio
async def test_a_line_three_blocks_down_and_a_repeat_inside_a_block(client: LanguageClient):
    uri = await _open(client, "deep.yaml", NESTED)
    row = _line(NESTED, "- conv2d: {filters: 2, kernel: 1}")
    text = await _hover(client, uri, row)
    # the repeat's line shows its groups (one per use of deep), not their copies: top_1, top_2 and the network's
    assert "3 uses of this line" in text, text
    assert "`top_1.mid2_1.deep_1." in text and "`top_2.mid2_1.deep_1." in text and "`deep_1." in text
    hints = await _hints(client, uri, NESTED)
    # each repeat group is two 1×1 convolutions c → 2 → 2: (2·c + 2) + (2·2 + 2). top_1 follows up_2 (4
    # channels): 10 + 6 = 16; top_2 and the network's deep follow a 2-channel output: 6 + 6 = 12
    assert hints[row].endswith("· 12–16 params · ×3"), hints[row]
    # deep's use inside mid2 (the first `- deep: {}` line) and mid2's inside top: once per use of top
    assert hints[_line(NESTED, "- deep: {}")].endswith("· 12–16 params · ×2"), hints
    assert hints[_line(NESTED, "- mid2: {}")].endswith("· 12–16 params · ×2"), hints


def test_the_real_unet_spec_counts_the_decoder_levels_double_convolutions():
    from netspec.editor.analysis import analyze, hover_text

    text = (ROOT / "specs" / "unet.yaml").read_text(encoding="utf-8")
    a = analyze(text, "unet.yaml")
    assert a.ok, [d.message for d in a.diagnostics]
    # double_conv: enc1–enc4 and bottom (5) plus one inside each of the 4 up_level uses (dec4–dec1): 9.
    # Its first conv c → f: 9·c·f + f; smallest enc1 1 → 64: 640, largest bottom 512 → 1024: 4,719,616
    # (the spec's comment, worked by hand).
    conv1 = a.layers[_line(text, "- conv2d: {filters: $filters, kernel: 3, padding: 1}")]
    assert len(conv1.uses) == 9
    assert {u.name for u in conv1.uses} >= {"enc1.conv1", "bottom.conv1", "dec4.conv.conv1", "dec1.conv.conv1"}
    assert conv1.hint().endswith("· 640–4,719,616 params · ×9")
    assert hover_text(conv1).startswith("9 uses of this line")
