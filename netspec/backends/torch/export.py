"""A compiled network out of netspec: ONNX (checked with onnxruntime) and ``torch.export`` programs (.pt2).

Both are traced from random inputs of the network's input types (batch 2, symbolic sizes bound) in
eval mode; the batch axis stays dynamic. Each product is loaded back and run on those inputs, and its
outputs are compared with the module's: an export that computes something else is an error, not a file.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from netspec.backends.torch.compile import example_inputs
from netspec.core.errors import BuildError
from netspec.ir.graph import NetGraph

ONNX_OPSET = 17
TOLERANCE = 1e-4  # largest difference allowed between the export's outputs and the module's, relative to scale


@dataclass
class Checked:
    """An export written and run back: where, and the largest output difference from the module."""

    path: Path
    max_diff: float | None  # None when not checked (onnxruntime missing)
    note: str = ""


def flat_outputs(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat_outputs(v)]
    raise BuildError(f"the network returns a {type(value).__name__}, which cannot be compared")


def compare_outputs(expected: list[torch.Tensor], got: list[Any], what: str) -> float:
    if len(expected) != len(got):
        raise BuildError(f"{what} returns {len(got)} outputs, the module {len(expected)}")
    worst = 0.0
    for e, g in zip(expected, got):
        g = torch.as_tensor(g)
        if tuple(g.shape) != tuple(e.shape):
            raise BuildError(f"{what} gives an output of shape {tuple(g.shape)}, the module {tuple(e.shape)}")
        if e.is_floating_point():
            diff = float((g.to(e.dtype) - e).abs().max()) if e.numel() else 0.0
            if diff > TOLERANCE * max(1.0, float(e.abs().max()) if e.numel() else 0.0):
                raise BuildError(f"{what} computes something else: outputs differ by up to {diff:.3g}")
        else:
            diff = 0.0 if torch.equal(g.to(e.dtype), e) else float("inf")
            if diff:
                raise BuildError(f"{what} computes something else: integer outputs differ")
        worst = max(worst, diff)
    return worst


def _prepare(model: nn.Module, net: NetGraph, bind: dict[str, int] | None) -> tuple[tuple[torch.Tensor, ...],
                                                                                    list[torch.Tensor]]:
    model.eval()
    inputs = example_inputs(net, batch=2, bind=bind)
    with torch.no_grad():
        expected = flat_outputs(model(*inputs))
    return inputs, expected


def dynamic_axes(net: NetGraph) -> dict[str, dict[int, str]]:
    """Each input's dynamic axes: the batch, and every symbolic size (``T``) by its name."""
    return {name: {0: "batch", **{i + 1: d for i, d in enumerate(t.shape) if isinstance(d, str)}}
            for name, t in net.inputs.items()}


def export_onnx(model: nn.Module, net: NetGraph, path: str | os.PathLike[str], bind: dict[str, int] | None = None,
                check: bool = True, opset: int = ONNX_OPSET,
                dynamic: dict[str, dict[int, str]] | None = None) -> Checked:
    """Write ``model`` (one compiled network) as ONNX and check it with onnxruntime.

    Input and output names are the network's; the batch axis and the axes in ``dynamic`` (default
    :func:`dynamic_axes` of ``net``) are dynamic. Uses torch's TorchScript-based exporter, which needs
    neither onnxscript nor a dynamo trace.

    Raises:
        BuildError: the exporter refused the network, or onnxruntime computes something else.
    """
    inputs, expected = _prepare(model, net, bind)
    names_in = list(net.inputs)
    names_out = list(net.outputs)
    if len(expected) != len(names_out):
        names_out = [f"output_{i}" for i in range(len(expected))]
    dynamic = {**(dynamic if dynamic is not None else dynamic_axes(net)), **{name: {0: "batch"} for name in names_out}}
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, inputs, buffer, input_names=names_in, output_names=names_out,
                              dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    except Exception as exc:
        raise BuildError(f"ONNX export of {net.name} failed: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    data = buffer.getvalue()
    out = Path(path)
    if not check:
        out.write_bytes(data)
        return Checked(out, None, "not checked")
    try:
        import onnxruntime as ort
    except ImportError:
        out.write_bytes(data)
        return Checked(out, None, "not checked: onnxruntime is not installed (pip install onnxruntime)")
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: its errors come back as exceptions, not coloured log lines
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
    got = [torch.from_numpy(a) for a in session.run(None, feed)]
    checked = Checked(out, compare_outputs(expected, got, "the ONNX model (onnxruntime)"))  # raises on a mismatch
    out.write_bytes(data)  # written once it computes the model's function
    return checked


def export_program(model: nn.Module, net: NetGraph, path: str | os.PathLike[str],
                   bind: dict[str, int] | None = None, check: bool = True,
                   dynamic: dict[str, dict[int, str]] | None = None) -> Checked:
    """Write ``model`` as a ``torch.export`` program (``.pt2``; load it with ``torch.export.load``).

    The batch axis and the axes in ``dynamic`` (as for :func:`export_onnx`) are left to torch.export to
    keep dynamic where the network allows (``Dim.AUTO``).

    Raises:
        BuildError: torch.export refused the network, or the loaded program computes something else.
    """
    inputs, expected = _prepare(model, net, bind)
    axes = dynamic if dynamic is not None else dynamic_axes(net)
    dims = tuple({i: torch.export.Dim.AUTO for i in axes.get(name, {0: "batch"})} for name in net.inputs)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, inputs, dynamic_shapes=dims)
    except Exception as exc:
        raise BuildError(f"torch.export of {net.name} failed: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    out = Path(path)
    torch.export.save(program, out)
    if not check:
        return Checked(out, None, "not checked")
    loaded = torch.export.load(out).module()
    with torch.no_grad():
        got = flat_outputs(loaded(*inputs))
    return Checked(out, compare_outputs(expected, got, "the exported program"))
