"""Output-size arithmetic, in one place. Nothing else in netspec recomputes sizes.

A dimension is an ``int`` or, when symbolic (a sequence length ``T``), a ``str`` holding a readable
expression such as ``"floor((T - 5)/2) + 1"``. Every function returns the size and the arithmetic
written out, so shape errors can show it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

Dim = int | str

_TRAILING = re.compile(r"^(.*\S) ([+-]) (\d+)$")




def sym_add(n: Dim, c: int) -> Dim:
    """n + c, folding constants of a symbolic expression ("T - 4" + 2 -> "T - 2")."""
    if isinstance(n, int):
        return n + c
    m = _TRAILING.match(n)
    base, const = (m.group(1), int(m.group(3)) * (1 if m.group(2) == "+" else -1)) if m else (n, 0)
    total = const + c
    if total == 0:
        return base
    return f"{base} {'+' if total > 0 else '-'} {abs(total)}"


def _paren(n: Dim) -> str:
    s = str(n)
    return f"({s})" if " " in s else s


def sym_mul(a: Dim, b: Dim) -> Dim:
    """a * b (a product of a symbolic dim stays readable: 'T*64')."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    return f"{_paren(a)}*{_paren(b)}"


def product(dims: tuple[Dim, ...] | list[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = sym_mul(out, d)
    return out


def numeric_product(dims: tuple[Dim, ...] | list[Dim]) -> int:
    """Product treating symbolic dims as 1 (counts 'per time step')."""
    out = 1
    for d in dims:
        if isinstance(d, int):
            out *= d
    return out


@dataclass(frozen=True)
class Size:
    """A computed size, whether the division was exact, and the arithmetic shown to users."""

    value: Dim
    exact: bool
    arithmetic: str
    dropped: int = 0  # real input positions at the end that no window covers


def conv_out(n: Dim, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
             ceil_mode: bool = False, pad_total: int | None = None) -> Size:
    """Convolution / pooling output size.

    ``floor((n + 2p − d(k − 1) − 1)/s) + 1`` (``ceil`` in ceil_mode, where PyTorch also drops a last
    window that would start in the right padding). ``pad_total`` overrides ``2p`` for asymmetric padding.
    """
    pad = 2 * padding if pad_total is None else pad_total
    span = dilation * (kernel - 1)
    pad_txt = f"2·{padding}" if pad_total is None else str(pad_total)
    span_txt = f"{dilation}·({kernel} − 1) − 1" if dilation != 1 else f"{kernel}"
    if isinstance(n, str):
        inner = sym_add(n, pad - span - 1)
        if stride == 1:
            return Size(sym_add(inner, 1), True, f"{n} → {n} + {pad_txt} − {span_txt} + 1")
        fn = "ceil" if ceil_mode else "floor"
        return Size(sym_add(f"{fn}({_paren(inner)}/{stride})", 1), False,
                    f"{n} → {fn}(({n} + {pad_txt} − {span_txt})/{stride}) + 1")
    num = n + pad - span - 1
    if ceil_mode:
        out = -(-num // stride) + 1
        # PyTorch: the last window must start inside the input or the left padding.
        if (out - 1) * stride >= n + pad // 2:
            out -= 1
    else:
        out = num // stride + 1
    exact = num % stride == 0
    fn = "ceil" if ceil_mode else "floor"
    text = f"({n} + {pad_txt} − {span_txt})/{stride}"
    text = f"{fn}({text}) + 1" if not exact else f"{text} + 1"
    # A stride larger than the window skips positions by design (a 1×1 stride-2 shortcut); otherwise
    # a tail of real input that no window reaches is lost silently. Padding left uncovered is harmless.
    last_end = (out - 1) * stride + span
    dropped = max(0, (pad // 2 + n - 1) - last_end) if stride <= span + 1 else 0
    return Size(out, exact, f"{n} → {text} = {out}", dropped)


def conv_transpose_out(n: Dim, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                       dilation: int = 1) -> Size:
    """Transposed convolution: ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``."""
    add = -2 * padding + dilation * (kernel - 1) + output_padding + 1
    text = f"({n} − 1)·{stride} − 2·{padding} + {dilation}·({kernel} − 1) + {output_padding} + 1"
    if isinstance(n, str):
        return Size(sym_add(sym_mul(sym_add(n, -1), stride), add), True, text)
    out = (n - 1) * stride + add
    return Size(out, True, f"{text} = {out}")


def upsample_out(n: Dim, scale: float) -> Size:
    """Upsampling by a scale factor: ``floor(n · scale)``."""
    if isinstance(n, str):
        return Size(sym_mul(n, int(scale)) if float(scale).is_integer() else f"floor({_paren(n)}·{scale})", True,
                    f"{n}·{scale}")
    out = math.floor(n * scale)
    return Size(out, True, f"floor({n}·{scale}) = {out}")


def same_pad_total(kernel: int, dilation: int = 1) -> int:
    """Total padding that keeps the size at stride 1: ``d(k − 1)`` (split left/right, extra on the right)."""
    return dilation * (kernel - 1)


def receptive(rf: int, jump: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Receptive field after a layer: ``r' = r + d(k − 1)·j``, ``j' = j·s``."""
    return rf + dilation * (kernel - 1) * jump, jump * stride


def divide(n: Dim, parts: int) -> Size:
    """``n`` cut into ``parts`` equal pieces (GLU's halves, chunks, pixel-shuffle factors): ``n / parts``.

    ``exact`` is False when ``parts`` does not divide ``n`` (the caller raises); a symbolic ``n``
    gives the expression ``"T/2"``, exact by assumption.
    """
    if isinstance(n, str):
        return Size(n if parts == 1 else f"{_paren(n)}/{parts}", True, f"{n}/{parts}")
    return Size(n // parts, n % parts == 0, f"{n}/{parts} = {n / parts:g}")
