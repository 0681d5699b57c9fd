"""Pydantic's validation errors in words: one located :class:`~netspec.core.errors.Problem` per place.

The one translator of the spec stage: :mod:`netspec.spec.load` uses it for a whole spec, and the
``train:`` section's command-line overrides (:mod:`netspec.spec.train`) can use it for theirs. It
imports neither, so both may import it.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel

from netspec.core.errors import Problem, did_you_mean
from netspec.core.fmt import bounds_text, float_note, number_text, schema_bounds, show
from netspec.core.source import Reached, walk
from netspec.spec.carried import at_argument

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "none_required": "null",
}


def problems_from_errors(errors: list[dict[str, Any]], tree: Any, model: type[BaseModel], uses: bool = True
                         ) -> list[Problem]:
    """One Problem per place for pydantic ``errors`` (``ValidationError.errors()``) found validating ``tree``
    (a raw tree, or plain dicts and lists) as ``model``.

    Each is located through the tree (``file:line:col`` where it has positions: a problem with a value at the
    value, an unknown or missing key at the key or the mapping) with a user-facing path; the errors of one
    place are merged ("expected an integer or a list"); an unknown key gets a did-you-mean
    from the fields of the model that validates the mapping holding it. A problem inside a block definition
    says which use it comes from, unless ``uses`` is false (the caller says so itself).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    reached: dict[tuple[Any, ...], tuple[Reached, Any]] = {}
    for err in errors:
        spot = walk(tree, _unlabelled(err["loc"], tree))
        groups.setdefault(spot.steps, []).append(err)
        reached[spot.steps] = (spot, err.get("input"))
    groups = {steps: _members_own(errs) for steps, errs in groups.items()}
    kept = [(steps, errs) for steps, errs in groups.items() if not _shadowed(steps, errs, groups)]
    problems = [_one(errs, *reached[steps], model, tree) for steps, errs in kept]
    if uses:  # else the caller says which use itself (a deferred expansion)
        problems = [_in_uses(p, reached[steps][0]) for p, (steps, _) in zip(problems, kept)]
    return problems


def _model_names() -> set[str]:
    """The class names of every pydantic model: what pydantic puts in an error's ``loc`` for a union's
    model member (``init.weight.InitSpec.foo``), never a place the user wrote."""
    names, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__name__ not in names:
                names.add(sub.__name__)
                todo.append(sub)
    return names


def _unlabelled(loc: tuple[Any, ...], tree: Any) -> tuple[Any, ...]:
    """``loc`` less the union members' model names (a key the user wrote with that name is kept)."""
    names: set[str] | None = None
    out, node = [], tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and part[:1].isupper():
            names = _model_names() if names is None else names
            if part in names:
                continue
        out.append(part)
    return tuple(out)


