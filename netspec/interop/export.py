"""``netspec export``: a spec as standalone Python source, an ONNX file or a ``torch.export`` program.

Every product is checked against the compiled module before it is reported: the ONNX model with
onnxruntime, the program by loading it back, all on random inputs, comparing outputs; the Python source
first as a fresh instance (what ``init:``, ``tie:``, ``share:`` and ``trainable:`` make of it at
construction, :func:`compare_fresh`), then with the module's own weights on random inputs.

A file appears only once its product is written and checked: each is written to a temporary file in the
output's folder and renamed onto the output at the end (:func:`netspec.core.atomic.staged`); any failure
removes it. An ONNX export that torch's exporter or onnxruntime refuses is an error naming the first layer
that fails on its own (:func:`onnx_blame`), with why, never an internal error; onnxruntime's own log stays
quiet.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.api import Source, analyze
from netspec.core.atomic import staged, write_text
from netspec.core.errors import BuildError, NetspecError, UsageError
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
    try:
        return _export(graph, spec, source, path, fmt, network, bind, weights, partial, check)
    except ValueError as exc:  # a module refused the random inputs the export runs it on: their sizes, not a bug
        free = sorted({d for net in graph.networks.values() for t in net.inputs.values() for d in t.shape
                       if isinstance(d, str) and d not in (graph.bind or {})})
        if not free:
            raise
        raise BuildError(f"the network refused the random inputs the export runs it on, with each symbolic size at "
                         f"7 ({', '.join(free)}): {exc}; hint: give sizes that fit together with --bind NAME=SIZE "
                         "(one per size), or write the file unchecked with --no-check") from None


def _export(graph: Any, spec: Any, source: Source, path: str | os.PathLike[str] | None, fmt: str,
            network: str | None, bind: dict[str, int] | None, weights: str | os.PathLike[str] | None,
            partial: bool, check: bool) -> Exported:
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
    from netspec.backends.torch.export import dynamic_axes, export_program

    if path is None:
        raise UsageError(f"--format {fmt} writes a file: give -o PATH")
    unbound = _unbound(spec, net.name)
    dynamic = dynamic_axes(unbound) if unbound is not None else None
    with staged(Path(path)) as temporary:
        if fmt == "onnx":
            done = export_onnx_checked(model, net, temporary, bind=graph.bind or bind, check=check,
                                       dynamic=dynamic, unbound=unbound)
        else:
            done = export_program(model, net, temporary, bind=graph.bind or bind, check=check, dynamic=dynamic,
                                  unbound=unbound, pinned=dict(bind or {}))
    return Exported(Path(path), fmt, max_diff=done.max_diff, note=done.note)


def _unbound(spec: Any, network: str) -> Any:
    """The network analysed before any ``bind`` (its symbolic sizes free), or None when it cannot be."""
    try:
        return analyze(spec).network(network)
    except NetspecError:  # sizes that must be bound together to check: trace them as bound
        return None


ONNX_HINT = ("export it with --format pt2 or as Python source (.py) instead, or change that layer; if torch "
             "can export it and netspec refuses, please report it with the spec")


def export_onnx_checked(model: Any, net: Any, path: Path, bind: dict[str, int] | None = None, check: bool = True,
                        dynamic: dict[str, dict[int, str]] | None = None, unbound: Any = None) -> Any:
    """Write ``model`` as ONNX to ``path`` and check it with onnxruntime against ``model``'s own outputs.

    The module is exported as a copy made ready for ONNX (:func:`onnx_ready`); the outputs it is checked
    against are the compiled module's. A network that draws random numbers in eval mode is refused when
    checking (its outputs cannot be compared); ``check=False`` writes it unchecked.

    Raises:
        BuildError: torch's exporter or onnxruntime refuses the network, or computes something else: the
            message names the first layer that fails on its own (:func:`onnx_blame`), why, and a hint.
    """
    import copy

    from netspec.backends.torch.compile import example_inputs
    from netspec.backends.torch.export import Checked, compare_outputs, export_onnx

    model.eval()
    inputs = example_inputs(net, batch=2, bind=bind)
    if check:
        expected, steady = outputs_twice(model, inputs)
        if not steady:
            raise onnx_blame(model, net, inputs, "its outputs change from run to run in eval mode", unbound)
    try:
        with quiet():
            export_onnx(onnx_ready(copy.deepcopy(model)), net, path, bind=bind, dynamic=dynamic)
    except BuildError as err:
        raise onnx_blame(model, net, inputs, str(err), unbound, check) from None
    if not check:
        return Checked(path, None, "not checked")
    if not onnxruntime_installed():
        return Checked(path, None, "not checked: onnxruntime is not installed (pip install onnxruntime)")
    data = path.read_bytes()
    try:
        diff = compare_outputs(expected, run_onnx(data, inputs), "the ONNX model (onnxruntime)")
    except Exception as exc:  # onnxruntime's own errors, or BuildError: computes something else
        raise onnx_blame(model, net, inputs, _first_line(exc), unbound) from None
    _check_other_sizes(model, net, data, bind, unbound)
    return Checked(path, diff)


def _check_other_sizes(model: Any, net: Any, data: bytes, bind: dict[str, int] | None, unbound: Any) -> None:
    """The ONNX file declares the batch and the symbolic sizes dynamic: run it at other sizes than it was
    traced at (batch 3, each symbolic size one more, about half, about twice) against the module, so that a trace that baked a size in
    (a length read as a Python number) is refused rather than written. Sizes the network itself cannot take
    (a table of positions too short) are not tried.

    Raises:
        BuildError: onnxruntime fails or computes something else at the other sizes.
    """
    import torch

    from netspec.backends.torch.compile import example_inputs
    from netspec.backends.torch.export import compare_outputs, flat_outputs, other_sizes

    names = sorted({d for t in (unbound or net).inputs.values() for d in t.shape if isinstance(d, str)})
    rounds = [{name: other_sizes((bind or {}).get(name, 7))[r] for name in names} for r in range(3)] if names else [{}]
    for other in rounds:  # every size one more, about half, about twice: a trace may keep a threshold too
        inputs = example_inputs(unbound or net, batch=3, bind=other)
        try:
            with torch.no_grad():
                torch.manual_seed(0)
                expected = flat_outputs(model(*inputs))
        except Exception:  # noqa: BLE001 - the module refuses these sizes itself: nothing to compare
            continue
        sizes = ", ".join([*(f"{k}={v}" for k, v in other.items()), "batch 3"])
        try:
            compare_outputs(expected, run_onnx(data, inputs), f"the ONNX model (onnxruntime) at {sizes}")
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors, or BuildError: computes something else
            traced = ", ".join([*(f"{k}={(bind or {}).get(k, 7)}" for k in names), "batch 2"])
            raise BuildError(f"ONNX export of {net.name}: the file runs only at the sizes it was traced at "
                             f"({traced}); at {sizes}: {_first_line(exc)}\n    hint: a layer's trace keeps a size "
                             f"as a number; {ONNX_HINT}") from None


def outputs_twice(module: Any, inputs: Any) -> tuple[list[Any], bool]:
    """``module``'s outputs on ``inputs`` (no grad, seed 0), and whether a second run (seed 1) gives the same:
    a module that draws random numbers in eval mode cannot be checked against another runtime."""
    import torch

    from netspec.backends.torch.export import flat_outputs

    with torch.no_grad():
        torch.manual_seed(0)
        expected = flat_outputs(module(*inputs))
        torch.manual_seed(1)
        again = flat_outputs(module(*inputs))
    return expected, all(torch.equal(a, b) for a, b in zip(expected, again))


def onnxruntime_installed() -> bool:
    """onnxruntime can be imported (it is optional: without it ONNX files are written unchecked)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def run_onnx(data: bytes, inputs: Any) -> list[Any]:
    """Run an ONNX model in onnxruntime (CPU) on torch tensors, its own log silenced: failures are raised."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: its errors come back as exceptions, not coloured log lines
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def onnx_ready(model: Any) -> Any:
    """``model`` (a copy: changed in place) as torch's ONNX exporter and onnxruntime take it, computing the
    same in eval mode. Read from torch's module classes, so whatever layer builds them is covered:

    - ``padding='same'`` convolutions get explicit pads from their kernel and dilation (torch pads
      ``d·(k − 1)`` in all, the extra one after): torch writes ``auto_pad=SAME_UPPER``, which onnxruntime
      refuses with a dilation. Even totals become the convolution's own padding, odd ones a pad before it.
    - ``nn.ChannelShuffle`` and ``nn.RMSNorm``, which the exporter has no conversion for at opset 17, as
      the reshapes and the arithmetic they stand for.
    - an instance norm with running statistics uses them in eval mode, as a batch norm does: the exporter
      refuses it with a dynamic batch.
    """
    import types

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def shuffle(self: Any, x: torch.Tensor) -> torch.Tensor:  # (N, g·c, ...) -> (N, c·g, ...), pure data movement
        return x.unflatten(1, (self.groups, x.shape[1] // self.groups)).transpose(1, 2).flatten(1, 2)

    def rms(self: Any, x: torch.Tensor) -> torch.Tensor:  # x / sqrt(mean(x²) + eps) · γ over the last axes
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        axes = tuple(range(x.dim() - len(self.normalized_shape), x.dim()))
        y = x * torch.rsqrt(x.pow(2).mean(axes, keepdim=True) + eps)
        return y * self.weight if self.weight is not None else y

    def instance(self: Any, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)

    for module in model.modules():
        if isinstance(module, nn.ChannelShuffle):
            module.forward = types.MethodType(shuffle, module)
        elif isinstance(module, nn.RMSNorm):
            module.forward = types.MethodType(rms, module)
        elif isinstance(module, (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)) \
                and module.track_running_stats \
                and not module.training:
            module.forward = types.MethodType(instance, module)
        if not isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or module.padding != "same" \
                or module.padding_mode != "zeros":  # other modes already pad explicitly, then convolve
            continue
        totals = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size)]
        if all(t % 2 == 0 for t in totals):
            module.padding = tuple(t // 2 for t in totals)
            continue
        if all(d == 1 for d in module.dilation):  # ONNX's SAME_UPPER pads so too (the odd zero after), and
            continue  # onnxruntime runs it; only with a dilation it refuses SAME_UPPER
        pads = [p for t in reversed(totals) for p in (t // 2, t - t // 2)]  # F.pad: last axis first
        module.padding = (0,) * len(totals)
        module.register_forward_pre_hook(lambda _m, args, pads=pads: (F.pad(args[0], pads), *args[1:]))
    return model


def onnx_blame(model: Any, net: Any, inputs: Any, problem: str, unbound: Any = None,
               check: bool = True) -> BuildError:
    """The ONNX export of ``net`` failed with ``problem``: an error naming the first layer that fails
    exported and run on its own (on what it receives in the network), with why, else the problem.
    ``unbound``: the network before ``bind`` (its symbolic axes stay dynamic); ``check=False``: only
    torch's exporter is asked, randomness and onnxruntime are not."""
    for node, why, hint in _layer_problems(model, net, inputs, unbound, check):
        return BuildError(f"{node.location or net.name}: cannot export layer '{node.name}' ({node.kind}) to ONNX: "
                          f"{why}\n    hint: {hint}")
    return BuildError(f"ONNX export of {net.name} failed: {problem}\n    hint: no single layer fails on its own; "
                      f"{ONNX_HINT}")


