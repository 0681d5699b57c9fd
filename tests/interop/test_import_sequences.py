"""Models in, the idioms of sequence and text models: a pool to one position and its squeeze (Kim's TextCNN,
``F.adaptive_max_pool1d(x, 1).squeeze(-1)``), any row of a recurrent layer's final state and a bidirectional
layer's two final states merged (``torch.cat([h[-2], h[-1]], dim=1)``, the classic text classifier),
PyTorch's Transformer decoder reading a memory (and ``nn.Transformer``), causal masks; and what cannot be
imported said once per cause, a mask's own computation included in the refusal of the layer it is given to.

Every model here needs torch only. Every expected number comes from torch at run time: the model's parameter
count and its outputs (:func:`import_support.same_function`).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from import_support import same_function, sample

import netspec
from netspec.interop.importer import NotImportable, import_model


def _kinds(v: object) -> list[str]:
    """Every key of the spec tree, in order (the kinds among them)."""
    if isinstance(v, dict):
        return [k for key, x in v.items() for k in (key, *_kinds(x))]
    if isinstance(v, list):
        return [k for x in v for k in _kinds(x)]
    return []


def tokens(length: int, vocab: int, batch: int = 3) -> torch.Tensor:
    torch.manual_seed(2)
    return torch.randint(0, vocab, (batch, length))


# --- 1. a pool to one position, and the squeeze after it ------------------------------------------------
POOLS = {  # forward's pooling of a (N, 6, L) or (N, 6, H, W) map, as models write it
    "F.adaptive_max_pool1d(x, 1).squeeze(-1)": lambda x: F.adaptive_max_pool1d(x, 1).squeeze(-1),
    "F.adaptive_avg_pool1d(x, 1).squeeze(2)": lambda x: F.adaptive_avg_pool1d(x, 1).squeeze(2),
    "torch.squeeze(F.adaptive_max_pool1d(x, 1))": lambda x: torch.squeeze(F.adaptive_max_pool1d(x, 1)),
    "F.adaptive_avg_pool1d(x, 1).flatten(1)": lambda x: F.adaptive_avg_pool1d(x, 1).flatten(1),
    "F.max_pool1d(x, x.size(2)).squeeze(2)": lambda x: F.max_pool1d(x, x.size(2)).squeeze(2),
    "F.avg_pool1d(x, x.shape[2]).view(n, -1)": lambda x: F.avg_pool1d(x, x.shape[2]).view(x.size(0), -1),
    "F.adaptive_max_pool2d(x, 1).flatten(1)": lambda x: F.adaptive_max_pool2d(x, 1).flatten(1),
    "F.adaptive_max_pool2d(x, (1, 1)).squeeze(-1).squeeze(-1)":
        lambda x: F.adaptive_max_pool2d(x, (1, 1)).squeeze(-1).squeeze(-1),
    "torch.flatten(F.max_pool2d(x, x.shape[2:]), 1)": lambda x: torch.flatten(F.max_pool2d(x, x.shape[2:]), 1),
}


class Pooled(nn.Module):
    def __init__(self, pool: str, dims: int = 1) -> None:
        super().__init__()
        self.pool = POOLS[pool]
        self.conv = (nn.Conv1d if dims == 1 else nn.Conv2d)(4, 6, 3)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))))


@pytest.mark.parametrize("pool", POOLS)
def test_a_functional_pool_to_one_position_and_its_squeeze_import(pool):
    dims = 2 if "2d" in pool else 1
    shape = [4, 9, 7] if dims == 2 else [4, 11]
    model = Pooled(pool, dims)
    done = import_model(model, shape, name="pooled")
    kinds = _kinds(done.spec["layers"])
    # a max pool to one position has no netspec kind but the global pool: the squeeze folds into it
    if "max" in pool:
        assert "global_max_pool" in kinds and "reshape" not in kinds and "flatten" not in kinds, kinds
    same_function(done.text, model, sample(shape))


class MaxPooledGate(nn.Module):
    """A max pool to one position kept as (N, C, 1, 1) and read by a convolution: the pool, reshaped."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(self.pool(x)))