def _members_own(errs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A union's value that one member took as its own and refused with its own message (a value_error:
    ``init: {weight: .nan}``, ``{scheme: normal, foo: 2}``): that message, not the other members'
    "expected a number or a list"."""
    own = [e for e in errs if e["type"] == "value_error"]
    if own and all(e["type"] == "value_error" or e["type"] in _EXPECTED or e["type"] in ("literal_error", "enum")
                   for e in errs):
        return own
    return errs


def _in_uses(problem: Problem, spot: Reached) -> Problem:
    """A problem inside a block definition says which use of the block it comes from (as the graph
    builder's do): "(in block 'head', used at f:12:5)". One at the use itself already points there; one at an
    argument the use gives (a value put into the definition from it) says which argument, and where the
    definition uses it."""
    if not spot.uses or problem.location is None or " used at " in problem.message:
        return problem
    argument = at_argument(problem)
    if argument is not None:  # a value the use gave as an argument: said of it, the definition's place as context
        return argument
    if any(where == problem.location for _, where in spot.uses):
        return problem
    context = ", ".join(f"in block '{block}', used at {where}" for block, where in spot.uses)
    return Problem(f"{problem.message} ({context})", problem.location, problem.path, problem.hint)


def _shadowed(steps: tuple[Any, ...], errs: list[dict[str, Any]], groups: dict[tuple[Any, ...], Any]) -> bool:
    """A union's "expected an integer" (or "one of 'zeros', ..." for a mapping) for a list or mapping that
    another member of the union accepted as such, finding the real problem inside it (``kernel: [3, x]``,
    ``init: {weight: kaiming_norml}``): report that one only."""
    return (all(e["type"] in _EXPECTED or (e["type"] == "literal_error" and isinstance(e.get("input"), (dict, list)))
                for e in errs)
            and any(len(other) > len(steps) and other[:len(steps)] == steps for other in groups))


def _one(errs: list[dict[str, Any]], spot: Reached, value: Any, root: type[BaseModel], tree: Any) -> Problem:
    where, path, kept = spot.where, spot.path, spot.steps
    types = [e["type"] for e in errs]
    if "extra_forbidden" in types:  # about the key: at the key
        key = kept[-1] if kept else "?"
        model = model_at(root, kept[:-1])
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        hint = did_you_mean(key, known) or (f"allowed here: {', '.join(known)}" if known else "")
        return Problem(f"unknown key '{key}'", where, path, hint)
    short = [e["loc"][-1] for e in errs if e["type"] == "missing" and e["loc"] and isinstance(e["loc"][-1], int)]
    if "missing" in types and not short:  # about the mapping that lacks the key: at its key
        return Problem(f"missing required '{kept[-1] if kept else '?'}'", where, path.rsplit(".", 1)[0] if path else "")
    where = spot.at or where  # the rest are about the value: at the value
    if short:  # a list's item is missing, not a key: the list is too short for the (fixed-length) form
        return Problem(f"expected at least {max(short) + 1} values here; got {show(value)}", where, path)
    key = next((k for k in reversed(kept) if isinstance(k, str)), "")
    if key == "netspec" and len(kept) == 1 and "literal_error" in types:
        expected = errs[types.index("literal_error")]["ctx"]["expected"]
        return Problem(f"this is the language version; netspec reads version {expected}, got {show(value)}",
                       where, path, f"write 'netspec: {expected}' (or leave the key out)")
    if len(errs) == 1 and errs[0]["type"] == "value_error":
        return _value_error(errs[0], spot._replace(where=where), value)
    shown = show(value) + float_note(value)  # as the file writes it, and why a float cannot hold it
    expected = list(dict.fromkeys(_expected(e, key) for e in errs))
    if any(e["type"] in _RANGE for e in errs):  # a number out of range: say the whole range, not the end passed
        whole = _field_range(root, kept, tree)
        expected = list(dict.fromkeys(whole if e["type"] in _RANGE and whole else _expected(e, key) for e in errs))
    hint = _value_hint(errs, value)
    if len(expected) == 1:
        return Problem(f"expected {expected[0]}; got {shown}", where, path, hint)
    return Problem(f"invalid value {shown}; expected " + " or ".join(expected), where, path, hint)


# Sizes written per axis: what "at most 2" of them are.
_AXES = {1: "(length)", 2: "(height, width)", 3: "(depth, height, width)"}
_BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤",
           "multiple_of": "a multiple of"}
_RANGE = set(_BOUNDS) - {"multiple_of"}


def _expected(e: dict[str, Any], key: str) -> str:
    """What one pydantic error expected, in the user's terms (``key``: the option or key it is about)."""
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind in ("literal_error", "enum"):
        choices = _choices(e)
        return f"one of {_listed(choices)}" if len(choices) > 1 else (choices[0] if choices else "another value")
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        bound = "at least" if kind == "too_short" else "at most"
        return f"{bound} {n} {_things(key, n, kind == 'too_long' and ctx.get('field_type') == 'Tuple')}"
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()), "?")
        if kind == "multiple_of":
            return f"a multiple of {limit}"
        op = _BOUNDS[kind]
        return "a number " + bounds_text(limit if op in "≥>" else None, limit if op in "≤<" else None,
                                         op == ">", op == "<")
    if kind == "string_too_short":
        return "a non-empty string" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "a-z" in pattern.lower():
            return "a name (letters, digits and '_', not starting with a digit)"
        return _choices_text(pattern) or f"text matching {pattern}"
    msg = e["msg"]
    msg = msg.removeprefix("Value error, ").removeprefix("Input should be ").removeprefix("input should be ")
    msg = msg[0].lower() + msg[1:] if msg else "another value"
    return msg.removeprefix("expected ")  # a validator's own "expected ...": the caller says "expected" once


