"""The task interface, the registry and the helpers the families share.

A task family is one class in its own file, registered with ``@register_task("name")`` and listed
in :mod:`netspec.train.tasks`. It decides which data it needs (:meth:`Task.load_data`), which
parameter groups get optimizers (:meth:`Task.param_groups`), what one training step does
(:meth:`Task.train_step`, by default a single backward/step through :meth:`StepContext.backward`) and
how it is evaluated. The loop that runs the steps (the trainer, a :class:`StepContext`) owns
everything else: devices, mixed precision, schedules, clipping, checkpoints, logging, distribution.

Steps return a dict of per-batch *means* as detached tensors (``loss`` always; ``accuracy`` where it
applies), plus ``n`` (samples in the batch); the trainer weights them by ``n`` without synchronising
the device.

Tasks read the spec through the closed IR only: a node's family, the activation its output went
through (and what that activation's values mean, :data:`netspec.layers.activations.ACTIVATIONS`),
whether it only moves values (``shape_only``) and its parameter shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.core.errors import DataError, NetspecError
from netspec.core.types import TensorType, fmt_shape
from netspec.ir.graph import Graph, NetGraph, Node
from netspec.layers.activations import ACTIVATIONS
from netspec.spec.train import FILE_DATASETS, TASKS, TrainConfig
from netspec.train import data as D
from netspec.train.batching import DataBundle, split


@runtime_checkable
class StepContext(Protocol):
    """What a task's steps use of the loop that runs them (:class:`netspec.train.loop.Trainer` is one)."""

    @property
    def device(self) -> torch.device: ...

    @property
    def epoch(self) -> int: ...  # 0-based, the epoch being trained

    def autocast(self) -> AbstractContextManager[Any]:
        """The mixed-precision context of forward passes."""
        ...

    def aux_loss(self) -> torch.Tensor | float:
        """The model's auxiliary losses (activity regularization, the VAE's KL), summed."""
        ...

    def backward(self, loss: torch.Tensor, index: int = 0, params: list[nn.Parameter] | None = None) -> None:
        """Backward, clip, step optimizer ``index`` and zero its gradients."""
        ...

    def zero_grad(self, index: int) -> None:
        """Drop the gradients held for optimizer ``index``."""
        ...


# --- the registry ------------------------------------------------------------------------------------
_TASKS: dict[str, type["Task"]] = {}


def register_task(*names: str) -> Callable[[type["Task"]], type["Task"]]:
    """Class decorator registering a task family under its names (each one of ``spec.train.TASKS``).

    Raises:
        RuntimeError: a name registered twice, or one the ``train:`` schema does not accept (bugs).
    """

    def deco(cls: type[Task]) -> type[Task]:
        for name in names:
            if name in _TASKS:
                raise RuntimeError(f"task '{name}' registered twice ({_TASKS[name].__name__}, {cls.__name__})")
            if name not in TASKS:
                raise RuntimeError(f"task '{name}' is not one of netspec.spec.train.TASKS")
        for name in names:
            _TASKS[name] = cls
        cls.NAMES = names
        return cls

    return deco


def registered_tasks() -> dict[str, type["Task"]]:
    """Task name -> family class, for every family imported so far (see :mod:`netspec.train.tasks`)."""
    return dict(_TASKS)


# --- reading the IR ------------------------------------------------------------------------------------
def nodes_of(graph: Graph) -> list[Node]:
    return [n for g in graph.networks.values() for n in g.nodes]


