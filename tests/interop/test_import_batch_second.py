"""torch in: PyTorch's ``batch_first=False`` attention and Transformer layers, between ``x.transpose(0, 1)`` and
its transpose back (or a mean over dim 0, or the step ``y[0]``): the transposes are no layers, the layers
between them batch-first ones, and the spec computes the model's function on the model's own state dict.
Every model is built here in torch; its outputs and parameter counts are torch's at run time."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import netspec
from netspec.interop.importer import NotImportable, import_model


def imported(model: nn.Module, shape: list[int]) -> tuple[nn.Module, dict]:
    done = import_model(model, shape, name="m")
    imported.text = done.text
    report = netspec.check(done.text)
    assert report.ok and report.graph.network().params == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(done.text, weights=model.state_dict()).eval()
    assert mine.netspec_weights.complete and {how for *_, how in mine.netspec_weights.loaded} <= {"name"}
    return mine, done.spec


def outputs(mine: nn.Module, model: nn.Module, shape: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        return mine(x), model.eval()(x)


class Encoder(nn.Module):
    """The PyTorch tutorials' layout: sequences (T, N, E) through a batch_first=False encoder."""

    def __init__(self, read: str, norm_first: bool = False) -> None:
        super().__init__()
        self.read = read
        self.proj = nn.Linear(6, 16)
        layer = nn.TransformerEncoderLayer(16, 4, 32, norm_first=norm_first)  # batch_first=False: PyTorch's default
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(torch.relu(self.proj(x)).transpose(0, 1))
        if self.read == "steps":
            return self.head(h.transpose(0, 1))
        if self.read == "permute":
            return self.head(h.permute(1, 0, 2))
        return self.head(h[0] if self.read == "first" else h[-1] if self.read == "last" else h.mean(dim=0))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("read", ["steps", "permute", "first", "last"])
def test_a_batch_first_false_encoder_between_transposes_is_the_same_function(read, norm_first):
    torch.manual_seed(0)
    model = Encoder(read, norm_first)
    mine, spec = imported(model, [5, 6])
    ours, theirs = outputs(mine, model, [5, 6])
    assert torch.equal(ours, theirs)  # the same products in the same order: batch-first or second alike
    assert [next(iter(item)) for item in spec["layers"]][0] == "dense"  # no layer for the transpose


def test_a_mean_over_the_steps_of_a_batch_second_sequence_is_a_sequence_pool():
    torch.manual_seed(0)
    model = Encoder("mean")
    mine, spec = imported(model, [5, 6])
    assert {"sequence_pool": {"mode": "mean"}, "name": "sequence_pool"} in spec["layers"]
    ours, theirs = outputs(mine, model, [5, 6])
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)  # a mean over axis 1, not 0: its sums reordered


class Seq2Seq(nn.Module):
    """nn.Transformer (or an encoder and a decoder) with batch_first=False, a causal mask on the target."""

    def __init__(self, whole: bool) -> None:
        super().__init__()
        self.whole = whole
        self.src, self.tgt = nn.Linear(6, 16), nn.Linear(6, 16)
        if whole:
            self.transformer = nn.Transformer(16, 2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=24)
        else:
            self.encoder = nn.TransformerEncoderLayer(16, 4, 32)
            self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(16, 4, 32, activation="gelu"), 2,
                                                 norm=nn.LayerNorm(16))
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        src, tgt = self.src(x).transpose(0, 1), self.tgt(x).transpose(0, 1)
        if self.whole:
            y = self.transformer(src, tgt, tgt_mask=mask, tgt_is_causal=True)
        else:
            y = self.decoder(tgt, self.encoder(src), tgt_mask=mask, tgt_is_causal=True)
        return self.head(y.transpose(0, 1))


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # nn.Transformer's, with batch_first=False
@pytest.mark.parametrize("whole", [False, True])
def test_a_batch_first_false_decoder_reading_its_memory_is_the_same_function(whole):
    torch.manual_seed(0)
    model = Seq2Seq(whole)
    mine, spec = imported(model, [5, 6])
    assert imported.text.count("causal: true") == 1  # the decoder's self-attention (its block), not the others
    ours, theirs = outputs(mine, model, [5, 6])
    assert torch.equal(ours, theirs)


class Attention(nn.Module):
    """Self-attention with batch_first=False and a residual, a LayerNorm and a dropout on the (T, N, E) tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)
        self.norm, self.drop = nn.LayerNorm(8), nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(0, 1)
        h = self.norm(h + self.drop(self.attn(h, h, h, need_weights=False)[0]))
        return torch.relu(h).transpose(0, 1)


def test_batch_first_false_attention_with_a_residual_on_the_batch_second_tensor():
    torch.manual_seed(0)
    model = Attention()
    mine, spec = imported(model, [5, 8])
    ours, theirs = outputs(mine, model, [5, 8])
    assert torch.equal(ours, theirs)


class Untransposed(nn.Module):
    """A batch_first=False encoder given the batch-first input itself (it would attend across the batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.TransformerEncoderLayer(8, 2, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class Returned(Untransposed):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.transpose(0, 1))


class Convolved(Untransposed):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(8, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.encoder(x.transpose(0, 1)).permute(1, 2, 0))


@pytest.mark.parametrize("model, path, what, says", [
    (Untransposed(), "encoder", "TransformerEncoderLayer", "batch_first=False on a batch-first tensor"),
    (Returned(), "", "output", "returns a batch-second (T, N, E) tensor"),
    (Convolved(), "", "permute", "permute of a batch-second (T, N, E) tensor"),
], ids=["untransposed", "returned", "convolved"])
def test_what_a_batch_first_spec_cannot_compute_is_refused_with_a_hint(model, path, what, says):
    with pytest.raises(NotImportable) as err:
        import_model(model, [5, 8], check=False)
    (refusal,) = err.value.refusals  # one cause, at the call that makes it: not at what follows from it
    assert (refusal.path, refusal.what) == (path, what)
    assert says in refusal.why and "hint: " in refusal.why
