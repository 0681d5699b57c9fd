"""The options of the 1-D pools (one size per option)."""

from typing import ClassVar

from pydantic import Field

from netspec.layers.base import sizes
from netspec.layers.pool.base_pool import PoolBase


class Pool1dBase(PoolBase):
    """Max/average pooling over (C, L): sizes are one value (or a list of one), as ``nn.MaxPool1d`` takes."""

    N: ClassVar[int] = 1

    kernel: sizes(1) = 2  # type: ignore[valid-type]
    stride: sizes(1) | None = Field(default=None, description="default: the kernel size")  # type: ignore[valid-type]
    padding: sizes(1, low=0) = 0  # type: ignore[valid-type]
