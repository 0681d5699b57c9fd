"""Which family module holds each layer kind name.

Generated: ``python -c "from netspec.layers import index; index.write()"``. A test regenerates it
and fails when it is stale. Imports nothing, so looking a name up costs nothing.
"""

FAMILIES = ("conv", "core", "energy", "generative", "local", "merge", "norm", "pool", "recurrent", "recursive",
            "sequence", "structure", "attention", "tensors")

# name or alias -> (canonical kind, family module)
KINDS: dict[str, tuple[str, str]] = {
    'conv2d': ('conv2d', 'conv'),
    'conv': ('conv2d', 'conv'),
    'conv1d': ('conv1d', 'conv'),
    'conv3d': ('conv3d', 'conv'),
    'conv_transpose2d': ('conv_transpose2d', 'conv'),
    'deconv2d': ('conv_transpose2d', 'conv'),
    'conv2d_transpose': ('conv_transpose2d', 'conv'),
    'zero_pad2d': ('zero_pad2d', 'conv'),
    'zero_padding2d': ('zero_pad2d', 'conv'),
    'zeropad2d': ('zero_pad2d', 'conv'),
    'upsample': ('upsample', 'conv'),
    'upsample2d': ('upsample', 'conv'),
    'upsampling2d': ('upsample', 'conv'),
    'crop2d': ('crop2d', 'conv'),
    'cropping2d': ('crop2d', 'conv'),
    'pixel_shuffle': ('pixel_shuffle', 'conv'),
    'pixel_unshuffle': ('pixel_unshuffle', 'conv'),
    'channel_shuffle': ('channel_shuffle', 'conv'),
    'dense': ('dense', 'core'),
    'linear': ('dense', 'core'),
    'fc': ('dense', 'core'),
    'flatten': ('flatten', 'core'),
    'reshape': ('reshape', 'core'),
    'dropout': ('dropout', 'core'),
    'drop_path': ('drop_path', 'core'),
    'stochastic_depth': ('drop_path', 'core'),
    'relu': ('relu', 'core'),
    'selu': ('selu', 'core'),
    'gelu': ('gelu', 'core'),
    'silu': ('silu', 'core'),
    'tanh': ('tanh', 'core'),
    'sigmoid': ('sigmoid', 'core'),
    'softplus': ('softplus', 'core'),
    'relu6': ('relu6', 'core'),
    'hardswish': ('hardswish', 'core'),
    'hardsigmoid': ('hardsigmoid', 'core'),
    'mish': ('mish', 'core'),
    'step': ('step', 'core'),
    'identity': ('identity', 'core'),
    'leaky_relu': ('leaky_relu', 'core'),
    'elu': ('elu', 'core'),
    'softmax': ('softmax', 'core'),
    'log_softmax': ('log_softmax', 'core'),
    'glu': ('glu', 'core'),
    'swiglu': ('swiglu', 'core'),
    'rbm': ('rbm', 'energy'),
    'gaussian_noise': ('gaussian_noise', 'generative'),
    'activity_regularization': ('activity_regularization', 'generative'),
    'activity_regularizer': ('activity_regularization', 'generative'),
    'sparsity': ('activity_regularization', 'generative'),
    'sample': ('sample', 'generative'),
    'reparameterize': ('sample', 'generative'),
    'sampling': ('sample', 'generative'),
    'locally_connected2d': ('locally_connected2d', 'local'),
    'local2d': ('locally_connected2d', 'local'),
    'unshared_conv2d': ('locally_connected2d', 'local'),
    'tiled_conv2d': ('tiled_conv2d', 'local'),
    'tiled_conv': ('tiled_conv2d', 'local'),
    'add': ('add', 'merge'),
    'multiply': ('multiply', 'merge'),
    'mul': ('multiply', 'merge'),
    'subtract': ('subtract', 'merge'),
    'sub': ('subtract', 'merge'),
    'concat': ('concat', 'merge'),
    'concatenate': ('concat', 'merge'),
    'split': ('split', 'merge'),
    'chunk': ('chunk', 'merge'),
    'batchnorm2d': ('batchnorm2d', 'norm'),
    'batch_norm2d': ('batchnorm2d', 'norm'),
    'bn2d': ('batchnorm2d', 'norm'),
    'batchnorm': ('batchnorm2d', 'norm'),
    'batchnorm1d': ('batchnorm1d', 'norm'),
    'batch_norm1d': ('batchnorm1d', 'norm'),
    'bn1d': ('batchnorm1d', 'norm'),
    'batchnorm3d': ('batchnorm3d', 'norm'),
    'batch_norm3d': ('batchnorm3d', 'norm'),
    'bn3d': ('batchnorm3d', 'norm'),
    'layernorm': ('layernorm', 'norm'),
    'layer_norm': ('layernorm', 'norm'),
    'rms_norm': ('rms_norm', 'norm'),
    'rmsnorm': ('rms_norm', 'norm'),
    'group_norm': ('group_norm', 'norm'),
    'groupnorm': ('group_norm', 'norm'),
    'instance_norm2d': ('instance_norm2d', 'norm'),
    'instancenorm2d': ('instance_norm2d', 'norm'),
    'instance_norm': ('instance_norm2d', 'norm'),
    'max_pool2d': ('max_pool2d', 'pool'),
    'maxpool2d': ('max_pool2d', 'pool'),
    'maxpool': ('max_pool2d', 'pool'),
    'max_pool': ('max_pool2d', 'pool'),
    'avg_pool2d': ('avg_pool2d', 'pool'),
    'avgpool2d': ('avg_pool2d', 'pool'),
    'avgpool': ('avg_pool2d', 'pool'),
    'avg_pool': ('avg_pool2d', 'pool'),
    'max_pool1d': ('max_pool1d', 'pool'),
    'maxpool1d': ('max_pool1d', 'pool'),
    'avg_pool1d': ('avg_pool1d', 'pool'),
    'avgpool1d': ('avg_pool1d', 'pool'),
    'max_pool3d': ('max_pool3d', 'pool'),
    'maxpool3d': ('max_pool3d', 'pool'),
    'avg_pool3d': ('avg_pool3d', 'pool'),
    'avgpool3d': ('avg_pool3d', 'pool'),
    'global_avg_pool': ('global_avg_pool', 'pool'),
    'global_average_pooling2d': ('global_avg_pool', 'pool'),
    'gap': ('global_avg_pool', 'pool'),
    'global_avg_pool2d': ('global_avg_pool', 'pool'),
    'global_max_pool': ('global_max_pool', 'pool'),
    'global_max_pooling2d': ('global_max_pool', 'pool'),
    'global_max_pool2d': ('global_max_pool', 'pool'),
    'adaptive_avg_pool2d': ('adaptive_avg_pool2d', 'pool'),
    'adaptive_avgpool2d': ('adaptive_avg_pool2d', 'pool'),
    'adaptive_avg_pool1d': ('adaptive_avg_pool1d', 'pool'),
    'rnn': ('rnn', 'recurrent'),
    'simple_rnn': ('rnn', 'recurrent'),
    'simplernn': ('rnn', 'recurrent'),
    'gru': ('gru', 'recurrent'),
    'lstm': ('lstm', 'recurrent'),
    'recursive': ('recursive', 'recursive'),
    'tree_rnn': ('recursive', 'recursive'),
    'recursive_cell': ('recursive', 'recursive'),
    'embedding': ('embedding', 'sequence'),
    'permute': ('permute', 'sequence'),
    'transpose': ('permute', 'sequence'),
    'repeat_vector': ('repeat_vector', 'sequence'),
    'sequence_pool': ('sequence_pool', 'sequence'),
    'seq_pool': ('sequence_pool', 'sequence'),
    'time_distributed': ('time_distributed', 'sequence'),
    'timedistributed': ('time_distributed', 'sequence'),
    'sequential': ('sequential', 'structure'),
    'group': ('sequential', 'structure'),
    'block': ('sequential', 'structure'),
    'residual': ('residual', 'structure'),
    'parallel': ('parallel', 'structure'),
    'attention': ('attention', 'attention'),
    'multihead_attention': ('attention', 'attention'),
    'mha': ('attention', 'attention'),
    'class_token': ('class_token', 'tensors'),
    'cls_token': ('class_token', 'tensors'),
    'position_embedding': ('position_embedding', 'tensors'),
    'pos_embedding': ('position_embedding', 'tensors'),
    'positional_encoding': ('position_embedding', 'tensors'),
    'layer_scale': ('layer_scale', 'tensors'),
}


def render() -> str:
    """This module's text, from the family modules themselves."""
    import importlib

    from netspec.layers import base

    for module in FAMILIES:
        importlib.import_module(f"netspec.layers.{module}")
    rows = []
    for kind, cls in base.layer_kinds().items():
        module = cls.__module__.rpartition(".")[2]
        for name in (kind, *base.registered_aliases(kind)):
            rows.append(f"    {name!r}: ({kind!r}, {module!r}),")
    text = open(__file__, encoding="utf-8").read()
    start = text.index("KINDS: dict")
    end = text.index("\n\n\ndef render")
    return text[:start] + "KINDS: dict[str, tuple[str, str]] = {\n" + "\n".join(rows) + "\n}" + text[end:]


def write() -> None:
    """Regenerate this file after adding a kind or an alias (a test fails until you do)."""
    text = render()
    with open(__file__, "w", encoding="utf-8") as f:
        f.write(text)
