"""The vocabulary: every layer kind, one class per kind, one file per family, found through one registry.

Importing this package registers every family, listed here explicitly (no discovery by reflection),
in the order the docs list them. Each kind validates its own items (``spec.load`` dispatches on
``kind``), so a spec builds only the validators of the kinds it uses. The torch half of a family,
where PyTorch lacks the module, is its twin in ``layers/torch/`` and is imported only by ``build``.
"""

from __future__ import annotations

from netspec.layers import (  # noqa: F401
                            activations,
                            conv,
                            core,
                            energy,
                            generative,
                            local,
                            merge,
                            norm,
                            pool,
                            recurrent,  # (registers kinds)
                            recursive,
                            sequence,
                            structure,
)
from netspec.layers.base import canonical_kind, layer_class, layer_kinds, register_layer

__all__ = ["canonical_kind", "layer_class", "layer_kinds", "register_layer"]
