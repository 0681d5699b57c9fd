"""Constructor calls as source text, and the source of the modules PyTorch lacks.

A layer's ``build`` returns a module; how it was constructed is recorded while it is built (the
arguments of the outermost ``__init__`` of each module, seen through a profile hook). A :class:`Call`
is that constructor call as data: the callee's name and every argument with its default, so the
writer can leave out what equals the default and turn what varies between instances of a block into
a constructor parameter.

Modules and functions that PyTorch lacks (netspec's own, in ``netspec.layers.torch``) are copied into
the output with the definitions and imports they use (:class:`Helpers`), so the result needs only torch.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from netspec.core.errors import BuildError

EMPTY = inspect.Parameter.empty
# Arguments of torch.nn modules that take an int or a tuple of equal ints: written as the int.
INT_OR_TUPLE = {"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"}


@dataclass(frozen=True)
class Code:
    """A value written as source text (``F.relu``, ``torch.float32``, a constructor parameter)."""

    text: str


@dataclass
class Arg:
    """One constructor argument: its value and the parameter's default (``EMPTY`` when required)."""

    name: str
    value: Any
    default: Any = EMPTY
    positional: bool = False  # a required positional parameter: written without its name
    star: bool = False  # part of ``*args``


@dataclass
class Call:
    """A constructor call: ``callee(args)``, or ``nn.Sequential(OrderedDict(items))`` when ``items``."""

    callee: str
    args: list[Arg] = field(default_factory=list)
    items: list[tuple[str, "Call"]] | None = None
    instance: Any = None  # for a call of a generated class: (the class plan, the instance index)
    inline: bool = False  # a merge written as an operator in forward: nothing to construct


@dataclass
class Record:
    """What a module's outermost ``__init__`` was called with."""

    module: Any
    params: dict[str, Any]
    varargs: tuple[Any, ...] = ()
    varkw: dict[str, Any] = field(default_factory=dict)


def record_build(build: Callable[[], Any]) -> tuple[Any, dict[int, Record]]:
    """Run ``build``, recording each module's constructor arguments.

    On the CPU, not the meta device: random initialisation is cheap next to the lazy imports (sympy)
    that some meta kernels trigger, which crawl under a profile hook.
    """
    import torch
    import torch.nn as nn

    records: dict[int, Record] = {}

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event != "call" or frame.f_code.co_name != "__init__" or not frame.f_code.co_varnames:
            return
        me = frame.f_locals.get(frame.f_code.co_varnames[0])
        if not isinstance(me, nn.Module) or id(me) in records:
            return
        init = getattr(type(me).__init__, "__code__", None)
        if init is not frame.f_code:  # a base class's __init__, reached through super()
            return
        info = inspect.getargvalues(frame)
        records[id(me)] = Record(me, {n: info.locals[n] for n in info.args[1:]},
                                 tuple(info.locals[info.varargs]) if info.varargs else (),
                                 dict(info.locals[info.keywords]) if info.keywords else {})

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        with torch.no_grad():
            module = build()
    finally:
        sys.setprofile(previous)
    return module, records