def infer_task(graph: Graph) -> str:
    """The task a spec most likely wants when ``train.task`` is not given."""
    nets = graph.networks
    nodes = nodes_of(graph)
    if "generator" in nets and "discriminator" in nets:
        return "gan"
    if any(n.family == "generative" for n in nodes):
        return "vae"
    energy = sum(n.family == "energy" for n in nodes)
    if energy:
        return "dbn" if energy > 1 else "rbm"
    if "encoder" in nets and "decoder" in nets and any(t.dtype == "long" for g in nets.values()
                                                       for t in g.inputs.values()):
        return "seq2seq"
    first, last = next(iter(nets.values())), list(nets.values())[-1]
    vocab = vocab_of(first.nodes[0]) if len(nets) == 1 and first.nodes else None
    if vocab is not None:
        x = next(iter(first.inputs.values()))
        width = next(iter(first.output_types().values())).shape
        if len(x.shape) == 1 and isinstance(x.shape[0], int) and width and width[-1] == vocab:
            return "word2vec"  # fixed-size context ids -> scores over the same vocabulary
    x, y = next(iter(first.inputs.values())), next(iter(last.output_types().values()))
    if x.dtype == "float" and tuple(x.shape) == tuple(y.shape):
        return "reconstruction"
    distribution = any(n.family == "activation" and output_meaning_of(n.output_activation) in
                       ("distribution", "log_distribution") for n in nodes)
    if x.dtype == "float" and len(x.shape) == 2 and len(y.shape) >= 1 and y.shape[-1] == x.shape[-1] \
            and not distribution:
        return "forecasting"
    return "classification"


def output_activation(net: NetGraph, output: str | None = None) -> str | None:
    """The activation (``sigmoid``, ``softmax``, ...) an output of ``net`` went through last, looking
    through layers that only move values or are identities in evaluation (a softmax then a flatten, a
    dropout or an identity ends in the softmax); None."""
    ref = net.outputs[output] if output else next(iter(net.outputs.values()))
    while True:
        try:
            node = net.node(ref.src)
        except KeyError:
            return None  # a network input
        if node.output_activation is not None or not (node.shape_only or node.eval_identity) \
                or len(node.inputs) != 1:
            return node.output_activation
        ref = node.inputs[0]


def transformed_activation(net: NetGraph, output: str | None = None) -> tuple[str, Node] | None:
    """When an output's values were made probabilities (sigmoid, softmax, log_softmax) and then changed
    by a later layer (a layer_scale after a softmax): that activation and the first layer that changed
    them; None otherwise (the loss then reads :func:`output_activation` as it is)."""
    if output_activation(net, output) is not None:
        return None
    ref = net.outputs[output] if output else next(iter(net.outputs.values()))
    changed: Node | None = None
    for _ in range(len(net.nodes)):
        try:
            node = net.node(ref.src)
        except KeyError:
            return None
        if node.output_activation is not None:
            if changed is not None and output_meaning_of(node.output_activation) is not None:
                return node.output_activation, changed
            return None
        if not (node.shape_only or node.eval_identity):
            changed = node
        if len(node.inputs) != 1:
            return None
        ref = node.inputs[0]
    return None


_MEANING_WORDS = {"distribution": "probabilities summing to 1", "log_distribution": "log-probabilities",
                  "probability": "probabilities", "binary": "0/1 values", "bounded": "within [-1, 1]"}


def loss_note(net: NetGraph, loss: str, output: str | None = None) -> str | None:
    """Why the automatic loss reads an output as scores although a probability-making activation comes
    before it (issue 11: the trainer says which loss it chose and why); None when nothing is unusual."""
    found = transformed_activation(net, output)
    if found is None:
        return None
    act, node = found
    meaning = _MEANING_WORDS.get(output_meaning_of(act) or "", "what it made")
    return (f"note: the output of '{net.name}' goes through {node.name} ({node.label}) after the {act}: its values "
            f"are no longer {meaning}, so the loss is {loss}, which reads "
            f"them as unnormalized scores\n    hint: end the network in the {act} (or nothing) to have the loss "
            f"follow it, or choose the loss with train.loss / --loss")


def output_meaning_of(activation: str | None) -> str | None:
    """What an activation's values are: ``probability``, ``distribution``, ``log_distribution``,
    ``binary``, ``bounded``; None for unbounded scores (or no activation)."""
    return ACTIVATIONS[activation].output if activation is not None else None


