"""Swin's kinds (``window_attention``, ``patch_merging``) and specs/swin_t.yaml against torch and torchvision.

Expected values come from torch at run time (the compiled module's shapes, parameters, buffers and its
flop counter), from plain multi-head attention written here, from formulas worked by hand in comments,
from torchvision's ShiftedWindowAttention, PatchMerging and swin_t when torchvision is importable (the
side venv /work/tvenv), and from torchvision's documented parameter count (28,288,354) — never from
netspec's own output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from torch_truth import assert_matches_torch

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import NetspecError, ShapeError

SPECS = Path(__file__).resolve().parents[2] / "specs"


def network(shape: list, layer: dict, bind: dict[str, int] | None = None):
    spec = {"name": "probe", "inputs": {"x": {"shape": shape}}, "layers": [layer]}
    return netspec.analyze(spec, bind=bind).network()


def only(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_submodule(model.netspec_graph.nodes[0].name)


def _torchvision():
    try:
        import torchvision.models.swin_transformer as swin
    except Exception:  # absent, or a build that does not match this torch
        return None
    return swin


# --- shapes, parameters, buffers and MACs against the compiled module ---------------------------------
@pytest.mark.parametrize("shape,layer", [
    ([8, 8, 8], {"kind": "window_attention", "heads": 2, "window": 4, "shift": 2}),
    ([7, 5, 6], {"kind": "window_attention", "heads": 3, "window": 3, "shift": 1}),     # odd: padded to 9×6
    ([3, 3, 4], {"kind": "window_attention", "heads": 1, "window": 7, "shift": 3}),     # map below the window
    ([5, 11, 4], {"kind": "window_attention", "heads": 4, "window": 4, "shift": 2}),    # 8×12: shifted on both
    ([9, 9, 6], {"kind": "patch_merging"}),
    ([2, 5, 3], {"kind": "patch_merging"}),
])
def test_counts_match_torch(shape, layer):
    assert_matches_torch(network(shape, layer))


def test_window_attention_macs_worked_by_hand():
    """7×5 map, C = 6, window 3: padded to 9×6 = 54 positions, N = 9 tokens a window.
    qkv 54·6·18 = 5,832; proj 54·6·6 = 1,944; QKᵀ and A·V 2·54·9·6 = 5,832; total 13,608.
    Parameters: qkv 18·6 + 18 = 126, proj 36 + 6 = 42, table (2·3 − 1)²·3 = 75; buffer 3⁴ = 81."""
    net = network([7, 5, 6], {"kind": "window_attention", "heads": 3, "window": 3, "shift": 1})
    assert net.macs == 13_608
    assert net.params == 126 + 42 + 75
    assert net.buffers == 81


def test_patch_merging_worked_by_hand():
    """5×7×3 → 3×4×6 (odd sizes padded to 6×8); params 6·12 + 2·12 = 96; MACs 3·4·12·6 = 864."""
    net = network([5, 7, 3], {"kind": "patch_merging"})
    assert [t.shape for t in net.output_types().values()] == [(3, 4, 6)]
    assert net.params == 96 and net.macs == 864


def test_symbolic_height_binds_to_torchs_count():
    """A symbolic height stays symbolic; bound at several sizes (one that pads) it equals torch's count."""
    layer = {"kind": "window_attention", "heads": 2, "window": 4, "shift": 2}
    free = network(["H", 8, 4], layer)
    assert free.nodes[0].outputs["out"].shape[0] == "H"
    for h in (4, 5, 9):
        bound = network(["H", 8, 4], layer, bind={"H": h})
        assert free.macs.bind({"H": h}) == bound.macs
        assert_matches_torch(bound)
    merged = network(["H", 6, 4], {"kind": "patch_merging"}, bind={"H": 7})
    assert merged.nodes[0].outputs["out"].shape == (4, 3, 8)  # ceil(7/2) = 4


# --- the function, against attention written here ------------------------------------------------------
def _plain_attention(x: torch.Tensor, qkv: torch.nn.Linear, proj: torch.nn.Linear, heads: int) -> torch.Tensor:
    """Multi-head self-attention over all tokens of (N, T, C), no bias, no mask."""
    n, t, c = x.shape
    q, k, v = qkv(x).view(n, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v)
    return proj(out.transpose(1, 2).reshape(n, t, c))


