from typing import Any, ClassVar, Literal

from netspec.layers.base import register_layer
from netspec.layers.recurrent.base_rnn import RecurrentBase


@register_layer("rnn", aliases=("simple_rnn", "simplernn"))
class RNN(RecurrentBase):
    """Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` (tanh or relu)."""

    EXAMPLES: ClassVar = [
        ({"units": 5}, [(3, 4)]),
        ({"units": 6, "nonlinearity": "relu", "return_sequences": True, "layers": 2, "dropout": 0.1}, [(4, 3)]),
        ({"units": 4, "bidirectional": True, "merge": "sum", "return_sequences": True}, [(5, 3)]),
        ({"units": 4, "return_state": True}, [(3, 2), (1, 4)]),
        ({"units": 5, "bias": False}, [("T", 3)]),
    ]

    nonlinearity: Literal["tanh", "relu"] = "tanh"

    def torch_kwargs(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}

    def torch_class(self) -> Any:
        from netspec.layers.torch.recurrent import RNN

        return RNN
