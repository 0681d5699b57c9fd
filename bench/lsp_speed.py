"""How fast `netspec lsp` answers an edit: a real LSP client (pygls) starts the server over stdio, opens a
spec, then changes it again and again (a pause between edits, as between keystrokes) and times each change
until its diagnostics arrive. Also prints the server's own timings (`netspec.status`): a change received →
its diagnostics sent, and the check alone. Goal: well under 100 ms for ResNet-152 (464 layers).

    python bench/lsp_speed.py [specs/resnet152.yaml] [--edits 30] [--pause 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]


async def run(spec: Path, edits: int, pause: float) -> None:
    client = LanguageClient("bench", "1")
    published: asyncio.Queue[lsp.PublishDiagnosticsParams] = asyncio.Queue()
    client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: published.put_nowait(params))
    client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)(lambda params: None)
    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "netspec", "lsp", cwd=str(ROOT))
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    text = spec.read_text(encoding="utf-8")
    uri = spec.resolve().as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)))
    first = await published.get()
    print(f"{spec.name}: server started and first diagnostics ({len(first.diagnostics)}) after "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    waits = []
    for version in range(2, edits + 2):
        await asyncio.sleep(pause)
        edited = text.replace("\ndescription: ", f"\ndescription: (edit {version}) ", 1)
        sent = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=edited)]))
        while (await published.get()).version != version:
            pass
        waits.append((time.perf_counter() - sent) * 1000)
    state = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="netspec.status"))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    waits.sort()
    print(f"change → diagnostics at the client, {len(waits)} edits: min {waits[0]:.0f} ms, median "
          f"{statistics.median(waits):.0f} ms, p90 {waits[int(len(waits) * 0.9) - 1]:.0f} ms")
    print(f"in the server: change → diagnostics sent median {state['change_median_ms']} ms, the check alone "
          f"median {state['check_median_ms']} ms ({state['check_cpu_median_ms']} ms of CPU); "
          f"torch imported: {state['torch_imported']}")
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet152.yaml"))
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between edits (default 0.3)")
    args = parser.parse_args()
    asyncio.run(run(Path(args.spec), args.edits, args.pause))


if __name__ == "__main__":
    main()
