"""Output-size arithmetic, in one place. Nothing else in netspec recomputes sizes.

A dimension is an ``int`` or, when symbolic (a sequence length ``T``), a ``str`` holding a readable
expression such as ``"floor((T - 5)/2) + 1"`` in the small language ``+ - * / // floor ceil min max``
that :func:`evaluate` computes exactly (``--bind T=50``). Every function returns the size and the
arithmetic written out, so shape errors can show it. Counts that depend on symbolic sizes (MACs,
activation memory) are :class:`Expr` polynomials over those dims, printed in the same language.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from fractions import Fraction
from typing import NamedTuple, Union

from netspec.core.fmt import show

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
    """Product of the fixed dims, symbolic ones counted as 1 (for bounds checks, never for reports)."""
    out = 1
    for d in dims:
        if isinstance(d, int):
            out *= d
    return out


# --- evaluating symbolic sizes ------------------------------------------------------------------------
_FUNCS = {"floor": math.floor, "ceil": math.ceil, "min": min, "max": max}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_EXPR_CHARS = 2_000


def symbols(expr: Dim) -> set[str]:
    """The symbolic sizes an expression depends on: ``symbols("floor((T - 5)/2) + 1") == {"T"}``."""
    return set() if isinstance(expr, int) else {n for n in _NAME.findall(expr) if n not in _FUNCS}


def evaluate(expr: Dim, bind: dict[str, int]) -> int:
    """The value of a size expression with every symbol bound, computed exactly (fractions, no floats).

    Raises:
        KeyError: a symbol is not bound.
        ValueError: the text is not an expression of the size language.
    """
    if isinstance(expr, int):
        return expr
    if len(expr) > MAX_EXPR_CHARS:
        raise ValueError(f"size expression longer than {MAX_EXPR_CHARS} characters")
    try:
        tree = ast.parse(expr.replace("−", "-").replace("·", "*"), mode="eval")
    except SyntaxError:
        raise ValueError(f"not a size expression: {show(expr)}") from None
    value = _eval(tree.body, bind)
    if value.denominator != 1:
        raise ValueError(f"{show(expr)} is not a whole number at {show(dict(bind))}")
    return int(value)


def _eval(node: ast.AST, bind: dict[str, int]) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return Fraction(node.value)
    if isinstance(node, ast.Name):
        return Fraction(bind[node.id])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, bind)
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, bind), _eval(node.right, bind)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.FloorDiv):
            return Fraction(math.floor(a / b))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and node.args \
            and not node.keywords:
        args = [_eval(a, bind) for a in node.args]
        fn = _FUNCS[node.func.id]
        return Fraction(fn(args[0])) if fn in (math.floor, math.ceil) and len(args) == 1 else Fraction(fn(*args))
    raise ValueError(f"not a size expression: {show(ast.unparse(node))}")


SAMPLES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 31, 32, 33, 64, 100, 127, 128, 1000, 1001)


def same_size(a: Dim, b: Dim) -> bool:
    """Whether two sizes are equal for every value of their symbols (checked at many values, where
    both are defined): ``floor(T/2) + 1`` and ``min(ceil(T/2) + 1, ceil((T + 1)/2))`` are the same size."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if a == b:
        return True
    names = sorted(symbols(a) | symbols(b))
    if not names:
        return evaluate(a, {}) == evaluate(b, {})
    checked = 0
    for values in itertools.islice(itertools.product(SAMPLES, repeat=len(names)), 2000):
        bind = dict(zip(names, values))
        try:
            va, vb = evaluate(a, bind), evaluate(b, bind)
        except (ValueError, ZeroDivisionError):
            continue
        if va < 1 or vb < 1:  # outside the range where both are valid sizes
            continue
        if va != vb:
            return False
        checked += 1
    return checked > 0


Atom = str  # one symbolic dim, as written in a shape


