"""Every data source is held out, cut and read alike (review of 2026-12, issues 1 and 4): an image folder
takes ``val_split``, ``val_path`` and ``subset`` as in-memory arrays do; a source without files refuses
``val_path`` with a hint; training on a folder and ``predict`` on one of its files give the same tensor.
Expected counts are worked by hand in the comments; expected pixels come from Pillow itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from netspec.core.errors import DataError
from netspec.train import api
from netspec.train import data as D

SPEC = """name: imgnet
input: [3, 16, 16]
layers:
  - conv2d: {filters: 4, kernel: 3, activation: relu}
  - global_avg_pool
  - dense: 2
train:
  epochs: 1
  batch_size: 16
  device: cpu
  threads: 1
  seed: 5
"""


def images(folder, per_class: int, classes=("a", "b"), seed: int = 0) -> None:
    """``per_class`` random 20×24 RGB PNGs in each class sub-folder (not the input's 16×16: resized)."""
    rng = np.random.default_rng(seed)
    for c in classes:
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray((rng.random((20, 24, 3)) * 255).astype(np.uint8)).save(folder / c / f"{i}.png")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folders")
    images(tmp / "imgs", 30)
    images(tmp / "imgs_val", 5, seed=1)
    images(tmp / "only_b", 4, classes=("b",), seed=2)
    images(tmp / "extra", 2, classes=("a", "c"), seed=3)
    (tmp / "imgnet.yaml").write_text(SPEC, encoding="utf-8")
    return tmp


def sizes(tree, flags=None, sets=None):
    trainer = api.prepare(tree / "imgnet.yaml", {"data": str(tree / "imgs"), **(flags or {})}, sets,
                          write=False, quiet=True)
    val = trainer.data.val
    return len(trainer.data.train), (len(val) if val is not None else 0), trainer


@pytest.mark.parametrize("flags, train, val", [
    ({}, 54, 6),                       # 60 images, val_split 0.1 by default: round(6.0) = 6 held out
    ({"val_split": 0.2}, 48, 12),      # 60 × 0.2 = 12
    ({"val_split": 0.0}, 60, 0),
    ({"subset": 10}, 9, 1),            # 10 of the 60, then 10 × 0.1 = 1 held out
    ({"subset": 10, "val_split": 0.5}, 5, 5),
])
def test_a_folder_is_split_and_cut_like_arrays(tree, flags, train, val):
    assert sizes(tree, flags)[:2] == (train, val)


def test_the_split_is_disjoint_and_seeded(tree):
    _, _, one = sizes(tree)
    _, _, two = sizes(tree)
    files = lambda part: {part.dataset.items[i][0] for i in part.indices}  # noqa: E731
    assert not files(one.data.train) & files(one.data.val)
    assert len(files(one.data.train) | files(one.data.val)) == 60
    assert files(one.data.val) == files(two.data.val)  # the same seed, the same held-out images


def test_a_validation_folder_is_read(tree):
    n_train, n_val, _ = sizes(tree, sets=[f"data.val_path={tree / 'imgs_val'}"])
    assert (n_train, n_val) == (60, 10)  # all 60 train, the 5 + 5 of imgs_val validate


def test_a_validation_folder_takes_the_training_folders_class_numbers(tree):
    _, _, trainer = sizes(tree, sets=[f"data.val_path={tree / 'only_b'}"])
    labels = {int(trainer.data.val[i][1]) for i in range(len(trainer.data.val))}
    assert labels == {1}  # 'b' is the training folder's second class (a, b sorted), not its own first


def test_a_validation_folder_with_another_class_is_refused(tree):
    with pytest.raises(DataError) as err:
        sizes(tree, sets=[f"data.val_path={tree / 'extra'}"])
    text = str(err.value)
    assert "has the class folder c, which the training folder lacks (its classes: a, b)" in text and "hint:" in text


@pytest.mark.parametrize("spec, data", [
    ("name: m\ninput: [64]\nlayers:\n  - dense: 10\n", "digits"),
    ("name: m\ninput: [T, 1]\nlayers:\n  - lstm: 8\n  - dense: 1\ntrain: {task: forecasting}\n", "sine"),
    ("name: m\ninput: [64]\nlayers:\n  - dense: 16\n  - dense: 64\n", "digits"),
])
def test_val_path_is_refused_where_there_are_no_files(tmp_path, spec, data):
    (tmp_path / "m.yaml").write_text(spec, encoding="utf-8")
    with pytest.raises(DataError) as err:
        api.prepare(tmp_path / "m.yaml", {"data": data, "threads": 1}, [f"data.val_path={tmp_path}"],
                    write=False, quiet=True)
    text = str(err.value)
    assert "val_path" in text and f"data '{data}'" in text and "hint:" in text and "val_split" in text


def test_subset_cuts_synthetic_data_too(tmp_path):
    (tmp_path / "m.yaml").write_text("name: m\ninput: [T, 1]\nlayers:\n  - lstm: 8\n  - dense: 1\n"
                                     "train: {task: forecasting, data: {name: sine, samples: 100}}\n")
    trainer = api.prepare(tmp_path / "m.yaml", {"subset": 20, "threads": 1}, None, write=False, quiet=True)
    assert (len(trainer.data.train), len(trainer.data.val)) == (18, 2)  # 20 of 100, 20 × 0.1 = 2 held out


def test_eval_scores_a_folder_run_on_its_held_out_images(tree):
    api.train(tree / "imgnet.yaml", {"data": str(tree / "imgs")}, out=tree / "run", quiet=True)
    result = api.evaluate(tree / "imgnet.yaml", tree / "run" / "last.pt", {})
    assert (result["split"], result["samples"]) == ("validation", 6)


def test_training_and_predict_read_an_image_alike(tree):
    _, _, trainer = sizes(tree)
    folder = trainer.data.train.dataset
    path, _ = folder.items[0]
    trained = folder[0][0]
    predicted = api.read_input(str(path), trainer)[0]
    assert predicted.shape == (1, 3, 16, 16)
    assert torch.equal(predicted[0], trained)
    # the truth, from Pillow directly: RGB, resized to 16×16 with its default filter, / 255
    with Image.open(path) as im:
        want = np.asarray(im.convert("RGB").resize((16, 16)), dtype=np.float32) / 255.0
    assert torch.equal(trained, torch.from_numpy(want).permute(2, 0, 1))


def test_one_function_reads_image_files():
    assert D.ImageFolder.__getitem__.__code__.co_names.count("load_image") == 1
    assert "load_image" in D.read_image.__code__.co_names


def test_the_subset_help_says_what_happens(tmp_path, capsys):
    from netspec.cli.main import main

    with pytest.raises(SystemExit):
        main(["build", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    assert "--subset 200 with val_split 0.1 trains on 180 and validates on 20" in helped
    (tmp_path / "m.yaml").write_text("name: m\ninput: [64]\nlayers:\n  - dense: 10\n")
    trainer = api.prepare(tmp_path / "m.yaml", {"data": "digits", "subset": 200, "val_split": 0.1, "threads": 1},
                          None, write=False, quiet=True)
    assert (len(trainer.data.train), len(trainer.data.val)) == (180, 20)  # 200 × 0.1 = 20 held out


def folder_of(data):
    while not isinstance(data, D.ImageFolder):
        data = data.dataset
    return data


def grey_folder(folder, side: int) -> None:
    rng = np.random.default_rng(7)
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(6):
            Image.fromarray((rng.random((side, side)) * 255).astype(np.uint8), mode="L").save(folder / c / f"{i}.png")


def test_a_folder_is_binarized_for_an_rbm_as_arrays_are(tmp_path):
    grey_folder(tmp_path / "g", 8)
    (tmp_path / "r.yaml").write_text("name: r\ninput: [1, 8, 8]\nlayers:\n  - flatten\n  - rbm: 16\n"
                                     "train: {task: rbm, threads: 1, val_split: 0}\n")
    trainer = api.prepare(tmp_path / "r.yaml", {"data": str(tmp_path / "g")}, None, write=False, quiet=True)
    x = trainer.data.train[0][0]
    path = folder_of(trainer.data.train).items[0][0]  # val_split 0: item 0 is the folder's first image
    with Image.open(path) as im:  # the truth: Pillow's pixels / 255, then > 0.5
        want = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0 > 0.5).float()[None]
    assert torch.equal(x, want) and set(x.unique().tolist()) <= {0.0, 1.0}


def test_a_folder_is_scaled_to_minus_one_one_for_a_tanh_generator(tmp_path):
    from pathlib import Path

    grey_folder(tmp_path / "g", 28)
    specs = Path(__file__).resolve().parents[2] / "specs"
    trainer = api.prepare(specs / "gan.yaml", {"data": str(tmp_path / "g"), "threads": 1, "val_split": 0.0}, None,
                          write=False, quiet=True)
    x = trainer.data.train[0][0]
    path = folder_of(trainer.data.train).items[0][0]
    with Image.open(path) as im:  # the truth: Pillow's pixels / 255, then × 2 − 1
        want = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)[None] * 2 - 1
    assert torch.equal(x, want) and float(x.min()) < 0


def test_val_split_beside_val_path_is_said_to_be_unused(tmp_path, capsys):
    """A validation file replaces the share held out: val_split written in the spec, or given as a flag, is
    said to be ignored (at its line, or naming the flag), as every option the recipe does not take is."""
    import numpy as np

    from netspec.cli.main import main

    rng = np.random.default_rng(0)
    for name, n in (("bin.npz", 40), ("binv.npz", 20)):
        x = rng.standard_normal((n, 4)).astype(np.float32)
        np.savez(tmp_path / name, x=x, y=(x[:, 0] > 0).astype(np.int64))
    (tmp_path / "nv.yaml").write_text("name: nv\ninput: [4]\nlayers:\n  - dense: 2\ntrain:\n"
                                      "  data: {name: npz, path: bin.npz, val_path: binv.npz}\n  val_split: 0.5\n"
                                      "  device: cpu\n  threads: 1\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "nv.yaml"), "--dry-run"]) == 0
    said = capsys.readouterr()
    assert "nv.yaml:7:3: warning: train.val_split: ignored: data.val_path" in said.out + said.err
    assert main(["build", str(tmp_path / "nv.yaml"), "--dry-run", "--val-split", "0.3"]) == 0
    said = capsys.readouterr()
    assert "warning: --val-split 0.3: ignored: data.val_path" in said.out + said.err


def test_eval_on_another_folder_numbers_classes_as_training_did_or_is_refused(tree, tmp_path):
    """A folder numbers its classes by their sorted names: a model trained on a/b evaluated on a folder of b alone
    read b's images as class 0 (a). The checkpoint keeps the training classes; a folder whose classes number
    otherwise is refused, one with the same classes (or the first of them) is evaluated."""
    api.train(tree / "imgnet.yaml", {"data": str(tree / "imgs")}, out=tmp_path / "run", quiet=True)
    checkpoint = tmp_path / "run" / "last.pt"
    with pytest.raises(DataError, match=r"its classes \[b\] are numbered 0.., but .* was trained on \[a, b\]"):
        api.evaluate(tree / "imgnet.yaml", checkpoint, {"data": str(tree / "only_b")})
    done = api.evaluate(tree / "imgnet.yaml", checkpoint, {"data": str(tree / "imgs_val")})
    assert done["samples"] == 10 and done["split"] == "all"


def test_predict_names_the_folders_classes(tree, tmp_path):
    """A run trained on an image folder predicts classes by number and by the folder's name for them (the
    checkpoint keeps the names): ``class 1 b`` for a model whose output 1 is folder b's."""
    api.train(tree / "imgnet.yaml", {"data": str(tree / "imgs")}, out=tmp_path / "run", quiet=True)
    lines = api.predict(tree / "imgnet.yaml", tmp_path / "run" / "last.pt", [str(tree / "imgs" / "b" / "0.png")])
    text = "\n".join(lines if isinstance(lines, list) else [str(lines)])
    assert any(f"class {k} {name}" in text for k, name in ((0, "a"), (1, "b"))), text
