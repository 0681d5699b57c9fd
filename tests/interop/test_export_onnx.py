"""``netspec export`` to ONNX for every registered layer kind, and files that appear only when checked.

Every kind's EXAMPLES (as tests/layers/test_layers.py builds them) is exported; each either exports and
the file, run here in onnxruntime on other inputs (batch 3: the export was traced at batch 2), computes
the compiled module's outputs with the same weights (torch at run time), or is refused with a user error
that names the layer and its kind, why and a hint, and leaves no file behind. Never an internal error.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch
from torch_truth import spec_for

import netspec
from netspec.backends.torch.compile import example_inputs
from netspec.cli.main import main
from netspec.core.errors import BuildError, NetspecError
from netspec.interop.export import export
from netspec.layers import layer_kinds

ort = pytest.importorskip("onnxruntime")

CASES = [(kind, i, args, shapes) for kind, cls in layer_kinds().items()
         for i, (args, shapes) in enumerate(cls.EXAMPLES)]
# Why torch's exporter may refuse a layer (reasons outside netspec); "onnxruntime fails on it" or "computes
# something else" would be netspec writing a model it should not, so neither is an accepted refusal.
OUTSIDE_NETSPEC = ("torch's ONNX exporter refuses it", "draws random numbers in eval mode")

CONVNEXT_NORM = "name: stem_norm\ninput: [8, 4, 4]\nlayers:\n  - layernorm: {channels_first: true}\n"
DILATED_SAME = ("name: dilated\ninput: [3, 16, 16]\nlayers:\n"
                "  - conv2d: {filters: 4, kernel: 3, dilation: 2, padding: same}\n")
RANDOM_AT_EVAL = ("name: noisy\ninputs:\n  mu: [3]\n  logvar: [3]\nlayers:\n"
                  "  - sample: {from: [mu, logvar], at_eval: sample}\n")




def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def _run_onnx(path: Path, inputs) -> list[torch.Tensor]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [torch.from_numpy(a) for a in session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(),
                                                                                             inputs)})]


@pytest.mark.parametrize("kind,i,args,shapes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_kind_exports_to_onnx_or_is_refused_by_name(kind, i, args, shapes, tmp_path):
    spec = netspec.load(spec_for(kind, args, shapes))
    bind = {"T": 9} if any(isinstance(d, str) for s in shapes for d in s) else None
    graph = netspec.analyze(spec, bind=bind)
    torch.manual_seed(0)
    model = netspec.compile(graph).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    path = tmp_path / "m.onnx"
    try:
        export(spec, path, bind=bind, weights=tmp_path / "w.pt")
    except NetspecError as err:  # refused: by name, for a reason outside netspec, and no file
        text = str(err)
        assert isinstance(err, BuildError) and f"({kind})" in text and "to ONNX" in text and "hint:" in text, text
        assert any(reason in text for reason in OUTSIDE_NETSPEC), text
        assert _leftovers(tmp_path, {"w.pt"}) == [], "a refused export leaves no file"
        return
    assert _leftovers(tmp_path, {"w.pt", "m.onnx"}) == []
    x = example_inputs(graph.network(None), batch=3, bind=bind)
    torch.manual_seed(0)
    with torch.no_grad():
        out = model(*x)
    expected = list(out) if isinstance(out, tuple) else [out]
    got = _run_onnx(path, x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        assert torch.allclose(a.to(b.dtype), b, atol=1e-4, rtol=1e-4), float((a - b).abs().max())


@pytest.mark.parametrize("text", [CONVNEXT_NORM, DILATED_SAME], ids=["channels_first_norm", "dilated_same_conv"])
def test_review_cases_export_and_match_torch(text, tmp_path, capfd):
    """The fresh-user review's crashes: a negative axis in a permute, onnxruntime's SAME_UPPER with a
    dilation. Both now export from the CLI and compute torch's outputs (with the same weights)."""
    torch.manual_seed(3)
    model = netspec.compile(text).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    (tmp_path / "s.yaml").write_text(text)
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "s.yaml"), "-o", str(out), "--weights", str(tmp_path / "w.pt")]) == 0
    err = capfd.readouterr().err
    assert "wrote ONNX model" in err and "\x1b[" not in err
    x = torch.randn(3, *model.netspec_graph.inputs["input"].shape)
    with torch.no_grad():
        assert torch.allclose(_run_onnx(out, [x])[0], model(x), atol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own eager note on even kernels
def test_odd_same_padding_is_padded_after_as_torch_does(tmp_path):
    """Kernel 4 dilation 1 (height), kernel 2 dilation 3 (width): d·(k − 1) = 3 pads on each axis, and torch
    puts 1 before and 2 after (the extra one after); the ONNX model must pad the same."""
    text = ("name: odd\ninput: [2, 9, 7]\nlayers:\n"
            "  - conv2d: {filters: 3, kernel: [4, 2], dilation: [1, 3], padding: same}\n")
    torch.manual_seed(1)
    model = netspec.compile(text).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    export(text, tmp_path / "m.onnx", weights=tmp_path / "w.pt")
    x = torch.randn(2, 2, 9, 7)
    with torch.no_grad():  # the definition, by hand: F.pad (left, right, top, bottom) = (1, 2, 1, 2), then valid
        by_hand = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 2, 1, 2)), model.conv2d_1.weight,
                                             model.conv2d_1.bias, dilation=(1, 3))
        assert torch.allclose(model(x), by_hand, atol=1e-6)
    assert torch.allclose(_run_onnx(tmp_path / "m.onnx", [x])[0], by_hand, atol=1e-5)


