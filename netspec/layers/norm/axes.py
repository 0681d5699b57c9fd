"""Which axes a normalization reads: the channel count and the trailing axes."""

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import SEQUENCE_HINT, Ctx, channels_first


def trailing_axes(x: TensorType, axes: int, kind: str) -> tuple[int, ...]:
    """The sizes of the last ``axes`` axes, which layer and RMS norms normalize over (fixed sizes only)."""
    if x.rank < axes:
        raise ShapeError(f"{kind} over axes: {axes} trailing axes needs an input of rank ≥ {axes}, got {x} of rank "
                         f"{x.rank}: expected axes 1..{x.rank} (per-sample axes; the batch is never normalized here)",
                         option="axes")
    dims = x.shape[-axes:]
    if any(isinstance(d, str) for d in dims):
        raise ShapeError(f"{kind} axes must be fixed sizes, got {x}")
    return tuple(int(d) for d in dims)


def channels(x: TensorType) -> int:
    if isinstance(x.shape[0], str):
        raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'" + SEQUENCE_HINT)
    return int(x.shape[0])


_MAP_AXES = {2: "C, L", 3: "C, H, W", 4: "C, D, H, W"}


def warn_trailing_on_map(x: TensorType, axes: int, kind: str, ctx: Ctx, channels_option: bool) -> None:
    """Warn when a norm over the trailing axes meets a channels-first map ``(C, H, W)`` (a conv's or a pool's
    output, an image input) and leaves the channels out: over W alone it normalizes each row of each channel,
    rarely what is meant (a dense on such a map warns alike). Channels-last maps and sequences: no warning."""
    if not channels_first(ctx) or x.rank not in _MAP_AXES or axes >= x.rank:
        return
    names = _MAP_AXES[x.rank].split(", ")
    over = ", ".join(names[-axes:])
    sizes = x.shape[-axes:]
    ways = [f"channels_first: true normalizes the {x.shape[0]} channels at every position (LayerNorm over "
            "channels, as ConvNeXt does)"] if channels_option else []
    ways.append(f"axes: {x.rank} normalizes over all of {_MAP_AXES[x.rank]}")
    ctx.warn(f"{kind} normalizes the last {'axis' if axes == 1 else f'{axes} axes'} of {x}, a channels-first map "
             f"({_MAP_AXES[x.rank]}): over {over} ({' × '.join(map(str, sizes))} values) only, not "
             f"its channels; hint: {'; or '.join(ways)}")
