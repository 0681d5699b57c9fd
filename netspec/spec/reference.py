"""Reference derived from the layer registry: `netspec kinds`, docs/layers.md, and the JSON Schema of the
language as written (`netspec schema`, for editors)."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from netspec.core.fmt import show
from netspec.frontends import MAX_IMPORTS
from netspec.frontends.keys import BLOCK_KEYS, BLOCK_OPTIONS, IF, ITEM_KEYS, NETWORK_KEYS, REPEAT, TOP_KEYS
from netspec.layers import layer_kinds
from netspec.layers.base import Layer, aliases_of, all_kind_names
from netspec.layers.structure.residual import Residual
from netspec.spec.expand import MAX_REPEAT

COMMON = tuple(Layer.model_fields)  # the fields every kind has (kind, name, from, trainable, init)


def _aliases() -> dict[str, list[str]]:
    return {kind: aliases_of(kind) for kind in layer_kinds() if aliases_of(kind)}


def _doc(cls: type[Layer]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def _default(info: FieldInfo) -> str:
    """An option's default as a spec writes it (``true``, ``null``, ``[0.9, 0.999]``; a word as it is)."""
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "[]"
    return info.default if isinstance(info.default, str) else show(info.default)


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


# --- the JSON Schema of the language as written ---------------------------------------------------
# Generated from the registry (each kind's pydantic schema), the item/block keys of netspec.frontends.keys
# and the spec models, never listed per kind. Draft 2020-12, written so that draft-07 tools (editors'
# YAML plugins) read it the same way: if/then rather than dependentSchemas, homogeneous tuples as `items`.

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_STRICT = "_NoBlocks"  # suffix of the definitions used where a spec has no `blocks:` (only kinds are layers)

