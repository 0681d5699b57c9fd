"""netspec: a declarative network compiler for PyTorch.

Describe a network in YAML (or the compact DSL); netspec validates it, infers every shape,
counts parameters and multiply-adds, draws it, and compiles it to a ``torch.nn.Module``.
"""

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

__version__ = "0.1.0"


__all__ = [
    "BuildError", "DataError", "ExpectationError", "NetspecError", "ShapeError", "SpecSyntaxError",
    "SpecValidationError", "UnknownLayerError", "UsageError", "analyze", "check", "compile", "draw", "layer_kinds",
    "load", "register_layer", "schema", "to_dot",
]
