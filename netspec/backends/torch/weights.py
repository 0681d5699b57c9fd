"""Loading someone else's weights into a compiled module.

A state dict from another code base names its tensors its own way (torchvision's ``layer1.0.downsample.0``
is netspec's ``layer1.basic_block_1.shortcut.conv``). Loading goes module by module (a module is the
tensors sharing a prefix: a convolution's ``weight`` and ``bias``, a batch norm's four tensors):

1. **By name**: a module whose every tensor is in the file under the same key with the same shape, or
   under one of the module's *PyTorch spellings* (:func:`torch_names`): netspec names are identifiers
   and its groups have scopes a PyTorch model lacks, so ``layer1.basic_block_1.conv1`` is also tried as
   ``layer1.0.conv1``. A spelling counts when it names one file module that no other module claims.
   Names must agree with the file's order: two modules of equal shapes whose names cross over (the
   first takes a later file entry than the second) are refused, not loaded (a swapped name would
   otherwise load silently into the wrong place).
2. **By structure**: the remaining modules are aligned block by block first (:func:`align_blocks`: a
   block instance takes the file module holding the same tensors, in whatever order the file has them,
   and never an entry of another block), then, in network order against the file's order, by their
   signature (tensor names and shapes): the longest common subsequence. A pair is loaded only when it is *certain*: no other pair of an equally long alignment
   competes with it (same module, same file entry, or crossing it). Otherwise it is *ambiguous*. The
   file's order is registration order, not necessarily call order: file modules of the same tensors in
   alike places that only the file's order pairs (their names neither pick the pairing nor number
   them, :func:`unordered_pairs`) are ambiguous too.

Whatever is left over (model modules nothing fits, file entries nothing used) or ambiguous is listed
in a table, and the load is refused unless ``partial=True`` (a replaced head: load the body, keep the
new head as initialised).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping

import torch
import torch.nn as nn

from netspec.core.errors import DataError, UsageError
from netspec.ir.graph import NetGraph

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
        """The tensors' names and shapes, by name: a file's order of a module's tensors says nothing (a
        sorted file, safetensors' among them, keeps ``bias`` before ``weight``)."""
        return tuple(sorted(zip(self.keys, self.shapes)))

    def full(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def pairs(self, other: Entry) -> list[tuple[str, str]]:
        """``(my key, its key)`` for each tensor of a file module ``other`` of this signature: the same
        names, or the one tensor each holds (a renamed one-tensor layer)."""
        return [(self.keys[0], other.keys[0])] if len(self.keys) == 1 else [(k, k) for k in self.keys]

    def describe(self) -> str:
        return ", ".join(f"{k} {_shape(s)}" for k, s in zip(self.keys, self.shapes))


@dataclass
class LoadReport:
    """What a load did: each model module with the file entry it took (and how), what was left over.

    Attributes:
        source: where the weights came from (a path, or "a state dict").
        loaded: ``(model module, file module, how)``, how being ``name`` or ``structure``.
        missing: model modules nothing in the file fits (kept as initialised).
        unused: file modules nothing in the model took.
        ambiguous: ``(model module, [file modules it could take])`` for pairs that are not certain.
        disordered: ``(model module, file module)`` pairs that names give but the file's order contradicts
            (a module of the same shapes comes between them in the other order).
    """

    source: str
    loaded: list[tuple[Entry, Entry, str]] = field(default_factory=list)
    missing: list[Entry] = field(default_factory=list)
    unused: list[Entry] = field(default_factory=list)
    ambiguous: list[tuple[Entry, list[Entry]]] = field(default_factory=list)
    disordered: list[tuple[Entry, Entry]] = field(default_factory=list)
    blocks: dict[str, str] = field(default_factory=dict)  # missing model module -> its block no file module matched
    unordered: list[tuple[Entry, list[Entry]]] = field(default_factory=list)
    sorted_as_text: bool = False  # the file's keys are in text order: it has no registration order
    computed: list[str] = field(default_factory=list)  # file keys of buffers the model computes, left out

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unused or self.ambiguous or self.disordered or self.unordered)

    @property
    def mapping(self) -> dict[str, str]:
        """Model tensor key -> file tensor key, for every tensor loaded."""
        return {m.full(k): f.full(fk) for m, f, _ in self.loaded for k, fk in m.pairs(f)}

    def summary(self) -> str:
        by_name = sum(1 for *_, how in self.loaded if how == "name")
        n = (len(self.loaded) + len(self.missing) + len({id(m) for m, _ in self.ambiguous}) + len(self.disordered)
             + len(self.unordered))
        how = ("by name" if by_name == len(self.loaded) else
               f"({by_name} by name, {len(self.loaded) - by_name} by structure)")
        text = f"weights from {self.source}: {len(self.loaded)} of {n} modules loaded {how}"
        left = [f"{len(self.missing)} not in the file"] if self.missing else []
        left += [f"{len(self.unused)} unused in the file"] if self.unused else []
        left += [f"{len(self.ambiguous)} ambiguous"] if self.ambiguous else []
        left += [f"{len(self.disordered)} against the file's order"] if self.disordered else []
        against = 0 if self.sorted_as_text else sum(1 for _, options in self.unordered if _numbers_them(options))
        left += [f"{len(self.unordered) - against} ambiguous: " + ("no order in a file sorted as text"
                 if self.sorted_as_text else "same shapes, names unrelated")] \
            if len(self.unordered) > against else []
        left += [f"{against} ambiguous: same shapes, numbered against the file's order"] if against else []
        text += f" ({len(self.computed)} computed buffers in the file left out: {self.computed[0]}, ...)" \
            if len(self.computed) > 1 else f" (a computed buffer in the file left out: {self.computed[0]})" \
            if self.computed else ""
        return text + ("; " + ", ".join(left) if left else "")

    def table(self, everything: bool = False) -> str:
        """The summary line, then a table of what did not load (``everything``: of every module)."""
        rows: list[tuple[str, str, str]] = []
        if everything:
            rows += [(m.path, f.path, f"by {how}") for m, f, how in self.loaded]
        for m, options in self.ambiguous:
            rows.append((m.path, " | ".join(o.path for o in options), "ambiguous: equally good alignments" if
                         len(options) > 1 else "ambiguous: as good an alignment gives this file module to another "
                         "module of these shapes, or leaves this one out"))
        for m, options in self.unordered:
            if self.sorted_as_text:
                rows.append((m.path, " | ".join(o.path for o in options),
                             "ambiguous: the file's keys are sorted as text, so it has no registration order, and "
                             "neither names nor numbers pair these (torch.save(model.state_dict()) keeps the order)"))
                continue
            why = ("number them, but not in the file's order"
                   if _numbers_them(options) else "neither match nor number them")
            rows.append((m.path, " | ".join(o.path for o in options),
                         f"ambiguous: {len(options)} file modules of these shapes ({m.describe()}) whose names "
                         f"{why}; only the file's order would pair them"))
        for m, f in self.disordered:
            rows.append((m.path, f.path, "refused: the names say so, the file's order says otherwise "
                                         "(another module of these shapes sits between them the other way round)"))
        for m in self.missing:
            block = self.blocks.get(m.path)
            rows.append((m.path, "-", f"not in the file ({m.describe()})" if block is None else
                         f"not loaded: no file module holds block {block}'s tensors, and a module never "
                         f"takes an entry across a block boundary ({m.describe()})"))
        for f in self.unused:
            rows.append(("-", f.path, f"unused ({f.describe()})"))
        lines = [self.summary()]
        if rows:
            head = ("model", "file", "")
            widths = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
            lines += ["  " + f"{head[0]:<{widths[0]}}  {head[1]:<{widths[1]}}".rstrip()]
            lines += [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
        return "\n".join(lines)


SAFETENSORS_NAMES = (".safetensors", ".safetensors.index.json")  # what read_state_dict reads with safetensors
# what a folder's weights are, in the order looked for: a netspec run, then Hugging Face's save_pretrained
FOLDER_FILES = ("last.pt", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def weights_path(path: str | os.PathLike[str]) -> Path:
    """The file a weights path names: itself, or a folder's first of :data:`FOLDER_FILES`.

    Raises:
        UsageError: a folder holding none of them."""
    p = Path(path)
    if p.is_dir():
        found = next((p / name for name in FOLDER_FILES if (p / name).is_file()), None)
        if found is None:
            raise UsageError(f"weights: {p} is a folder without weights (looked for {', '.join(FOLDER_FILES)})\n"
                             "    hint: name the weights file itself")
        return found
    return p


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state dict from a file: ``.pt``/``.pth``/``.bin`` (read with ``weights_only``: a plain state dict,
    netspec's own checkpoint, or a checkpoint keeping it under ``model``/``state_dict``), ``.safetensors``,
    or a sharded checkpoint's ``*.safetensors.index.json``; or from a folder holding one of
    :data:`FOLDER_FILES` (a netspec run directory, a Hugging Face ``save_pretrained`` folder). Wrapper
    prefixes are removed.

    Raises:
        UsageError: there is no such file, or the folder holds none of those.
        DataError: the file is damaged, not readable with ``weights_only``, or holds no state dict.
    """
    p = weights_path(path)
    if not p.is_file():
        raise UsageError(f"weights: no file at {p}")
    if p.name.endswith(SAFETENSORS_NAMES):
        obj: Any = _read_safetensors(p)
    else:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            text = str(exc).lower()  # torch's own text is not quoted: it advises weights_only=False (runs code)
            why = ("it holds Python objects besides tensors, which are not loaded (unpickling runs code)"
                   if "weights_only" in text or "weights only" in text
                   else f"truncated or damaged ({type(exc).__name__})")
            raise DataError(f"{p}: not a readable weights file: {why}\n    hint: save the weights alone with "
                            "torch.save(model.state_dict(), path)") from None
    try:
        return as_state_dict(obj)
    except DataError as exc:
        raise DataError(f"{p}: {exc}") from None


def _read_safetensors(p: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or of every shard a ``.safetensors.index.json`` names (its
    ``weight_map``: tensor name -> shard file, beside the index)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files = [p]
    if p.name.endswith(".json"):
        try:
            weight_map = json.loads(p.read_text(encoding="utf-8"))["weight_map"]
            files = [p.parent / name for name in dict.fromkeys(weight_map.values())]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise DataError(f"{p}: not a sharded checkpoint's index (a JSON object with a weight_map of tensor "
                            "name -> shard file)") from None
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(f"{p}: the shards {', '.join(missing)} are not beside the index\n"
                            "    hint: download every shard the index names into its folder")
    out: dict[str, torch.Tensor] = {}
    for f in files:
        try:
            out.update(load_file(f, device="cpu"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise DataError(f"{f}: not a readable safetensors file: truncated or damaged ({exc})") from None
    return dict(sorted(out.items()))  # as text, as one file keeps them (a shard each holds part of it)


def as_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """The tensors of a state dict or of a checkpoint holding one (see :func:`read_state_dict`)."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise DataError(f"holds a {type(obj).__name__}, not a state dict")
    if not obj:
        return {}  # the state dict of a model without tensors (a bare activation)
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
    """The modules of a state dict, in its order (a module: the keys sharing all but the last part). A
    state dict's order is its modules' registration order, unless its keys are sorted as text (safetensors
    keeps them so; ``dict(sorted(sd.items()))``): such a file's numbered siblings are put in their numbers'
    order (:func:`numbered_order`), its ``layers.10`` after ``layers.9``."""
    order: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for key, value in state.items():
        path, _, local = key.rpartition(".")
        if local not in OPTIONAL:
            order.setdefault(path, []).append((local, tuple(value.shape)))
    found = [Entry(path, tuple(k for k, _ in items), tuple(s for _, s in items)) for path, items in order.items()]
    keys = list(state)
    return numbered_order(found) if keys == sorted(keys) else found


# tensors a file may leave out, as torch's load_state_dict lets it (batch norm's step count, kept by the model
# when absent; loaded when both have it)
OPTIONAL = ("num_batches_tracked",)
COMPUTED_BUFFERS = ("inv_freq", "position_ids")  # left out of a file: the model computes them
ORDINAL = re.compile(r"^(\D*)(\d+)$")  # a name ending in its only number: `3`, `fc2`, `layer_10`


def numbered_order(found: list[Entry]) -> list[Entry]:
    """``found`` with each set of numbered siblings (``layers.0`` ... ``layers.11``; ``fc1``, ``fc2``: the
    children of one module whose names are one word ending in their only number) in the numbers' order,
    each in the places the set held, from the outermost level in. Names with several numbers
    (``conv3x3``, ``branch5x5_1``) may number something else and keep their order."""
    items = list(found)
    for level in range(max((e.path.count(".") for e in items), default=0) + 1):
        sets: dict[tuple[str, str], list[int]] = {}
        numbers: dict[int, int] = {}
        for i, e in enumerate(items):
            parts = e.path.split(".")
            m = ORDINAL.match(parts[level]) if len(parts) > level else None
            if m is not None:
                sets.setdefault((".".join(parts[:level]), m[1]), []).append(i)
                numbers[i] = int(m[2])
        before = list(items)
        for places in sets.values():
            for place, i in zip(places, sorted(places, key=lambda i: numbers[i])):  # stable: a module's own order
                items[place] = before[i]
    return items


def plan(target: Mapping[str, Any], source: Mapping[str, Any], source_name: str = "a state dict",
         spellings: Mapping[str, Mapping[str, int]] | None = None, blocks: Iterable[str] = (),
         renamed: Mapping[str, list[str]] | None = None, shortcuts: Iterable[str] = ()) -> LoadReport:
    """Decide which file module goes into which model module (nothing is loaded).

    ``spellings``: other names a model module may have in the file (:func:`torch_names`); ``blocks``: the
    model's block instances (module paths), whose modules load by structure only from one file module;
    ``renamed``: other full keys a one-tensor layer's tensor may have (:func:`tensor_names`); ``shortcuts``:
    the model's residual shortcuts (group paths), in no order against their residual's body.
    """
    mine, theirs = entries(target), entries(source)
    report = LoadReport(source_name)
    by_path = {e.path: e for e in theirs}
    named: dict[int, Entry] = {}  # model index -> file entry, by name
    for i, m in enumerate(mine):
        f = by_path.get(m.path)
        if f is not None and f.signature == m.signature:
            named[i] = f
    if spellings:
        named.update(_one_tensor_layers(mine, by_path, named, spellings, renamed or {}))
        taken = {f.path for f in named.values()}
        claims: dict[str, list[tuple[int, int]]] = {}  # file path -> (renamed levels, model index)
        for i, m in enumerate(mine):
            if i in named:
                continue
            hits = {p: r for p, r in _spelled(spellings, m.path).items()
                    if p in by_path and p not in taken and by_path[p].signature == m.signature}
            fewest = [p for p, r in hits.items() if r == min(hits.values())]
            if len(fewest) == 1:
                claims.setdefault(fewest[0], []).append((hits[fewest[0]], i))
        for p, who in claims.items():
            who.sort()
            if len(who) == 1 or who[0][0] < who[1][0]:  # a spelling two modules share as closely says nothing
                named[who[0][1]] = by_path[p]
    order = {f.path: j for j, f in enumerate(theirs)}
    keys = list(source)
    crossed = set() if keys == sorted(keys) else _crossed(  # a file sorted as text has no order to cross
        [(i, order[f.path], mine[i].signature) for i, f in sorted(named.items())], [m.path for m in mine], shortcuts)
    taken = set()
    rest: list[Entry] = []
    for i, m in enumerate(mine):
        if i in named and i not in crossed:
            report.loaded.append((m, named[i], "name"))
            taken.add(named[i].path)
        elif i in crossed:
            report.disordered.append((m, named[i]))
            taken.add(named[i].path)
        else:
            rest.append(m)
    others = [f for f in theirs if f.path not in taken]
    pairs, ambiguous, alone = align_blocks(rest, others, blocks or ())
    repaired: list[tuple[tuple[int, int], tuple[int, int]]] = []
    unsettled = unordered_pairs(pairs, rest, others, ordered=keys != sorted(keys), repaired=repaired)
    pairs = [dict(repaired).get(p, p) for p in pairs]
    report.sorted_as_text = keys == sorted(keys)
    if report.sorted_as_text:
        unsettled += scattered([p for p in pairs if p not in {q for g in unsettled for q in g}], rest, others)
    for group in unsettled:
        options = [others[j] for _, j in group]
        report.unordered += [(rest[i], options) for i, _ in group]
    skip = {p for group in unsettled for p in group}
    pairs = [p for p in pairs if p not in skip]
    used: set[int] = {j for _, j in skip}
    skipped = {i for i, _ in skip}
    for i, j in pairs:
        report.loaded.append((rest[i], others[j], "structure"))
        used.add(j)
    stuck = {i for i, _ in ambiguous}
    for i in sorted(stuck):
        options = [others[j] for a, j in ambiguous if a == i]
        report.ambiguous.append((rest[i], options))
    stuck_files = {j for _, j in ambiguous}
    report.missing = [m for i, m in enumerate(rest) if i not in stuck and i not in skipped
                      and all(i != a for a, _ in pairs)]
    report.blocks = {m.path: alone[i] for i, m in enumerate(rest) if i in alone and m in report.missing}
    report.unused = [f for j, f in enumerate(others) if j not in used and j not in stuck_files]
    where = {m.path: i for i, m in enumerate(mine)}
    report.loaded.sort(key=lambda t: where[t[0].path])
    return report


def unordered_pairs(pairs: list[tuple[int, int]], mine: list[Entry], theirs: list[Entry], ordered: bool = True,
                    repaired: list[tuple[tuple[int, int], tuple[int, int]]] | None = None
                    ) -> list[list[tuple[int, int]]]:
    """The groups of structure pairs ``(model index, file index)`` that only the file's order decides.

    A file's order is its modules' registration order, which need not be the order forward calls them
    (``self.second = Linear(16, 16)`` registered before ``self.first``, called after it). Two or more file
    modules of the same tensors (names and shapes) in places of the same make (their parent modules hold
    the same tensors: two siblings, two copies of a block; a head's norm and a block's norm are not
    interchangeable, their places tell them apart) that the alignment pairs with model modules are settled
    by their names only when (a) the name parts model and file modules share pick this pairing over any
    other (:func:`_names_pair`: ``stage1.conv`` takes ``stage1.0.conv``), or (b) the file's names number
    them in the file's order: read pairwise, the first part where two paths differ is a name followed by a
    number (``conv1``/``conv2``, ``features.24``/``features.26``, ``block3-0``/``block3-1``), or a single
    letter (``f.a``/``f.b``), increasing along the file. Any other group (``second``/``first``,
    ``encoder``/``decoder``) is ambiguous: registration order alone never decides. A file sorted as text
    (``ordered`` false) has no registration order: there its numbers settle a group only where the pairs
    follow them (model order, file order: the alphabet's order of words may cross them); a group the
    names pair otherwise (:func:`_best_by_names`) is settled so, each ``(alignment's pair, names' pair)``
    appended to ``repaired``.
    """
    def home(j: int) -> tuple[Signature, tuple[Signature, ...]]:
        parent = theirs[j].path.rpartition(".")[0]
        inside = [f.signature for f in theirs if not parent or f.path.startswith(parent + ".")]
        return theirs[j].signature, tuple(sorted(inside))

    by_home: dict[tuple[Signature, tuple[Signature, ...]], list[tuple[int, int]]] = {}
    for i, j in pairs:
        by_home.setdefault(home(j), []).append((i, j))
    out = []
    for group in by_home.values():
        if len(group) < 2:
            continue
        by_parts = _names_pair(group, mine, theirs)
        files = sorted(j for _, j in group)
        numbered = all(_numbered_before(theirs[x].path, theirs[y].path) for x, y in zip(files, files[1:]))
        # a file sorted as text: its order beyond the numbers is the alphabet's, and an alignment may cross them
        along = ordered or [j for _, j in sorted(group)] == files
        if not (by_parts or numbered and along):
            named = None if ordered or repaired is None else _best_by_names(group, mine, theirs)
            if named is not None and repaired is not None:  # the names pair them, not as the alignment did
                repaired += [(old, new) for old, new in zip(group, named) if old != new]
            else:
                out.append(sorted(group))
    return out


def scattered(pairs: list[tuple[int, int]], mine: list[Entry], theirs: list[Entry]) -> list[list[tuple[int, int]]]:
    """Structure pairs of a file sorted as text whose model modules share a parent module while their file
    modules do not (a layer's conv from one branch, its batch norm from another: an alphabet's order the
    alignment crossed), grouped by that parent: none of them can be trusted."""
    files: dict[str, set[str]] = {}
    for i, j in pairs:
        files.setdefault(mine[i].path.rpartition(".")[0], set()).add(theirs[j].path.rpartition(".")[0])
    return [[(i, j) for i, j in pairs if mine[i].path.rpartition(".")[0] == parent]
            for parent, found in files.items() if len(found) > 1]


def _names_pair(group: list[tuple[int, int]], mine: list[Entry], theirs: list[Entry]) -> bool:
    """Whether the name parts the model and file modules share pick ``group``'s pairing over every other:
    its total of shared parts is larger than any other pairing's (all of them up to 6 modules, else every
    pairing that swaps two: ``f.a.conv``/``shortcut.conv`` against ``f.a.0``/``proj.0``)."""
    return _best_by_names(group, mine, theirs) == list(group)


def _best_by_names(group: list[tuple[int, int]], mine: list[Entry], theirs: list[Entry]
                   ) -> list[tuple[int, int]] | None:
    """The pairing of ``group``'s model and file modules whose shared name parts total more than any other's
    (see :func:`_names_pair`; beyond 6 modules only ``group``'s own pairing is tried), or None."""
    from itertools import permutations

    mods = [_tokens(mine[i].path) for i, _ in group]
    files = [_tokens(theirs[j].path) for _, j in group]

    def total(order: Iterable[int]) -> int:
        return sum(len(mods[k] & files[o]) for k, o in enumerate(order))

    n = len(group)
    if n <= 6:
        scored = sorted(((total(p), p) for p in permutations(range(n))), reverse=True)
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            return None
        return [(group[k][0], group[o][1]) for k, o in enumerate(scored[0][1])]
    best = total(range(n))
    for a in range(n):
        for b in range(a + 1, n):
            swap = list(range(n))
            swap[a], swap[b] = b, a
            if total(swap) >= best:
                return None
    return list(group)


def _numbers_them(found: list[Entry]) -> bool:
    """Whether the names of ``found`` number them (any two ordered by :func:`_numbered_before`)."""
    return all(_numbered_before(a.path, b.path) or _numbered_before(b.path, a.path)
               for k, a in enumerate(found) for b in found[k + 1:])


def _numbered_before(a: str, b: str) -> bool:
    """Whether path ``a`` comes before ``b`` by the numbering of their names (see :func:`unordered_pairs`)."""
    pa, pb = a.split("."), b.split(".")
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if len(x) == len(y) == 1 and x.isalpha() and y.isalpha():
            return x < y
        kx, ky = re.split(r"(\d+)", x), re.split(r"(\d+)", y)
        if len(kx) != len(ky) or kx[0::2] != ky[0::2]:
            return False  # another word: the names say nothing of their order
        nx, ny = [int(t) for t in kx[1::2]], [int(t) for t in ky[1::2]]
        return nx < ny
    return False


def _one_tensor_layers(mine: list[Entry], by_path: Mapping[str, Entry], named: Mapping[int, Entry],
                       spellings: Mapping[str, Mapping[str, int]], renamed: Mapping[str, list[str]]
                       ) -> dict[int, Entry]:
    """Layers of one tensor (a class token, a position table) that a file keeps side by side on one
    module (timm's ``cls_token`` and ``pos_embed`` on the model itself), or under the layer's name
    (``renamed``: a model's ``self.pos = nn.Parameter(...)`` is the layer ``pos`` holding
    ``pos_embedding``): when each tensor of that file module is spelled by exactly one such layer, with
    its shape, each layer takes its tensor."""
    claims: dict[str, dict[tuple[str, tuple[int, ...]], list[int]]] = {}
    for i, m in enumerate(mine):
        if i in named or len(m.keys) != 1:
            continue
        for p in _spelled(spellings, m.path):
            f = by_path.get(p)
            if f is not None and len(f.keys) > 1 and m.signature[0] in f.signature:
                claims.setdefault(p, {}).setdefault(m.signature[0], []).append(i)
        for full in dict.fromkeys(renamed.get(m.full(m.keys[0]), ())):
            p, _, key = full.rpartition(".")
            f = by_path.get(p)
            if f is not None and (key, m.shapes[0]) in f.signature and \
                    i not in claims.get(p, {}).get((key, m.shapes[0]), []):
                claims.setdefault(p, {}).setdefault((key, m.shapes[0]), []).append(i)
    out: dict[int, Entry] = {}
    for p, got in claims.items():
        f = by_path[p]
        if set(got) == set(f.signature) and all(len(who) == 1 for who in got.values()):
            out.update({who[0]: Entry(p, (key,), (shape,)) for (key, shape), who in got.items()})
    return out


def _spelled(spellings: Mapping[str, Mapping[str, int]], path: str) -> dict[str, int]:
    """The spellings of ``path`` with their renamed levels, or those of the nearest enclosing layer's path
    with the rest appended (a layer's own submodule: attention's ``out_proj``)."""
    head, rest = path, ""
    while head:
        if head in spellings:
            return {f"{s}.{rest}" if s and rest else s or rest: r for s, r in spellings[head].items()}
        head, _, last = head.rpartition(".")
        rest = f"{last}.{rest}" if rest else last
    return {}


def align_blocks(mine: list[Entry], theirs: list[Entry], blocks: Iterable[str]
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]], dict[int, str]]:
    """:func:`align` by blocks first, then within each pair of blocks: a model's block instance (the
    outermost enclosing one) matches the file module (a path prefix) holding the same tensors, whatever
    their order; inside, modules align in order, and the ones left over pair up where their signature
    is unique on both sides of the block (a module registering a parameter of its own before its body,
    torchvision's ConvNeXt ``layer_scale``). A module never takes a file entry of another block.

    Returns the certain pairs, the ambiguous ones, and the model modules of blocks no file module
    matched (index -> block path)."""
    outer = sorted(set(blocks), key=len)

    def block_of(path: str) -> str | None:
        return next((b for b in outer if path.startswith(b + ".")), None)

    mine_chunks: dict[str, list[int]] = {}
    for i, m in enumerate(mine):
        b = block_of(m.path)
        mine_chunks.setdefault(b if b is not None else f"\0{i}", []).append(i)

    def key(sigs: Iterable[Signature]) -> tuple[Signature, ...]:
        return tuple(sorted(sigs))

    wanted = {key(mine[i].signature for i in idx) for b, idx in mine_chunks.items() if not b.startswith("\0")}
    under: dict[str, list[int]] = {}
    for j, f in enumerate(theirs):
        parts = f.path.split(".") if f.path else []
        for d in range(1, len(parts) + 1):
            under.setdefault(".".join(parts[:d]), []).append(j)
    file_chunks: list[list[int]] = []
    done: set[int] = set()
    for j, f in enumerate(theirs):
        if j in done:
            continue
        parts = f.path.split(".") if f.path else []
        chunk = [j]
        for d in range(1, len(parts) + 1):
            idx = under[".".join(parts[:d])]
            if not done.intersection(idx) and key(theirs[k].signature for k in idx) in wanted:
                chunk = idx
                break
        done.update(chunk)
        file_chunks.append(chunk)
    mine_list = list(mine_chunks.values())
    chunk_pairs, chunk_unsure = align([key(mine[i].signature for i in c) for c in mine_list],
                                      [key(theirs[j].signature for j in c) for c in file_chunks],
                                      [mine[c[0]].path for c in mine_list], [theirs[c[0]].path for c in file_chunks])
    certain: list[tuple[int, int]] = []
    unsure: list[tuple[int, int]] = []
    for a, b in chunk_unsure:  # two blocks could take one file module: each of their modules is ambiguous
        unsure += [(i, j) for i in mine_list[a] for j in file_chunks[b] if mine[i].signature == theirs[j].signature]
    for a, b in chunk_pairs:
        ci, cj = mine_list[a], file_chunks[b]
        inner, _ = align([mine[i].signature for i in ci], [theirs[j].signature for j in cj],
                         [mine[i].path for i in ci], [theirs[j].path for j in cj])
        got = [(ci[x], cj[y]) for x, y in inner]
        left_i = [i for i in ci if all(i != p for p, _ in got)]
        left_j = [j for j in cj if all(j != q for _, q in got)]
        for i in left_i:
            same = [j for j in left_j if theirs[j].signature == mine[i].signature]
            if len(same) == 1 and sum(mine[k].signature == mine[i].signature for k in left_i) == 1:
                got.append((i, same[0]))
        if len(got) == len(ci):
            certain += got
        else:  # the same tensors in another order that shapes cannot settle
            unsure += [(i, j) for i in ci for j in cj if mine[i].signature == theirs[j].signature
                       and all(i != p for p, _ in got)]
            certain += got
    # Between two matched blocks, what is left aligns in order (a block the file writes flat, VGG's
    # `features.0`, `features.2`), never across a matched block.
    busy_a = {a for a, _ in chunk_unsure}
    busy_b = {b for _, b in chunk_unsure}
    bounds = [(-1, -1), *sorted(chunk_pairs), (len(mine_list), len(file_chunks))]
    for (a0, b0), (a1, b1) in zip(bounds, bounds[1:]):
        gi = [i for a in range(a0 + 1, a1) if a not in busy_a for i in mine_list[a]]
        gj = [j for b in range(b0 + 1, b1) if b not in busy_b for j in file_chunks[b]]
        if not gi or not gj:
            continue
        sure, maybe = align([mine[i].signature for i in gi], [theirs[j].signature for j in gj],
                            [mine[i].path for i in gi], [theirs[j].path for j in gj])
        certain += [(gi[x], gj[y]) for x, y in sure]
        unsure += [(gi[x], gj[y]) for x, y in maybe]
    paired = {i for i, _ in certain} | {i for i, _ in unsure}
    names = list(mine_chunks)
    alone = {i: names[a] for a, c in enumerate(mine_list) if not names[a].startswith("\0")
             for i in c if i not in paired}
    return sorted(certain), unsure, alone


def _crossed(pairs: list[tuple[int, int, Signature]], paths: list[str] | None = None,
             shortcuts: Iterable[str] = ()) -> set[int]:
    """The model indices of name pairs ``(model index, file index, signature)`` (in model order) that
    cross another pair of the same signature: a module taking a later file entry than a module after it.
    A residual's body and its shortcut (``shortcuts``: their group paths) have no order between them
    (netspec builds the body first; torchvision's RegNet registers ``proj`` before ``f``)."""
    bad: set[int] = set()
    groups: dict[Signature, list[tuple[int, int]]] = {}
    for i, j, sig in pairs:
        groups.setdefault(sig, []).append((i, j))
    cuts = [(s + ".", s.rpartition(".")[0] + "." if "." in s else "") for s in shortcuts]

    def unordered(a: int, b: int) -> bool:
        if paths is None:
            return False
        x, y = paths[a] + ".", paths[b] + "."
        return any(x.startswith(r) and y.startswith(r) and x.startswith(c) != y.startswith(c) for c, r in cuts)

    for items in groups.values():
        for k, (i, j) in enumerate(items):
            for i2, j2 in items[k + 1:]:
                if j2 < j and not unordered(i, i2):
                    bad.update((i, i2))
    return bad


# --- PyTorch's spellings of netspec's module paths -----------------------------------------------------
INDEXED = re.compile(r"^(.+)_(\d+)$")
MAX_SPELLINGS = 512  # per module: alternatives multiply along a path (3 per indexed level)


def torch_names(net: NetGraph, places: Collection[str] = ()) -> dict[str, dict[str, int]]:
    """The PyTorch spellings of each module path of a compiled network, for loading by name, each with
    the number of levels it renames (its own name kept at a level: 0 there; fewest first). ``places``:
    the file's module paths and every prefix of them, which decide how a group's siblings are numbered.

    netspec's names are identifiers and its groups open scopes that PyTorch models write differently:

    * **Numbered siblings are indices.** When every child of a group (or of the network) is named
      ``<name>_<n>`` with increasing ``n`` (the copies of a ``repeat:`` are ``basic_block_1``,
      ``basic_block_2``; ``netspec import`` names the children of an ``nn.Sequential`` so), child
      ``<name>_<n>`` is ``n - 1``, as ``nn.Sequential``/``nn.ModuleList`` name theirs, or
      ``<name><n>`` (``add_module(f"denselayer{n}")``, torchvision's DenseNet) or ``<group>-<n - 1>``
      (named after their group: torchvision's RegNet ``block3-0``) or, where the file has a
      ``<name>_0`` there, ``<name>_<n - 1>`` (numbered from 0: torchvision's ViT ``encoder_layer_0``),
      else ``<name>_<n>`` itself (netspec's own export); one of those two for all siblings, never both,
      or the second of a file's siblings would load into the first.
    * **A parallel's branches are not levels or their own** (``layer.branch2.norm1`` is ``layer.norm1``,
      or ``layer.branch2.norm1`` as torchvision's Inception and ShuffleNet hold theirs), nor is
      **the one group a block consists of** (a dense layer that is one parallel group).
    * **A residual or parallel group that is not a block** is either its name or no level (a Transformer
      layer's two residuals, ``attention.ln_1``, are torchvision's EncoderBlock's ``ln_1``; a gate
      ``x * f(x)`` written inline), and **a layer that is
      one tensor named as the layer** (``layer_scale.layer_scale``, ``class_token.class_token``) is that
      tensor of the enclosing module (ConvNeXt's ``features.1.0.layer_scale``, ViT's ``class_token``).
    * **A network's layer may sit in a wrapper** the file has and the network lacks (Hugging Face's
      ``model.layers.0`` beside ``lm_head``): ``<wrapper>.<name>`` where the file has that module.
    * **A layer's submodules** may have the names its torch module lists in ``SUBMODULE_SPELLINGS``
      (attention's ``out_proj`` is Hugging Face's ``o_proj``; read by :func:`model_torch_names`).
    * **A residual's shortcut** is either no level (its layers sit in the block, ``downsample.0``
      written by ``netspec import``) or ``downsample`` with its layers by position: torchvision's
      ResNet projection (``shortcut.conv`` is ``downsample.0``, ``shortcut.bn`` is ``downsample.1``).

    The netspec path itself is always tried first; a spelling only ever loads a file entry with the
    module's exact tensor names and shapes that no other module spells with as few renamed levels
    (``block_3`` may be a file's ``block_2``, numbered from 0, but not where ``block_2`` keeps its name).
    """
    children: dict[str, list[str]] = {g: list(info.children) for g, info in net.groups.items()}
    children[""] = list(dict.fromkeys(n.name.split(".", 1)[0] for n in net.nodes))  # the network's own, in order
    params = {n.name: n.params for n in net.nodes if not n.shared}
    wrappers = sorted(p for p in places if "." not in p and p not in children[""])
    out: dict[str, dict[str, int]] = {}

    def join(a: str, b: str) -> str:
        return f"{a}.{b}" if a and b else a or b

    def visit(path: str, names: dict[str, int]) -> None:
        out[path] = names
        kids = children.get(path)
        if not kids:
            return
        info = net.groups.get(path)
        shorts = [k[len(path) + 1:] if path else k for k in kids]
        numbers = [INDEXED.match(s) for s in shorts]
        indexed = all(numbers) and all(int(a[2]) < int(b[2]) for a, b in zip(numbers, numbers[1:]))
        for pos, (kid, short) in enumerate(zip(kids, shorts)):
            ki = net.groups.get(kid)
            if ki is not None and ki.topology == "branch":
                alts = ["", short]
            elif ki is not None and ki.topology == "shortcut":
                alts = ["", "downsample"]
            elif info is not None and info.block is not None and len(kids) == 1 and ki is not None:
                alts = ["", short]
            elif info is not None and info.topology == "shortcut":
                alts = [short, str(pos)]
            elif indexed:
                m = numbers[pos]
                base, n = m[1], int(m[2])  # type: ignore[index]
                from_0 = any(join(p, f"{base}_0") in places for p in names)
                alts = [str(n - 1), f"{base}{n}", f"{base}_{n - 1}" if from_0 else short,
                        f"{path.rpartition('.')[2]}-{n - 1}"]
            else:
                alts = [short]
            if not path:  # a model whose body is one attribute of it (Hugging Face's `model.layers`, beside lm_head)
                alts += [f"{top}.{short}" for top in wrappers if f"{top}.{short}" in places]
            leaf = params.get(kid)
            if (ki is not None and ki.topology in ("skip", "branches") and ki.block is None) or (
                    leaf is not None and list(leaf) == [short.rpartition(".")[2]]):
                alts.append("")  # a residual or gate written in its module; a tensor of its module (`layer_scale`)
            spelled: dict[str, int] = {}
            for n, renames in names.items():
                for a in alts:
                    key, r = join(n, a), renames + (a != short)
                    if r < spelled.get(key, r + 1):
                        spelled[key] = r
            visit(kid, dict(sorted(spelled.items(), key=lambda kv: kv[1])[:MAX_SPELLINGS]))

    visit("", {"": 0})
    out.pop("", None)
    return out


def model_torch_names(model: nn.Module, places: Collection[str] = ()) -> dict[str, dict[str, int]]:
    """:func:`torch_names` of a compiled module (a network, or a ModuleDict of them)."""
    net = getattr(model, "netspec_graph", None)
    if isinstance(net, NetGraph):
        out = torch_names(net, places)
        for path in list(out):  # a layer's submodules another code base names otherwise (attention's o_proj)
            try:
                aliases = getattr(model.get_submodule(path), "SUBMODULE_SPELLINGS", {})
            except AttributeError:
                continue
            for sub, others in aliases.items():
                out[f"{path}.{sub}"] = {**{f"{s}.{sub}" if s else sub: r for s, r in out[path].items()},
                                        **{f"{s}.{o}" if s else o: r + 1 for s, r in out[path].items() for o in others}}
        return out
    out = {}
    if isinstance(model, nn.ModuleDict):
        for key, sub in model.items():
            for path, names in model_torch_names(sub, _within(places, key)).items():
                out[f"{key}.{path}"] = {f"{key}.{n}": r for n, r in names.items()}
    return out


def tensor_names(net: NetGraph, places: Collection[str] = ()) -> dict[str, list[str]]:
    """Other full keys of the tensor of each one-tensor layer of the tensor family (a class token, a
    position table, a layer scale) whose name is not its tensor's: the layer's own spellings
    (:func:`torch_names`), as a model's ``self.pos = nn.Parameter(...)`` keeps it (``pos``, not
    ``pos.pos_embedding``)."""
    spellings = torch_names(net, places)
    out: dict[str, list[str]] = {}
    for n in net.nodes:
        if n.family == "tensor" and len(n.params) == 1 and not n.shared:
            (key,) = n.params
            if n.name.rpartition(".")[2] != key:
                out[f"{n.name}.{key}"] = [s for s in spellings.get(n.name, {n.name: 0}) if s]
    return out


def model_tensor_names(model: nn.Module, places: Collection[str] = ()) -> dict[str, list[str]]:
    """:func:`tensor_names` of a compiled module (a network, or a ModuleDict of them)."""
    net = getattr(model, "netspec_graph", None)
    if isinstance(net, NetGraph):
        return tensor_names(net, places)
    if isinstance(model, nn.ModuleDict):
        return {f"{key}.{k}": [f"{key}.{n}" for n in names]
                for key, sub in model.items() for k, names in model_tensor_names(sub, _within(places, key)).items()}
    return {}


def config_problems(model: nn.Module, config: Mapping[str, Any]) -> list[str]:
    """Where ``model`` computes otherwise than a Hugging Face ``config.json`` says its weights were trained to:
    options that no tensor's shape shows (heads against key/value heads at one width, RoPE's base, scaling
    and rotated fraction, the sliding window, the norms' eps, tied embeddings). Read from the torch modules,
    first differing place of each; transformers 4's keys (``rope_theta``, ``rope_scaling``) and 5's
    (``rope_parameters``) alike."""
    rope = {**(config.get("rope_scaling") or {}), **(config.get("rope_parameters") or {})}
    theta = rope.get("rope_theta", config.get("rope_theta"))
    kind = rope.get("rope_type") or rope.get("type") or "default"
    partial = rope.get("partial_rotary_factor", config.get("partial_rotary_factor", config.get("rotary_pct")))
    heads = config.get("num_attention_heads")
    window = config.get("sliding_window") if config.get("use_sliding_window", True) else None
    eps = next((config[k] for k in ("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon") if k in config), None)
    out: list[str] = []

    def differ(what: str, theirs: Any, mine: Any, where: str) -> None:
        if not any(what in line for line in out):
            out.append(f"{what}: config.json {theirs}, the spec {mine} ({where})")

    for path, m in model.named_modules():
        if hasattr(m, "num_heads") and hasattr(m, "rope_theta"):  # netspec's attention modules
            if heads is not None and m.num_heads != heads:
                differ("num_attention_heads", heads, f"heads: {m.num_heads}", path)
            kv = getattr(m, "num_kv_heads", m.num_heads)
            if heads is not None and kv != config.get("num_key_value_heads", heads):
                differ("num_key_value_heads", config.get("num_key_value_heads", heads), f"kv_heads: {kv}", path)
            if m.rope_theta is not None:
                if theta is not None and float(m.rope_theta) != float(theta):
                    differ("rope_theta", theta, f"rope_theta: {m.rope_theta}", path)
                mine = (m.rope_scaling or {}).get("rope_type", "default")
                if mine != kind:
                    differ("rope_type", kind, f"rope_type: {mine}", path)
                elif kind != "default" and (m.rope_scaling or {}).get("factor") != rope.get("factor"):
                    differ("rope factor", rope.get("factor"), f"rope_factor: {(m.rope_scaling or {}).get('factor')}",
                           path)
                if partial is not None:
                    d = m.embed_dim // m.num_heads
                    turned = m.rotary_dim if m.rotary_dim is not None else d
                    if turned != int(d * float(partial)):
                        differ("partial_rotary_factor", partial, f"{turned} of {d} features turned", path)
            if window != getattr(m, "sliding_window", None) and (window is not None or
                                                                  getattr(m, "sliding_window", None) is not None):
                differ("sliding_window", window, f"sliding_window: {getattr(m, 'sliding_window', None)}", path)
        elif isinstance(m, (nn.LayerNorm, nn.RMSNorm)) and eps is not None and m.eps is not None \
                and abs(float(m.eps) - float(eps)) > 1e-12:
            differ("norm eps", eps, f"eps: {m.eps}", path)
    tie = config.get("tie_word_embeddings")
    if tie is not None and bool(tie) != bool(tied_keys(model)):
        differ("tie_word_embeddings", str(bool(tie)).lower(),
               "ties the head to the embedding (tie:)" if tied_keys(model) else "has an untied head (no tie:)",
               "the output projection")
    return out


def _same_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Keys of a state dict whose tensor is an earlier key's, the same memory (torch.save keeps a tensor
    shared), each with that key."""
    first: dict[tuple[int, tuple[int, ...], tuple[int, ...], torch.dtype], str] = {}
    out = {}
    for key, value in state.items():
        if value.numel() == 0:
            continue
        own = first.setdefault((value.data_ptr(), tuple(value.shape), tuple(value.stride()), value.dtype), key)
        if own != key:
            out[key] = own
    return out


def tied_keys(model: nn.Module) -> dict[str, str]:
    """State-dict keys whose tensor is an earlier key's (a ``tie:`` or ``share:``), each with that key."""
    first: dict[int, str] = {}
    out = {}
    for key, value in model.state_dict(keep_vars=True).items():
        own = first.setdefault(id(value), key)
        if own != key:
            out[key] = own
    return out


