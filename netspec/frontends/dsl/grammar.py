"""The DSL's words: keywords, the grammar and its parser, and registry look-ups shared with the writer."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from lark import Lark

from netspec.frontends.keys import ITEM_KEYS, REPEAT
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import field_names
from netspec.layers.structure.base_group import Group

MAX_NESTING = 48  # brackets/braces; keeps the (recursive) tree transform far from Python's stack limit
KEYWORDS = ("netspec", "description", "import", "input", "inputs", "output", "outputs", "expect", "train", "network",
            "block", REPEAT, "from")
# The item keys a layer line has a place for: `label: repeat N kind ... from a, b`. They go on the item,
# as in YAML; the others (trainable, init) are written key=value among the kind's options.
HEAD_KEYS = ("name", "from", REPEAT)
NOT_BARE = tuple(field_names(Group))  # fields a bare word never sets: those of every layer and every group
NOT_OPTIONS = tuple(k for k in NOT_BARE if k not in ITEM_KEYS)  # set by the line's form or the expander
WORDS = {"true": True, "false": False, "null": None}
KERNEL = "kernel"  # the option a positional size (`5x5`, or a second bare number) sets, where a kind has it

# ------------------------------------------------------------------------------------------------
# the parser


def grammar_text() -> str:
    """The grammar, ``netspec.lark``, shipped beside this module."""
    from importlib.resources import files

    return files(__package__).joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")


GRAMMAR_FILE = "netspec.lark"
_PARSER: Lark | None = None


def parser() -> Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark.open_from_package(__package__, GRAMMAR_FILE, parser="lalr", lexer="contextual",
                                         propagate_positions=True, maybe_placeholders=False,
                                         cache=_cache_file(grammar_text()))
    return _PARSER


def _cache_file(text: str) -> str | bool:
    """Where the built LALR tables are kept between runs (building them is most of a `.ns` check's
    start-up): the user's own cache directory, never the shared temp directory, because the file is
    unpickled. ``False`` (no cache) when that directory cannot be made private."""
    import hashlib
    import os
    import sys

    import lark

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netspec"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if hasattr(os, "getuid") and (root.stat().st_uid != os.getuid() or root.stat().st_mode & 0o022):
            return False
    except OSError:
        return False
    key = hashlib.sha256(f"{text}{lark.__version__}{sys.version}".encode()).hexdigest()[:16]
    return str(root / f"grammar-{key}.lark-cache")


# ------------------------------------------------------------------------------------------------
# registry look-ups shared with the writer (bare words)


def literal_words(cls: type) -> dict[str, list[str]]:
    """word -> fields of a layer class whose allowed values include that word."""
    cache = _LITERALS.get(cls)
    if cache is not None:
        return cache
    out: dict[str, list[str]] = {}
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key in NOT_BARE:
            continue
        for word in _literals(info.annotation):
            if isinstance(word, str):
                out.setdefault(word, []).append(key)
    _LITERALS[cls] = out
    return out


_LITERALS: dict[type, dict[str, list[str]]] = {}


def _literals(annotation: Any, depth: int = 0) -> list[Any]:
    if depth > 6:
        return []
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    out = []
    for arg in typing.get_args(annotation):
        out.extend(_literals(arg, depth + 1))
    return out


def word_field(cls: type, word: str) -> str | None:
    """The field a bare word sets for this layer class, or None (unknown or ambiguous)."""
    fields = field_names(cls)
    if "activation" in fields and word in ACTIVATIONS:
        return "activation"
    hits = [f for f in literal_words(cls).get(word, []) if f != "activation"]
    return hits[0] if len(set(hits)) == 1 else None



def axes_of(cls: type, key: str) -> tuple[int, ...]:
    """How many values a list of this size option may hold (one per axis): 2 for conv2d's kernel, 1 for
    conv1d's; () when the option takes no list of whole numbers. Read from the field's type (the
    ``tuple[int, ...]`` members of :func:`netspec.layers.base.sizes`)."""
    cached = _AXES.get((cls, key))
    if cached is not None:
        return cached
    info = next((i for n, i in cls.model_fields.items() if (i.alias or n) == key), None)
    out = tuple(sorted(set(_tuple_lengths(info.annotation)))) if info is not None else ()
    _AXES[(cls, key)] = out
    return out


_AXES: dict[tuple[type, str], tuple[int, ...]] = {}


def kernel_slot(cls: type) -> str | None:
    """The option a bare whole number sets once the kind's ``PRIMARY`` is given (`conv1d 8 3`: kernel 3):
    the kernel, where the kind has one whose type is a size (:func:`axes_of`) and it is not the primary
    itself (a pool's first number is already its kernel); else None."""
    primary = getattr(cls, "PRIMARY", None)
    if primary is None or primary == KERNEL or KERNEL not in field_names(cls) or not axes_of(cls, KERNEL):
        return None
    return KERNEL


def axes_text(axes: tuple[int, ...]) -> str:
    """``1 value``, ``3 values``, ``1, 2 or 4 values``: how many numbers a size option holds."""
    counts = ", ".join(str(k) for k in axes[:-1]) + (" or " if len(axes) > 1 else "") + str(axes[-1])
    return f"{counts} value{'' if axes == (1,) else 's'}"


def _tuple_lengths(annotation: Any, depth: int = 0) -> list[int]:
    if depth > 6:
        return []
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and args and Ellipsis not in args:
        return [len(args)]
    out = []
    for arg in args:
        out.extend(_tuple_lengths(arg, depth + 1))
    return out
