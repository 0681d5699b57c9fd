"""Learned tensors: ``class_token``, ``position_embedding``, ``layer_scale``.

Layers whose parameter is a tensor used as it is, not a weight matrix applied to the input: a token
prepended to a sequence, a table of positions added to it, a per-channel multiplier. Sequences are
``(T, E)`` per sample (time first, as ``attention`` reads them). Their parameters are named and shaped
as torchvision's (``class_token`` ``(1, 1, E)`` and ``pos_embedding`` ``(1, T, E)`` of its
VisionTransformer, ``layer_scale`` ``(C, 1, 1)`` of ConvNeXt's block), so weights load by name. They
have no multiply-adds (an addition, a concatenation, an element-wise product).
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("class_token", "position_embedding", "layer_scale")
