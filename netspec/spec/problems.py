"""Pydantic's validation errors in words: one located :class:`~netspec.core.errors.Problem` per place.

The one translator of the spec stage: :mod:`netspec.spec.load` uses it for a whole spec, and the
``train:`` section's command-line overrides (:mod:`netspec.spec.train`) can use it for theirs. It
imports neither, so both may import it.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from netspec.core.errors import Problem, did_you_mean
from netspec.core.source import Reached, walk

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "none_required": "null",
}


def problems_from_errors(errors: list[dict[str, Any]], tree: Any, model: type[BaseModel]) -> list[Problem]:
    """One Problem per place for pydantic ``errors`` (``ValidationError.errors()``) found validating ``tree``
    (a raw tree, or plain dicts and lists) as ``model``.

    Each is located through the tree (``file:line:col`` where it has positions) with a user-facing path;
    the errors of one place are merged ("expected an integer or a list"); an unknown key gets a did-you-mean
    from the fields of the model that validates the mapping holding it.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    reached: dict[tuple[Any, ...], tuple[Reached, Any]] = {}
    for err in errors:
        spot = walk(tree, err["loc"])
        groups.setdefault(spot.steps, []).append(err)
        reached[spot.steps] = (spot, err.get("input"))
    return [_one(errs, *reached[steps], model) for steps, errs in groups.items() if not _shadowed(steps, errs, groups)]


def _shadowed(steps: tuple[Any, ...], errs: list[dict[str, Any]], groups: dict[tuple[Any, ...], Any]) -> bool:
    """A union's "expected an integer" for a list that another member of the union accepted as a list,
    finding the real problem inside it (``kernel: [3, x]``): report that one only."""
    return (all(e["type"] in _EXPECTED for e in errs)
            and any(len(other) > len(steps) and other[:len(steps)] == steps for other in groups))


def _one(errs: list[dict[str, Any]], spot: Reached, value: Any, root: type[BaseModel]) -> Problem:
    where, path, kept = spot.where, spot.path, spot.steps
    types = [e["type"] for e in errs]
    if "extra_forbidden" in types:
        key = kept[-1] if kept else "?"
        model = model_at(root, kept[:-1])
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
