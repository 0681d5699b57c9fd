"""Completions from the text around the cursor, which need not parse (it is being typed): layer kinds where
a layer goes, a kind's options (with their defaults) inside its braces or under it, block names and their
parameters, ``from:`` targets, the values an option allows, and the keys of each section.

Candidates come from the layer registry, the spec models and the document's last outline; nothing here
names a kind.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from netspec.editor.analysis import kind_doc
from netspec.editor.outline import Outline, indent
from netspec.frontends.keys import BLOCK_KEYS, IF, ITEM_KEYS, NETWORK_KEYS, TOP_KEYS
from netspec.layers import canonical_kind, layer_class, layer_kinds
from netspec.layers.base import Layer, aliases_of
from netspec.spec.model import Expect
from netspec.spec.train import TrainConfig

KIND, BLOCK, OPTION, KEY, NAME, VALUE = "kind", "block", "option", "key", "name", "value"
# Sections whose keys are a model's fields: `expect:` and `train:` (its parts: `optimizer:`, `data:`, ...).
SECTIONS: dict[str, type[BaseModel]] = {"expect": Expect, "train": TrainConfig}
_LAYER_LISTS = {"layers"} | {f for cls in layer_kinds().values() for f in cls.CHILDREN}
_REFERENCES = ("from", "outputs", "share")  # options whose values name layers (tie: {param: layer} below)


@dataclass(frozen=True)
class Candidate:
    """One completion: what is shown, what it is, a one-line detail and Markdown documentation."""

    label: str
    what: str
    detail: str = ""
    doc: str = ""
    insert: str | None = None


def complete(lines: list[str], line: int, column: int, fmt: str, outline: Outline | None) -> list[Candidate]:
    """Candidates at (line, column), 0-based; empty when nothing fits."""
    if not 0 <= line < len(lines):
        return []
    text = lines[line]
    prefix = text[:column]
    if re.search(r"(^|\s)#", prefix):
        return []  # in a comment
    if fmt == "dsl":
        return _dsl(prefix, outline, line)
    return _yaml(lines, line, prefix, outline)


# --- YAML ----------------------------------------------------------------------------------------------

def _yaml(lines: list[str], line: int, prefix: str, outline: Outline | None) -> list[Candidate]:
    ref = re.search(r"(?:^|[\s{,])(" + "|".join(_REFERENCES) + r")\s*:\s*(\[[^\]]*?)?[\w.:]*$", prefix)
    if ref or re.search(r"(?:^|[\s{,])tie\s*:\s*\{(?:[^{}]*,)?\s*[\w.]+\s*:\s*[\w.]*$", prefix):
        return names(outline, line)
    braces = re.match(r"^\s*-\s+(?:-\s+)*([\w.]+)\s*:\s*\{(.*)$", prefix)
    if braces and "}" not in braces.group(2):
        inner = braces.group(2)
        value = re.search(r"([\w.]+)\s*:\s*[\w.\-]*$", inner)
        if value:
            return values(braces.group(1), value.group(1))
        written = set(re.findall(r"([\w.]+)\s*:", inner))  # options already given: not offered again
        return [c for c in options(braces.group(1), outline, sep=": ") if c.label not in written]
    item = re.match(r"^(\s*)-\s+(?:-\s+)*([\w.]*)$", prefix)
    if item:
        return kinds(outline) if _in_layer_list(lines, line, len(item.group(1))) else []
    value = re.match(r"^\s*(?:-\s+)?([\w.]+)\s*:\s*[\w.\-]*$", prefix)
    if value:
        parent = _parent(lines, line, indent(prefix))
        kind = _item_kind(parent[1]) if parent else None
        if kind:
            return values(kind, value.group(1))
        return []
    key = re.match(r"^(\s*)[\w.]*$", prefix)
    if key:
        return _keys(lines, line, len(key.group(1)), outline)
    return []


def _parent(lines: list[str], line: int, column: int) -> tuple[int, str] | None:
    """The nearest line above that is indented less than ``column`` (skipping blanks and comments)."""
    for i in range(line - 1, -1, -1):
        text = lines[i]
        body = text.strip()
        if not body or body.startswith("#"):
            continue
        if indent(text) < column:
            return i, text
    return None


def _item_kind(text: str) -> str | None:
    """The kind (or block) a ``- key: ...`` line names."""
    m = re.match(r"^\s*-\s+(?:-\s+)*([\w.]+)\s*:", text)
    return m.group(1) if m and m.group(1) not in ITEM_KEYS else None


def _in_layer_list(lines: list[str], line: int, dash: int) -> bool:
    """Whether a ``- `` at column ``dash`` is an item of a layer list (``layers:``, a structure's lists)."""
    for i in range(line - 1, -1, -1):
        text = lines[i]
        body = text.strip()
        if not body or body.startswith("#"):
            continue
        col = indent(text)
        if col > dash or (col == dash and body.startswith("-")):
            continue  # an earlier item (or its continuation) of the same list
        m = re.match(r"^\s*(?:-\s+)*([\w.]+)\s*:\s*$", text)
        return bool(m and m.group(1) in _LAYER_LISTS)
    return False


def _keys(lines: list[str], line: int, column: int, outline: Outline | None) -> list[Candidate]:
    parent = _parent(lines, line, column)
    if parent is None:
        written = _sibling_keys(lines, line, -1, column)
        return [Candidate(k, KEY, "spec") for k in TOP_KEYS if k not in written]
    p_line, p_text = parent[0], _code(parent[1])
    kind = _item_kind(p_text)
    dash = re.match(r"^(\s*)-\s+(?:-\s+)*", p_text)
    written = _sibling_keys(lines, line, p_line, column)
    if kind and dash:
        key_col = dash.end()
        if column > key_col and re.search(r":\s*$", p_text):  # under `- conv2d:`
            return [c for c in options(kind, outline, sep=": ") if c.label not in written]
        if column == key_col:
            return [Candidate(k, KEY, "beside the kind", _item_key_doc(k), f"{k}: ") for k in ITEM_KEYS
                    if k not in written]
        return []
    key = re.match(r"^\s*([\w.]+)\s*:\s*$", p_text)
    if not key:
        return []
    name = key.group(1)
    grand = _parent(lines, p_line, indent(p_text))
    item = re.match(r"^(\s*)-\s+(?:-\s+)*", grand[1]) if grand else None
    if item and item.end() == indent(p_text) and name not in ITEM_KEYS and _is_kind(name, outline):
        return [c for c in options(name, outline, sep=": ") if c.label not in written]  # `- name: x` then `conv2d:`
    grand_key = re.match(r"^\s*([\w.]+)\s*:", grand[1]).group(1) if grand and re.match(r"^\s*[\w.]+\s*:", grand[1]) \
        else None
    found: list[Candidate] = []
    if name in SECTIONS:
        found = _fields(SECTIONS[name])
    elif grand_key == "train":
        sub = TrainConfig.model_fields.get(name)
        if sub is not None and isinstance(sub.annotation, type) and issubclass(sub.annotation, BaseModel):
            found = _fields(sub.annotation)
    elif grand_key == "networks":
        found = [Candidate(k, KEY, "network") for k in NETWORK_KEYS]
    elif grand_key == "blocks":
        found = [Candidate(k, KEY, "block definition") for k in dict.fromkeys((*BLOCK_KEYS, "layers"))]
    return [c for c in found if c.label not in written]


def _code(text: str) -> str:
    """A line without its trailing comment (``- conv2d:   # stem``)."""
    return re.sub(r"\s+#.*$", "", text)


def _is_kind(name: str, outline: Outline | None) -> bool:
    """A layer kind (or alias) or a block the document defines."""
    return canonical_kind(name) is not None or (outline is not None and name in outline.blocks)


def _sibling_keys(lines: list[str], line: int, parent: int, column: int) -> set[str]:
    """The keys already written at ``column`` in the mapping opened on line ``parent``, above and below
    ``line`` (the one being completed): a key is offered once."""
    keys: set[str] = set()
    for i in range(parent + 1, len(lines)):
        text = _code(lines[i])
        body = text.strip()
        if i == line or not body or body.startswith("#"):
            continue
        if indent(text) < column:
            break
        m = re.match(r"^\s*([\w.]+)\s*:", text) if indent(text) == column else None
        if m:
            keys.add(m.group(1))
    return keys


def _fields(model: type[BaseModel]) -> list[Candidate]:
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        default = "" if info.is_required() else f"= {info.get_default(call_default_factory=True)}"
        out.append(Candidate(key, KEY, default, info.description or "", f"{key}: "))
    return out


def _item_key_doc(key: str) -> str:
    for name, info in Layer.model_fields.items():
        if (info.alias or name) == key:
            return info.description or ""
    if key == IF:
        return "leave the item out when false (an expression such as ${stride == 1 and in.channels == out})"
    return "n copies of the layer (0 to 1000); $i is the copy's index"


# --- candidates -----------------------------------------------------------------------------------------

def kinds(outline: Outline | None) -> list[Candidate]:
    """Every layer kind and alias, then the document's blocks."""
    out = []
    for kind, cls in layer_kinds().items():
        doc = kind_doc(kind)
        first = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(Candidate(kind, KIND, f"{cls.FAMILY} · {first}", doc))
        out += [Candidate(alias, KIND, f"alias of {kind}", doc) for alias in aliases_of(kind)]
    if outline is not None:
        for name, params in outline.params.items():
            out.append(Candidate(name, BLOCK, f"block({', '.join(params)})", "a block defined in this spec"))
    return out


def options(kind: str, outline: Outline | None, sep: str) -> list[Candidate]:
    """A kind's options with their defaults (required ones first), or a block's parameters."""
    canon = canonical_kind(kind)
    if canon is None:
        params = outline.params.get(kind, []) if outline is not None else []
        return [Candidate(p, OPTION, f"parameter of {kind}", insert=f"{p}{sep}") for p in params]
    cls = layer_class(canon)
    required, rest = [], []
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key == "kind":
            continue
        if info.is_required():
            required.append(Candidate(key, OPTION, "required", info.description or "", f"{key}{sep}"))
        else:
            default = info.get_default(call_default_factory=True)
            rest.append(Candidate(key, OPTION, f"= {default}", info.description or "", f"{key}{sep}"))
    return required + rest


def names(outline: Outline | None, line: int) -> list[Candidate]:
    if outline is None:
        return []
    return [Candidate(n, NAME, "layer or input") for n in outline.names(line)]


def values(kind: str, option: str) -> list[Candidate]:
    """The values an option allows when they are a fixed set (``padding: same``, ``activation: relu``)."""
    canon = canonical_kind(kind)
    if canon is None:
        return []
    return [Candidate(str(v), VALUE, f"{option} of {canon}") for v in _enums(canon).get(option, ())]


@functools.lru_cache(maxsize=None)
def _enums(kind: str) -> dict[str, tuple[Any, ...]]:
    schema = layer_class(kind).model_json_schema(by_alias=True)
    out = {}
    for key, prop in schema.get("properties", {}).items():
        found: list[Any] = []
        _collect(prop, found)
        if found:
            out[key] = tuple(dict.fromkeys(found))
    return out


def _collect(node: Any, found: list[Any]) -> None:
    if isinstance(node, dict):
        found.extend(node.get("enum", ()))
        if "const" in node:
            found.append(node["const"])
        for alt in node.get("anyOf", ()):
            _collect(alt, found)


# --- DSL ------------------------------------------------------------------------------------------------

def _dsl(prefix: str, outline: Outline | None, line: int) -> list[Candidate]:
    if re.search(r"\bfrom\s+([\w.:]+\s*,\s*)*[\w.:]*$", prefix):
        return names(outline, line)
    start = re.match(r"^\s*(?:[A-Za-z_]\w*:\s*)?(?:repeat\s+\S+\s+)?([\w]*)$", prefix)
    if start:
        return kinds(outline)
    after = re.match(r"^\s*(?:[A-Za-z_]\w*:\s*)?(?:repeat\s+\S+\s+)?([A-Za-z_]\w*)\s.*?(\w*)$", prefix)
    value = re.search(r"(?:^|\s)(\w+)=[\w.\-]*$", prefix)  # `padding=|`: the option's values
    if after and value:
        if value.group(1) == "share":
            return names(outline, line)
        return values(after.group(1), value.group(1))
    if after:
        written = set(re.findall(r"(\w+)=", prefix))
        return [c for c in options(after.group(1), outline, sep="=") if c.label not in written]
    return []