def test_refused_export_is_a_user_error_that_leaves_no_file(tmp_path, capfd):
    (tmp_path / "s.yaml").write_text(RANDOM_AT_EVAL)
    out = tmp_path / "m.onnx"
    argv = ["export", str(tmp_path / "s.yaml"), "-o", str(out)]
    for _ in range(2):  # the rerun meets the same error, not "exists; use --force"
        assert main(argv) == 1
        err = capfd.readouterr().err
        assert "cannot export layer 'sample_1' (sample) to ONNX" in err and "hint:" in err, err
        assert "internal error" not in err and "\x1b[" not in err and "Torch IR graph" not in err
        assert _leftovers(tmp_path, {"s.yaml"}) == []
    assert main([*argv, "--no-check"]) == 0  # unchecked, on request: the file, said to be unchecked
    assert "not checked" in capfd.readouterr().err and out.exists()


def test_failed_export_keeps_the_file_it_would_replace(tmp_path, capfd):
    (tmp_path / "s.yaml").write_text(RANDOM_AT_EVAL)
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous model")
    assert main(["export", str(tmp_path / "s.yaml"), "-o", str(out), "--force"]) == 1
    assert out.read_bytes() == b"the previous model"
    assert _leftovers(tmp_path, {"s.yaml", "m.onnx"}) == []


def test_unsupported_operator_is_refused_naming_the_kind(tmp_path, capfd):
    """adaptive_avg_pool2d to a size that does not divide the input: torch's exporter has no conversion."""
    text = "name: pool\ninput: [2, 7, 7]\nlayers:\n  - adaptive_avg_pool2d: {output_size: 3}\n"
    (tmp_path / "s.yaml").write_text(text)
    assert main(["export", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "m.onnx")]) == 1
    out, err = capfd.readouterr()
    assert "s.yaml:4:" in err and "'adaptive_avg_pool2d_1' (adaptive_avg_pool2d)" in err and "--format pt2" in err
    assert "Torch IR graph" not in out + err
    assert _leftovers(tmp_path, {"s.yaml"}) == []


def test_torch_export_check_failure_leaves_no_file(tmp_path):
    """The same for .pt2: a program that cannot be checked is not written."""
    with pytest.raises(BuildError):
        export(RANDOM_AT_EVAL, tmp_path / "m.pt2")
    assert _leftovers(tmp_path, set()) == []


