"""The `netspec` command line: parses arguments and calls the library. Nothing else.

Subcommands live in small modules listed in ``COMMANDS``; each has ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 ok, 1 the spec is invalid or an expectation failed, 2 usage, 3 an internal error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
from typing import Sequence

from netspec.core.errors import NetspecError, UsageError

# Subcommand modules, in the order `netspec --help` lists them.
COMMANDS = [
    "netspec.cli.check",
    "netspec.cli.convert",
    "netspec.cli.draw",
    "netspec.cli.lsp",
    "netspec.cli.export",
    "netspec.cli.interop",
    "netspec.cli.train",
]


class _Parser(argparse.ArgumentParser):
    """argparse, with 'did you mean' for misspelled subcommands and the usual exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from netspec.core.errors import did_you_mean

        if "invalid choice" in message:
            import re

            m = re.search(r"argument (\S+): invalid choice: '([^']*)'", message)
            choices = re.findall(r"'([^']*)'", message.split("choose from", 1)[-1])
            if m:
                what, value = m.group(1), m.group(2)
                hint = did_you_mean(value, choices)
                head = f"unknown command '{value}'" if what == "COMMAND" else f"{what}: invalid choice '{value}'"
                message = head + (f"; {hint}" if hint else f" (choose from {', '.join(choices)})")
        self.print_usage(sys.stderr)
        self.exit(2, f"netspec: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="netspec", description="A declarative network compiler for PyTorch.")
    from netspec import __version__

    parser.add_argument("--version", action="version", version=f"netspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def _json_error(args: argparse.Namespace, err: NetspecError) -> None:
    """With --json, stdout still carries one JSON object: the problems (the README's JSON contract)."""
    if getattr(args, "json", False):
        from netspec.backends.report.report import error_dict

        print(json.dumps(error_dict(err), indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as err:
        _json_error(args, err)
        print(f"netspec: error: {err}", file=sys.stderr)
        return 2
    except NetspecError as err:
        _json_error(args, err)
        print(str(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netspec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # not the user's fault: say so briefly; the traceback is one variable away
        if os.environ.get("NETSPEC_DEBUG"):
            raise
        print(f"netspec: internal error: {type(err).__name__}: {err}\n"
              "    this is a bug in netspec, not in your spec; rerun with NETSPEC_DEBUG=1 for the traceback "
              "and report it", file=sys.stderr)
        return 3


def entry() -> None:
    """The `netspec` console script and `python -m netspec`: :func:`main` in a process that ends with it.

    Everything imported so far lives until exit, so it is frozen out of the cyclic collector's passes.
    A command that never imported torch (check, convert, draw, kinds, schema) then leaves without
    tearing the interpreter down once its output is flushed: freeing every module and pydantic class
    one by one costs more than a small spec's check. Commands that imported torch exit normally (data
    loader workers, CUDA and atexit handlers need their shutdown).
    """
    gc.freeze()
    code = main()
    if "torch" in sys.modules:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
