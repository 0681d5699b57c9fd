"""Every layer kind, found through one registry.

The family modules are listed here explicitly (no discovery by reflection). Each kind validates its own items (``loader.validate_layers`` dispatches on ``kind``), so a spec only
builds the validators of the kinds it uses.
"""

from __future__ import annotations

from netspec.layers import (conv, core, energy, generative, local, merge, norm, pool, recurrent,  # noqa: F401
                            recursive, sequence, structure)  # (registers kinds)
from netspec.layers.base import (ACTIVATIONS, Ctx, Layer, TensorType, canonical_kind, field_names, layer_class,
                                 layer_kinds, register_layer)

__all__ = ["ACTIVATIONS", "Ctx", "Layer", "TensorType", "canonical_kind", "field_names", "layer_class",
           "layer_kinds", "register_layer"]
