"""A compiled network out of netspec: ONNX and ``torch.export`` programs (.pt2).

Both are traced from random inputs of the network's input types (batch 2, symbolic sizes bound) in
eval mode; the batch axis stays dynamic. A program is loaded back and run on those inputs, and its
outputs are compared with the module's (:func:`compare_outputs`): an export that computes something else
is an error, not a file. An ONNX file is checked the same way, in onnxruntime, by ``netspec export``
(:mod:`netspec.interop.export`), the one place that runs ONNX models.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from netspec.backends.torch.compile import example_inputs
from netspec.core.atomic import write_atomic
from netspec.core.errors import BuildError
from netspec.ir.graph import NetGraph

ONNX_OPSET = 17
TOLERANCE = 1e-4  # largest difference allowed between the export's outputs and the module's, relative to scale


@dataclass
class Checked:
    """An export written and run back: where, and the largest output difference from the module."""

    path: Path
    max_diff: float | None  # None when not checked (--no-check, or onnxruntime missing)
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


@contextmanager
def _tracing() -> Iterator[None]:
    """An exporter tracing the module: no autograd, torch's Python warnings silenced."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        yield


def _refused(what: str, exc: Exception) -> BuildError:
    """The exporter's refusal: ``what`` failed, its exception's type and first line."""
    return BuildError(f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def dynamic_axes(net: NetGraph) -> dict[str, dict[int, str]]:
    """Each input's and output's dynamic axes: the batch, and every symbolic size (``T``, ``T + 1``) by its
    name, so that the ONNX file declares what onnxruntime may be given and will return."""
    types = {**net.inputs, **net.output_types()}
    return {name: {0: "batch", **{i + 1: str(d) for i, d in enumerate(t.shape) if isinstance(d, str)}}
            for name, t in types.items()}


def export_onnx(model: nn.Module, net: NetGraph, path: str | os.PathLike[str], bind: dict[str, int] | None = None,
                opset: int = ONNX_OPSET, dynamic: dict[str, dict[int, str]] | None = None) -> Path:
    """Write ``model`` (one compiled network) as ONNX, unchecked: ``netspec export`` runs the file in
    onnxruntime and compares (:func:`netspec.interop.export.export_onnx_checked`, which also exports a copy
    made ready for ONNX and names the layer that fails).

    Input and output names are the network's; the batch axis and the axes in ``dynamic`` (default
    :func:`dynamic_axes` of ``net``) are dynamic. Uses torch's TorchScript-based exporter, which needs
    neither onnxscript nor a dynamo trace.

    Raises:
        BuildError: the exporter refused the network.
    """
    inputs, expected = _prepare(model, net, bind)  # the outputs are run for their number
    names_in = list(net.inputs)
    names_out = list(net.outputs)
    if len(expected) != len(names_out):
        names_out = [f"output_{i}" for i in range(len(expected))]
    dynamic = {**{name: {0: "batch"} for name in names_out}, **(dynamic if dynamic is not None else dynamic_axes(net))}
    dynamic = {name: axes for name, axes in dynamic.items() if name in names_in or name in names_out}
    try:
        data = onnx_bytes(model, inputs, names_in, dynamic, names_out, opset)
    except Exception as exc:
        raise _refused(f"ONNX export of {net.name}", exc) from None
    out = Path(path)
    write_atomic(out, lambda f: f.write(data))  # whole or not at all
    return out


def onnx_bytes(module: nn.Module, inputs: tuple[torch.Tensor, ...], input_names: list[str],
               dynamic: dict[str, dict[int, str]], output_names: list[str] | None = None,
               opset: int = ONNX_OPSET) -> bytes:
    """``module`` as an ONNX model, by torch's TorchScript-based exporter (no onnxscript, no dynamo trace),
    its Python warnings silenced; whatever the exporter raises passes through."""
    buffer = io.BytesIO()
    with _tracing():
        torch.onnx.export(module, inputs, buffer, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    return buffer.getvalue()


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
        with _tracing():
            program = torch.export.export(model, inputs, dynamic_shapes=dims)
    except Exception as exc:
        raise _refused(f"torch.export of {net.name}", exc) from None
    out = Path(path)
    # through a file object, whole or not at all: torch's own file writer turns a failed write into a
    # RuntimeError (or an abort) that no longer says which file or why
    write_atomic(out, lambda f: torch.export.save(program, f))
    if not check:
        return Checked(out, None, "not checked")
    loaded = torch.export.load(out).module()
    with torch.no_grad():
        got = flat_outputs(loaded(*inputs))
    return Checked(out, compare_outputs(expected, got, "the exported program"))
