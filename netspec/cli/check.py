"""`netspec check`, `netspec schema`, `netspec kinds`: the commands that never import torch."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from netspec.cli.args import bind_sizes, check_output_file, flag_whole, stdin_used, typed
from netspec.core.errors import UsageError
from netspec.core.fmt import bounds_text


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="validate a spec; print shapes, parameters and MACs per layer",
                       description="Validate a spec and print every layer's output shape, parameters, MACs and "
                                   "receptive field, with totals. Exit 1 if the spec is invalid or an expect: fails.")
    p.add_argument("spec", help="spec file (.yaml or .ns)")
    p.add_argument("--json", action="store_true", help="print the machine-readable report")
    p.add_argument("--strict", action="store_true",
                   help="warnings are errors (a stride that drops pixels, a dense layer on a channels-first map)")
    p.add_argument("--batch", type=flag_whole, default=1, metavar="N", help="batch size for the activation memory (default 1)")
    p.add_argument("--bind", action="append", metavar="NAME=SIZE", help="give a symbolic dim a size, e.g. T=10")
    p.add_argument("--network", metavar="NAME", help="only this network of a multi-network spec")
    p.add_argument("--watch", action="store_true", help="check again each time the file is saved (Ctrl-C stops)")
    p.set_defaults(run=run_check)

    p = sub.add_parser("schema", help="print the JSON Schema of the spec language (for editors)")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE (e.g. netspec.schema.json) instead")
    p.set_defaults(run=run_schema)

    p = sub.add_parser("kinds", help="list every layer kind with its options (or one kind's reference)")
    p.add_argument("kind", nargs="?", help="show this kind's reference: options, defaults, example shapes")
    p.add_argument("--markdown", action="store_true", help="print the reference table in Markdown (docs/layers.md)")
    p.set_defaults(run=run_kinds)


def run_check(args: argparse.Namespace) -> int:
    from netspec.api import check

    if args.batch < 1:
        raise UsageError(f"--batch must be a whole number {bounds_text(1)}, got {typed(args.batch)}")
    if getattr(args, "watch", False):
        from netspec.editor.watch import watch

        return watch(args.spec, lambda: run_check(argparse.Namespace(**{**vars(args), "watch": False})))
    report = check(args.spec, batch=int(args.batch), bind=bind_sizes(args.bind), strict=args.strict, network=args.network)
    if not args.network:  # one network of several: the others' names are not in this graph
        _check_group_lr(report.graph, args.spec)
    recipe = _recipe_warnings(report.graph, args.spec, args.strict)
    # the recipe's module is loaded only to show a warning of its own (a spec without `train:` never loads it)
    if args.json:  # stdout holds the one JSON object, warnings of every kind in it; stderr only the errors
        from netspec.backends.report.json_text import dumps_indented

        texts = []
        if recipe:
            from netspec.spec.recipe import warning_text

            texts = [warning_text(p) for p in recipe]
        data = report.to_dict()
        # the recipe's warnings join the network's (a spec with several networks: at the top level), located
        data["warnings"] = data.get("warnings", []) + texts
        print(dumps_indented(data))
    else:
        color = sys.stdout.isatty()
        sys.stdout.write(report.table(color=color))
        if recipe:
            from netspec.spec.recipe import warning_lines

            for line in warning_lines(recipe, *(("\033[33m", "\033[0m") if color else ())):  # the table's yellow
                print(line)
    if not report.ok:
        if args.json:
            for p in report.failures:
                print(f"expectation failed: {p}", file=sys.stderr)
        return 1
    return 0


def trainable_names(graph: Any) -> list[str]:
    """The dotted names of the trainable parameters of the module ``netspec build`` compiles from ``graph``, as
    its ``named_parameters()`` gives them (a spec with several networks: under each network's name), from
    the IR alone: a shared layer's and tied parameters live where they are defined."""
    nets = graph.networks
    return [f"{net + '.' if len(nets) > 1 else ''}{node.name}.{param}" for net, g in nets.items() for node in g.nodes
            if node.trainable and not node.shared for param in node.params if param not in node.tied]


def _check_group_lr(graph: Any, source: str) -> None:
    """``optimizer.group_lr`` names that name no trainable parameter: errors at the place written, as
    ``netspec build`` refuses them.

    Raises:
        SpecValidationError: one located problem per such name."""
    train = graph.train
    if train is None or not getattr(getattr(train, "optimizer", None), "group_lr", None):
        return
    from netspec.core.errors import SpecValidationError
    from netspec.spec.recipe import group_lr_problems, spec_tree

    problems = group_lr_problems(train, trainable_names(graph), spec_tree(source))
    if problems:
        raise SpecValidationError(problems=problems)


def has_convolution(graph: Any) -> bool:
    """The module compiled from ``graph`` may hold a torch convolution (what ``channels_last`` formats), read from
    the layer classes of the IR's nodes: a convolution kind, or a wrapper of layers (``time_distributed``), whose
    layers the closed IR does not show (counted as one: ``check`` then says nothing, and ``build``, which sees the
    module, warns if it holds none)."""
    from netspec.layers.base import layer_class
    from netspec.layers.conv.base_conv import ConvBase

    return any(issubclass(cls, ConvBase) or bool(cls.CHILDREN)
               for g in graph.networks.values() for cls in {layer_class(node.kind) for node in g.nodes})


def _recipe_warnings(graph: Any, source: str, strict: bool) -> list[Any]:
    """The ``train:`` options that the optimizer, schedule, task, loss or data set chosen does not take, and
    ``channels_last: true`` on a model without convolutions, at the place each was written
    (:mod:`netspec.spec.recipe`), as Problems (``path`` the option); with ``strict``, errors.

    Raises:
        SpecValidationError: with ``strict``, one located problem per such option."""
    train = graph.train
    if train is None:
        return []
    from dataclasses import replace

    from netspec.spec.recipe import ignored_options, spec_tree, warning_problems, written

    found = ignored_options(train, written(train))
    unused = train.channels_last is True and not has_convolution(graph)
    if not found and not unused:
        return []
    problems = warning_problems(found, spec_tree(source), "" if unused else None)
    if stdin_used():
        problems = [replace(p, location=replace(p.location, file="<stdin>"))
                    if p.location is not None and p.location.file == "<string>" else p for p in problems]
    if strict:
        from netspec.core.errors import SpecValidationError

        raise SpecValidationError(problems=[replace(p, message=f"{p.message} (--strict makes this warning an error)")
                                            for p in problems])
    return problems


def run_schema(args: argparse.Namespace) -> int:
    from netspec.api import schema

    text = json.dumps(schema(), indent=2)
    if args.output:
        from pathlib import Path

        check_output_file(args.output, "-o")
        from netspec.core.atomic import write_text

        write_text(Path(args.output), text + "\n")  # whole or not at all (a full disk leaves nothing)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def run_kinds(args: argparse.Namespace) -> int:
    from netspec.spec.reference import kinds_markdown, kinds_text

    if getattr(args, "kind", None):
        from netspec.cli.kinds import describe_kind

        sys.stdout.write(describe_kind(args.kind))
        return 0
    sys.stdout.write(kinds_markdown() if args.markdown else kinds_text())
    return 0
