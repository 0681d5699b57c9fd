"""torch modules of the recurrent, sequence, generative, local, energy and recursive layer families.

Imported only by those layers' ``build`` methods (it imports torch). Per-sample shapes follow netspec's
convention; in torch every tensor has a leading batch axis and sequences are batch-first ``(N, T, F)``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils._python_dispatch import is_in_torch_dispatch_mode

from netspec.torch_ops import activation_fn

# --- recurrent --------------------------------------------------------------------------------------


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


# --- sequence plumbing ------------------------------------------------------------------------------


class Permute(nn.Module):
    """Reorder the per-sample axes (the batch axis stays first)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.dims)).contiguous()

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class RepeatVector(nn.Module):
    """(N, F) → (N, n, F)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1).contiguous()

    def extra_repr(self) -> str:
        return f"n={self.n}"


class SequencePool(nn.Module):
    """Reduce the time axis (dim 1) by the last or first step, the mean or the max."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "last":
            return x[:, -1]
        if self.mode == "first":
            return x[:, 0]
        if self.mode == "mean":
            return x.mean(dim=1)
        return x.amax(dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


class TimeDistributed(nn.Module):
    """Apply ``layers`` (with their activations) to every step: (N, T, ...) → (N·T, ...) → (N, T, ...)."""

    def __init__(self, layers: list[nn.Module], activations: list[str | None]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.activations = list(activations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        y = x.reshape(n * t, *x.shape[2:])
        for layer, act in zip(self.layers, self.activations):
            y = layer(y)
            if act is not None:
                fn, kwargs = activation_fn(act)
                y = fn(y, **kwargs)
        return y.reshape(n, t, *y.shape[1:])


# --- generative -------------------------------------------------------------------------------------


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise in training; identity in eval."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            return x + torch.randn_like(x) * self.std
        return x

    def extra_repr(self) -> str:
        return f"std={self.std}"


def kl_sparsity(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j) between Bernoulli distributions (sparse autoencoders)."""
    rho_hat = rho_hat.clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class ActivityRegularization(nn.Module):
    """Identity; in training ``aux_loss`` = weight · (l1 | l2 | kl sparsity) of the activations."""

    def __init__(self, penalty: str, weight: float, rho: float) -> None:
        super().__init__()
        self.penalty, self.weight, self.rho = penalty, weight, rho
        self.aux_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            self.aux_loss = None
            return x
        flat = x.flatten(1)
        if self.penalty == "l1":
            term = flat.abs().sum(1).mean()
        elif self.penalty == "l2":
            term = flat.pow(2).sum(1).mean()
        else:
            term = kl_sparsity(self.rho, flat.mean(0))
        self.aux_loss = self.weight * term
        return x

    def extra_repr(self) -> str:
        return f"penalty={self.penalty}, weight={self.weight}" + (f", rho={self.rho}" if self.penalty == "kl" else "")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over units, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).flatten(1).sum(1).mean()


class Sample(nn.Module):
    """VAE reparameterization ``z = μ + exp(½ log σ²)·ε``; ``aux_loss`` = beta · KL in training."""

    def __init__(self, beta: float = 1.0, at_eval: str = "mean") -> None:
        super().__init__()
        self.beta, self.at_eval = beta, at_eval
        self.aux_loss: torch.Tensor | None = None

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.aux_loss = self.beta * gaussian_kl(mu, logvar)
        else:
            self.aux_loss = None
        if self.training or self.at_eval == "sample":
            return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return mu

    def extra_repr(self) -> str:
        return f"beta={self.beta}, at_eval={self.at_eval}"


# --- unshared convolutions --------------------------------------------------------------------------


def _uniform_(t: torch.Tensor, fan_in: int) -> None:
    bound = 1.0 / fan_in ** 0.5
    nn.init.uniform_(t, -bound, bound)


class LocallyConnected2d(nn.Module):
    """Unshared convolution via unfold: ``out[n, o, l] = Σ_j W[l, o, j] · cols[n, j, l] + b[o, l]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], out_size: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding, self.out_size = kernel, stride, padding, out_size
        ho, wo = out_size
        self.weight = nn.Parameter(torch.empty(ho, wo, out_channels, in_channels, *kernel))
        self.bias = nn.Parameter(torch.empty(out_channels, ho, wo)) if bias else None
        fan_in = in_channels * kernel[0] * kernel[1]
        _uniform_(self.weight, fan_in)
        if self.bias is not None:
            _uniform_(self.bias, fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ho, wo, o = self.weight.shape[:3]
        cols = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # (N, C·kh·kw, L)
        w = self.weight.reshape(ho * wo, o, -1)  # (L, O, C·kh·kw), same (c, i, j) order as unfold
        out = torch.einsum("njl,loj->nol", cols, w).reshape(x.shape[0], o, ho, wo)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, out_size={self.out_size}"


class TiledConv2d(nn.Module):
    """Tiled convolution via unfold: output (i, j) uses kernel ``(i mod th, j mod tw)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], tile: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding, self.tile = kernel, stride, padding, tile
        self.weight = nn.Parameter(torch.empty(*tile, out_channels, in_channels, *kernel))
        self.bias = nn.Parameter(torch.empty(*tile, out_channels)) if bias else None
        fan_in = in_channels * kernel[0] * kernel[1]
        _uniform_(self.weight, fan_in)
        if self.bias is not None:
            _uniform_(self.bias, fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        th, tw, o = self.weight.shape[:3]
        ho = (x.shape[2] + 2 * self.padding[0] - self.kernel[0]) // self.stride[0] + 1
        wo = (x.shape[3] + 2 * self.padding[1] - self.kernel[1]) // self.stride[1] + 1
        cols = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride).reshape(n, -1, ho, wo)
        out = x.new_zeros(n, o, ho, wo)
        for a in range(min(th, ho)):
            for b in range(min(tw, wo)):
                # Every position with i ≡ a (mod th), j ≡ b (mod tw) uses kernel (a, b): one product.
                y = torch.einsum("njhw,oj->nohw", cols[:, :, a::th, b::tw], self.weight[a, b].reshape(o, -1))
                if self.bias is not None:
                    y = y + self.bias[a, b].reshape(1, o, 1, 1)
                out[:, :, a::th, b::tw] = y
        return out

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, tile={self.tile}"


# --- energy-based and recursive ---------------------------------------------------------------------


class RBM(nn.Module):
    """Restricted Boltzmann machine with binary units; forward gives ``p(h = 1 | v)``.

    For contrastive divergence (CD-k): ``cd_loss(v, k)`` is a surrogate whose gradient is the CD-k
    estimate, ``F(v) − F(v_k)`` averaged over the batch, with ``v_k`` after k Gibbs steps.
    """

    def __init__(self, visible: int, hidden: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, visible) * 0.01)
        self.v_bias = nn.Parameter(torch.zeros(visible))
        self.h_bias = nn.Parameter(torch.zeros(hidden))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.weight, self.h_bias))

    def sample_h(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(p(h | v), a binary sample of h)."""
        p = self.forward(v)
        return p, torch.bernoulli(p)

    def sample_v(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(p(v | h) = σ(Wᵀh + v_bias), a binary sample of v)."""
        p = torch.sigmoid(F.linear(h, self.weight.t(), self.v_bias))
        return p, torch.bernoulli(p)

    def gibbs(self, v: torch.Tensor, k: int = 1) -> torch.Tensor:
        """The visible sample after k steps v → h → v."""
        for _ in range(k):
            _, h = self.sample_h(v)
            _, v = self.sample_v(h)
        return v

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = −v·v_bias − Σ_j softplus(W_j v + h_bias_j)`` per sample."""
        return -(v @ self.v_bias) - F.softplus(F.linear(v, self.weight, self.h_bias)).sum(-1)

    def cd_loss(self, v: torch.Tensor, k: int = 1) -> torch.Tensor:
        """Surrogate loss for CD-k: its gradient is the contrastive-divergence update."""
        vk = self.gibbs(v, k).detach()
        return (self.free_energy(v) - self.free_energy(vk)).mean()


class Recursive(nn.Module):
    """One cell over a binary tree: ``leaves (N, L, F)``, ``tree (N, L − 1, 2)`` child indices."""

    def __init__(self, features: int, nonlinearity: str = "tanh", bias: bool = True, output: str = "root") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features, 2 * features))
        self.bias = nn.Parameter(torch.empty(features)) if bias else None
        self.nonlinearity, self.output = nonlinearity, output
        _uniform_(self.weight, 2 * features)
        if self.bias is not None:
            _uniform_(self.bias, 2 * features)

    def forward(self, leaves: torch.Tensor, tree: torch.Tensor) -> torch.Tensor:
        if tree.shape[1] != leaves.shape[1] - 1:
            raise ValueError(f"a binary tree over {leaves.shape[1]} leaves has {leaves.shape[1] - 1} internal nodes, "
                             f"got tree rows {tree.shape[1]}")
        fn, kwargs = activation_fn(self.nonlinearity)
        rows = torch.arange(leaves.shape[0], device=leaves.device)
        nodes = leaves
        for i in range(tree.shape[1]):
            # Children must be earlier nodes: an index >= L + i is out of range here and raises.
            pair = torch.cat([nodes[rows, tree[:, i, 0]], nodes[rows, tree[:, i, 1]]], dim=-1)
            parent = fn(F.linear(pair, self.weight, self.bias), **kwargs)
            nodes = torch.cat([nodes, parent.unsqueeze(1)], dim=1)
        return nodes[:, -1] if self.output == "root" else nodes

    def extra_repr(self) -> str:
        return f"features={self.weight.shape[0]}, nonlinearity={self.nonlinearity}, output={self.output}"
