"""Loading, tracing and running the model for ``netspec import``: the model file or callable, the torch.fx
tracer that keeps standard modules whole, the interpreter that records what each node computed, and
the model-code errors located at the user's own line."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn

from netspec.core.errors import Location, NetspecError, Problem, UsageError
from netspec.interop.naming import snake
from netspec.interop.torch_table import (
    ACTIVATION_DEFAULTS,
    ACTIVATION_MODULES,
    DROP_PATHS,
    ENCODERS,
    MODULES,
    own_function,
    own_module,
)


class ModelCodeError(NetspecError):
    """The user's model code failed: a file that does not parse, a module or function that raises."""


def _raised(exc: BaseException, what: str, file: str | None, hint: str) -> ModelCodeError:
    """``what`` raised ``exc``: located at the deepest line of ``file`` in the traceback (if any)."""
    location = None
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        location = Location(exc.filename, exc.lineno, exc.offset or 1)
        message = f"{what}: the file does not parse: {exc.msg}"
        hint = "fix the Python syntax there: netspec imports the file to build the model"
    else:
        if file is not None:
            want = Path(file).resolve()
            for frame in traceback.extract_tb(exc.__traceback__):
                try:
                    if Path(frame.filename).resolve() == want:
                        location = Location(file, frame.lineno or 1, (frame.colno or 0) + 1)
                except OSError:
                    continue
        detail = str(exc).splitlines()[0] if str(exc) else ""
        message = f"{what} raised {type(exc).__name__}" + (f": {detail}" if detail else "")
    return ModelCodeError(problems=[Problem(message, location, hint=hint)])


def load_model(target: str) -> nn.Module:
    """``torchvision:resnet18``, ``package.module:function`` or ``path/file.py:function`` -> the module.

    A function or class is called without arguments; an ``nn.Module`` instance is used as it is.

    Raises:
        UsageError: the target is malformed, or not found.
        ModelCodeError: the file does not parse, or importing it or calling the function raised (located
            at the line of the user's file where it did).
    """
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"import takes torchvision:NAME or MODULE:FUNCTION (or FILE.py:FUNCTION), got '{target}'")
    file = where if where.endswith(".py") else None
    try:
        if where == "torchvision":
            import torchvision.models as where_module
        elif file is not None:
            spec = importlib.util.spec_from_file_location(Path(where).stem, where)
            if spec is None or spec.loader is None or not Path(where).exists():
                raise UsageError(f"no Python file at {where}")
            where_module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = where_module
            try:
                spec.loader.exec_module(where_module)
            except BaseException:
                sys.modules.pop(spec.name, None)
                raise
        else:
            where_module = importlib.import_module(where)
    except ImportError as exc:
        raise UsageError(f"cannot import {where}: {exc}") from None
    except UsageError:
        raise
    except Exception as exc:  # the user's module failed as it was imported
        raise _raised(exc, f"importing {where}", file or _source_file(where),
                      "the model's own code failed before netspec read it; run it with python to see the "
                      "traceback") from None
    obj = getattr(where_module, attr, None)
    if obj is None:
        raise UsageError(f"{where} has no '{attr}'")
    if isinstance(obj, nn.Module):
        model = obj
    else:
        try:
            model = obj()
        except Exception as exc:
            hint = (f"netspec calls {attr} without arguments to build the model; make it build one that way "
                    "(give its arguments defaults, or import a function that calls it)" if _needs_arguments(obj)
                    else f"{attr} takes no arguments and failed as it built the model; run it with python to "
                    "see the traceback")
            error = _raised(exc, f"calling {target}", file or getattr(where_module, "__file__", None), hint)
            problem = error.problems[0]
            if problem.location is None and _needs_arguments(obj):  # at the definition that takes arguments
                try:
                    at = Location(inspect.getsourcefile(obj) or "", inspect.getsourcelines(obj)[1], 1)
                    if at.file and user_frame([(at.file, at.line)]):  # the model's code, not torch's
                        error = ModelCodeError(problems=[Problem(problem.message, at, hint=problem.hint)])
                except (OSError, TypeError):
                    pass
            raise error from None
    if not isinstance(model, nn.Module):
        got = type(model).__name__
        raise UsageError(f"{target} gives {'an' if got[:1].lower() in 'aeiou' else 'a'} {got}, not a "
                         "torch.nn.Module")
    return model


def _needs_arguments(obj: Any) -> bool:
    """Whether calling ``obj()`` lacks arguments it requires (False when its signature is unknown)."""
    try:
        inspect.signature(obj).bind()
    except TypeError:
        return True
    except ValueError:
        return False
    return False


def _source_file(module: str) -> str | None:
    found = importlib.util.find_spec(module) if module else None
    return found.origin if found is not None else None


