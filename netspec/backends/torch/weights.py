"""Loading someone else's weights into a compiled module.

A state dict from another code base names its tensors its own way (torchvision's ``layer1.0.downsample.0``
is netspec's ``layer1.basic_block_1.shortcut.conv``). Loading goes module by module (a module is the
tensors sharing a prefix: a convolution's ``weight`` and ``bias``, a batch norm's four tensors):

1. **By name**: a module whose every tensor is in the file under the same key with the same shape.
2. **By structure**: the remaining modules, in network order, are aligned with the file's remaining
   modules, in the file's order, by their signature (tensor names and shapes): the longest common
   subsequence. A pair is loaded only when it is *certain*: no other pair of an equally long alignment
   competes with it (same module, same file entry, or crossing it). Otherwise it is *ambiguous*.

Whatever is left over (model modules nothing fits, file entries nothing used) or ambiguous is listed
in a table, and the load is refused unless ``partial=True`` (a replaced head: load the body, keep the
new head as initialised).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from netspec.core.errors import DataError, UsageError

# Key prefixes of a model wrapped for training (DistributedDataParallel, torch.compile).
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
# Where common checkpoint layouts keep the model's state dict (netspec's own uses "model").
NESTED_KEYS = ("model", "state_dict", "model_state_dict", "net", "weights")

Signature = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Entry:
    """One module's tensors: its path (``layer1.0.conv1``) and its local tensor names and shapes."""

    path: str
    keys: tuple[str, ...]  # local names, in order (``weight``, ``bias``)
    shapes: tuple[tuple[int, ...], ...]

    @property
    def signature(self) -> Signature:
        return tuple(zip(self.keys, self.shapes))

    def full(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def describe(self) -> str:
        return ", ".join(f"{k} {_shape(s)}" for k, s in self.signature)


@dataclass
class LoadReport:
    """What a load did: each model module with the file entry it took (and how), what was left over.

    Attributes:
        source: where the weights came from (a path, or "a state dict").
        loaded: ``(model module, file module, how)``, how being ``name`` or ``structure``.
        missing: model modules nothing in the file fits (kept as initialised).
        unused: file modules nothing in the model took.
        ambiguous: ``(model module, [file modules it could take])`` for pairs that are not certain.
        mismatched: model modules whose name is in the file with other shapes: ``(module, here, there)``.
    """

    source: str
    loaded: list[tuple[Entry, Entry, str]] = field(default_factory=list)
    missing: list[Entry] = field(default_factory=list)
    unused: list[Entry] = field(default_factory=list)
    ambiguous: list[tuple[Entry, list[Entry]]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unused or self.ambiguous)

    @property
    def mapping(self) -> dict[str, str]:
        """Model tensor key -> file tensor key, for every tensor loaded."""
        return {m.full(k): f.full(fk) for m, f, _ in self.loaded for k, fk in zip(m.keys, f.keys)}

    def summary(self) -> str:
        by_name = sum(1 for *_, how in self.loaded if how == "name")
        n = len(self.loaded) + len(self.missing) + len({id(m) for m, _ in self.ambiguous})
        text = (f"weights from {self.source}: {len(self.loaded)} of {n} modules loaded "
                f"({by_name} by name, {len(self.loaded) - by_name} by structure)")
        left = [f"{len(self.missing)} not in the file"] if self.missing else []
        left += [f"{len(self.unused)} unused in the file"] if self.unused else []
        left += [f"{len(self.ambiguous)} ambiguous"] if self.ambiguous else []
        return text + ("; " + ", ".join(left) if left else "")

    def table(self, everything: bool = False) -> str:
        """The summary line, then a table of what did not load (``everything``: of every module)."""
        rows: list[tuple[str, str, str]] = []
        if everything:
            rows += [(m.path, f.path, f"by {how}") for m, f, how in self.loaded]
        for m, options in self.ambiguous:
            rows.append((m.path, " | ".join(o.path for o in options), "ambiguous: equally good alignments"))
        for m in self.missing:
            rows.append((m.path, "-", f"not in the file ({m.describe()})"))
        for f in self.unused:
            rows.append(("-", f.path, f"unused ({f.describe()})"))
        lines = [self.summary()]
        if rows:
            head = ("model", "file", "")
            widths = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
            lines += ["  " + f"{head[0]:<{widths[0]}}  {head[1]:<{widths[1]}}".rstrip()]
            lines += [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
        return "\n".join(lines)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state dict from a ``.pt``/``.pth`` file (``weights_only``): a plain one, netspec's own
    checkpoint, or a checkpoint keeping it under ``model``/``state_dict``; wrapper prefixes removed.

    Raises:
        UsageError: there is no such file.
        DataError: the file is not readable with ``weights_only`` or holds no state dict.
    """
    p = Path(path)
    if p.is_dir() and (p / "last.pt").exists():
        p = p / "last.pt"  # a netspec run directory
    if not p.is_file():
        raise UsageError(f"weights: no file at {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{p}: not a readable weights file ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); save it with "
                        "torch.save(model.state_dict(), path)") from None
    try:
        return as_state_dict(obj)
    except DataError as exc:
        raise DataError(f"{p}: {exc}") from None


def as_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """The tensors of a state dict or of a checkpoint holding one (see :func:`read_state_dict`)."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise DataError(f"holds a {type(obj).__name__}, not a state dict")
    if not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in NESTED_KEYS:
            if isinstance(obj.get(key), Mapping):
                return as_state_dict(obj[key])
        raise DataError("holds no tensors (neither a state dict nor a checkpoint with one under "
                        f"{', '.join(NESTED_KEYS)})")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def entries(state: Mapping[str, Any]) -> list[Entry]:
    """The modules of a state dict, in its order (a module: the keys sharing all but the last part)."""
    order: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for key, value in state.items():
        path, _, local = key.rpartition(".")
        order.setdefault(path, []).append((local, tuple(value.shape)))
    return [Entry(path, tuple(k for k, _ in items), tuple(s for _, s in items)) for path, items in order.items()]


def plan(target: Mapping[str, Any], source: Mapping[str, Any], source_name: str = "a state dict") -> LoadReport:
    """Decide which file module goes into which model module (nothing is loaded)."""
    mine, theirs = entries(target), entries(source)
    report = LoadReport(source_name)
    by_path = {e.path: e for e in theirs}
    taken: set[str] = set()
    rest: list[Entry] = []
    for m in mine:
        f = by_path.get(m.path)
        if f is not None and f.signature == m.signature:
            report.loaded.append((m, f, "name"))
            taken.add(f.path)
        else:
            rest.append(m)
    others = [f for f in theirs if f.path not in taken]
    pairs, ambiguous = align([m.signature for m in rest], [f.signature for f in others],
                             [m.path for m in rest], [f.path for f in others])
    used: set[int] = set()
    for i, j in pairs:
        report.loaded.append((rest[i], others[j], "structure"))
        used.add(j)
    stuck = {i for i, _ in ambiguous}
    for i in sorted(stuck):
        options = [others[j] for a, j in ambiguous if a == i]
        report.ambiguous.append((rest[i], options))
    stuck_files = {j for _, j in ambiguous}
    report.missing = [m for i, m in enumerate(rest) if i not in stuck and all(i != a for a, _ in pairs)]
    report.unused = [f for j, f in enumerate(others) if j not in used and j not in stuck_files]
    order = {m.path: i for i, m in enumerate(mine)}
    report.loaded.sort(key=lambda t: order[t[0].path])
    return report


def align(a: list[Signature], b: list[Signature], a_names: list[str] | None = None,
          b_names: list[str] | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Align two sequences of signatures: the most pairs of equal signatures in order (a longest
    common subsequence), ties broken by how many name parts the pair shares.

    Returns the certain pairs (in every best alignment) and the ambiguous ones (in some, not all).
    A pair on some best alignment is certain exactly when no other such pair shares its row or column
    or crosses it: otherwise adding it to a best alignment without it would make a better one.
    """
    n, m = len(a), len(b)
    if n == m and all(x == y for x, y in zip(a, b)):
        return [(i, i) for i in range(n)], []
    ta = [_tokens(x) for x in a_names] if a_names else [set() for _ in a]
    tb = [_tokens(x) for x in b_names] if b_names else [set() for _ in b]
    big = 1 + max((len(t) for t in ta), default=0) * (min(n, m) + 1)  # one more pair beats any name score

    def weight(i: int, j: int) -> int:
        return big + len(ta[i] & tb[j]) if a[i] == b[j] else 0

    w = [[weight(i, j) for j in range(m)] for i in range(n)]
    fwd = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            fwd[i + 1][j + 1] = max(fwd[i][j] + w[i][j] if w[i][j] else 0, fwd[i][j + 1], fwd[i + 1][j])
    bwd = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            bwd[i][j] = max(bwd[i + 1][j + 1] + w[i][j] if w[i][j] else 0, bwd[i + 1][j], bwd[i][j + 1])
    best = fwd[n][m]
    on = [(i, j) for i in range(n) for j in range(m) if w[i][j] and fwd[i][j] + w[i][j] + bwd[i + 1][j + 1] == best]
    certain, unsure = [], []
    for p in on:
        clash = any(q != p and (q[0] == p[0] or q[1] == p[1] or (q[0] - p[0]) * (q[1] - p[1]) < 0) for q in on)
        (unsure if clash else certain).append(p)
    return certain, unsure


def _tokens(path: str) -> set[str]:
    """The parts of a module path that say something (``inception5b.branch4.1.bn`` -> inception5b,
    branch4, bn); bare indices say nothing across code bases."""
    return {t for t in re.split(r"[._]", path) if t and not t.isdigit()}


def load_weights(model: nn.Module, weights: str | os.PathLike[str] | Mapping[str, Any],
                 partial: bool = False) -> LoadReport:
    """Load a state dict (a file, or a mapping) into ``model``, by name, else by structure.

    Args:
        model: the compiled module (a GraphModule, or a ModuleDict of networks).
        weights: a ``.pt``/``.pth`` file (a state dict or a checkpoint holding one) or a mapping.
        partial: load what fits and keep the rest as initialised, instead of refusing.

    Returns:
        The :class:`LoadReport` (also stored as ``model.netspec_weights``).

    Raises:
        DataError: something is left over or ambiguous and ``partial`` is False (the message is the table).
    """
    if isinstance(weights, (str, os.PathLike)):
        source, name = read_state_dict(weights), str(weights)
    else:
        source, name = as_state_dict(weights), "a state dict"
    target = model.state_dict()
    report = plan(target, source, name)
    if not report.loaded:
        raise DataError(report.table() + "\nnothing in the file fits this network")
    if not report.complete and not partial:
        raise DataError(report.table() + "\nrefused: pass partial=True (--partial) to load what fits and "
                        "keep the rest as initialised")
    new = {}
    for mine, theirs, _ in report.loaded:
        for key, other in zip(mine.keys, theirs.keys):
            value = source[theirs.full(other)]
            new[mine.full(key)] = value.to(dtype=target[mine.full(key)].dtype)
    with torch.no_grad():
        result = model.load_state_dict(new, strict=False)
    if result.unexpected_keys:  # plan() only maps onto the model's own keys
        raise RuntimeError(f"weights: unexpected keys {result.unexpected_keys[:5]}")
    model.netspec_weights = report  # type: ignore[assignment]
    return report


def _shape(s: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
