from typing import Any

from pydantic import Field

from netspec.layers.base import Float, register_layer
from netspec.layers.core.activation import Activation


@register_layer("leaky_relu")
class LeakyReLU(Activation):
    """``max(x, slope·x)``."""

    slope: Float = Field(default=0.01, ge=0.0, le=1.0)

    def torch_kwargs(self) -> dict[str, Any]:
        return {"negative_slope": self.slope}

    def label(self) -> str:
        return f"leaky_relu {self.slope:g}"
