"""``netspec export``: a spec as standalone Python source, an ONNX file or a ``torch.export`` program.

Every product is checked against the compiled module before it is reported: the ONNX model with
onnxruntime, the program by loading it back, all on random inputs, comparing outputs; the Python source
first as a fresh instance (what ``init:``, ``tie:``, ``share:`` and ``trainable:`` make of it at
construction, :func:`compare_fresh`), then with the module's own weights on random inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.api import Source, analyze
from netspec.core.errors import NetspecError, UsageError
from netspec.spec.load import load
from netspec.spec.model import Spec

FORMATS = {".py": "py", ".onnx": "onnx", ".pt2": "pt2"}


@dataclass
class Exported:
    """What ``export`` wrote: the file, its format, the class to instantiate (Python), the check."""

    path: Path | None
    format: str
    text: str | None = None  # the Python source
    model_class: str | None = None
    max_diff: float | None = None
    note: str = ""


def format_of(path: str | os.PathLike[str] | None, format: str | None = None) -> str:  # noqa: A002
    """The export format from ``format``, else the file's extension (no file: Python source)."""
    if format is not None:
        if format not in FORMATS.values():
            raise UsageError(f"unknown export format '{format}'; choose from {', '.join(FORMATS.values())}")
        return format
    if path is None:
        return "py"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot tell the export format of '{path}'; use .py, .onnx or .pt2, or give --format")
    return FORMATS[suffix]


def export(source: Source, path: str | os.PathLike[str] | None, format: str | None = None,  # noqa: A002
           network: str | None = None, bind: dict[str, int] | None = None,
           weights: str | os.PathLike[str] | None = None, partial: bool = False, check: bool = True) -> Exported:
    """Write a spec's network as Python source (``py``), ONNX (``onnx``) or a ``torch.export`` program (``pt2``).

    Args:
        source: a spec path or text, a Spec or a Graph.
        path: the file to write (None for ``py``: only return the text).
        format: ``py``, ``onnx`` or ``pt2`` (default: from the extension).
        network: the network of a multi-network spec (ONNX and pt2 take one; Python writes them all).
        bind: sizes of symbolic dims for the example inputs (default 7).
        weights, partial: a state dict to load first (ONNX/pt2 carry it; Python source carries no weights,
            so ``py`` refuses ``weights``).
        check: run the product and compare its outputs with the compiled module's.

    Raises:
        UsageError: an unknown format, or a multi-network spec without ``network`` for ONNX/pt2.
        BuildError: the network cannot be written in that format, or the product computes something else.
    """
    fmt = format_of(path, format)
    spec = load(source) if isinstance(source, (str, os.PathLike)) else source
    graph = analyze(spec, bind=bind)
    if network is not None:
        graph = graph.only(network)
    if fmt == "py":
        if weights is not None:
            raise UsageError("--weights does not apply to Python source, which carries no weights: export without "
                             "it, then load them in Python with `model.load_state_dict(torch.load(PATH))` (its "
                             "state_dict keys are the compiled module's)")
        name = Path(str(source)).name if isinstance(source, (str, os.PathLike)) and _is_file(source) else ""
        return _python(graph, spec, path, check, name)
    import netspec.api as api

    net = graph.network(None)  # raises, listing the networks, when there are several
    model = api.compile(graph, net.name if len(graph.networks) > 1 else None, weights=weights, partial=partial)
    from netspec.backends.torch.export import export_onnx, export_program

    if path is None:
        raise UsageError(f"--format {fmt} writes a file: give -o PATH")
    writer = export_onnx if fmt == "onnx" else export_program
    done = writer(model, net, path, bind=graph.bind or bind, check=check, dynamic=_dynamic(spec, net.name))
    return Exported(done.path, fmt, max_diff=done.max_diff, note=done.note)


def _dynamic(spec: Any, network: str) -> dict[str, dict[int, str]] | None:
    """The dynamic axes of a network's inputs from the spec before any ``bind`` (None: only the batch)."""
    from netspec.backends.torch.export import dynamic_axes

    try:
        return dynamic_axes(analyze(spec).network(network))
    except NetspecError:  # sizes that must be bound together to check: trace them as bound
        return None


def _is_file(source: str | os.PathLike[str]) -> bool:
    try:
        return "\n" not in str(source) and Path(source).is_file()
    except OSError:
        return False


def _python(graph: Any, spec: Any, path: str | os.PathLike[str] | None, check: bool, name: str) -> Exported:
    from netspec.backends.torch.code.source import python_source

    description = spec.description if isinstance(spec, Spec) else ""
    text, cls = python_source(graph, description or "", source_name=name)
    diff = check_python(text, cls, graph) if check else None
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return Exported(Path(path) if path is not None else None, "py", text, cls, diff, "" if check else "not checked")


