"""Recurrent layers (rnn, lstm, gru) against torch.nn.RNN/LSTM/GRU built directly in the test.

Expected numbers come from torch at run time or from formulas worked by hand here, never from
netspec's own output.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError, SpecValidationError

LOCATED = re.compile(r"<string>:\d+:\d+")
TORCH = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def net_of(text: str, bind: dict[str, int] | None = None, network: str | None = None):
    return netspec.analyze(text, bind=bind).network(network)


def one_layer(kind: str, features: int | str, steps: int | str = 7, **opts: object) -> str:
    args = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in opts.items())
    return f"name: probe\ninput: [{steps}, {features}]\nlayers:\n  - {kind}: {{{args}}}\n"


def reference(kind: str, features: int, units: int, layers: int, bidirectional: bool, bias: bool) -> nn.RNNBase:
    return TORCH[kind](features, units, num_layers=layers, bidirectional=bidirectional, bias=bias, batch_first=True)


CONFIGS = [  # kind, features, units, layers, bidirectional, bias
    ("rnn", 3, 5, 1, False, True), ("rnn", 4, 6, 2, True, False), ("gru", 5, 4, 1, True, True),
    ("gru", 3, 7, 3, False, True), ("lstm", 6, 8, 1, False, True), ("lstm", 4, 5, 2, True, True),
    ("lstm", 2, 3, 3, True, False),
]


@pytest.mark.parametrize("kind,f,h,layers,bi,bias", CONFIGS)
def test_counts_and_names_match_torch(kind: str, f: int, h: int, layers: int, bi: bool, bias: bool) -> None:
    net = net_of(one_layer(kind, f, units=h, layers=layers, bidirectional=bi, bias=bias))
    ref = reference(kind, f, h, layers, bi, bias)
    node = net.nodes[0]
    assert node.params == {n: tuple(p.shape) for n, p in ref.named_parameters()}
    assert net.params == sum(p.numel() for p in ref.parameters())
    # The formula, by hand: per layer and direction G·H·(I + H) + 2·G·H, later layers read D·H.
    g, d = GATES[kind], 2 if bi else 1
    ins = [f] + [d * h] * (layers - 1)
    assert net.params == sum(d * (g * h * (i + h) + (2 * g * h if bias else 0)) for i in ins)


@pytest.mark.parametrize("kind,f,h,layers,bi,bias", CONFIGS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_outputs_match_torch(kind: str, f: int, h: int, layers: int, bi: bool, bias: bool,
                             return_sequences: bool) -> None:
    torch.manual_seed(0)
    net = net_of(one_layer(kind, f, steps=6, units=h, layers=layers, bidirectional=bi, bias=bias,
                           return_sequences=return_sequences, return_state=True))
    layer = compile_network(net).eval().get_submodule(net.nodes[0].name)
    ref = reference(kind, f, h, layers, bi, bias).eval()
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(3, 6, f)
    outs = layer(x)  # the layer's outputs in order: out, h (, c)
    want_out, state = ref(x)
    hn = state[0] if kind == "lstm" else state
    if return_sequences:
        assert torch.allclose(outs[0], want_out, atol=1e-6)
    else:
        # Many-to-one: each direction's final state; the backward one has read the whole sequence.
        last = torch.cat([hn[-2], hn[-1]], dim=-1) if bi else hn[-1]
        assert torch.allclose(outs[0], last, atol=1e-6)
        assert torch.allclose(outs[0][:, :h], want_out[:, -1, :h], atol=1e-6)
        if bi:
            assert torch.allclose(outs[0][:, h:], want_out[:, 0, h:], atol=1e-6)
    assert torch.allclose(outs[1], hn.transpose(0, 1), atol=1e-6)  # per-sample (layers·directions, H)
    if kind == "lstm":
        assert torch.allclose(outs[2], state[1].transpose(0, 1), atol=1e-6)
    assert [tuple(o.shape[1:]) for o in outs] == [t.shape for t in net.nodes[0].outputs.values()]


@pytest.mark.parametrize("merge,fn", [("sum", lambda a, b: a + b), ("mean", lambda a, b: (a + b) / 2),
                                      ("mul", lambda a, b: a * b)])
def test_bidirectional_merge_modes(merge: str, fn) -> None:
    torch.manual_seed(1)
    net = net_of(one_layer("gru", 3, steps=5, units=4, bidirectional=True, merge=merge, return_sequences=True))
    assert net.nodes[0].out.shape == (5, 4)
    model = compile_network(net).eval()
    ref = reference("gru", 3, 4, 1, True, True).eval()
    model.get_submodule(net.nodes[0].name).load_state_dict(ref.state_dict())
    x = torch.randn(2, 5, 3)
    out, _ = ref(x)
    assert torch.allclose(model(x), fn(out[..., :4], out[..., 4:]), atol=1e-6)


def test_keras_vs_pytorch_worked_example() -> None:
    """The notes' Keras LSTM(128, input_shape=(10, 256)): 197,632 in PyTorch, 197,120 in Keras."""
    net = net_of("name: k\ninput: [10, 256]\nlayers:\n  - lstm: 128\n  - dense: {units: 64, activation: relu}\n"
                 "  - dense: {units: 1, activation: sigmoid}\n")
    lstm = net.nodes[0]
    pytorch = 4 * 128 * (256 + 128) + 2 * 4 * 128  # two bias vectors per gate group
    keras = 4 * (128 * (256 + 128) + 128)  # Keras: kernel + recurrent kernel + one bias
    assert (pytorch, keras) == (197_632, 197_120)
    assert lstm.n_params == pytorch == sum(p.numel() for p in nn.LSTM(256, 128).parameters())
    assert lstm.n_params - keras == 4 * 128  # G·H
    assert net.params == pytorch + (128 * 64 + 64) + (64 + 1) == 205_953


