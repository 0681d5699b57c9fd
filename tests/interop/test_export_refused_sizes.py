"""A network whose modules refuse the random example inputs (sizes that do not fit together) is a user
message naming the symbolic sizes and --bind, not an internal error; with sizes that fit, it exports."""

from pathlib import Path

import pytest

from netspec.core.errors import BuildError
from netspec.interop.export import export

SPEC = Path(__file__).parents[2] / "specs" / "recursive_nn.yaml"  # tree rows M must be L - 1 (checked at run time)


@pytest.mark.parametrize("fmt", ["py", "onnx"])
def test_sizes_that_do_not_fit_are_a_message(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(BuildError) as err:
        export(SPEC, tmp_path / f"m.{fmt}", fmt)
    text = str(err.value)
    assert "(L, M)" in text and "--bind" in text and "6 internal nodes" in text
    assert not (tmp_path / f"m.{fmt}").exists()  # nothing written


def test_sizes_that_fit_export(tmp_path: Path) -> None:
    done = export(SPEC, tmp_path / "m.py", "py", bind={"L": 8, "M": 7})
    assert done.max_diff == 0.0


def test_an_onnx_trace_that_keeps_a_threshold_is_refused(tmp_path: Path) -> None:
    """Window attention over a symbolic map: below the window's size (3) its shift is off, a decision the
    trace keeps as the traced map's (7). At 8 the file is right; at 3 it computed something else silently
    (review 8), so the export is also run at about half and twice each size, and refused."""
    pytest.importorskip("onnxruntime")
    text = "input: [H, W, 8]\nlayers:\n  - window_attention: {heads: 2, window: 3, shift: 1}\n"
    with pytest.raises(BuildError) as err:
        export(text, tmp_path / "w.onnx", "onnx")
    assert "runs only at the sizes it was traced at (H=7, W=7, batch 2); at H=3, W=3" in str(err.value)
    assert not (tmp_path / "w.onnx").exists()
