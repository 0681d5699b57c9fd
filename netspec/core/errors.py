"""Errors: one root, one subclass per pipeline stage.

Every user-facing failure is a :class:`NetspecError`. A message says where (``spec.yaml:14:7``,
``layers[3].stride``), what is wrong, what was expected, and a hint. The CLI prints ``str(err)``
and exits 1; it never shows a traceback for these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Location:
    """A point in a source file (1-based line and column).

    A mapping key's location also records where the key's value starts (``value_at``, line and column in
    the same file; None where the value is the key itself, as a DSL positional value, or is not known): a
    problem with the value points there (:meth:`of_value`), one with the key (unknown, given twice) at the
    key. It is not part of the location's identity (equality, hashing, ``str``)."""

    file: str
    line: int
    column: int
    value_at: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def of_value(self) -> Location:
        """Where the value of the key written here starts (this location itself when it is not recorded)."""
        if self.value_at is None:
            return self
        return Location(self.file, *self.value_at)

    def with_value(self, value: Location | None) -> Location:
        """This key location, recording that its value starts at ``value`` (a location in the same file)."""
        if value is None or value.file != self.file or (value.line, value.column) == (self.line, self.column):
            return self
        return Location(self.file, self.line, self.column, (value.line, value.column))


@dataclass(frozen=True)
class Problem:
    """One located complaint; an error may carry several."""

    message: str
    location: Location | None = None
    path: str = ""  # e.g. "layers[3].stride"
    hint: str = ""
    excerpt: str = ""  # the source line with a caret under the place, shown under the message (not data)

    def __str__(self) -> str:
        head = f"{self.location}: " if self.location else ""
        path = self.path if len(self.path) <= 120 else self.path[:50] + " … " + self.path[-60:]
        where = f"{path}: " if path else ""
        text = f"{head}{where}{self.message}{self.excerpt}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class NetspecError(Exception):
    """Root of every error netspec raises for bad user input."""

    def __init__(self, message: str = "", problems: Iterable[Problem] = ()) -> None:
        self.problems = list(problems)
        if not message and self.problems:
            message = "\n".join(str(p) for p in self.problems)
        super().__init__(message)


class UsageError(NetspecError):
    """A wrong command-line use: a missing file, a bad flag value (exit code 2)."""


class SpecSyntaxError(NetspecError):
    """The text is not well-formed YAML or DSL.

    ``partial``: the raw tree, where the frontend could still read the whole file around its problems (a DSL
    size with the wrong number of axes, kept as written; a value given twice): the spec stage then validates it
    and reports its problems together with these, in file order. None where the text could not be read."""

    def __init__(self, message: str = "", problems: Iterable[Problem] = (), partial: object = None) -> None:
        super().__init__(message, problems)
        self.partial = partial


class SpecValidationError(NetspecError):
    """The text parsed, but does not fit the schema."""


class UnknownLayerError(SpecValidationError):
    """A layer kind (or block) that the registry does not know."""


class ShapeError(NetspecError):
    """Static shape inference failed (size <= 0, merge mismatch, wrong rank...).

    ``option``: the option of the failing layer the error is about, as written in the spec (``"axis"``), or a
    path into it (``("sizes", 1)``, ``("init", "weight")``; a last step ``"[key]"`` means the key itself, not its
    value): the graph builder then locates the error at that option's value instead of at the layer. Empty
    when the error is about the input, or about several options together."""

    def __init__(self, message: str = "", problems: Iterable[Problem] = (),
                 option: str | tuple[str | int, ...] = ()) -> None:
        super().__init__(message, problems)
        self.option: tuple[str | int, ...] = (option,) if isinstance(option, str) else tuple(option)


class ExpectationError(NetspecError):
    """An ``expect:`` entry does not hold."""


class BuildError(NetspecError):
    """Compiling to a backend (torch, graphviz) failed."""


class DataError(NetspecError):
    """A data set does not fit the network or cannot be loaded."""


def close_matches(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The choices close to ``word``, best first; case does not count against a match (``C3`` finds
    ``c3``) and a choice that differs from the word only in case comes first. Never the word itself.
    ``cutoff``: difflib's similarity from 0 to 1 (0.8: a letter or two off in a word of five)."""
    import difflib  # only a wrong spec needs it: `check` of a valid one does not pay for the import

    by_lower: dict[str, list[str]] = {}
    for choice in sorted({str(c) for c in choices}):
        by_lower.setdefault(choice.lower(), []).append(choice)
    text = str(word)
    same = [c for c in by_lower.get(text.lower(), []) if c != text]
    close = difflib.get_close_matches(text.lower(), sorted(by_lower), n=n, cutoff=cutoff)
    return list(dict.fromkeys([*same, *(c for low in close for c in by_lower[low] if c != text)]))[:n]


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """Return "did you mean 'x'?" for close matches (:func:`close_matches`), or ''."""
    found = close_matches(word, choices, n)
    if not found:
        return ""
    if len(found) == 1:
        return f"did you mean '{found[0]}'?"
    return "did you mean " + ", ".join(f"'{c}'" for c in found[:-1]) + f" or '{found[-1]}'?"
