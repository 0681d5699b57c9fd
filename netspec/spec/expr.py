"""Safe arithmetic for block parameters: ``$width``, ``${width * 4}``, ``${2 if i == 0 else 1}``.

The expression is parsed with :mod:`ast` and walked over a small whitelist of node types; nothing
is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

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
    """Evaluate ``$name`` or ``${expression}`` against ``env``."""
    body = text[1:]
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    if len(body) > MAX_LEN:
        raise ExprError(f"expression longer than {MAX_LEN} characters")
    try:
        tree = ast.parse(body.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"cannot parse expression '{body}'") from None
    return _eval(tree.body, env)


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)) or (
            isinstance(node, ast.Constant) and node.value is None):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        names = ", ".join(sorted(env)) or "none"
        raise ExprError(f"unknown name '{node.id}' (known: {names})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise ExprError("arithmetic needs numbers")
        try:
            value = _BIN[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        if abs(value) > MAX_ABS:
            raise ExprError(f"value {value} is out of range")
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        value = _eval(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else (not value if isinstance(node.op, ast.Not) else +value)
    if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env)
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
            and not node.keywords):
        return _FUNCS[node.func.id](*[_eval(a, env) for a in node.args])
    raise ExprError(f"'{ast.unparse(node)}' is not allowed in an expression "
                    "(use numbers, parameter names, + - * / // %, comparisons, 'a if c else b', min, max)")
