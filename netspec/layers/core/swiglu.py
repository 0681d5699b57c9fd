from typing import ClassVar, Literal

from pydantic import Field

from netspec.layers.activations import ActivationName
from netspec.layers.base import register_layer
from netspec.layers.core.glu import GLU


@register_layer("swiglu")
class SwiGLU(GLU):
    """SwiGLU on a fused projection: ``silu(first half) ⊗ second half`` of ``axis``, which halves.

    Shazeer 2020's ``Swish(xW) ⊗ xV`` with W and V stacked in one ``dense`` of twice the hidden width
    before it. The FIRST half is the gate, as in fused gate/up projections (Megatron-LM's ``swiglu``,
    LLaMA's ``w1`` then ``w3``); note that torch's GLU gates the second half."""

    EXAMPLES: ClassVar = [({}, [(8,)]), ({"axis": 0}, [(4, 3, 3)]), ({}, [("T", 6)])]

    gate: ActivationName = Field(default="silu", description="the activation of the gate half")  # type: ignore[valid-type]
    gate_half: Literal["first", "second"] = Field(default="first", description="which half is the gate")
