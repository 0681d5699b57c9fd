"""What block expansion hands the graph builder on a layer's ``path``: the layer keeps its source path
through pydantic validation as a plain ``str``, so these ``str`` subclasses carry the rest.

- :class:`Deferred`: the path of a block use that reads its input's type (``$in``), with the
  :class:`DeferredUse` the builder expands once that type is known (``spec.expand.expand_deferred``).
- :class:`ArgName`, :class:`ArgPath`: names given as block arguments, looked up where the block is used.
- :class:`ArgValue`, :class:`ArgKey`: the places of values put into a block's body from its arguments: a
  problem with such a value is located at the argument, where the use writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netspec.core.errors import Location, Problem
from netspec.core.source import PosDict


@dataclass
class Tally:
    """Layers and groups made so far, shared by a spec's expansion and its deferred ones (MAX_LAYERS)."""

    count: int = 0


@dataclass
class DeferredUse:
    """What expanding a deferred block use needs once its input type is known."""

    block: str
    env: dict[str, Any]  # the block's parameters, evaluated at the use
    where: Location | None  # the use
    path: str
    stack: tuple[str, ...]  # the blocks being expanded around it (MAX_DEPTH, self-use)
    nesting: int  # layer lists open around it (MAX_NESTING)
    blocks: dict[str, Any]  # every block definition of the spec
    file: str
    tally: Tally  # the spec's expansion's (its final count: where a build's deferred expansions start)
    context: str = ""  # "in block 'a' used at f:3:5" for a use inside another deferred expansion
    item_keys: dict[str, tuple[Any, Location | None]] = field(default_factory=dict)  # name, from, ... of the use
    args: dict[str, Any] = field(default_factory=dict)  # the arguments given (for the label)
    places: dict[str, Location | None] = field(default_factory=dict)  # where each argument's value is written


