"""Structure kinds: groups of layers (blocks, repeats), residual blocks, parallel branches.

They have no shape rule of their own; ``compose`` wires their children into the graph through the
builder (the :class:`~netspec.layers.base.Composer` protocol) and returns the output reference.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("sequential", "residual", "parallel")
