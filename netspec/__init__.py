"""netspec: a declarative network compiler for PyTorch.

Describe a network in YAML (or the compact DSL); netspec validates it, infers every shape,
counts parameters and multiply-adds, draws it, and compiles it to a ``torch.nn.Module``.

The names below load on first use (PEP 562), so that ``import netspec.cli.main`` (the ``netspec``
command) loads only what the command it runs needs, once it has set the cyclic collector aside for a
one-shot command (see :func:`netspec.cli.main.entry`). ``from netspec import check`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(("analyze", "check", "compile", "draw", "schema", "to_dot"), "netspec.api"),
    **dict.fromkeys(("BuildError", "DataError", "ExpectationError", "NetspecError", "ShapeError", "SpecSyntaxError",
                     "SpecValidationError", "UnknownLayerError", "UsageError"), "netspec.core.errors"),
    **dict.fromkeys(("layer_kinds", "register_layer"), "netspec.layers"),
    "load": "netspec.spec.load",
}

__all__ = [
    "BuildError", "DataError", "ExpectationError", "NetspecError", "ShapeError", "SpecSyntaxError",
    "SpecValidationError", "UnknownLayerError", "UsageError", "analyze", "check", "compile", "draw", "layer_kinds",
    "load", "register_layer", "schema", "to_dot",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'netspec' has no attribute '{name}'")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


if TYPE_CHECKING:  # pragma: no cover
    from netspec.api import analyze, check, compile, draw, schema, to_dot
    from netspec.core.errors import (
        BuildError,
        DataError,
        ExpectationError,
        NetspecError,
        ShapeError,
        SpecSyntaxError,
        SpecValidationError,
        UnknownLayerError,
        UsageError,
    )
    from netspec.layers import layer_kinds, register_layer
    from netspec.spec.load import load
