"""The vocabulary: every layer kind, one class per kind, one file per family, found through one registry.

The family modules are listed in ``index.FAMILIES`` (no discovery by reflection) and imported on
first use: looking a kind up imports its family (``index.KINDS`` says which), so a spec builds only
the pydantic validators of the kinds it uses. The torch half of a family, where PyTorch lacks the
module, is its twin in ``layers/torch/`` and is imported only by ``build``.
"""

from netspec.layers.base import canonical_kind, layer_class, layer_kinds, register_layer

__all__ = ["canonical_kind", "layer_class", "layer_kinds", "register_layer"]
