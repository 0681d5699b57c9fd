from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import Dim, size_product, sym_mul, window_count
from netspec.core.types import TensorType
from netspec.layers.base import Bool, Ctx, Float, Int, Layer, channels_first, option_error, register_layer

MAX_WINDOW = 48  # the index buffer holds window⁴ entries: 5.3 M at 48 (Swin V2 uses up to 24)


def channels_last_map(x: TensorType, kind: str, ctx: Ctx) -> int:
    """Check that ``x`` is a float channels-last map ``(H, W, C)`` with a fixed C; return C. Warns when the
    builder knows ``x`` is channels-first (a conv's output): its channels would be read as a width."""
    if x.rank != 3:
        raise ShapeError(f"{kind} expects a channels-last map (H, W, C), got shape {x}; hint: a conv's (C, H, W) "
                         "output becomes one with 'permute: [1, 2, 0]'")
    if x.dtype != "float":
        raise ShapeError(f"{kind} needs a float map, got {x.dtype} {x}")
    c = x.shape[2]
    if isinstance(c, str):
        raise ShapeError(f"{kind} needs a fixed channel count on the last axis, got '{c}' in {x}")
    if channels_first(ctx):
        ctx.warn(f"{kind} reads {x} as a channels-last map (H, W, C), but this input is a channels-first map "
                 f"(C, H, W): its {x.shape[0]} channels would be the rows; hint: permute: [1, 2, 0] makes it (H, W, C)")
    return c


def padded(n: Dim, window: int) -> Dim:
    """``n`` padded up to a multiple of ``window``: ``window·ceil(n/window)``."""
    return sym_mul(window, window_count(n, window).value)


@register_layer("window_attention", aliases=("shifted_window_attention", "swin_attention"))
class WindowAttention(Layer):
    """Shifted-window multi-head self-attention over a channels-last map ``(H, W, C)`` → ``(H, W, C)``
    (Swin Transformer, Liu et al. 2021; torchvision's ``ShiftedWindowAttention``).

    The map is padded with zeros (right, bottom) to multiples of ``window``, cut into ``window×window``
    windows of N = window² tokens, and each window attends within itself: ``qkv`` (C → 3C), ``heads`` heads
    of d = C/heads, scores ``q·kᵀ/√d`` plus a learned relative position bias, softmax, ``proj`` (C → C).
    ``shift`` > 0 rolls the map by −shift on both axes first and back after (SW-MSA), masking (−100) the
    scores between tokens the roll brought together; as torchvision, an axis whose padded size the window
    covers whole is not shifted (the window is not shrunk: a map smaller than the window is padded up to it).

    Parameters (torch's names and order): ``qkv.weight`` ``(3C, C)`` (+ ``qkv.bias``), ``proj.weight``
    ``(C, C)`` (+ ``proj.bias``), ``relative_position_bias_table`` ``((2·window − 1)², heads)``; buffer
    ``relative_position_index`` ``(window⁴,)`` (long, in the state dict).

    MACs per sample, with P = Hp·Wp the padded map's positions (Hp = window·ceil(H/window)), each window's
    N = window² tokens and P/N windows::

        P·C·3C (qkv) + (P/N)·N·N·C (QKᵀ over the heads) + (P/N)·N·N·C (A·V) + P·C·C (proj)
        = 4·P·C² + 2·P·N·C

    as ``attention`` counts its T×T products (T = N within a window), and as torch's flop counter counts
    torchvision's module; the bias, mask, scaling and softmax are not multiply-adds.
    """

    FAMILY: ClassVar[str] = "attention"
    FEATURES_LAST: ClassVar[bool] = True
    PRIMARY: ClassVar[str] = "heads"
    EXAMPLES: ClassVar = [
        ({"heads": 2, "window": 4}, [(8, 8, 8)]),
        ({"heads": 2, "window": 4, "shift": 2}, [(8, 8, 8)]),
        ({"heads": 3, "window": 3, "shift": 1}, [(7, 5, 6)]),            # padded to 9×6, shifted on both axes
        ({"heads": 1, "window": 7, "shift": 3}, [(3, 3, 4)]),            # map smaller than the window: no shift
        ({"heads": 2, "window": 4, "shift": 2}, [(4, 9, 4)]),            # shifted along the width only
        ({"heads": 2, "window": 2, "shift": 1, "qkv_bias": False, "proj_bias": False}, [("T", 6, 4)]),
        ({"heads": 2, "window": 3, "dropout": 0.1, "attention_dropout": 0.1}, [(6, 6, 4)]),
    ]

    heads: Int = Field(ge=1, le=4096, description="attention heads; they split the channels C")
    window: Int = Field(default=7, ge=1, le=MAX_WINDOW, description="the window's side, in positions (Swin: 7)")
    shift: Int = Field(default=0, ge=0, le=MAX_WINDOW, description="cyclic shift of the windows, in positions "
                                                                   "(Swin: 0 and window//2 alternately)")
    qkv_bias: Bool = Field(default=True, description="a bias on the query/key/value projection")
    proj_bias: Bool = Field(default=True, description="a bias on the output projection")
    attention_dropout: Float = Field(default=0.0, ge=0.0, lt=1.0, description="dropout on the attention weights "
                                                                             "(training)")
    dropout: Float = Field(default=0.0, ge=0.0, lt=1.0, description="dropout on the output (training)")

    @model_validator(mode="after")
    def _check(self) -> "WindowAttention":
        if self.shift >= self.window:
            raise option_error("shift", f"expected a shift below the window ({self.window}); Swin shifts by "
                               f"window//2 = {self.window // 2}", self.shift)
        return self

    def channels(self, ins: list[TensorType]) -> int:
        return int(ins[0].shape[2])

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        c = channels_last_map(x, self.KIND, ctx)
        if c % self.heads:
            raise ShapeError(f"{self.heads} heads must divide the map's {c} channels (each head reads C/heads)",
                             option="heads")
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = self.channels(ins)
        shapes: dict[str, tuple[int, ...]] = {"qkv.weight": (3 * c, c)}
        if self.qkv_bias:
            shapes["qkv.bias"] = (3 * c,)
        shapes["proj.weight"] = (c, c)
        if self.proj_bias:
            shapes["proj.bias"] = (c,)
        shapes["relative_position_bias_table"] = ((2 * self.window - 1) ** 2, self.heads)
        return shapes

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"relative_position_index": (self.window ** 4,)}

    def buffer_dtype(self, name: str) -> str:
        return "long"

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        x = ins[0]
        c = self.channels(ins)
        positions = size_product((padded(x.shape[0], self.window), padded(x.shape[1], self.window)))
        return positions * (4 * c * c + 2 * self.window ** 2 * c)

    def receptive(self) -> None:
        return None  # a window sees its whole window (and, shifted, the rolled neighbours): not a kernel

    def label(self) -> str:
        return f"window-attention ×{self.heads} {self.window}×{self.window}" + (
            f" shift {self.shift}" if self.shift else "")

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.window import WindowAttention as TorchWindowAttention

        return TorchWindowAttention(self.channels(ins), self.heads, self.window, self.shift, qkv_bias=self.qkv_bias,
                                    proj_bias=self.proj_bias, attention_dropout=self.attention_dropout,
                                    dropout=self.dropout)