def module_places(state: Mapping[str, Any]) -> set[str]:
    """Every module path of a state dict's keys and every prefix of them (``a.b.w`` -> ``a``, ``a.b``)."""
    out = set()
    for key in state:
        parts = key.split(".")[:-1]
        out.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
    return out


def _within(places: Collection[str], key: str) -> set[str]:
    """``places`` under ``key.``, without it (a ModuleDict's network)."""
    return {p[len(key) + 1:] for p in places if p.startswith(key + ".")}


def model_groups(model: nn.Module, topology: str) -> list[str]:
    """The paths of a compiled module's groups of ``topology`` (a network, or a ModuleDict of them)."""
    net = getattr(model, "netspec_graph", None)
    if isinstance(net, NetGraph):
        return [path for path, info in net.groups.items() if info.topology == topology]
    if isinstance(model, nn.ModuleDict):
        return [f"{key}.{p}" for key, sub in model.items() for p in model_groups(sub, topology)]
    return []


def model_blocks(model: nn.Module) -> list[str]:
    """The module paths of a compiled module's block instances (a network, or a ModuleDict of them)."""
    net = getattr(model, "netspec_graph", None)
    if isinstance(net, NetGraph):
        return [path for path, info in net.groups.items() if info.block is not None]
    if isinstance(model, nn.ModuleDict):
        return [f"{key}.{p}" for key, sub in model.items() for p in model_blocks(sub)]
    return []


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
        weights: a file or folder :func:`read_state_dict` reads (``.pt``/``.pth``/``.bin``, ``.safetensors``, a
            sharded index, a run directory, a Hugging Face folder, whose ``config.json`` is then held to the
            spec: :func:`config_problems`), or a mapping.
        partial: load what fits and keep the rest as initialised, instead of refusing.

    Returns:
        The :class:`LoadReport` (also stored as ``model.netspec_weights``).

    Raises:
        DataError: something is left over or ambiguous and ``partial`` is False (the message is the table); a
            folder's config.json differs from the spec; the file holds two tensors for one the spec ties.
        UsageError: no such file, or a folder without weights.
    """
    if isinstance(weights, (str, os.PathLike)):
        source, name = read_state_dict(weights), str(weights_path(weights))  # a folder: the file it stands for
        config = Path(weights) / "config.json"
        if config.is_file():  # a Hugging Face folder: what its config says, beside the tensors' shapes
            try:
                settings = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                settings = None
            problems = config_problems(model, settings) if isinstance(settings, dict) else []
            if problems:
                raise DataError(f"weights from {weights}: the spec computes otherwise than the folder's config.json "
                                "says its weights were trained to (the tensors' shapes do not show it):\n"
                                + "\n".join(f"    {p}" for p in problems)
                                + "\n    hint: write the spec's options as config.json has them; to load the "
                                "tensors into this spec anyway, give the weights file itself (config.json is read "
                                "for a folder only)")
    else:
        source, name = as_state_dict(weights), "a state dict"
    target = model.state_dict()
    # buffers a model computes rather than learns (RoPE's inv_freq, BERT's position_ids), which older files keep
    computed = sorted(k for k in source if k.rpartition(".")[2] in COMPUTED_BUFFERS and k not in target)
    source = {k: v for k, v in source.items() if k not in computed}

    aliases = tied_keys(model)
    copies = _same_tensors(source)  # a module saved under several names: ALBERT's ModuleList([block] * 3)

    def planned(state: Mapping[str, torch.Tensor]) -> LoadReport:
        places = module_places(state)
        found = plan(target, state, name, model_torch_names(model, places), model_blocks(model),
                     model_tensor_names(model, places), model_groups(model, "shortcut"))
        # a file module holding the tensors of one loaded is not left over; a tied tensor (`tie:`, `share:`) is
        # its source's, which a file may hold once (Hugging Face's save_pretrained of tied embeddings)
        loaded = {f.full(k) for _, f, _ in found.loaded for k in f.keys}
        found.unused = [f for f in found.unused if not all(copies.get(f.full(k)) in loaded for k in f.keys)]
        found.missing = [m for m in found.missing if not all(m.full(k) in aliases for k in m.keys)]
        return found

    report = planned(source)
    if copies and not report.complete:  # a spec that shares such a module takes it once
        once = {k: v for k, v in source.items() if k not in copies}
        other = planned(once)
        if other.complete:
            report, source = other, once
    report.computed = computed
    if not report.loaded and target and not (report.unordered or report.ambiguous or report.disordered):
        raise DataError(report.table() + "\nnothing in the file fits this network")
    if report.unordered and not partial:
        m, options = report.unordered[0]
        example = ", ".join(f"'{m.full(k)}': sd['M.{k}']" for k in m.keys)
        which = " or ".join(o.path for o in options)
        raise DataError(report.table() + "\nrefused: which of these file modules goes where only their order in "
                        "the file says, and registration order need not be the order forward calls them\n"
                        "    hint: netspec has no mapping option: pair them yourself with torch's load_state_dict, "
                        f"which goes by the names alone (model = netspec.compile(spec); sd = torch.load(file); "
                        f"model.load_state_dict({{{example}, ...}}, strict=False), M being the file module, {which}, "
                        f"that the original forward calls where {m.path} sits), or write the file with its modules "
                        "named as the spec's layers (a spec's `name:`), in the order forward calls them, so that "
                        "they load by name\n"
                        "    (--partial / partial=True loads the rest and keeps these as initialised)")
    if not report.complete and not partial:
        raise DataError(report.table() + "\nrefused: to load what fits and keep the rest as initialised, pass "
                        "partial=True (netspec.compile, load_weights) or --partial (netspec build, netspec export)")
    new = {}
    for mine, theirs, _ in report.loaded:
        for key, other in mine.pairs(theirs):
            value = source[theirs.full(other)]
            new[mine.full(key)] = value.to(dtype=target[mine.full(key)].dtype)
        for extra in OPTIONAL:
            if theirs.full(extra) in source and mine.full(extra) in target:
                new[mine.full(extra)] = source[theirs.full(extra)].to(dtype=target[mine.full(extra)].dtype)
    for alias, own in aliases.items():
        if alias in new and own in new and not torch.equal(new[alias], new[own]):
            raise DataError(f"weights from {name}: the spec ties {alias} to {own} (one tensor), but the file holds "
                            f"two different tensors for them ({report.mapping[alias]} and {report.mapping[own]})\n"
                            "    hint: the file's model does not tie them: leave `tie:`/`share:` out of the spec")
    with torch.no_grad():
        result = model.load_state_dict(new, strict=False)
    if result.unexpected_keys:  # plan() only maps onto the model's own keys
        raise RuntimeError(f"weights: unexpected keys {result.unexpected_keys[:5]}")
    model.netspec_weights = report  # type: ignore[assignment]
    return report


def _shape(s: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"