def off_class_axis(net: NetGraph, output: str | None = None) -> tuple[Node, str] | None:
    """When an output's last activation makes values summing to 1 (softmax, log_softmax) over an axis that
    is not the last axis of the output (where a classification loss reads the classes): that node and
    why (``over axis 0 of (T, 2)``, ``then reshaped to (10,)``); None otherwise. Elementwise activations
    (sigmoid) make per-value probabilities, which no move of values changes."""
    found = _values_of(net, output)
    if found is None:
        return None
    node, ref, moved = found
    if output_meaning_of(node.output_activation) not in ("distribution", "log_distribution"):
        return None
    axis = node.normalized_axis
    out = node.outputs[ref.key] if ref.key in node.outputs else node.out
    if axis is None or not out.shape:
        return None
    if axis % len(out.shape) != len(out.shape) - 1:
        return node, f"over axis {axis} of its {fmt_shape(out.shape)} output, not the last (the classes)"
    for m in reversed(moved):  # from the activation towards the output
        before, after = m.in_types[0].shape, m.out.shape
        if _unit_stripped(before) == _unit_stripped(after):
            continue  # the same values in the same runs: a flatten of (1, C), a dropout
        return node, (f"over the last axis of {fmt_shape(before)}, which {m.name} ({m.label}) then makes "
                      f"{fmt_shape(after)}: the last axis of the output no longer holds those values")
    return None


def _unit_stripped(shape: Sequence[Any]) -> tuple[Any, ...]:
    """A per-sample shape without its leading 1s ((1, 10) and (10,) hold their values alike)."""
    shape = tuple(shape)
    while len(shape) > 1 and shape[0] == 1:
        shape = shape[1:]
    return shape


def output_meaning(net: NetGraph, output: str | None = None) -> str | None:
    """What the values of an output of ``net`` are (see :func:`output_meaning_of`), as a loss reading
    classes on the last axis sees them: values normalized over another axis (:func:`off_class_axis`) are
    scores (None)."""
    meaning = output_meaning_of(output_activation(net, output))
    if meaning in ("distribution", "log_distribution") and off_class_axis(net, output) is not None:
        return None
    return meaning


def axis_note(net: NetGraph, loss: str, output: str | None = None) -> str | None:
    """Why the automatic loss reads an output as scores although a softmax (or log_softmax) ends it: the
    softmax normalizes over another axis than the classes (:func:`off_class_axis`); None otherwise."""
    found = off_class_axis(net, output)
    if found is None:
        return None
    node, why = found
    at = f" at {node.location}" if node.location is not None else ""
    return (f"note: the {node.output_activation} {node.name}{at} of '{net.name}' normalizes {why}; its values are "
            f"not class probabilities, so the loss is {loss}, which reads them as unnormalized scores\n"
            f"    hint: to have the classes normalized, write the {node.output_activation} over the last "
            f"axis ('axis: -1', the default) at the end of the network, or choose the loss with train.loss / --loss")


def last_layer(net: NetGraph, output: str | None = None) -> Node | None:
    """The layer whose values an output holds: the one :func:`output_activation` reads (looking through
    layers that only move values); None for an output that is a network input."""
    found = _values_of(net, output)
    return found[0] if found is not None else None


def _values_of(net: NetGraph, output: str | None = None) -> tuple[Node, Any, list[Node]] | None:
    """The layer whose values an output holds, the reference read from it, and the layers between them that
    only move values (the output's first); None for an output that is a network input."""
    ref = net.outputs[output] if output else next(iter(net.outputs.values()))
    moved: list[Node] = []
    while True:
        try:
            node = net.node(ref.src)
        except KeyError:
            return None
        if node.output_activation is not None or not (node.shape_only or node.eval_identity) \
                or len(node.inputs) != 1:
            return node, ref, moved
        moved.append(node)
        ref = node.inputs[0]


def activation_making(meaning: str) -> str:
    """The name of the first activation whose values mean ``meaning`` (``probability``: the sigmoid), for
    hints (kind names are read from the activation table, never spelled here)."""
    return next(name for name, a in ACTIVATIONS.items() if a.output == meaning)


