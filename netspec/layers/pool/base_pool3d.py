"""The options of the 3-D pools (three sizes per option)."""

from typing import ClassVar

from pydantic import Field

from netspec.layers.conv.window import IntTriple, PadTriple
from netspec.layers.pool.base_pool import PoolBase


class Pool3dBase(PoolBase):
    """Max/average pooling over (C, D, H, W): sizes are one value or three."""

    N: ClassVar[int] = 3

    kernel: IntTriple = 2
    stride: IntTriple | None = Field(default=None, description="default: the kernel size")
    padding: PadTriple = 0
