"""Text or file -> validated :class:`~netspec.spec.model.Spec`, with every problem located."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from netspec.core.errors import Location, Problem, SpecValidationError, did_you_mean
from netspec.core.source import PosDict, PosList, to_raw
from netspec.frontends import parse
from netspec.layers import layer_class
from netspec.layers.base import Layer
from netspec.spec.expand import canonicalize
from netspec.spec.model import Spec


def load(source: str | os.PathLike[str] | Spec | dict[str, Any], fmt: str | None = None) -> Spec:
    """Parse and validate a spec from a path, text or a dict; a Spec passes through.

    Raises:
        SpecSyntaxError: the text is not well-formed.
        SpecValidationError: every schema problem of the file, each located.
    """
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return validate(to_raw(source))
    raw, file = parse(source, fmt)
    default = Path(file).stem if file != "<string>" else "net"
    default = default if default.isidentifier() else "net"
    return validate(raw, file, default)


def validate(raw: Any, file: str = "<string>", default_name: str = "net") -> Spec:
    """Validate a raw tree (from any frontend)."""
    canon, problems = canonicalize(raw, file, default_name)
    errors: list[dict[str, Any]] = []
    data = PosDict(canon, pos=canon.pos)
    data.key_pos = canon.key_pos
    nets = canon.get("networks")
    if isinstance(nets, dict):
        data["networks"] = {name: _with_layers(net, ("networks", name), errors) for name, net in nets.items()}
    spec = None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        errors.extend(exc.errors(include_url=False))
    if errors:
        found = _problems(errors, canon)
        if problems or len(found) > 1:  # a dropped bad item also empties its list; do not report that twice
            found = [p for p in found if not p.message.startswith("list should have at least")] or found
        problems.extend(found)
    if problems:
        raise SpecValidationError(problems=_dedupe(problems))
    assert spec is not None
    return spec


def _with_layers(net: Any, loc: tuple[Any, ...], errors: list[dict[str, Any]]) -> Any:
    if not isinstance(net, dict) or not isinstance(net.get("layers"), list):
        return net
    out = PosDict(net, pos=getattr(net, "pos", None))
    out["layers"] = validate_layers(net["layers"], (*loc, "layers"), errors)
    return out


def validate_layers(items: list[Any], loc: tuple[Any, ...], errors: list[dict[str, Any]]) -> list[Layer]:
    """Validate canonical layer items, each with its own kind's class, children first.

    Errors are appended with their full ``loc``; a failed item is left out (so its parent is too).
    """
    out = []
    for i, item in enumerate(items):
        cls = layer_class(item["kind"])
        data = PosDict(item, pos=getattr(item, "pos", None))
        data.key_pos, data.path = getattr(item, "key_pos", {}), getattr(item, "path", None)
        failed = False
        for field, depth in cls.CHILDREN.items():
            value = item.get(field)
            if not isinstance(value, list):
                continue
            before = len(errors)
            if depth == 1:
                data[field] = validate_layers(value, (*loc, i, field), errors)
            else:
                data[field] = [validate_layers(sub, (*loc, i, field, j), errors) if isinstance(sub, list) else sub
                               for j, sub in enumerate(value)]
            failed = failed or len(errors) > before
        if failed:
            continue
        try:
            out.append(cls.model_validate(data))
        except ValidationError as exc:
            errors.extend({**e, "loc": (*loc, i, *e["loc"])} for e in exc.errors(include_url=False))
    return out


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.location, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.location.line, p.location.column) if p.location else (1 << 30, 0))


def _walk(root: Any, loc: tuple[Any, ...]) -> tuple[Location | None, str, tuple[Any, ...], Any]:
    """Follow a pydantic loc through the canonical tree: location, user-facing path, the loc with
    union labels removed, and the value found."""
    node, where, path, kept = root, getattr(root, "pos", None), "", []
    for part in loc:
        if isinstance(node, dict) and part in node:
            where = node.where(part) if isinstance(node, PosDict) else where
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            where = node.where(part) if isinstance(node, PosList) else where
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # union tag
        elif isinstance(node, (dict, list)) and not isinstance(part, int) and _is_label(part):
            continue
        elif isinstance(node, dict) and part not in node:
            kept.append(part)
            path = f"{path}.{part}" if path else str(part)
            break
        else:
            continue
        kept.append(part)
        node_path = getattr(node, "path", None)
        path = node_path.rstrip(".") if node_path is not None else (f"{path}[{part}]" if isinstance(part, int) else
                                            (f"{path}.{part}" if path else str(part)))
    return where, path, tuple(kept), node


def _is_label(part: Any) -> bool:
    return isinstance(part, str) and any(c in part for c in "[]'\"") or part in (
        "int", "str", "float", "bool", "list", "dict", "none", "tuple", "function-after", "function-wrap")


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "none_required": "null",
}


def _problems(errors: list[dict[str, Any]], canon: PosDict) -> list[Problem]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    info: dict[tuple[Any, ...], tuple[Location | None, str, Any]] = {}
    for err in errors:
        where, path, kept, _ = _walk(canon, err["loc"])
        groups.setdefault(kept, []).append(err)
        info[kept] = (where, path, err.get("input"))
    out = []
    for kept, errs in groups.items():
        where, path, value = info[kept]
        out.append(_one(errs, where, path, value, kept, canon))
    return out


def _one(errs: list[dict[str, Any]], where: Location | None, path: str, value: Any, kept: tuple[Any, ...],
         canon: PosDict) -> Problem:
    types = [e["type"] for e in errs]
    if "extra_forbidden" in types:
        key = kept[-1] if kept else "?"
        model = _model_at(kept[:-1])
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        hint = did_you_mean(key, known) or (f"allowed here: {', '.join(known)}" if known else "")
        return Problem(f"unknown key '{key}'", where, path, hint)
    if "missing" in types:
        return Problem(f"missing required '{kept[-1] if kept else '?'}'", where, path.rsplit(".", 1)[0] if path else "")
    shown = _show(value)
    if len(errs) == 1:
        e = errs[0]
        msg = e["msg"][0].lower() + e["msg"][1:]
        if e["type"] in _EXPECTED:
            msg = f"expected {_EXPECTED[e['type']]}"
        if e["type"] == "value_error":
            msg = msg.removeprefix("value error, ")
        return Problem(f"{msg}; got {shown}", where, path)
    expected = []
    for e in errs:
        if e["type"] == "literal_error":
            expected.append("one of " + e["ctx"]["expected"])
        elif e["type"] in _EXPECTED:
            expected.append(_EXPECTED[e["type"]])
        else:
            expected.append(e["msg"][0].lower() + e["msg"][1:])
    expected = list(dict.fromkeys(expected))
    return Problem(f"invalid value {shown}; expected " + " or ".join(expected), where, path)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for key suggestions): follow the
    field annotations from Spec down, through Optional, unions, lists and dicts."""
    import typing

    def flat(annotation: Any) -> list[Any]:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or type(annotation).__name__ == "UnionType" or origin is typing.Annotated:
            args = typing.get_args(annotation)
            return [a for arg in (args[:1] if origin is typing.Annotated else args) for a in flat(arg)]
        return [annotation]

    current: list[Any] = [Spec]
    for part in loc:
        step: list[Any] = []
        for annotation in (a for c in current for a in flat(c)):
            origin, args = typing.get_origin(annotation), typing.get_args(annotation)
            if origin is dict and len(args) == 2:
                step.append(args[1])
            elif origin in (list, tuple) and args and isinstance(part, int):
                step.append(args[0])
            elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
                step += [info.annotation for name, info in annotation.model_fields.items() if part in (name, info.alias)]
        current = step
    for annotation in (a for c in current for a in flat(c)):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
    return None
