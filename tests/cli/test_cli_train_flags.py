"""Review of 2026-11-30 (new user): `--data` names and paths, a folder that is not a run directory,
non-finite numbers in float flags, negative numbers as predict inputs, and hints in their own JSON field."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from train_support import MLP3

from netspec.cli.main import main

MLP = MLP3

IMG = """
name: img
input: [1, 8, 8]
layers:
  - flatten
  - dense: 2
train: {epochs: 1, batch_size: 8, device: cpu, seed: 0, threads: 1}
"""


def _cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture()
def here(tmp_path, monkeypatch):
    """A working folder with the specs, an image folder imgs/<class>/*.png and a few other paths."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlp.yaml").write_text(MLP, encoding="utf-8")
    (tmp_path / "img.yaml").write_text(IMG, encoding="utf-8")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (8, 8)).astype(np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    (tmp_path / "plain").mkdir()
    (tmp_path / "bin.yaml").write_text("a: 1\n", encoding="utf-8")
    return tmp_path


# --- 2. --data: an existing path is a path; a file of another type says which types are read -------------------
def test_data_names_an_existing_image_folder_without_dot_slash(here, capsys):
    rc, out, err = _cli(capsys, "build", "img.yaml", "--data", "imgs", "--dry-run")
    assert rc == 0, err
    assert "image folder" in out and "(6 images, 2 classes)" in out  # 2 sub-folders of 3 images, made above


@pytest.mark.parametrize("name", ["images", "folder"])
def test_a_folder_named_as_a_kind_of_data_is_that_folder(here, capsys, name):
    (here / "imgs").rename(here / name)  # 'images' and 'folder' name the kind 'folder', which needs a path
    rc, out, err = _cli(capsys, "build", "img.yaml", "--data", name, "--dry-run")
    assert rc == 0 and "(6 images, 2 classes)" in out, err


def test_data_names_an_existing_plain_folder_as_a_folder(here, capsys):
    rc, _, err = _cli(capsys, "build", "img.yaml", "--data", "plain", "--dry-run")
    assert rc == 1 and "plain has no class sub-folders" in err and "unknown value" not in err, err


@pytest.mark.parametrize("value", ["./bin.yaml", "bin.yaml"])
def test_a_file_of_an_unsupported_type_says_so_and_lists_the_types(here, capsys, value):
    rc, _, err = _cli(capsys, "build", "mlp.yaml", "--data", value, "--dry-run")
    assert rc == 1, err
    assert "'.yaml' is not a type of data file" in err and "does not exist" not in err, err
    assert all(t in err for t in (".npz", ".npy", ".pt", ".csv", "folder of images")), err


def test_a_data_set_name_wins_over_a_folder_of_that_name_with_a_note(here, capsys):
    (here / "digits").mkdir()
    rc, _, err = _cli(capsys, "build", "img.yaml", "--data", "digits", "--dry-run")
    # the bundled digits were read (10 classes for the spec's 2 outputs: refused), not the empty folder
    assert rc == 1 and "data 'digits' has 10 classes" in err and "write --data ./digits" in err, err


def test_neither_a_name_nor_a_path_is_a_usage_error_with_a_guess(here, capsys):
    rc, _, err = _cli(capsys, "build", "mlp.yaml", "--data", "digitz", "--dry-run")
    assert rc == 2 and "neither a data set" in err and "did you mean 'digits'?" in err, err


# --- 3. a folder that is not a run directory ----------------------------------------------------------
def test_predict_on_an_empty_folder_says_it_is_not_a_run_directory(here, capsys):
    (here / "adir").mkdir()
    rc, _, err = _cli(capsys, "predict", "mlp.yaml", "--checkpoint", "adir", "1,2,3")
    assert rc == 2 and "adir is a folder but not a run directory" in err and "last.pt or best.pt" in err, err
    assert "using its last.pt" not in err, err


# --- 4. non-finite numbers in float flags -------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--lr", "--val-split", "--momentum", "--weight-decay", "--warmup", "--clip-norm",
                                  "--clip-value"])
@pytest.mark.parametrize("typed", ["nan", "inf", "NaN", "1e999"])
def test_non_finite_float_flags_say_finite_and_show_the_value_as_typed(here, capsys, flag, typed):
    with pytest.raises(SystemExit) as exit_:
        main(["build", "mlp.yaml", flag, typed, "--dry-run"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"{flag}: must be a finite number, got {typed}" in err and ".nan" not in err and ".inf" not in err, err


def test_a_float_flag_that_is_not_a_number_shows_it(here, capsys):
    with pytest.raises(SystemExit):
        main(["build", "mlp.yaml", "--lr=-inf", "--dry-run"])
    assert "--lr: must be a finite number, got -inf" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["build", "mlp.yaml", "--lr", "fast", "--dry-run"])
    assert "--lr: must be a number, got 'fast'" in capsys.readouterr().err


# --- 5. negative numbers as predict inputs ------------------------------------------------------------
@pytest.fixture()
def trained(here, capsys):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    np.savez(here / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    assert main(["build", "mlp.yaml", "--data", "d.npz", "--out", "run", "-q"]) == 0
    capsys.readouterr()
    return here / "run" / "last.pt"


@pytest.mark.parametrize("order", ["after", "before"])
def test_predict_takes_inputs_that_start_with_a_minus(trained, capsys, order):
    text = "-0.5,1,2"
    args = ["--checkpoint", "run/last.pt", text] if order == "after" else [text, "--checkpoint", "run/last.pt"]
    rc, out, err = _cli(capsys, "predict", "mlp.yaml", *args)
    assert rc == 0, err
    # the network by hand: dense(3 -> 4), relu, dense(4 -> 1); one logit, sigmoid = P(class 1)
    w = torch.load(trained, weights_only=True)["model"]
    h = torch.relu(torch.tensor([-0.5, 1.0, 2.0]) @ w["dense_1.weight"].T + w["dense_1.bias"])
    p1 = float(torch.sigmoid(h @ w["dense_2.weight"].T + w["dense_2.bias"]))
    assert out.startswith(f"{text}: class {int(p1 > 0.5)}"), out
    assert f"1: {p1:.1%}" in out and f"0: {1 - p1:.1%}" in out, out
    assert not math.isnan(p1)


def test_predict_takes_several_negative_inputs_and_still_checks_first(trained, capsys):
    rc, out, err = _cli(capsys, "predict", "mlp.yaml", "--checkpoint", "run/last.pt", "-1e-3,2,3", "-1,-2,-3")
    assert rc == 0 and out.count("class") == 2, err
    rc, _, err = _cli(capsys, "predict", "mlp.yaml", "--checkpoint", "run/last.pt", "--first", "-3")
    assert rc == 2 and "--first must be a whole number ≥ 1, got -3" in err, err
    for text in ("-inf,1,2", "-NaN,1,2"):  # an input, not an unknown flag; refused as not finite
        rc, _, err = _cli(capsys, "predict", "mlp.yaml", "--checkpoint", "run/last.pt", text)
        assert rc == 1 and f"'{text}': an input value is not finite" in err, err


# --- 6. the hint in its own JSON field ------------------------------------------------------------------
def _json_problem(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["ok"] is False and len(doc["problems"]) == 1
    return rc, doc["error"], doc["problems"][0]


def test_build_json_puts_a_data_errors_hint_in_its_field(here, capsys):
    np.save(here / "xo.npy", np.zeros((10, 3), dtype=np.float32))
    rc, kind, p = _json_problem(capsys, "build", "mlp.yaml", "--data", "xo.npy", "--json")
    assert rc == 1 and kind == "data"
    assert "hint" not in p["message"] and "\n" not in p["message"] and "no targets" in p["message"], p
    assert p["hint"].startswith("save both"), p


@pytest.mark.parametrize("args, kind, hint", [
    (["--data", "digitz"], "usage", "did you mean 'digits'?"),  # a UsageError with a hint line
    (["--optimizer", "adamm"], "usage", "did you mean 'adam' or 'adamw'?"),  # a flag value's guess
    (["--data", "bin.yaml"], "data", "give a file of one of the types"),
])
def test_build_json_gives_every_error_kinds_hint_its_field(here, capsys, args, kind, hint):
    rc, got_kind, p = _json_problem(capsys, "build", "mlp.yaml", *args, "--json")
    assert got_kind == kind and p["hint"].startswith(hint), p
    assert "hint:" not in p["message"] and "did you mean" not in p["message"], p


def test_a_refused_command_line_gives_its_guess_as_the_hint(here, capsys):
    with pytest.raises(SystemExit):
        main(["build", "mlp.yaml", "--lrr", "3", "--json"])
    p = json.loads(capsys.readouterr().out)["problems"][0]
    assert p["message"] == "unrecognized arguments: --lrr 3" and p["hint"] == "did you mean '--lr'?", p
