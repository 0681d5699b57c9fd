"""`netspec export`: a spec as standalone PyTorch source, ONNX or a torch.export program (checked)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from netspec.cli.args import bind_sizes, check_output_file
from netspec.core.errors import UsageError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write a spec as PyTorch source (.py), ONNX (.onnx) or torch.export (.pt2)",
                       description="Write a spec's network out of netspec: readable standalone PyTorch source "
                                   "(plain nn.Module classes, one per block; state_dict keys equal the compiled "
                                   "module's), an ONNX model, or a torch.export program. Each is run and compared "
                                   "with the compiled module on random inputs before it is reported.")
    p.add_argument("spec", help="spec file (.yaml or .ns)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (format from .py/.onnx/.pt2); the file "
                   "appears only once written whole and checked; without it, Python source goes to stdout")
    p.add_argument("--format", choices=("py", "onnx", "pt2"), help="output format (default: from -o)")
    p.add_argument("--network", metavar="NAME", help="the network of a multi-network spec (ONNX, pt2)")
    p.add_argument("--bind", action="append", metavar="NAME=SIZE", help="size of a symbolic dim for tracing")
    p.add_argument("--weights", metavar="PATH", help="load this state dict first (ONNX and pt2 carry it; Python "
                                                     "source carries no weights: load them with load_state_dict)")
    p.add_argument("--partial", action="store_true", help="with --weights: load what fits")
    p.add_argument("--no-check", action="store_true", help="do not run the product against the module")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from netspec.interop.export import export, format_of

    if args.output is None and args.format not in (None, "py"):
        raise UsageError(f"--format {args.format} writes a file: give -o FILE")
    fmt = format_of(args.output, args.format) if args.output or args.format else "py"
    if args.output:
        check_output_file(args.output, "-o", force=args.force)
    if args.weights is not None and fmt != "py":  # (Python source refuses --weights itself)
        from netspec.train.checkpoint import weights_file

        args.weights = str(weights_file(args.weights))  # a missing file, a folder without one: said first
        from netspec.api import analyze
        from netspec.train.checkpoint import require_checkpoint_layers

        # a netspec checkpoint of other layers (an activation changed) loads by shape: another network's export
        require_checkpoint_layers(args.weights, analyze(args.spec, bind=bind_sizes(args.bind)), "export")
    done = export(args.spec, args.output, format=fmt, network=args.network, bind=bind_sizes(args.bind),
                  weights=args.weights, partial=args.partial, check=not args.no_check)
    if done.path is None:
        sys.stdout.write(done.text or "")
        sys.stdout.flush()  # all of it out before saying so: a failed write is an error, not "wrote"
    what = {"py": "PyTorch source", "onnx": "ONNX model", "pt2": "torch.export program"}[fmt]
    check = (f"; same outputs as the compiled module (max difference {done.max_diff:.2g})"
             if done.max_diff is not None else "") + (f"; {done.note}" if done.note else "")
    where = done.path if done.path is not None else "stdout"
    cls = f", model class {done.model_class}" if done.model_class else ""
    print(f"wrote {what} to {where}{cls}{check}", file=sys.stderr)
    return 0