def test_one_window_is_plain_attention():
    """A 4×4 map in one 4×4 window, the position bias zeroed: plain multi-head attention over its 16 tokens
    (shifting is off: the window covers the map)."""
    for shift in (0, 2):
        model = compile_network(network([4, 4, 8], {"kind": "window_attention", "heads": 2, "window": 4,
                                                    "shift": shift})).eval()
        attn = only(model)
        with torch.no_grad():
            attn.relative_position_bias_table.zero_()
        x = torch.randn(2, 4, 4, 8)
        with torch.no_grad():
            want = _plain_attention(x.reshape(2, 16, 8), attn.qkv, attn.proj, 2).view(2, 4, 4, 8)
            assert torch.allclose(model(x), want, atol=1e-5)


def test_windows_do_not_see_each_other():
    """Unshifted, a change in one window leaves the other windows' outputs as they were; shifted, it
    reaches into the windows the shift overlaps."""
    model = compile_network(network([8, 8, 4], {"kind": "window_attention", "heads": 1, "window": 4})).eval()
    shifted = compile_network(network([8, 8, 4], {"kind": "window_attention", "heads": 1, "window": 4,
                                                  "shift": 2})).eval()
    x = torch.randn(1, 8, 8, 4)
    y = x.clone()
    y[0, 0, 0] += 1.0  # top-left window
    with torch.no_grad():
        changed = (model(x) - model(y)).abs().sum(-1)[0] > 0
        assert changed[:4, :4].all() and not changed[4:].any() and not changed[:, 4:].any()
        moved = (shifted(x) - shifted(y)).abs().sum(-1)[0] > 0
        assert moved[:4, :4].any() and not moved[2:, 2:].any()  # (0, 0) rolls to (6, 6): window of rows/cols 0-1, 6-7


def test_relative_position_index_worked_by_hand():
    """Window 2: tokens (0,0), (0,1), (1,0), (1,1); the table has (2·2 − 1)² = 9 rows, row
    (dy + 1)·3 + (dx + 1) for offset (dy, dx) = query − key: token 0 against itself → 4; token 0 against
    token 3 (offset (−1, −1)) → 0; token 3 against token 0 (offset (1, 1)) → 8."""
    attn = only(compile_network(network([2, 2, 2], {"kind": "window_attention", "heads": 1, "window": 2})))
    index = attn.relative_position_index.view(4, 4)
    assert index.dtype == torch.long
    assert index[0, 0] == 4 and index[0, 3] == 0 and index[3, 0] == 8 and index[1, 2] == 2  # (−1, 1) → 0·3 + 2


# --- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,layer,fragment", [
    ([8, 8, 8], {"kind": "window_attention", "heads": 2, "window": 4, "shift": 4}, "shift below the window"),
    ([8, 8, 8], {"kind": "window_attention", "heads": 3, "window": 4}, "3 heads must divide"),
    ([8, 8], {"kind": "window_attention", "heads": 2}, "channels-last map (H, W, C)"),
    ([8, 8, 8], {"kind": "window_attention", "heads": 2, "window": 49}, "window"),
    ([8, 8], {"kind": "patch_merging"}, "permute: [1, 2, 0]"),
])
def test_refusals_say_what_and_where(shape, layer, fragment):
    with pytest.raises(NetspecError) as err:
        network(shape, layer)
    assert fragment in str(err.value)


def test_a_located_option_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: [8, 8, 8]\nlayers:\n  - window_attention: {heads: 2, window: 4, shift: 5}\n")
    with pytest.raises(NetspecError) as err:
        netspec.analyze(path)
    assert "bad.yaml:4:" in str(err.value) and "shift" in str(err.value)


def test_a_channels_first_map_warns():
    spec = {"name": "w", "input": [4, 8, 8], "layers": [
        {"kind": "conv2d", "filters": 8, "kernel": 1}, {"kind": "window_attention", "heads": 2, "window": 4}]}
    warnings = netspec.analyze(spec).network().warnings
    assert any("permute: [1, 2, 0]" in w for w in warnings)
    with pytest.raises(ShapeError):
        netspec.analyze(spec, strict=True)