def test_a_max_pool_to_one_position_that_is_not_squeezed_keeps_its_shape():
    model = MaxPooledGate()
    done = import_model(model, [4, 5, 5], name="gate")
    assert "global_max_pool" in _kinds(done.spec["layers"])
    same_function(done.text, model, sample([4, 5, 5]))


class TextCNN(nn.Module):
    """Kim (2014), as PyTorch tutorials write it: filters of three widths over the embedded tokens, each
    max-pooled over time (``F.max_pool1d(x, x.size(2)).squeeze(2)``), concatenated, dropout, a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(40, 8)
        self.convs = nn.ModuleList([nn.Conv1d(8, 5, k) for k in (2, 3, 4)])
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(15, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embedding(x).permute(0, 2, 1)
        pooled = [F.max_pool1d(F.relu(conv(x)), x.size(2) - conv.kernel_size[0] + 1).squeeze(2) for conv in self.convs]
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


def test_kims_text_cnn_imports_with_global_max_pools():
    model = TextCNN()
    done = import_model(model, [12], name="text_cnn", input_dtype="long")
    assert _kinds(done.spec["layers"]).count("global_max_pool") == 3
    same_function(done.text, model, tokens(12, 40))


class MaxToThree(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_max_pool1d(self.conv(x), 3).flatten(1)


def test_a_max_pool_to_several_positions_is_refused_saying_what_netspec_has():
    with pytest.raises(NotImportable) as err:
        import_model(MaxToThree(), [4, 11])
    assert len(err.value.refusals) == 1 and "global_max_pool: output_size 1" in str(err.value)


# --- 2. a recurrent layer's final state: any row, and the two directions merged --------------------------
class BiClassifier(nn.Module):
    """The classic text classifier: a bidirectional LSTM (or GRU) whose two final states are concatenated."""

    def __init__(self, cell: type = nn.LSTM, read: str = "cat", layers: int = 2) -> None:
        super().__init__()
        self.read, self.lstm = read, cell is nn.LSTM
        self.embedding = nn.Embedding(30, 8)
        self.rnn = cell(8, 16, num_layers=layers, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(16 if read in ("sum", "mul") else 32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, hidden = self.rnn(self.embedding(x))
        if self.lstm:
            hidden, _ = hidden  # (h, c)
        if self.read == "cat":
            return self.fc(torch.cat([hidden[-2], hidden[-1]], dim=1))
        if self.read == "cat[-2,:,:]":  # as the well-known tutorial writes it
            return self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        if self.read == "sum":
            return self.fc(hidden[-1] + hidden[-2])
        if self.read == "mul":
            return self.fc(hidden[-2] * hidden[-1])
        if self.read == "reversed":  # the backward direction first: rows of the state, concatenated
            return self.fc(torch.cat([hidden[-1], hidden[-2]], dim=1))
        # the steps and the final states both read: the state's rows
        return self.fc(torch.cat([hidden[-2], hidden[-1]], dim=1) + out.mean(1) + torch.cat([hidden[0], hidden[1]], 1))


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("read", ["cat", "cat[-2,:,:]", "sum", "mul"])
def test_a_bidirectional_layers_merged_final_states_are_its_output(cell, read):
    model = BiClassifier(cell, read)
    done = import_model(model, [9], name="bi_classifier", input_dtype="long")
    rnn = next(item for item in done.spec["layers"] if item["name"] == "rnn")
    body = rnn[next(iter(rnn))]
    assert body["bidirectional"] is True and "return_state" not in body and "return_sequences" not in body
    assert body.get("merge", "concat") == {"sum": "sum", "mul": "mul"}.get(read, "concat")
    same_function(done.text, model, tokens(9, 30))


@pytest.mark.parametrize("read, layers", [("reversed", 2), ("steps too", 1), ("steps too", 3)])
def test_rows_of_a_final_state_read_otherwise_are_selected_row_by_row(read, layers):
    model = BiClassifier(nn.LSTM, read, layers)
    done = import_model(model, [9], name="bi_rows", input_dtype="long")
    rnn = next(item for item in done.spec["layers"] if item["name"] == "rnn")
    assert rnn["lstm"]["return_state"] is True
    same_function(done.text, model, tokens(9, 30))


# --- 3. PyTorch's Transformer decoder, reading a memory; masks ----------------------------------------
class Seq2Seq(nn.Module):
    """An encoder over one view of the input, a decoder over another attending to the encoder's output."""

    def __init__(self, norm_first: bool = False, causal: bool = True, whole: bool = False) -> None:
        super().__init__()
        self.causal, self.whole = causal, whole
        self.src = nn.Linear(6, 16)
        self.tgt = nn.Linear(6, 16)
        if whole:
            self.transformer = nn.Transformer(16, 2, num_encoder_layers=2, num_decoder_layers=2,
                                              dim_feedforward=24, batch_first=True, norm_first=norm_first)
        else:
            layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            layer = nn.TransformerDecoderLayer(16, 4, 32, batch_first=True, norm_first=norm_first, activation="gelu")
            self.decoder = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(16))
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1)) if self.causal else None
        src = self.src(x)
        if self.whole:
            y = self.transformer(src, self.tgt(x), tgt_mask=mask, tgt_is_causal=self.causal)
        else:
            memory = self.encoder(src)
            y = self.decoder(self.tgt(x), memory, tgt_mask=mask, tgt_is_causal=self.causal)
        return self.head(y)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # nn.Transformer's, with norm_first
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("whole", [False, True])
def test_a_transformer_decoder_reading_the_encoders_memory_imports(norm_first, causal, whole):
    torch.manual_seed(0)
    model = Seq2Seq(norm_first, causal, whole)
    done = import_model(model, [5, 6], name="seq2seq")
    text = done.text
    assert ("causal: true" in text) is causal  # the decoder's self-attention, not its attention onto the memory
    same_function(text, model, sample([5, 6]))


