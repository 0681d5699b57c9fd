"""What the two writers (``dsl``, ``yaml``) share: their error, the words for plain scalars, and the
output lines with the source's comments carried over by line."""

from __future__ import annotations

import math
from typing import Any

from netspec.core.errors import Location, NetspecError
from netspec.frontends.write.comments import Comments


class CannotWrite(NetspecError):
    """The raw tree holds something the target format cannot say (it would not validate either)."""

    location: Location | None = None  # the layer item that could not be written, when known


# ---------------------------------------------------------------------------------------------
# scalars


def fmt_float(v: float) -> str:
    """A finite float, shortest form that reads back the same: ``0.001``, ``1e-6``, ``4.09e9``."""
    text = repr(v)
    if "e" not in text and abs(v) >= 1e6 and v == int(v):
        for digits in range(0, 17):  # 4090000000.0 -> 4.09e9
            short = f"{v:.{digits}e}"
            if float(short) == v:
                mant, exp = short.split("e")
                return f"{mant}e{int(exp)}"
    if "e" in text:
        mant, exp = text.split("e")
        if "." not in mant and not float(f"{mant}e{int(exp)}") == v:  # pragma: no cover
            return text
        return f"{mant}e{int(exp)}"
    return text


def fmt_scalar(v: Any) -> str | None:
    """``null``, ``true``, ``false``, an integer or a finite float, as both formats write them; None for
    anything else (strings, containers, nan and infinities), which each writer words its own way."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and math.isfinite(v):
        return fmt_float(v)
    return None


# ---------------------------------------------------------------------------------------------
# output lines, comments carried over


class CommentedLines:
    """Output lines of a writer, with the source's comments put back where they belong."""

    def __init__(self, comments: Comments | None = None) -> None:
        self.comments = comments or Comments()
        self.out: list[str] = []

    def emit(self, pad: str, text: str, start: Any = None, end: int | None = None) -> None:
        """One statement at source lines ``start..end``: earlier comments above it, its own at its end."""
        before, after = self.comments.take(getattr(start, "line", None), end)
        for c in before:
            self.out.append(f"{pad}#{c}" if c is not None else "")
        self.out.append(f"{pad}{text}" + (f"  # {after}" if after else ""))

    def blank(self) -> None:
        if self.out and self.out[-1] != "":
            self.out.append("")

    def text(self) -> str:
        rest = self.comments.rest()
        if rest:
            self.blank()
            self.out.extend(f"#{c}" if c is not None else "" for c in rest)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"


def last_line(node: Any, depth: int = 0) -> int:
    """The last source line any part of a raw-tree node starts on."""
    best = 0
    pos = getattr(node, "pos", None)
    if pos is not None:
        best = pos.line
    if depth > 64:
        return best
    if isinstance(node, dict):
        for loc in getattr(node, "key_pos", {}).values():
            if loc is not None:
                best = max(best, loc.line)
        for value in node.values():
            best = max(best, last_line(value, depth + 1))
    elif isinstance(node, list):
        for loc in getattr(node, "item_pos", []):
            if loc is not None:
                best = max(best, loc.line)
        for value in node:
            best = max(best, last_line(value, depth + 1))
    return best


def last_line_first(node: Any) -> int:
    """The first source line of a list's items (for the span of a statement that has a body)."""
    lines = [loc.line for loc in getattr(node, "item_pos", []) if loc is not None]
    if lines:
        return min(lines)
    pos = getattr(node, "pos", None)
    return pos.line if pos is not None else 0
