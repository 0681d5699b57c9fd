"""Spec -> graph IR: walk each network's layers, inferring types and counting, statically.

Structure kinds (``Layer.COMPOSITE``) wire their children back through the :class:`Builder`
(the :class:`~netspec.layers.base.Composer` protocol). Errors are located once, here, at the layer
that failed; ``build_graph(partial=True)`` keeps what was built before a failure and records the
failing layer and its inputs on the graph, for the diagram to draw.

A block whose definition reads its input's type (``$in.channels``) reaches the builder as a deferred
group: :meth:`Builder.chain` expands it through the spec stage (``netspec.spec.expand.expand_deferred``,
then validation) once the type entering it is known, and builds what it made in its place.
"""

from __future__ import annotations

from typing import Any

from netspec.core.errors import (
    Location,
    NetspecError,
    Problem,
    ShapeError,
    SpecValidationError,
    UsageError,
    did_you_mean,
)
from netspec.core.fmt import show
from netspec.core.sizes import numeric_product
from netspec.core.source import PosDict, PosList
from netspec.core.types import Ref, TensorType, fmt_shape
from netspec.ir.graph import Failure, Graph, GroupInfo, NetGraph, Node
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import MAX_RANK, Ctx, Layer, check_layout, walk_layers
from netspec.layers.init import forms_hint
from netspec.spec.carried import ArgName, DeferredUse, arg_names, at_argument, deferred_use, use_context
from netspec.spec.expand import expand_deferred
from netspec.spec.load import dsl_terms, validate_layers
from netspec.spec.model import MAX_DIM, Network, Spec
from netspec.spec.problems import problems_from_errors

MAX_ELEMENTS = 1 << 40  # per tensor, per sample
MAX_PARAMS = 1 << 40
AT_ARGUMENT = "the argument '"  # in a message located at a block use's argument (no "used at" is added to it)

def _value_at(where: Location | None) -> Location | None:
    """The place of the value written at a key's place (the key's own when not recorded)."""
    return where.of_value() if where is not None else None


_IDENTITY = tuple(range(MAX_RANK + 1))  # axis orders that keep every axis in place are its prefixes


class Scope:
    """Names visible in one group; auto-names are ``kind_N`` per scope."""

    def __init__(self, prefix: str, parent: "Scope | None", where: Location | None, path: str) -> None:
        self.prefix = prefix
        self.parent = parent
        self.where = where
        self.path = path
        self.names: dict[str, Ref] = {}
        self.counters: dict[str, int] = {}
        self.children: list[str] = []
        self.info: GroupInfo | None = None
        self.short = ""  # this group's name in its parent scope
        # What a structure kind's `trainable:`/`init:` mean: the same for every layer inside it.
        self.frozen = parent.frozen if parent else False
        self.init: Any = parent.init if parent else None
        self.owner: Layer | None = None  # the structure item whose own init: this scope holds (checked at close)
        self.first_node = 0

    def full(self, short: str) -> str:
        return f"{self.prefix}.{short}" if self.prefix else short


