"""Numbers for people: ``1.20 M``, ``3.50 MiB``, ``61,706``; and the MAC counting convention."""

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