def _layer_problems(model: Any, net: Any, inputs: Any, unbound: Any,
                    check: bool) -> Iterator[tuple[Any, str, str]]:
    """Each layer that fails alone, with why and a hint: what it receives in the network (batch and the axes that
    are symbolic before ``bind`` dynamic), exported as the network is, then run in onnxruntime."""
    import copy

    import torch

    from netspec.backends.torch.export import compare_outputs, onnx_bytes

    received: dict[str, tuple[Any, ...]] = {}

    def keep(name: str) -> Any:
        def hook(_module: Any, args: tuple[Any, ...]) -> None:
            if name not in received:  # clones: an in-place activation further on must not change them
                received[name] = tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args)
        return hook

    nodes = [n for n in net.nodes if n.shared is None]
    hooks = [model.get_submodule(n.name).register_forward_pre_hook(keep(n.name)) for n in nodes]
    try:
        with torch.no_grad():
            torch.manual_seed(0)
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    free = {n.name: n for n in unbound.nodes} if unbound is not None else {}
    runtime = onnxruntime_installed()
    for node in nodes:
        args = received.get(node.name)
        if args is None or not all(isinstance(a, torch.Tensor) for a in args):
            continue
        module = copy.deepcopy(model.get_submodule(node.name)).eval()
        expected, steady = outputs_twice(module, args)
        if check and not steady:
            yield node, ("it draws random numbers in eval mode, so onnxruntime's outputs cannot be checked against "
                         "torch's"), ("--no-check writes the file without the check (onnxruntime then draws its own "
                                      "random numbers), or make the layer deterministic in eval mode")
            continue
        names = [f"input_{i}" for i in range(len(args))]
        types = list(free[node.name].in_types) if node.name in free else []
        dynamic = {name: {0: "batch", **{i + 1: f"{name}_{i + 1}" for i, d in enumerate(t.shape)
                                         if not isinstance(d, int)}}
                   for name, t in zip(names, types)} or {name: {0: "batch"} for name in names}
        try:
            with quiet():
                data = onnx_bytes(onnx_ready(module), args, names, dynamic)
        except Exception as exc:
            yield node, f"torch's ONNX exporter refuses it: {_first_line(exc)}", ONNX_HINT
            continue
        if not check or not runtime:
            continue
        try:
            compare_outputs(expected, run_onnx(data, args), "onnxruntime")
        except Exception as exc:
            yield node, f"onnxruntime fails on it: {_first_line(exc)}", ONNX_HINT


