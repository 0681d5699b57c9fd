from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product
from netspec.core.types import TensorType
from netspec.layers.base import READS_STEPS, Bool, Ctx, Float, Int, Layer, number, option_error, register_layer

ROPE_THETA = 10000.0  # RoPE's base in the paper (Su et al. 2021, eq. 15) and LLaMA
# What each rope_type reads besides rope_theta (Hugging Face's rope_parameters keys; rope_factor is its "factor")
ROPE_SCALING = {"default": (), "linear": ("rope_factor",),
                "llama3": ("rope_factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}


def _sequence(x: TensorType, what: str) -> int:
    """Check that ``x`` is a float ``(T, F)`` sequence with a fixed feature size; return F."""
    if x.rank != 2:
        hint = ("an image (C, H, W) becomes a sequence of patches with a strided conv2d, 'reshape: [C, -1]' "
                "and 'permute: [1, 0]'" if x.rank == 3 else "attention reads sequences (time, features)")
        raise ShapeError(f"attention expects the {what} as a sequence (T, F), got shape {x}; hint: {hint}")
    if x.dtype != "float":
        raise ShapeError(f"attention needs a float {what}, got {x.dtype} {x}; hint: token ids go through an "
                         "'embedding' first")
    f = x.shape[1]
    if isinstance(f, str):
        raise ShapeError(f"attention needs a fixed feature size for the {what}, got symbolic '{f}' in {x}")
    return f


@register_layer("attention", aliases=("multihead_attention", "mha"))
class Attention(Layer):
    """Multi-head attention, self (``(T, E)`` → ``(T, E)``) or cross (``from: [query, memory]``)."""

    FAMILY: ClassVar[str] = "attention"
    READS: ClassVar[str | None] = READS_STEPS
    FEATURES_LAST: ClassVar[bool] = True
    PRIMARY: ClassVar[str] = "heads"
    ARITY: ClassVar[int | None] = 4  # query, then memory or key and value, then a padding mask
    INPUT_DTYPE: ClassVar[str] = "any"  # float sequences; a long padding mask (checked by infer)
    EXAMPLES: ClassVar = [
        ({"heads": 2}, [(5, 8)]),
        ({"heads": 4, "causal": True}, [("T", 8)]),
        ({"heads": 1, "bias": False}, [(3, 6)]),
        ({"heads": 2, "dropout": 0.1}, [(4, 6)]),
        ({"heads": 2}, [("T", 8), (6, 8)]),            # cross-attention, same width: in_proj_weight
        ({"heads": 3, "kdim": 5, "vdim": 5}, [(4, 6), ("T", 5)]),  # memory of another width
        ({"heads": 2, "bias": False}, [(4, 6), (7, 3), (7, 5)]),   # keys and values apart
        ({"heads": 2, "causal": True}, [(5, 4), (5, 4)]),
        ({"heads": 4, "kv_heads": 2}, [("T", 8)]),                   # grouped-query attention
        ({"heads": 4, "kv_heads": 1, "bias": False}, [(5, 8), (6, 3)]),  # multi-query, cross
        ({"heads": 2, "rotary": True, "causal": True}, [("T", 8)]),
        ({"heads": 4, "kv_heads": 2, "rotary": True, "rope_theta": 500000.0}, [(6, 16)]),
        ({"heads": 2, "kv_heads": 2}, [(5, 8)]),                       # LLaMA's layout without grouping
        ({"heads": 2, "rotary": True, "rope_type": "llama3", "rope_factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 64}, [("T", 16)]),  # Llama 3.1
        ({"heads": 2, "rotary": True, "rope_type": "linear", "rope_factor": 4.0}, [(6, 8)]),
        ({"heads": 2, "rotary": True, "partial_rotary_factor": 0.25, "causal": True}, [("T", 16)]),  # GPT-NeoX
        ({"heads": 4, "kv_heads": 2, "causal": True, "sliding_window": 3, "rotary": True}, [("T", 16)]),  # Mistral
        ({"heads": 4, "kv_heads": 2, "out_bias": False, "causal": True, "rotary": True}, [("T", 16)]),  # Qwen2
    ]

    heads: Int = Field(ge=1, le=4096, description="attention heads; they split the query's features E")
    dropout: Float = Field(default=0.0, ge=0.0, lt=1.0, description="dropout on the attention weights (training)")
    bias: Bool = Field(default=True, description="biases on the input and output projections")
    out_bias: Bool | None = Field(default=None, description="a bias on the output projection (default: bias); "
                                                            "Qwen2's q/k/v_proj have biases, its o_proj none")
    causal: Bool = Field(default=False, description="position t attends to keys 0..t only (queries and keys of "
                                                    "one length)")
    kdim: number(int, ge=1, le=1 << 20) | None = Field(default=None,  # type: ignore[valid-type]
                             description="the keys' feature size (default: read from the input; must match)")
    vdim: number(int, ge=1, le=1 << 20) | None = Field(default=None,  # type: ignore[valid-type]
                             description="the values' feature size (default: read from the input; must match)")
    padding_mask: Bool = Field(default=False, description="the last input is a key padding mask (S,) (long): "
                                                          "nonzero keys are not attended")
    kv_heads: number(int, ge=1, le=4096) | None = Field(  # type: ignore[valid-type]
        default=None, description="key/value heads (grouped-query attention; 1: multi-query): each serves "
                                  "heads/kv_heads query heads; given, the projections are separate q/k/v_proj "
                                  "(LLaMA's layout; default: heads, in nn.MultiheadAttention's in_proj)")
    rotary: Bool = Field(default=False, description="rotary position embedding (RoPE) on queries and keys, "
                                                    "positions 0, 1, ... (the halves rotated, as LLaMA)")
    rope_theta: number(float, gt=0, le=1e12) | None = Field(  # type: ignore[valid-type]
        default=None, description="RoPE's base θ (default 10,000): the head's feature pair i turns by "
                                  "θ^(−2i/d) radians per position")

    rope_type: Literal["default", "linear", "llama3"] | None = Field(
        default=None, description="RoPE's frequency scaling for long contexts (Hugging Face's rope_type): default "
                                  "(none), linear (position interpolation: every frequency / rope_factor) or llama3 "
                                  "(Llama 3.1: low frequencies / rope_factor, high ones kept, smoothed between)")
    rope_factor: number(float, ge=1, le=1e6) | None = Field(  # type: ignore[valid-type]
        default=None, description="the scaling factor of rope_type linear and llama3 (Hugging Face's factor; "
                                  "Llama 3.1: 8)")
    low_freq_factor: number(float, gt=0, le=1e6) | None = Field(  # type: ignore[valid-type]
        default=None, description="llama3: wavelengths above original_max_position_embeddings / low_freq_factor "
                                  "are scaled by rope_factor (Llama 3.1: 1)")
    high_freq_factor: number(float, gt=0, le=1e6) | None = Field(  # type: ignore[valid-type]
        default=None, description="llama3: wavelengths below original_max_position_embeddings / high_freq_factor "
                                  "are kept (Llama 3.1: 4)")
    original_max_position_embeddings: number(int, ge=1, le=1 << 30) | None = Field(  # type: ignore[valid-type]
        default=None, description="llama3: the context length of pre-training, before scaling (Llama 3.1: 8192)")
    partial_rotary_factor: number(float, gt=0, le=1) | None = Field(  # type: ignore[valid-type]
        default=None, description="the fraction of each head's features that RoPE turns, the first ones (halves "
                                  "paired within them, as GPT-NeoX and Phi); the rest pass unturned (default 1)")
    sliding_window: number(int, ge=1, le=1 << 30) | None = Field(  # type: ignore[valid-type]
        default=None, description="causal attention to the last sliding_window keys only, the query's own "
                                  "included: position t attends to t-W+1 .. t (Mistral; Hugging Face's mask)")

    @model_validator(mode="after")
    def _check(self) -> "Attention":
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise option_error("kv_heads", f"expected a divisor of heads ({self.heads}): each key/value head "
                               "serves the same number of query heads", self.kv_heads)
        rotary_set = "rotary" in self.model_fields_set  # `rotary: false` is a switch: a block passes its options
        if self.rope_theta is not None and not rotary_set:
            raise option_error("rope_theta", "rope_theta is the base of the rotary embedding; hint: add "
                               "rotary: true, or leave rope_theta out", self.rope_theta)
        for name in ("rope_type", "partial_rotary_factor"):
            if getattr(self, name) is not None and not rotary_set:
                raise option_error(name, f"{name} shapes the rotary embedding, which is off; hint: add "
                                   f"rotary: true, or leave {name} out", getattr(self, name))
        scaling = ROPE_SCALING["llama3"]
        written = "rope_type" in self.model_fields_set  # `rope_type: default` is a switch too
        for name in scaling:
            if getattr(self, name) is not None and not written:
                raise option_error(name, f"{name} belongs to RoPE's frequency scaling; hint: add rope_type: "
                                   f"{'linear or llama3' if name == 'rope_factor' else 'llama3'}, or leave {name} "
                                   "out", getattr(self, name))
        if self.rotary and self.rope_type:
            missing = [name for name in ROPE_SCALING[self.rope_type] if getattr(self, name) is None]
            if missing:
                raise option_error("rope_type", f"rope_type {self.rope_type} needs {', '.join(missing)}; hint: "
                                   + ("Llama 3.1 has rope_factor: 8.0, low_freq_factor: 1.0, high_freq_factor: "
                                      "4.0, original_max_position_embeddings: 8192" if self.rope_type == "llama3"
                                      else "rope_factor: 4.0 turns 4 times slower (a context 4 times longer)"),
                                   self.rope_type)
            if self.rope_type == "llama3" and self.low_freq_factor >= self.high_freq_factor:  # type: ignore[operator]
                raise option_error("high_freq_factor", f"expected more than low_freq_factor ({self.low_freq_factor})"
                                   ": the smoothing between the two divides by their difference",
                                   self.high_freq_factor)
        if self.out_bias is not None and self.out_bias != self.bias and not self.separate:
            raise option_error("out_bias", f"out_bias: {str(self.out_bias).lower()} with bias: "
                               f"{str(self.bias).lower()} needs separate q/k/v_proj (nn.MultiheadAttention has one "
                               f"bias switch for both); hint: add kv_heads: {self.heads} (the same parameters, "
                               "LLaMA's layout)", self.out_bias)
        if self.sliding_window is not None and not self.causal:
            raise option_error("sliding_window", "sliding_window is a causal mask (each position attends to its "
                               "last sliding_window keys, itself included); hint: add causal: true",
                               self.sliding_window)
        return self

    def rotary_dim(self, e: int) -> int:
        """The features RoPE turns in each head: ``int(d · partial_rotary_factor)`` (d = E/heads; Hugging Face
        rounds down too)."""
        d = e // self.heads
        return int(d * self.partial_rotary_factor) if self.partial_rotary_factor is not None else d

    def rope_scaling(self) -> dict[str, Any] | None:
        """RoPE's frequency scaling as Hugging Face's ``rope_scaling`` mapping (``factor`` for rope_factor), or
        None without one."""
        if not self.rotary or self.rope_type in (None, "default"):
            return None
        return {"rope_type": self.rope_type, **{("factor" if name == "rope_factor" else name): getattr(self, name)
                                                 for name in ROPE_SCALING[self.rope_type]}}

    @property
    def separate(self) -> bool:
        """``kv_heads`` given: separate ``q_proj``/``k_proj``/``v_proj``/``out_proj``, Hugging Face LLaMA's
        layout (``nn.MultiheadAttention`` cannot hold keys and values narrower than the queries), also
        where ``kv_heads`` equals ``heads`` (Llama 1 and 2), so that such weights map by name."""
        return self.kv_heads is not None

    @property
    def out_bias_on(self) -> bool:
        """Whether the output projection has a bias: ``out_bias``, else ``bias``."""
        return self.bias if self.out_bias is None else self.out_bias

    def split(self, ins: list[TensorType]) -> tuple[TensorType, TensorType, TensorType, TensorType | None]:
        """(query, key, value, padding mask or None) from the inputs."""
        seqs, mask = (ins[:-1], ins[-1]) if self.padding_mask else (ins, None)
        if not seqs:
            raise ShapeError("attention with padding_mask: true takes the sequence(s), then the mask")
        if len(seqs) > 3:
            raise ShapeError(f"attention takes a query, then a memory or a key and a value, got {len(seqs)} "
                             "sequences" + (" (and the padding mask)" if mask is not None else ""))
        if len(seqs) == 1:
            return seqs[0], seqs[0], seqs[0], mask
        if len(seqs) == 2:
            return seqs[0], seqs[1], seqs[1], mask
        return seqs[0], seqs[1], seqs[2], mask

    def dims(self, ins: list[TensorType]) -> tuple[int, int, int]:
        """(E, E_k, E_v): the query's, keys' and values' feature sizes."""
        q, k, v, _ = self.split(ins)
        return int(q.shape[1]), int(k.shape[1]), int(v.shape[1])

    def kv_width(self, e: int) -> int:
        """The projected keys' (and values') width: ``kv_heads · E/heads`` (E without grouping)."""
        return e // self.heads * (self.kv_heads or self.heads)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        q, k, v, mask = self.split(ins)
        cross = k is not q
        e = _sequence(q, "query")
        ek = _sequence(k, "keys" if v is not k else "memory")
        ev = _sequence(v, "values") if v is not k else ek
        if e % self.heads:
            raise ShapeError(f"{self.heads} heads must divide the query's {e} features (each head reads E/heads)",
                             option="heads")
        if self.rotary and self.partial_rotary_factor is None and (e // self.heads) % 2:
            raise ShapeError(f"rotary needs an even head size, got {e} features / {self.heads} heads = "
                             f"{e // self.heads}; hint: RoPE turns the head's features in pairs", option="rotary")
        turned = self.rotary_dim(e)
        if self.rotary and self.partial_rotary_factor is not None and (turned < 2 or turned % 2):
            raise ShapeError(f"partial_rotary_factor {self.partial_rotary_factor} of a head of {e // self.heads} "
                             f"features ({e} / {self.heads} heads) turns {turned} (rounded down), expected an even "
                             "number, at least 2; hint: RoPE turns the features in pairs",
                             option="partial_rotary_factor")
        for name, want, got in (("kdim", self.kdim, ek), ("vdim", self.vdim, ev)):
            if want is not None and want != got:
                raise ShapeError(f"{name}: {want}, but the {'keys' if name == 'kdim' else 'values'} have {got} "
                                 f"features ({k if name == 'kdim' else v})", option=name)
        if k.shape[0] != v.shape[0]:
            raise ShapeError(f"keys {k} and values {v} must have the same length")
        s = k.shape[0]
        if self.causal and cross and q.shape[0] != s:
            raise ShapeError(f"causal attention needs queries and keys of one length, got {q.shape[0]} and {s}")
        if mask is not None:
            if mask.rank != 1 or mask.shape[0] != s:
                raise ShapeError(f"the padding mask must be (S,) = ({s},), one flag per key, got {mask}")
            if mask.dtype != "long":
                raise ShapeError(f"the padding mask must be long (nonzero = padding), got {mask.dtype} {mask}")
        return TensorType((q.shape[0], e))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        e, ek, ev = self.dims(ins)
        if self.separate:  # torch's module order: q_proj, k_proj, v_proj, out_proj
            kv = self.kv_width(e)
            shapes: dict[str, tuple[int, ...]] = {}
            for name, rows, cols in (("q_proj", e, e), ("k_proj", kv, ek), ("v_proj", kv, ev), ("out_proj", e, e)):
                shapes[f"{name}.weight"] = (rows, cols)
                if self.out_bias_on if name == "out_proj" else self.bias:
                    shapes[f"{name}.bias"] = (rows,)
            return shapes
        if ek == e and ev == e:
            shapes = {"in_proj_weight": (3 * e, e)}
        else:
            shapes = {"q_proj_weight": (e, e), "k_proj_weight": (e, ek), "v_proj_weight": (e, ev)}
        if self.bias:
            shapes["in_proj_bias"] = (3 * e,)
        shapes["out_proj.weight"] = (e, e)
        if self.bias:
            shapes["out_proj.bias"] = (e,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        q, k, _, _ = self.split(ins)
        e, ek, ev = self.dims(ins)
        t, s = size_product(q.shape[:1]), size_product(k.shape[:1])  # sequence lengths, maybe symbolic
        kv = self.kv_width(e)  # grouped keys and values are projected narrower, then shared by heads/kv_heads
        return t * e * e + s * ek * kv + s * ev * kv + 2 * t * s * e + t * e * e

    def label(self) -> str:
        sequences = len(self.from_ or [None]) - (1 if self.padding_mask else 0)
        text = f"{'cross' if sequences > 1 else 'self'}-attention ×{self.heads}"
        if self.kv_heads is not None and self.kv_heads != self.heads:
            text += f" kv×{self.kv_heads}"
        text += " causal" if self.causal else ""
        text += f" window {self.sliding_window}" if self.sliding_window is not None and self.causal else ""
        if self.rotary:
            text += " rotary" + (f" {self.rope_type}" if self.rope_type not in (None, "default") else "")
            text += f" ×{self.partial_rotary_factor:g}" if self.partial_rotary_factor is not None else ""
        return text

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.attention import GroupedQueryAttention, MultiheadAttention

        e, ek, ev = self.dims(ins)
        rope = (self.rope_theta or ROPE_THETA) if self.rotary else None
        partial = self.rotary and self.partial_rotary_factor is not None
        position = {"rope_theta": rope, "rope_scaling": self.rope_scaling(),
                    "rotary_dim": self.rotary_dim(e) if partial else None,
                    "sliding_window": self.sliding_window if self.causal else None}
        if self.separate:
            return GroupedQueryAttention(e, self.heads, self.kv_heads, dropout=self.dropout, bias=self.bias, kdim=ek,
                                         vdim=ev, causal=self.causal, padding_mask=self.padding_mask,
                                         **({"out_bias": self.out_bias} if self.out_bias is not None else {}),
                                         **position)
        return MultiheadAttention(e, self.heads, dropout=self.dropout, bias=self.bias, kdim=ek, vdim=ev,
                                  causal=self.causal, padding_mask=self.padding_mask, **position)
