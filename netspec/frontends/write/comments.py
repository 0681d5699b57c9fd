"""Comments of a spec's source text, by line, so that ``netspec convert`` can carry them over.

Neither frontend keeps comments in the raw tree; the writers recover them from the text: a comment
on a line of its own goes before the next statement written, one at the end of a line goes at the
end of the statement that line belongs to (:class:`~netspec.frontends.write.base.CommentedLines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass
class Comments:
    """``line -> (comment text without '#', whole line?)`` plus the lines that are blank."""

    by_line: dict[int, tuple[str, bool]] = field(default_factory=dict)
    blank: set[int] = field(default_factory=set)
    done: int = 0  # every comment up to this source line has been written

    def take(self, start: int | None, end: int | None = None) -> tuple[list[str | None], str]:
        """Comments for a statement spanning source lines ``start..end``: the lines to write before it
        (``None`` = a blank line) and the text to put at its end."""
        if start is None or start <= self.done:
            return [], ""
        end = max(end or start, start)
        before: list[str | None] = []
        for line in range(self.done + 1, start):
            if line in self.by_line:
                text, _ = self.by_line[line]
                before.append(text)
            elif line in self.blank and before and before[-1] is not None:
                before.append(None)
        while before and before[-1] is None:
            before.pop()
        after = [self.by_line[line][0] for line in range(start, end + 1) if line in self.by_line]
        self.done = end
        return before, "; ".join(a.strip() for a in after if a.strip())

    def rest(self) -> list[str | None]:
        """Comments after the last statement."""
        lines = sorted(line for line in self.by_line if line > self.done)
        out: list[str | None] = []
        for line in lines:
            out.append(self.by_line[line][0])
        self.done = max(lines, default=self.done)
        return out


def yaml_comments(text: str) -> Comments:
    """Comments of YAML text: a '#' at a line start or after a space, outside every scalar."""
    spans: list[tuple[int, int]] = []
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(tok, yaml.ScalarToken):
                spans.append((tok.start_mark.index, tok.end_mark.index))
    except yaml.YAMLError:
        pass
    spans.sort()
    out = Comments()
    offset = 0
    k = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            out.blank.add(number)
        for j, c in enumerate(line):
            if c != "#" or (j and line[j - 1] not in " \t"):
                continue
            index = offset + j
            while k < len(spans) and spans[k][1] <= index:
                k += 1
            if k < len(spans) and spans[k][0] <= index < spans[k][1]:
                continue
            out.by_line[number] = (line[j + 1:].rstrip(), not line[:j].strip())
            break
        offset += len(line) + 1
    return out


def dsl_comments(text: str) -> Comments:
    """Comments of DSL text: a '#' outside a (one-line) string."""
    out = Comments()
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            out.blank.add(number)
        j, n = 0, len(line)
        while j < n:
            c = line[j]
            if c == '"':
                j += 1
                while j < n and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
            elif c == "#":
                out.by_line[number] = (line[j + 1:].rstrip(), not line[:j].strip())
                break
            j += 1
    return out
