"""A compiled network out of netspec: ONNX and ``torch.export`` programs (.pt2).

Both are traced from random inputs of the network's input types (batch 2, symbolic sizes bound) in
eval mode; the batch axis stays dynamic. A program is loaded back and run on those inputs, and its
outputs are compared with the module's (:func:`compare_outputs`): an export that computes something else
is an error, not a file; so is a program that runs only at the sizes it was traced at
(:func:`check_other_sizes`: torch.export fixes a recurrent layer's length). An ONNX file is checked the same
way, in onnxruntime, by ``netspec export`` (:mod:`netspec.interop.export`), the one place that runs ONNX
models. ONNX export needs the onnx package (:func:`require` says so by name when it is missing).
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
from netspec.core.errors import BuildError, UsageError
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


# The optional packages an export path needs: the module, the pip package, what needs it, and what to do instead.
ONNX_PACKAGE = ("onnx", "onnx", "ONNX export", "or export a torch.export program (.pt2) or Python source (.py), "
                "which need no other package")


def require(package: tuple[str, str, str, str]) -> None:
    """Raise a :class:`UsageError` (exit 2) naming ``package`` when it, or a package it needs, cannot be imported:
    said before any work, never as a refusal blamed on the network or one of its layers."""
    import importlib

    module, pip, what, instead = package
    try:
        importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing and missing.split(".")[0] != module:  # installed, but a package it needs is not
            raise UsageError(f"{what} needs the {pip} package, which cannot be imported: it needs {missing}, which "
                             f"is not installed ({exc})\n    hint: pip install --upgrade {pip} (it installs what "
                             f"{pip} needs); {instead}") from None
        raise UsageError(f"{what} needs the {pip} package, which is not installed\n    hint: pip install {pip}; "
                         f"{instead}") from None


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
        UsageError: the onnx package, which torch's exporter needs, is not installed.
        BuildError: the exporter refused the network.
    """
    require(ONNX_PACKAGE)
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
    its Python warnings silenced; whatever the exporter raises passes through (a :class:`UsageError` when the
    onnx package is missing)."""
    require(ONNX_PACKAGE)
    buffer = io.BytesIO()
    with _tracing():
        torch.onnx.export(module, inputs, buffer, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    return buffer.getvalue()


def export_program(model: nn.Module, net: NetGraph, path: str | os.PathLike[str],
                   bind: dict[str, int] | None = None, check: bool = True,
                   dynamic: dict[str, dict[int, str]] | None = None, unbound: NetGraph | None = None,
                   pinned: dict[str, int] | None = None) -> Checked:
    """Write ``model`` as a ``torch.export`` program (``.pt2``; load it with ``torch.export.load``).

    The batch axis and the axes in ``dynamic`` (as for :func:`export_onnx`) are left to torch.export to
    keep dynamic where the network allows (``Dim.AUTO``). ``Dim.AUTO`` specialises a size silently when
    the trace reads it as a number (torch.export unrolls a recurrent layer's loop over the steps, fixing
    the length), so the checked program is also run at other sizes (:func:`check_other_sizes`): batch 3
    and each symbolic size of ``unbound`` (the network before ``bind``) one more, except the sizes in
    ``pinned`` (the ones the user bound: the program is for those).

    Raises:
        BuildError: torch.export refused the network, or the loaded program computes something else, at
            the traced sizes or at the others (the message names the sizes the program is fixed at).
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
    diff = compare_outputs(expected, got, "the exported program")
    only = check_other_sizes(model, loaded, unbound or net, bind, pinned or {}, net.name)
    return Checked(out, diff, f"it runs only at {', '.join(only)} (bound)" if only else "")


def other_sizes(traced: int) -> tuple[int, ...]:
    """The sizes an exported file is run at besides the one a symbolic size was traced at: one more, about half
    and about twice (a layer's trace may keep a threshold as a number, not only the size itself: a window that
    covers the whole map below some size, a padding that is zero at a multiple of the window)."""
    return traced + 1, max(1, (traced - 1) // 2), 2 * traced + 3


def check_other_sizes(model: nn.Module, program: Any, net: NetGraph, bind: dict[str, int] | None,
                      pinned: dict[str, int], name: str) -> list[str]:
    """Run ``program`` (traced at batch 2, symbolic sizes as ``bind`` says, default 7) at batch 3 and at each
    symbolic size of ``net``'s inputs set to the larger of :func:`other_sizes`, one size at a time, against
    ``model``. Sizes the module
    itself cannot take (a table of positions too short) are not tried.

    Returns:
        The sizes in ``pinned`` (bound by the user: the program is for them) the program is fixed at
        (``T=11``), said with the file rather than refused.

    Raises:
        BuildError: the program fails or computes something else at some of these sizes; the message names
            them and the sizes it was traced at.
    """
    names = sorted({d for t in net.inputs.values() for d in t.shape if isinstance(d, str)})
    traced = {k: pinned.get(k, (bind or {}).get(k, 7)) for k in names}
    trials: list[tuple[str, int, dict[str, int]]] = [("batch", 3, traced)]
    # not the smaller size: torch.export's programs hold for sizes of 2 and more along the way (its 0/1
    # specialization), so a guard there says nothing a user meets at the sizes the spec is for
    trials += [(k, v, {**traced, k: v}) for k in names for v in other_sizes(traced[k]) if v > traced[k]]
    fixed: list[str] = []
    only: list[str] = []
    why = ""
    for what, size, sizes in trials:
        try:
            inputs = example_inputs(net, batch=3 if what == "batch" else 2, bind=sizes)
            with torch.no_grad():
                expected = flat_outputs(model(*inputs))
        except Exception:  # noqa: BLE001 - the module refuses these sizes itself: nothing to compare
            continue
        try:
            with _tracing():
                got = flat_outputs(program(*inputs))
            compare_outputs(expected, got, "the exported program")
        except Exception as exc:  # noqa: BLE001 - the program's guard, or BuildError: computes something else
            if what in pinned:  # each bound size once, however many of its other sizes fail
                if f"{what}={traced[what]}" not in only:
                    only.append(f"{what}={traced[what]}")
                continue
            failed = f"{what} {size}" if what == "batch" else f"{what}={size}"
            if failed not in fixed:
                fixed.append(failed)
            why = why or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if fixed:
        at = ", ".join([*(f"{k}={v}" for k, v in traced.items()), "batch 2"])
        lengths = list(dict.fromkeys(f.split("=")[0] for f in fixed if "=" in f))
        hint = (f"torch.export fixed {', '.join(lengths)} at the traced size (a layer's trace reads it as a number: "
                "a recurrent layer's loop is unrolled over the steps); to write a program for one size, bind it "
                f"(--bind {lengths[0]}=N, export(..., bind={{'{lengths[0]}': N}})), or export Python source (.py), "
                "which keeps it dynamic, or ONNX (.onnx, checked at other sizes the same way)" if lengths else
                "the trace fixed the batch size; export ONNX (.onnx) or Python source (.py) instead")
        raise BuildError(f"torch.export of {name}: the program runs only at the sizes it was traced at ({at}); "
                         f"at {', '.join(fixed)}: {why}\n    hint: {hint}")
    return only