class Builder:
    """Walks a network's layers, inferring types and counting; structure kinds call back into it."""

    def __init__(self, name: str, inputs: dict[str, TensorType], strict: bool, layers: list[Layer]) -> None:
        self.name = name
        self.inputs = inputs
        self.strict = strict
        self.ctx = Ctx(False)  # strict: every warning of a layer (each axis's) is raised together, in add()
        self.types: dict[Ref, TensorType] = {Ref(k): t for k, t in inputs.items()}
        self.rfs: dict[Ref, tuple[tuple[int, int], ...] | None] = {
            Ref(k): (((1, 1),) * (t.rank - 1) if t.rank >= 2 else None) for k, t in inputs.items()}
        self.features_last: dict[Ref, bool] = {}  # outputs known to hold their features last (absent: not known)
        self.maps: set[Ref] = set()  # channels-first maps whose receptive field is not known (see `spatial`)
        self.step_maps: set[Ref] = set()  # outputs known to be sequences of channels-first maps (T, C, ...)
        # Rank-2 tensors read as channels-first maps only because nothing says otherwise (a network input,
        # element-wise layers after it): (C, L) and (T, F) look alike, so they are not known to be maps.
        self.assumed: set[Ref] = {Ref(k) for k, t in inputs.items() if t.rank == 2}
        # Per output, a label per axis: an axis a layer carries (Layer.output_axes) keeps its input's label,
        # a new one gets a fresh label. Two outputs with the same labels in another order are permutations of
        # each other (axis_order).
        self.labels = 0
        self.axes: dict[Ref, tuple[int, ...]] = {Ref(k): self.fresh(t.rank) for k, t in inputs.items()}
        self.layers = layers  # the network's items, as written (to tell a name defined below from a typo)
        self.nodes: list[Node] = []
        self.groups: dict[str, GroupInfo] = {}
        self.everything: dict[str, Ref] = {}
        self.root = Scope("", None, None, "")
        self.current: Layer | None = None
        self.current_scope: Scope = self.root  # the group the current layer is in (where a made layer is)
        self.strict_problems: list[Problem] = []  # warnings --strict makes errors, reported after the build
        self.current_name = ""
        self.current_ins: tuple[Ref, ...] = ()
        self.expanded: int | None = None  # layers made by the spec and this build's deferred expansions

    # --- used by structure kinds ------------------------------------------------------------------
    def type_of(self, ref: Ref) -> TensorType:
        return self.types[ref]

    def chain(self, layers: list[Layer], scope: Scope, cur: Ref | None) -> Ref:
        """Apply layers in order; each takes the previous output unless it names ``from:``."""
        for layer in layers:
            self.current = layer
            self.current_scope = scope
            self.current_name = ""
            self.current_ins = ()
            path = layer.path  # read once: a layer's place is a pydantic private attribute, slow to reach
            ins = self.resolve(layer, scope, cur, path)
            self.current_ins = tuple(ins)
            use = deferred_use(path)
            if use is not None:
                layer = self.expand(use, ins)
                self.current = layer
                path = layer.path
            if layer.COMPOSITE:
                cur = layer.compose(self, scope, ins)
            else:
                cur = self.add(layer, scope, ins, path=path)
        if cur is None:
            raise ShapeError("a layer list has no input to start from; hint: give the network an 'input:', or the "
                             "first layer a 'from:'")
        return cur

    def expand(self, use: DeferredUse, ins: list[Ref]) -> Layer:
        """A deferred block use, expanded with ``in`` bound to its input's type and validated.

        Raises:
            SpecValidationError: every problem of the expansion, located in the block definition and
                naming the use.
        """
        made = expand_deferred(use, [self.types[r] for r in ins], self.expanded)
        self.expanded = made.count
        if made.problems or made.item is None:
            raise SpecValidationError(problems=_in_file_order(made.problems))
        errors: list[dict[str, Any]] = []
        tree = PosDict({"layers": PosList([made.item], pos=use.where, item_pos=[use.where])}, pos=use.where)
        layers = validate_layers(tree["layers"], ("layers",), errors)
        if errors or not layers:
            problems = problems_from_errors(errors, tree, Network, uses=False) or [
                Problem(f"block '{use.block}' did not expand to a valid group", use.where, use.path)]
            context = use_context(use)
            raise SpecValidationError(problems=_in_file_order(
                [at_argument(p) or Problem(f"{p.message} ({context})", p.location, p.path, p.hint)
                 for p in problems]))
        return layers[0]

    def open_group(self, layer: Layer | None, scope: Scope, name: str | None = None, kind: str | None = None) -> Scope:
        block = getattr(layer, "block", None)
        short = self.claim(scope, layer, name or (layer.name if layer else None),
                           (block or layer.kind) if layer is not None else (kind or "scope"))
        where = (layer.where if layer else None) or scope.where
        inner = Scope(scope.full(short), scope, where, (layer.path if layer else "") or scope.path)
        if layer is not None:
            inner.frozen = inner.frozen or not layer.trainable
            if isinstance(layer.init, dict):
                raise ShapeError(f"init: {{param: ...}} names the parameters of one layer, but {layer.kind} holds "
                                 "several layers; hint: give a scheme (a name, or {scheme: ..., options}), applied to every "
                                 "layer inside, or set init: on the layer itself", option="init")
            if layer.init is not None:
                inner.init = layer.init
                inner.owner = layer
                inner.first_node = len(self.nodes)  # the nodes added from here to its close are inside it
        label = layer.label() if layer else (kind or "scope")
        info = GroupInfo(inner.prefix, layer.kind if layer else (kind or "scope"), label, scope.prefix, block, where,
                         topology=getattr(layer, "TOPOLOGY", None) or kind or "chain")
        inner.info = info
        scope.children.append(inner.prefix)
        self.groups[inner.prefix] = info
        inner.short = short
        return inner

    def close_group(self, inner: Scope, out: Ref) -> Ref:
        info = inner.info
        assert info is not None
        info.children = list(inner.children)
        info.output = out
        if inner.owner is not None:
            self.check_group_init(inner)
        if inner.parent is not None:
            inner.parent.names[inner.short] = out
        self.everything[inner.prefix] = out
        return out

    def add(self, layer: Layer, scope: Scope, ins: list[Ref], role: str | None = None, *,
            path: str | None = None) -> Ref:
        """Add one leaf layer: infer its output, count it, register its name. ``path``: the layer's
        ``path`` when the caller has read it already (each read is a pydantic private-attribute look-up)."""
        self.current = layer
        self.current_scope = scope
        self.current_ins = tuple(ins)
        short = self.claim(scope, layer, layer.name, layer.kind)
        name = scope.full(short)
        self.current_name = name
        in_types = [self.types[r] for r in ins]
        wants = layer.INPUT_DTYPES or (layer.INPUT_DTYPE,) * len(in_types)
        for t, want in zip(in_types, wants):
            if want != "any" and t.dtype != want:
                raise ShapeError(f"{layer.kind} needs {want} input, got {t.dtype} {t}"
                                 + ("; hint: token ids go through an 'embedding' first" if t.dtype == "long" else ""))
        own = layer.path if path is None else path
        where, path = layer.where or scope.where, own or scope.path
        before = len(self.ctx.warnings)
        self.ctx.channels_first = tuple([self.is_channels_first(r) for r in ins])
        self.ctx.features_last = tuple([self.is_features_last(r) for r in ins])
        self.ctx.step_channels_first = tuple([r in self.step_maps for r in ins])
        out = layer.infer(in_types, self.ctx)
        check_layout(layer, in_types, self.ctx)  # what the kind reads its input as, against the known layout
        layer = layer.with_layout(in_types, self.ctx)  # the defaults its input's layout decided, written out
        warnings = tuple(self.ctx.warnings[before:])
        if self.strict and warnings:  # an error, but the layer's shapes are right: go on, and report them all
            label = f"{path} ({name})" if path else name
            self.strict_problems.extend(_in_blocks(ShapeError(problems=[
                Problem(f"{m} (--strict makes this an error)", where, label, h)
                for m, _, h in (w.partition("; hint: ") for w in warnings)]), scope).problems)
        outputs = out if isinstance(out, dict) else {"out": out}
        outs = list(outputs.values())
        for t in outs:
            self.bounded(t)
        params = layer.param_shapes(in_types)
        n_params = sum(numeric_product(s) for s in params.values())
        if n_params > MAX_PARAMS:
            raise ShapeError(f"{n_params} parameters is beyond netspec's bound of {MAX_PARAMS}; hint: check the "
                             "widths and the input size of this layer")
        self.check_init(layer, params)
        shared, tied = self.sharing(layer, scope, params, own)
        buffers = layer.buffer_shapes(in_types)
        step = layer.receptive()
        rf = self.receptive(step, ins)
        windowed = rf is None and isinstance(step, list)  # a map made or kept without a known field
        elementwise_on_maps = rf is None and step == "same" and bool(ins) and all(r in self.maps for r in ins)
        last = layer.output_features_last(in_types, self.ctx)
        steps = layer.output_step_channels_first(in_types, self.ctx)
        node = Node(
            name=name, kind=layer.kind, label=layer.label(), family=layer.FAMILY, layer=layer, inputs=tuple(ins),
            in_types=tuple(in_types), outputs=outputs, params=params, buffers=buffers,
            macs=layer.macs(in_types, outs), rf=rf, group=scope.prefix, location=where, path=path,
            activation=_activation(layer.shorthand_activation()), output_activation=_activation(
                layer.output_activation()), normalized_axis=layer.normalized_axis() if layer.output_activation()
            else None, states=layer.STATES, glyph=layer.GLYPH, shape_only=layer.SHAPE_ONLY,
            eval_identity=layer.EVAL_IDENTITY, batch_stats=layer.BATCH_STATS,
            buffer_dtypes={b: layer.buffer_dtype(b) for b in buffers},
            shared=shared, tied=tied, trainable=layer.trainable and not scope.frozen,
            init=layer.init if layer.init is not None else scope.init, warnings=warnings, role=role)
        self.nodes.append(node)
        scope.children.append(name)
        first = Ref(name, next(iter(outputs)))
        carried = self.axes.get(ins[0]) if ins else None  # the axes of input 0, when every input has them
        if len(ins) > 1 and any(self.axes.get(r) != carried for r in ins[1:]):
            carried = None
        keeps = layer.keeps_layout() and bool(ins) and all(r in self.assumed for r in ins)
        for key, t in outputs.items():
            ref = first if key == first.key else Ref(name, key)
            self.types[ref] = t
            self.rfs[ref] = rf
            if rf is None and t.rank >= 2 and not last and (windowed or elementwise_on_maps):
                self.maps.add(ref)
            if last and t.rank >= 2:
                self.features_last[ref] = True
            elif steps and t.rank >= 3:
                self.step_maps.add(ref)
            if keeps and not last and t.rank == 2:
                self.assumed.add(ref)
            order = layer.output_axes(in_types, t) if carried is not None else None
            if order is None or len(order) != t.rank:
                self.axes[ref] = self.fresh(t.rank)
            elif len(order) == len(carried) and order == _IDENTITY[:len(order)]:  # most kinds keep the order
                self.axes[ref] = carried
            else:
                self.axes[ref] = tuple(carried[a] if a is not None and 0 <= a < len(carried) else self.fresh(1)[0]
                                       for a in order)
        scope.names[short] = first
        self.everything[name] = first
        return first

    # --- internals --------------------------------------------------------------------------------
    def claim(self, scope: Scope, layer: Layer | None, name: str | None, base: str) -> str:
        if name is not None:
            if name in scope.names or name in self.inputs and scope is self.root:
                raise SpecValidationError(problems=[Problem(
                    f"duplicate name '{name}'", layer.where if layer else scope.where, layer.path if layer else "",
                    "names must be unique within their block")])
            return name
        n = scope.counters.get(base, 0)
        while True:
            n += 1
            short = f"{base}_{n}"
            if short not in scope.names:
                scope.counters[base] = n
                return short

    def resolve(self, layer: Layer, scope: Scope, cur: Ref | None, path: str) -> list[Ref]:
        if layer.from_:
            args = arg_names(path)
            ins, wrong = [], []  # every wrong name of the list, each at its place
            for i, text in enumerate(layer.from_):
                arg = args.get(("from", i))
                try:
                    ins.append(self.lookup(text, scope, arg))
                except ShapeError as err:
                    if err.problems:
                        wrong.extend(err.problems)
                        continue
                    message, _, hint = str(err).partition("; hint: ")  # at the name, not at the layer
                    below = self.defined_below(text.partition(":")[0], layer)
                    if below is not None:  # written, but further down: the order is the mistake, not the name
                        message = f"'{text}' is defined below this layer" + (
                            f" (at {below.where})" if below.where else "") + ", not before it"
                        hint = "a layer can use only the layers above it and the inputs: move it up, or this one down"
                    where = f"{path}.from[{i}]" if len(layer.from_) > 1 else f"{path}.from"
                    wrong.append(Problem(message, layer.from_where(i), where, hint))
            if wrong:
                raise ShapeError(problems=wrong)
        elif cur is None:
            raise ShapeError("the first layer has no input; hint: give the network an 'input:'")
        else:
            ins = [cur]
        if layer.ARITY == 1 and len(ins) != 1:
            raise ShapeError(f"{layer.kind} takes one input, got {len(ins)} in from: [{', '.join(layer.from_)}]; hint: "
                             "name one node in from:, or merge them first (add, concat)")
        if layer.ARITY is None and len(ins) < 2:
            raise ShapeError(f"{layer.kind} merges two or more inputs, got {len(ins)}; "
                             "hint: from: [a, b] names the nodes to merge")
        return ins

    def defined_below(self, name: str, reader: Layer) -> Layer | None:
        """The layer named ``name`` written after ``reader`` in the network's items, if any."""
        seen = False
        for layer in walk_layers(self.layers):
            if layer is reader:
                seen = True
            elif seen and layer.name == name:
                return layer
        return None

    def lookup(self, text: str, scope: Scope, arg: ArgName | None = None) -> Ref:
        """The node ``text`` names, seen from ``scope``. A name given as a block argument (``arg``) is seen
        from where the block was used: it names a layer of the caller, as a function's argument does."""
        name, colon, key = text.partition(":")
        if colon and not key:
            raise ShapeError(f"'{text}' names no output after ':'; hint: write '{name}' for its output, or "
                             f"'{name}:<output>' for a named one (an LSTM's '{name}:h')")
        s: Scope | None = scope
        if arg is not None:
            s = self.use_scope(scope, arg)
            inside = self.use_group(scope, arg)
            try:
                ref = self.lookup(text, s)
                if inside is not None and ref.src.startswith(f"{inside.prefix}."):  # `br.enc` from br's own use
                    raise ShapeError(f"'{name}' is a layer inside this use of block '{arg.block}': a block argument "
                                     "names a layer of the caller; hint: name a layer written where the block is "
                                     "used; to use the block's own layer, name it inside the definition")
                return ref
            except ShapeError as err:  # the name is wrong where it was written: the argument at the use
                message, _, hint = str(err).partition("; hint: ")
                raise ShapeError(problems=[Problem(f"{message} ({AT_ARGUMENT}{arg.arg.rpartition('.')[2]}' of "
                                                   f"block '{arg.block}')", arg.where, arg.arg, hint)]) from None
        ref = None
        while s is not None and ref is None:
            ref = s.names.get(name)
            s = s.parent
        if ref is None:
            ref = self.everything.get(name)
        if ref is None and name in self.inputs:
            ref = Ref(name)
        if ref is None:
            visible = [*self.everything, *self.inputs]
            near: list[str] = []  # the names this place sees first: its own group's, then the enclosing ones'
            s = scope
            while s is not None:
                near.extend(n for n in reversed(list(s.names)) if n not in near)
                s = s.parent
            near.extend(n for n in self.inputs if n not in near)
            hint = did_you_mean(name, [*near, *visible]) or (
                f"a layer can use only the layers above it and the inputs; here: {_few(near)}" if near
                else "a layer can use only the layers above it and the inputs")
            raise ShapeError(f"'{name}' is not an earlier layer or input; hint: {hint}")
        if key:
            ref = Ref(ref.src, key)
            if ref not in self.types:
                keys = [r.key for r in self.types if r.src == ref.src]
                raise ShapeError(f"'{name}' has no output '{key}'; hint: "
                                 + (did_you_mean(key, keys) or f"its outputs: {', '.join(keys)}"))
        return ref

    def use_group(self, scope: Scope, arg: ArgName) -> Scope | None:
        """The group of the block use block argument ``arg`` was given to (None when not found)."""
        s: Scope | None = scope
        while s is not None:
            if s.parent is not None and s.info is not None and s.info.block == arg.block and s.path == arg.use:
                return s
            s = s.parent
        return None

    def use_scope(self, scope: Scope, arg: ArgName) -> Scope:
        """The scope block argument ``arg`` was written in: around the group of the block use it was given to."""
        group = self.use_group(scope, arg)
        return group.parent if group is not None and group.parent is not None else scope

    def stride_between(self, src: Ref, dst: Ref) -> tuple[int | None, ...] | None:
        """Per spatial axis, how many input positions one step of ``dst`` moves on ``src`` (the ratio
        of their receptive-field jumps); None where it is not a whole number or not known."""
        a, b = self.rfs.get(src), self.rfs.get(dst)
        if a is None or b is None or len(a) != len(b):
            return None
        return tuple(jb // ja if jb % ja == 0 else None for (_, ja), (_, jb) in zip(a, b))

    def axis_order(self, src: Ref, dst: Ref) -> tuple[int, ...] | None:
        """Per axis of ``dst``, the axis of ``src`` it is (``Layer.output_axes`` composed along the graph):
        ``(0, 1)`` when ``dst`` keeps ``src``'s order, ``(1, 0)`` when it is transposed; None when ``dst``'s
        axes are not all ``src``'s (a reshape, a flatten, a new axis between them) or the ranks differ."""
        a, b = self.axes.get(src), self.axes.get(dst)
        if a is None or b is None or len(a) != len(b):
            return None
        where = {label: i for i, label in enumerate(a)}
        order = tuple(where.get(label, -1) for label in b)
        return order if sorted(order) == list(range(len(a))) else None

    def is_features_last(self, ref: Ref) -> bool:
        """Whether ``ref`` is known to hold its features on the last axis (``Layer.output_features_last``)."""
        return self.features_last.get(ref, False)

    def is_channels_first(self, ref: Ref) -> bool:
        """Whether ``ref`` is known to be a channels-first map (``Ctx.channels_first``; a rank-2 network input is
        not known to be one)."""
        return self.spatial(ref, self.types[ref]) and ref not in self.assumed

    def fresh(self, n: int) -> tuple[int, ...]:
        """``n`` axis labels no output has had."""
        self.labels += n
        return tuple(range(self.labels - n, self.labels))

    def bounded(self, t: TensorType) -> None:
        for d in t.shape:
            if isinstance(d, int) and d < 1:
                raise ShapeError(f"the output {t} has a size of {d}; every size must be at least 1; hint: the input is "
                                 "too small for this layer: lower its kernel or stride, pad it, or give a larger input")
            if isinstance(d, int) and d > MAX_DIM:
                raise ShapeError(f"size {d} in {t} is beyond netspec's bound of {MAX_DIM}; hint: check this layer's "
                                 "sizes and the input's")
        if numeric_product(t.shape) > MAX_ELEMENTS:
            raise ShapeError(f"{t} has more than {MAX_ELEMENTS} elements per sample; hint: check this layer's sizes "
                             "and the input's")

    def spatial(self, ref: Ref, t: TensorType) -> bool:
        """Whether ``ref`` is a channels-first map: its receptive field is tracked over every axis after the
        first (inputs, convs and pools; element-wise layers keep it; a permute, flatten or dense ends it), or
        a windowed layer (a conv or a pool) made it from an input whose field is not known (after a permute
        or a dense: the map is still channels first, its field relative to the network input is not known)."""
        if ref in self.maps:
            return True
        rf = self.rfs.get(ref)
        return rf is not None and t.rank >= 2 and len(rf) == t.rank - 1

    def receptive(self, step: list[tuple[int, int, int]] | str | None, ins: list[Ref]
                  ) -> tuple[tuple[int, int], ...] | None:
        """The receptive field (size, jump per spatial axis) of an output from its layer's ``receptive()``
        step and its inputs' fields."""
        if step is None:
            return None
        rfs = [self.rfs.get(r) for r in ins]
        if None in rfs:
            return None
        if step == "same":
            if len(rfs) == 1:  # an element-wise layer on one input: most layers of a network
                return rfs[0]
            return tuple(max(axes) for axes in zip(*rfs)) if len({len(r) for r in rfs}) == 1 else None
        rf = rfs[0]
        if rf is None or len(rf) != len(step):
            return None
        return tuple((size + d * (k - 1) * jump, jump * s) for (size, jump), (k, s, d) in zip(rf, step))

    def sharing(self, layer: Layer, scope: Scope, params: dict[str, tuple[int, ...]], path: str
                ) -> tuple[str | None, dict[str, tuple[str, str]]]:
        """Resolve ``share:`` and ``tie:`` against earlier nodes; the shapes must agree exactly."""
        shared = None
        if layer.share is not None:
            other = self.node_named(layer.share, scope, "share", arg_names(path).get(("share", 0)))
            if other.kind != layer.kind or other.params != params:
                raise ShapeError(f"share: '{layer.share}' is a {other.kind} with parameters "
                                 f"{_shapes(other.params)}; this {layer.kind} would need {_shapes(params)}; hint: share: "
                                 "needs a layer of the same kind with the same input and output sizes", option="share")
            differ = _option_differences(layer, other.layer)
            if differ:
                raise ShapeError(f"share: '{other.name}' computes with its own options, and this {layer.kind} differs "
                                 f"from it in {'; '.join(differ)}; hint: a layer that shares another's parameters "
                                 "runs as that layer: write the same options, or share nothing", option="share")
            self.same_training(layer, scope, other, "share")
            if layer.init is not None:
                raise ShapeError(f"init: a layer that shares '{other.name}' uses its parameters, which '{other.name}' "
                                 "initialises; hint: write init: on that layer", option="init")
            shared = other.shared or other.name
        tied: dict[str, tuple[str, str]] = {}
        for pname, target in (layer.tie or {}).items():
            if pname not in params:
                hint = did_you_mean(pname, params)
                raise ShapeError(f"tie names '{pname}', but {layer.kind} has parameters: {', '.join(params) or 'none'}"
                                 + f"; hint: {hint or 'tie: {parameter: other_layer} names one of them'}",
                                 option=("tie", pname, "[key]"))
            arg = arg_names(path).get(("tie", pname))
            try:  # `wte` (the same parameter name) or `wte.weight`; node names may hold dots themselves
                other, tp = self.node_named(target, scope, "tie", arg, ("tie", pname)), pname
            except ShapeError:
                name, _, tp = target.rpartition(".")
                if not name:
                    raise
                other = self.node_named(name, scope, "tie", arg, ("tie", pname))
            if tp not in other.params:
                raise ShapeError(f"tie: '{other.name}' has no parameter '{tp}'; hint: "
                                 + (did_you_mean(tp, other.params) or f"it has: {', '.join(other.params) or 'none'}"),
                                 option=("tie", pname))
            if other.params[tp] != params[pname]:
                raise ShapeError(f"tie: {pname} {fmt_shape(params[pname])} cannot be {other.name}.{tp} "
                                 f"{fmt_shape(other.params[tp])}: the shapes differ; hint: a tied parameter needs the "
                                 "same shape (an embedding's weight and an output layer's, e.g., share vocab and width)",
                                 option=("tie", pname))
            self.same_training(layer, scope, other, "tie")
            every = layer.init is not None and not isinstance(layer.init, dict)  # a scheme for every parameter
            if every or (isinstance(layer.init, dict) and pname in layer.init):
                raise ShapeError(f"init: {pname} is tied to {other.name}.{tp}, which '{other.name}' initialises; "
                                 f"hint: write init: on that layer" + (
                                     " (or init: {param: scheme} for this layer's other parameters)"
                                     if every and len(params) > 1 else ""),
                                 option=("init", pname) if isinstance(layer.init, dict) else "init")
            tied[pname] = other.tied.get(tp, (other.shared or other.name, tp))
        return shared, tied

    @staticmethod
    def same_training(layer: Layer, scope: Scope, other: Node, option: str) -> None:
        """A shared or tied parameter is one tensor: frozen for both layers or for neither."""
        mine = layer.trainable and not scope.frozen
        if mine != other.trainable:
            frozen, free = ("this layer", f"'{other.name}'") if not mine else (f"'{other.name}'", "this layer")
            raise ShapeError(f"{option}: {frozen} is frozen (trainable: false) and {free} is not, but they use the "
                             "same parameters, one tensor; hint: give both the same 'trainable:'")

    def node_named(self, text: str, scope: Scope, option: str, arg: ArgName | None = None,
                   about: tuple[str, ...] = ()) -> Node:
        """The node ``text``, written in ``option`` (at ``about`` in it), names; an error is located there."""
        try:
            ref = self.lookup(text, scope, arg)
        except ShapeError as err:
            if err.problems:  # a block argument: at the argument
                raise
            raise ShapeError(str(err), option=about or option) from None
        node = next((n for n in reversed(self.nodes) if n.name == ref.src), None)
        if node is None:
            raise ShapeError(f"{option}: '{text}' is a network input, not a layer; hint: {option}: names an earlier "
                             "layer with parameters", option=about or option)
        return node

    def check_group_init(self, inner: Scope) -> None:
        """A group's ``init:`` must reach a parameter: refused, at the ``init:``, when every layer inside shares
        another's weights (``share:``), has its parameters tied, sets its own ``init:`` or has no parameters
        (on such a layer itself it is refused too: it would initialise nothing)."""
        layer = inner.owner
        assert layer is not None
        inside = self.nodes[inner.first_node:]
        shares: dict[str, None] = {}
        tied: dict[str, None] = {}
        own = False
        for n in inside:
            if not n.params:
                continue
            if n.init is not inner.init:
                own = True  # its own init: (or a group's inside): this one does not reach it
            elif n.shared is not None:
                shares[n.shared] = None
            elif len(n.tied) == len(n.params):
                tied.update((f"{src}.{p}", None) for src, p in n.tied.values())
            else:
                return  # reached: a layer with parameters of its own
        what = f"block '{layer.block}'" if getattr(layer, "block", None) else f"this {layer.kind}"
        why = [f"its layers share the weights of {_quoted(shares)}"] if shares else []
        why += [f"their parameters are tied to {_quoted(tied)}"] if tied else []
        why += ["the layers with parameters have their own init"] if own else []
        hint = ("write init: on the layer whose weights they use" + (f" ({_quoted({**shares, **tied})})"
                                                                     if shares or tied else "") + ", or remove it here")
        if not why:
            why = ["its layers have no parameters"]
            hint = "remove it, or write init: on a group with layers that have parameters"
        path = layer.path or inner.path
        self.current, self.current_scope, self.current_ins = layer, inner.parent or inner, ()  # the group failed
        raise ShapeError(problems=[Problem(f"init: nothing to initialise in {what}: {'; '.join(why)}",
                                           layer.option_where(("init",)) or layer.where or inner.where,
                                           f"{path}.init ({inner.prefix})" if path else inner.prefix, hint)])

    def check_init(self, layer: Layer, params: dict[str, tuple[int, ...]]) -> None:
        if layer.init is not None and not params:  # its own init: (a group's reaches its layers with parameters)
            raise ShapeError(f"init: this {layer.kind} has no parameters to initialise; hint: write init: on a layer "
                             "with parameters, or on the group around them (it reaches every layer inside)",
                             option="init")
        if not isinstance(layer.init, dict):
            return
        for pname, value in layer.init.items():
            if pname not in params:
                hint = did_you_mean(pname, params)
                raise ShapeError(f"init names '{pname}', but {layer.kind} has parameters: "
                                 f"{', '.join(params) or 'none'}; hint: "
                                 + (f"{hint} " if hint else "") + forms_hint(params),
                                 option=("init", pname, "[key]"))
            if isinstance(value, list):
                got = _list_shape(value)
                if got != params[pname]:
                    raise ShapeError(f"init value for '{pname}' has shape {fmt_shape(got)}, "
                                     f"the parameter has {fmt_shape(params[pname])}; hint: give a value of that "
                                     "shape, or a scheme name", option=("init", pname))


def _option_differences(layer: Layer, other: Layer) -> list[str]:
    """The options (beyond the item keys and the activation applied after the module) in which ``layer``
    differs from ``other``, a layer of the same kind whose module it would call (``share:``), as
    ``causal: true here, false there``. A size written as one number equals that number on every axis."""
    def norm(v: Any) -> Any:  # [3, 3] and 3 are one kernel
        if isinstance(v, (list, tuple)):
            return v[0] if v and all(x == v[0] for x in v) else tuple(v)
        return v

    return [f"{name}: {show(getattr(layer, name))} here, {show(getattr(other, name))} there"
            for name in type(layer).__pydantic_fields__ if name not in _MODULE_FIELDS_IGNORED
            and norm(getattr(layer, name)) != norm(getattr(other, name))]


_MODULE_FIELDS_IGNORED = {*Layer.__pydantic_fields__, "activation"}  # item keys; the activation runs after


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        if not any(q.location == p.location and q.message == p.message for q in out):
            out.append(p)
    return sorted(out, key=lambda p: (p.location.line, p.location.column) if p.location else (1 << 30, 0))


def _quoted(names: dict[str, None]) -> str:
    """'a', 'a' and 'b', 'a', 'b' and 'c'."""
    q = [f"'{n}'" for n in names]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + f" and {q[-1]}"


def _shapes(params: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{k} {fmt_shape(v)}" for k, v in params.items()) or "none"


def _list_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        inner = {_list_shape(v) for v in value} if value else {()}
        if len(inner) != 1:
            return (-1,)
        return (len(value), *inner.pop())
    return ()


def _activation(name: str | None) -> str | None:
    return None if name is None or ACTIVATIONS[name].is_identity else name


def _located(err: NetspecError, layer: Layer | None, name: str, scope: Scope | None = None) -> NetspecError:
    """The error once located at the failing layer (``file:line:col``, its path and node name); one about an
    option of the layer (``ShapeError.option``) at that option's value as written (``Layer.option_where``), the
    option added to the path. A layer the builder made itself (a residual's add, a parallel's merge) has no
    place in the file: the structure item that made it (``scope``) is where the user can fix it."""
    if err.problems:
        return err
    option = err.option if isinstance(err, ShapeError) and layer is not None else ()
    loc = (layer.option_where(option) if option else None) or (layer.where if layer else None) or (
        scope.where if scope else None)  # an error about one option: at its value (ShapeError.option)
    lpath = (layer.path if layer else "") or (scope.path if scope else "")
    if option and lpath:
        lpath += "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in option if s != "[key]")
    label = f"{lpath} ({name})" if name and lpath else (lpath or name)
    problem = _problem(str(err), loc, label)
    made = layer is not None and layer.where is None and scope is not None and scope.info is not None
    if made and scope.info.topology == "branches":  # the merge of a parallel: the branches are what to change
        problem = Problem(problem.message, loc, label, "the branches must end in shapes the merge accepts: change a "
                          "branch (its padding, stride or width) or choose another merge")
    return type(err)(problems=[problem])


def _in_blocks(err: NetspecError, scope: Scope | None) -> NetspecError:
    """The error saying which block uses it happened in: "(in block 'up', used at f:14:5)", innermost first
    (a block definition is shared by its uses). Problems that already say (a deferred expansion's) or that
    lie at the use itself (a wrong argument; a residual's add) are kept as they are."""
    uses: list[tuple[str, Location | None]] = []
    s = scope
    while s is not None:
        if s.info is not None and s.info.block:
            uses.append((s.info.block, s.where))
        s = s.parent
    if not uses:
        return err
    out = []
    for p in err.problems:
        if " used at " in p.message or AT_ARGUMENT in p.message or any(w == p.location for _, w in uses):
            out.append(p)
            continue
        argument = at_argument(p)
        if argument is not None:  # at the argument that gave the value: said of it, the definition as context
            out.append(argument)
            continue
        context = ", ".join(f"in block '{b}', used at {w}" for b, w in uses)
        out.append(Problem(f"{p.message} ({context})", p.location, p.path, p.hint))
    return type(err)(problems=out)


def _in_terms(err: NetspecError) -> NetspecError:
    """The error with the hints of its problems in the words of the format they are located in."""
    problems = dsl_terms(err.problems)
    return err if problems == err.problems else type(err)(problems=problems)


def _problem(text: str, where: Location | None, path: str = "", hint: str = "") -> Problem:
    """A Problem from a message that may end in "; hint: ..." (the hint goes on its own line)."""
    message, _, inline = text.partition("; hint: ")
    return Problem(message, where, path, hint or inline)


def _output(b: Builder, net: Network, i: int, text: str) -> Ref:
    """An ``outputs:`` entry's node; an unknown one is located at the entry."""
    try:
        return b.lookup(text, b.root)
    except ShapeError as err:
        name = text.partition(":")[0]
        known = [*b.everything, *b.inputs]
        if name not in known:
            hint = did_you_mean(name, known) or f"the network's layers and inputs: {_few(known)}"
            message = f"'{name}' is not a layer or input of network '{b.name}'"
        else:
            message, _, hint = str(err).partition("; hint: ")
        raise ShapeError(problems=[Problem(message, net.where("outputs", i), f"outputs[{i}]", hint)]) from None


def _few(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def network_order(spec: Spec) -> list[str]:
    """Networks in dependency order (an input ``from:`` another network comes after it)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            net = spec.networks[name]
            via = next((k for k, inp in net.inputs.items() if inp.from_ and inp.from_.split(".")[0] in trail), None)
            raise SpecValidationError(problems=[Problem(
                f"networks feed each other in a cycle: {' → '.join((*trail, name))}",
                net.where("inputs", via) if via else net.where(), f"networks.{name}.inputs" + (f".{via}" if via else ""),
                "a network can read only networks that do not read it")])
        state[name] = 1
        net = spec.networks[name]
        for iname, inp in net.inputs.items():
            if inp.from_:
                dep = inp.from_.split(".")[0]
                if dep not in spec.networks:
                    hint = did_you_mean(dep, spec.networks) or f"the networks: {', '.join(spec.networks)}"
                    raise SpecValidationError(problems=[Problem(
                        f"network '{name}' takes input from unknown network '{dep}'",
                        _value_at(net.where("inputs", iname, "from")), f"networks.{name}.inputs.{iname}", hint)])
                visit(dep, (*trail, name))
        state[name] = 2
        order.append(name)

    for name in spec.networks:
        visit(name, ())
    return order


def check_bind(spec: Spec, bind: dict[str, int] | None) -> None:
    """Refuse sizes given to symbols no input has (a typo in ``--bind`` would otherwise be ignored)."""
    known = {d for net in spec.networks.values() for inp in net.inputs.values() for d in inp.shape or ()
             if isinstance(d, str)}
    unknown = sorted(set(bind or {}) - known)
    if unknown:
        hint = did_you_mean(unknown[0], known)
        raise UsageError(f"bind: '{unknown[0]}' is not a symbolic size of any input of the spec"  # --bind or bind=
                         + (f"; {hint}" if hint else "")
                         + (f" (symbolic sizes: {', '.join(sorted(known))})" if known
                            else " (it has no symbolic sizes)"))


def build_graph(spec: Spec, bind: dict[str, int] | None = None, strict: bool = False,
                networks: list[str] | None = None, partial: bool = False) -> Graph:
    """Resolve every network of a spec into the graph IR.

    Args:
        spec: the validated spec.
        bind: values for symbolic sizes (``{"T": 50}``).
        strict: warnings (inexact stride divisions) become errors.
        networks: keep only these networks in the result (all are built: later ones may read earlier ones).
        partial: on a failure, return the graph so far instead of raising: the failing network holds
            the nodes built before it, ``NetGraph.error``/``failure`` say what failed; ``Graph.error`` is set.

    Raises:
        ShapeError, SpecValidationError: located at the failing layer (unless ``partial``).
    """
    graphs: dict[str, NetGraph] = {}
    error: NetspecError | None = None
    try:
        order = network_order(spec)
    except NetspecError as err:
        raise _in_terms(err) from None
    for name in order:
        net = build_network(name, spec.networks[name], graphs, bind or {}, strict)
        graphs[name] = net
        if net.error is not None:
            if not partial:
                raise net.error
            error = net.error
            break
    if networks is not None:
        graphs = {k: v for k, v in graphs.items() if k in networks}
    return Graph(spec.name, graphs, single=len(spec.networks) == 1, train=spec.train, error=error,
                 bind=dict(bind or {}))


def _input_types(name: str, net: Network, done: dict[str, NetGraph], bind: dict[str, int]
                 ) -> tuple[dict[str, TensorType], dict[str, str | None]]:
    types, sources = {}, {}
    for iname, inp in net.inputs.items():
        if inp.from_:
            dep, _, out = inp.from_.partition(".")
            g = done[dep]
            outs = g.output_types()
            if out and out not in outs:
                raise SpecValidationError(problems=[Problem(
                    f"network '{dep}' has no output '{out}'", net.where("inputs", iname, "from"),
                    f"networks.{name}.inputs.{iname}", did_you_mean(out, outs) or f"its outputs: {', '.join(outs)}")])
            types[iname] = outs[out] if out else next(iter(outs.values()))
            sources[iname] = inp.from_
        else:
            shape = tuple(bind.get(d, d) if isinstance(d, str) else d for d in inp.shape or ())
            types[iname] = TensorType(shape, inp.dtype)
            sources[iname] = None
    return types, sources


def build_network(name: str, net: Network, done: dict[str, NetGraph], bind: dict[str, int], strict: bool) -> NetGraph:
    """One network; a shape failure is recorded on the returned graph (``error``, ``failure``), not raised."""
    try:
        inputs, sources = _input_types(name, net, done, bind)
    except NetspecError as err:
        raise _in_terms(err) from None
    b = Builder(name, inputs, strict, net.layers)
    graph = NetGraph(name, inputs, sources, b.nodes, b.groups, {}, expect=net.expect)
    try:
        last = b.chain(net.layers, b.root, Ref(next(iter(inputs))))
        if net.outputs:
            found, wrong = {}, []
            for i, o in enumerate(net.outputs):
                try:
                    found[o] = _output(b, net, i, o)
                except ShapeError as err:
                    wrong.extend(err.problems)
            if wrong:
                raise ShapeError(problems=wrong)
            graph.outputs = found
        else:
            graph.outputs = {str(last): last}
    except NetspecError as err:
        layer = b.current
        leaf = layer is not None and not layer.COMPOSITE
        graph.error = _in_terms(_in_blocks(_located(err, layer, b.current_name if leaf else "", b.current_scope),
                                           b.current_scope))
        if layer is not None:
            graph.failure = Failure(
                name=(b.current_name if leaf and b.current_name else None) or layer.name or layer.kind,
                label=layer.label(), family=layer.FAMILY, inputs=b.current_ins, location=layer.where,
                activation=_activation(layer.shorthand_activation()))
    if b.strict_problems:  # they come first: they are above the layer that failed, if one did
        graph.error = _in_terms(ShapeError(problems=[*b.strict_problems, *(graph.error.problems if graph.error
                                                                           else [])]))
    return graph