# what each loss reads: the output meanings it fits (None: unbounded scores, logits)
LOSS_READS: dict[str, tuple[str, tuple[str | None, ...]]] = {
    "bce": ("probabilities in (0, 1)", ("probability", "distribution")),
    "nll": ("log-probabilities", ("log_distribution",)),
    "nll_of_probs": ("probabilities summing to 1", ("distribution",)),
    "cross_entropy": ("unnormalized scores (logits; it applies the softmax itself)", (None, "log_distribution")),
    "bce_logits": ("unnormalized scores (logits; it applies the sigmoid itself)", (None,)),
}


def loss_fit(net: NetGraph, loss: str, output: str | None = None) -> tuple[bool, str] | None:
    """Whether a loss chosen by the user fits what an output's values are (:func:`output_meaning`):
    None when it does (or the loss reads any values: mse, l1, ...); else (refuse, message). Refused where
    the values cannot be what the loss reads (bce on log-probabilities or on tanh's [-1, 1], nll on
    probabilities); a warning where the loss works against the values (bce or nll on unbounded scores,
    a second softmax or sigmoid over probabilities), the values being unknown or the loss still training."""
    if loss not in LOSS_READS:
        return None
    reads, fits = LOSS_READS[loss]
    meaning = output_meaning(net, output)
    if meaning in fits:
        return None
    node = last_layer(net, output)
    if node is None:
        return None
    at = f" at {node.location}" if node.location is not None else ""
    act = node.output_activation if meaning is not None else None
    changed = transformed_activation(net, output) if meaning is None else None
    what = (f"{act} values: {_MEANING_WORDS.get(meaning or '', meaning)}" if act is not None
            else f"the values of a {changed[0]} changed by it, no longer what the {changed[0]} made" if changed
            else f"{node.output_activation} values: unbounded" if node.output_activation
            else "no activation: unbounded scores")
    where = f"the output of '{net.name}' comes from {node.name} ({node.label}){at} with {what}"
    sig, soft, logsoft = (activation_making(m) for m in ("probability", "distribution", "log_distribution"))
    if loss == "bce":
        why = ("bce clamps its input to [1e-7, 1 − 1e-7], so values outside (0, 1) give no gradient"
               if meaning is None or meaning == "bounded" else "log-probabilities are ≤ 0, outside (0, 1)")
        hint = (f"loss bce_logits (it applies the {sig} itself), or end the network in a {sig}"
                if meaning is None else f"end the network in a {sig}, or loss auto")
        refuse = meaning is not None
    elif loss in ("nll", "nll_of_probs"):
        why = ("on other values nll is minus the value of the class, unbounded below (it goes negative and "
               "never settles)" if meaning is None else "on these values nll is not a log-likelihood")
        hint = (f"loss cross_entropy (it applies the {soft} itself), or end the network in a {logsoft}"
                if meaning is None else f"end the network in a {logsoft}, or loss auto (it follows the {act})")
        refuse = meaning is not None
    elif loss == "cross_entropy":
        why = (f"cross_entropy applies a {soft} itself: a second one over probabilities flattens the scores "
               f"and slows learning" if meaning == "distribution" else
               f"cross_entropy applies a {soft} itself over values that are already squashed")
        hint = (f"drop the {act} (the loss applies it), or loss auto (nll of the probabilities)"
                if meaning == "distribution" else f"drop the {act}, or loss auto")
        refuse = False
    else:  # bce_logits
        why = f"bce_logits applies a {sig} itself: a second one over probabilities squashes them into (0.5, 0.73)"
        hint = f"drop the {act} (the loss applies it), or loss bce" if meaning == "probability" else \
            f"drop the {act}, or choose another loss"
        refuse = False
    text = f"the loss {loss} reads {reads}, but {where}: {why}\n    hint: {hint} (train.loss, or --loss)"
    return refuse, text if refuse else "warning: " + text


def make_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    eps = 1e-7
    table: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "cross_entropy": F.cross_entropy,
        "nll": F.nll_loss,
        "nll_of_probs": lambda p, y: F.nll_loss(torch.log(p.clamp_min(eps)), y),
        "mse": F.mse_loss,
        "l1": F.l1_loss,
        "smooth_l1": F.smooth_l1_loss,
        "huber": F.huber_loss,
        "bce": lambda p, y: F.binary_cross_entropy(p.float().clamp(eps, 1 - eps), y.float()),
        "bce_logits": lambda z, y: F.binary_cross_entropy_with_logits(z.float(), y.float()),
    }
    return table[name]


