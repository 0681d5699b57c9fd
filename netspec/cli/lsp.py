"""`netspec lsp`: the language server for editors (diagnostics, hover, inlay hints, completion), over stdio."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("lsp", help="run the language server for editors (stdio)",
                       description="Run the netspec language server over stdin/stdout: diagnostics as you type, "
                                   "hover with shapes and counts, inlay hints, completion, go to definition, "
                                   "the layer outline. Editors start it; see the README's 'Editor support'.")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default; editors may pass it)")
    p.set_defaults(run=run_lsp)


def run_lsp(args: argparse.Namespace) -> int:
    from netspec.editor.server import serve

    return serve()
