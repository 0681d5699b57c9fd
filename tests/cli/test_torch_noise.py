"""torch warnings the spec's author cannot act on stay out of build/predict output; the filter is exact
(the message torch really gives, nothing else)."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from netspec.cli.main import TORCH_NOISE, quiet_torch_noise
from tests.train_support import run_cli, write_spec

EVEN = """name: even
input: [1, 8, 8]
layers:
  - conv2d: {filters: 4, kernel: 4, padding: same}
  - flatten
  - dense: 10
train:
  data: {name: digits, subset: 128}
  epochs: 1
  device: cpu
  threads: 1
"""


def test_the_filtered_message_is_the_one_torch_gives():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        y = F.conv2d(torch.randn(1, 1, 8, 8), torch.randn(2, 1, 4, 4), padding="same")
    assert y.shape == (1, 2, 8, 8)
    assert any(str(w.message).startswith(TORCH_NOISE[0]) for w in seen), [str(w.message) for w in seen]


def test_the_filter_leaves_every_other_warning():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_torch_noise()
        warnings.warn(TORCH_NOISE[0] + " (and more)", UserWarning)
        warnings.warn("Using padding='same' in another way", UserWarning)
        warnings.warn(TORCH_NOISE[0], DeprecationWarning)  # another category
    assert [str(w.message) for w in seen] == ["Using padding='same' in another way", TORCH_NOISE[0]]


def test_build_and_predict_of_an_even_kernel_say_nothing_of_it(tmp_path):
    spec = write_spec(tmp_path, EVEN, "even.yaml")
    done = run_cli(["build", str(spec), "--out", str(tmp_path / "run"), "-q"])
    assert done.returncode == 0, done.stderr
    done2 = run_cli(["predict", str(spec), "--checkpoint", str(tmp_path / "run" / "last.pt"), "--first", "2"])
    assert done2.returncode == 0, done2.stderr
    for run in (done, done2):
        assert "Warning" not in run.stderr and "padding='same'" not in run.stderr, run.stderr
