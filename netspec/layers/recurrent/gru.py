from typing import Any, ClassVar

from netspec.layers.base import register_layer
from netspec.layers.recurrent.base_rnn import RecurrentBase


@register_layer("gru")
class GRU(RecurrentBase):
    """Gated recurrent unit (reset, update and new gates: G = 3)."""

    GATES: ClassVar[int] = 3
    EXAMPLES: ClassVar = [
        ({"units": 5}, [(3, 4)]),
        ({"units": 4, "bidirectional": True, "layers": 2, "return_sequences": True}, [(6, 3)]),
        ({"units": 3, "bidirectional": True, "return_state": True, "merge": "mean"}, [(4, 2), (2, 3)]),
        ({"units": 3, "return_sequences": True}, [("T", 5)]),
    ]

    def torch_class(self) -> Any:
        from netspec.layers.torch.recurrent import GRU

        return GRU
