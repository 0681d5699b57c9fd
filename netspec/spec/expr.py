"""Safe arithmetic for block parameters: ``$width``, ``${width * 4}``, ``${2 if i == 0 else 1}``.

The expression is parsed with :mod:`ast` and walked over a small whitelist of node types; nothing
is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

from netspec.core.source import whole_number

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_FUNCS = {"min": min, "max": max, "int": int, "round": round}
MAX_LEN = 200
MAX_ABS = 10**12


class ExprError(ValueError):
    """An expression is malformed or uses something outside the whitelist."""


def is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``$name`` or ``${expression}`` against ``env``.

    Raises:
        ExprError: the expression is malformed, uses something outside the whitelist, or fails
            (a wrong type, no arguments, a value out of range); never another exception.
    """
    body = text[1:]
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    if len(body) > MAX_LEN:
        raise ExprError(f"expression longer than {MAX_LEN} characters")
    try:
        tree = ast.parse(body.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # ValueError: a NUL byte
        raise ExprError(f"cannot parse expression '{body}'") from None
    try:
        return _eval(tree.body, env)
    except ExprError:
        raise
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # the whitelist's functions on odd values
        raise ExprError(_why(exc)) from None


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
        if node.id in env:
            return env[node.id]
        names = ", ".join(sorted(env)) or "none"
        raise ExprError(f"unknown name '{node.id}' (known: {names})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if not all(_number(v) for v in (left, right)):
            raise ExprError(f"arithmetic needs numbers, got {_show(left)} and {_show(right)}")
        try:
            value = _BIN[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        return _checked(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        value = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not value
        if not _number(value):
            raise ExprError(f"a sign needs a number, got {_show(value)}")
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env)
            if type(op) not in (ast.Eq, ast.NotEq) and not (
                    (_number(left) or isinstance(left, bool)) and (_number(right) or isinstance(right, bool))
                    or isinstance(left, str) and isinstance(right, str)):
                raise ExprError(f"cannot order {_show(left)} and {_show(right)}; "
                                "a comparison needs two numbers or two strings")
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)):
        name, args = node.func.id, [_eval(a, env) for a in node.args]
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
                    "(use numbers, parameter names, + - * / // %, comparisons, 'a if c else b', min, max)")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unparse(node: ast.AST) -> str:
    try:
        return _show(ast.unparse(node)).strip("'\"") if len(ast.unparse(node)) > 40 else ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of what parse built
        return type(node).__name__
