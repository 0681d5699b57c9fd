from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product, sym_add, sym_mul
from netspec.core.types import TensorType
from netspec.layers.base import Bool, Ctx, Layer, register_layer


@register_layer("recursive", aliases=("tree_rnn", "recursive_cell"))
class Recursive(Layer):
    """Recursive NN cell over a binary tree: parent = ``tanh(W·[h_l; h_r] + b)``, from: [leaves, tree]."""

    FAMILY: ClassVar[str] = "recursive"  # not "recurrent": diagrams unroll those through time
    ARITY: ClassVar[int | None] = 2
    INPUT_DTYPE: ClassVar[str] = "any"
    INPUT_DTYPES: ClassVar[tuple[str, ...]] = ("float", "long")  # per input: the leaves, the tree
    EXAMPLES: ClassVar = [({}, [(4, 6), (3, 2)]), ({"output": "nodes", "nonlinearity": "relu"}, [(3, 5), (2, 2)])]

    nonlinearity: Literal["tanh", "relu", "sigmoid"] = "tanh"
    bias: Bool = True
    output: Literal["root", "nodes"] = Field(default="root", description="the root vector, or every node's")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if len(ins) != 2:
            raise ShapeError(f"recursive takes two inputs, the leaves (L, F) and the tree (L − 1, 2), got {len(ins)}; "
                             "hint: from: [leaves, tree]")
        leaves, tree = ins
        if leaves.rank != 2 or leaves.dtype != "float" or isinstance(leaves.shape[1], str):
            raise ShapeError(f"recursive: the leaves must be float vectors (L, F) with a fixed F, got {leaves.dtype} "
                             f"{leaves}")
        if tree.rank != 2 or tree.dtype != "long" or tree.shape[1] != 2:
            raise ShapeError(f"recursive: the tree must be long child indices (L − 1, 2), got {tree.dtype} {tree}")
        n = leaves.shape[0]
        want = sym_add(n, -1)
        if isinstance(n, int) and n < 2:
            raise ShapeError(f"recursive needs at least two leaves, got {leaves}")
        if (isinstance(n, int) or isinstance(tree.shape[0], int)) and tree.shape[0] != want:
            raise ShapeError(f"recursive: a binary tree over {n} leaves has {want} internal nodes, "
                             f"but the tree input is {tree}")
        f = leaves.shape[1]
        if self.output == "root":
            return TensorType((f,))
        return TensorType((sym_add(sym_mul(n, 2), -1), f))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        f = int(ins[0].shape[1])
        return {"weight": (f, 2 * f), **({"bias": (f,)} if self.bias else {})}

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        f = int(ins[0].shape[1])
        return size_product(ins[1].shape[:1]) * 2 * f * f

    def label(self) -> str:
        return f"recursive {self.nonlinearity}(W·(l, r) + b)"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.recursive import Recursive as TorchRecursive

        return TorchRecursive(int(ins[0].shape[1]), self.nonlinearity, self.bias, self.output)
