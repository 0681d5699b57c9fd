"""The torch half of the recurrent family: modules PyTorch lacks. Imported only by ``build`` (it imports torch).

Sequences are batch-first ``(N, T, F)`` in torch. """

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn
from torch.utils._python_dispatch import is_in_torch_dispatch_mode


@contextlib.contextmanager
def _countable() -> Iterator[None]:
    """Run the RNN kernels on their decomposed path while a dispatch mode (a FLOP counter) watches.

    On CPU, ``aten::lstm`` dispatches to the fused oneDNN kernel ``mkldnn_rnn_layer``, which
    ``torch.utils.flop_counter`` does not count; with oneDNN off for the call the same LSTM runs as
    matrix products that it does count. Outside a dispatch mode nothing changes.
    """
    if not is_in_torch_dispatch_mode() or not torch._C._get_mkldnn_enabled():
        yield
        return
    torch._C._set_mkldnn_enabled(False)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(True)


def _state_in(state: torch.Tensor) -> torch.Tensor:
    """A per-sample state (N, layers·directions, H), or (N, H), to torch's (layers·directions, N, H)."""
    if state.dim() == 2:
        return state.unsqueeze(0).contiguous()
    return state.transpose(0, 1).contiguous()


def _merge(a: torch.Tensor, b: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    if mode == "sum":
        return a + b
    if mode == "mean":
        return (a + b) / 2
    return a * b


def _finish(rnn: nn.RNNBase, out: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The layer's main output from torch's (output, h_n): every step, or the last step of each direction."""
    hsz = rnn.hidden_size
    if rnn.return_sequences:
        if not rnn.bidirectional or rnn.merge == "concat":
            return out
        return _merge(out[..., :hsz], out[..., hsz:], rnn.merge)
    if not rnn.bidirectional:
        return h[-1]
    # The backward direction's last step is its state after reading x_0, i.e. h_n, not out[:, -1].
    return _merge(h[-2], h[-1], rnn.merge)


def _with_netspec_outputs(base: type[nn.RNNBase]) -> type[nn.RNNBase]:
    """``base`` (nn.RNN or nn.GRU), batch-first, returning netspec's outputs; parameter names stay torch's."""

    class Recurrent(base):  # type: ignore[valid-type, misc]
        def __init__(self, input_size: int, hidden_size: int, *, return_sequences: bool = False,
                     return_state: bool = False, merge: str = "concat", **kwargs: object) -> None:
            super().__init__(input_size, hidden_size, batch_first=True, **kwargs)  # type: ignore[arg-type]
            self.return_sequences, self.return_state, self.merge = return_sequences, return_state, merge

        def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None):  # type: ignore[override]
            with _countable():
                out, h = super().forward(x, None if h0 is None else _state_in(h0))
            y = _finish(self, out, h)
            return (y, h.transpose(0, 1)) if self.return_state else y

    Recurrent.__name__ = Recurrent.__qualname__ = base.__name__
    return Recurrent


RNN = _with_netspec_outputs(nn.RNN)
GRU = _with_netspec_outputs(nn.GRU)


class LSTM(nn.LSTM):
    """``nn.LSTM`` (batch-first) returning netspec's outputs; parameter names stay torch's.

    ``forward(x, h0=None, c0=None)``: a missing ``c0`` starts at zero.
    """

    def __init__(self, input_size: int, hidden_size: int, *, return_sequences: bool = False,
                 return_state: bool = False, merge: str = "concat", **kwargs: object) -> None:
        super().__init__(input_size, hidden_size, batch_first=True, **kwargs)  # type: ignore[arg-type]
        self.return_sequences, self.return_state, self.merge = return_sequences, return_state, merge

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None,  # type: ignore[override]
                c0: torch.Tensor | None = None):
        state = None
        if h0 is not None:
            h0 = _state_in(h0)
            state = (h0, torch.zeros_like(h0) if c0 is None else _state_in(c0))
        with _countable():
            out, (h, c) = super().forward(x, state)
        y = _finish(self, out, h)
        return (y, h.transpose(0, 1), c.transpose(0, 1)) if self.return_state else y
