"""Safe arithmetic for block parameters: ``$width``, ``${width * 4}``, ``${2 if i == 0 else 1}``.

The expression is parsed with :mod:`ast` and walked over a small whitelist of node types; nothing
is ever passed to ``eval``. Inside a block definition ``in`` is the type of the tensor entering the
block (an :class:`InputView`): ``in.channels``, ``in.features``, ``in.shape[-1]``, ``in.rank``. Its
symbolic sizes (``T``) are :class:`Symbol` values: one may be passed on as it is, but arithmetic,
comparisons or a truth test on it raise :class:`ExprError` (the number is not known: never a wrong one).
"""

from __future__ import annotations

import ast
import functools
import keyword
import operator
import re
from typing import Any, Mapping

from netspec.core.errors import close_matches
from netspec.core.fmt import show
from netspec.core.source import whole_number

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_FUNCS = {"min": min, "max": max, "int": int, "round": round}
FUNCTIONS: tuple[str, ...] = tuple(_FUNCS)  # the functions an expression may call
MAX_LEN = 200
MAX_ABS = 10**12


INPUT = "in"  # the block's input type, inside a block definition
_IN_NAME = "__in__"  # `in` is a Python keyword: the text's `in` is read as this name
_STRINGS = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_IN_WORD = re.compile(r"(?<![\w.])in(?![\w])")
_NAMES = re.compile(r"(?<![\w.'\"])[A-Za-z_][A-Za-z0-9_]*")


class ExprError(ValueError):
    """An expression is malformed or uses something outside the whitelist."""


class Symbol(str):
    """A symbolic size of an input type (``T``): passed on as written, never computed with."""


class InputView:
    """The read-only type of a block's input, as expressions see it (``in.channels``)."""

    FIELDS = ("channels", "features", "shape", "spatial", "rank", "dtype")

    def __init__(self, shape: tuple[Any, ...], dtype: str = "float") -> None:
        self._shape = tuple(Symbol(d) if isinstance(d, str) else d for d in shape)
        self._dtype = dtype

    def attribute(self, name: str) -> Any:
        shape = self._shape
        if name == "shape":
            return shape
        if name == "spatial":
            return shape[1:]
        if name == "rank":
            return len(shape)
        if name == "dtype":
            return self._dtype
        if not shape:
            raise ExprError(f"in.{name}: the input is a scalar (shape ())")
        return shape[0] if name == "channels" else shape[-1]

    def __repr__(self) -> str:
        return "in" + ("(" + ", ".join(str(d) for d in self._shape) + ("," if len(self._shape) == 1 else "") + ")")


def names_in(text: str) -> set[str]:
    """The names an expression's text uses (``${in.channels * t}`` -> {"in", "t"}), without parsing it;
    ``in`` counts however it is used."""
    body = _STRINGS.sub(" ", text[1:])
    return {n for n in _NAMES.findall(body) if n == INPUT or not keyword.iskeyword(n)}


def _symbolic(*values: Any) -> Symbol | None:
    return next((v for v in values if isinstance(v, Symbol)), None)


def _no_number(sym: Symbol, what: str) -> ExprError:
    return ExprError(f"'{sym}' is a symbolic size of the block's input: {what} is not known until it is bound "
                     f"(e.g. --bind {sym}=50 if it is an input's symbol); pass it on as it is, or use a known size")


