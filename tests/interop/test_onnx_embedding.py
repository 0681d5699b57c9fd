"""ONNX in: ``nn.Embedding`` is a ``Gather`` of an initializer's rows by an int64 input (token ids): it imports
as netspec's embedding with a long input, and the import's own check runs onnxruntime on ids within the table.
Expected outputs are onnxruntime's; the count is torch's."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from netspec.interop.onnx_import import import_onnx  # noqa: E402
from netspec.layers.sequence.embedding import Embedding  # noqa: E402


class Bag(nn.Module):
    """Token ids -> embedding -> mean over the steps -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.emb, self.fc = nn.Embedding(30, 8), nn.Linear(8, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(self.emb(ids)).mean(1))


def test_an_embedding_imports_with_a_long_input(tmp_path):
    torch.manual_seed(0)
    model = Bag().eval()
    path = tmp_path / "bag.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randint(0, 30, (2, 5)), str(path), dynamo=False, input_names=["ids"],
                          dynamic_axes={"ids": {0: "N", 1: "T"}})
    done = import_onnx(path)
    assert done.spec["input"] == {"shape": ["T"], "dtype": "long"}
    assert any(Embedding.KIND in layer for layer in done.spec["layers"])
    assert done.params == sum(p.numel() for p in model.parameters())
    assert done.checked == "onnxruntime" and done.max_diff is not None and done.max_diff < 1e-5
