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

The parts: ``diagram_model`` (options, boxes, clusters), ``diagram_view`` (what is drawn at which
depth), ``diagram_dot`` (the DOT text); this module analyses the spec, renders, and re-exports them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netspec.backends.graphviz.dot import (
    BLOCK_FILL,
    CLUSTER_FILLS,
    FAILED_FILL,
    FAILED_LINE,
    FAMILY_COLORS,
    FAMILY_NAMES,
    FONT,
    INPUT_FILL,
    LINK_COLOR,
    MERGE_GLYPHS,
    SHORTCUT_COLOR,
    SKIP_COLOR,
    STATE_COLOR,
    _dot,
    family_color,
)
from netspec.backends.graphviz.model import (
    MAX_UNROLL,
    Box,
    Cluster,
    DrawOptions,
    NetView,
)
from netspec.backends.graphviz.view import AUTO_MAX_ITEMS, AUTO_MAX_RANKS, auto_depth
from netspec.core.errors import BuildError, NetspecError, UsageError
from netspec.ir.graph import Graph, NetGraph

if TYPE_CHECKING:  # pragma: no cover
    from netspec.api import Source

# the names tests and callers have always found here, wherever they are defined now
__all__ = [
    "AUTO_MAX_ITEMS", "AUTO_MAX_RANKS", "BLOCK_FILL", "CLUSTER_FILLS", "FAILED_FILL", "FAILED_LINE", "FAMILY_COLORS",
    "FAMILY_NAMES", "FONT", "FORMATS", "INPUT_FILL", "INSTALL_HINT", "LINK_COLOR", "MAX_UNROLL", "MERGE_GLYPHS",
    "SHORTCUT_COLOR", "SKIP_COLOR", "STATE_COLOR", "Box", "Cluster", "DrawOptions", "Drawing", "NetView", "auto_depth",
    "dot_executable", "draw", "family_color", "render", "render_dot", "to_dot",
]

FORMATS = ("svg", "png", "pdf", "dot")

INSTALL_HINT = ("Graphviz's 'dot' program was not found on PATH; it renders svg/png/pdf.\n"
                "Install it:\n"
                "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
                "    macOS:          brew install graphviz\n"
                "    conda:          conda install -c conda-forge graphviz\n"
                "or write the DOT source without it: --format dot (netspec.draw(..., format='dot')).")


def _analyze(source: "Source", bind: dict[str, int] | None, strict: bool) -> tuple[Graph, NetspecError | None]:
    """The graph of every network that builds, plus the partial graph and error of a failing one."""
    from netspec.ir.graph import _network_order, build_network
    from netspec.spec.load import load

    if isinstance(source, Graph):
        return source, None
    spec = load(source)
    nets: dict[str, NetGraph] = {}
    error: NetspecError | None = None
    for name in _network_order(spec):
        try:
            nets[name] = build_network(name, spec.networks[name], nets, bind or {}, strict)
        except NetspecError as err:
            partial = getattr(err, "partial", None)
            if partial is None:
                raise
            nets[name] = partial
            error = err
            break
    return Graph(spec.name, spec, nets), error


@dataclass
class Drawing:
    """The result of :func:`render`: where the picture went, its DOT text, and the error of a failing spec."""

    path: Path | None
    dot: str
    format: str
    error: NetspecError | None = None


def _options(kw: dict[str, Any]) -> DrawOptions:
    allowed = set(DrawOptions.__dataclass_fields__)
    unknown = [k for k in kw if k not in allowed]
    if unknown:
        from netspec.core.errors import did_you_mean

        hint = did_you_mean(unknown[0], allowed)
        raise UsageError(f"unknown drawing option '{unknown[0]}'" + (f"; {hint}" if hint else "")
                         + f" (options: {', '.join(sorted(allowed))})")
    return DrawOptions(**kw).check()


def to_dot(source: "Source", **options: Any) -> str:
    """The Graphviz DOT source of a spec's diagram (needs neither Graphviz nor torch).

    Args:
        source: a path, spec text, a loaded Spec or a Graph.
        depth: blocks nested deeper than this collapse into one box (None: automatic, readable).
        collapse_repeats: consecutive identical blocks become one box marked ×n (default True).
        network: draw only this network of a multi-network spec.
        unroll: draw recurrent layers unrolled over this many time steps (0: as one box).
        rankdir: "TB" (top to bottom, default) or "LR".
        shapes, params: show tensor shapes / parameter counts (default True).
        legend: the family colour legend in the caption (default True).
        title: caption title (default: the spec's name).
        bind, strict: as for ``netspec.check``.

    A spec that fails shape inference is drawn up to the failing layer (in red, the error in the
    caption); it does not raise.
    """
    opts = _options(options)
    graph, error = _analyze(source, opts.bind, opts.strict)
    return _dot(graph, error, opts)


def _format_for(path: str | os.PathLike[str] | None, fmt: str | None) -> str:
    if fmt is not None:
        f = str(fmt).lower().lstrip(".")
        if f == "gv":
            f = "dot"
        if f not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
        return f
    if path is None:
        return "svg"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
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


def render(source: "Source", path: str | os.PathLike[str] | None, format: str | None = None,  # noqa: A002
           **options: Any) -> Drawing:
    """Draw and write the picture; returns the path, the DOT text and the error of a failing spec."""
    opts = _options(options)
    fmt = _format_for(path, format)
    graph, error = _analyze(source, opts.bind, opts.strict)
    dot = _dot(graph, error, opts)
    data = render_dot(dot, fmt)
    out = Path(path) if path is not None else None
    if out is not None:
        if out.parent and not out.parent.exists():
            raise UsageError(f"cannot write {out}: the folder {out.parent} does not exist")
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}") from None
    return Drawing(out, dot, fmt, error)


def draw(source: "Source", path: str | os.PathLike[str], format: str | None = None, **options: Any) -> Path:  # noqa: A002
    """Render a spec's diagram to ``path`` (svg, png, pdf or dot, from the extension or ``format``).

    Takes the options of :func:`to_dot`. svg/png/pdf need Graphviz's ``dot`` program; without it a
    BuildError says how to install it (``format='dot'`` works without). A spec that fails shape
    inference is drawn up to the failure (the error is in the caption); use ``netspec.check`` to
    raise it.
    """
    return render(source, path, format=format, **options).path  # type: ignore[return-value]
