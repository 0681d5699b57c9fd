"""Text or file -> validated :class:`~netspec.spec.model.Spec`, with every problem located."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec.core.errors import Problem, SpecSyntaxError, SpecValidationError
from netspec.core.source import PosDict, map_leaves, strip_positions, to_raw, walk
from netspec.frontends import DSL_SUFFIXES, parser_for, read_source
from netspec.frontends.keys import BLOCK_CHILDREN, ITEM_KEYS
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import Layer
from netspec.spec.canonical import canonicalize
from netspec.spec.imports import is_library
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
    text, file, fmt = read_source(source, fmt)
    default = Path(file).stem if file != "<string>" else "net"
    default = default if default.isidentifier() else "net"
    try:
        raw = parser_for(fmt)(text, file)
        return validate(raw, file, default)
    except SpecSyntaxError as err:
        if err.partial is None:
            raise
        err = with_the_rest(err, file, default)  # the rest of the file read: its problems too
        if fmt != "dsl" or file.lower().endswith(DSL_SUFFIXES):
            raise err from None
        from netspec.frontends.dsl.errors import in_dsl_terms

        raise type(err)(problems=in_dsl_terms(err.problems, (*DSL_SUFFIXES, file))) from None  # DSL text's own
    except SpecValidationError as err:
        if fmt != "dsl" or file.lower().endswith(DSL_SUFFIXES):  # a .ns file's hints are in DSL words already
            raise
        from netspec.frontends.dsl.errors import in_dsl_terms

        raise type(err)(problems=in_dsl_terms(err.problems, (*DSL_SUFFIXES, file))) from None  # DSL text's own


def with_the_rest(err: SpecSyntaxError, file: str = "<string>", default_name: str = "net") -> SpecSyntaxError:
    """A syntax error whose frontend still read the whole file (``err.partial``, the raw tree) with the
    problems validating that tree finds, in file order: root causes only, so none at a place the syntax
    error already points at (the value it refused, kept as written)."""
    if err.partial is None:
        return err
    try:
        if is_library(err.partial):  # its definitions only: not "a block library ... its definitions are valid"
            validate_library(err.partial, file)
        else:
            validate(err.partial, file, default_name)
    except SpecValidationError as more:
        said = {p.location for p in err.problems if p.location is not None}
        rest = [p for p in more.problems if p.location is None or p.location not in said]
        here = sorted([*err.problems, *(p for p in rest if p.location is not None and p.location.file == file)],
                      key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))
        return SpecSyntaxError(problems=[*here, *(p for p in rest if p not in here)])
    return err


def validate(raw: Any, file: str = "<string>", default_name: str = "net", base: str | None = None) -> Spec:
    """Validate a raw tree (from any frontend). Its imports are read relative to ``base``, by default the
    folder of ``file`` (the current directory for ``<string>``)."""
    canon, problems, dropped, meant = canonicalize(raw, file, default_name, base)
    if not isinstance(raw, dict) or is_library(raw):  # not a spec at all, or a library: nothing else to say
        raise SpecValidationError(problems=_dedupe(problems, file))
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
        said = {p.location for p in problems if p.location is not None}  # one problem per place: the root cause
        problems.extend(p for p in problems_from_errors(errors, canon, Spec) if p.location is None or p.location not in said)
    if problems:
        raise SpecValidationError(problems=_dedupe(problems, file))
    assert spec is not None
    return spec


def validate_library(raw: Any, file: str = "<string>", base: str | None = None) -> dict[str, Any]:
    """Check a block library (a spec file holding only ``blocks:``, its ``imports`` and a description):
    its keys, its block definitions, and the files it imports. Returns its own block definitions as plain
    data, each layer item written one way (``{"kind": canonical kind, option: value, ...}``, the item keys
    among the options) whichever frontend and shorthand it came from, so that two forms of a library
    compare equal. A block's body is expanded only where a spec uses it, so this is all a library alone
    can say.

    Raises:
        SpecValidationError: every problem found, located.
    """
    canon, problems, _, _ = canonicalize(raw, file, "net", base, library=True)
    if problems:
        raise SpecValidationError(problems=_dedupe(problems, file))
    blocks = strip_positions(canon.get("blocks", {}))
    return _plain_exprs({name: {key: _plain_layers(value) if key in BLOCK_CHILDREN else value
                                for key, value in bdef.items()} for name, bdef in blocks.items()})


_BRACED_NAME = re.compile(r"\$\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[-?\d+\])*)\s*\}")


def _plain_exprs(value: Any) -> Any:
    """``${in.features}`` and ``$in.features`` (the same expression; the DSL writes only the first) in one form."""
    def plain(leaf: Any) -> Any:
        match = _BRACED_NAME.fullmatch(leaf) if isinstance(leaf, str) else None
        return "$" + match.group(1) if match else leaf

    return map_leaves(value, plain)


def _plain_layers(items: Any) -> Any:
    return [_plain_item(item) for item in items] if isinstance(items, list) else items


def _plain_item(item: Any) -> Any:
    """One layer item in one form (see :func:`validate_library`); anything odd is left as it is."""
    if isinstance(item, str):
        kind, value, extra = item, None, {}
    elif isinstance(item, dict) and len([k for k in item if k not in ITEM_KEYS]) == 1:
        kind = next(k for k in item if k not in ITEM_KEYS)
        value, extra = item[kind], {k: v for k, v in item.items() if k in ITEM_KEYS}
    else:
        return item
    canon = canonical_kind(kind) if isinstance(kind, str) else None
    cls = layer_class(canon) if canon else None
    if isinstance(value, dict):
        args = dict(value)
    elif value is None:
        args = {}
    elif cls is not None and cls.PRIMARY:
        args = {cls.PRIMARY: value}
    else:
        args = {"": value}
    for key, depth in (cls.CHILDREN.items() if cls is not None else ()):
        if isinstance(args.get(key), list):
            args[key] = _plain_layers(args[key]) if depth == 1 else [_plain_layers(b) for b in args[key]]
    return {"kind": canon or kind, **args, **extra}


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
    out.key_pos = getattr(net, "key_pos", {})
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


def dsl_terms(problems: list[Problem]) -> list[Problem]:
    """The problems located in a DSL file in DSL words, hints and values (the stages write them for YAML)."""
    if not any(p.location is not None and p.location.file.lower().endswith(DSL_SUFFIXES) for p in problems):
        return problems
    from netspec.frontends.dsl.errors import in_dsl_terms  # the DSL's parser is not needed otherwise

    return in_dsl_terms(problems, DSL_SUFFIXES)


def _dedupe(problems: list[Problem], file: str = "<string>") -> list[Problem]:
    """One problem per place and message (the copies of a repeat or of a block used twice say the same
    thing at the same place of the file), in file order. A problem inside a block definition that each use
    of the block meets is one problem whose note lists the uses (:func:`_one_per_root_cause`)."""
    seen, out = set(), []
    for p in _one_per_root_cause(problems):
        key = (p.location, p.message) if p.location is not None else (None, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    out = dsl_terms(out)
    files = {p.location.file: i for i, p in reversed(list(enumerate(out))) if p.location is not None}
    files[file] = -1  # the spec's own problems first, then each imported file's, in file order

    def order(p: Problem) -> tuple[int, int, int]:
        loc = p.location
        return (files[loc.file], loc.line, loc.column) if loc is not None else (1 << 30, 1 << 30, 0)
    return sorted(out, key=order)


# The note a problem inside a block definition ends with: "(in block 'b', used at f:9:5)", or nested
# "(in block 'a', used at lib:3:5, in block 'b', used at f:9:5)" (innermost first; see problems.py,
# imports.py, ir/build.py and carried.py, which write it).
_USE_NOTE = re.compile(r" \((in block '[^']*',? used at .+)\)$", re.S)
MAX_USES_SHOWN = 4  # a block used more often than this: the first uses, and how many more


def _one_per_root_cause(problems: list[Problem]) -> list[Problem]:
    """Problems the same but for their use note (one block definition, one mistake in it, met by each use of
    the block) as one problem at the first one's place in the list, its note naming every use: "(in block
    'b', used at f:4:5 and f:5:5)"; a nested note keeps its inner blocks ("(in block 'a', used at lib:3:5,
    in block 'b', used at f:4:5 and f:5:5)"), notes that differ inside are joined with "; "."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for p in problems:
        note = _USE_NOTE.search(p.message) if p.location is not None else None
        if note is not None:
            notes = groups.setdefault((p.location, p.message[:note.start()], p.hint), [])
            if note.group(1) not in notes:
                notes.append(note.group(1))
    out, done = [], set()
    for p in problems:
        note = _USE_NOTE.search(p.message) if p.location is not None else None
        if note is None:
            out.append(p)
            continue
        key = (p.location, p.message[:note.start()], p.hint)
        if key in done:
            continue
        done.add(key)
        notes = groups[key]
        out.append(p if len(notes) == 1 else
                   Problem(f"{key[1]} ({_uses_note(notes)})", p.location, p.path, p.hint, p.excerpt))
    return out


def _uses_note(notes: list[str]) -> str:
    """Several use notes of one problem as one: the notes with the same inner blocks (all but the outermost
    use) as one listing those uses, "in block 'b', used at f:4:5, f:5:5 and 3 more"; others joined by "; "."""
    groups: dict[str, list[str]] = {}
    for note in notes:
        head, _, where = note.rpartition(" used at ")
        groups.setdefault(head, []).append(where)
    return "; ".join(f"{head} used at {_listed(wheres)}" for head, wheres in groups.items())


def _listed(wheres: list[str]) -> str:
    if len(wheres) > MAX_USES_SHOWN:
        return ", ".join(wheres[:MAX_USES_SHOWN]) + f" and {len(wheres) - MAX_USES_SHOWN} more"
    return " and ".join(filter(None, (", ".join(wheres[:-1]), wheres[-1])))
