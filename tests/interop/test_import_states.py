"""A recurrent module's final state, as forward returns or uses it: imported where the spec computes the same
tensors (a row of the state, a state given to another recurrent layer as its initial state) and refused, with the
reason, where it cannot (the state itself returned: PyTorch's ``(layers·directions, batch, units)`` layout) —
never dropped. Every expected value is the model's own output, computed by torch at run time."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from import_support import sample

import netspec
from netspec.cli.main import main
from netspec.core.errors import BuildError
from netspec.interop.importer import NotImportable, import_model, verify


def same_outputs(text: str, model: nn.Module, x: torch.Tensor) -> None:
    """The spec has the model's parameter count and, with its state dict, returns the same tensors, as many."""
    report = netspec.check(text)
    assert report.ok, [str(f) for f in report.failures]
    assert report.graph.network().params == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(text, weights=model.state_dict()).eval()
    assert mine.netspec_weights.complete
    with torch.no_grad():
        a, b = mine(x), model.eval()(x)
    a = list(a) if isinstance(a, tuple) else [a]
    b = list(b) if isinstance(b, tuple) else [b]
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.shape == v.shape and torch.allclose(u, v, atol=1e-5), (u.shape, v.shape)


class Returns(nn.Module):
    """A recurrent layer whose state forward returns, whole or in part, in the ways people write it."""

    def __init__(self, cell: type, how: str) -> None:
        super().__init__()
        self.how = how
        self.rnn = cell(4, 8, num_layers=2, batch_first=True)

    def forward(self, x: torch.Tensor):
        if self.how == "raw":  # torch's (out, (h, c)) / (out, h) returned as it is
            return self.rnn(x)
        out, state = self.rnn(x)
        if self.how == "tuple":
            return out, state
        return out, (state[0] if isinstance(self.rnn, nn.LSTM) else state)[-1]  # "row": h[-1]


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("how", ["raw", "tuple"])
def test_a_returned_state_is_refused_never_dropped(cell, how):
    """The state in torch's layout cannot be a spec output: refused at the return, naming the state, with a hint
    (it was imported as the output alone, its state silently gone)."""
    with pytest.raises(NotImportable) as err:
        import_model(Returns(cell, how), [5, 4])
    text = str(err.value)
    assert "(layers·directions, batch, units)" in text and "hint: return or use the output" in text, text
    assert ("(h, c)" if cell is nn.LSTM else " h") in text, text


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_the_output_and_a_row_of_the_state_returned_are_two_outputs(cell):
    model = Returns(cell, "row")
    done = import_model(model, [5, 4])
    assert len(done.spec["outputs"]) == 2
    same_outputs(done.text, model, sample([5, 4]))


