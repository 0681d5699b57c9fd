"""`netspec draw`: the architecture diagram of a spec (Graphviz). Parses arguments, calls the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netspec.cli.args import bind_sizes, check_output_file, flag_whole, spec_source, stdin_used, typed
from netspec.core.errors import UsageError


def _depth(text: str) -> int | None:
    if text.lower() == "auto":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0 or 'auto', got '{text}'")
    return int(text)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "draw", help="draw the architecture diagram (svg, png, pdf or dot)",
        description="Draw a spec as a diagram: layers with their shapes and parameters, coloured by family; "
                    "blocks as clusters; shortcut and skip connections dashed. A spec that fails shape "
                    "inference is drawn up to the failing layer (in red) and the command exits 1. "
                    "svg/png/pdf need Graphviz's 'dot'; --format dot does not.")
    p.add_argument("spec", help="spec file (.yaml or .ns), or - for standard input")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="output file; the format comes from its extension (default: SPEC.svg; "
                        "with --format dot and no -o the DOT source goes to stdout)")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="output format (default: from -o, else svg)")
    p.add_argument("--depth", type=_depth, default=None, metavar="N",
                   help="blocks nested deeper than N collapse into one box (default: auto, a readable picture)")
    p.add_argument("--network", metavar="NAME", help="draw only this network of a multi-network spec")
    p.add_argument("--unroll", type=flag_whole, default=0, metavar="T",
                   help="draw recurrent layers unrolled over T time steps (the spec must have one)")
    p.add_argument("--rankdir", choices=("TB", "LR", "BT", "RL"), type=str.upper, default="TB",
                   help="layout direction: TB top to bottom (default), LR left to right")
    p.add_argument("--no-shapes", dest="shapes", action="store_false", help="hide tensor shapes")
    p.add_argument("--no-params", dest="params", action="store_false", help="hide parameter counts")
    p.add_argument("--collapse-repeats", dest="collapse_repeats", action=argparse.BooleanOptionalAction, default=None,
                   help="draw consecutive identical blocks as one box marked ×n (default: when the "
                        "diagram with every copy drawn would be too large to read)")
    p.add_argument("--bind", action="append", metavar="NAME=SIZE", help="give a symbolic dim a size, e.g. T=10")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from netspec.api import render_diagram
    from netspec.backends.graphviz.model import MAX_UNROLL
    from netspec.core.fmt import bounds_text

    if not 0 <= args.unroll <= MAX_UNROLL:  # the flag's own words (the library's name the keyword, 'unroll')
        raise UsageError(f"--unroll must be a whole number {bounds_text(0, MAX_UNROLL)}, got {typed(args.unroll)}")
    fmt = args.format
    out = args.output
    to_stdout = out is None and fmt == "dot"
    source = spec_source(args.spec)
    if out is None and not to_stdout:
        if stdin_used():
            from netspec.spec.load import load

            out = f"{load(source).name}.{fmt or 'svg'}"
        else:
            out = str(Path(Path(args.spec).name).with_suffix("." + (fmt or "svg")))
    if out == "-":
        if fmt not in (None, "dot"):
            raise UsageError("only --format dot can go to stdout ('-o -')")
        to_stdout, out, fmt = True, None, "dot"
    if out is not None:
        check_output_file(out, "-o")
    drawing = render_diagram(source, out, format=fmt, depth=args.depth, network=args.network, unroll=int(args.unroll),
                     rankdir=args.rankdir, shapes=args.shapes, params=args.params,
                     collapse_repeats=args.collapse_repeats, bind=bind_sizes(args.bind))
    if to_stdout:
        sys.stdout.write(drawing.dot)
    else:
        print(f"wrote {drawing.path}" + (" (drawn up to the failing layer)" if drawing.error else ""),
              file=sys.stderr if drawing.error else sys.stdout)
    if drawing.error is not None:
        print(str(drawing.error), file=sys.stderr)
        return 1
    return 0
