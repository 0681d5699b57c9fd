from typing import Any, ClassVar

from netspec.layers.base import register_layer
from netspec.layers.recurrent.base_rnn import RecurrentBase


@register_layer("lstm")
class LSTM(RecurrentBase):
    """Long short-term memory (input, forget, cell and output gates: G = 4)."""

    GATES: ClassVar[int] = 4
    STATES: ClassVar[tuple[str, ...]] = ("h", "c")
    ARITY: ClassVar[int | None] = 3
    EXAMPLES: ClassVar = [
        ({"units": 8}, [(10, 6)]),
        ({"units": 5, "layers": 3, "dropout": 0.2, "return_sequences": True}, [(4, 3)]),
        ({"units": 4, "bidirectional": True}, [(5, 3)]),
        ({"units": 4, "bidirectional": True, "merge": "mul", "return_sequences": True}, [(5, 3)]),
        ({"units": 4, "return_state": True, "layers": 2}, [(3, 2)]),
        ({"units": 4, "return_sequences": True}, [(3, 2), (1, 4), (1, 4)]),
        ({"units": 4}, [(3, 2), (4,)]),
        ({"units": 6, "return_sequences": True}, [("T", 4)]),
    ]

    def torch_class(self) -> Any:
        from netspec.layers.torch.recurrent import LSTM

        return LSTM
