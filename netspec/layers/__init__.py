"""Every layer kind, found through one registry.

The family modules are listed here explicitly (no discovery by reflection). ``AnyLayer`` is the
pydantic union of all registered kinds, discriminated by the canonical ``kind`` key.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag

from netspec.layers import conv, core, merge, norm, pool, structure  # noqa: F401  (registers kinds)
from netspec.layers.base import (ACTIVATIONS, Ctx, Layer, TensorType, canonical_kind, field_names, layer_class,
                                 layer_kinds, register_layer)


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("kind")
    return getattr(value, "kind", None)


def _any_layer() -> Any:
    members = tuple(Annotated[cls, Tag(kind)] for kind, cls in layer_kinds().items())
    return Annotated[Union[members], Discriminator(_kind_of)]  # type: ignore[valid-type]


AnyLayer = _any_layer()
for _cls in layer_kinds().values():
    if _cls.CHILDREN:
        _cls.model_rebuild(_types_namespace={"AnyLayer": AnyLayer})

__all__ = ["ACTIVATIONS", "AnyLayer", "Ctx", "Layer", "TensorType", "canonical_kind", "field_names", "layer_class",
           "layer_kinds", "register_layer"]