# The language's own keys, beside what the models describe.
_KEYS = {
    "input": "the network's one input: its per-sample shape, channels first ([1, 28, 28]; a name such as T is a "
             "symbolic size), another network's output ('encoder'), or {shape, dtype, from}",
    "inputs": "several named inputs: {image: [3, 32, 32], tokens: {shape: [T], dtype: long}, z: encoder}",
    "outputs": "output node name(s); default: the last layer",
    "layers": "the layers, in order: each takes the previous one's output unless it says from:",
    "blocks": "reusable blocks: {name: {params: {width: null, stride: 1}, layers: [...]}}; use one like a layer",
    "imports": "block libraries whose blocks this spec uses: spec files holding only blocks: (and description, "
               "their own imports), paths relative to this file, e.g. [blocks/transformer.yaml]",
    "networks": "several networks: {encoder: {input: ..., layers: [...]}, decoder: {inputs: {z: encoder}, ...}}",
    "expect": "numbers the spec pins; `netspec check` fails when one does not hold",
    REPEAT: "n copies of this layer, in a group (0 to 1000; 0 leaves it out); inside, $i is the copy's index",
    IF: "leave this item out when false: true, false or an expression (${stride == 1 and in.channels == out}); "
        "in a repeat, decided per copy ($i)",
    "params": "the block's parameters and their defaults (null: required); used as $name or ${expression}",
    "name": "the spec's name (default: the file's name); also the network's, when there is one",
    "description": "what this is, in a sentence (shown in reports and diagrams)",
}
_EXPR = {"type": "string", "pattern": r"^\$",
         "description": "a block parameter ($width) or an expression of them (${width * 4}); $i in a repeat; "
                        "inside a block, in is its input's type ($in.channels, ${in.shape[-1] * 4})"}
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "propertyNames", "contains")
_SUBSCHEMAS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _rewrite(node: Any, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Apply ``fn`` to every subschema, innermost first (it knows which keys hold subschemas, so a
    property called ``title`` is never mistaken for the keyword)."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for key in _SUBSCHEMA:
        if isinstance(out.get(key), dict):
            out[key] = _rewrite(out[key], fn)
    for key in _SUBSCHEMAS:
        if isinstance(out.get(key), list):
            out[key] = [_rewrite(s, fn) for s in out[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: _rewrite(s, fn) for k, s in out[key].items()}
    return fn(out)


def _portable(node: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's titles; a homogeneous tuple (``[kh, kw]``) as ``items`` + length, which draft-07
    readers understand too."""
    node.pop("title", None)
    prefix = node.get("prefixItems")
    if prefix and all(p == prefix[0] for p in prefix) and "items" not in node:
        node["items"] = node.pop("prefixItems")[0]
    return node


def _forbidden(why: str) -> dict[str, Any]:
    """A key that may not appear here (``not: {}`` rather than ``false``, so validators keep its path);
    ``errorMessage`` is what VS Code's and yaml-language-server's validators show instead of theirs."""
    return {"not": {}, "description": why, "errorMessage": why}


def _described(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    return {**schema, "description": description} if description and "description" not in schema else schema


def _or_expr(schema: dict[str, Any]) -> dict[str, Any]:
    """An option's schema, also accepting a block parameter (``$width``); the hover text stays outside."""
    keep = {k: schema[k] for k in ("description", "default", "markdownDescription") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in keep}
    alternatives = inner["anyOf"] if list(inner) == ["anyOf"] else [inner]
    return {**keep, "anyOf": [*alternatives, {"$ref": "#/$defs/Expression"}]}


def _field_doc(cls: type[BaseModel], name: str, info: FieldInfo) -> str:
    """Hover text of a kind's option: its description, or the kind's own words for it."""
    what = info.description or f"{(info.alias or name).replace('_', ' ')} of {getattr(cls, 'KIND', '') or cls.__name__}"
    if info.is_required():
        return f"{what} (required)"
    return what


class _Schema:
    """Builds the schema once: per-kind option definitions, the layer-item unions, the spec around them."""

    def __init__(self) -> None:
        from netspec.spec.model import Spec

        self.spec = Spec.model_json_schema(by_alias=True)
        self.defs: dict[str, Any] = {name: _rewrite(d, _portable) for name, d in self.spec.pop("$defs").items()
                                     if name not in ("Layer", "Network")}

    # --- names --------------------------------------------------------------------------------------
    @staticmethod
    def variant(strict: bool) -> str:
        return _STRICT if strict else ""

    @staticmethod
    def name(kind: str, strict: bool, part: str = "") -> str:
        """A kind's definition: its options (``Conv2d``) or what follows its key (``Conv2dValue``); kinds that
        hold layers have a second one for specs without blocks (``Residual_NoBlocks``)."""
        cls = layer_kinds()[kind]
        return f"{cls.__name__}{part}{_STRICT if strict and cls.CHILDREN else ''}"

    def options_ref(self, kind: str, strict: bool) -> str:
        return f"#/$defs/{self.name(kind, strict)}"

    def value_ref(self, kind: str, strict: bool) -> str:
        return f"#/$defs/{self.name(kind, strict, 'Value')}"

    # --- one kind -----------------------------------------------------------------------------------
    def options(self, kind: str, strict: bool) -> dict[str, Any]:
        """The kind's options object (``{filters: 6, kernel: 5}``), ``kind`` included for the long form."""
        cls = layer_kinds()[kind]
        raw = cls.model_json_schema(by_alias=True)
        for name, d in raw.pop("$defs", {}).items():
            if name != "Layer":
                self.defs.setdefault(name, _rewrite(d, _portable))
        layers = f"#/$defs/Layer{self.variant(strict)}"

        def relink(node: dict[str, Any]) -> dict[str, Any]:
            if node.get("$ref") == "#/$defs/Layer":
                node["$ref"] = layers
            return _portable(node)

        raw = _rewrite(raw, relink)
        props: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if key == "kind":
                props[key] = {"enum": [kind, *aliases_of(kind)], "description": f"{kind}: {_doc(cls)}"}
                continue
            if name in Layer.model_fields:  # the keys every layer takes: defined once
                props[key] = {"$ref": f"#/$defs/{self.common(key, raw['properties'][key], info)}"}
                continue
            props[key] = _or_expr(_described(raw["properties"][key], _field_doc(cls, name, info)))
        props[REPEAT] = {"$ref": f"#/$defs/{self.common(REPEAT, {}, None)}"}
        props[IF] = {"$ref": f"#/$defs/{self.common(IF, {}, None)}"}
        required = [r for r in raw.get("required", []) if r != "kind"]
        out = {"type": "object", "description": self.kind_doc(kind), "markdownDescription": self.kind_markdown(kind),
               "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out

    def common(self, key: str, schema: dict[str, Any], info: FieldInfo | None) -> str:
        """The definition of a key every layer item takes (``name``, ``from``, ``trainable``, ``init``,
        ``repeat``), made the first time a kind asks for it."""
        name = f"Layer_{key}"
        if name not in self.defs:
            if key == REPEAT:
                schema = {"description": _KEYS[REPEAT],
                          "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
                                    {"$ref": "#/$defs/Expression"}]}
            elif key == IF:
                schema = {"description": _KEYS[IF], "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Expression"}]}
            elif info is not None:
                schema = _described(schema, info.description)
            if key == "from":  # one name or a list (Layer._one_or_many reads a single name as a list)
                schema = {k: v for k, v in schema.items() if k != "anyOf"}
                schema["anyOf"] = [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            self.defs[name] = _or_expr(schema) if key not in (REPEAT, IF) else schema
        return name

    @staticmethod
    def kind_doc(kind: str) -> str:
        cls = layer_kinds()[kind]
        opts = ", ".join(f"{n}={d}" for n, d in options(cls))
        also = f" (also: {', '.join(aliases_of(kind))})" if aliases_of(kind) else ""
        return f"{kind}{also}: {_doc(cls)}" + (f" Options: {opts}." if opts else "")

    @staticmethod
    def kind_markdown(kind: str) -> str:
        cls = layer_kinds()[kind]
        lines = [f"**{kind}** ({cls.FAMILY}) — {(cls.__doc__ or '').strip()}"]
        if cls.PRIMARY:
            lines.append(f"Shorthand: `- {kind}: <{cls.PRIMARY}>`")
        opts = [f"`{n}`" + ("" if d == "required" else f" = `{d}`") for n, d in options(cls)]
        if opts:
            lines.append("Options: " + ", ".join(opts))
        if aliases_of(kind):
            lines.append("Also: " + ", ".join(f"`{a}`" for a in aliases_of(kind)))
        return "\n\n".join(lines)

    def value(self, kind: str, strict: bool) -> dict[str, Any]:
        """What follows ``- kind:``: the options, the main option alone (``- dense: 120``), or nothing."""
        cls = layer_kinds()[kind]
        ref = self.options_ref(kind, strict)
        opts = self.defs_for(kind, strict)
        alts: list[dict[str, Any]] = [{"$ref": ref, "properties": {"kind": _forbidden("the kind is the item's key")}}]
        if cls.PRIMARY:
            alts.append(opts["properties"][cls.PRIMARY])
        if not opts.get("required"):
            alts.append({"type": "null"})
        return {"description": self.kind_doc(kind), "markdownDescription": self.kind_markdown(kind), "anyOf": alts}

    def defs_for(self, kind: str, strict: bool) -> dict[str, Any]:
        return self.defs[self.name(kind, strict)]

    # --- a layer item -------------------------------------------------------------------------------
    def beside(self) -> dict[str, Any]:
        """The keys an item takes beside its kind key (name, from, trainable, init, repeat)."""
        common = next(iter(layer_kinds()))
        props = self.defs_for(common, False)["properties"]
        return {key: props[key] for key in ITEM_KEYS}

    def item_union(self, strict: bool) -> dict[str, Any]:
        """A layer item: a bare kind, ``{kind-or-alias: value, name, from, ...}``, the long form
        ``{kind: conv2d, filters: 6}``, or (where the spec has blocks) a block."""
        v = self.variant(strict)
        alts: list[dict[str, Any]] = [{"$ref": "#/$defs/KindName"}]
        if not strict:
            alts.append({"$ref": "#/$defs/BlockName"})
        alts += [{"$ref": f"#/$defs/LayerItem{v}"}, {"$ref": f"#/$defs/LayerLongForm{v}"}]
        if not strict:
            alts.append({"$ref": "#/$defs/BlockUse"})
        what = "a layer kind" if strict else "a layer kind or a block"
        return {"description": f"a layer: {what} with its options (- conv2d: {{filters: 6, kernel: 5}}), "
                               "a bare name (- flatten), the main option alone (- dense: 120), or the long "
                               "form {kind: conv2d, filters: 6}; beside the kind: " + ", ".join(ITEM_KEYS),
                "anyOf": alts}

    def item(self, strict: bool) -> dict[str, Any]:
        """``- conv2d: {...}`` with ``name``, ``from``, ... beside: one object whose properties are every kind
        (so an editor completes them with their docs) and the item keys; exactly one kind key."""
        props: dict[str, Any] = {}
        names = []
        for kind in layer_kinds():
            for name in (kind, *aliases_of(kind)):
                props[name] = {"$ref": self.value_ref(kind, strict)}
                names.append(name)
        return {"type": "object", "description": "a layer: - kind: options, with " + ", ".join(ITEM_KEYS) + " beside",
                "properties": {**props, **self.beside()}, "additionalProperties": False,
                "oneOf": [{"required": [name]} for name in names]}

    def long_form(self, strict: bool) -> dict[str, Any]:
        """``{kind: conv2d, filters: 6, ...}``: the kind's options apply once ``kind`` names it."""
        return {"type": "object", "description": "a layer in the long form: {kind: conv2d, filters: 6}",
                "required": ["kind"], "properties": {"kind": {"enum": all_kind_names(), "description": "layer kind"}},
                "allOf": [{"if": {"required": ["kind"], "properties": {"kind": {"enum": [kind, *aliases_of(kind)]}}},
                           "then": {"$ref": self.options_ref(kind, strict)}} for kind in layer_kinds()]}

    def kind_names(self) -> dict[str, Any]:
        """Kinds that may stand alone (no required option): ``- flatten``."""
        names, docs = [], []
        for kind in layer_kinds():
            if not self.defs_for(kind, False).get("required"):
                for name in (kind, *aliases_of(kind)):
                    names.append(name)
                    docs.append(self.kind_doc(kind))
        return {"type": "string", "enum": names, "enumDescriptions": docs,
                "description": "a layer kind without options"}

    def block_use(self) -> dict[str, Any]:
        beside = self.beside()
        kinds = [*all_kind_names(), "kind"]
        return {
            "type": "object", "description": "a block used as a layer: - bottleneck: {width: 128, stride: 2}",
            "propertyNames": {"not": {"enum": kinds}},
            "not": {"propertyNames": {"enum": list(ITEM_KEYS)}},  # at least one key is the block's name
            "properties": beside,
            "additionalProperties": {"anyOf": [{"type": "object", "description": "the block's arguments"},
                                               {"type": "null"}]},
        }

    def block_def(self) -> dict[str, Any]:
        opts = self.defs_for(Residual.KIND, False)["properties"]
        props: dict[str, Any] = {
            "description": {"type": "string", "description": "what the block is (shown in diagrams)"},
            "params": {"type": "object", "description": _KEYS["params"],
                       "propertyNames": {"pattern": _NAME}},
            Residual.KIND: {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Expression"}], "default": False,
                            "description": f"add the block's input to its output: {_doc(Residual)} An expression "
                                           "decides it per use: ${stride == 1 and in.channels == out}"},
        }
        for key in BLOCK_OPTIONS:
            props[key] = opts[key]
        props["layers"] = {"type": "array", "items": {"$ref": "#/$defs/Layer"}, "description": _KEYS["layers"]}
        if set(props) != set(BLOCK_KEYS) | {"layers"}:
            raise RuntimeError(f"frontends.keys and the schema disagree on a block's keys: {sorted(props)}")
        return {"type": "object", "description": "a block definition", "properties": props, "required": ["layers"],
                "additionalProperties": False}

    # --- networks -----------------------------------------------------------------------------------
    def input(self) -> dict[str, Any]:
        return {"description": _KEYS["input"], "anyOf": [
            {"$ref": "#/$defs/Shape"},
            {"type": "string", "description": "another network's output: 'net' or 'net.output'"},
            {"$ref": "#/$defs/InputSpec"}]}

    def network_props(self) -> dict[str, Any]:
        from netspec.spec.model import Network

        described = {(f.alias or n): f.description for n, f in Network.model_fields.items()}
        props: dict[str, Any] = {}
        for key in NETWORK_KEYS:
            text = _KEYS.get(key) or described.get(key)
            if key == "input":
                props[key] = self.input()
            elif key == "inputs":
                props[key] = {"type": "object", "description": text, "minProperties": 1,
                              "propertyNames": {"pattern": _NAME}, "additionalProperties": self.input()}
            elif key == "outputs":
                props[key] = {"description": text, "anyOf": [
                    {"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
            elif key == "layers":
                props[key] = {"type": "array", "items": {"$ref": "#/$defs/Layer"}, "minItems": 1,
                              "description": text}
            elif key == "expect":
                props[key] = {"$ref": "#/$defs/Expect", "description": text}
            else:
                props[key] = {"type": "string", "description": text or key}
        return props

    @staticmethod
    def one_input() -> dict[str, Any]:
        return {"if": {"required": ["input"]}, "then": {"properties": {"inputs": _forbidden(
            "give either 'input' or 'inputs', not both")}}}

    # --- train: -------------------------------------------------------------------------------------
    def train(self) -> None:
        """``task: vae``, ``optimizer: adam``, ``data: digits`` (or a file) mean ``{name: ...}``."""
        conf = self.defs["TrainConfig"]
        for key, prop in conf["properties"].items():
            target = prop.get("$ref", "").rsplit("/", 1)[-1]
            part = self.defs.get(target)
            if not part or "name" not in part.get("properties", {}):
                continue
            alts = [{"$ref": prop["$ref"]}, {k: v for k, v in part["properties"]["name"].items() if k != "default"}]
            if "path" in part["properties"]:
                alts.append({"type": "string", "description": "a file or folder (its kind guessed from the name)"})
            conf["properties"][key] = {**{k: v for k, v in prop.items() if k != "$ref"}, "anyOf": alts}

    # --- the whole ----------------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        for strict in (False, True):
            kinds = [kind for kind, cls in layer_kinds().items() if cls.CHILDREN or not strict]
            for kind in kinds:
                self.defs[self.name(kind, strict)] = self.options(kind, strict)
            for kind in kinds:
                self.defs[self.name(kind, strict, "Value")] = self.value(kind, strict)
            self.defs[f"Layer{self.variant(strict)}"] = self.item_union(strict)
            self.defs[f"LayerItem{self.variant(strict)}"] = self.item(strict)
            self.defs[f"LayerLongForm{self.variant(strict)}"] = self.long_form(strict)
        self.defs["Expression"] = _EXPR
        self.defs["KindName"] = self.kind_names()
        self.defs["BlockName"] = {"type": "string", "pattern": _NAME, "not": {"enum": all_kind_names()},
                                  "description": "a block (defined under blocks:) used without arguments"}
        self.defs["BlockUse"] = self.block_use()
        self.defs["BlockDefinition"] = self.block_def()
        self.defs["Shape"] = {"type": "array", "minItems": 1, "maxItems": 8, "description": "per-sample shape",
                              "items": {"anyOf": [{"type": "integer", "minimum": 1},
                                                  {"type": "string", "pattern": _NAME}]}}
        self.defs["Network"] = {"type": "object", "description": "one network", "additionalProperties": False,
                                "properties": self.network_props(), **self.one_input()}
        self.train()
        spec_props = self.spec["properties"]
        props: dict[str, Any] = {}
        net = self.network_props()
        for key in TOP_KEYS:
            if key in net:
                props[key] = net[key]
            elif key == "blocks":
                props[key] = {"type": "object", "description": _KEYS["blocks"],
                              "propertyNames": {"pattern": _NAME, "not": {"enum": all_kind_names()}},
                              "additionalProperties": {"$ref": "#/$defs/BlockDefinition"}}
            elif key == "imports":
                props[key] = {"type": "array", "description": _KEYS["imports"], "maxItems": MAX_IMPORTS,
                              "items": {"type": "string", "minLength": 1, "pattern": r"\.(ya?ml|ns)$"}}
            elif key == "networks":
                props[key] = {"type": "object", "description": _KEYS["networks"], "minProperties": 1,
                              "propertyNames": {"pattern": _NAME}, "additionalProperties": {"$ref": "#/$defs/Network"}}
            else:
                props[key] = _described(_rewrite(spec_props[key], _portable), _KEYS.get(key))
        strict = {"properties": {"layers": {"items": {"$ref": f"#/$defs/Layer{_STRICT}"}},
                                 "networks": {"additionalProperties": {
                                     "properties": {"layers": {"items": {"$ref": f"#/$defs/Layer{_STRICT}"}}}}}}}
        in_networks = {"properties": {k: _forbidden(f"'{k}' belongs inside a network when 'networks:' is used")
                                      for k in NETWORK_KEYS if k in TOP_KEYS and k != "description"}}
        return {
            "$schema": SCHEMA_DIALECT,
            "title": "netspec spec (version 1)",
            "description": "A netspec spec as written: one network (input + layers) or several (networks:), "
                           "reusable blocks, pinned numbers (expect:) and a training recipe (train:).",
            "type": "object",
            "properties": props,
            "additionalProperties": False,
            "allOf": [
                self.one_input(),
                {"if": {"required": ["networks"]}, "then": in_networks},  # those belong inside each network
                # no blocks, defined or imported: every layer is a kind
                {"if": {"not": {"anyOf": [{"required": ["blocks"]}, {"required": ["imports"]}]}}, "then": strict},
            ],
            "$defs": dict(sorted(self.defs.items())),
        }


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec language as users write it (shorthands, blocks, repeat, several networks,
    ``expect:``, ``train:``), generated from the layer registry: hover text and defaults come from each
    kind's fields, and the layer kinds and their options are enumerated for completion."""
    import json

    return json.loads(json.dumps(_Schema().build()))
