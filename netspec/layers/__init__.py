"""The vocabulary: every layer kind, one class per kind, one file per family, found through one registry.

Importing this package registers every family, listed here explicitly (no discovery by reflection).
Each kind validates its own items (``spec.load`` dispatches on ``kind``), so a spec builds only the
validators of the kinds it uses. The torch half of a family, where PyTorch lacks the module, is its
twin in ``layers/torch/`` and is imported only by ``build``.
"""

from __future__ import annotations

# isort: off
from netspec.layers import conv, core, energy, generative, local, merge, norm, pool  # noqa: F401 (registers kinds)
from netspec.layers import recurrent, recursive, sequence, structure  # noqa: F401
from netspec.layers import attention, tensors  # noqa: F401
# isort: on
from netspec.layers.base import canonical_kind, layer_class, layer_kinds, register_layer

__all__ = ["canonical_kind", "layer_class", "layer_kinds", "register_layer"]
