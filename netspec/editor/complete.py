"""Completions from the text around the cursor, which need not parse (it is being typed): layer kinds where
a layer goes, a kind's options (with their defaults) inside its braces or under it, block names and their
parameters, ``from:`` targets, the values an option allows, inside a block definition its arguments
(``$width``; bare, with ``in`` and the functions, inside ``${...}``), and the keys of each section.

The context is read from the text: the flow collections (``{...}``, ``[...]``, also spread over several
lines) and ``${...}`` still open at the cursor, the layer item a key belongs to (its kind may be its first
key, a later one, a ``kind:`` value, or not written yet), the block definition around it. Both formats
(YAML, the DSL) are read this way. Candidates come from the layer registry, the spec models and the
document's last outline; nothing here names a kind.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from netspec.editor.analysis import kind_doc
from netspec.editor.outline import Outline, indent
from netspec.frontends.dsl.grammar import KEYWORDS, NOT_OPTIONS
from netspec.frontends.keys import BLOCK_KEYS, IF, ITEM_KEYS, NETWORK_KEYS, REPEAT, TOP_KEYS
from netspec.layers import canonical_kind, layer_class, layer_kinds
from netspec.layers.base import Layer, aliases_of, field_info
from netspec.layers.structure.residual import Residual
from netspec.spec.expr import FUNCTIONS, INPUT, InputView
from netspec.spec.model import Expect
from netspec.spec.train import TrainConfig

KIND, BLOCK, OPTION, KEY, NAME, VALUE, PARAM = "kind", "block", "option", "key", "name", "value", "parameter"
# Sections whose keys are a model's fields: `expect:` and `train:` (its parts: `optimizer:`, `data:`, ...).
SECTIONS: dict[str, type[BaseModel]] = {"expect": Expect, "train": TrainConfig}
LONG_KIND = "kind"  # the long form of an item: `{kind: conv2d, filters: 6}`
_LAYER_LISTS = {"layers"} | {f for cls in layer_kinds().values() for f in cls.CHILDREN}
_REFERENCES = ("from", "outputs", "share")  # options whose values name layers (tie: {param: layer} below)
_BACK = 64  # lines looked back for the start of a flow collection that spans lines


@dataclass(frozen=True)
class Candidate:
    """One completion: what is shown, what it is, a one-line detail and Markdown documentation. ``replace``
    is how many characters before the cursor it replaces (the ``$wi`` already typed of ``$width``)."""

    label: str
    what: str
    detail: str = ""
    doc: str = ""
    insert: str | None = None
    replace: int = 0


def complete(lines: list[str], line: int, column: int, fmt: str, outline: Outline | None) -> list[Candidate]:
    """Candidates at (line, column), 0-based; empty when nothing fits."""
    if not 0 <= line < len(lines):
        return []
    prefix = lines[line][:column]
    if fmt == "dsl":
        return _dsl(lines, line, prefix, outline)
    if re.search(r"(^|\s)#", _without_strings(prefix)):
        return []  # in a comment
    return _yaml(lines, line, prefix, outline)


# --- the text's open brackets ------------------------------------------------------------------------------

@dataclass
class Open:
    """A bracket open at the cursor: ``what`` is map, list, expr (``${``), body (a DSL body) or top (the
    text itself); ``start`` is where its current entry (or statement) begins, ``head`` the text of the
    enclosing entry before the bracket (``  - conv2d: `` for ``{``)."""

    what: str
    at: int
    start: int
    head: str = ""


def scan(text: str, dsl: bool) -> list[Open] | None:
    """The brackets open at the end of ``text`` (outermost first, the text itself at [0]); None when the end
    is inside a string or a comment (an expression inside a quoted string counts: ``"${2 if i``)."""
    stack = [Open("top", -1, 0)]
    quote, opened, i, n = "", 0, 0, len(text)
    while i < n:
        ch, cur = text[i], stack[-1]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                if quote == "'" and text[i + 1:i + 2] == "'":
                    i += 2
                    continue
                quote = ""
                while stack[-1].what == "expr" and stack[-1].at > opened:
                    stack.pop()
            elif quote == '"' and text.startswith("${", i) and cur.what != "expr":
                stack.append(Open("expr", i, i + 2, text[cur.start:i]))
                i += 1
            elif ch == "}" and cur.what == "expr" and cur.at > opened:
                stack.pop()
            i += 1
            continue
        if ch == "#" and (dsl or i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            if end < 0:
                return None
            i = end
            continue
        if cur.what == "expr":
            if ch == "}":
                stack.pop()
            i += 1
            continue
        if ch == '"' or (ch == "'" and not dsl):
            if dsl or _scalar_starts(text, i):
                quote, opened = ch, i
            i += 1
            continue
        if text.startswith("${", i):
            stack.append(Open("expr", i, i + 2, text[cur.start:i]))
            i += 2
            continue
        if ch in "[{" and (dsl or _scalar_starts(text, i)):
            what = "list" if ch == "[" else "map"
            if dsl and ch == "{" and not _dsl_mapping(text, i, cur):
                what = "body"
            stack.append(Open(what, i, i + 1, text[cur.start:i]))
        elif ch in "]}" and len(stack) > 1 and (ch == "]") == (cur.what == "list"):
            stack.pop()
            if cur.what == "body":
                stack[-1].start = i + 1  # `} branch {`: a statement may follow a body's brace
        elif ch == "," and cur.what in ("map", "list"):
            cur.start = i + 1
        elif dsl and (ch == ";" and cur.what in ("body", "top") or ch == "\n"):
            cur.start = i + 1
        i += 1
    if quote and stack[-1].what != "expr":
        return None
    return stack


def _scalar_starts(text: str, i: int) -> bool:
    """Whether a YAML scalar may start at ``i`` (a bracket or quote there opens something; inside a plain
    scalar, ``it's [x`` is text)."""
    before = _before(text, i)
    return not before or before in ":-,[{?\n"


def _before(text: str, i: int) -> str:
    """The last character before ``i`` that is not a space or a tab ("" at the start of the text)."""
    while i and text[i - 1] in " \t":
        i -= 1
    return text[i - 1] if i else ""


def _dsl_mapping(text: str, i: int, cur: Open) -> bool:
    """Whether the DSL's ``{`` at ``i`` opens a mapping (a value: ``init={``, ``train {``) or a body."""
    before = _before(text, i)
    if cur.what in ("map", "list") or (before and before in "=:"):
        return True
    return re.match(r"\s*(train|expect)\b", text[cur.start:i]) is not None


def _tail(text: str, chars: str = "_.$-+") -> str:
    """The token that ends ``text`` (letters, digits and ``chars``: ``$wi``, ``same``, ``-1``), found from
    the end (a regular expression anchored at the end would go over a long line once per character)."""
    i = len(text)
    while i and (text[i - 1].isalnum() or text[i - 1] in chars):
        i -= 1
    return text[i:]


def _opens_item(head: str) -> bool:
    """Whether a flow mapping written after ``head`` is a layer item (``- {``, ``[{``, ``, {``)."""
    head = head.rstrip(" \t")
    head = head[:-1] if head.endswith("-") else head
    return not head or head[-1] in " \t\n[,"


def _without_strings(text: str) -> str:
    return re.sub(r"\"(?:[^\"\\]|\\.)*\"?|'[^']*'?", '""', text)


def _depth0(text: str) -> str:
    """``text`` without the brackets it opens and closes (and their insides): what a mapping holds at
    its own level."""
    out, depth = [], 0
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


# --- YAML ----------------------------------------------------------------------------------------------

def _yaml(lines: list[str], line: int, prefix: str, outline: Outline | None) -> list[Candidate]:
    block = _yaml_block(lines, line, outline)
    first = _flow_start(lines, line)
    text = "\n".join([*lines[first:line], prefix])
    stack = scan(text, dsl=False)
    if stack is None:
        return []
    inner = stack[-1]
    if inner.what == "expr":
        return expression(text[inner.start:], block)
    if inner.what == "top":
        return _yaml_block_style(lines, line, prefix, outline, block)
    entry = text[inner.start:]
    owner = re.search(r"(?:^|[\s\[{,])([\w.]+)\s*:\s*$", inner.head)
    owner_key = owner.group(1) if owner else None
    if inner.what == "list":
        if not re.fullmatch(r"\s*[\w.]*", entry):
            return []
        if owner_key in _REFERENCES:
            return references(outline, line, entry.strip(), block)
        if owner_key in _LAYER_LISTS:
            return kinds(outline)
        return []
    level = _depth0(text[inner.at + 1:])  # the mapping's own entries so far
    written = set(re.findall(r"(?:^|,)\s*([\w.]+)\s*:", level))
    kind = owner_key if owner_key and owner_key not in ITEM_KEYS and _is_kind(owner_key, outline) else None
    long = re.search(r"(?:^|,)\s*kind\s*:\s*([\w.]+)\s*(?:,|$)", level)
    item = owner_key is None and _opens_item(inner.head)  # `- {kind: conv2d, ...}`
    if item and long:
        kind = long.group(1)
    value = re.fullmatch(r"\s*([\w.]+)\s*:\s*([\w.$\-+]*)", entry)
    if value:
        key, typed = value.group(1), value.group(2)
        if owner_key == "tie" or key in _REFERENCES:
            return references(outline, line, typed, block)
        if key == LONG_KIND and item:
            return kinds(outline)
        return _values(kind, key, typed, block)
    if not re.fullmatch(r"\s*[\w.]*", entry):
        return []
    if kind is not None:
        found = options(kind, outline, sep=": ")
        if item:  # the long form: the item's own keys beside the options
            found += _item_keys(exclude=set(Layer.common_keys()))
        return [c for c in found if c.label not in written]
    model = _model_at(_flow_path(lines, first, text, stack))
    return [c for c in _fields(model) if c.label not in written] if model else []


def _flow_start(lines: list[str], line: int) -> int:
    """The line from which to read the text before the cursor: up the parent lines while they are not a
    block-style key (``layers:``, ``- conv2d:``), at most :data:`_BACK` lines (a flow collection continued
    on the next lines starts on one of them)."""
    first, column = line, indent(lines[line])
    while True:
        parent = _parent(lines, first, column)
        if parent is None or parent[0] < line - _BACK or re.search(r":\s*$", _code(parent[1])):
            return first
        first, column = parent[0], indent(parent[1])


def _yaml_block_style(lines: list[str], line: int, prefix: str, outline: Outline | None,
                      block: Block | None) -> list[Candidate]:
    item = re.match(r"^(\s*)-\s+(?:-\s+)*([\w.]*)$", prefix)
    if item:
        return kinds(outline) if _in_layer_list(lines, line, len(item.group(1))) else []
    value = re.match(r"^(\s*(?:-\s+)*)([\w.]+)\s*:\s*([\w.$\-+]*)$", prefix)
    if value:
        return _yaml_value(lines, line, len(value.group(1)), value.group(2), value.group(3), outline, block)
    key = re.match(r"^(\s*)[\w.]*$", prefix)
    if key:
        return _keys(lines, line, len(key.group(1)), outline)
    return []


def _yaml_value(lines: list[str], line: int, column: int, key: str, typed: str, outline: Outline | None,
                block: Block | None) -> list[Candidate]:
    """The value of ``key`` (at ``column``) being typed: a layer name, a kind, an option's values, a block's
    arguments."""
    if key in _REFERENCES:
        return references(outline, line, typed, block)
    owner = _owner(lines, line, column)
    if owner is None:
        return []
    what, at, name = owner
    if what == "item":
        if key == LONG_KIND:
            return kinds(outline)
        if key in (REPEAT, IF):
            return _values(None, key, typed, block)
        if key in ITEM_KEYS:
            return []
        if _is_kind(key, outline):  # `- dense: |`: the kind's main option
            canon = canonical_kind(key)
            primary = layer_class(canon).PRIMARY if canon else None
            return _values(key if primary else None, primary or "", typed, block)
        return []
    if what == "options":
        return _values(name, key, typed, block)
    if what == "key" and name == "tie":
        return references(outline, line, typed, block)
    if what == "key" and _is_block_definition(lines, at):  # `shortcut: identity` beside a block's layers
        return _values(Residual.KIND, key, typed, block)
    return []


def _is_block_definition(lines: list[str], line: int) -> bool:
    """Whether ``line`` is a block's name under the top-level ``blocks:``."""
    parent = _parent(lines, line, indent(lines[line]))
    return parent is not None and re.match(r"^blocks\s*:\s*$", _code(parent[1])) is not None


def _values(kind: str | None, option: str, typed: str, block: Block | None) -> list[Candidate]:
    found = values(kind, option) if kind else []
    if block is not None:
        found += block.arguments(typed)
    return found


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


def _owner(lines: list[str], line: int, column: int) -> tuple[str, int, str | None] | None:
    """What holds a key written at ``column`` of ``line``: ``("item", dash_line, kind)`` the keys of a
    layer item (its kind when known), ``("options", line, kind)`` a kind's options written under it,
    ``("key", line, name)`` the mapping under another key, ``("top", -1, None)`` the file's top level."""
    dash = re.match(r"^(\s*)-\s+(?:-\s+)*", lines[line])
    if dash and dash.end() == column:
        return "item", line, _item_kind(lines, line, column, line)
    parent = _parent(lines, line, column)
    if parent is None:
        return "top", -1, None
    p_line, p_text = parent[0], _code(parent[1])
    dash = re.match(r"^(\s*)-\s+(?:-\s+)*", p_text)
    if dash and dash.end() == column:
        return "item", p_line, _item_kind(lines, p_line, column, line)
    key = re.match(r"^(\s*(?:-\s+)*)([\w.]+)\s*:\s*$", p_text)
    if not key:
        return None
    name, key_col = key.group(2), len(key.group(1))
    if name not in ITEM_KEYS and name != LONG_KIND and _in_item(lines, p_line, key_col):
        return "options", p_line, name  # under `- conv2d:`, or under `conv2d:` on an item's later line
    return "key", p_line, name


def _in_item(lines: list[str], line: int, column: int) -> bool:
    """Whether a key at ``column`` of ``line`` is one of a layer item's own keys."""
    dash = re.match(r"^(\s*)-\s+(?:-\s+)*", lines[line])
    if dash and dash.end() == column:
        return True
    parent = _parent(lines, line, column)
    dash = re.match(r"^(\s*)-\s+(?:-\s+)*", parent[1]) if parent else None
    return bool(dash and dash.end() == column)


def _item_lines(lines: list[str], dash_line: int, column: int) -> list[tuple[int, str, str]]:
    """The keys of the item that starts on ``dash_line`` (keys at ``column``): (line, key, value text)."""
    out = []
    for i in range(dash_line, len(lines)):
        text = _code(lines[i])
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if i > dash_line and indent(text) < column:
            break
        m = re.match(r"^\s*(?:-\s+)*([\w.]+)\s*:\s*(.*)$", text)
        at = len(re.match(r"^\s*(?:-\s+)*", text).group(0))
        if m and at == column:
            out.append((i, m.group(1), m.group(2).strip()))
    return out


def _item_kind(lines: list[str], dash_line: int, column: int, skip: int) -> str | None:
    """The kind of the item starting on ``dash_line``: its first key that is not an item key, or its
    ``kind:``; None while not written (the line ``skip``, being typed, does not count)."""
    for i, key, value in _item_lines(lines, dash_line, column):
        if i == skip and i != dash_line:
            continue
        if key == LONG_KIND:
            return value if re.fullmatch(r"[\w.]+", value) else None
        if key not in ITEM_KEYS:
            return key
    return None


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
        m = re.match(r"^\s*(?:-\s+)*([\w.]+)\s*:\s*$", _code(text))
        return bool(m and m.group(1) in _LAYER_LISTS)
    return False


def _keys(lines: list[str], line: int, column: int, outline: Outline | None) -> list[Candidate]:
    owner = _owner(lines, line, column)
    if owner is None:
        return []
    what, at, name = owner
    if what == "top":
        written = _sibling_keys(lines, line, -1, column)
        return [Candidate(k, KEY, "spec") for k in TOP_KEYS if k not in written]
    written = _sibling_keys(lines, line, at, column)
    if what == "item":
        written |= {k for i, k, _ in _item_lines(lines, at, column) if i != line}
        if name is None:  # `- name: c1` and the kind not written yet: the kinds, `kind:`, the item's keys
            found = [dataclasses.replace(c, insert=f"{c.label}: ") for c in kinds(outline)]
            found += [Candidate(LONG_KIND, KEY, "the kind, written as a value", _field_doc(Layer, LONG_KIND),
                                f"{LONG_KIND}: ")]
            found += _item_keys()
        elif any(k == LONG_KIND for _, k, _ in _item_lines(lines, at, column)):
            found = options(name, outline, sep=": ") + _item_keys(exclude=set(Layer.common_keys()))
        else:
            found = _item_keys()
        return [c for c in found if c.label not in written]
    if what == "options":
        return [c for c in options(name, outline, sep=": ") if c.label not in written] if _is_kind(name, outline) \
            else []
    model = _model_at([*_block_path(lines, at, indent(lines[at])), name])
    if model is not None:
        return [c for c in _fields(model) if c.label not in written]
    grand = _parent(lines, at, indent(lines[at]))
    grand_key = re.match(r"^\s*([\w.]+)\s*:", grand[1]).group(1) if grand and re.match(r"^\s*[\w.]+\s*:", grand[1]) \
        else None
    found: list[Candidate] = []
    if grand_key == "networks":
        found = [Candidate(k, KEY, "network") for k in NETWORK_KEYS]
    elif grand_key == "blocks":
        found = [Candidate(k, KEY, "block definition", _block_key_doc(k), f"{k}: ") for k in _BLOCK_KEYS]
    return [c for c in found if c.label not in written]


def _block_path(lines: list[str], line: int, column: int) -> list[str]:
    """The keys from the top level down to a key at ``column`` of ``line`` (``["train"]`` for
    ``optimizer:`` under ``train:``); empty when a line on the way is not a plain ``key:``."""
    path: list[str] = []
    while True:
        parent = _parent(lines, line, column)
        if parent is None:
            return path
        m = re.match(r"^(\s*)([\w.]+)\s*:\s*$", _code(parent[1]))
        if not m:
            return []
        path.insert(0, m.group(2))
        line, column = parent[0], len(m.group(1))


def _flow_path(lines: list[str], first: int, text: str, stack: list[Open]) -> list[str]:
    """The keys down to the flow mapping open at the cursor (``train: {optimizer: {``)."""
    opened = stack[1]
    line = first + text.count("\n", 0, opened.at)
    own = re.match(r"^(\s*)([\w.]+)\s*:\s*\{", lines[line])
    if not own:
        return []
    path = [*_block_path(lines, line, len(own.group(1))), own.group(2)]
    for o in stack[2:]:
        key = re.search(r"(?<![\w.])([\w.]+)\s*:\s*$", o.head)
        if o.what != "map" or not key:
            return []
        path.append(key.group(1))
    return path


def _model_at(path: list[str]) -> type[BaseModel] | None:
    """The model whose fields are the keys at ``path`` (``train``, ``train.optimizer``, ``expect``)."""
    at = next((i for i in range(len(path) - 1, -1, -1) if path[i] in SECTIONS), None)
    if at is None:
        return None
    path = path[at:]  # a network's `expect:` too (networks: {enc: {expect: ...}})
    model: type[BaseModel] = SECTIONS[path[0]]
    for key in path[1:]:
        info = field_info(model, key)
        sub = _submodel(info.annotation) if info is not None else None
        if sub is None:
            return None
        model = sub
    return model


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for t in (annotation, *typing.get_args(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _code(text: str) -> str:
    """A line without its trailing comment (``- conv2d:   # stem``)."""
    return re.sub(r"(?<!\s)\s+#.*$", "", text)


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


def _fields(model: type[BaseModel], sep: str = ": ") -> list[Candidate]:
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        default = "" if info.is_required() else f"= {info.get_default(call_default_factory=True)}"
        out.append(Candidate(key, KEY, default, info.description or "", f"{key}{sep}"))
    return out


def _field_doc(model: type[BaseModel], key: str) -> str:
    info = field_info(model, key)
    return (info.description or "") if info is not None else ""


def _item_keys(exclude: frozenset[str] | set[str] = frozenset(), sep: str = ": ") -> list[Candidate]:
    """The keys a layer item takes beside its kind (``name``, ``from``, ..., ``repeat``, ``if``)."""
    return [Candidate(k, KEY, "beside the kind", _item_key_doc(k), f"{k}{sep}") for k in ITEM_KEYS
            if k not in exclude]


_BLOCK_KEYS = tuple(dict.fromkeys((*BLOCK_KEYS, "layers")))  # a block definition's keys


def _block_key_doc(key: str) -> str:
    if key == "params":
        return "the block's arguments with their defaults (null: required), used as $name inside it"
    if key == Residual.KIND:
        return "add the block's input to its output (true, or an expression of the arguments)"
    return _field_doc(Residual, key) or _field_doc(Layer, key)


def _item_key_doc(key: str) -> str:
    doc = _field_doc(Layer, key)
    if doc:
        return doc
    if key == IF:
        return "leave the item out when false (an expression such as ${stride == 1 and in.channels == out})"
    return "n copies of the layer (0 to 1000); $i is the copy's index"


# --- block definitions -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """The block definition around the cursor: its name and its arguments with their defaults (as
    written; None for a required one)."""

    name: str
    params: tuple[tuple[str, str | None], ...]

    def arguments(self, typed: str) -> list[Candidate]:
        """``$width`` for each argument, replacing the ``$wi`` typed (a value position)."""
        if typed.startswith("${"):
            return []
        return [Candidate(f"${p}", PARAM, f"argument of {self.name}" + (f" = {d}" if d is not None else ""),
                          f"the block's argument `{p}` (its value at each use)", replace=len(typed))
                for p, d in self.params]


def expression(text: str, block: Block | None) -> list[Candidate]:
    """Inside ``${...}``: the block's arguments, ``in`` (the block input's type) and its fields after
    ``in.``, the functions an expression may call."""
    word = _tail(text, "_.")
    if re.fullmatch(rf"{INPUT}\.\w*", word):
        return [Candidate(f, PARAM, f"{INPUT}.{f}", "of the block's input type") for f in InputView.FIELDS] \
            if block is not None else []
    if "." in word or word[:1].isdigit():
        return []
    out = []
    if block is not None:
        out += [Candidate(p, PARAM, f"argument of {block.name}" + (f" = {d}" if d is not None else ""))
                for p, d in block.params]
        out.append(Candidate(INPUT, PARAM, "the block input's type", "in.channels, in.features, in.shape[i], ..."))
    out += [Candidate(f, VALUE, "function", insert=f"{f}(") for f in FUNCTIONS]
    return out


def _yaml_block(lines: list[str], line: int, outline: Outline | None) -> Block | None:
    """The block definition (``blocks: {name: {params: ..., layers: ...}}``) whose lines hold ``line``."""
    i, column = line, max(indent(lines[line]), 1)
    while True:
        parent = _parent(lines, i, column)
        if parent is None:
            return None
        grand = _parent(lines, parent[0], indent(parent[1]))
        if grand is not None and indent(grand[1]) == 0 and re.match(r"^blocks\s*:\s*$", _code(grand[1])):
            m = re.match(r"^\s*([\w.]+)\s*:", parent[1])
            return _block_of(lines, parent[0], m.group(1), outline) if m else None
        i, column = parent[0], indent(parent[1])
        if column == 0:
            return None


def _block_of(lines: list[str], at: int, name: str, outline: Outline | None) -> Block:
    """The arguments of the block named on line ``at``, read from its ``params:`` (flow or block style),
    else from the document's last outline."""
    column = indent(lines[at])
    params: list[tuple[str, str | None]] = []
    for i in range(at + 1, len(lines)):
        text = _code(lines[i])
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if indent(text) <= column:
            break
        m = re.match(r"^(\s*)params\s*:\s*(.*)$", text)
        if not m:
            continue
        rest = m.group(2)
        if rest.startswith("{"):
            j = i
            while len(scan(rest, dsl=False) or ()) > 1 and j + 1 < len(lines) and j < i + _BACK:
                j += 1
                rest += "\n" + lines[j]  # `params: {a: 1,` continued on the next lines
            body = _depth0(rest[1:].rstrip().rstrip("}"))
            params = [(k, _default(v)) for k, v in re.findall(r"(?<!\w)(\w+)\s*:\s*([^,]*)", body)]
        else:
            for j in range(i + 1, len(lines)):
                sub = _code(lines[j])
                if not sub.strip() or sub.lstrip().startswith("#"):
                    continue
                if indent(sub) <= len(m.group(1)):
                    break
                p = re.match(r"^\s*([\w]+)\s*:\s*(.*)$", sub)
                if p:
                    params.append((p.group(1), _default(p.group(2))))
        break
    if not params and outline is not None:
        params = [(p, None) for p in outline.params.get(name, [])]
    return Block(name, tuple(params))


def _default(text: str) -> str | None:
    text = text.strip()
    return None if text in ("", "null", "~") else text


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
        if key in NOT_OPTIONS:  # the kind itself, and what the expander sets (a group's block and args)
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


def references(outline: Outline | None, line: int, typed: str, block: Block | None) -> list[Candidate]:
    """What a ``from:`` (``share``, ``tie``) may name: the layers and inputs, and inside a block its
    arguments (``from: [$skip, up]``: the layer the use passes)."""
    return names(outline, line) + (block.arguments(typed) if block is not None else [])


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

_STATEMENT_SECTIONS = ("train", "expect")  # statements whose `key=value`s are a section's keys


def _dsl(lines: list[str], line: int, prefix: str, outline: Outline | None) -> list[Candidate]:
    text = "\n".join([*lines[:line], prefix])
    stack = scan(text, dsl=True)
    if stack is None:
        return []  # in a comment or a string
    level = next(o for o in reversed(stack) if o.what in ("top", "body"))
    block = _dsl_block(stack) or _block_header(text[level.start:])
    inner = stack[-1]
    entry = text[inner.start:]
    if inner.what == "expr":
        return expression(entry, block)
    if inner.what in ("map", "list"):
        return _dsl_mapping_entry(stack, text, entry, block)
    return _dsl_statement(entry, outline, line, block)


def _dsl_block(stack: list[Open]) -> Block | None:
    """The ``block name(p, q=1) ... {`` whose body holds the cursor."""
    for o in reversed(stack):
        found = _block_header(o.head) if o.what == "body" else None
        if found is not None:
            return found
    return None


def _block_header(text: str) -> Block | None:
    """The block a ``block name(p, q=1) ...`` statement defines, with its arguments."""
    m = re.match(r"\s*block\s+(\w+)\s*(?:\(([^)]*)\))?", text)
    if m is None:
        return None
    params = []
    for part in (m.group(2) or "").split(","):
        p = re.match(r"\s*(\w+)\s*(?:=\s*(.*?))?\s*$", part)
        if p:
            params.append((p.group(1), _default(p.group(2) or "")))
    return Block(m.group(1), tuple(params))


def _dsl_statement(st: str, outline: Outline | None, line: int, block: Block | None) -> list[Candidate]:
    head = r"^\s*(?:[A-Za-z_]\w*:\s*)?(?:repeat\s+(?:\$\{[^}]*\}|\S+)\s+)?"
    if re.search(r"\bfrom\s+(?:[\w.:$]+\s*,\s*)*[\w.:$]*$", st):
        return references(outline, line, _tail(st), block)
    if re.match(r"^\s*outputs?\s+(?:[\w.:]+\s*,\s*)*[\w.:]*$", st):
        return names(outline, line)
    if re.match(r"^\s*(?:[A-Za-z_]\w*:\s*)?repeat\s+\$\w*$", st):  # `repeat $n`
        return block.arguments(_tail(st)) if block else []
    if re.match(head + r"\w*$", st):
        return kinds(outline)
    section = re.match(r"^\s*(" + "|".join(_STATEMENT_SECTIONS) + r")\s+(.*)$", st)
    if section:
        model, rest = SECTIONS[section.group(1)], section.group(2)
        if re.search(r"=[^\s=]*$", rest):
            return []
        written = set(re.findall(r"(?<!\w)(\w+)\s*=", rest))
        return [c for c in _fields(model, sep="=") if c.label not in written]
    if re.match(r"\s*block\s+\w+\s*(\([^)]*\))?\s", st):  # the header: `residual=`, `shortcut=`, ...
        value = re.search(r"(?:^|\s)(\w+)=([\w.$\-+]*)$", st)
        if value:
            return _values(Residual.KIND, value.group(1), value.group(2), block)
        written = set(re.findall(r"(?<!\w)(\w+)=", st)) | set(st.split())  # `residual` may be a bare word
        return [Candidate(k, KEY, "block definition", _block_key_doc(k), f"{k}=") for k in _BLOCK_KEYS
                if k not in written and k not in ("description", "params", "layers")]
    after = re.match(head + r"([A-Za-z_]\w*)\s", st)
    if after is None or after.group(1) in KEYWORDS:
        return []
    kind = after.group(1)
    value = re.search(r"(?:^|\s)(\w+)=([\w.$\-+]*)$", st)  # `padding=|`: the option's values
    if value:
        if value.group(1) in ("share", "name"):
            return references(outline, line, value.group(2), block) if value.group(1) == "share" else []
        return _values(kind, value.group(1), value.group(2), block)
    token = _tail(st)
    if token.startswith("$"):  # a positional value (`conv $width`, `/$stride`)
        return block.arguments(token) if block else []
    written = set(re.findall(r"(?<!\w)(\w+)=", st))
    return [c for c in options(kind, outline, sep="=") if c.label not in written]


def _dsl_mapping_entry(stack: list[Open], text: str, entry: str, block: Block | None) -> list[Candidate]:
    """An entry of a ``{...}`` value (``train { ... }``, ``optimizer={...}``, over several lines too)."""
    inner = stack[-1]
    if inner.what != "map":
        return block.arguments(_tail(entry)) if block else []
    path: list[str] = []
    for n, o in enumerate(stack[1:], start=1):
        head = o.head
        if o.what == "body":
            path = []
            continue
        if stack[n - 1].what in ("top", "body"):  # the statement: `train`, `expect`, a layer's kind
            m = re.match(r"\s*(?:[A-Za-z_]\w*:\s*)?(\w+)\b(.*)$", head, re.S)
            if not m:
                return []
            path, head = [m.group(1)], m.group(2)
        key = re.search(r"(?<!\w)(\w+)\s*[=:]\s*$", head)
        if key:
            path.append(key.group(1))
    value = re.fullmatch(r"\s*([\w.]+)\s*[=:]\s*([\w.$\-+]*)", entry)
    if value:
        return block.arguments(value.group(2)) if block else []
    if not re.fullmatch(r"\s*[\w.]*", entry):
        return []
    model = _model_at(path)
    if model is None:
        return []
    written = set(re.findall(r"(?:^|[,\n])\s*([\w.]+)\s*[=:]", _depth0(text[inner.at + 1:])))
    return [c for c in _fields(model, sep="=") if c.label not in written]