class DecoderOnly(nn.Module):
    """A decoder layer attending to its own input as the memory, or to what attention made of it (read
    through the tuple attention returns, and `.contiguous()`)."""

    def __init__(self, memory: str) -> None:
        super().__init__()
        self.memory = memory
        self.proj = nn.Linear(6, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)
        memory = h if self.memory == "proj" else self.attn(h, h, h)[0].contiguous()
        return self.fc(self.layer(h, memory))


@pytest.mark.parametrize("memory", ["proj", "attn"])
def test_a_decoder_layer_reads_its_memory_by_the_name_it_has_in_the_spec(memory):
    torch.manual_seed(0)
    model = DecoderOnly(memory)
    if memory == "proj":
        del model.attn
    done = import_model(model, [4, 6], name="decoder_only")
    assert f"from: [norm1, {memory}]" in done.text
    same_function(done.text, model, sample([4, 6]))


class CausalAttention(nn.Module):
    """A causal mask kept in a buffer (minGPT's ``bias``), in the state dict or not."""

    def __init__(self, persistent: bool) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        mask = torch.ones(5, 5, dtype=torch.bool).triu(1)  # True: not attended
        self.register_buffer("mask", mask, persistent=persistent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, attn_mask=self.mask, need_weights=False)[0]


def test_attention_with_a_causal_mask_buffer_is_causal_attention():
    torch.manual_seed(0)
    model = CausalAttention(persistent=False)
    done = import_model(model, [5, 8], name="causal")
    assert done.spec["layers"][0]["attention"] == {"heads": 2, "causal": True}
    same_function(done.text, model, sample([5, 8]))
    # kept in the state dict: the spec takes the rest of it (its attention is causal: the mask has no tensor)
    model = CausalAttention(persistent=True)
    done = import_model(model, [5, 8], name="causal")
    weights = {k: v for k, v in model.state_dict().items() if k != "mask"}
    mine = netspec.compile(done.text, weights=weights).eval()
    x = sample([5, 8])
    with torch.no_grad():
        assert torch.allclose(mine(x), model.eval()(x), atol=1e-6)