@pytest.mark.parametrize("suffix", [".py", ".onnx", ".pt2"])
def test_checked_exports_are_written_whole_with_the_usual_mode(suffix, tmp_path):
    path = tmp_path / f"m{suffix}"
    export(DILATED_SAME, path)
    assert _leftovers(tmp_path, {path.name}) == [] and path.stat().st_size > 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_missing_folder_names_the_output_not_a_temporary_file(tmp_path, capfd):
    out = tmp_path / "no" / "m.onnx"
    assert main(["export", str(tmp_path / "x.yaml"), "-o", str(out)]) != 0  # no spec: the usage error first
    (tmp_path / "s.yaml").write_text(DILATED_SAME)
    capfd.readouterr()
    assert main(["export", str(tmp_path / "s.yaml"), "-o", str(out)]) == 2  # before the work, as every -o (docs/cli.md)
    err = capfd.readouterr().err
    assert str(out) in err and ".partial" not in err and "internal error" not in err


def test_unchecked_refusal_blames_only_what_torch_refuses(tmp_path):
    """--no-check: a layer that draws random numbers is no reason to refuse; the exporter's refusal is."""
    text = RANDOM_AT_EVAL.replace("at_eval: sample}", "at_eval: sample}\n  - adaptive_avg_pool1d: {output_size: 2}")
    text = text.replace("mu: [3]\n  logvar: [3]", "mu: [2, 5]\n  logvar: [2, 5]")
    with pytest.raises(BuildError, match=r"'adaptive_avg_pool1d_1' \(adaptive_avg_pool1d\).*torch's ONNX exporter"):
        export(text, tmp_path / "m.onnx", check=False)
    assert _leftovers(tmp_path, set()) == []


ROTARY = "name: rope\ninput: [T, 16]\nlayers:\n  - attention: {heads: 4, kv_heads: 2, rotary: true, causal: true}\n"


@pytest.mark.parametrize("traced", [1, 7])
def test_rotary_attention_runs_at_every_length_in_onnxruntime(traced, tmp_path):
    """RoPE's positions come from the sequence itself: the file declares T dynamic and runs at lengths it
    was not traced at (before, positions 0..T-1 were a constant of the traced length: an error at another
    length, or at T = 1 a broadcast that silently gave other numbers)."""
    torch.manual_seed(0)
    model = netspec.compile(ROTARY).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    export(ROTARY, tmp_path / "rope.onnx", bind={"T": traced}, weights=tmp_path / "w.pt")
    session = ort.InferenceSession(str(tmp_path / "rope.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape == ["batch", "T", 16]
    for t in (1, 5, 12):
        x = torch.randn(2, t, 16)
        (got,) = _run_onnx(tmp_path / "rope.onnx", (x,))
        with torch.no_grad():
            assert torch.allclose(got, model(x), atol=1e-5), t


def test_a_trace_that_keeps_a_length_as_a_number_is_refused(monkeypatch, tmp_path):
    """The export runs the file at other sizes than it traced (T + 1, batch 3): positions made with
    ones_like (which the TorchScript exporter folds into a constant of the traced length) are refused by
    name of the sizes, and nothing is written."""
    from netspec.layers.torch import attention

    def baked(x, theta):  # RoPE with its positions from ones_like: the ONNX trace folds them to a constant
        d = x.shape[-1]
        positions = torch.ones_like(x[0, 0, :, :1]).cumsum(0) - 1
        angles = positions * (1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        angles = torch.cat((angles, angles), dim=-1)
        return x * angles.cos() + torch.cat((-x[..., d // 2:], x[..., : d // 2]), dim=-1) * angles.sin()

    monkeypatch.setattr(attention, "rotary", baked)
    with pytest.raises(BuildError, match=r"runs only at the sizes it was traced at \(T=7, batch 2\); at T=8, "
                                         r"batch 3"):
        export(ROTARY, tmp_path / "rope.onnx")
    assert _leftovers(tmp_path, set()) == []