def _things(key: str, n: Any, sizes: bool) -> str:
    """What the items of a list called ``key`` are: "layers", "sizes (height, width)", "items"."""
    one = n == 1
    if key in ("layers", "body") or key.endswith("layers"):
        return "layer" if one else "layers"
    if key in ("branches", "networks", "inputs", "outputs"):
        return key[:-2] if one and key == "branches" else key[:-1] if one else key
    if sizes or key in ("kernel", "stride", "padding", "dilation", "size", "output_size", "shape", "pool"):
        word = "size" if one else "sizes"
        return f"{word} {_AXES[n]}" if sizes and n in _AXES else word
    return "item" if one else "items"


def _choices(e: dict[str, Any]) -> list[str]:
    """The allowed values a literal or enum error lists (``'relu', 'elu' or 'gelu'``)."""
    expected = str((e.get("ctx") or {}).get("expected", ""))
    quoted = re.findall(r"'((?:[^'\\]|\\.)*)'", expected)
    return [f"'{q}'" for q in quoted] if quoted else [w for w in re.split(r", | or ", expected) if w]


def _listed(choices: list[str]) -> str:
    return choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]


def _value_hint(errs: list[dict[str, Any]], value: Any) -> str:
    """A did-you-mean among the allowed values of a literal or enum (``activation: rleu``)."""
    if not isinstance(value, str):
        return ""
    choices = [c.strip("'") for e in errs if e["type"] in ("literal_error", "enum") for c in _choices(e)]
    if any(e["type"] in ("bool_type", "bool_parsing") for e in errs):
        choices += ["true", "false"]  # `bias: flase`
    return did_you_mean(value, choices) if choices else ""


def _value_error(e: dict[str, Any], spot: Reached, value: Any) -> Problem:
    """A validator's own message: it says what was wrong and what it got. One about an option of the
    mapping it validated (``padding must be ...`` raised for the whole layer) is put at that option.
    A validator gives its suggestion as the error's ``hint`` context
    (``PydanticCustomError("value_error", ..., {"hint": "did you mean 'same'?"})``): the problem's hint."""
    msg = e["msg"].removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:] if msg else msg
    msg, _, inline = msg.partition("; hint: ")  # a validator's message with its hint written in: the hint apart
    where, path = spot.where, spot.path
    first = re.match(r"[A-Za-z_][A-Za-z0-9_]*", msg)
    named = (e.get("ctx") or {}).get("key")  # a validator's message about a key it names: at that key
    if isinstance(value, dict) and isinstance(named, str) and named in value:
        where = value.where(named) if hasattr(value, "where") and value.where(named) else where
        path = f"{path}.{named}" if path else named
    elif isinstance(value, dict) and first and first.group(0) in value:
        key = first.group(0)  # a message about this option's value: at the value
        where = value.value_where(key) if hasattr(value, "value_where") and value.value_where(key) else where
        path = f"{path}.{key}" if path else key
    elif not isinstance(value, dict) and not re.search(r"\bgot\b", msg) and not (
            isinstance(value, str) and show(value) in msg):  # (a number may be in the message by chance: `from 1`)
        msg = f"{msg}; got {show(value)}{float_note(value)}"
    elif isinstance(value, (int, float)) and hasattr(value, "text"):  # a number the file writes otherwise
        msg = _as_written(msg, value)
    return Problem(msg, where, path, str((e.get("ctx") or {}).get("hint") or inline))