class Expr:
    """A count that depends on symbolic sizes: a polynomial over the dims of the shapes it came from.

    ``str(expr)`` is in the size language (``2128*(floor((T - 5)/2) + 1) + 32``), :meth:`bind`
    evaluates it. Arithmetic with ints and other Exprs gives an Expr (or an int once nothing is symbolic).
    """

    __slots__ = ("terms",)

    def __init__(self, terms: dict[tuple[Atom, ...], int]) -> None:
        self.terms = {k: v for k, v in terms.items() if v}

    @staticmethod
    def of(value: "Count | Dim") -> "Count":
        if isinstance(value, (int, Expr)):
            return value
        return Expr({(value,): 1})

    def _norm(self) -> "Count":
        if not self.terms:
            return 0
        if set(self.terms) == {()}:
            return self.terms[()]
        return self

    def __add__(self, other: "Count") -> "Count":
        if isinstance(other, int):
            other = Expr({(): other})
        if not isinstance(other, Expr):
            return NotImplemented
        out = dict(self.terms)
        for k, v in other.terms.items():
            out[k] = out.get(k, 0) + v
        return Expr(out)._norm()

    __radd__ = __add__

    def __mul__(self, other: "Count") -> "Count":
        if isinstance(other, int):
            return Expr({k: v * other for k, v in self.terms.items()})._norm()
        if not isinstance(other, Expr):
            return NotImplemented
        out: dict[tuple[Atom, ...], int] = {}
        for (ka, va), (kb, vb) in itertools.product(self.terms.items(), other.terms.items()):
            key = tuple(sorted(ka + kb))
            out[key] = out.get(key, 0) + va * vb
        return Expr(out)._norm()

    __rmul__ = __mul__

    def bind(self, values: dict[str, int]) -> "Count":
        """Substitute the bound symbols; an int when none is left."""
        total: Count = 0
        for atoms, coef in self.terms.items():
            term: Count = coef
            for atom in atoms:
                term = term * (evaluate(atom, values) if symbols(atom) <= set(values) else Expr.of(atom))
            total = total + term
        return total

    @property
    def symbols(self) -> set[str]:
        return {s for atoms in self.terms for a in atoms for s in symbols(a)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.terms.items())))

    def __str__(self) -> str:
        def term(atoms: tuple[Atom, ...], coef: int) -> str:
            parts = ([str(abs(coef))] if abs(coef) != 1 or not atoms else []) + [_paren(a) for a in atoms]
            return "*".join(parts)

        ordered = sorted(self.terms.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        out = ""
        for atoms, coef in ordered:
            sign = "-" if coef < 0 else "+"
            out += (f" {sign} " if out else ("-" if coef < 0 else "")) + term(atoms, coef)
        return out

    def __repr__(self) -> str:
        return f"Expr({str(self)!r})"

    def __format__(self, spec: str) -> str:
        return str(self)


Count = Union[int, Expr]


def size_product(dims: tuple[Dim, ...] | list[Dim]) -> Count:
    """Exact product of dims: an int when all are fixed, else an :class:`Expr` over the symbolic ones."""
    out: Count = 1
    for d in dims:
        out = out * Expr.of(d)
    return out


def count_text(n: Count) -> str:
    """``61,706`` for a number, the expression itself when it depends on symbolic sizes."""
    return f"{n:,}" if isinstance(n, int) else str(n)


class Size(NamedTuple):
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
        if not ceil_mode:
            return Size(sym_add(f"floor({_paren(inner)}/{stride})", 1), False,
                        f"{n} → floor(({n} + {pad_txt} − {span_txt})/{stride}) + 1")
        # PyTorch's ceil mode drops a last window that would start in the right padding: the count
        # is at most ceil((n + left padding)/s) (the last start (out − 1)·s must be < n + p).
        ceil_out = sym_add(f"ceil({_paren(inner)}/{stride})", 1)
        cap = f"ceil({_paren(sym_add(n, pad // 2))}/{stride})"
        exact = f"min({ceil_out}, {cap})"
        # Show the simplest form that is the same size for every n (often plain floor or ceil).
        simplest = next(e for e in (sym_add(f"floor({_paren(inner)}/{stride})", 1), ceil_out, exact)
                        if same_size(e, exact))
        return Size(simplest, False,
                    f"{n} → min(ceil(({n} + {pad_txt} − {span_txt})/{stride}) + 1, ceil(({n} + {pad // 2})/{stride}))")
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
        if float(scale).is_integer():
            return Size(sym_mul(n, int(scale)), True, f"{n}·{scale}")
        frac = Fraction(str(scale))  # exact, so that --bind evaluates it as torch does
        return Size(f"floor({_paren(n)}*{frac.numerator}/{frac.denominator})", True, f"floor({n}·{scale})")
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


def window_count(n: Dim, window: int) -> Size:
    """Windows of ``window`` along an axis of ``n``, the last padded to full: ``ceil(n / window)``
    (Swin's window partition and patch merging pad the map to a multiple first)."""
    if isinstance(n, str):
        return Size(n if window == 1 else f"ceil({_paren(n)}/{window})", True, f"ceil({n}/{window})")
    out = -(-n // window)
    return Size(out, n % window == 0, f"ceil({n}/{window}) = {out}")