class Helpers:
    """The definitions to copy into the output (classes and functions PyTorch lacks) and the imports
    they need, gathered from the source files that define them."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[str]] = {}  # module -> top-level names
        self.imports: set[tuple[str, str | None, str | None]] = set()  # (module, name, alias)

    def use(self, obj: Any) -> str:
        """The name to call ``obj`` by in the output (its definition is copied there)."""
        module, name = obj.__module__, obj.__name__
        if getattr(sys.modules.get(module), name, None) is not obj:
            raise BuildError(f"cannot write the source of {module}.{name}: it is not a top-level definition")
        self.wanted.setdefault(module, set()).add(name)
        return name

    def source(self) -> tuple[list[str], list[str]]:
        """The import lines and the definitions (dependencies first), ready to print."""
        done: dict[str, set[str]] = {}
        order: list[str] = []
        imports: set[tuple[str, str | None, str | None]] = set()
        names: dict[str, str] = {}

        def visit(module: str, name: str) -> None:
            if name in done.setdefault(module, set()):
                return
            done[module].add(name)
            if names.setdefault(name, module) != module:
                raise BuildError(f"two definitions named {name} ({names[name]}, {module}) would clash in the source")
            text = inspect.getsource(sys.modules[module])
            tree = ast.parse(text)
            defs, froms = _top_level(tree)
            if name not in defs:
                raise BuildError(f"no top-level definition of {name} in {module}")
            stmt = defs[name]
            start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            lines = text.splitlines()[start - 1: stmt.end_lineno]
            for used in sorted(_names_used(stmt) - {name}):
                if used in defs:
                    visit(module, used)
                elif used in froms:
                    src_module, src_name, level = froms[used]
                    if src_module is None:  # `import x` / `import x.y as z`
                        imports.add((src_name, None, used if used != src_name else None))
                    elif src_module.split(".")[0] == "netspec" or level:
                        visit(src_module, src_name)
                    else:
                        imports.add((src_module, src_name, used if used != src_name else None))
            order.append("\n".join(lines))  # after what it uses: a base class or a factory runs at import

        for module, wanted in sorted(self.wanted.items()):
            for name in sorted(wanted):
                visit(module, name)
        return [_import_line(i) for i in sorted(imports | self.imports, key=str)], order


def _top_level(tree: ast.Module) -> tuple[dict[str, ast.stmt], dict[str, tuple[str | None, str, int]]]:
    defs: dict[str, ast.stmt] = {}
    froms: dict[str, tuple[str | None, str, int]] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            defs[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    defs[t.id] = stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            defs[stmt.target.id] = stmt
        elif isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__":
            for a in stmt.names:
                froms[a.asname or a.name] = (stmt.module or "", a.name, stmt.level)
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:
                froms[a.asname or a.name.split(".")[0]] = (None, a.name if a.asname else a.name.split(".")[0], 0)
    return defs, froms


def _names_used(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}


ABC_NAMES = {"Callable", "Iterator", "Iterable", "Sequence", "Mapping", "MutableMapping", "Generator"}


def _import_line(item: tuple[str, str | None, str | None]) -> str:
    module, name, alias = item
    if module == "typing" and name in ABC_NAMES:
        module = "collections.abc"  # where the checkers want them
    if name is None:
        return f"import {module}" + (f" as {alias}" if alias else "")
    return f"from {module} import {name}" + (f" as {alias}" if alias else "")


def module_call(module: Any, records: dict[int, Record], helpers: Helpers) -> Call:
    """The constructor call that makes ``module`` (recorded by :func:`record_build`)."""
    import torch.nn as nn

    cls = type(module)
    callee = class_name(cls, helpers)
    rec = records.get(id(module))
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        sig = None
    args: list[Arg] = []
    if rec is None or sig is None:
        if sig is not None and any(p.default is EMPTY and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                                   for p in list(sig.parameters.values())[1:]):
            raise BuildError(f"cannot write how a {cls.__name__} is constructed (its arguments were not seen)")
        return Call(callee)
    torch_class = callee.startswith("nn.")
    for p in list(sig.parameters.values())[1:]:
        if p.kind is p.VAR_POSITIONAL:
            args += [Arg(p.name, value_of(v, records, helpers), star=True) for v in rec.varargs]
        elif p.kind is p.VAR_KEYWORD:
            args += [Arg(k, value_of(v, records, helpers)) for k, v in rec.varkw.items()]
        else:
            value = value_of(rec.params[p.name], records, helpers)
            if torch_class and p.name in INT_OR_TUPLE and isinstance(value, tuple) and value \
                    and len(set(value)) == 1 and isinstance(value[0], int):
                value = value[0]
            default = p.default if p.default is EMPTY or not isinstance(p.default, nn.Module) else EMPTY
            args.append(Arg(p.name, value, default,
                            positional=p.default is EMPTY and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)))
    return Call(callee, args)


def class_name(cls: type, helpers: Helpers) -> str:
    """How the output names a module class: ``nn.Conv2d`` for torch's, the copied name otherwise."""
    import torch.nn as nn

    if cls.__module__.split(".")[0] == "torch" and getattr(nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    return helpers.use(cls)


def function_name(fn: Callable[..., Any], helpers: Helpers) -> str:
    """How the output names a function: ``F.relu``, ``torch.sigmoid``, or the copied name."""
    import torch
    import torch.nn.functional as F

    name = getattr(fn, "__name__", "")
    if getattr(F, name, None) is fn:
        return f"F.{name}"
    if getattr(torch, name, None) is fn:
        return f"torch.{name}"
    return helpers.use(fn)


def value_of(v: Any, records: dict[int, Record], helpers: Helpers) -> Any:
    """A constructor argument as data: literals stay, modules become :class:`Call`, others :class:`Code`."""
    import torch
    import torch.nn as nn

    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (tuple, list)):
        return type(v)(value_of(x, records, helpers) for x in v)
    if isinstance(v, dict):
        return {k: value_of(x, records, helpers) for k, x in v.items()}
    if isinstance(v, nn.Module):
        return module_call(v, records, helpers)
    if isinstance(v, torch.dtype):
        return Code(str(v))
    if callable(v):
        return Code(function_name(v, helpers))
    raise BuildError(f"cannot write a constructor argument of type {type(v).__name__} as source: {v!r}")


def literal(v: Any) -> str:
    """Source text of an argument value (a :class:`Call` is written by the caller)."""
    if isinstance(v, Code):
        return v.text
    if isinstance(v, Call):
        return repr(v)  # compared, never printed: the writer prints calls
    if isinstance(v, float) and not math.isfinite(v):
        return f'float("{v}")'
    if isinstance(v, tuple):
        return "(" + ", ".join(literal(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(v)


def identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)
