"""`netspec import`: a PyTorch model (torchvision:NAME, module:function, file.py:function) or an ONNX file
as a spec."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from netspec.cli.args import clip
from netspec.core.errors import UsageError
from netspec.core.fmt import bounds_text
from netspec.spec.model import MAX_DIM


def add_parser(sub: Any) -> None:
    p = sub.add_parser("import", help="turn a PyTorch model (traced with torch.fx) or an ONNX file into a spec",
                       description="Trace a PyTorch model with torch.fx and write it as a spec: standard modules "
                                   "become layers, its submodules groups (chains, residuals, parallel branches), "
                                   "repeated submodules blocks. Whatever has no netspec kind is listed by its place "
                                   "in the model. The spec is checked to have the model's parameter count and, "
                                   "with the model's own weights, to compute the same outputs. An ONNX file "
                                   "(model.onnx) becomes a flat spec, one layer per node, its initializers a state "
                                   "dict that loads by name (--weights-out), checked against onnxruntime.")
    p.add_argument("source", help="torchvision:NAME (e.g. torchvision:resnet18), package.module:function, or "
                                  "path/file.py:function (a function or class called without arguments), or model.onnx")
    p.add_argument("-o", "--output", metavar="FILE", help="write the YAML here (default stdout)")
    p.add_argument("--input", metavar="SHAPE", help="per-sample input shape, e.g. 3,224,224, or with names for sizes "
                                                    "of any value, T,16 or 3,H,W (traced at 32, or T=50) "
                                                    "(default 3,224,224 for torchvision); token ids: with --dtype long")
    p.add_argument("--dtype", choices=("float", "long"), default="float",
                   help="the input's dtype: long for token ids (a model that starts with nn.Embedding)")
    p.add_argument("--name", help="the spec's name (default: the function's)")
    p.add_argument("--no-check", action="store_true", help="do not compare the spec with the model")
    p.add_argument("--weights-out", metavar="FILE", help="ONNX: write its initializers as a state dict for the spec "
                                                         "(load it with --weights)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=run_import)


MAX_RANK = 8  # axes of one sample (a video clip is 4); the values per sample are bounded by import_model
SHAPE_FORM = ("sizes separated by commas, e.g. 3,224,224 (or 3x224x224): whole numbers ≥ 1, without the batch, or "
              "names for sizes of any value (T,16 or 3,H,W; T=50 traces the model at 50)")


def _shape(text: str | None) -> list[int | str] | None:
    """``--input 3,224,224`` (``3x224x224``) -> ``[3, 224, 224]``, ``T,16`` -> ``["T", 16]``; any malformed part is a
    UsageError that names it."""
    if text is None:
        return None
    sep = "," if "," in text or not re.search(r"[x×]", text) else "x"
    parts = text.replace("×", "x").split(sep)
    if len(parts) > MAX_RANK:
        raise UsageError(f"--input '{clip(text)}' has {len(parts)} sizes; a sample has at most {MAX_RANK} axes "
                         f"(expected {SHAPE_FORM})")
    sizes: list[int | str] = []
    for k, raw in enumerate(parts, 1):
        part = raw.strip()
        what = f"size {k} of '{clip(text)}'" if len(parts) > 1 else "the size"
        if not part:
            raise UsageError(f"--input: {what} is empty; expected {SHAPE_FORM}")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(=[0-9]+)?", part) and sep == ",":  # a symbolic size: T, T=50
            sizes.append(part)  # import_model reads it (and bounds the size it is traced at)
            continue
        if not (part.isascii() and part.isdigit()):
            raise UsageError(f"--input: {what} is '{clip(part)}', not a whole number; expected {SHAPE_FORM}")
        if len(part.lstrip("0")) > 9 or int(part) > MAX_DIM:
            raise UsageError(f"--input: {what} is {clip(part)}; "
                             f"a size must be a whole number {bounds_text(1, MAX_DIM)}")
        if int(part) < 1:
            raise UsageError(f"--input: {what} is {part}; a size must be a whole number {bounds_text(1, MAX_DIM)} "
                             f"(expected {SHAPE_FORM})")
        sizes.append(int(part))
    return sizes


def _write(text: str, output: str | None, state: Any = None, weights_out: str | None = None) -> None:
    """The spec (to ``output``, else stdout) and the state dict (to ``weights_out``): the files are
    written whole beside their places and renamed into them only once both are written (a weight file
    the disk cannot hold leaves no spec behind, nor the reverse); the spec goes to stdout only after the
    weights are in place."""
    from netspec.core.atomic import fill, staged_files

    paths = [Path(p) for p in (output, weights_out) if p]
    with staged_files(paths) as temporaries:
        files = dict(zip([p for p in (output, weights_out) if p], temporaries))
        if output:
            data = text.encode("utf-8")
            fill(files[output], lambda f: f.write(data))
        if weights_out:
            import torch

            # through a file object: torch's own file writer turns a failed write (a full disk) into a
            # RuntimeError that no longer says why; this way the failure names the file and the reason
            fill(files[weights_out], lambda f: torch.save(state, f))
    if not output:
        sys.stdout.write(text)


def _wrote(output: str | None) -> str:
    return f"wrote {output}" if output else "wrote the spec to stdout"


def _refuse_outputs(args: argparse.Namespace) -> None:
    """Every file the command was told to write, checked before the model is loaded: one that exists
    (without --force), the same file twice, a missing folder or no permission (exit 2)."""
    from netspec.cli.args import check_output_file

    outs = [(out, flag) for out, flag in ((args.output, "-o"), (args.weights_out, "--weights-out")) if out]
    for out, flag in outs:
        check_output_file(out, flag, force=args.force)
    if len(outs) == 2 and Path(outs[0][0]).resolve() == Path(outs[1][0]).resolve():
        raise UsageError(f"-o and --weights-out name the same file '{outs[0][0]}'; give the weights a file of "
                         "their own (e.g. weights.pt)")


def run_import(args: argparse.Namespace) -> int:
    from netspec.interop.importer import import_model, output_format, written_as

    onnx = args.source.lower().endswith(".onnx")
    if args.weights_out and not onnx:
        raise UsageError("--weights-out is for ONNX files: a PyTorch model's own state dict loads by name")
    _refuse_outputs(args)
    to = output_format(args.output)
    if onnx:
        return run_onnx(args)
    done = import_model(args.source, _shape(args.input), name=args.name, check=not args.no_check,
                        input_dtype=args.dtype)
    _write(written_as(done.text, to), args.output)
    check = (f"; with the model's weights it computes the same outputs (max difference {done.max_diff:.2g}); "
             f"{done.weights}" if done.max_diff is not None else "")
    print(f"{_wrote(args.output)}: {done.params:,} parameters{check}", file=sys.stderr)
    if done.note:
        print(f"note: {done.note}; load the model's state dict without them (or with --partial), or build the "
              "model without them (torchvision's GoogLeNet and Inception3: aux_logits=False)", file=sys.stderr)
    return 0


def run_onnx(args: argparse.Namespace) -> int:
    from netspec.interop.importer import output_format, written_as
    from netspec.interop.onnx_import import import_onnx

    if args.input or args.dtype != "float":
        raise UsageError("an ONNX file gives its own input shape and dtype; leave out --input and --dtype")
    to = output_format(args.output)
    done = import_onnx(args.source, name=args.name, check=not args.no_check)
    _write(written_as(done.text, to), args.output, done.state, args.weights_out)
    check = ""
    if done.max_diff is not None:
        check = f"; with its initializers it computes onnxruntime's outputs (max difference {done.max_diff:.2g})"
    elif done.checked:
        check = f"; {done.checked}"
    if done.weights:
        check += f"; {done.weights}"
    saved = f"; initializers in {args.weights_out}" if args.weights_out else ""
    print(f"{_wrote(args.output)}: {done.params:,} parameters{check}{saved}", file=sys.stderr)
    return 0
