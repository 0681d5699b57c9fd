"""Argument parsing shared by several commands."""

from __future__ import annotations

from netspec.core.errors import UsageError
from netspec.spec.model import MAX_DIM


def bind_sizes(values: list[str] | None) -> dict[str, int]:
    """``--bind T=10 --bind B=3`` -> ``{"T": 10, "B": 3}``; anything else is a UsageError."""
    out = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        value = value.strip()
        digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
        whole = value.removeprefix("-")
        if sep and name.isidentifier() and whole.isascii() and whole.isdigit() and not digits:  # 0, -3
            raise UsageError(f"--bind {name}: a size must be ≥ 1, got {_show(value)}")
        if not sep or not name.isidentifier() or not digits:
            raise UsageError(f"--bind takes NAME=SIZE (e.g. T=10), got '{_show(item)}'")
        if len(digits) > 9 or int(digits) > MAX_DIM:
            raise UsageError(f"--bind {name}: a size is at most {MAX_DIM:,}, got {_show(value)}")
        value = digits
        out[name] = int(value)
    return out


def _show(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
