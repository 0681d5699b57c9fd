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
