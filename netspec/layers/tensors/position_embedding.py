from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import READS_STEPS, Bool, Ctx, Float, Layer, number, register_layer
from netspec.layers.tensors.features import features

MAX_LEN = 1 << 20


@register_layer("position_embedding", aliases=("pos_embedding", "positional_encoding"))
class PositionEmbedding(Layer):
    """Add a table of positions to a sequence: ``x·scale + P[:T]``, ``(T, E)`` → ``(T, E)``.

    Learned (the default): the parameter ``pos_embedding`` ``(1, L, E)``, normal with std 0.02 at first
    (torchvision's ViT; BERT's position embeddings are the same table). ``sinusoidal: true``: the
    Transformer paper's fixed table ``P[p, 2i] = sin(p / 10000^(2i/E))``, ``P[p, 2i+1] = cos(p /
    10000^(2i/E))``, a buffer (not saved in the state dict, not trained). ``L`` is ``max_len``, or the
    sequence's length when it is fixed; a sequence shorter than ``max_len`` (or of symbolic length)
    reads the first T rows. ``scale`` multiplies the input first (the paper's √d_model on embeddings).
    """

    FAMILY: ClassVar[str] = "tensor"
    READS: ClassVar[str | None] = READS_STEPS
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [
        ({}, [(5, 4)]),
        ({"max_len": 10}, [("T", 4)]),
        ({"sinusoidal": True}, [(6, 8)]),
        ({"sinusoidal": True, "max_len": 16, "scale": 2.0}, [("T", 5)]),
        ({"max_len": 7, "trainable": False}, [(3, 2)]),
    ]

    max_len: number(int, ge=1, le=MAX_LEN) | None = Field(default=None,  # type: ignore[valid-type]
                                description="rows of the table (default: the sequence's fixed length)")
    sinusoidal: Bool = Field(default=False, description="the fixed sin/cos table (a buffer) instead of a learned one")
    scale: Float = Field(default=1.0, description="multiplies the input before the addition (√E in the Transformer)")

    def length(self, x: TensorType) -> int:
        t = x.shape[0]
        if self.max_len is None:
            if isinstance(t, str):
                raise ShapeError(f"position_embedding needs the table's length for a sequence of symbolic length "
                                 f"'{t}' ({x}); hint: give max_len, the longest sequence it will see")
            return t
        if isinstance(t, int) and t > self.max_len:
            raise ShapeError(f"a sequence of {t} positions is longer than the table's max_len {self.max_len}; "
                             f"hint: give max_len: {t} or more (the table's rows), or a sequence of at most "
                             f"{self.max_len} positions", option="max_len")
        return self.max_len

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        features(x, self.KIND)
        self.length(x)
        return x

    def table_shape(self, ins: list[TensorType]) -> tuple[int, ...]:
        return (1, self.length(ins[0]), int(ins[0].shape[1]))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {} if self.sinusoidal else {"pos_embedding": self.table_shape(ins)}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"pos_embedding": self.table_shape(ins)} if self.sinusoidal else {}

    def label(self) -> str:
        """The table's length is the bound of the sequence's (a symbolic T must be ≤ max_len): `check` shows it
        in the table, before a `--bind` or a build refuses a longer sequence."""
        text = "+ sinusoidal positions" if self.sinusoidal else "+ positions"
        return text + (f", length ≤ {self.max_len}" if self.max_len is not None else "")

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import PositionEmbedding as TorchPositionEmbedding

        _, length, dim = self.table_shape(ins)
        return TorchPositionEmbedding(length, dim, sinusoidal=self.sinusoidal, scale=self.scale)