def is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``$name`` or ``${expression}`` against ``env``.

    Raises:
        ExprError: the expression is malformed, uses something outside the whitelist, or fails
            (a wrong type, no arguments, a value out of range); never another exception.
    """
    tree = _parsed(text)
    try:
        value = _eval(tree, env)
    except ExprError as exc:
        raise ExprError(_shown_in(str(exc))) from None
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # the whitelist's functions on odd values
        raise ExprError(_why(exc)) from None
    if isinstance(value, InputView):
        raise ExprError("'in' is the block's input type, not a value; use in.channels, in.features, in.shape[i], "
                        "in.spatial or in.rank")
    if isinstance(value, tuple):
        return list(value)
    return value


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> ast.expr:
    """The syntax tree of ``$name`` or ``${expression}`` (never changed by :func:`_eval`). A block
    evaluates the same few texts at every use (ResNet-152: 741 evaluations of 9 texts); an error is
    raised again each time, not kept."""
    body = text[1:]
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    if len(body) > MAX_LEN:
        raise ExprError(f"expression longer than {MAX_LEN} characters")
    body = _read_in(body)
    try:
        return ast.parse(body.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # ValueError: a NUL byte
        raise ExprError(f"cannot parse expression '{_shown_in(body)}'") from None


def _read_in(body: str) -> str:
    """The text with the word ``in`` (outside string literals) read as a name Python can parse."""
    parts = _STRINGS.split(body)
    return "".join(p if i % 2 else _IN_WORD.sub(_IN_NAME, p) for i, p in enumerate(parts))


def _shown_in(text: str) -> str:
    return text.replace(_IN_NAME, INPUT)


def _why(exc: Exception) -> str:
    text = str(exc)
    if "expected at least 1 argument" in text or "expected 1 argument" in text or "not iterable" in text:
        return "min and max take two or more values: min(a, b)"
    if "not supported between" in text:
        return "a comparison needs two numbers or two strings"
    return f"cannot evaluate: {text}"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(value: Any) -> Any:
    if _number(value) and (value != value or abs(value) > MAX_ABS):  # NaN or too large
        raise ExprError(f"value {value} is out of range")
    return value


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)) or (
            isinstance(node, ast.Constant) and node.value is None):
        return _checked(node.value)
    if isinstance(node, ast.Name):
        name = INPUT if node.id == _IN_NAME else node.id
        if name in env:
            return env[name]
        if name == INPUT:
            raise ExprError("'in' (the type of the block's input) is known only inside a block definition")
        names = ", ".join(sorted(env)) or "none"
        raise ExprError(f"unknown name '{name}' (known: {names})")
    if isinstance(node, ast.Attribute):
        owner = _eval(node.value, env)
        if not isinstance(owner, InputView):
            raise ExprError(f"'.{node.attr}' applies only to 'in' (the block's input type)")
        if node.attr not in InputView.FIELDS:
            close = close_matches(node.attr, InputView.FIELDS, 1)
            raise ExprError(f"in.{node.attr} is not known" + (f" (did you mean in.{close[0]}?)" if close else "")
                            + "; the input type has: " + ", ".join(f"in.{f}" for f in InputView.FIELDS))
        return owner.attribute(node.attr)
    if isinstance(node, ast.Subscript):
        seq = _eval(node.value, env)
        if not isinstance(seq, tuple):
            raise ExprError("only in.shape and in.spatial can be indexed: in.shape[0], in.shape[-1]")
        index = _eval(node.slice, env)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExprError(f"an index is a whole number, got {_show(index)}")
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"index {index} is out of range for a shape of {len(seq)} dimension"
                            + ("s" if len(seq) != 1 else "") + f" {_show(seq)}")
        return seq[index]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left, env), _eval(node.right, env)
        sym = _symbolic(left, right)
        if sym is not None:
            raise _no_number(sym, "arithmetic on it")
        if not all(_number(v) for v in (left, right)):
            raise ExprError(f"arithmetic needs numbers, got {_show(left)} and {_show(right)}")
        try:
            value = _BIN[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        return _checked(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        value = _eval(node.operand, env)
        if isinstance(value, Symbol):
            raise _no_number(value, "its value")
        if isinstance(node.op, ast.Not):
            return not _truth(value)
        if not _number(value):
            raise ExprError(f"a sign needs a number, got {_show(value)}")
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env)
            sym = _symbolic(left, right)
            if sym is not None:
                raise _no_number(sym, "a comparison with it")
            if type(op) not in (ast.Eq, ast.NotEq) and not (
                    (_number(left) or isinstance(left, bool)) and (_number(right) or isinstance(right, bool))
                    or isinstance(left, str) and isinstance(right, str)):
                raise ExprError(f"cannot order {_show(left)} and {_show(right)}; "
                                "a comparison needs two numbers or two strings")
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):  # short-circuits, as Python: `t != 1 and in.channels // t > 8`
        want = not isinstance(node.op, ast.And)
        for v in node.values:
            if _truth(_eval(v, env)) == want:
                return want
        return not want
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _truth(_eval(node.test, env)) else _eval(node.orelse, env)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)):
        name, args = node.func.id, [_eval(a, env) for a in node.args]
        sym = _symbolic(*args)
        if sym is not None:
            raise _no_number(sym, f"{name}() of it")
        if name in ("min", "max"):
            if len(args) < 2:
                raise ExprError(f"{name} takes two or more values, e.g. {name}(a, b); got {len(args)}")
            if not (all(_number(a) or isinstance(a, bool) for a in args) or all(isinstance(a, str) for a in args)):
                raise ExprError(f"{name} needs numbers, got " + ", ".join(_show(a) for a in args))
        elif len(args) != 1 and not (name == "round" and len(args) == 2):
            raise ExprError(f"{name} takes one value, got {len(args)}")
        elif not _number(args[0]) and not (name == "int" and isinstance(args[0], str)):
            raise ExprError(f"{name} needs a number, got {_show(args[0])}")
        elif name == "round" and len(args) == 2 and (not isinstance(args[1], int) or isinstance(args[1], bool)):
            raise ExprError(f"round's second value is a whole number of digits, got {_show(args[1])}")
        if name == "int" and isinstance(args[0], str):
            try:
                return _checked(whole_number(args[0].strip()))
            except ValueError:
                raise ExprError(f"int needs a number, got {_show(args[0])}") from None
        return _checked(_FUNCS[name](*args))
    raise ExprError(f"'{_unparse(node)}' is not allowed in an expression "
                    "(use numbers, parameter names, + - * / // %, comparisons, and/or/not, "
                    "'a if c else b', min, max, int, round, and in.channels, in.shape[i] inside blocks)")


def _truth(value: Any) -> bool:
    if isinstance(value, Symbol):
        raise _no_number(value, "whether it is true")
    if isinstance(value, (InputView, tuple)):
        raise ExprError(f"{_show(value)} is not true or false; compare a size, e.g. in.channels == 64")
    return bool(value)


def _show(value: Any) -> str:
    """A value in an expression's message as a spec writes it (``true``, ``[T, 3]``); an input's view as itself."""
    if isinstance(value, Symbol):
        return f"'{value}'"
    if isinstance(value, InputView):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return show(value, 40)


def _unparse(node: ast.AST) -> str:
    try:
        return _show(ast.unparse(node)).strip("'\"") if len(ast.unparse(node)) > 40 else ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of what parse built
        return type(node).__name__
