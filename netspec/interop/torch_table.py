"""The table ``netspec import`` maps by: torch modules and functions -> netspec layer items (:data:`MODULES`,
:data:`FUNCTIONS`, :data:`FUNCTION_MODULES`, the activations), and the small readers of fx nodes it needs."""

from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass
from typing import Any, Callable, get_args

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.layers.activations import ACTIVATIONS
from netspec.layers.attention.attention import ROPE_THETA, Attention
from netspec.layers.attention.patch_merging import PatchMerging
from netspec.layers.attention.window_attention import WindowAttention
from netspec.layers.conv.channel_shuffle import ChannelShuffle
from netspec.layers.conv.conv1d import Conv1d
from netspec.layers.conv.conv2d import Conv2d
from netspec.layers.conv.conv3d import Conv3d
from netspec.layers.conv.conv_transpose1d import ConvTranspose1d
from netspec.layers.conv.conv_transpose2d import ConvTranspose2d
from netspec.layers.conv.conv_transpose3d import ConvTranspose3d
from netspec.layers.conv.crop2d import Crop2d
from netspec.layers.conv.pixel_shuffle import PixelShuffle
from netspec.layers.conv.pixel_unshuffle import PixelUnshuffle
from netspec.layers.conv.upsample import Upsample
from netspec.layers.conv.zero_pad2d import ZeroPad2d
from netspec.layers.core.dense import Dense
from netspec.layers.core.drop_path import DropPath
from netspec.layers.core.dropout import Dropout
from netspec.layers.core.elu import ELU
from netspec.layers.core.flatten import Flatten
from netspec.layers.core.glu import GLU
from netspec.layers.core.leaky_relu import LeakyReLU
from netspec.layers.core.reshape import Reshape
from netspec.layers.energy.rbm import RBM
from netspec.layers.generative.activity_regularization import ActivityRegularization
from netspec.layers.generative.gaussian_noise import GaussianNoise
from netspec.layers.generative.sample import Sample
from netspec.layers.local.locally_connected2d import LocallyConnected2d
from netspec.layers.local.tiled_conv2d import TiledConv2d
from netspec.layers.merge.add import Add
from netspec.layers.merge.chunk import Chunk
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.multiply import Multiply
from netspec.layers.merge.split import Split
from netspec.layers.merge.subtract import Subtract
from netspec.layers.norm.batchnorm1d import BatchNorm1d
from netspec.layers.norm.batchnorm2d import BatchNorm2d
from netspec.layers.norm.batchnorm3d import BatchNorm3d
from netspec.layers.norm.group_norm import GroupNorm
from netspec.layers.norm.instance_norm2d import InstanceNorm2d
from netspec.layers.norm.layernorm import LayerNorm
from netspec.layers.norm.rms_norm import RMSNorm
from netspec.layers.pool.adaptive_avg_pool1d import AdaptiveAvgPool1d
from netspec.layers.pool.adaptive_avg_pool2d import AdaptiveAvgPool2d
from netspec.layers.pool.avg_pool1d import AvgPool1d
from netspec.layers.pool.avg_pool2d import AvgPool2d
from netspec.layers.pool.avg_pool3d import AvgPool3d
from netspec.layers.pool.global_avg_pool import GlobalAvgPool
from netspec.layers.pool.global_max_pool import GlobalMaxPool
from netspec.layers.pool.max_pool1d import MaxPool1d
from netspec.layers.pool.max_pool2d import MaxPool2d
from netspec.layers.pool.max_pool3d import MaxPool3d
from netspec.layers.recurrent.base_rnn import MergeMode
from netspec.layers.recurrent.gru import GRU
from netspec.layers.recurrent.lstm import LSTM
from netspec.layers.recurrent.rnn import RNN
from netspec.layers.recursive.recursive import Recursive
from netspec.layers.sequence.embedding import Embedding
from netspec.layers.sequence.permute import Permute
from netspec.layers.sequence.repeat_vector import RepeatVector
from netspec.layers.sequence.sequence_pool import SequencePool
from netspec.layers.sequence.time_distributed import TimeDistributed
from netspec.layers.tensors.class_token import ClassToken
from netspec.layers.tensors.layer_scale import LayerScale
from netspec.layers.tensors.position_embedding import PositionEmbedding
from netspec.layers.torch import activations as torch_activations
from netspec.layers.torch.activations import GatedUnit, activation_fn
from netspec.layers.torch.attention import GroupedQueryAttention
from netspec.layers.torch.attention import MultiheadAttention as TorchMultiheadAttention
from netspec.layers.torch.window import PatchMerging as TorchPatchMerging
from netspec.layers.torch.window import WindowAttention as TorchWindowAttention
from netspec.layers.torch.conv import CausalConv1d
from netspec.layers.torch.conv import Crop2d as TorchCrop2d
from netspec.layers.torch.core import Reshape as TorchReshape
from netspec.layers.torch.energy import RBM as TorchRBM
from netspec.layers.torch.generative import ActivityRegularization as TorchActivityRegularization
from netspec.layers.torch.generative import GaussianNoise as TorchGaussianNoise
from netspec.layers.torch.generative import Sample as TorchSample
from netspec.layers.torch.local import LocallyConnected2d as TorchLocallyConnected2d
from netspec.layers.torch.local import TiledConv2d as TorchTiledConv2d
from netspec.layers.torch.merge import Add as TorchAdd
from netspec.layers.torch.merge import Concat as TorchConcat
from netspec.layers.torch.merge import Multiply as TorchMultiply
from netspec.layers.torch.merge import Split as TorchSplit
from netspec.layers.torch.merge import Subtract as TorchSubtract
from netspec.layers.torch.pool import GlobalPool
from netspec.layers.torch.recurrent import GRU as TorchGRU
from netspec.layers.torch.recurrent import LSTM as TorchLSTM
from netspec.layers.torch.recurrent import RNN as TorchRNN
from netspec.layers.torch.recursive import Recursive as TorchRecursive
from netspec.layers.torch.sequence import Permute as TorchPermute
from netspec.layers.torch.sequence import RepeatVector as TorchRepeatVector
from netspec.layers.torch.sequence import SequencePool as TorchSequencePool
from netspec.layers.torch.sequence import TimeDistributed as TorchTimeDistributed
from netspec.layers.torch.tensors import ClassToken as TorchClassToken
from netspec.layers.torch.tensors import LayerScale as TorchLayerScale
from netspec.layers.torch.tensors import PositionEmbedding as TorchPositionEmbedding