class OneLayer(nn.Module):
    """A bare module netspec maps whole (``nn.Linear(3, 2)``, ``nn.TransformerEncoderLayer``, one of netspec's
    own) as the one child of a model, so the trace calls it as a module (traced as the root, it would be its
    functions and its weights' ``get_attr``). A bare ``nn.MultiheadAttention`` is called as self-attention,
    ``m(x, x, x)``, and its output read (the weights left)."""

    def __init__(self, name: str, module: nn.Module) -> None:
        super().__init__()
        self.add_module(name, module)
        self.child = name
        self.self_attention = isinstance(module, nn.MultiheadAttention) and own_module(module) is None

    def forward(self, x: torch.Tensor) -> Any:
        module = self.get_submodule(self.child)
        if self.self_attention:
            return module(x, x, x, need_weights=False)[0]
        return module(x)


def standalone(model: nn.Module) -> nn.Module:
    """``model``, or, when it is itself one module netspec maps whole (a standard layer, a Transformer encoder
    layer, one of netspec's own), a :class:`OneLayer` holding it (its state dict keys then gain the layer's
    name: ``weight`` is ``linear.weight``)."""
    kind = ACTIVATION_MODULES.get(type(model)) or ACTIVATION_DEFAULTS.get(type(model))  # `relu`, not `re_lu`
    if kind is not None or type(model) in MODULES or type(model) in ENCODERS or own_module(model) is not None:
        return OneLayer(kind or snake(type(model).__name__), model)
    return model


def example_input(model: nn.Module, shape: list[int], dtype: str, batch: int = 2) -> torch.Tensor:
    """Random inputs: normal floats, or token ids below the smallest embedding's vocabulary."""
    if dtype == "long":
        vocab = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
        return torch.randint(0, min(vocab) if vocab else 2, (batch, *shape))
    return torch.randn(batch, *shape)


class LeafTracer(fx.Tracer):
    """torch.fx's tracer, keeping as one call the modules netspec maps whole: a subclass of ``nn.LayerNorm``
    (ConvNeXt's ``LayerNorm2d``, read from what it computes), stochastic depth (:data:`DROP_PATHS`; traced
    through in eval mode, it would vanish) and netspec's own modules and activation functions, as exported
    source copies them (:func:`torch_table.own_module`, :func:`torch_table.own_function`: ``model``'s
    functions of that kind are wrapped as calls). Nodes keep the stack they were traced at (the line of
    forward that a refused call is listed at)."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(autowrap_functions=tuple(own_functions(model)) if model is not None else ())
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, nn.LayerNorm) or type(m).__name__ in DROP_PATHS or own_module(m) is not None or \
            super().is_leaf_module(m, module_qualified_name)


def own_functions(model: nn.Module) -> list[Any]:
    """netspec's activation functions the forwards of ``model``'s modules call by name (the copies in exported
    source: ``heaviside_step``), to be traced as one call each."""
    found: dict[int, Any] = {}
    for m in model.modules():
        forward = getattr(type(m), "forward", None)
        for v in getattr(forward, "__globals__", {}).values():
            if callable(v) and own_function(v) is not None:
                found[id(v)] = v
    return list(found.values())


class Recorder(fx.Interpreter):
    """Runs a traced model and keeps what every node computed (by node name)."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__(gm)
        self.seen: dict[str, Any] = {}
        self.current: fx.Node | None = None  # the node running (the one that failed, when one does)

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        value = super().run_node(n)
        self.seen[n.name] = value
        return value


TORCH_DIR = Path(torch.__file__).resolve().parent
NETSPEC_DIR = Path(__file__).resolve().parent.parent
FRAME = re.compile(r'File "(.+?)", line (\d+), in ')


def user_frame(frames: list[tuple[str, Any]]) -> tuple[str, int] | None:
    """The deepest of ``(file, line)`` frames outside torch and netspec: the model's own code."""
    found = None
    for file, line in frames:
        try:
            where = Path(file).resolve()
            inside = where.is_relative_to(TORCH_DIR) or where.is_relative_to(NETSPEC_DIR)
        except (OSError, ValueError):
            inside = True
        if not inside and not file.startswith("<"):
            found = (file, int(line))
    return found


def source_line(n: fx.Node) -> str | None:
    """``file.py:line`` of the model's code that made node ``n``, from the stack the tracer recorded;
    None when it kept none."""
    frame = user_frame(FRAME.findall(n.meta.get("stack_trace") or ""))
    return f"{Path(frame[0]).name}:{frame[1]}" if frame else None


def first_paragraph(text: str) -> str:
    """An exception's own text, without what torch.fx appends (``While executing ...``, its traceback)."""
    return text.split("\n\nWhile executing", 1)[0].split("\nWhile executing", 1)[0].strip()
