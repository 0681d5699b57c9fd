"""Classification: integer labels, cross-entropy (or binary cross-entropy for one output), accuracy."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from netspec.core.errors import DataError
from netspec.core.types import fmt_shape
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.synthetic import captions, logic, parity, sentiment, trees
from netspec.train.tasks.base import (
    Task,
    axis_note,
    embedding_vocab,
    last_layer,
    listed,
    loss_note,
    make_loss,
    need_classes,
    output_meaning,
    register_task,
)

SYNTHETIC = ("parity", "logic", "sentiment", "captions", "trees")
TOKENS = 64  # sentiment/trees: default vocabulary (10 marker words + filler), at most the network's
# the loss over class scores, by what the network's output values are (else cross-entropy on logits)
LOSS_OF_MEANING = {"distribution": "nll_of_probs", "log_distribution": "nll"}


@register_task("classification")
class Classification(Task):
    HAS_ACCURACY = True
    DEFAULT_DATA = "digits"
    DEFAULT_TOKEN_DATA = "sentiment"  # synthetic token classification

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        want, out = self.input_type, self.output_type
        self.n_inputs = len(self.first_net.inputs) if len(self.graph.networks) == 1 else 1
        if self.data_name in SYNTHETIC:
            data, k, desc = self._synthetic()
        else:
            if self.n_inputs > 1 and self.data_name in ("npz", "pt"):
                data, desc = D.named_inputs(cfg, dict(self.first_net.inputs), self.name)
                y = data.tensors[-1]
                k = int(y.max()) + 1 if not y.is_floating_point() and y.numel() and y.dim() == 1 else None
            elif self.n_inputs > 1:
                raise DataError(f"the network '{self.first_net.name}' takes {self.n_inputs} inputs "
                                f"({', '.join(self.first_net.inputs)}); data '{self.data_name}' gives one"
                                + ("\n    hint: 'data: trees' gives token ids and a parse tree"
                                   if any(n.family == "recursive" for n in self.first_net.nodes) else
                                   "\n    hint: an .npz or .pt file with one array per input, named after it, and "
                                   "the targets 'y'"))
            else:
                data, k, desc = D.labelled(cfg.model_copy(update={"name": self.data_name}), want,
                                           self.input_name, train=True, targets_for=self.name)
        read_val: Callable[[], Any] | None = None  # none for generated data: it has no validation file
        if isinstance(data, TensorSet):
            y = data.tensors[-1]
            if y.is_floating_point():
                raise DataError(f"classification needs integer class labels; the data's targets are floats "
                                f"{D.describe_shape(y)}\n    hint: use 'task: regression' for real-valued targets")
            self._check_label_shape(y, desc)
        if self.data_name not in SYNTHETIC and self.n_inputs > 1:
            def read_val() -> Any:
                return D.named_inputs(cfg, dict(self.first_net.inputs), self.name, train=False)[0]
        elif self.data_name not in SYNTHETIC:
            classes = D.folder_classes(data)  # an image folder's: its validation folder's labels
            self.classes = classes

            def read_val() -> Any:
                return D.labelled(cfg.model_copy(update={"name": self.data_name}), want, self.input_name,
                                  train=False, targets_for=self.name, classes=classes)[0]
        data, val = self.held_out(data, read_val)
        need_classes(k, out, self.last_net.name, f"data '{self.data_name}'")
        width = out.shape[-1] if out.shape else None
        if k is not None and isinstance(width, int) and 2 <= k < width:  # legal, but rarely what is meant
            self.notes.append(f"data '{self.data_name}' has {k} classes and the network '{self.last_net.name}' "
                              f"{width} outputs: outputs {k}–{width - 1} are never a target")
        for part, name in ((data, f"the data {desc}"), (val, "the validation data")):
            if isinstance(part, TensorSet):
                self._check_label_values(part.tensors[-1], name)
        self._setup_loss()
        return DataBundle(data, val, desc, num_classes=k)

    classes: list[str] | None = None  # an image folder's class names, in the order that numbers them

    def state_dict(self) -> dict[str, Any]:
        """The class names of an image folder trained on (what each output is): a checkpoint keeps them, for
        eval and predict on another folder to number its classes the same way."""
        return {"classes": list(self.classes)} if self.classes else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.classes = list(state["classes"]) if isinstance(state.get("classes"), list) else self.classes

    def _check_label_shape(self, y: torch.Tensor, desc: str) -> None:
        """One label per sample for a (C,) output, one per step for a (T, C) output: else a clear refusal."""
        out = self.output_type.shape
        per_sample = tuple(y.shape[1:])
        want = tuple(out[:-1]) if out else ()
        if D.dims_match(per_sample, want):
            return
        hint = ""
        if len(out) >= 2 and len(self.input_type.shape) == 2 and self.input_type.dtype == "float":
            hint = "\n    hint: a sequence output: 'task: forecasting' with 'data: sine' predicts the next step"
        elif len(out) >= 2:
            hint = "\n    hint: a classifier ends in one score vector per sample (e.g. flatten, then dense)"
        raise DataError(f"task '{self.name}': data '{self.data_name}' has labels of shape {fmt_shape(per_sample)} per "
                        f"sample, but the network '{self.last_net.name}' outputs {fmt_shape(out)}: classification "
                        f"needs a (classes,) output (or (T, classes) with one label per step){hint}")

    def check_targets(self, y: torch.Tensor, what: str) -> None:
        """Labels of a file given to ``predict``: class indices the network has outputs for."""
        if y.is_floating_point():
            raise DataError(f"{what} are not whole numbers: classification needs class labels 0 … classes − 1")
        self._check_label_values(y, what)

    def _check_label_values(self, y: torch.Tensor, what: str) -> None:
        """Class labels are indices 0 … classes − 1 (0/1 for a one-output head): a negative label (or
        one past the output) would fail in a later batch, or (−100) be silently ignored."""
        if y.is_floating_point() or not y.numel():
            return
        width = self.output_type.shape[-1] if self.output_type.shape else 1
        top = 2 if width == 1 else width if isinstance(width, int) else None
        lo, hi = int(y.min()), int(y.max())
        bad = lo if lo < 0 else hi if top is not None and hi >= top else None
        if bad is None:
            return
        count = int(((y < 0) | (y >= top if top is not None else False)).reshape(len(y), -1).any(1).sum())
        raise DataError(f"{what}: class label {bad} is out of range ({count} sample{'s' if count != 1 else ''} "
                        "with such labels): class "
                        f"labels must be 0 … {top - 1 if top is not None else 'classes − 1'} for the network "
                        f"'{self.last_net.name}' with output {fmt_shape(self.output_type.shape)}"
                        + ("\n    hint: a one-output head takes 0/1 labels" if width == 1 else
                           "\n    hint: relabel the classes from 0, or widen the last layer"))

    def _synthetic(self) -> tuple[TensorSet, int, str]:
        """parity, logic, sentiment, captions and trees, shaped for the network's input."""
        cfg, name = self.cfg.data, self.data_name
        want, out, seed = self.input_type, self.output_type, self.cfg.seed
        shape = want.shape
        T = shape[0] if shape and isinstance(shape[0], int) else cfg.length
        if name == "parity":
            data = parity(cfg.samples, int(T), seed)
            x = data.tensors[0]
            if want.dtype == "long" and len(shape) == 1:
                x = x[..., 0].long()  # bits as token ids 0/1
            x = D.check_fit(x, want, self.input_name,
                            "parity gives (length, 1) float bits, or (length,) ids for a long input")
            return TensorSet(x, data.tensors[1]), 2, f"parity ({cfg.samples} bit sequences of {T})"
        if name == "logic":
            if len(shape) != 1 or not isinstance(shape[0], int) or want.dtype != "float":
                raise D.mismatch(self.input_name, torch.zeros(1, 2), want, "logic data gives (inputs,) 0/1 vectors")
            width = out.shape[-1] if out.shape and isinstance(out.shape[-1], int) else 1
            if len(out.shape) != 1 or width != 1:
                raise DataError(f"logic data for classification needs one output unit (a binary head); the network "
                                f"'{self.last_net.name}' outputs {fmt_shape(out.shape)}\n    hint: for several "
                                f"outputs (one gate each) use 'task: regression' (with 'loss: bce' for sigmoid units)")
            gates = list(cfg.gates or ["and"])
            if len(gates) != 1:
                raise DataError(f"logic data: {len(gates)} gates given for one output")
            data = logic(cfg.samples, int(shape[0]), gates, cfg.noise, seed)
            return (TensorSet(data.tensors[0], data.tensors[1][:, 0].long()), 2,
                    f"logic ({gates[0]} of {shape[0]} inputs, {len(data)} rows"
                    + (f", noise std {cfg.noise})" if cfg.noise else ")"))
        if name == "sentiment":
            vocab = cfg.vocab or min(embedding_vocab(self.first_net) or TOKENS, TOKENS)
            if want.dtype == "long" and len(shape) == 1:
                data = sentiment(cfg.samples, int(T), int(vocab), seed)
                kind = "token ids"
            elif want.dtype == "float" and len(shape) == 2 and isinstance(shape[1], int):
                data = sentiment(cfg.samples, int(T), int(cfg.vocab or TOKENS), seed, features=int(shape[1]))
                kind = f"{shape[1]}-d word vectors"
            else:
                raise D.mismatch(self.input_name, torch.zeros(1, int(T), dtype=torch.long), want,
                                 "sentiment data gives (T,) token ids, or (T, F) word vectors for a float input")
            return data, 2, (f"sentiment ({cfg.samples} synthetic reviews of {T} {kind}; label: more "
                             f"positive than negative marker words)")
        if name == "captions":
            if len(shape) != 1 or not isinstance(shape[0], int) or want.dtype != "float":
                raise D.mismatch(self.input_name, torch.zeros(1, 1, 1), want, "captions data gives (features,) vectors")
            if len(out.shape) != 2 or not isinstance(out.shape[-1], int):
                raise DataError(f"captions data gives one token per step; the network '{self.last_net.name}' must "
                                f"output (T, vocabulary) scores, it outputs {fmt_shape(out.shape)}")
            L = out.shape[0] if isinstance(out.shape[0], int) else cfg.length
            vocab = int(out.shape[-1])
            data = captions(cfg.samples, int(shape[0]), int(L), vocab, seed)
            return data, vocab, f"captions ({cfg.samples} vectors of 10 kinds, each kind's {L}-token caption)"
        # trees
        inputs = list(self.first_net.inputs.values())
        if self.n_inputs != 2 or inputs[0].dtype != "long" or len(inputs[0].shape) != 1 \
                or inputs[1].dtype != "long" or len(inputs[1].shape) != 2:
            raise DataError(f"trees data gives (L,) token ids and an (L − 1, 2) tree; the network "
                            f"'{self.first_net.name}' takes " + ", ".join(
                                f"{n} {fmt_shape(t.shape)} {t.dtype}" for n, t in self.first_net.inputs.items()))
        L = shape[0] if isinstance(shape[0], int) else cfg.length
        vocab = cfg.vocab or min(embedding_vocab(self.first_net) or TOKENS, TOKENS)
        data = trees(cfg.samples, int(L), int(vocab), seed)
        return data, 5, (f"trees ({cfg.samples} random parse trees over {L} tokens; label: positive − negative "
                         f"marker words, clipped to −2..2)")

    def _setup_loss(self) -> None:
        width = self.output_type.shape[-1] if self.output_type.shape else 1
        meaning = output_meaning(self.last_net)
        self.binary = width == 1
        self.surrogate = None
        if self.binary and meaning == "binary":
            # A Heaviside step has no gradient: train through its input (the net sum w·x + b) as a
            # logit, with binary cross-entropy; predictions stay the step (net ≥ 0 ↔ logit ≥ 0).
            self.surrogate = step_input_module(self.raw_nets[self.first_net.name]) \
                if len(self.graph.networks) == 1 and self.n_inputs == 1 else None
            if self.surrogate is None:
                raise DataError(f"the network '{self.last_net.name}' ends in a step activation, which has no "
                                f"gradient, and its input could not be found to train through\n    hint: use "
                                f"'activation: sigmoid' for training")
        name = self.cfg.loss
        if name == "auto":
            if self.surrogate is not None:
                name = "bce_logits"
            elif self.binary:
                name = "bce" if meaning == "probability" else "bce_logits"
            else:
                name = LOSS_OF_MEANING.get(meaning, "cross_entropy")
        if self.binary and name in ("cross_entropy", "nll", "nll_of_probs"):
            # one unit: a class distribution over it is always 1, and over the batch's flattened scores it would
            # mix the samples (F.cross_entropy reads an (N,) vector as one sample of N classes)
            node = last_layer(self.last_net)
            at = f"{node.location}: " if node is not None and node.location is not None else ""
            raise DataError(f"{at}the loss {name} needs one score per class, but the output of "
                            f"'{self.last_net.name}' has one unit (a binary classifier)\n    hint: loss bce_logits "
                            "(or bce after a sigmoid), or loss auto; or two output units for two classes")
        if not self.binary and name in ("bce", "bce_logits"):
            # integer labels, one per sample: binary cross-entropy reads a 0/1 target of the output's own shape
            node = last_layer(self.last_net)
            at = f"{node.location}: " if node is not None and node.location is not None else ""
            raise DataError(f"{at}the loss {name} reads one 0/1 target per output value, but classification "
                            f"gives one class number per sample and the output of '{self.last_net.name}' has "
                            f"{width} units\n    hint: loss cross_entropy (or auto); {name} is for one output unit "
                            "(a binary classifier)")
        self.loss_name = name
        note = (loss_note(self.last_net, name) or axis_note(self.last_net, name)) if self.cfg.loss == "auto" else None
        if note:
            self.notes.append(note)
        self.loss_fn = make_loss(name)
        self.smoothing = self.cfg.task.label_smoothing

    def split(self, batch: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        return batch[:self.n_inputs], batch[self.n_inputs]

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        xs, y = self.split(batch)
        out = self.surrogate(*xs) if self.surrogate is not None else self.forward(*xs)
        if self.binary:
            out = out.reshape(-1)
            yf = y.float()
            if self.smoothing:
                yf = yf * (1 - self.smoothing) + 0.5 * self.smoothing
            loss = self.loss_fn(out, yf)
            pred = (out > (0.5 if self.loss_name == "bce" else 0.0)).long()
            if self.surrogate is not None:
                pred = (out >= 0).long()
        else:
            if y.dim() > 1:  # one label per step: (N, T, C) scores, (N, T) labels
                out, y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
            if self.smoothing and self.loss_name == "cross_entropy":
                loss = F.cross_entropy(out.float(), y, label_smoothing=self.smoothing)
            else:
                loss = self.loss_fn(out.float(), y)
            pred = out.argmax(-1)
        acc = (pred == y).float().mean()
        return loss, {"accuracy": acc.detach()}

    def predict(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        out = self.forward(x, *more).float()
        if self.binary:
            p = out if self.loss_name == "bce" or self.surrogate is not None else torch.sigmoid(out)
            return torch.cat([1 - p.reshape(-1, 1), p.reshape(-1, 1)], 1)
        if self.loss_name == "nll_of_probs":
            return out
        return out.softmax(-1) if self.loss_name != "nll" else out.exp()

    def describe_prediction(self, probs: torch.Tensor) -> list[str]:
        if probs.dim() > 2:  # a class per step: the likeliest one of each (the first PREVIEW steps)
            return ["classes " + listed([str(int(c)) for c in row.reshape(-1, row.shape[-1]).argmax(-1)], self.every,
                                        " ", "steps") for row in probs.cpu()]
        lines = []
        names = self.classes or []
        for row in probs.cpu():
            top = row.topk(min(3, row.numel()))
            named = [f"{int(i)} {names[int(i)]}" if int(i) < len(names) else str(int(i)) for i in top.indices]
            lines.append("class " + named[0] + "  (" + ", ".join(
                f"{k}: {float(v):.1%}" for v, k in zip(top.values, named)) + ")")
        return lines


def step_input_module(model: Any) -> Any:
    """A copy of a torch.fx network that returns the input of its final step activation (sharing the
    parameters), or None when the output is not a step applied last."""
    import copy

    import torch.fx as fx

    from netspec.layers.torch.activations import Step, heaviside_step

    if not isinstance(model, fx.GraphModule):
        return None
    graph = copy.deepcopy(model.graph)
    out = next(n for n in graph.nodes if n.op == "output")
    arg = out.args[0]
    if not isinstance(arg, fx.Node):
        return None
    is_step = (arg.op == "call_function" and arg.target is heaviside_step) or (
        arg.op == "call_module" and isinstance(model.get_submodule(str(arg.target)), Step))
    if not is_step:
        return None
    out.args = (arg.args[0],)
    graph.erase_node(arg)
    return fx.GraphModule(model, graph)
