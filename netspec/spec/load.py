"""Text or file -> validated :class:`~netspec.spec.model.Spec`, with every problem located."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec.core.errors import Problem, SpecValidationError
from netspec.core.source import PosDict, to_raw, walk
from netspec.frontends import parse
from netspec.layers import layer_class
from netspec.layers.base import Layer
from netspec.spec.expand import canonicalize
from netspec.spec.model import Spec
from netspec.spec.problems import problems_from_errors


def load(source: str | os.PathLike[str] | Spec | dict[str, Any], fmt: str | None = None) -> Spec:
    """Parse and validate a spec from a path, text or a dict; a Spec passes through.

    Raises:
        SpecSyntaxError: the text is not well-formed.
        SpecValidationError: every schema problem of the file, each located.
    """
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return validate(to_raw(source))  # a dict that contains itself is refused there, with its path
    raw, file = parse(source, fmt)
    default = Path(file).stem if file != "<string>" else "net"
    default = default if default.isidentifier() else "net"
    return validate(raw, file, default)


def validate(raw: Any, file: str = "<string>", default_name: str = "net") -> Spec:
    """Validate a raw tree (from any frontend)."""
    canon, problems, dropped, meant = canonicalize(raw, file, default_name)
    if not isinstance(raw, dict):  # not a spec at all: nothing else to say
        raise SpecValidationError(problems=problems)
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
    errors = [e for e in errors if not _follow_on(e, canon, dropped, meant)]
    if errors:
        problems.extend(problems_from_errors(errors, canon, Spec))
    if problems:
        raise SpecValidationError(problems=_dedupe(problems))
    assert spec is not None
    return spec


def _follow_on(error: dict[str, Any], canon: Any, dropped: dict[int, Any], meant: dict[tuple[int, str], Any]) -> bool:
    """An error that only follows from a problem already reported: "should have at least 1 item" about a
    list emptied because its items were invalid (the expander's list lost items, or still has the ones
    validation dropped); "missing required 'filters'" where ``filtrs`` was written."""
    if error["type"] == "missing":
        spot = walk(canon, error["loc"])
        return bool(spot.steps) and (id(spot.value), spot.steps[-1]) in meant
    if error["type"] != "too_short":
        return False
    value = walk(canon, error["loc"]).value
    return id(value) in dropped or isinstance(value, (list, dict)) and len(value) > 0


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
    """One problem per place and message (the copies of a repeat or of a block used twice say the same
    thing at the same place of the file), in file order."""
    seen, out = set(), []
    for p in problems:
        key = (p.location, p.message) if p.location is not None else (None, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.location.line, p.location.column) if p.location else (1 << 30, 0))
