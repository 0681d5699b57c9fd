"""The `netspec` command line: parses arguments and calls the library. Nothing else.

Subcommands live in small modules listed in ``COMMANDS``; each has ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 ok, 1 the spec is invalid or an expectation failed (or a write failed
midway: a full disk, a file-size limit, of an output file or of standard output), 2 usage (a path that
cannot be read or written included), 3 an internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import importlib
import io
import json
import os
import re
import sys
from typing import Any, Sequence

from netspec.core.atomic import WriteError
from netspec.core.errors import NetspecError, UsageError

# Subcommand modules, in the order `netspec --help` lists them, with the commands each adds. A run
# imports only the module of the command it names (`check` never loads the training recipe's
# classes that `build`'s flags are made from); `netspec --help` and unknown commands import all.
COMMANDS: dict[str, tuple[str, ...]] = {
    "netspec.cli.check": ("check", "schema", "kinds"),
    "netspec.cli.convert": ("convert",),
    "netspec.cli.draw": ("draw",),
    "netspec.cli.lsp": ("lsp",),
    "netspec.cli.export": ("export",),
    "netspec.cli.interop": ("import",),
    "netspec.cli.train": ("build", "eval", "predict"),
}


# Commands that run once and never import torch: the cyclic garbage collector only costs them time.
# Its passes rescan every pydantic class and spec node while the heap grows, for little to free before
# the process ends: 8 % of the CPU of a 10,000-layer `check`, for 9 % more peak memory (105 MiB).
ONE_SHOT = ("check", "schema", "kinds")


class _Parser(argparse.ArgumentParser):
    """argparse, with 'did you mean' for misspelled subcommands and the usual exit code 2. A value that
    starts as a negative number is a flag's value, written as the number flags read it (``--lr -1e-3``,
    ``--lr -inf``, ``--seed -1_0``): argparse's own pattern takes only ``-3`` and ``-.5`` and calls the rest
    a missing argument ("--lr: expected one argument"). No netspec option looks like a negative number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import re

        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(?:(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$",
                                                   re.IGNORECASE)

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
        print(f"netspec: error: {message}", file=sys.stderr)
        raise ArgumentsRefused(message)


class ArgumentsRefused(SystemExit):
    """A command line argparse refused (exit 2), with its message: with --json, :func:`main` prints it as the
    JSON contract's usage error too."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message


def command_modules(command: str | None) -> list[str]:
    """The modules that define ``command``'s subcommands (all of them for an unknown command or none)."""
    return [m for m, names in COMMANDS.items() if command in names] or list(COMMANDS)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; given a known ``command``, with that command's module's subcommands only."""
    parser = _Parser(prog="netspec", description="A declarative network compiler for PyTorch.")
    from netspec import __version__

    parser.add_argument("--version", action="version", version=f"netspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in command_modules(command):
        importlib.import_module(name).add_parser(sub)
    parser.set_defaults(_subcommands=sub)
    return parser


def _json_error(args: argparse.Namespace, err: NetspecError) -> None:
    """With --json, stdout still carries one JSON object: the problems (the README's JSON contract)."""
    if getattr(args, "json", False):
        from netspec.backends.report.report import error_dict

        print(json.dumps(error_dict(err), indent=2))


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an unknown flag is reported by the subcommand's parser (its usage, and a 'did you
    mean' among its own flags), not the top-level one."""
    from netspec.core.errors import did_you_mean

    args, extra = parser.parse_known_args(argv)
    if extra:
        command = args._subcommands.choices[args.command]
        flags = [s for a in command._actions for s in a.option_strings if s.startswith("--")]
        unknown = next((e for e in extra if e.startswith("-")), extra[0])
        hint = did_you_mean(unknown.split("=", 1)[0], flags) if unknown.startswith("--") else None
        command.error(f"unrecognized arguments: {' '.join(extra)}" + (f"; {hint}" if hint else ""))
    return args


# Warnings torch gives in normal runs of valid specs that the spec's author cannot act on, by their
# opening words (each a warning of its own, never a family): the commands leave them out. A Python caller
# of netspec.compile still sees them. Found by running build and predict on the specs in specs/.
TORCH_NOISE = (
    # a convolution with padding 'same' and an even kernel (conv2d kernel 4): the spec asked for an output
    # of the input's size, so torch pads one side one more than the other, as documented, and says it may
    # copy the input to do so (netspec's shape rule gives the same output, tests/backends/torch)
    "Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy",
)


def quiet_torch_noise() -> None:
    """Leave out the warnings of ``TORCH_NOISE`` (matched from the start of the message, exactly)."""
    import re
    import warnings

    for message in TORCH_NOISE:
        warnings.filterwarnings("ignore", message=re.escape(message), category=UserWarning)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    loaded = sys.modules.get("netspec.cli.args")  # imported by an earlier command of this process, if any
    if loaded is not None:
        loaded.forget_stdin()
    quiet_torch_noise()
    parser = build_parser(args_list[0] if args_list else None)
    try:
        args = _parse(parser, args_list)
    except ArgumentsRefused as refused:
        if "--json" in args_list[1:]:  # a wrong flag still prints one JSON object (the README's JSON contract)
            from netspec.backends.report.report import error_dict

            print(json.dumps(error_dict(UsageError(refused.message)), indent=2))
        raise
    try:
        if getattr(args, "spec", None) == "-":  # every command's spec argument: '-' reads standard input
            from netspec.cli.args import spec_source

            args.spec = spec_source("-")
        code = int(args.run(args) or 0)
        flush_stdout()  # a failed write of the last bytes is this command's failure, said before it exits
        return code
    except StandardOutputError as err:  # not a bug; nothing more goes to stdout (it fails): no JSON either
        print(f"netspec: error: {err}", file=sys.stderr)
        _abandon_stdout()
        return 1
    except WriteError as err:  # an output the environment refused (a full disk, a size limit): not a bug
        _json_error(args, err)
        print(f"netspec: error: {err}", file=sys.stderr)
        return 2 if err.is_path_problem else 1
    except UsageError as err:
        _json_error(args, err)
        print(f"netspec: error: {_named(str(err))}", file=sys.stderr)
        return 2
    except NetspecError as err:
        _json_error(args, err)
        text = _named(str(err))
        located = re.match(r"\S+:\d+(:\d+)?: ", text) or text.startswith("netspec: ")  # a spec's problems
        print(text if located else f"netspec: error: {text}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netspec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:
        if err.filename is None or _own_file(err.filename) or os.environ.get("NETSPEC_DEBUG"):
            return _internal(err)  # netspec's own files (its package), or no file named: a bug
        print(f"netspec: error: {file_problem(err)}", file=sys.stderr)
        return 2 if err.errno in PATH_ERRORS else 1
    except Exception as err:  # not the user's fault: say so briefly; the traceback is one variable away
        return _internal(err)


def _own_file(filename: object) -> bool:
    """A file of netspec's own package: failing to read (or write) one is a bug, not the user's file."""
    from pathlib import Path

    import netspec

    try:
        return Path(os.path.abspath(str(filename))).is_relative_to(Path(netspec.__file__).resolve().parent) or \
            Path(os.path.realpath(str(filename))).is_relative_to(Path(netspec.__file__).resolve().parent)
    except (OSError, ValueError):
        return False


class StandardOutputError(NetspecError):
    """Standard output refused a write (a full disk, a file-size limit): the output is incomplete."""

    def __init__(self, error: OSError) -> None:
        from netspec.core.atomic import WRITE_ERRNOS

        reason = error.strerror or str(error) or type(error).__name__
        reason = reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason
        hint = "free some disk space, raise the file-size limit (`ulimit -f`) or write elsewhere" \
            if error.errno in WRITE_ERRNOS else ""
        super().__init__(f"cannot write standard output: {reason}; the output is incomplete"
                         + (f"\n    hint: {hint}" if hint else ""))
        self.errno = error.errno


class _StandardOutput(io.TextIOWrapper):
    """``sys.stdout`` for a command run as a process (:func:`entry`): every byte written or an error.

    Python's own unbuffered stdout (``python -u``, ``PYTHONUNBUFFERED``) drops the rest of a text write
    that the system wrote only in part (a file-size limit reached midway): the command would end, exit 0,
    with its output cut. Here a buffered writer, which writes the rest or raises, sits under the text
    layer (flushed after each write where stdout was unbuffered, after each line on a terminal); a write
    that fails raises :class:`StandardOutputError`, a closed pipe its BrokenPipeError (a reader that
    stopped early, as ``| head`` does: the command ends quietly)."""

    def __init__(self, stream: io.TextIOWrapper) -> None:
        raw = stream.buffer
        eager = isinstance(raw, io.RawIOBase)
        buffered = io.BufferedWriter(raw) if eager else raw  # type: ignore[arg-type]
        super().__init__(buffered, encoding=stream.encoding, errors=stream.errors,  # type: ignore[arg-type]
                         line_buffering=stream.line_buffering, write_through=eager)
        self._eager = eager

    def write(self, text: str) -> int:
        try:
            n = super().write(text)
            if self._eager:
                super().flush()
            return n
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StandardOutputError(exc) from exc

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StandardOutputError(exc) from exc


def flush_stdout() -> None:
    """Write what standard output still holds (raises as its writes do)."""
    if not sys.stdout.closed:  # the language server's transport closes stdout on `exit`
        sys.stdout.flush()


def _abandon_stdout() -> None:
    """Standard output failed (or its reader left): send what is left nowhere, so that the interpreter's
    own flush at exit neither fails again nor prints 'Exception ignored'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _named(message: str) -> str:
    """A message about a spec read from standard input (``-``) names it ``<stdin>``."""
    from netspec.cli.args import stdin_used

    return message.replace("<string>", "<stdin>") if stdin_used() else message


def _internal(err: BaseException) -> int:
    if os.environ.get("NETSPEC_DEBUG"):
        raise err
    print(f"netspec: internal error: {type(err).__name__}: {err}\n"
          "    this is a bug in netspec, not in your spec; rerun with NETSPEC_DEBUG=1 for the traceback "
          "and report it", file=sys.stderr)
    return 3


# A path the user named that cannot be read or written (exit 2, as a missing spec is); other failures of
# the file system while writing (a full disk, an I/O error) exit 1, as a build's do.
PATH_ERRORS = frozenset((errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                         errno.ENAMETOOLONG))


def file_problem(err: OSError) -> str:
    """A file the command was told to read or write cannot be: which, why, and what to do (a missing
    folder, no permission, a folder where a file was meant, a full disk)."""
    from pathlib import Path

    path = Path(str(err.filename))
    why = err.strerror or str(err)
    hint = ""
    if err.errno == errno.ENOENT:
        parent = path.parent
        if not parent.exists():
            why = "no such folder"
            hint = f"the folder '{parent}' does not exist; create it first or choose another path"
        else:
            why = "no such file"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a path you may write (or read), e.g. in the current folder"
    elif err.errno == errno.EISDIR:
        why, hint = "is a folder", "give a file name, not a folder"
    elif err.errno == errno.ENOTDIR:
        why, hint = "a part of the path is a file, not a folder", "check the path"
    elif err.errno == errno.ENOSPC:
        hint = "free some disk space or write elsewhere"
    return f"{path}: {why.lower() if why[:1].isupper() and why[1:2].islower() else why}" + \
        (f"\n    hint: {hint}" if hint else "")


def entry() -> None:
    """The `netspec` console script and `python -m netspec`: :func:`main` in a process that ends with it.

    The commands in ``ONE_SHOT`` run without the cyclic collector at all, imports included (``check
    --watch``, which loops, keeps it): the classes and schemas they create live until exit. For the
    others, the command's modules are imported first and frozen out of the collector's passes.
    A command that never imported torch (check, convert, draw, kinds, schema) then leaves without
    tearing the interpreter down once its output is flushed: freeing every module and pydantic class
    one by one costs more than a small spec's check. Commands that imported torch exit normally (data
    loader workers, CUDA and atexit handlers need their shutdown).
    """
    argv = sys.argv[1:]
    if argv and argv[0] in ONE_SHOT and "--watch" not in argv:
        gc.disable()
    else:
        for name in command_modules(argv[0] if argv else None):
            importlib.import_module(name)
        gc.freeze()
    if argv[:1] != ["lsp"] and isinstance(sys.stdout, io.TextIOWrapper):  # the server writes its own frames
        sys.stdout = _StandardOutput(sys.stdout)
    code: int | str | None = None
    try:
        try:
            code = main()
        except SystemExit as done:  # --help, --version, a refused flag: their text is flushed too
            code = done.code
        flush_stdout()  # every byte out, or the command fails: a cut output never exits 0
    except BrokenPipeError:  # the reader left (`| head`): quietly, as it wanted no more
        _abandon_stdout()
    except StandardOutputError as err:
        print(f"netspec: error: {err}", file=sys.stderr)
        _abandon_stdout()
        code = code or 1
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    if not isinstance(code, int):  # SystemExit's code may be None or a message
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    if "torch" in sys.modules:
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