# --- one traced call -> one layer item ------------------------------------------------------------------
def pair(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        v = list(v)
        return v[0] if len(set(v)) == 1 else v
    return v


def _conv(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if m.padding_mode != "zeros":
            raise ValueError(f"padding_mode {m.padding_mode!r}")
        item: dict[str, Any] = {"filters": m.out_channels, "kernel": pair(m.kernel_size)}
        extra = (("output_padding", pair(m.output_padding), 0),) if m.transposed else ()
        for key, value, default in (("stride", pair(m.stride), 1), ("padding", pair(m.padding), 0), *extra,
                                    ("dilation", pair(m.dilation), 1), ("groups", m.groups, 1)):
            if value != default:
                item[key] = value
        if m.bias is None:
            item["bias"] = False
        return {kind: item}
    return make


def _norm(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if not m.track_running_stats or m.momentum is None:
            raise ValueError("batch norm without running statistics or with a cumulative average")
        item: dict[str, Any] = {}
        if m.eps != 1e-5:
            item["eps"] = m.eps
        if m.momentum != 0.1:
            item["momentum"] = m.momentum
        if not m.affine:
            item["affine"] = False
        return {kind: item}
    return make


def _pool(kind: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        if pair(getattr(m, "dilation", 1)) != 1 or getattr(m, "return_indices", False):
            raise ValueError("dilated pooling or pooling that returns indices")
        # count_include_pad=False changes a window's divisor only where the window covers padding: with no
        # padding every window (ceil_mode's last, which hangs over the edge, too) is divided by its cells
        # within the input either way (torch: the divisor is clipped at the input plus padding)
        if not getattr(m, "count_include_pad", True) and pair(m.padding) != 0:
            raise ValueError("average pooling with padding that leaves the padding out of the count")
        if getattr(m, "divisor_override", None):
            raise ValueError("average pooling with a divisor_override")
        item: dict[str, Any] = {"kernel": pair(m.kernel_size)}
        stride = pair(m.stride)
        if stride not in (None, item["kernel"]):
            item["stride"] = stride
        if pair(m.padding) != 0:
            item["padding"] = pair(m.padding)
        if m.ceil_mode:
            item["ceil_mode"] = True
        return {kind: item}
    return make


def _instance_norm(m: nn.Module) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for key, default in (("eps", 1e-5), ("momentum", 0.1), ("affine", False), ("track_running_stats", False)):
        if getattr(m, key) != default:
            item[key] = getattr(m, key)
    if m.track_running_stats and m.momentum is None:
        raise ValueError("instance norm with a cumulative average (momentum None)")
    return {InstanceNorm2d.KIND: item}


def _zero_pad(m: nn.Module) -> dict[str, Any]:
    left, right, top, bottom = m.padding
    if min(m.padding) < 0:
        raise ValueError(f"negative padding {list(m.padding)} (a crop: netspec's crop2d)")
    return {ZeroPad2d.KIND: {"padding": left if len({left, right, top, bottom}) == 1 else
                             [top, left] if (left, top) == (right, bottom) else [left, right, top, bottom]}}


def _constant_pad(m: nn.Module) -> dict[str, Any]:
    if m.value != 0:
        raise ValueError(f"padding with {m.value} (netspec's zero_pad2d pads with zeros)")
    return _zero_pad(m)


def _glu(m: nn.Module) -> dict[str, Any]:
    if m.dim == 0:
        raise ValueError("dim 0: over the batch axis (netspec's glu halves an axis of each sample)")
    return {GLU.KIND: {} if m.dim == -1 else {"axis": m.dim - 1 if m.dim > 0 else m.dim}}


def _upsample(m: nn.Module) -> dict[str, Any]:
    scale = m.scale_factor
    if isinstance(scale, (tuple, list)):
        scale = scale[0] if len(set(scale)) == 1 else None
    if m.size is not None or scale is None:
        raise ValueError("upsampling to a size or by a scale per axis (netspec's upsample scales both axes alike)")
    if m.mode not in ("nearest", "bilinear") or (m.mode == "bilinear" and m.align_corners):
        raise ValueError(f"mode {m.mode!r}" + (" with align_corners" if m.align_corners else "") +
                         " (netspec's upsample: nearest, or bilinear without align_corners)")
    if getattr(m, "recompute_scale_factor", None):
        raise ValueError("recompute_scale_factor")
    return {Upsample.KIND: {"scale": float(scale), **({"mode": m.mode} if m.mode != "nearest" else {})}}


def _factor(kind: str, attr: str) -> Callable[[nn.Module], dict[str, Any]]:
    def make(m: nn.Module) -> dict[str, Any]:
        return {kind: {"factor": getattr(m, attr)}}
    return make


def _channel_shuffle(m: nn.Module) -> dict[str, Any]:
    return {ChannelShuffle.KIND: {"groups": m.groups}}


def linear_item(m: nn.Module) -> dict[str, Any]:
    return {Dense.KIND: {"units": m.out_features, **({} if m.bias is not None else {"bias": False})}}


def dropout_item(m: nn.Module) -> dict[str, Any]:
    return {Dropout.KIND: {"rate": m.p, **({"spatial": True} if type(m) in SPATIAL_DROPOUTS else {})}}


# whole channels zeroed: netspec's spatial dropout; the ranks (batch included) on which torch zeroes the channels
# of each sample (Dropout2d reads a 3-D input as Dropout1d; Dropout1d a 2-D and Dropout3d a 4-D input as unbatched,
# zeroing across the samples, which netspec's per-sample dropout does not do)
SPATIAL_DROPOUTS = {nn.Dropout1d: (3,), nn.Dropout2d: (3, 4), nn.Dropout3d: (5,)}
ALPHA_DROPOUTS = (nn.AlphaDropout, nn.FeatureAlphaDropout)  # SELU's dropout: no netspec kind


# dropout functions: the module each is the forward of, and its default for `training` (True: it drops in eval mode)
FUNCTIONAL_DROPOUTS = {F.dropout: (nn.Dropout, True), F.dropout1d: (nn.Dropout1d, True),
                       F.dropout2d: (nn.Dropout2d, True), F.dropout3d: (nn.Dropout3d, True),
                       F.alpha_dropout: (nn.AlphaDropout, False),
                       F.feature_alpha_dropout: (nn.FeatureAlphaDropout, False)}


def spatial_dropout_rank(m: nn.Module, rank: int) -> None:
    """Refuse a channel dropout on a tensor of ``rank`` (batch included) torch reads otherwise than netspec's
    spatial dropout (ValueError)."""
    ranks = SPATIAL_DROPOUTS[type(m)]
    if rank not in ranks:
        raise ValueError(f"{type(m).__name__} on a tensor of rank {rank}: torch reads it as one unbatched sample "
                         "and zeroes channels across the batch (netspec's spatial dropout zeroes the channels of "
                         f"each sample); hint: give it a {' or '.join(map(str, ranks))}-D (batched) input, or use "
                         "nn.Dropout")


def alpha_dropout_refusal(m: nn.Module) -> str:
    return (f"no netspec kind for {type(m).__name__} (SELU's dropout, which keeps the mean and variance: netspec's "
            "dropout zeroes and rescales); hint: it is the identity in eval mode: build the model with nn.Identity() "
            "in its place to import the eval-mode function, or with nn.Dropout to train with plain dropout")


TRANSPOSED_CONVS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def output_padding_of(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Any:
    """The ``output_padding`` that gives a transposed convolution's output ``y`` from ``x``: what forward's
    ``output_size`` made of it (torch computes it so), per spatial axis beyond ``(n − 1)s − 2p + d(k − 1) + 1``."""
    axes = len(m.kernel_size)
    extra = [int(out) - ((int(n) - 1) * s - 2 * p + d * (k - 1) + 1) for out, n, s, p, d, k in
             zip(y.shape[-axes:], x.shape[-axes:], m.stride, m.padding, m.dilation, m.kernel_size)]
    return pair(extra)


def _flatten(m: nn.Module) -> dict[str, Any]:
    if (m.start_dim, m.end_dim) != (1, -1):
        raise ValueError(f"flatten from dim {m.start_dim} to {m.end_dim} (netspec flattens all but the batch)")
    return {Flatten.KIND: {}}


def _adaptive(m: nn.Module) -> dict[str, Any]:
    return {AdaptiveAvgPool2d.KIND: {"output_size": pair(m.output_size)}}


def _adaptive1d(m: nn.Module) -> dict[str, Any]:
    size = m.output_size[0] if isinstance(m.output_size, (tuple, list)) else m.output_size
    if size is None:
        raise ValueError("output_size None (netspec's adaptive_avg_pool1d pools to a given length)")
    return {AdaptiveAvgPool1d.KIND: {"output_size": size}}


def _leaky(m: nn.Module) -> dict[str, Any]:
    return {LeakyReLU.KIND: {"slope": m.negative_slope}}


def _elu(m: nn.Module) -> dict[str, Any]:
    return {ELU.KIND: {} if m.alpha == 1.0 else {"alpha": m.alpha}}


def _embedding(m: nn.Module) -> dict[str, Any]:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise ValueError("max_norm, scale_grad_by_freq or sparse (netspec's embedding is a plain lookup)")
    item: dict[str, Any] = {"vocab": m.num_embeddings, "dim": m.embedding_dim}
    if m.padding_idx is not None:
        item["padding_idx"] = m.padding_idx
    return {Embedding.KIND: item}


def _recurrent(layer: type) -> Callable[[nn.Module], dict[str, Any]]:
    """A recurrent module as ``layer`` (LSTM, GRU, RNN) with what differs from its defaults;
    ``return_sequences`` is set from how forward reads its output (:meth:`Importer.recurrent_uses`)."""
    def make(m: nn.Module) -> dict[str, Any]:
        if not m.batch_first:
            raise ValueError("batch_first=False (netspec's sequences are batch-first, (N, T, F))")
        if getattr(m, "proj_size", 0):
            raise ValueError("proj_size (netspec's LSTM has no projection)")
        extra = {"nonlinearity": m.nonlinearity} if layer is RNN else {}
        item = layer(kind=layer.KIND, units=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional,
                     dropout=m.dropout, bias=m.bias, **extra).model_dump(by_alias=True, exclude_defaults=True)
        item.pop("kind")
        return {layer.KIND: item}
    return make


def layer_norm_item(m: nn.Module) -> dict[str, Any]:
    """``nn.LayerNorm`` over the last ``len(normalized_shape)`` axes (a subclass is read by
    :meth:`Importer.layer_norm`, from what it computes)."""
    item: dict[str, Any] = {}
    if len(m.normalized_shape) != 1:
        item["axes"] = len(m.normalized_shape)
    return {LayerNorm.KIND: {**item, **_norm_options(m, "elementwise_affine")}}


def _norm_options(m: nn.Module, affine: str) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if getattr(m, affine) and getattr(m, "bias", True) is None:
        raise ValueError("a norm with a scale and no bias (netspec's has both or neither)")
    if m.eps != 1e-5:
        item["eps"] = m.eps
    if not getattr(m, affine):
        item["affine"] = False
    return item


def _group_norm(m: nn.Module) -> dict[str, Any]:
    return {GroupNorm.KIND: {"groups": m.num_groups, **_norm_options(m, "affine")}}


def _rms_norm(m: nn.Module) -> dict[str, Any]:
    item: dict[str, Any] = {"axes": len(m.normalized_shape)} if len(m.normalized_shape) != 1 else {}
    if m.eps is not None:
        item["eps"] = m.eps
    if not m.elementwise_affine:
        item["affine"] = False
    return {RMSNorm.KIND: item}


def attention_item(m: nn.Module, batch_second: bool = False) -> dict[str, Any]:
    """``nn.MultiheadAttention`` as netspec's attention; ``batch_first=False`` only where forward gives it a
    batch-second tensor (``batch_second``: :func:`layout.batch_second` found it so), which is the same function."""
    if not m.batch_first and not batch_second:
        raise ValueError("batch_first=False (netspec's sequences are batch-first, (N, T, E))")
    if m.bias_k is not None or m.add_zero_attn:
        raise ValueError("add_bias_kv or add_zero_attn (netspec's attention has neither)")
    item = Attention(kind=Attention.KIND, heads=m.num_heads, dropout=m.dropout, bias=m.in_proj_bias is not None,
                     **({} if m._qkv_same_embed_dim else {"kdim": m.kdim, "vdim": m.vdim})
                     ).model_dump(by_alias=True, exclude_defaults=True)
    item.pop("kind")
    return {Attention.KIND: item}


DROP_PATHS = ("StochasticDepth", "DropPath")  # the class names of stochastic depth (torchvision's, timm's)


def drop_path_rate(m: nn.Module) -> tuple[float, str] | None:
    """``(rate, mode)`` of a stochastic-depth module (torchvision's ``StochasticDepth``: ``p``, ``mode``;
    timm's ``DropPath``: ``drop_prob``, scaling the survivors as netspec does), read by its class name and
    attributes; None for any other module."""
    name = type(m).__name__
    if name not in DROP_PATHS:
        return None
    if name == "StochasticDepth" and isinstance(getattr(m, "p", None), (int, float)):
        mode = getattr(m, "mode", "row")
        return float(m.p), mode if isinstance(mode, str) else "row"
    if name == "DropPath" and isinstance(getattr(m, "drop_prob", None), (int, float)) and \
            getattr(m, "scale_by_keep", True):
        return float(m.drop_prob), "row"
    return None


def drop_path_item(rate: float, mode: str) -> dict[str, Any]:
    if mode not in ("row", "batch"):
        raise ValueError(f"stochastic depth mode {mode!r} (netspec's drop_path: row or batch)")
    return {DropPath.KIND: {"rate": rate, **({"mode": mode} if mode != "row" else {})}}


RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
# a merge of two tensors -> the recurrent layers' `merge` option that merges the two directions so (MergeMode lists
# concatenated, summed, averaged, multiplied: the mean is two calls in forward, not one merge)
_MODES = get_args(MergeMode)
BIDIRECTIONAL_MERGES = dict(zip((Concat.KIND, Add.KIND, Multiply.KIND), (*_MODES[:2], _MODES[3])))
ENCODERS = (nn.TransformerEncoderLayer, nn.TransformerEncoder)  # written as groups (Importer.encoder)
DECODERS = (nn.TransformerDecoderLayer, nn.TransformerDecoder)  # groups reading a memory (Importer.decoder)
TRANSFORMERS = (*ENCODERS, *DECODERS, nn.Transformer)  # their masks read by Importer.mask_options
# max pooling to one position, which netspec writes as global_max_pool (it has no adaptive max pool)
ADAPTIVE_MAX = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
LAST_STEP = ((slice(None, None, None), -1), (slice(None, None, None), -1, slice(None, None, None)))


# torch.nn class -> the layer item it becomes (raising ValueError for options netspec lacks)
MODULES: dict[type, Callable[[nn.Module], dict[str, Any]]] = {
    nn.Conv2d: _conv(Conv2d.KIND), nn.Conv1d: _conv(Conv1d.KIND),
    nn.BatchNorm2d: _norm(BatchNorm2d.KIND), nn.BatchNorm1d: _norm(BatchNorm1d.KIND),
    nn.MaxPool2d: _pool(MaxPool2d.KIND), nn.AvgPool2d: _pool(AvgPool2d.KIND),
    nn.MaxPool1d: _pool(MaxPool1d.KIND), nn.AvgPool1d: _pool(AvgPool1d.KIND),
    nn.AdaptiveAvgPool2d: _adaptive, nn.AdaptiveAvgPool1d: _adaptive1d, nn.Linear: linear_item,
    nn.Dropout: dropout_item, nn.Dropout1d: dropout_item, nn.Dropout2d: dropout_item, nn.Dropout3d: dropout_item,
    nn.ConvTranspose2d: _conv(ConvTranspose2d.KIND), nn.Conv3d: _conv(Conv3d.KIND),
    nn.ConvTranspose1d: _conv(ConvTranspose1d.KIND), nn.ConvTranspose3d: _conv(ConvTranspose3d.KIND),
    nn.BatchNorm3d: _norm(BatchNorm3d.KIND), nn.MaxPool3d: _pool(MaxPool3d.KIND), nn.AvgPool3d: _pool(AvgPool3d.KIND),
    nn.InstanceNorm2d: _instance_norm, nn.ZeroPad2d: _zero_pad, nn.ConstantPad2d: _constant_pad, nn.GLU: _glu,
    nn.Upsample: _upsample, nn.UpsamplingNearest2d: _upsample, nn.UpsamplingBilinear2d: _upsample,
    nn.PixelShuffle: _factor(PixelShuffle.KIND, "upscale_factor"),
    nn.PixelUnshuffle: _factor(PixelUnshuffle.KIND, "downscale_factor"), nn.ChannelShuffle: _channel_shuffle,
    nn.Flatten: _flatten, nn.LeakyReLU: _leaky, nn.ELU: _elu, nn.Embedding: _embedding,
    nn.LSTM: _recurrent(LSTM), nn.GRU: _recurrent(GRU), nn.RNN: _recurrent(RNN),
    nn.LayerNorm: layer_norm_item, nn.GroupNorm: _group_norm, nn.RMSNorm: _rms_norm,
    nn.MultiheadAttention: attention_item,
}
# activation modules and functions without options: from the one activation table
ACTIVATION_MODULES = {getattr(nn, a.module): name for name, a in ACTIVATIONS.items()
                      if a.plain_kind and not a.kwargs and hasattr(nn, a.module)}
# activation modules whose options must be the table's defaults (softmax over the last axis)
ACTIVATION_DEFAULTS = {getattr(nn, a.module): name for name, a in ACTIVATIONS.items()
                       if a.kwargs and hasattr(nn, a.module) and getattr(nn, a.module) not in MODULES}
ACTIVATION_FUNCTIONS: dict[Any, str] = {}
for _name, _act in ACTIVATIONS.items():
    if _act.plain_kind and not _act.kwargs:
        _mod, _, _fn = _act.functional.rpartition(".")
        for _space in ((torch,) if _mod == "torch" else (F, torch)):
            if hasattr(_space, _fn):
                ACTIVATION_FUNCTIONS[getattr(_space, _fn)] = _name
# activation functions with options that are an activation of their own (F.gelu(x, approximate="tanh") is gelu_tanh):
# (function, its keyword arguments) -> the activation kind
ACTIVATION_VARIANTS: dict[tuple[Any, frozenset[tuple[str, Any]]], str] = {
    (f, frozenset(a.kwargs.items())): name for name, a in ACTIVATIONS.items() if a.plain_kind and a.kwargs
    for f, plain in ACTIVATION_FUNCTIONS.items() if ACTIVATIONS[plain].functional == a.functional}
# functions that are a module's forward: the module they are, and the names of their arguments after the input
_POOL2D = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
FUNCTION_MODULES: dict[Any, tuple[type, tuple[str, ...]]] = {
    F.max_pool2d: (nn.MaxPool2d, _POOL2D), F.max_pool1d: (nn.MaxPool1d, _POOL2D),
    F.avg_pool2d: (nn.AvgPool2d, ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                  "divisor_override")),
    F.avg_pool1d: (nn.AvgPool1d, ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
    F.max_pool3d: (nn.MaxPool3d, _POOL2D),
    F.avg_pool3d: (nn.AvgPool3d, ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                  "divisor_override")),
    F.softmax: (nn.Softmax, ("dim", "_stacklevel", "dtype")), torch.softmax: (nn.Softmax, ("dim", "dtype")),
    F.log_softmax: (nn.LogSoftmax, ("dim", "_stacklevel", "dtype")),
    torch.log_softmax: (nn.LogSoftmax, ("dim", "dtype")),
    F.leaky_relu: (nn.LeakyReLU, ("negative_slope", "inplace")), F.elu: (nn.ELU, ("alpha", "inplace")),
    F.adaptive_avg_pool2d: (nn.AdaptiveAvgPool2d, ("output_size",)),
    F.adaptive_avg_pool1d: (nn.AdaptiveAvgPool1d, ("output_size",)),
    F.adaptive_max_pool2d: (nn.AdaptiveMaxPool2d, ("output_size", "return_indices")),
    F.adaptive_max_pool1d: (nn.AdaptiveMaxPool1d, ("output_size", "return_indices")),
}
# the functions above whose first argument after the input is a pooling window: computed from the input's
# size (``F.max_pool1d(x, x.size(2))``), it pools every position to one (Importer.pool_to_one)
WINDOWED = {F.max_pool2d: "max", F.max_pool1d: "max", F.avg_pool2d: "avg", F.avg_pool1d: "avg"}
# tensor methods that are such functions (`x.softmax(-1)`)
METHOD_MODULES = {f.__name__: f for f in (torch.softmax, torch.log_softmax)}
UNUSED_ARGUMENTS = {"inplace": None, "_stacklevel": None}  # arguments that do not change what is computed
IDENTITY = next(name for name, a in ACTIVATIONS.items() if a.is_identity and a.plain_kind)
MERGES = {operator.add: Add.KIND, operator.iadd: Add.KIND, torch.add: Add.KIND,
          operator.mul: Multiply.KIND, operator.imul: Multiply.KIND, torch.mul: Multiply.KIND,
          operator.sub: Subtract.KIND, operator.isub: Subtract.KIND, torch.sub: Subtract.KIND}
FUNCTIONS = {torch.flatten, torch.cat, torch.concat, *FUNCTIONAL_DROPOUTS, *MERGES, *ACTIVATION_FUNCTIONS}
# tensor methods read as the torch function of the same name
METHODS = {f.__name__: f for f in (torch.flatten, *(f for f in ACTIVATION_FUNCTIONS if getattr(torch, f.__name__, None)
                                                   is f and hasattr(torch.Tensor, f.__name__)))}
# reductions over axes, read as pools (Importer.reduce): the functions and the tensor methods of their names
REDUCTIONS = {f: mode for fs, mode in (((torch.mean,), "mean"), ((torch.amax, torch.max), "max"))
              for f in (*fs, *(g.__name__ for g in fs))}
INPLACE_OK = {"inplace"}  # keyword arguments that do not change the values
PERMUTES = (torch.permute, torch.transpose, torch.swapaxes)
# reshapes and permutations, read from the sizes they produce: torch functions, and the tensor methods of their names
SQUEEZES = (torch.squeeze, torch.unsqueeze)
SHAPES = {torch.reshape, torch.Tensor.view.__name__, *PERMUTES, *SQUEEZES,
          *(f.__name__ for f in (torch.reshape, *PERMUTES, *SQUEEZES))}
# reshapes that keep the values' order (a pooled (N, C, 1) read as (N, C)): functions, and method names
FLATTENS = {torch.reshape, torch.flatten, *SQUEEZES, *(f.__name__ for f in (torch.reshape, torch.flatten, *SQUEEZES)),
            torch.Tensor.view.__name__}
# cuts of one tensor into pieces (``x.chunk(2, dim=1)``, ``torch.split(x, 4, 1)``), read through the pieces forward
# indexes as a chunk's or a split's named outputs (Importer.piece_uses): the functions, and the method names
CUTS = {torch.chunk, torch.split, torch.chunk.__name__, torch.split.__name__}
STOCHASTIC_DEPTH = "torchvision.ops.stochastic_depth"  # the module of torchvision's function of that name
STATE_LAYOUT = ("PyTorch's recurrent state is (layers·directions, batch, units), netspec's (batch, layers·directions, "
                "units): netspec imports a selection of one row, h[-1] (the last layer), h[0], h[k], or the two "
                "directions' final states merged, torch.cat([h[-2], h[-1]], dim=1)")

STATE_HINT = ("return or use the output, a step of it (out[:, -1]), a row of the state (h[-1], the last layer's "
              "final state) or the state batch-first, h.transpose(0, 1) (netspec's layout); a state given whole to "
              "another recurrent layer as its initial state imports as it is")
STATE_NAMES = {nn.LSTM: "(h, c)", nn.GRU: "h", nn.RNN: "h"}  # what each recurrent module returns beside its output
PAIR = "\x00"  # joins an LSTM's (h, c) tuple's fx node and h or c: the key of a state forward never unpacks


def holds_tensor(v: Any) -> bool:
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(holds_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(holds_tensor(x) for x in v.values())
    return False


def index_text(index: Any) -> str:
    def one(i: Any) -> str:
        if isinstance(i, slice):
            return ":" if (i.start, i.stop, i.step) == (None, None, None) else \
                f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
        return "..." if i is Ellipsis else repr(i)
    return "[" + ", ".join(one(i) for i in (index if isinstance(index, tuple) else (index,))) + "]"


def sample_axis(dim: int | None, rank: int) -> int:
    """A softmax's ``dim`` on a tensor of ``rank`` (batch included) as netspec's per-sample axis, -1 for
    the last axis however it is written (``dim=1`` of an ``(N, F)`` tensor)."""
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1  # torch's implicit choice (deprecated) for dim=None
    if not -rank <= dim < rank:
        raise ValueError(f"dim {dim} of a tensor of rank {rank}")
    d = dim % rank
    if d == 0:
        raise ValueError(f"dim {dim}: over the batch axis (netspec normalizes within each sample)")
    return -1 if d == rank - 1 else d - 1


def fn_name(target: Any) -> str:
    return getattr(target, "__name__", str(target))


def state_index(n: Any, size: int) -> int | None:
    """The row ``n`` selects of a recurrent state of ``size`` stacked rows, ``0 <= k < size``: ``h[k]``,
    ``h[k, :, :]``, ``h.squeeze(0)`` (``h.squeeze()``, ``torch.squeeze(h, 0)``) of one row; None for any other use."""
    if n.op == "call_function" and n.target is operator.getitem:
        index = n.args[1]
        if isinstance(index, tuple) and index and all(i == slice(None) for i in index[1:]):
            index = index[0]
        if isinstance(index, int) and -size <= index < size:
            return index % size
        return None
    if (n.op == "call_method" and n.target == "squeeze" or n.op == "call_function" and n.target is torch.squeeze) \
            and size == 1 and (list(n.args[1:]) in ([0], [(0,)], []) and n.kwargs.get("dim", 0) in (0, (0,))):
        return 0  # `h.squeeze(0)`, `h.squeeze()` (at the traced batch of 2: the batch axis stays)
    return None


def merge_mode(n: Any) -> str | None:
    """How a call merges two ``(N, H)`` tensors as a bidirectional layer's ``merge`` option: ``torch.cat`` along
    the features ``concat``, a sum ``sum``, a product ``mul``; None for any other call."""
    if n.op != "call_function":
        return None
    if n.target in (torch.cat, torch.concat):
        dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
        return BIDIRECTIONAL_MERGES[Concat.KIND] if dim in (1, -1) else None
    if n.kwargs.get("alpha", 1) != 1:
        return None
    return BIDIRECTIONAL_MERGES.get(MERGES.get(n.target, ""))


def is_causal_mask(mask: Any) -> bool:
    """Whether ``mask`` (``(T, T)``) masks exactly the positions after each query, as
    ``nn.Transformer.generate_square_subsequent_mask`` makes it (``-inf`` above the diagonal, else 0) or as
    a boolean mask (True above the diagonal)."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
        return False
    above = torch.ones(mask.shape, dtype=torch.bool, device=mask.device).triu(1)
    if mask.dtype == torch.bool:
        return bool((mask == above).all())
    if not mask.is_floating_point():
        return False
    return bool((mask[above] == float("-inf")).all() and (mask[~above] == 0).all())


# --- netspec's own modules: `netspec export --format py` copies them into the model's file ---------------------
def _kind_item(layer: type, **options: Any) -> dict[str, Any]:
    """``{kind: options}`` as netspec writes them: validated by the layer class, defaults left out."""
    item = layer(kind=layer.KIND, **options).model_dump(by_alias=True, exclude_defaults=True)
    item.pop("kind")
    return {layer.KIND: {k: list(v) if isinstance(v, tuple) else v for k, v in item.items()}}


def _sample_axis(dim: int) -> int:
    """A batch-inclusive ``dim`` of a netspec module as the layer's per-sample axis (netspec's ``torch_dim``
    inverted: 1 is axis 0, negatives stay)."""
    if dim == 0:
        raise ValueError("dim 0: the batch axis (netspec's layers work within each sample)")
    return dim - 1 if dim > 0 else dim


def _own_attention(m: nn.Module) -> dict[str, Any]:
    """netspec's ``MultiheadAttention`` (``nn.MultiheadAttention``'s parameters) or ``GroupedQueryAttention``
    (``q_proj``/``k_proj``/``v_proj``/``out_proj``: ``kv_heads`` given) as the attention it was built from."""
    grouped = hasattr(m, "num_kv_heads")
    bias = (m.q_proj.bias if grouped else m.in_proj_bias) is not None
    rope = m.rope_theta
    position: dict[str, Any] = {}
    if rope is not None:
        position["rotary"] = True
        if rope != ROPE_THETA:
            position["rope_theta"] = float(rope)
        scaling = dict(getattr(m, "rope_scaling", None) or {})  # Hugging Face's mapping: `factor` is rope_factor
        if scaling:
            position["rope_type"] = scaling.pop("rope_type")
            position.update({("rope_factor" if key == "factor" else key): value for key, value in scaling.items()})
        if getattr(m, "rotary_dim", None) is not None:  # int(d · f) features turn: f = rotary_dim / d gives them back
            position["partial_rotary_factor"] = m.rotary_dim / (m.embed_dim // m.num_heads)
    if getattr(m, "sliding_window", None) is not None:
        position["sliding_window"] = m.sliding_window
    if grouped and (m.out_proj.bias is not None) != bias:
        position["out_bias"] = m.out_proj.bias is not None
    return _kind_item(Attention, heads=m.num_heads, dropout=float(m.dropout), bias=bias, causal=bool(m.causal),
                      padding_mask=bool(m.padding_mask), **({"kv_heads": m.num_kv_heads} if grouped else {}),
                      **position)


def _own_recurrent(layer: type) -> Callable[[nn.Module], dict[str, Any]]:
    """netspec's batch-first ``LSTM``/``GRU``/``RNN`` (torch's, returning netspec's outputs) as ``layer``."""
    def make(m: nn.Module) -> dict[str, Any]:
        extra = {"nonlinearity": m.nonlinearity} if layer is RNN else {}
        return _kind_item(layer, units=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional,
                          dropout=m.dropout, bias=m.bias, return_sequences=bool(m.return_sequences),
                          return_state=bool(m.return_state), merge=m.merge, **extra)
    return make


def _own_recurrent_outputs(layer: type) -> Callable[[nn.Module], tuple[str, ...] | None]:
    """The tuple a netspec recurrent module returns with ``return_state``: the layer's ``out`` and its states."""
    def outputs(m: nn.Module) -> tuple[str, ...] | None:
        return ("out", *layer.STATES) if m.return_state else None
    return outputs


def _own_split(m: nn.Module) -> dict[str, Any]:
    axis = _sample_axis(m.dim)
    if m.chunks:
        return _kind_item(Chunk, chunks=int(m.sizes), axis=axis)
    return _kind_item(Split, sizes=[int(s) for s in m.sizes], axis=axis)


def _own_split_outputs(m: nn.Module) -> tuple[str, ...] | None:
    count = int(m.sizes) if m.chunks else len(m.sizes)
    return tuple(f"out{k}" for k in range(count)) if count > 1 else None


def _own_glu(m: nn.Module) -> dict[str, Any]:
    return _kind_item(GLU, axis=_sample_axis(m.dim), gate=m.gate, gate_half="first" if m.gate_first else "second")


def _own_causal_conv(m: nn.Module) -> dict[str, Any]:
    if m.padding_mode != "zeros" or pair(m.padding) != 0:
        raise ValueError("a causal convolution with its own padding (netspec's pads only on the left)")
    item = _conv(Conv1d.KIND)(m)
    return {Conv1d.KIND: {**item[Conv1d.KIND], "padding": CAUSAL}}


def _own_global_pool(m: nn.Module) -> dict[str, Any]:
    return {(GlobalAvgPool if m.mode == "avg" else GlobalMaxPool).KIND: {}}


def _own_local(layer: type) -> Callable[[nn.Module], dict[str, Any]]:
    """netspec's ``LocallyConnected2d``/``TiledConv2d`` (weights ``(…, out, in, kh, kw)``) as ``layer``."""
    def make(m: nn.Module) -> dict[str, Any]:
        extra = {"tile": pair(list(m.tile))} if hasattr(m, "tile") else {}
        return _kind_item(layer, filters=int(m.weight.shape[-4]), kernel=pair(list(m.kernel)),
                          stride=pair(list(m.stride)), padding=pair(list(m.padding)), bias=m.bias is not None, **extra)
    return make


def _own_time_distributed(m: nn.Module) -> dict[str, Any]:
    """netspec's ``TimeDistributed``: its layers (torch modules of the table), each with its activation."""
    layers = []
    for inner, act in zip(m.layers, m.activations):
        read = MODULES.get(type(inner))
        if read is None:
            raise ValueError(f"a {type(inner).__name__} inside time_distributed (netspec reads the torch modules it "
                             "maps whole: nn.Linear, nn.Conv2d, ...)")
        item = read(inner)
        kind = next(iter(item))
        if act is not None:
            if act not in ACTIVATIONS:
                raise ValueError(f"the activation {act!r} (not one of netspec's)")
            item = {kind: {**item[kind], "activation": act}}
        layers.append(item)
    return {TimeDistributed.KIND: {"layers": layers}}


def _own_position_embedding(m: nn.Module) -> dict[str, Any]:
    table = m.pos_embedding
    sinusoidal = not isinstance(table, nn.Parameter)  # the table as a buffer: the fixed sin/cos one
    return _kind_item(PositionEmbedding, max_len=int(table.shape[1]), sinusoidal=sinusoidal,
                      scale=float(m.scale))


def _own_layer_scale(m: nn.Module, x: torch.Tensor | None) -> dict[str, Any]:
    """netspec's ``LayerScale``: γ shaped ``(C, 1, …)`` to broadcast over the axes after the channel axis, which
    is the input's per-sample axis ``rank − len(γ.shape)``, written out (the default hangs on the layout); its
    initial value is no option (γ is a weight: the import loads it)."""
    if x is None:
        raise ValueError("a layer scale without one input tensor")
    axis = x.dim() - 1 - m.layer_scale.dim()
    if axis < 0:
        raise ValueError(f"a layer scale {tuple(m.layer_scale.shape)} on a tensor of rank {x.dim()}")
    return {LayerScale.KIND: {"axis": axis}}


def _own_activation_module(m: nn.Module) -> dict[str, Any]:
    return {OWN_ACTIVATIONS[type(m).__name__]: {}}


@dataclass(frozen=True)
class Own:
    """One of netspec's torch modules (``netspec.layers.torch``) as ``netspec export --format py`` copies it into
    the model's file: ``cls`` (netspec's class: the copy has its name, constructor and forward), ``read`` (the
    module -> its layer item; ValueError for what the kind cannot say) and ``outputs`` (the layer's outputs by
    the index of the tuple forward returns; None where it returns one tensor)."""

    cls: type
    read: Callable[..., dict[str, Any]]
    outputs: Callable[[nn.Module], tuple[str, ...] | None] | None = None
    with_input: bool = False  # read(module, its first input tensor): an option read from the input's rank


def _plain(layer: type, **attrs: str) -> Callable[[nn.Module], dict[str, Any]]:
    """A module whose options are its attributes: ``attrs`` maps the layer's option -> the module's attribute."""
    def make(m: nn.Module) -> dict[str, Any]:
        options = {k: getattr(m, a) for k, a in attrs.items()}
        return _kind_item(layer, **{k: list(v) if isinstance(v, tuple) else v for k, v in options.items()})
    return make


CAUSAL = "causal"  # conv1d's padding that pads on the left only (netspec's CausalConv1d)
# the activation modules netspec defines (the step): class name -> the activation kind
OWN_ACTIVATIONS = {a.module: name for name, a in ACTIVATIONS.items() if a.plain_kind and not a.kwargs and
                   not hasattr(nn, a.module)}

OWN_MODULES: dict[str, Own] = {own.cls.__name__: own for own in (
    Own(TorchMultiheadAttention, _own_attention), Own(GroupedQueryAttention, _own_attention),
    Own(TorchWindowAttention, lambda m: _kind_item(
        WindowAttention, heads=m.heads, window=m.window, shift=m.shift, qkv_bias=m.qkv.bias is not None,
        proj_bias=m.proj.bias is not None, attention_dropout=float(m.attention_dropout), dropout=float(m.dropout))),
    Own(TorchPatchMerging, lambda m: _kind_item(PatchMerging, eps=m.norm.eps)),
    Own(TorchLSTM, _own_recurrent(LSTM), _own_recurrent_outputs(LSTM)),
    Own(TorchGRU, _own_recurrent(GRU), _own_recurrent_outputs(GRU)),
    Own(TorchRNN, _own_recurrent(RNN), _own_recurrent_outputs(RNN)),
    Own(CausalConv1d, _own_causal_conv), Own(TorchCrop2d, _plain(Crop2d, cropping="lrtb")),
    Own(TorchReshape, _plain(Reshape, shape="shape")), Own(TorchPermute, _plain(Permute, dims="dims")),
    Own(TorchRepeatVector, _plain(RepeatVector, n="n")), Own(TorchSequencePool, _plain(SequencePool, mode="mode")),
    Own(GlobalPool, _own_global_pool), Own(TorchTimeDistributed, _own_time_distributed),
    Own(TorchSplit, _own_split, _own_split_outputs), Own(TorchConcat, lambda m: _kind_item(Concat,
                                                                                           axis=_sample_axis(m.dim))),
    Own(TorchAdd, lambda m: {Add.KIND: {}}), Own(TorchMultiply, lambda m: {Multiply.KIND: {}}),
    Own(TorchSubtract, lambda m: {Subtract.KIND: {}}), Own(GatedUnit, _own_glu),
    Own(TorchClassToken, lambda m: {ClassToken.KIND: {}}), Own(TorchPositionEmbedding, _own_position_embedding),
    Own(TorchLayerScale, _own_layer_scale, with_input=True),
    Own(TorchGaussianNoise, _plain(GaussianNoise, std="std")),
    Own(TorchActivityRegularization, _plain(ActivityRegularization, penalty="penalty", weight="weight", rho="rho")),
    Own(TorchSample, _plain(Sample, beta="beta", at_eval="at_eval")),
    Own(TorchLocallyConnected2d, _own_local(LocallyConnected2d)), Own(TorchTiledConv2d, _own_local(TiledConv2d)),
    Own(TorchRBM, lambda m: _kind_item(RBM, hidden=int(m.weight.shape[0]))),
    Own(TorchRecursive, _plain(Recursive, nonlinearity="nonlinearity", output="output")),
    *(Own(cls, _own_activation_module) for cls in vars(torch_activations).values()
      if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__name__ in OWN_ACTIVATIONS),
)}
# netspec's activation functions (the step, the identity) a copied forward calls: function name -> activation kind
OWN_FUNCTIONS = {a.functional: name for name, a in ACTIVATIONS.items() if a.plain_kind and not a.kwargs and
                 "." not in a.functional and not hasattr(F, a.functional) and not hasattr(torch, a.functional)}


def _shape_of(fn: Any) -> tuple[tuple[str, Any, Any], ...] | None:
    """``fn``'s parameters as (name, kind, default): what a copy keeps of the original's signature."""
    try:
        return tuple((p.name, p.kind, p.default if isinstance(p.default, (int, float, str, bool, type(None)))
                      else type(p.default)) for p in inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def own_module(m: nn.Module) -> Own | None:
    """The entry of :data:`OWN_MODULES` that ``m`` is an instance of, or a copy of (the class netspec's exported
    source defines): the same class name and docstring, the same constructor and forward parameters (names,
    kinds and defaults); None for any other module (a user's class of the same name: torchvision's ``Permute``
    has netspec's signature but permutes the batch axis too)."""
    own = OWN_MODULES.get(type(m).__name__)
    if own is None:
        return None
    if type(m) is own.cls:
        return own
    if inspect.cleandoc(type(m).__doc__ or "") != inspect.cleandoc(own.cls.__doc__ or ""):
        return None  # a class of the same name and signature that netspec did not write (torchvision's Permute)
    for method in ("__init__", "forward"):
        mine, theirs = getattr(type(m), method, None), getattr(own.cls, method, None)
        if mine is None or theirs is None or _shape_of(mine) != _shape_of(theirs):
            return None
    return own


def own_function(fn: Any) -> str | None:
    """The activation kind of netspec's own activation function ``fn`` (or the copy exported source defines:
    the same name and parameters), else None."""
    name = OWN_FUNCTIONS.get(getattr(fn, "__name__", ""))
    if name is None or not inspect.isfunction(fn):
        return None
    theirs = activation_fn(name)[0]
    return name if fn is theirs or _shape_of(fn) == _shape_of(theirs) else None