def test_pytorch_lstm_symbolic_length() -> None:
    text = "name: p\ninput: [T, 10]\nlayers:\n  - lstm: {units: 128, return_sequences: true}\n"
    free = net_of(text)
    assert free.nodes[0].out.shape == ("T", 128)
    assert free.params == 71_680 == sum(p.numel() for p in nn.LSTM(10, 128, 1).parameters())
    assert free.symbolic
    per_step = 4 * 128 * (10 + 128)  # the four gates' input and recurrent products, at every step
    assert free.macs.bind({"T": 12}) == 12 * per_step == net_of(text, bind={"T": 12}).macs
    report = netspec.check(text)
    assert report.to_dict()["macs"] == f"{per_step}*T"


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_macs_match_flop_counter(kind: str) -> None:
    """LSTM too: on CPU the fused oneDNN kernel is invisible to the counter, so the module runs the
    decomposed kernel while a dispatch mode watches."""
    net = net_of(one_layer(kind, 5, steps=8, units=6, layers=2, bidirectional=True, return_sequences=True))
    g = GATES[kind]
    by_hand = 8 * 2 * (g * 6 * (5 + 6) + g * 6 * (12 + 6))
    assert net.macs == by_hand
    model = compile_network(net).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(3, 8, 5))
    assert counter.get_total_flops() == 2 * 3 * by_hand
    assert torch._C._get_mkldnn_enabled()  # restored


def test_initial_state_from_encoder_matches_torch() -> None:
    """Encoder → (h, c) → decoder across two networks, against two nn.LSTM run by hand."""
    text = """
name: s2s
networks:
  encoder:
    inputs: {src: [S, 3]}
    layers:
      - lstm: {units: 4, layers: 2, return_state: true}
        name: enc
    outputs: ["enc:h", "enc:c"]
  decoder:
    inputs:
      tgt: [T, 2]
      h: {from: "encoder.enc:h"}
      c: {from: "encoder.enc:c"}
    layers:
      - lstm: {units: 4, layers: 2, return_sequences: true}
        from: [tgt, h, c]
        name: dec
"""
    graph = netspec.analyze(text)
    dec_net = graph.network("decoder")
    assert dec_net.inputs["h"].shape == (2, 4)
    enc, dec = (compile_network(graph.network(n)).eval() for n in ("encoder", "decoder"))
    torch.manual_seed(2)
    ref_enc, ref_dec = nn.LSTM(3, 4, 2, batch_first=True), nn.LSTM(2, 4, 2, batch_first=True)
    enc.get_submodule("enc").load_state_dict(ref_enc.state_dict())
    dec.get_submodule("dec").load_state_dict(ref_dec.state_dict())
    src, tgt = torch.randn(2, 5, 3), torch.randn(2, 6, 2)
    h, c = enc(src)
    _, (rh, rc) = ref_enc(src)
    want, _ = ref_dec(tgt, (rh, rc))
    assert torch.allclose(dec(tgt, h, c), want, atol=1e-6)


def test_vector_initial_state_and_missing_cell_state() -> None:
    """A (units,) vector is a valid state for a single-layer unidirectional LSTM; c starts at zero."""
    text = ("name: v\ninputs: {x: [4, 3], h: [5]}\nlayers:\n  - lstm: {units: 5, return_sequences: true}\n"
            "    from: [x, h]\n")
    net = net_of(text)
    model = compile_network(net).eval()
    ref = nn.LSTM(3, 5, batch_first=True)
    model.get_submodule(net.nodes[0].name).load_state_dict(ref.state_dict())
    x, h = torch.randn(2, 4, 3), torch.randn(2, 5)
    want, _ = ref(x, (h.unsqueeze(0), torch.zeros(1, 2, 5)))
    assert torch.allclose(model(x, h), want, atol=1e-6)


BAD = [
    ("name: b\ninput: [1, 28, 28]\nlayers:\n  - lstm: 32\n", ShapeError, "expects a sequence (T, F)"),
    ("name: b\ninput: [16]\nlayers:\n  - gru: 8\n", ShapeError, "repeat_vector"),
    ("name: b\ninput: [4, T]\nlayers:\n  - rnn: 8\n", ShapeError, "permute"),
    ("name: b\ninput: [5, 3]\nlayers:\n  - lstm: {units: 4, dropout: 0.3}\n", SpecValidationError, "layers >= 2"),
    ("name: b\ninput: [5, 3]\nlayers:\n  - lstm: {units: 4, merge: sum}\n", SpecValidationError, "bidirectional"),
    ("name: b\ninputs: {x: [5, 3], h: [2, 4]}\nlayers:\n  - gru: 4\n    from: [x, h]\n", ShapeError,
     "initial state h must be (layers·directions, units) = (1, 4)"),
    ("name: b\ninputs: {x: [5, 3], h: [1, 4]}\nlayers:\n  - gru: 4\n    from: [x, h, h]\n", ShapeError,
     "at most 1 initial state"),
    ("name: b\ninput: {shape: [5], dtype: long}\nlayers:\n  - lstm: 4\n", ShapeError, "embedding"),
]


@pytest.mark.parametrize("text,err,fragment", BAD)
def test_bad_inputs_are_located(text: str, err: type, fragment: str) -> None:
    with pytest.raises(err) as info:
        netspec.analyze(text)
    msg = str(info.value)
    assert fragment in msg
    assert LOCATED.search(msg), msg
