"""The base of the structure kinds."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.types import Ref
from netspec.layers.base import Composer, Layer, option_error


class Group(Layer):
    """Base of structure kinds."""

    FAMILY: ClassVar[str] = "structure"
    COMPOSITE: ClassVar[bool] = True
    TOPOLOGY: ClassVar[str] = "chain"  # how children are wired: chain, skip (+ shortcut) or branches
    block: str | None = Field(default=None, description="the block definition this group instantiates")
    args: dict[str, Any] | None = Field(default=None, description="the block's arguments (for display)")

    @model_validator(mode="after")
    def _no_sharing(self) -> "Group":
        # A group has no parameters of its own: sharing or tying one would silently do nothing.
        for option in ("share", "tie"):
            if getattr(self, option) is not None:
                raise option_error(option, f"'{option}' applies to a layer with parameters, not to a block use "
                                   "or a group: write it on the layers inside it", getattr(self, option))
        return self

    def label(self) -> str:
        if self.block:
            shown = ", ".join(f"{k}={v}" for k, v in (self.args or {}).items())
            return f"{self.block}({shown})" if shown else self.block
        return self.KIND

    def compose(self, builder: Composer, scope: Any, ins: list[Ref]) -> Ref:
        raise NotImplementedError
