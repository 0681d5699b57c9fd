"""Normalization layers. Batch-norm running statistics are buffers, not parameters (as in PyTorch)."""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("batchnorm2d", "batchnorm1d", "batchnorm3d", "layernorm", "rms_norm", "group_norm", "instance_norm2d")
