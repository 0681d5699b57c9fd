"""`netspec convert`: a spec between YAML and the DSL (comments carried over)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netspec.cli.args import check_output_file, spec_source, stdin_used
from netspec.core.errors import UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("convert", help="convert a spec between YAML (.yaml) and the DSL (.ns)",
                       description="Write a spec in the other format: .yaml -> .ns or .ns -> .yaml. Blocks stay "
                                   "blocks and comments are carried over. The relative paths a spec reads from its "
                                   "own folder (imports, train data and weights) are rewritten to name the same "
                                   "files from where the result is read: the folder of -o, or the current "
                                   "directory for standard output (as for a spec read from standard input, "
                                   "whose paths are read from the current directory too). Absolute paths stay "
                                   "absolute. The result is checked to read back, from there, as the same spec.")
    p.add_argument("spec", help="spec file (.yaml or .ns), or - for standard input")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write here (format from its extension; relative paths are rewritten for its folder); "
                        "default stdout (relative paths then lead from the current directory)")
    p.add_argument("--to", choices=("yaml", "dsl", "ns"), type=str.lower,
                   help="output format; ns is the DSL (default: from -o, else the other one)")
    p.add_argument("--no-comments", action="store_true", help="do not carry comments over")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    from netspec.convert import convert, format_of

    to = "dsl" if args.to == "ns" else args.to
    if args.output:
        out_fmt = format_of(args.output)
        if out_fmt is None and to is None:
            raise UsageError(f"cannot tell the format of '{args.output}'; use .yaml or .ns, or give --to")
        if to is not None and out_fmt is not None and to != out_fmt:
            raise UsageError(f"--to {to} does not match the extension of '{args.output}'")
        to = to or out_fmt
        same = not stdin_used() and Path(args.output).resolve() == Path(args.spec).resolve()
        if same:
            raise UsageError("the output file is the input file")
        check_output_file(args.output, "-o", force=args.force)
    # text on stdout is most often redirected to a file here (`> net.ns`) or piped to `netspec check -`:
    # both read its paths from the current directory, as netspec reads a spec from stdin
    text = convert(spec_source(args.spec), to=to, comments=not args.no_comments,
                   output=args.output or "<stdout>")
    if args.output:
        from netspec.core.atomic import write_text

        write_text(Path(args.output), text)  # whole or not at all (a full disk leaves nothing)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
