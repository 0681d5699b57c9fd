"""Reference text derived from the layer registry (`netspec kinds`, docs/layers.md)."""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo

from netspec.frontends.keys import ITEM_KEYS
from netspec.layers import layer_kinds
from netspec.layers.base import Layer, aliases_of

COMMON = tuple(Layer.model_fields)  # the fields every kind has (kind, name, from, trainable, init)


def _aliases() -> dict[str, list[str]]:
    return {kind: aliases_of(kind) for kind in layer_kinds() if aliases_of(kind)}


def _doc(cls: type[Layer]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "[]"
    return info.default


def _by_family() -> list[tuple[str, type[Layer]]]:
    """Kinds grouped by family (families alphabetically, kinds in registration order within one), so
    the reference does not depend on the order the family modules happen to be imported in."""
    kinds = list(layer_kinds().items())
    return sorted(kinds, key=lambda kc: kc[1].FAMILY)


def options(cls: type[Layer]) -> list[tuple[str, Any]]:
    return [(info.alias or name, _default(info)) for name, info in cls.model_fields.items() if name not in COMMON]


def kinds_text() -> str:
    aliases = _aliases()
    lines = []
    for kind, cls in _by_family():
        extra = f" (also: {', '.join(aliases[kind])})" if kind in aliases else ""
        lines.append(f"{kind:<22} {cls.FAMILY:<14} {_doc(cls)}{extra}")
        opts = options(cls)
        if opts:
            lines.append(f"{'':<37} options: " + ", ".join(f"{n}={d}" for n, d in opts))
    return "\n".join(lines) + "\n"


def kinds_markdown() -> str:
    aliases = _aliases()
    lines = ["# Layer kinds", "",
             "Generated from the layer registry by `netspec kinds --markdown`; a test keeps it current.",
             f"Every kind also takes {', '.join(f'`{k}`' for k in ITEM_KEYS[:-1])} and `{ITEM_KEYS[-1]}`.", "",
             "| kind | family | what it is | options (default) | also |", "| --- | --- | --- | --- | --- |"]
    for kind, cls in _by_family():
        opts = ", ".join(f"`{n}`" + ("" if d == "required" else f" ({d})") for n, d in options(cls))
        primary = f" Shorthand: `- {kind}: <{cls.PRIMARY}>`." if cls.PRIMARY else ""
        doc = _doc(cls).replace("|", "\\\\|") + primary
        lines.append(f"| `{kind}` | {cls.FAMILY} | {doc} | {opts} | {', '.join(aliases.get(kind, []))} |")
    return "\n".join(lines) + "\n"


def json_schema() -> dict[str, Any]:
    """JSON Schema of the canonical spec language (layers as ``{kind: ..., options}``), generated from the
    layer registry: each kind's definition pins ``kind`` to its name and aliases."""
    import json

    from netspec.spec.model import Spec

    out = Spec.model_json_schema(by_alias=True)
    defs = out.setdefault("$defs", {})
    for kind, cls in layer_kinds().items():
        entry = cls.model_json_schema(by_alias=True)
        defs.update(entry.pop("$defs", {}))
        entry.setdefault("properties", {})["kind"] = {"enum": [kind, *aliases_of(kind)], "description": "layer kind"}
        defs[cls.__name__] = entry
    # Nested layer lists are typed by the base class; in the schema they are any registered kind.
    defs["Layer"] = {"oneOf": [{"$ref": f"#/$defs/{cls.__name__}"} for cls in layer_kinds().values()],
                     "description": "a layer: {kind: <name>, ...options}"}
    out["title"] = "netspec spec (version 1)"
    return json.loads(json.dumps(out))
