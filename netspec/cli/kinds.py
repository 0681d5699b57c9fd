"""`netspec kinds KIND`: one layer kind's reference: what it is, its options with their types, defaults
and descriptions, and the shapes of its examples (resolved by the library, never written by hand)."""

from __future__ import annotations

from typing import Any

from netspec.core.errors import UsageError, did_you_mean
from netspec.core.fmt import schema_bounds, show

_JSON_TYPES = {"integer": "int", "number": "float", "boolean": "bool", "string": "str", "object": "mapping"}


def _type_name(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """An option's type as its JSON Schema says it, in a line's room: ``'same' | 'valid' | int | [int, int], each
    from 0 to 4096`` (the typing repr of an ``Annotated`` union is a paragraph of pydantic internals). Ranges
    are written as error messages write them (:func:`~netspec.core.fmt.bounds_text`), values as a spec does."""
    def name(node: dict[str, Any]) -> list[tuple[str, str]]:
        """(type, range) of each member; the range '' where there is none."""
        if "$ref" in node:
            return name(defs.get(node["$ref"].rsplit("/", 1)[-1], {}))
        if "anyOf" in node or "oneOf" in node:
            return [part for sub in node.get("anyOf", node.get("oneOf", [])) for part in name(sub)]
        if "enum" in node or "const" in node:
            values = node.get("enum", [node.get("const")])
            shown = " | ".join(show(v) for v in values[:4])
            return [(shown + (f" | … ({len(values)} values)" if len(values) > 4 else ""), "")]
        kind = node.get("type")
        if kind == "null":
            return []
        if kind == "array":
            members = node["prefixItems"] if "prefixItems" in node else [node.get("items", {})]
            items = [name(item) for item in members]
            ranges = {r for parts in items for _, r in parts}
            shared = ranges.pop() if len(ranges) == 1 else ""  # one range for every item: said once, after the list
            texts = [" | ".join(_joined(parts) if not shared else [t for t, _ in parts]) or "any" for parts in items]
            return [("[" + ", ".join(texts) + ("]" if "prefixItems" in node else ", …]"), shared)]
        return [(_JSON_TYPES.get(kind, kind or "any"), schema_bounds(node) if kind in ("integer", "number") else "")]

    text = " | ".join(dict.fromkeys(_joined(name(schema)))) or "null"
    return text if len(text) <= 72 else text[:69] + "..."


def _joined(parts: list[tuple[str, str]]) -> list[str]:
    """Members without a range first, then those sharing a range together: ``int | [int, int], each from 1 to
    4096`` rather than the range twice."""
    plain = [t for t, r in parts if not r]
    ranged: dict[str, list[str]] = {}
    for t, r in parts:
        if r:
            ranged.setdefault(r, []).append(t)
    out = list(dict.fromkeys(plain))
    for r, types in ranged.items():
        types = list(dict.fromkeys(types))
        out.append(f"{types[0]} {r}" if len(types) == 1 else f"{' | '.join(types)}, each {r}")
    return out


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _example(kind: str, cls: Any, args: dict[str, Any], shapes: list[tuple[Any, ...]]) -> str | None:
    """``(1, 32, 32) → (6, 28, 28)`` for one of the kind's examples, resolved through the library; None
    when the example needs more than a plain input (another network, a block)."""
    from netspec.api import analyze

    dtypes = cls.INPUT_DTYPES or (cls.INPUT_DTYPE,) * len(shapes)
    inputs = {f"x{i}": {"shape": list(s), "dtype": "long" if dt == "long" else "float"}
              for i, (s, dt) in enumerate(zip(shapes, dtypes))}
    layer = {"kind": kind, **args}
    if len(shapes) > 1:
        layer["from"] = list(inputs)
    try:
        graph = analyze({"name": "example", "inputs": inputs, "layers": [layer]})
    except Exception:  # noqa: BLE001 (an example the plain form cannot hold is left out)
        return None
    net = next(iter(graph.networks.values()))
    outs = [t.shape for n in net.nodes[-1:] for t in n.outputs.values()]
    options = ", ".join(f"{k}: {show(v) if not isinstance(v, str) else v}" for k, v in args.items())
    ins = " + ".join(_shape(tuple(s)) for s in shapes)
    return f"  - {kind}" + (f": {{{options}}}" if options else "") + f"    {ins} → " + \
        ", ".join(_shape(tuple(o)) for o in outs)


def describe_kind(name: str) -> str:
    """The reference of one layer kind (or alias).

    Raises:
        UsageError: no such kind (with a 'did you mean')."""
    from netspec.layers import layer_kinds
    from netspec.layers.base import Layer, aliases_of, all_kind_names, canonical_kind

    kind = canonical_kind(name)
    kinds = layer_kinds()
    if kind is None or kind not in kinds:
        hint = did_you_mean(name, all_kind_names())
        raise UsageError(f"no layer kind '{name}'" + (f"; {hint}" if hint else "") + " (netspec kinds lists them)")
    cls = kinds[kind]
    doc = (cls.__doc__ or "").strip()
    lines = [f"{kind}  ({cls.FAMILY})" + (f"  also: {', '.join(aliases_of(kind))}" if aliases_of(kind) else ""), ""]
    lines += ["  " + line.strip() if line.strip() else "" for line in doc.splitlines()] + [""]
    if cls.PRIMARY:
        lines.append(f"shorthand: - {kind}: <{cls.PRIMARY}>")
    common = set(Layer.model_fields)
    fields = [(info.alias or n, info) for n, info in cls.model_fields.items() if n not in common]
    lines.append("options:" if fields else "options: none of its own")
    schema = cls.model_json_schema(by_alias=True)
    for field, info in fields:
        default = "required" if info.is_required() else ("[]" if info.default_factory is not None else
                                                         show(info.default))
        kind_of = _type_name(schema["properties"].get(field, {}), schema.get("$defs", {}))
        lines.append(f"  {field:<16} {kind_of:<28} default {default}"
                     + (f"\n  {'':<16} {info.description}" if info.description else ""))
    from netspec.frontends.keys import ITEM_KEYS

    lines.append(f"every kind also takes: {', '.join(ITEM_KEYS)}")
    examples = [e for args, shapes in cls.EXAMPLES if (e := _example(kind, cls, args, list(shapes)))]
    if examples:
        lines += ["", "shapes (per sample, from its examples):"] + examples
    return "\n".join(lines) + "\n"