def check_python(text: str, cls: str, graph: Any) -> float:
    """Check the written source against the compiled module; the largest output difference.

    A fresh instance, before any weights are loaded, must have what the compiled module has at
    construction (:func:`compare_fresh`): the same parameters and buffers, tied ones shared, frozen ones
    frozen, the values that ``init:`` sets deterministically. Then, given the module's weights, it must
    compute the same outputs on random inputs.

    Raises:
        BuildError: the source does not run, differs in any of those, or computes something else.
    """
    import sys
    import types

    import torch

    from netspec.backends.torch.compile import compile_graph, example_inputs
    from netspec.backends.torch.export import compare_outputs, flat_outputs
    from netspec.core.errors import BuildError

    name = f"netspec_export_{cls.lower()}"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses in copied helpers look their module up
    try:
        exec(compile(text, f"<{cls}.py>", "exec"), module.__dict__)  # noqa: S102 - our own output
        mine = getattr(module, cls)()
    except Exception as exc:
        raise BuildError(f"the written Python source does not run: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    ref = compile_graph(graph)
    problem = compare_fresh(ref, mine, graph)
    if problem:
        raise BuildError(f"netspec wrote Python source that differs from the compiled module: {problem}; this is "
                         "a bug in netspec's Python writer, not in your spec: please report it with the spec "
                         "(--no-check writes the file anyway)")
    mine.load_state_dict(ref.state_dict())  # now the same forward, given the same weights
    ref.eval()
    mine.eval()
    worst = 0.0
    nets = graph.networks.items() if len(graph.networks) > 1 else [(None, graph.network(None))]
    for key, net in nets:
        inputs = example_inputs(net, batch=2, bind=graph.bind or None)
        r, m = (ref, mine) if key is None else (ref[key], mine[key])
        torch.manual_seed(0)
        with torch.no_grad():
            expected = flat_outputs(r(*inputs))
            torch.manual_seed(0)
            got = flat_outputs(m(*inputs))
        worst = max(worst, compare_outputs(expected, got, "the written Python source"))
    return worst


def compare_fresh(ref: Any, mine: Any, graph: Any) -> str:
    """What differs between two freshly constructed modules ("" when nothing): state_dict keys, the
    parameter count (a shared Parameter counted once), which parameters are one Parameter, which are
    frozen, and the values of parameters whose ``init:`` is deterministic (:func:`fixed_params`)."""
    import torch

    a, b = list(ref.state_dict()), list(mine.state_dict())
    if a != b:
        extra, missing = sorted(set(b) - set(a))[:3], sorted(set(a) - set(b))[:3]
        return f"state_dict keys differ (extra {extra}, missing {missing})"
    count_a, count_b = (sum(p.numel() for p in m.parameters()) for m in (ref, mine))
    if count_a != count_b:
        return f"{count_b:,} parameters, the compiled module {count_a:,}"
    if tied_groups(ref) != tied_groups(mine):
        return f"tied parameters {tied_groups(mine)}, the compiled module {tied_groups(ref)}"
    frozen = sorted(n for n, p in ref.named_parameters() if not p.requires_grad)
    if frozen != sorted(n for n, p in mine.named_parameters() if not p.requires_grad):
        return "other parameters are frozen"
    sa, sb = ref.state_dict(), mine.state_dict()
    for key in fixed_params(graph):
        if not torch.equal(sa[key], sb[key]):
            return f"{key} starts at other values than its init: sets"
    return ""


def tied_groups(module: Any) -> list[list[str]]:
    """The names of each Parameter that appears under more than one name."""
    names: dict[int, list[str]] = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(n)
    return sorted(sorted(v) for v in names.values() if len(v) > 1)


def fixed_params(graph: Any) -> list[str]:
    """state_dict keys of parameters whose ``init:`` leaves no randomness (a number, a literal, a constant
    scheme, a fan-based scheme on a vector), not replaced by a tie."""
    from netspec.layers.init import INIT_SCHEMES, InitSpec

    prefix = len(graph.networks) > 1
    out = []
    for net_name, net in graph.networks.items():
        for node in net.nodes:
            if node.init is None or node.shared is not None:
                continue
            items = [(p, node.init) for p in node.params] if isinstance(node.init, str) else node.init.items()
            for pname, value in items:
                if pname in node.tied:
                    continue
                if not isinstance(value, (str, InitSpec)):
                    fixed = True
                else:
                    entry = INIT_SCHEMES[value if isinstance(value, str) else value.scheme]
                    fixed = entry.torch_fn in ("zeros_", "ones_", "constant_") or \
                        (entry.fan_based and len(node.params.get(pname, ())) < 2)
                if fixed:
                    out.append(f"{net_name}.{node.name}.{pname}" if prefix else f"{node.name}.{pname}")
    return out
