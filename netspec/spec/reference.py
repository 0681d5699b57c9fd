"""Reference text derived from the layer registry (`netspec kinds`, docs/layers.md)."""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo

from netspec.layers import layer_kinds
from netspec.layers.base import _ALIASES, Layer

COMMON = ("kind", "name", "from_", "trainable", "init")


def _aliases() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, kind in _ALIASES.items():
        out.setdefault(kind, []).append(alias)
    return out


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
             "Every kind also takes `name`, `from`, `trainable`, `init` and `repeat`.", "",
             "| kind | family | what it is | options (default) | also |", "| --- | --- | --- | --- | --- |"]
    for kind, cls in _by_family():
        opts = ", ".join(f"`{n}`" + ("" if d == "required" else f" ({d})") for n, d in options(cls))
        primary = f" Shorthand: `- {kind}: <{cls.PRIMARY}>`." if cls.PRIMARY else ""
        doc = _doc(cls).replace("|", "\\\\|") + primary
        lines.append(f"| `{kind}` | {cls.FAMILY} | {doc} | {opts} | {', '.join(aliases.get(kind, []))} |")
    return "\n".join(lines) + "\n"
