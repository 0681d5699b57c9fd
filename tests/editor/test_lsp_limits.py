"""The language server bounds what a client can make it allocate (netspec/editor/server.py, MAX_MESSAGE):
a ``Content-Length`` over 64 MiB is skipped, logged, and the server answers the next message; input that
ends inside such a message ends the server with a clear message, exit 1, never an internal error."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from netspec.cli.main import main; "
                                "sys.exit(main(['lsp']))"]
LIMIT = 64 * 2**20  # the documented bound (docs/cli.md): 64 MiB
aio = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


@aio
async def test_an_oversized_message_is_skipped_and_the_server_answers_the_next(client: LanguageClient):
    stdin = client._server.stdin  # the server process's input, written raw: a frame the client would not send
    body = b" " * (LIMIT + 1)  # one byte over: JSON whitespace, read and dropped in pieces, never allocated
    shown = asyncio.ensure_future(client.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE))
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body))
    stdin.write(body)
    await stdin.drain()
    message = await asyncio.wait_for(shown, 60)  # the editor is told why, not left guessing
    assert message.type == lsp.MessageType.Error
    assert f"a message of {LIMIT + 1:,} bytes is larger than the 64 MiB" in message.message
    status = await asyncio.wait_for(client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="netspec.status", arguments=[])), 60)
    assert status["version"]  # the stream stayed in step: the next frame was read as a whole message


def test_input_ending_inside_an_oversized_message_ends_the_server_clearly():
    done = subprocess.run([*SERVER], input=b"Content-Length: 99999999999\r\n\r\n{}", capture_output=True,
                          timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "99,999,999,999 bytes is larger than the 64 MiB" in err and "the input ended inside it" in err, err
    assert "MemoryError" not in err and "internal error" not in err and "Traceback" not in err, err


def test_a_message_within_the_bound_is_read_as_before():
    """The bound drops nothing it should keep: a whole session in raw frames, initialize to exit."""
    import json

    def frame(obj):
        data = json.dumps(obj).encode()
        return b"Content-Length: %d\r\n\r\n%s" % (len(data), data)

    msgs = [frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
            frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
            frame({"jsonrpc": "2.0", "method": "exit"})]
    done = subprocess.run([*SERVER], input=b"".join(msgs), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b'"id": 1' in done.stdout.replace(b'"id":1', b'"id": 1') and b"capabilities" in done.stdout
