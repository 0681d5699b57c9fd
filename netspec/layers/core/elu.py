from typing import Any

from pydantic import Field

from netspec.layers.base import Float, register_layer
from netspec.layers.core.activation import Activation


@register_layer("elu")
class ELU(Activation):
    """``x`` if positive, else ``alpha·(eˣ − 1)``."""

    alpha: Float = Field(default=1.0, gt=0.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.alpha}