class PaddedText(nn.Module):
    """Masks netspec cannot take from a one-input model: the key padding mask computed from the tokens."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self.embedding = nn.Embedding(20, 8)
        layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = x == 0
        h = self.embedding(x)
        memory = self.encoder(h, src_key_padding_mask=pad if self.where == "encoder" else None)
        h = self.decoder(h, memory, memory_key_padding_mask=pad if self.where == "decoder" else None,
                         tgt_mask=torch.eye(x.size(1)) if self.where == "decoder" else None)
        h = self.attn(h, h, h, key_padding_mask=pad if self.where == "attention" else None)[0]
        return self.fc(h.mean(1))


@pytest.mark.parametrize("where, path, why", [
    ("encoder", "encoder", "src_key_padding_mask"),
    ("decoder", "decoder", "tgt_mask that is not the causal mask, and memory_key_padding_mask"),
    ("attention", "attn", "key_padding_mask")])
def test_masks_netspec_cannot_take_are_one_refusal_at_the_layer_with_a_hint(where, path, why):
    with pytest.raises(NotImportable) as err:
        import_model(PaddedText(where), [7], input_dtype="long")
    # `x == 0` and `torch.eye(...)` compute the masks only: no refusals of their own
    assert [(r.path, r.line.split(":")[0]) for r in err.value.refusals] == [(path, "test_import_sequences.py")]
    message = str(err.value)
    assert all(f"{w}" in message for w in why.split(", and ")) and "\n    " in message.split("hint: ")[0]
    assert "padding_mask: true" in message.split("hint: ")[1]
    assert "Traceback" not in message


def test_the_same_layers_without_masks_import():
    torch.manual_seed(0)
    model = PaddedText("nowhere")
    done = import_model(model, [7], input_dtype="long")
    same_function(done.text, model, tokens(7, 20))


# --- 4. refusals grouped by cause ------------------------------------------------------------------------
class Odd(nn.Module):
    """A block that a model repeats, with two things netspec has no layer for."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.Hardtanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(torch.cumsum(self.fc(x), 1))


class ManyOdd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(Odd() for _ in range(6)))
        self.last = Odd()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.blocks(x))


def test_refusals_repeated_in_blocks_are_one_line_per_cause_listing_the_places():
    with pytest.raises(NotImportable) as err:
        import_model(ManyOdd(), [4])
    assert len(err.value.refusals) == 14  # 7 blocks, two refusals each
    causes = {what: places for _, what, _, places in err.value.causes}
    assert causes == {"cumsum": [*(f"blocks.{i}" for i in range(6)), "last"],
                      "Hardtanh": [*(f"blocks.{i}.act" for i in range(6)), "last.act"]}
    message = str(err.value)
    assert message.count("cumsum has no netspec kind") == 1 and message.count("no netspec kind for torch.nn") == 1
    assert "at 7 places: blocks.0, blocks.1" in message and len(message.splitlines()) == 5


REDUCED = {  # forward's pooling of a (N, T, 6) sequence or a (N, 6, L) map by a reduction over its axes
    "torch.max(x, dim=1)[0]": lambda x: torch.max(x, dim=1)[0],
    "x.max(1).values": lambda x: x.max(1).values,
    "x.amax(1)": lambda x: x.amax(1),
    "x.transpose(1, 2).max(dim=2)[0]": lambda x: x.transpose(1, 2).max(dim=2)[0],
    "x.transpose(1, 2).amax(-1)": lambda x: x.transpose(1, 2).amax(-1),
}


class Reduced(nn.Module):
    def __init__(self, pool: str) -> None:
        super().__init__()
        self.pool = REDUCED[pool]
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(self.pool(out))


@pytest.mark.parametrize("pool", REDUCED)
def test_a_max_over_the_steps_or_positions_is_a_pool(pool):
    model = Reduced(pool)
    done = import_model(model, [7, 4], name="reduced")
    assert {"sequence_pool", "global_max_pool"} & set(_kinds(done.spec["layers"]))
    same_function(done.text, model, sample([7, 4]))


class ArgMax(Reduced):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out.max(1)[1].float())


def test_reading_the_indices_of_the_maxima_is_refused():
    with pytest.raises(NotImportable, match="indices of the maxima"):
        import_model(ArgMax("x.amax(1)"), [7, 4])
