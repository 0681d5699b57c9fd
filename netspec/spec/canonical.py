"""Raw tree -> canonical tree for a whole spec file: :func:`canonicalize` checks the top-level keys, takes
the block definitions (its own and those it imports), expands each network's layers (``spec.expand``) and
checks every definition once, used or not. The canonical form is what the pydantic models read."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from netspec.core.errors import Location, Problem
from netspec.core.fmt import show
from netspec.core.source import PosDict, PosList
from netspec.frontends.keys import LIBRARY_KEYS, NETWORK_KEYS, TOP_KEYS
from netspec.spec.expand import Expander, block_definitions, check_definitions, check_keys
from netspec.spec.expr import ExprError, evaluate, is_expr
from netspec.spec.imports import ImportingExpander, add_imports, is_library


class Canonical(NamedTuple):
    """What :func:`canonicalize` returns."""

    tree: PosDict  # the canonical spec
    problems: list[Problem]  # every problem found, located
    # Keyed by id(), holding the objects so that no id is reused while the tree is validated:
    dropped: dict[int, Any]  # the lists and mappings of ``tree`` that lost an item to a problem
    meant: dict[tuple[int, str], Any]  # (a layer of ``tree``, option): missing because it was misspelled


def _outside_blocks(value: Any, where: Location | None, path: str, exp: Expander) -> Any:
    """A value outside layer items and blocks (an input's shape, ``outputs:``, ``expect:``, ``train:``):
    ``${...}`` is not evaluated there. Each one is a problem saying so, with the number to write when it
    is a constant; the copy returned holds that number in its place (so validation does not report the
    same text again)."""
    if is_expr(value) and re.fullmatch(r"\$(\{.*\}|[A-Za-z_]\w*)", value, re.S):  # not "$HOME/data"
        try:
            result = evaluate(value, {})
        except ExprError:
            result = None
        shown = f"write {show(result)} instead" if isinstance(result, (int, float, str)) else "write the value itself"
        exp.problem(f"'{value}' is not evaluated here: ${{...}} expressions are evaluated in layer items and "
                    "block definitions only", where, path, shown)
        return value if result is None else result
    if isinstance(value, PosDict):
        out = PosDict(pos=value.pos)
        out.key_pos, out.path = dict(value.key_pos), value.path
        for k, v in value.items():
            out[k] = _outside_blocks(v, value.value_where(k), f"{path}.{k}", exp)
        return out
    if isinstance(value, PosList):
        return PosList([_outside_blocks(v, value.where(i), f"{path}[{i}]", exp) for i, v in enumerate(value)],
                       pos=value.pos, item_pos=list(value.item_pos))
    return value


def _network(raw: PosDict, path: str, exp: Expander, meant: set[str] = frozenset()) -> PosDict:
    """A network's canonical form. ``meant``: keys a misspelled key was probably meant for (reported
    already): their absence is not reported again."""
    if any(k in raw for k in ("input", "inputs", "outputs", "expect")):
        copy = PosDict(raw, pos=raw.pos)
        copy.key_pos, copy.path = raw.key_pos, raw.path
        for k in ("input", "inputs", "outputs", "expect"):
            if k in raw:
                copy[k] = _outside_blocks(raw[k], raw.value_where(k), f"{path}{k}", exp)
        raw = copy
    out = PosDict(pos=raw.pos)
    out.path = path
    inputs: Any = None
    if "input" in raw and "inputs" in raw:
        exp.problem("give either 'input' or 'inputs', not both", raw.where("inputs"), path.rstrip("."))
    if "input" in raw:
        inputs = PosDict({"input": raw["input"]}, pos=raw.where("input"))
        inputs.key_pos["input"] = raw.where("input")
        out.key_pos["inputs"] = raw.where("input")
    elif "inputs" in raw:
        inputs = raw["inputs"]
        out.key_pos["inputs"] = raw.where("inputs")
    else:
        exp.meant[(id(out), "inputs")] = out  # pydantic's "missing required 'inputs'" says it again
        if not {"input", "inputs"} & meant:
            exp.problem("the network has no input", raw.pos, path.rstrip("."),  # (the network's own path: no dot)
                        "add e.g. 'input: [1, 28, 28]' (channels first)")
    if isinstance(inputs, dict):
        canon = PosDict(pos=getattr(inputs, "pos", None))
        for name, value in inputs.items():
            where = inputs.where(name) if isinstance(inputs, PosDict) else None
            if isinstance(value, list):
                value = PosDict({"shape": value}, pos=where)
                value.key_pos["shape"] = where
            elif isinstance(value, str):
                value = PosDict({"from": value}, pos=where)
                value.key_pos["from"] = where
            elif not isinstance(value, dict):
                key = "input" if "input" in raw else name
                shape = f"[{value}]" if isinstance(value, int) and not isinstance(value, bool) else "[1, 28, 28]"
                exp.problem(f"an input is a shape (a list of sizes) or a mapping, got {show(value)}",
                            inputs.value_where(name) if isinstance(inputs, PosDict) else where,
                            f"{path}{'input' if key == 'input' else f'inputs.{name}'}",
                            f"write '{key}: {shape}' or '{key}: {{shape: {shape}, dtype: float}}'")
                exp.dropped[id(canon)] = canon
                continue
            canon[name] = value
            canon.key_pos[name] = where
        inputs = canon
    elif inputs is not None:
        exp.problem(f"'inputs' maps input names to shapes, got {show(inputs)}", raw.value_where("inputs"),
                    f"{path}inputs",
                    "write 'inputs: {x: [3, 32, 32]}', or 'input: [3, 32, 32]' for a single input")
        inputs = PosDict(pos=raw.where("inputs"))
        exp.dropped[id(inputs)] = inputs
    if inputs is not None:
        out["inputs"] = inputs
    for key in ("description", "expect"):
        if key in raw:
            out[key] = raw[key]
            out.key_pos[key] = raw.where(key)
    if "outputs" in raw:
        outputs = raw["outputs"]
        out["outputs"] = [outputs] if isinstance(outputs, str) else outputs
        out.key_pos["outputs"] = raw.where("outputs")
    if "layers" in raw:
        out["layers"] = exp.layers(raw["layers"], raw.where("layers"), f"{path}layers", {}, ())
        out.key_pos["layers"] = raw.where("layers")
        outputs = out.get("outputs")
        for i, ref in enumerate(outputs if isinstance(outputs, list) else []):
            why = exp.top_gone.get(ref.partition(":")[0]) if isinstance(ref, str) else None
            if why is not None:
                where = outputs.where(i) if isinstance(outputs, PosList) else raw.where("outputs")
                exp.problem(f"output '{ref}' names a layer that is left out ({why})", where or raw.where("outputs"),
                            f"{path}outputs", "give the output the same condition, or name a layer that is kept")
    else:
        exp.meant[(id(out), "layers")] = out
        if "layers" not in meant:
            exp.problem("the network has no 'layers' list", raw.pos, path.rstrip("."),
                        "add e.g. 'layers: [flatten, dense: 10]'")
    return out


def canonicalize(raw: Any, file: str = "<string>", default_name: str = "net", base: str | None = None,
                 library: bool = False) -> Canonical:
    """Turn a raw spec tree into canonical form; returns the tree, the problems found, and which of the
    tree's containers lost an item to one of them (so that "at least 1 item" is not reported again).

    Imported libraries are read (through the frontends) relative to ``base``, by default the folder of
    ``file`` (the current directory for a spec given as text). With ``library`` the tree is a block
    library: its keys, blocks and imports are checked and the tree holds its own ``blocks``, no network;
    without it, a library is a problem (there is no network to check)."""
    if not isinstance(raw, PosDict):
        where = getattr(raw, "pos", None) or Location(file, 1, 1)
        problem = Problem("a spec must be a mapping with 'input' and 'layers' (or 'networks')", where,
                          hint="see specs/lenet5.yaml for an example")
        return Canonical(PosDict(pos=where), [problem], {}, {})
    exp = ImportingExpander({}, file)
    meant = check_keys(raw, LIBRARY_KEYS if library else TOP_KEYS, "", exp,
                        "a block library" if library else "a spec")
    exp.blocks = block_definitions(raw.get("blocks"), exp)
    own = dict(exp.blocks)
    add_imports(raw, file, base, exp)
    out = PosDict(pos=raw.pos)
    for key in ("netspec", "description", "train"):
        if key in raw:
            out[key] = raw[key] if key == "description" else _outside_blocks(raw[key], raw.value_where(key), key, exp)
            out.key_pos[key] = raw.where(key)
    if library or is_library(raw):
        out["blocks"] = PosDict(own, pos=raw.pos)
        check_definitions(exp)
        if not library and not exp.problems:  # its definitions' problems are the root causes; else say what it is
            names = ", ".join(own) or "none of its own"
            exp.problem(f"{file} is a block library (blocks: {names}), not a network: its definitions are valid, "
                        "and a library has no shapes to check on its own", raw.pos, "",
                        "import it from a spec ('imports: [file]' in YAML, 'import \"file\"' in the DSL) and "
                        "use its blocks there")
        return Canonical(out, exp.problems, exp.dropped, exp.meant)
    name = raw.get("name", default_name)
    out["name"] = name
    out.key_pos["name"] = raw.where("name")
    nets = PosDict(pos=raw.pos)
    if "networks" in raw:
        for key in ("input", "inputs", "layers", "outputs", "expect"):
            if key in raw:
                exp.problem(f"'{key}' belongs inside a network when 'networks:' is used", raw.where(key), key)
        raw_nets = raw["networks"]
        if not isinstance(raw_nets, PosDict) or not raw_nets:
            exp.problem("'networks' must map network names to networks", raw.where("networks"), "networks")
        else:
            for net_name, net in raw_nets.items():
                if not isinstance(net, PosDict):
                    exp.problem("a network must be a mapping with 'input' and 'layers'", raw_nets.where(net_name),
                                f"networks.{net_name}")
                    continue
                meant = check_keys(net, NETWORK_KEYS, f"networks.{net_name}.", exp, "a network")
                nets[net_name] = _network(net, f"networks.{net_name}.", exp, meant)
                nets.key_pos[net_name] = raw_nets.where(net_name)
        out.key_pos["networks"] = raw.where("networks")
    else:
        net_name = name if isinstance(name, str) and name.isidentifier() else "net"
        nets[net_name] = _network(raw, "", exp, meant)
        nets.key_pos[net_name] = raw.pos
    out["networks"] = nets
    check_definitions(exp)
    return Canonical(out, exp.problems, exp.dropped, exp.meant)