def run_networks(nets: dict[str, nn.Module], graph: Graph, feeds: dict[str, torch.Tensor],
                 stop_after: str | None = None) -> dict[str, Any]:
    """Run the networks of a spec in dependency order. ``feeds`` gives the external inputs by input name
    (or ``network.input``); an input ``from: net[.output]`` takes that network's output. Returns each
    network's output (a tensor, or a dict by output name when it has several)."""
    results: dict[str, Any] = {}
    for name, net in graph.networks.items():
        args = []
        for iname, source in net.input_sources.items():
            if source is None:
                key = f"{name}.{iname}" if f"{name}.{iname}" in feeds else iname
                if key not in feeds:
                    raise NetspecError(f"no data for input '{iname}' of network '{name}'")
                args.append(feeds[key])
            else:
                dep, _, out = source.partition(".")
                value = results[dep]
                args.append(value[out] if out else (next(iter(value.values())) if isinstance(value, dict) else value))
        out = nets[name](*args)
        if len(net.outputs) > 1:
            out = dict(zip(net.outputs, out))
        results[name] = out
        if name == stop_after:
            break
    return results


def with_aux(loss: torch.Tensor, aux: torch.Tensor | float) -> torch.Tensor:
    """``loss + aux``; a model without auxiliary losses (``aux`` the float 0.0) keeps ``loss`` itself:
    adding 0.0 changes no value and no gradient, but costs an operation and its backward node a step."""
    return loss + aux if isinstance(aux, torch.Tensor) or aux != 0.0 else loss


def first(value: Any) -> torch.Tensor:
    return next(iter(value.values())) if isinstance(value, dict) else value