def _first_line(exc: BaseException) -> str:
    """An exception's message, first line, without onnxruntime's ``[ONNXRuntimeError] : 2 : CODE :`` prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("[ONNXRuntimeError]"):
        text = text.split(" : ", 3)[-1]
    for tail in (" Please feel free to request support", "  [Caused by"):  # torch's boilerplate
        text = text.split(tail)[0]
    return text if isinstance(exc, NetspecError) else f"{type(exc).__name__}: {text}"


@contextmanager
def quiet() -> Iterator[None]:
    """Silence what torch's ONNX exporter and onnxruntime print from C++ (a graph dump on failure, log
    lines): file descriptors 1 and 2 go to a scratch file for the block. Their failures are raised."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


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
        write_text(Path(path), text)
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

    from netspec.backends.torch.compile import check_memory, compile_graph, example_inputs
    from netspec.backends.torch.export import compare_outputs, flat_outputs
    from netspec.core.errors import BuildError

    for net in graph.networks.values():  # before the written class allocates anything
        check_memory(net, copies=2, why="the check builds the written class beside the compiled module; "
                                        "--no-check writes the source unchecked")

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
    from netspec.layers.init import INIT_SCHEMES, InitSpec, init_items

    prefix = len(graph.networks) > 1
    out = []
    for net_name, net in graph.networks.items():
        for node in net.nodes:
            if node.init is None or node.shared is not None:
                continue
            for pname, value in init_items(node.init, node.params):
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