# --- optional: torchvision's modules and swin_t ----------------------------------------------------------
@pytest.mark.parametrize("shape,window,shift", [
    ((7, 5), 3, 1), ((8, 8), 4, 2), ((3, 3), 7, 3), ((9, 14), 7, 3), ((4, 9), 4, 2), ((14, 14), 7, 0),
])
def test_window_attention_equals_torchvisions(shape, window, shift):
    swin = _torchvision()
    if swin is None:
        pytest.skip("torchvision is not importable here")
    torch.manual_seed(0)
    c, heads = 12, 3
    theirs = swin.ShiftedWindowAttention(c, [window, window], [shift, shift], heads).eval()
    model = compile_network(network([*shape, c], {"kind": "window_attention", "heads": heads, "window": window,
                                                  "shift": shift})).eval()
    mine = only(model)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]
    assert [(n, b.shape) for n, b in mine.named_buffers()] == [(n, b.shape) for n, b in theirs.named_buffers()]
    assert torch.equal(mine.relative_position_index, theirs.relative_position_index)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, *shape, c)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        want = theirs(x)
    assert model.netspec_graph.macs == counter.get_total_flops() // 2 // 2  # per sample, batch 2
    with torch.no_grad():
        assert torch.allclose(model(x), want, atol=1e-5)


@pytest.mark.parametrize("shape", [(8, 8), (5, 7), (1, 1)])
def test_patch_merging_equals_torchvisions(shape):
    swin = _torchvision()
    if swin is None:
        pytest.skip("torchvision is not importable here")
    torch.manual_seed(0)
    theirs = swin.PatchMerging(6).eval()
    with torch.no_grad():
        theirs.norm.weight.normal_()
        theirs.norm.bias.normal_()
    model = compile_network(network([*shape, 6], {"kind": "patch_merging"})).eval()
    mine = only(model)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, *shape, 6)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        want = theirs(x)
    assert model.netspec_graph.macs == counter.get_total_flops() // 2 // 2
    with torch.no_grad():
        assert torch.allclose(model(x), want, atol=1e-5)


def test_swin_t_equals_torchvision():
    """specs/swin_t.yaml against torchvision's swin_t (random init): the documented 28,288,354 parameters,
    the parameters and buffers in torchvision's order and shapes, its MACs by torch's flop counter, and
    the same logits with its weights copied in order."""
    swin = _torchvision()
    if swin is None:
        pytest.skip("torchvision is not importable here; the spec pins its documented numbers instead")
    torch.manual_seed(0)
    theirs = swin.swin_t().eval()
    with torch.no_grad():  # torchvision starts the biases at zero and the norms at one: make them count
        for name, p in theirs.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.normal_(std=0.02)
    ours = netspec.compile(SPECS / "swin_t.yaml").eval()
    assert sum(p.numel() for p in theirs.parameters()) == 28_288_354
    assert sum(p.numel() for p in ours.parameters()) == 28_288_354
    their_state, our_state = theirs.state_dict(), ours.state_dict()
    assert [tuple(t.shape) for t in their_state.values()] == [tuple(t.shape) for t in our_state.values()]
    # by order, each name ending as torchvision's (qkv.weight, relative_position_bias_table, reduction.weight, …)
    for (theirs_name, _), our_name in zip(their_state.items(), our_state, strict=True):
        assert theirs_name.rsplit(".", 1)[-1] == our_name.rsplit(".", 1)[-1], (theirs_name, our_name)
    their_buffers, our_buffers = dict(theirs.named_buffers()), dict(ours.named_buffers())
    assert [b.shape for b in their_buffers.values()] == [b.shape for b in our_buffers.values()]
    assert all(torch.equal(a, b) for a, b in zip(their_buffers.values(), our_buffers.values()))
    ours.load_state_dict(dict(zip(our_state, their_state.values())))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        want = theirs(x)
    net = netspec.analyze(SPECS / "swin_t.yaml").network()
    assert net.macs == counter.get_total_flops() // 2
    assert net.buffers == sum(b.numel() for b in theirs.buffers())
    with torch.no_grad():
        got = ours(x)
    assert got.shape == want.shape == (1, 1000)
    assert torch.allclose(got, want, atol=1e-4)
    # netspec's own loader (by name where they agree, else by structure) gives the same function
    loaded = netspec.compile(SPECS / "swin_t.yaml", weights=their_state).eval()
    with torch.no_grad():
        assert torch.allclose(loaded(x), want, atol=1e-4)
