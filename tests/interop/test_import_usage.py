"""``netspec import --input``: every malformed size list is a usage error (exit 2) that names the bad part
and the expected form, before the model is built; a well-formed one imports the model, which computes the
same function (torch at run time)."""

from __future__ import annotations

import pytest
import torch.nn as nn
import yaml
from import_support import same_function, sample

from netspec.cli.main import main
from netspec.core.errors import UsageError
from netspec.interop.importer import import_model

MODEL = ("import torch.nn as nn\n\nBUILT = []\n\n\ndef net():\n    BUILT.append(1)\n"
         "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())\n")


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    return path


@pytest.mark.parametrize("given, names", [
    ("3,4y", "size 2 of '3,4y' is '4y'"),  # neither a number nor a name (`3,x` is a name: test_import_symbolic)
    ("3,T=", "size 2 of '3,T=' is 'T='"),
    ("3,,32", "size 2 of '3,,32' is empty"),  # was read as [3, 32]
    ("3,32,32,", "size 4 of '3,32,32,' is empty"),
    (",3", "size 1 of ',3' is empty"),
    ("3,-1", "size 2 of '3,-1' is '-1'"),
    ("3,2.5", "size 2 of '3,2.5' is '2.5'"),
    ("3,²", "size 2 of '3,²' is '²'"),  # a digit to str.isdigit, not to int()
    ("3,0,4", "size 2 of '3,0,4' is 0"),
    ("x", "of 'x' is empty"),  # 3x4 spelling: two empty sizes
    ("3.5", "the size is '3.5'"),
    ("", "the size is empty"),
    ("3," + "9" * 5000, "from 1 to 16777216"),  # bounded before int() reads it
    (",".join(["2"] * 9), "at most 8 axes"),
    ("3,100000,100000", "values per sample"),
])
def test_a_malformed_input_shape_is_a_usage_error_naming_the_part(model_file, capsys, given, names):
    assert main(["import", f"{model_file}:net", f"--input={given}", "--no-check"]) == 2
    err = capsys.readouterr().err
    assert names in err, err
    assert "e.g. 3,224,224" in err or "at most" in err or "values per sample" in err or "from 1 to" in err
    assert "Traceback" not in err


def test_a_rejected_shape_is_rejected_before_the_model_is_built(tmp_path, capsys):
    (tmp_path / "probe_never_loaded.py").write_text("raise SystemExit('built')\n")
    assert main(["import", f"{tmp_path / 'probe_never_loaded.py'}:net", "--input=3,100000,100000"]) == 2
    assert "values per sample" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["3,6,6", "3x6x6", " 3, 6 ,6 "])
def test_a_well_formed_input_shape_imports_the_same_function(model_file, tmp_path, capsys, given):
    out = tmp_path / "net.yaml"
    assert main(["import", f"{model_file}:net", f"--input={given}", "-o", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["input"] == [3, 6, 6]
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())
    same_function(out.read_text(), model, sample([3, 6, 6]))


@pytest.mark.parametrize("shape", [[3, 0], [3, -2], [3, 2.5], [True], [], [4096, 4096, 8]])
def test_the_api_refuses_a_bad_input_shape_as_a_usage_error(shape):
    with pytest.raises(UsageError):
        import_model(nn.Sequential(nn.Linear(3, 2)), shape)
