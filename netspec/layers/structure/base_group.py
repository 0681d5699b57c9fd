"""The base of the structure kinds."""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import Ref
from netspec.layers.base import Composer, Layer


class Group(Layer):
    """Base of structure kinds."""

    FAMILY: ClassVar[str] = "structure"
    COMPOSITE: ClassVar[bool] = True
    TOPOLOGY: ClassVar[str] = "chain"  # how children are wired: chain, skip (+ shortcut) or branches
    block: str | None = Field(default=None, description="the block definition this group instantiates")
    args: dict[str, Any] | None = Field(default=None, description="the block's arguments (for display)")

    def label(self) -> str:
        if self.block:
            shown = ", ".join(f"{k}={v}" for k, v in (self.args or {}).items())
            return f"{self.block}({shown})" if shown else self.block
        return self.KIND

    def compose(self, builder: Composer, scope: Any, ins: list[Ref]) -> Ref:
        raise NotImplementedError