def test_the_cli_refuses_a_returned_state_as_a_user_error(tmp_path, capsys):
    src = tmp_path / "model.py"
    src.write_text("import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                   "        super().__init__()\n        self.lstm = nn.LSTM(4, 8, batch_first=True)\n\n"
                   "    def forward(self, x):\n        return self.lstm(x)\n")
    rc = main(["import", f"{src}:Net", "--input", "5,4", "-o", str(tmp_path / "net.yaml")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and "returns its (output, (h, c)) tuple" in err, err
    assert not (tmp_path / "net.yaml").exists()


class Chained(nn.Module):
    """An encoder's final state as a decoder's initial state, as seq2seq models pass it."""

    def __init__(self, cell: type, how: str) -> None:
        super().__init__()
        self.how = how
        self.enc = cell(4, 8, num_layers=2, batch_first=True)
        self.dec = cell(4, 8, num_layers=2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "unpacked":
            _, (h, c) = self.enc(x)
            out, _ = self.dec(x, (h, c))
        else:  # the state passed on whole
            _, state = self.enc(x)
            out, _ = self.dec(x, state)
        return self.fc(out)


@pytest.mark.parametrize("cell, how", [(nn.LSTM, "unpacked"), (nn.LSTM, "whole"), (nn.GRU, "whole"),
                                       (nn.RNN, "whole")])
def test_a_state_given_to_another_recurrent_layer_is_its_initial_state(cell, how):
    model = Chained(cell, how)
    done = import_model(model, [5, 4])
    dec = next(item for item in done.spec["layers"] if item["name"] == "dec")
    states = ["enc:h", "enc:c"] if cell is nn.LSTM else ["enc:h"]
    assert dec["from"] == ["input", *states], dec
    same_outputs(done.text, model, sample([5, 4]))
    # and the state matters: the same decoder from zeros computes something else (torch, run time)
    with torch.no_grad():
        x = sample([5, 4])
        zeros, _ = model.dec(x)
        assert not torch.allclose(model.fc(zeros), model(x), atol=1e-4)


class OwnInitial(nn.Module):
    """An initial state computed in forward, in torch's layout: no recurrent layer's state."""

    def __init__(self) -> None:
        super().__init__()
        self.init = nn.Linear(4, 8)
        self.gru = nn.GRU(4, 8, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x, torch.tanh(self.init(x[:, 0])).unsqueeze(0))
        return out


def test_an_initial_state_of_another_making_is_refused_at_the_layer():
    with pytest.raises(NotImportable) as err:
        import_model(OwnInitial(), [5, 4])
    assert "gru" in str(err.value) and "an initial state h other than another recurrent layer's final state" \
        in str(err.value), str(err.value)


class HiddenTuple(nn.Module):
    """``_, hidden = lstm(x)``: ``hidden[-1]`` is c, ``hidden[0]`` h (torch's (h, c) tuple, indexed from the end)."""

    def __init__(self, pick: int) -> None:
        super().__init__()
        self.pick = pick
        self.lstm = nn.LSTM(4, 8, num_layers=2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, hidden = self.lstm(x)
        return self.fc(hidden[self.pick][-1])


@pytest.mark.parametrize("pick, state", [(-1, "c"), (-2, "h"), (0, "h"), (1, "c")])
def test_the_state_tuple_indexed_from_either_end_reads_h_or_c(pick, state):
    model = HiddenTuple(pick)
    done = import_model(model, [5, 4])
    pool = next(item for item in done.spec["layers"] if "from" in item)
    assert pool["from"] == f"lstm:{state}", pool
    same_outputs(done.text, model, sample([5, 4]))


def test_the_check_counts_every_tensor_the_model_returns():
    """The import's own check compares as many outputs as the model returns: a spec with fewer is an error (it
    compared the first and passed)."""
    model = Returns(nn.GRU, "tuple")
    spec = "netspec: 1\nname: g\ninput: [5, 4]\nlayers:\n  - gru: {units: 8, layers: 2, return_sequences: true}\n" \
        "    name: rnn\n"
    with pytest.raises(BuildError, match=r"computes 1 output\(s\), the model returns 2 tensor\(s\)"):
        verify(spec, model, [5, 4])


class BatchFirstState(nn.Module):
    """The state made batch-first, ``(batch, layers·directions, units)``: netspec's own layout of it."""

    def __init__(self, cell: type, how: str) -> None:
        super().__init__()
        self.how = how
        self.rnn = cell(4, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * 2 * 8, 3)

    def forward(self, x: torch.Tensor):
        out, state = self.rnn(x)
        h = state[0] if isinstance(self.rnn, nn.LSTM) else state
        if self.how == "returned":
            return out, h.transpose(0, 1)
        if self.how == "permute reshape":
            return self.fc(h.permute(1, 0, 2).reshape(x.size(0), -1))
        return self.fc(h.transpose(0, 1).contiguous().view(x.size(0), -1))  # "view"


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("how", ["returned", "permute reshape", "view"])
def test_the_state_transposed_batch_first_is_the_layers_h(cell, how):
    model = BatchFirstState(cell, how)
    if how == "returned":
        del model.fc  # not called: no parameters of the model left out
    done = import_model(model, [5, 4])
    assert "rnn:h" in done.text, done.text
    same_outputs(done.text, model, sample([5, 4]))


class SameTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor):
        y = self.fc(x)
        return y, y


def test_a_tensor_returned_twice_is_refused_not_dropped():
    """The spec would list it once and return one tensor where the model returns two."""
    with pytest.raises(NotImportable, match="returns the same tensor more than once"):
        import_model(SameTwice(), [4])


class StatesJoined(nn.Module):
    """``h`` and ``c`` concatenated, then the last layer's row: a selection of several states at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.fc = nn.LSTM(4, 8, batch_first=True), nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, c) = self.lstm(x)
        return self.fc(torch.cat([h, c], dim=2)[-1])


def test_states_joined_before_a_row_is_read_are_refused_not_a_crash(tmp_path, capsys):
    """It was an internal error (exit 3: a list taken for one state); now a refusal naming the cat, with the
    layouts and what netspec imports."""
    with pytest.raises(NotImportable, match="reads recurrent states through call_function cat"):
        import_model(StatesJoined(), [5, 4])
