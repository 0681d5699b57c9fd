"""The vocabulary: every layer kind, one class per kind, one module per kind, found through one registry.

A family is a package (``layers/conv/``) whose ``__init__`` holds its docstring and ``MODULES``, its
kind modules in the order ``netspec kinds`` lists them; the family packages are listed in
``index.FAMILIES`` (no discovery by reflection). A kind module is named for its kind
(``conv/conv2d.py``) and holds its class; shared pydantic bases sit in ``base_*.py`` modules
(``conv/base_conv.py``) and plain helpers in modules without classes (``conv/window.py``), so that
importing a kind creates its class and its bases and nothing else. Every family is a package, the
one-kind families too (``energy``, ``recursive``, ``attention``): adding a kind is the same step in
every family, and the registry, the generated index and the tests have one layout to follow.

Kind modules are imported on first use: looking a kind up imports the one module ``index.KINDS``
names, so ``check`` creates the pydantic classes of the kinds a spec uses, whatever the number of
kinds registered. A module may make kinds on demand instead (``core/activation.py`` makes the plain
activations from the table in ``activations.py``): it lists them in ``ON_DEMAND`` and the registry
calls its ``make_kind`` hook. The torch half of a family, where PyTorch lacks the module, is its twin
in ``layers/torch/`` and is imported only by ``build``.
"""

from netspec.layers.base import canonical_kind, layer_class, layer_kinds, register_layer

__all__ = ["canonical_kind", "layer_class", "layer_kinds", "register_layer"]