class Task:
    """Base of every task family. Subclasses override what differs."""

    NAMES: ClassVar[tuple[str, ...]] = ()
    DEFAULT_DATA: ClassVar[str] = "digits"
    DEFAULT_TOKEN_DATA: ClassVar[str | None] = None  # the default for a network reading token ids (one long input)
    HAS_ACCURACY: ClassVar[bool] = False
    GENERATIVE: ClassVar[bool] = False  # writes a PNG grid of samples / reconstructions

    def __init__(self, name: str, cfg: TrainConfig, graph: Graph, nets: dict[str, nn.Module]) -> None:
        self.name = name
        self.cfg = cfg
        self.graph = graph
        self.nets = nets  # name -> module used for forward (maybe DDP/compiled); replaced by the trainer
        self.raw_nets = dict(nets)  # the plain modules (parameters, checkpoints)
        self.first_net = next(iter(graph.networks.values()))
        self.last_net = list(graph.networks.values())[-1]
        self.loss_name = cfg.loss
        self.notes: list[str] = []  # what the trainer says about its choices (the loss chosen and why)
        self.data_info: dict[str, Any] = {}
        self.every = False  # predict --all: every value of an output, not the first PREVIEW

    # --- data ---
    @property
    def data_name(self) -> str:
        if self.cfg.data.name != "auto":
            return self.cfg.data.name
        tokens = self.input_type.dtype == "long" and len(self.first_net.inputs) == 1
        return self.DEFAULT_TOKEN_DATA if tokens and self.DEFAULT_TOKEN_DATA else self.DEFAULT_DATA

    @property
    def input_name(self) -> str:
        return next(iter(self.first_net.inputs))

    @property
    def input_type(self) -> TensorType:
        return next(iter(self.first_net.inputs.values()))

    @property
    def output_type(self) -> TensorType:
        return next(iter(self.last_net.output_types().values()))

    def load_data(self) -> DataBundle:
        raise NotImplementedError

    def held_out(self, data: Any, read_val: Callable[[], Any] | None) -> tuple[Any, Any | None]:
        """(training, validation) sets of ``data``, the same way for every data source (in-memory arrays,
        an image folder, synthetic data): ``data.subset`` first (:func:`netspec.train.data.take_subset`),
        then the validation set ``read_val()`` reads from ``data.val_path`` when one is given, else the
        seeded ``val_split`` share of ``data``. ``read_val``: None where the task cannot read one.

        Raises:
            DataError: ``data.val_path`` given for a source without files (synthetic data, digits), or one
                the task does not read."""
        data = D.take_subset(self.cfg.data, data)
        if not self.cfg.data.val_path:
            return split(data, self.cfg.val_split, self.cfg.seed)
        if read_val is None or self.data_name not in FILE_DATASETS:
            source = (f"task '{self.name}' does not read a separate validation file of data '{self.data_name}'"
                      if read_val is None and self.data_name in (*FILE_DATASETS, "text")
                      else f"data '{self.data_name}' is not read from files")
            raise DataError(f"train.data.val_path {self.cfg.data.val_path}: {source}, so it has no separate "
                            f"validation set (expected val_path only with data {', '.join(FILE_DATASETS)})\n"
                            f"    hint: drop val_path; val_split (now {self.cfg.val_split}) holds out a share of "
                            f"the data for validation")
        return data, read_val()

    @property
    def loss_net(self) -> NetGraph:
        """The network whose output the loss reads."""
        return self.last_net

    def check_loss(self) -> None:
        """A loss chosen by the user (train.loss / --loss) that does not fit the output's values (see
        :func:`loss_fit`): refused, or a warning among the notes. The automatic loss follows the values.

        Raises:
            DataError: a loss that cannot be right for the output, with the last layer's location."""
        if self.cfg.loss == "auto":
            return
        found = loss_fit(self.loss_net, self.loss_name)
        if found is None:
            return
        refuse, text = found
        if refuse:
            raise DataError(text)
        self.notes.append(text)

    def monitored(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) is compared for the best epoch (best.pt) and counted by
        ``patience``: every epoch, unless a task trains in stages whose losses are not comparable (dbn)."""
        return True

    def stage_of(self, epoch: int) -> int | None:
        """The one optimizer (an index of :meth:`param_groups`) epoch ``epoch`` trains, whose schedule alone
        then reads the epoch's loss (reduce-on-plateau); None: every optimizer (the usual case)."""
        return None

    # --- model ---
    @property
    def net(self) -> nn.Module:
        """The single network (single-network specs)."""
        return self.nets[self.first_net.name]

    def forward(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        """The last network's output; ``more``: the further inputs of a multi-input network."""
        if len(self.graph.networks) == 1:
            return first_out(self.net(x, *more), self.first_net)
        feeds = dict(zip(self.first_net.inputs, (x, *more)))
        return first(run_networks(self.nets, self.graph, feeds)[self.last_net.name])

    n_inputs = 1  # leading tensors of a batch that are network inputs (the rest are targets)

    def dry_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One forward and backward without an optimizer step (``--dry-run``); returns the loss."""
        with ctx.autocast():
            loss, _ = self.loss(batch)
            loss = with_aux(loss, ctx.aux_loss())
        loss.backward()
        return loss.detach()

    def param_groups(self, model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
        """(name, parameters) for each optimizer; the default is one over everything trainable."""
        return [("model", [p for p in model.parameters() if p.requires_grad])]

    # --- steps ---
    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of a batch (a scalar with grad) and extra per-batch means (detached)."""
        raise NotImplementedError

    def train_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        with ctx.autocast():
            loss, extra = self.loss(batch)
            loss = with_aux(loss, ctx.aux_loss())
        ctx.backward(loss, 0)
        return {"loss": loss.detach(), **extra, "n": batch[0].shape[0]}

    @torch.no_grad()
    def eval_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        with ctx.autocast():
            loss, extra = self.loss(batch)
        return {"loss": loss.detach().float(), **extra, "n": batch[0].shape[0]}

    # --- outputs ---
    def sample_images(self, ctx: StepContext, val: Any) -> torch.Tensor | None:
        """(N, C, H, W) images in [0, 1] for the samples grid of generative tasks."""
        return None

    def predict(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.forward(*xs)

    def describe_samples(self, batch: tuple[torch.Tensor, ...]) -> list[str]:
        """One line per sample of a data batch (``predict --first``): the prediction from its inputs,
        and the target when it is a label (or a sequence of labels)."""
        n = self.n_inputs
        lines = self.describe_prediction(self.predict(*batch[:n]))
        if len(batch) > n and not batch[n].is_floating_point() and batch[n].dim() in (1, 2):
            lines = [f"{line}  [target {listed([str(int(v)) for v in t.reshape(-1).tolist()], self.every, ' ')}]"
                     for line, t in zip(lines, batch[n].cpu())]
        return lines

    def check_targets(self, y: torch.Tensor, what: str) -> None:
        """Refuse targets the task cannot score (``predict`` on a labelled file); raises DataError."""

    def parse_input(self, text: str) -> torch.Tensor | None:
        """A task-specific ``predict`` input (e.g. words for word2vec); None: not this task's form."""
        return None

    def describe_prediction(self, out: torch.Tensor) -> list[str]:
        """One line per sample: the output's shape, then its values (the first PREVIEW, unless ``every``)."""
        return [f"shape {fmt_shape(tuple(row.shape))}: "
                + listed([f"{v:.4g}" for v in row.flatten().tolist()], self.every) for row in out.float().cpu()]

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


PREVIEW = 16  # the values of one output predict prints, unless asked for all (predict --all)


def listed(items: Sequence[str], every: bool = False, sep: str = ", ", unit: str = "values") -> str:
    """``items`` joined; past PREVIEW (and not ``every``) cut there, with the cut said and the total:
    ``0.1, 0.2, … (16 of 784 values shown; predict --all prints every one)``."""
    if every or len(items) <= PREVIEW:
        return sep.join(items)
    return (sep.join(items[:PREVIEW]) + f"{sep}… ({PREVIEW} of {len(items)} {unit} shown; predict --all prints "
            f"every one)")


def first_out(value: Any, net: NetGraph) -> torch.Tensor:
    return value[0] if isinstance(value, tuple) else value


def need_classes(num_classes: int | None, out: TensorType, what: str, data: str = "the data") -> None:
    if num_classes is None or not out.shape:
        return
    width = out.shape[-1]
    if width == 1 and num_classes > 2:
        raise DataError(f"{data} has {num_classes} classes, but the network '{what}' has one output (a binary "
                        f"head: labels 0/1): the labels do not fit a 1-output head\n    hint: train it on binary "
                        f"data (e.g. 'data: sentiment' or 'parity' for sequences, 'logic' for vectors), or make "
                        f"the last layer 'dense: {num_classes}'")
    if isinstance(width, int) and width != 1 and num_classes > width:
        raise DataError(f"{data} has {num_classes} classes but the network '{what}' outputs {fmt_shape(out.shape)} "
                        f"scores\n    hint: make the last layer 'dense: {num_classes}'")


def vocab_of(node: Node) -> int | None:
    """The vocabulary of an embedding layer (the rows of its weight); None for other layers."""
    return int(node.params["weight"][0]) if node.family == "embedding" else None


def token_limits(net: NetGraph) -> dict[str, int]:
    """Network input name -> the vocabulary of the embedding layers that read it directly: its token ids
    must lie in 0 … vocabulary − 1."""
    limits: dict[str, int] = {}
    for n in net.nodes:
        vocab = vocab_of(n)
        if vocab is None:
            continue
        for ref in n.inputs:
            if ref.src in net.inputs:
                limits[ref.src] = min(limits.get(ref.src, vocab), vocab)
    return limits


def check_token_ids(task: "Task", data: Any, what: str) -> None:
    """Refuse token ids outside an embedding's vocabulary anywhere in an in-memory data set (torch would
    fail on the batch holding the first one, however late in the run). ``what`` names the data in the
    message (``training data``, ``evaluation data``, ``the input '500,3'``).

    Raises:
        DataError: naming the input, the offending id and the vocabulary."""
    tensors = getattr(data, "tensors", None)
    if tensors is None or len(task.graph.networks) != 1:
        return
    limits = token_limits(task.first_net)
    for i, name in enumerate(task.first_net.inputs):
        if name not in limits or i >= len(tensors) or tensors[i].is_floating_point() or not tensors[i].numel():
            continue
        t = tensors[i]
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= limits[name]:
            bad = lo if lo < 0 else hi
            # where in a sample (the sample's number here is after the split and shuffle, not the file's)
            first = (t == bad).nonzero()[0].tolist()[1:]
            at = f" (at position {', '.join(map(str, first))} of a sample)" if first else ""
            raise DataError(f"the {what} has the token id {bad}{at} for the input '{name}', whose embedding "
                            f"takes ids 0 … {limits[name] - 1} (a vocabulary of {limits[name]})\n    hint: map "
                            f"the tokens into the vocabulary (0 for unknown words), or enlarge the embedding's vocab")


def input_sizes(net: NetGraph, shapes: Sequence[Sequence[int]]) -> dict[str, int]:
    """The sizes the data gives to the symbolic dims of ``net``'s inputs (``{"T": 30}``), read off the
    per-sample ``shapes`` of the tensors fed to its inputs, in order."""
    bind: dict[str, int] = {}
    for t, shape in zip(net.inputs.values(), shapes):
        if len(shape) == len(t.shape):
            for want, have in zip(t.shape, shape):
                if isinstance(want, str):
                    bind.setdefault(want, int(have))
    return bind


def embedding_vocab(net: NetGraph) -> int | None:
    """The vocabulary of the first embedding layer (token data is drawn from it), or None."""
    return next((v for n in net.nodes if (v := vocab_of(n)) is not None), None)


_MISMATCH_WORDS = ("target", "size", "shape", "dimension", "mismatch", "out of bounds", "index", "expected",
                   "must match", "broadcast", "same number")


def step_failure(task: "Task", batch: tuple[torch.Tensor, ...], exc: BaseException, when: str) -> DataError | None:
    """A DataError for an exception from a task's step that looks like a data/target mismatch (a shape,
    size or index complaint from torch), naming the task, the network output and the batch; None for
    anything else (which then propagates unchanged)."""
    if isinstance(exc, NetspecError) or not isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError)):
        return None
    text = str(exc).strip()
    if "out of memory" in text.lower() or not any(w in text.lower() for w in _MISMATCH_WORDS):
        return None
    first_line = text.splitlines()[0] if text else type(exc).__name__
    n = max(1, getattr(task, "n_inputs", 1))
    inputs = ", ".join(f"{tuple(t.shape[1:])} {str(t.dtype).replace('torch.', '')}" for t in batch[:n])
    targets = ", ".join(f"{tuple(t.shape[1:])} {str(t.dtype).replace('torch.', '')}" for t in batch[n:])
    return DataError(
        f"task '{task.name}' failed on {when}: the data does not fit the network: the network "
        f"'{task.last_net.name}' outputs {fmt_shape(task.output_type.shape)} per sample, the inputs are "
        f"{inputs or '?'} and the targets {targets or '(none)'} per sample\n"
        f"    torch said: {type(exc).__name__}: {first_line}\n"
        f"    hint: choose a task and data set that fit the network's output (train: task / data), "
        f"see docs/training.md")


def as_images(x: torch.Tensor) -> torch.Tensor | None:
    """Best effort: (N, C, H, W) or flattened square images -> (N, C, H, W) in [0, 1]; else None."""
    x = x.detach().float().cpu()
    if x.dim() == 4 and x.shape[1] in (1, 3):
        pass
    elif x.dim() == 3:
        x = x.unsqueeze(1)
    elif x.dim() == 2:
        import math

        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1]:
            x = x.reshape(-1, 1, side, side)
        elif x.shape[1] % 3 == 0 and math.isqrt(x.shape[1] // 3) ** 2 * 3 == x.shape[1]:
            s = math.isqrt(x.shape[1] // 3)
            x = x.reshape(-1, 3, s, s)
        else:
            return None
    else:
        return None
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        x = (x - lo) / max(hi - lo, 1e-8)
    return x
