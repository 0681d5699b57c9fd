"""Architecture diagrams (`netspec draw`): the checked graph IR as Graphviz DOT, rendered by `dot`.

Reads only the graph IR. The DOT text is written in plain Python (no dependency); the ``graphviz``
package and the system ``dot`` are needed only to render svg/png/pdf, and are imported lazily
(``netspec check`` never imports them).

What a picture shows: one box per layer (name, the notes' label ``conv 5×5 ×6 /1``, output shape,
parameters), coloured by layer family with a legend in the caption; edges labelled with tensor
shapes; shortcut and skip connections dashed; merges as small circles (``+``, ``‖``, ``×``); blocks,
residual blocks and parallel branches as clusters. Blocks deeper than ``depth`` collapse into one box
(total parameters and output shape); consecutive identical blocks collapse into one box marked ``×n``.
Several networks are drawn side by side with the edges between them; recurrent layers can be drawn
unrolled through time. A spec that fails shape inference is drawn up to the failure, the failing
layer in red and the error in the caption.

The parts: ``model`` (options, boxes, clusters), ``view`` (what is drawn at which depth), ``style``
(colours, fonts), ``dot`` (the DOT text); this module writes the DOT text of a graph and renders it
(``netspec.api`` chains the stages).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.backends.graphviz.dot import dot_source
from netspec.backends.graphviz.model import DrawOptions
from netspec.backends.graphviz.style import RECURRENT_FAMILY
from netspec.core.atomic import write_atomic
from netspec.core.errors import BuildError, NetspecError, UsageError
from netspec.ir.graph import Graph

FORMATS = ("svg", "png", "pdf", "dot")

INSTALL_HINT = ("Graphviz's 'dot' program was not found on PATH; it renders svg/png/pdf.\n"
                "Install it:\n"
                "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
                "    macOS:          brew install graphviz\n"
                "    conda:          conda install -c conda-forge graphviz\n"
                "or write the DOT source without it: --format dot (netspec.draw(..., format='dot')).")


@dataclass
class Drawing:
    """The result of :func:`render`: where the picture went, its DOT text, and the error of a failing spec."""

    path: Path | None
    dot: str
    format: str
    error: NetspecError | None = None


def options(kw: dict[str, Any]) -> DrawOptions:
    """Drawing options from keywords; an unknown one is a UsageError with close matches."""
    allowed = set(DrawOptions.__dataclass_fields__)
    unknown = [k for k in kw if k not in allowed]
    if unknown:
        from netspec.core.errors import did_you_mean

        hint = did_you_mean(unknown[0], allowed)
        raise UsageError(f"unknown drawing option '{unknown[0]}'" + (f"; {hint}" if hint else "")
                         + f" (options: {', '.join(sorted(allowed))})")
    return DrawOptions(**kw).check()


def to_dot(graph: Graph, opts: DrawOptions) -> str:
    """The Graphviz DOT source of a graph's diagram (needs neither Graphviz nor torch).

    A partial graph (``Graph.error`` set) is drawn up to the failing layer, in red, with the error in
    the caption.

    Raises:
        UsageError: ``unroll`` is asked for and no drawn network has a recurrent layer.
    """
    _check_unroll(graph, opts)
    return dot_source(graph, opts)


def _check_unroll(graph: Graph, opts: DrawOptions) -> None:
    """``unroll`` on a spec without a recurrent layer would be ignored: say so instead."""
    if not opts.unroll or graph.error is not None:  # a partial graph may stop before its recurrent layers
        return
    nets = [graph.network(opts.network)] if opts.network is not None else list(graph.networks.values())
    if not any(node.family == RECURRENT_FAMILY for net in nets for node in net.nodes):
        where = f"network '{opts.network}'" if opts.network is not None else "the spec"
        raise UsageError(f"--unroll {opts.unroll}: {where} has no recurrent layer to unroll; drop --unroll")


def format_for(path: str | os.PathLike[str] | None, fmt: str | None) -> str:
    """The picture's format: ``fmt``, else the path's extension, else svg.

    Raises:
        UsageError: an unknown format or extension, or a format that contradicts the path's extension
            (``--format png -o x.svg`` would write PNG bytes into a .svg file).
    """
    suffix = Path(path).suffix.lower().lstrip(".") if path is not None else ""
    suffix = "dot" if suffix == "gv" else suffix
    if fmt is not None:
        f = str(fmt).lower().lstrip(".")
        if f == "gv":
            f = "dot"
        if f not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
        if suffix in FORMATS and suffix != f:
            raise UsageError(f"--format {f} does not match the extension of '{path}' (.{suffix}); "
                             f"name the file .{f}, or drop --format")
        return f
    if path is None:
        return "svg"
    if suffix in FORMATS:
        return suffix
    raise UsageError(f"cannot tell the format from '{path}'" + (f" (unknown extension '.{suffix}')" if suffix else "")
                     + "; name it .svg, .png, .pdf or .dot, or pass --format")


def dot_executable() -> str | None:
    """Path of Graphviz's ``dot``, or None when it is not installed."""
    return shutil.which("dot")


def render_dot(dot: str, fmt: str) -> bytes:
    """Run Graphviz on DOT text; a missing ``dot`` is a BuildError saying how to install it."""
    if fmt == "dot":
        return dot.encode("utf-8")
    if dot_executable() is None:
        raise BuildError(INSTALL_HINT)
    import graphviz

    try:
        return graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise BuildError(INSTALL_HINT) from None
    except graphviz.CalledProcessError as exc:  # pragma: no cover - a bug in the DOT we write
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
        raise BuildError(f"Graphviz failed to render the diagram: {stderr.strip()}") from None


def render(graph: Graph, path: str | os.PathLike[str] | None, opts: DrawOptions,
           format: str | None = None) -> Drawing:  # noqa: A002
    """Draw and write the picture; returns the path, the DOT text and the error of a partial graph.

    Graphviz renders into memory (``dot`` never writes the output itself); the picture is then written
    whole or not at all (:func:`netspec.core.atomic.write_atomic`).

    Raises:
        WriteError: the picture could not be written (a full disk, a size limit); the file is as it was.
    """
    fmt = format_for(path, format)
    dot = to_dot(graph, opts)
    data = render_dot(dot, fmt)
    out = Path(path) if path is not None else None
    if out is not None:
        if out.parent and not out.parent.exists():
            raise UsageError(f"cannot write {out}: the folder {out.parent} does not exist")
        write_atomic(out, lambda f: f.write(data))  # whole or not at all: a failed write leaves the old file
    return Drawing(out, dot, fmt, graph.error)
