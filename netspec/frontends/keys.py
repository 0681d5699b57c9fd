"""The raw tree's own keys: those of a spec file, a network and a block library, and, derived from the layer
classes, what a layer item and a block definition hold besides a kind's options. The readers (YAML, DSL),
the writers and the expander all read them here.

A layer item is ``{kind: options}`` plus :data:`ITEM_KEYS`; a block definition is a group of layers that
may be residual, so it takes what a :class:`~netspec.layers.structure.Residual` takes.
"""

from __future__ import annotations

from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import Layer, field_names
from netspec.layers.structure.base_group import Group
from netspec.layers.structure.residual import Residual

# A spec file: its top-level keys, a network's, a block library's (a file other specs import holds blocks only:
# no network, no expect, no train) and those that make a file more than a library.
IMPORTS_KEY = "imports"  # the block libraries a spec imports (the DSL's `import "file"` lines make it too)
TOP_KEYS = ("netspec", "name", "description", IMPORTS_KEY, "input", "inputs", "outputs", "layers", "blocks",
            "networks", "expect", "train")
NETWORK_KEYS = ("description", "input", "inputs", "outputs", "layers", "expect")
LIBRARY_KEYS = ("netspec", "name", "description", IMPORTS_KEY, "blocks")
NETWORK_MARKERS = ("input", "inputs", "layers", "networks")

REPEAT = "repeat"  # `repeat: n` on a layer item: n copies in a group (netspec.spec.expand expands it)
IF = "if"  # `if: EXPR` on a layer item: the item is left out when false (netspec.spec.expand decides it)
ITEM_KEYS: tuple[str, ...] = (*Layer.common_keys(), REPEAT, IF)  # name, from, trainable, init, ..., repeat, if

# A block definition: its layer lists, the flag that makes it residual (`residual: true`, the kind's
# own name) and the residual options (layers, shortcut, projection_norm, activation).
BLOCK_CHILDREN: dict[str, int] = dict(Residual.CHILDREN)
BLOCK_OPTIONS: tuple[str, ...] = tuple(k for k in field_names(Residual) if k not in field_names(Group))
BLOCK_KEYS: tuple[str, ...] = ("description", "params", Residual.KIND, *BLOCK_OPTIONS)


def kind_class(key: str) -> type[Layer] | None:
    """The layer class an item's key names (a kind or an alias); None for anything else (a block)."""
    canon = canonical_kind(key)
    return layer_class(canon) if canon else None