class _AtLocation(Location):
    """A location with more to say, equal to (and hashed as) a plain location at the same place. Plain
    subclasses rather than dataclasses: on Python 3.11 a dataclass compiles its methods when it is created,
    ≈ 4 M instructions each, on every `check`."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and (self.file, self.line, self.column) == (
            other.file, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))


class ArgValue(_AtLocation):
    """Where a block argument's value is written at the use (``- down: {k: 9}``: the 9), standing for the place
    in the block's definition the value was put into (``kernel: $k``): a problem with that value is the
    argument's, and is located there. ``arg``: the parameter ("k"); ``block``: the block it was given to;
    ``defined``: where the definition uses it."""

    arg: str
    block: str
    defined: Location | None
    path: str  # the argument's own path, at the use ("layers[3].k"): the path of a problem located here

    def __init__(self, file: str, line: int, column: int, *, arg: str = "", block: str = "",
                 defined: Location | None = None, path: str = "") -> None:
        super().__init__(file, line, column)
        object.__setattr__(self, "arg", arg)  # frozen, as every location
        object.__setattr__(self, "block", block)
        object.__setattr__(self, "defined", defined)
        object.__setattr__(self, "path", path)

    def context(self, inner: str = "") -> str:
        """What a problem located here adds: which argument it is, and where the definition uses it (``inner``:
        the path of the option there that the problem is about, from the problem's own path)."""
        use = self.path.rpartition(".")[0]
        option = inner[len(use) + 1:] if use and inner.startswith(use) and inner[len(use):len(use) + 1] in "→." \
            else ""
        option = option.removeprefix(f"{self.block}.").split(" (", 1)[0]  # less a node's name: `(down_1.pool_1)`
        return f"the argument '{self.arg}' of block '{self.block}'" + (
            f"; the definition uses it at {self.defined}" if self.defined is not None else "") + (
            f" for {option}" if option and self.defined is not None else "")


class ArgKey(_AtLocation):
    """A key of a block definition (``kernel:`` in ``kernel: $k``) whose value is a block argument: a problem
    with the key stays at the key, one with the value goes to the argument (:meth:`of_value`)."""

    argument: ArgValue | None

    def __init__(self, file: str, line: int, column: int, value_at: tuple[int, int] | None = None, *,
                 argument: ArgValue | None = None) -> None:
        super().__init__(file, line, column, value_at)
        object.__setattr__(self, "argument", argument)

    def of_value(self) -> Location:
        return self.argument if self.argument is not None else super().of_value()


def argument_context(where: Location | None) -> str:
    """The context a problem located at a block argument adds (:meth:`ArgValue.context`), or ''."""
    return where.context() if isinstance(where, ArgValue) else ""


def at_argument(problem: Problem) -> Problem | None:
    """A problem located at a block argument (a value the use gave, put into the block's body) said of the
    argument, as its location is: its path the argument's at the use (``layers[0].width``, not the option in
    the block, ``layers[0]→basic.layers[0].filters``), its message saying which argument it is and where and
    for which option the definition uses it. None for a problem located elsewhere."""
    where = problem.location
    if not isinstance(where, ArgValue):
        return None
    if "(the argument '" in problem.message:  # said already
        return problem
    message = f"{problem.message} ({where.context(problem.path)})"
    node = problem.path.partition(" (")[2]  # the graph builder's node name, `(b_1.softmax_1)`: kept
    path = f"{where.path} ({node}" if where.path and node else where.path or problem.path
    return Problem(message, where, path, problem.hint, problem.excerpt)


class Deferred(str):
    """The ``path`` of a deferred group: a plain path for messages, carrying its :class:`DeferredUse`
    through validation (a layer keeps its source path) to the graph builder."""

    use: DeferredUse
    refs: dict[tuple[str, int], Any]  # the block arguments in its from: (see ArgPath)

    def __new__(cls, path: str, use: DeferredUse, refs: dict[tuple[str, int], Any] | None = None) -> "Deferred":
        out = super().__new__(cls, path)
        out.use = use
        out.refs = refs or {}
        return out

    def __reduce__(self) -> Any:  # a copy or pickle of a spec keeps the carried use
        return (Deferred, (str(self), self.use, self.refs))


class ArgName(str):
    """A string given as a block argument at a use (``- up: {skip: e4}``): in ``from:``, ``share:`` or ``tie:`` it
    names a layer of the scope the block is used in, not one of the block's own (lexical scoping). It
    keeps the use it was written at, however deep it is passed on to blocks used inside the block."""

    use: str  # the path of the block use it was given to (its group's path)
    block: str  # that block
    where: Location | None  # the argument, at the use
    arg: str  # its path ("layers[6].skip")

    def __new__(cls, text: str, use: str, block: str, where: Location | None, arg: str) -> "ArgName":
        out = super().__new__(cls, text)
        out.use, out.block, out.where, out.arg = str(use), block, where, arg
        return out

    def __reduce__(self) -> Any:
        return (ArgName, (str(self), self.use, self.block, self.where, self.arg))


class ArgPath(str):
    """The ``path`` of a layer whose ``from:``/``share:``/``tie:`` holds block arguments: carries them (keyed
    by the option and the index in ``from:`` or the parameter in ``tie:``) through validation, which keeps a
    plain ``str``, to the builder."""

    refs: dict[tuple[str, int | str], ArgName]

    def __new__(cls, path: str, refs: dict[tuple[str, int | str], ArgName]) -> "ArgPath":
        out = super().__new__(cls, path)
        out.refs = refs
        return out

    def __reduce__(self) -> Any:
        return (ArgPath, (str(self), self.refs))


def arg_names(path: Any) -> dict[tuple[str, int | str], ArgName]:
    """The block arguments a layer's ``from:`` (``("from", i)``), ``share:`` (``("share", 0)``) and ``tie:``
    (``("tie", param)``) hold."""
    return getattr(path, "refs", None) or {}


def carry_args(item: PosDict | None) -> PosDict | None:
    """Record the block arguments of ``item``'s ``from:``/``share:``/``tie:`` on its path (see :class:`ArgPath`)."""
    if item is None:
        return None
    refs: dict[tuple[str, int | str], ArgName] = {}
    sources = item.get("from")
    for i, text in enumerate(sources if isinstance(sources, list) else [sources]):
        if isinstance(text, ArgName):
            refs[("from", i)] = text
    if isinstance(item.get("share"), ArgName):
        refs[("share", 0)] = item["share"]
    ties = item.get("tie")
    if isinstance(ties, dict):
        refs.update((("tie", param), target) for param, target in ties.items() if isinstance(target, ArgName))
    if refs:
        path = getattr(item, "path", "") or ""
        if isinstance(path, Deferred):
            path = Deferred(str(path), path.use, refs)
        else:
            path = ArgPath(path, refs)
        item.path = path
    return item


def deferred_use(path: Any) -> DeferredUse | None:
    """The deferred use a layer's ``path`` carries, if it is a deferred group's."""
    return path.use if isinstance(path, Deferred) else None


def use_context(use: DeferredUse) -> str:
    """Which use a deferred expansion's problems come from: "in block 'b' used at f:9:7, in block 'a' ..."."""
    here = f"in block '{use.block}' used at {use.where or use.path}"
    return f"{here}, {use.context}" if use.context else here