def _as_written(msg: str, value: Any) -> str:
    """A validator's message that quotes a number as Python or YAML writes it (``got .inf``, ``got 0.0``) with
    the number as the file writes it, and why a float cannot hold it (``got 1e400 (too large ...)``)."""
    note = float_note(value)
    for spelled in dict.fromkeys((show(value), number_text(value), repr(value), str(value))):
        pattern = rf"(\bgot ){re.escape(spelled)}(?![\w.])"
        if re.search(pattern, msg) and not (note and note in msg):
            return re.sub(pattern, lambda m: m.group(1) + show(value) + note, msg, count=1)
    return msg


def _field_range(root: type[BaseModel], steps: tuple[Any, ...], tree: Any) -> str:
    """The whole allowed range of the number at ``steps`` (``a whole number from 1 to 4096``, ``a number ≥ 0
    and < 1``) from the JSON Schema of the model that holds it (a layer: its kind's class); '' if unknown."""
    if not steps or not isinstance(steps[-1], str):
        return ""
    parent = walk(tree, steps[:-1]).value
    model = None
    if isinstance(parent, dict) and isinstance(parent.get("kind"), str):
        from netspec.layers import canonical_kind, layer_class

        canon = canonical_kind(parent["kind"])
        model = layer_class(canon) if canon else None
    return field_range(model or model_at(root, steps[:-1]), steps[-1])


def field_range(model: type[BaseModel] | None, key: str) -> str:
    """The whole allowed range of the number field ``key`` of ``model`` from its JSON Schema, in the words every
    range is written in: ``a whole number from 1 to 4096`` for a field of whole numbers, ``a number ≥ 0 and < 1``
    for any other; '' if unknown."""
    if model is None:
        return ""
    try:
        schema = model.model_json_schema(by_alias=True)
    except Exception:  # noqa: BLE001 - a model whose schema cannot be written: the end passed will do
        return ""
    node = schema.get("properties", {}).get(key, {})
    for sub in [node, *node.get("anyOf", []), *node.get("oneOf", [])]:
        text = schema_bounds(sub)
        if text and sub.get("type") in ("integer", "number"):
            return ("a whole number " if sub["type"] == "integer" else "a number ") + text
    return ""


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` under ``root`` (for key suggestions):
    follow the field annotations down, through Optional, unions, lists, dicts and lazily imported models."""

    def flat(annotation: Any) -> list[Any]:
        if hasattr(annotation, "lazy_model"):  # a stand-in for a model imported on first use (``train:``)
            return flat(annotation.lazy_model())
        origin = typing.get_origin(annotation)
        if origin is typing.Union or type(annotation).__name__ == "UnionType" or origin is typing.Annotated:
            args = typing.get_args(annotation)
            return [a for arg in (args[:1] if origin is typing.Annotated else args) for a in flat(arg)]
        return [annotation]

    current: list[Any] = [root]
    for part in loc:
        step: list[Any] = []
        for annotation in (a for c in current for a in flat(c)):
            origin, args = typing.get_origin(annotation), typing.get_args(annotation)
            if origin is dict and len(args) == 2:
                step.append(args[1])
            elif origin in (list, tuple) and args and isinstance(part, int):
                step.append(args[0])
            elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
                step += [info.annotation for name, info in annotation.model_fields.items()
                         if part in (name, info.alias)]
        current = step
    for annotation in (a for c in current for a in flat(c)):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
    return None


def _choices_text(pattern: str) -> str:
    """A pattern of alternatives in words: ``^(auto|cpu|cuda|cuda:\\d+|mps)$`` -> ``auto, cpu, cuda, cuda:N
    or mps``; '' for any other pattern."""
    found = re.fullmatch(r"\^\(([^()]*)\)\$", pattern)
    if not found:
        return ""
    words = [w.replace(r"\d+", "N") for w in found.group(1).split("|")]
    if not words or not all(re.fullmatch(r"[A-Za-z0-9_:.\-]+", w) for w in words):
        return ""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
