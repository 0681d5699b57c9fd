"""Argument parsing shared by several commands."""

from __future__ import annotations

from netspec.core.errors import UsageError


def bind_sizes(values: list[str] | None) -> dict[str, int]:
    """``--bind T=10 --bind B=3`` -> ``{"T": 10, "B": 3}``; anything else is a UsageError."""
    out = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier() or not value.isdigit() or int(value) < 1:
            raise UsageError(f"--bind takes NAME=SIZE (e.g. T=10), got '{item}'")
        out[name] = int(value)
    return out
