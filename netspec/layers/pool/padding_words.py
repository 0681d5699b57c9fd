"""``padding: same`` / ``valid`` written on a kind that takes numbers only (the pools, the transposed
convolutions): one message at the option, with the numbers that mean the word there."""

from typing import Any, NoReturn

from netspec.layers.base import option_error


def raw_sizes(value: Any, n: int) -> list[int] | None:
    """A size option as written (before validation) per axis, or None where it is not plain whole numbers."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return [value] * n
    if isinstance(value, (list, tuple)) and len(value) == n and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return list(value)
    return None


def raise_padding_word(word: str, hint: str) -> NoReturn:
    raise option_error("padding", f"expected a whole number or a list of them (this kind has no padding "
                                  f"words), got '{word}'; hint: {hint}", word)
