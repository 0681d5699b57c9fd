"""Numbers and values for people: ``1.20 M``, ``3.50 MiB``, ``61,706``, a spec value as the spec writes it
(``true``, ``null``, ``[3, 3]``), a range of numbers; and the MAC counting convention."""

from __future__ import annotations

MACS_NOTE = ("MACs: one multiply-add = 1, counting convolutions, linear, recurrent and attention layers "
             "(its two T×T products included; the torchvision/fvcore convention); norms, pooling and "
             "activations count 0")


def human(n: float, unit: str = "") -> str:
    """``n`` with an SI prefix and two decimals: ``human(61706) == "61.71 k"``."""
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.2f} {suffix}{unit}"
    return f"{n:g} {unit}".strip()


def human_bytes(n: float) -> str:
    """Bytes in binary units: ``human_bytes(3 << 20) == "3.00 MiB"``."""
    for size, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= size:
            return f"{n / size:.2f} {suffix}"
    return f"{int(n)} B"


def show(value: object, limit: int = 60) -> str:
    """A value as a message quotes it, written as a spec writes it (YAML and the DSL agree on these): ``true``,
    ``false``, ``null``, numbers, ``'text'`` (``"it's"`` in double quotes, with escapes, when the text has a
    quote or a control character), ``[1, true]``, ``{rate: 0.5}``; cut to ``limit`` characters with ``...``.

    The one place a message turns a value into text: Python's ``True``, ``None`` and ``(3, 3)`` are not what
    the user wrote."""
    parts: list[str] = []
    _show_into(value, parts, limit + 1, 0)
    text = "".join(parts)
    return text if len(text) <= limit else text[:max(limit - 3, 1)] + "..."


def _show_into(value: object, out: list[str], budget: int, depth: int) -> int:
    """Append the text of ``value`` to ``out``; returns the budget left (stops early once it is spent, so a
    long list costs no more than the characters shown)."""
    if budget <= 0:
        return budget
    if isinstance(value, (dict, list, tuple)) and depth < 20:
        mapping = isinstance(value, dict)
        out.append("{" if mapping else "[")
        budget -= 1
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for i, (key, item) in enumerate(items):
            if budget <= 0:
                return budget
            if i:
                out.append(", ")
                budget -= 2
            if mapping:
                name = key if isinstance(key, str) and key.isidentifier() else show(key, 40)
                out.append(f"{name}: ")
                budget -= len(name) + 2
            budget = _show_into(item, out, budget, depth + 1)
        out.append("}" if mapping else "]")
        return budget - 1
    text = scalar_text(value) if not isinstance(value, (dict, list, tuple)) else "..."
    out.append(text[:budget + 1])
    return budget - len(text)


def scalar_text(value: object) -> str:
    """One value that is not a list or a mapping, as a spec writes it (see :func:`show`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = getattr(value, "text", None)
    if text is not None and isinstance(value, (WrittenFloat, WrittenInt)):  # as the file writes it: 1e-400, 0x1f
        return text
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else number_text(value)  # 1.0 as written
    if isinstance(value, str):
        if "'" in value or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
            import json

            return json.dumps(value, ensure_ascii=False)
        return f"'{value}'"
    return str(value)


def number_text(x: float) -> str:
    """A number as a spec writes it: ``3``, ``0.5``, ``1e-05``; a float with a whole value without ``.0``
    (``1.0`` -> ``1``, so that a bound reads the same whichever type carries it); ``.inf``/``.nan`` as YAML."""
    if isinstance(x, bool) or not isinstance(x, float):
        return str(x)
    if x != x:
        return ".nan"
    if x in (float("inf"), float("-inf")):
        return ".inf" if x > 0 else "-.inf"
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def bounds_text(low: float | None = None, high: float | None = None, low_open: bool = False,
                high_open: bool = False) -> str:
    """A range of numbers in words, one way everywhere (``netspec kinds``, error messages): ``from 1 to 4096``
    (both ends included), else comparisons: ``≥ 0 and < 1``, ``> 0``, ``≤ 64``; '' when unbounded."""
    if low is not None and high is not None and not low_open and not high_open:
        return f"from {number_text(low)} to {number_text(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {number_text(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {number_text(high)}")
    return " and ".join(parts)


def schema_bounds(node: dict) -> str:
    """:func:`bounds_text` of a JSON Schema node's ``minimum``/``maximum``/``exclusiveMinimum``/
    ``exclusiveMaximum`` ('' when it has none)."""
    low_open, high_open = "exclusiveMinimum" in node, "exclusiveMaximum" in node
    low = node.get("exclusiveMinimum", node.get("minimum"))
    high = node.get("exclusiveMaximum", node.get("maximum"))
    return bounds_text(low, high, low_open, high_open)


class WrittenFloat(float):
    """A number read from a spec file whose float reads differently from its text (``1e-400`` is 0.0,
    ``1e400`` is inf, ``1.0e-6`` is 1e-06): ``text`` is how the file writes it, which a message quotes
    (:func:`show`). It is a float in every other way; validation turns it into a plain one."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, value: float, text: str) -> "WrittenFloat":
        out = super().__new__(cls, value)
        out.text = text
        return out

    def __reduce__(self) -> tuple:  # a copy of a raw tree keeps the text
        return (WrittenFloat, (float(self), self.text))


class WrittenInt(int):
    """A whole number read from a spec file written otherwise than Python writes it (``0x1f``, ``1_000``,
    ``+5``, YAML 1.1's ``1:30``): ``text`` as the file writes it (see :class:`WrittenFloat`)."""

    text: str

    def __new__(cls, value: int, text: str) -> "WrittenInt":
        out = super().__new__(cls, value)
        out.text = text
        return out

    def __reduce__(self) -> tuple:
        return (WrittenInt, (int(self), self.text))


def written(value: object, text: str) -> object:
    """``value`` (a number a frontend read from ``text``) as a :class:`WrittenFloat` or :class:`WrittenInt`
    where a message would otherwise quote it differently from the file; anything else as it is."""
    text = text.strip()
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if number_text(value) == text or repr(value) == text else WrittenFloat(value, text)
    if isinstance(value, int):
        return value if str(value) == text else WrittenInt(value, text)
    return value


def float_note(value: object) -> str:
    """What a message adds after a number written in a file that a float cannot hold: `` (too small for a
    float: it underflows to 0; ...)`` for ``1e-400``, `` (too large for a float: it overflows to .inf; ...)``
    for ``1e400``; '' for any other value."""
    text = getattr(value, "text", None) if isinstance(value, WrittenFloat) else None
    if text is None:
        return ""
    if value == 0 and any(c in "123456789" for c in text.lower().split("e", 1)[0]):
        return " (too small for a float: it underflows to 0; the smallest is about 5e-324)"
    if value in (float("inf"), float("-inf")) and not any(c.isalpha() and c not in "eE" for c in text):
        return " (too large for a float: it overflows to infinity; the largest is about 1.8e308)"
    return ""
