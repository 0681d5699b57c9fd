"""Graph IR -> ``torch.nn.Module``.

Each network becomes a ``torch.fx.GraphModule``: one ``call_module`` per node at its dotted name
(so ``dict(model.named_modules())[node.name]`` is that layer), the activation shorthand as a
``call_function`` after it. fx generates plain Python for ``forward``, so there is no per-forward
interpretation overhead and the module works under ``torch.compile``.

Like a hand-written torchvision model, ReLU-type activations and the residual add run in place where
that is invisible to the caller and to autograd (:func:`run_in_place`); the numbers, gradients
included, are the same as without (``in_place=False``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from netspec.backends.torch.init import initialise
from netspec.core.errors import BuildError
from netspec.core.fmt import human_bytes
from netspec.core.sizes import numeric_product
from netspec.core.types import Ref
from netspec.ir.graph import Graph, NetGraph, Node
from netspec.layers.torch.activations import activation_fn
from netspec.layers.torch.attention import GroupedQueryAttention, MultiheadAttention
from netspec.layers.torch.merge import Add


class NetworkModule(fx.GraphModule):
    """A compiled network: an fx GraphModule that remembers its netspec graph.

    ``train()`` leaves the frozen layers that keep state (:func:`frozen_stateful`) in eval mode, so
    fine-tuning changes neither their parameters nor their running statistics, under any trainer."""

    netspec_graph: NetGraph
    netspec_frozen: tuple[str, ...] = ()

    def train(self, mode: bool = True) -> NetworkModule:
        super().train(mode)
        if mode:
            for name in self.netspec_frozen:
                self.get_submodule(name).eval()
        return self

    def __deepcopy__(self, memo: dict) -> NetworkModule:  # fx's copy keeps only the graph and the modules
        copied = super().__deepcopy__(memo)
        copied.netspec_graph, copied.netspec_frozen = self.netspec_graph, self.netspec_frozen
        return copied


def frozen_stateful(nodes: Iterable[Node]) -> tuple[str, ...]:
    """The layers that stay in eval mode in training: ``trainable: false`` (on the layer or an
    enclosing group) and with buffers (a batch norm's running statistics), as torchvision's
    ``FrozenBatchNorm2d``. Read from the IR's flags and buffer shapes, not from layer kinds."""
    return tuple(n.name for n in nodes if not n.trainable and n.buffers and n.shared is None)


def compile_graph(graph: Graph, network: str | None = None, in_place: bool = True) -> nn.Module:
    """Compile one network (a GraphModule) or, for a spec with several, all of them (ModuleDict).

    ``in_place=False`` keeps every activation and add out of place (see :func:`run_in_place`).
    """
    if network is not None or len(graph.networks) == 1:
        return compile_network(graph.network(network), in_place)
    return nn.ModuleDict({name: compile_network(g, in_place) for name, g in graph.networks.items()})


def available_memory() -> int | None:
    """Bytes of memory the system could give this process now (Linux's ``MemAvailable``); None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(net: NetGraph | Sequence[NetGraph], copies: int = 1, why: str = "", *,
                 optimizer: tuple[str, int, int] | None = None, device: torch.device | None = None) -> None:
    """Refuse, before allocating anything, a network whose parameters and buffers alone (``copies`` of them:
    a check that builds the network twice, ``why`` says so) need more host memory than is available (the
    process would be killed, or the machine would swap, part-way through). Nothing is checked where the
    default device is not the CPU (``with torch.device("meta")`` allocates nothing) or where the available
    memory is unknown.

    Training (``optimizer`` given: the optimizer in words, e.g. ``"adam keeps exp_avg, exp_avg_sq, step"``, the
    tensors of a parameter's size it keeps per trainable parameter, and those of one element, as
    ``netspec.train.schedule.optimizer_state`` reads them from torch's optimizers) also counts, for every
    trainable parameter of the networks given (a GAN's train together), its gradient (one of its size) and
    the optimizer's state, against the memory of ``device`` (the host's available memory for the CPU, the
    free memory of a CUDA device; others are not checked). Activations are not counted: they grow with the
    batch and the input's size (``netspec check`` reports them per batch), and come on top, so a run this
    check passes may still run out of memory at a large batch; DistributedDataParallel's gradient buckets
    (another gradient's size) are not counted either.

    Raises:
        BuildError: with the sizes, what they consist of, and what to do instead.
    """
    nets = [net] if isinstance(net, NetGraph) else list(net)
    if torch.empty(0).device.type != "cpu":
        return
    real = torch.empty(0).element_size()  # the default dtype's (float32: 4 B)
    need = sum(n.params * real + sum(numeric_product(shape) * (8 if node.buffer_dtypes.get(b) == "long" else real)
                                     for node in n.nodes for b, shape in node.own_buffers.items()) for n in nets)
    name = ", ".join(n.name for n in nets)
    if optimizer is None:
        free = available_memory()
        if free is not None and need * copies > free:
            twice = f" ({copies} × {human_bytes(need)}: {why})" if copies > 1 else ""
            raise BuildError(f"{name}: its parameters and buffers need {human_bytes(need * copies)}{twice}, more "
                             f"than the {human_bytes(free)} of memory available\n    hint: 'netspec check' counts it "
                             "without building it; in Python, build it on torch's meta device (with "
                             "torch.device('meta'): netspec.compile(...)) to see shapes without data, or use a "
                             "machine with more memory")
        return
    what, full, scalars = optimizer
    device = device if device is not None else torch.device("cpu")
    if device.type == "cpu":
        free, where = available_memory(), "of memory available"
    elif device.type == "cuda":
        free, where = torch.cuda.mem_get_info(device)[0], f"free on {device}"
    else:
        return
    trainable = sum(n.trainable for n in nets)
    tensors = sum(1 for n in nets for node in n.nodes if node.trainable and node.shared is None
                  for p in node.params if p not in node.tied)
    grads = trainable * real
    state = (full * trainable + scalars * tensors) * real  # torch keeps "step" in the default dtype too
    total = need + grads + state
    if free is None or total <= free:
        return
    raise BuildError(
        f"{name}: training needs about {human_bytes(total)} before any activation, more than the "
        f"{human_bytes(free)} {where}: {human_bytes(need)} of parameters and buffers, {human_bytes(grads)} of "
        f"gradients ({trainable:,} trainable parameters) and {human_bytes(state)} of optimizer state "
        f"({what}: {full} of each trainable parameter's size" + (f" and {scalars} of one element)" if scalars else ")")
        + "\n    hint: a smaller batch will not help (none of this depends on it): train a smaller model, freeze "
        "layers (trainable: false: no gradient, no state), use an optimizer with less state (sgd without momentum "
        "keeps none; adam and adamw keep two per weight), or a machine with more memory")


def compile_network(net: NetGraph, in_place: bool = True) -> nn.Module:
    """One network as a GraphModule whose submodules are registered in network order (so
    ``print(model)``, ``state_dict()`` and loading by position follow the spec).

    Raises:
        BuildError: a layer's torch module or its init refused (a netspec bug), or the weights do not fit
            in the available memory (:func:`check_memory`).
    """
    check_memory(net)
    root = nn.Module()
    g = fx.Graph()
    values: dict[Ref, fx.Node] = {}
    for name in net.inputs:
        values[Ref(name)] = g.placeholder(name)
    for node in net.nodes:
        target = node.shared or node.name  # a shared module is called again at its first name
        if node.shared is None:
            try:
                module = node.layer.build(list(node.in_types))
            except Exception as exc:  # a torch constructor refusing what the shape rule allowed is a netspec bug
                raise BuildError(f"{node.location or ''} {node.name}: building {node.kind} failed: {exc}") from exc
            try:
                initialise(module, node.init)
            except Exception as exc:  # a value torch.nn.init refuses that the spec's checks let through
                raise BuildError(f"{node.location or ''} {node.name}: initialising {node.kind} failed: {exc}; hint: "
                                 "check the layer's 'init:' values") from exc
            for pname, (owner, owner_param) in node.tied.items():  # the same Parameter: counted once, as torch does
                setattr(module, pname, root.get_submodule(owner).get_parameter(owner_param))
            if not node.trainable:
                for p in module.parameters():
                    p.requires_grad_(False)
            _place(root, node.name, module)
        args = tuple(values[r] for r in node.inputs)
        out = g.call_module(target, args)
        keys = list(node.outputs)
        if len(keys) == 1:
            values[Ref(node.name, keys[0])] = _activate(g, out, node)
        else:
            for i, key in enumerate(keys):
                values[Ref(node.name, key)] = g.call_function(operator.getitem, (out, i))
    outs = [values[r] for r in net.outputs.values()]
    g.output(outs[0] if len(outs) == 1 else tuple(outs))
    if in_place:
        run_in_place(g, root)
    module = NetworkModule(root, g, class_name=f"{net.name}")
    module.netspec_graph = net
    module.netspec_frozen = frozen_stateful(net.nodes)
    return module


def _place(root: nn.Module, name: str, module: nn.Module) -> None:
    """Register ``module`` at a dotted path, making the enclosing containers on first use (fx's own
    dict-of-modules route registers shallow names first, which puts a classifier before the blocks)."""
    *parents, leaf = name.split(".")
    for part in parents:
        if part not in root._modules:
            root.add_module(part, nn.Module())
        root = root._modules[part]  # type: ignore[assignment]
    root.add_module(leaf, module)


def _activate(g: fx.Graph, value: fx.Node, node: Node) -> fx.Node:
    name = node.activation
    if name is None:
        return value
    fn, kwargs = activation_fn(name)
    return g.call_function(fn, (value,), kwargs)


# Modules whose output is a new tensor (never their input or a view of it) that their backward does not
# read: an in-place operation on that output leaves the module's gradient intact. Exact types only: a
# subclass may compute differently. Sigmoid, tanh, softmax, ReLU itself... read their output: not here.
FRESH_OUTPUT = frozenset({
    nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm, MultiheadAttention,
    GroupedQueryAttention,
})
# Activations that have an in-place form whose backward reads the output instead of the input and gets
# the same gradient from it, bit for bit (x > 0 exactly when relu(x) > 0, and so on). ELU qualifies in
# place but computes its gradient as y + alpha instead of alpha·exp(x): not bit-identical, so not here.
IN_PLACE_FUNCTIONS = frozenset({F.relu, F.relu6, F.leaky_relu})
IN_PLACE_MODULES = frozenset({nn.ReLU, nn.ReLU6, nn.LeakyReLU})


class InPlaceAdd(Add):
    """:class:`Add` that sums into its first input when every input has that input's shape and dtype
    (else, e.g. broadcasting or under autocast, it adds out of place like ``Add``). The compiler uses it
    only where the first input is a fresh tensor nothing else reads."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        if all(x.shape == out.shape and x.dtype == out.dtype for x in xs[1:]):
            for x in xs[1:]:
                out = out.add_(x)
            return out
        return super().forward(*xs)


def run_in_place(g: fx.Graph, root: nn.Module) -> None:
    """Make the activations of :data:`IN_PLACE_FUNCTIONS` and :data:`IN_PLACE_MODULES` and :class:`Add` work in place
    on the value they consume when that is invisible: the value comes from a :data:`FRESH_OUTPUT`
    module (or an add), and the consumer is its only reader (not the network output, not two operands).
    Saves one full-size allocation and pass over memory per ReLU and per residual add, the gap to a
    hand-written ``ReLU(inplace=True)`` / ``out += identity`` model."""
    for node in g.nodes:
        if not node.args or not isinstance(node.args[0], fx.Node):
            continue
        value = node.args[0]
        if len(value.users) != 1 or node.args.count(value) != 1 or not _fresh(value, root):
            continue
        if node.op == "call_function" and node.target in IN_PLACE_FUNCTIONS:
            if node.kwargs.get("negative_slope", 0.0) >= 0:  # a negative slope cannot be undone from the output
                node.kwargs = {**node.kwargs, "inplace": True}
        elif node.op == "call_module":
            module = root.get_submodule(node.target)
            if type(module) in IN_PLACE_MODULES and getattr(module, "negative_slope", 0.0) >= 0:
                module.inplace = True
            elif type(module) is Add and len(node.args) > 1:
                _place(root, node.target, InPlaceAdd())


def _fresh(value: fx.Node, root: nn.Module) -> bool:
    if value.op != "call_module":
        return False
    module = root.get_submodule(value.target)  # type: ignore[arg-type]
    return type(module) in FRESH_OUTPUT or (type(module) in (Add, InPlaceAdd) and len(value.args) > 1)


def example_inputs(net: NetGraph, batch: int = 2, bind: dict[str, int] | None = None,
                   device: str | torch.device = "cpu", high: int = 2) -> tuple[torch.Tensor, ...]:
    """Random inputs of the network's input types (symbolic dims from ``bind``, default 7)."""
    out = []
    for t in net.inputs.values():
        shape = [batch, *((bind or {}).get(d, 7) if isinstance(d, str) else d for d in t.shape)]
        if t.dtype == "long":
            out.append(torch.randint(0, high, shape, device=device))
        else:
            out.append(torch.randn(shape, device=device))
    return tuple(out)
