"""Block libraries: the blocks of the files a spec imports (``imports: [file]``; the DSL's ``import "file"``),
merged into its expansion. Reading the files belongs to the frontends (``frontends.read_imports``); here
their keys are checked and their definitions added, a name defined twice being a problem naming both."""

from __future__ import annotations

from typing import Any

from netspec.core.errors import Location, Problem, close_matches, did_you_mean
from netspec.core.source import PosDict
from netspec.frontends import Library, read_imports
from netspec.frontends.keys import IMPORTS_KEY, LIBRARY_KEYS, NETWORK_MARKERS, TOP_KEYS
from netspec.layers.base import all_kind_names
from netspec.spec.expand import Expander, block_definitions


def is_library(raw: Any) -> bool:
    """A block library: a spec file with ``blocks:`` (or ``imports:``) and no network."""
    return isinstance(raw, dict) and not any(k in raw for k in NETWORK_MARKERS) and \
        ("blocks" in raw or IMPORTS_KEY in raw)


class ImportingExpander(Expander):
    """The expander of a spec that imports blocks: a problem found inside an imported block (located in
    the library) also says where the spec used that block."""

    def __init__(self, blocks: dict[str, Any], file: str) -> None:
        super().__init__(blocks, file)
        self.imported: dict[str, Library] = {}
        self.unread = False  # an import could not be read: its blocks are unknown, not misspelled

    def unknown_kind(self, kind: str, where: Location | None, path: str) -> None:
        """Where an import failed (its problem is said), a name that is neither a kind nor very close to one
        is most likely one of its blocks: not a second problem (root causes only). One a letter or two from
        a kind (``dennse``) is a misspelling whatever the import holds, and is said."""
        if self.unread and not close_matches(kind, all_kind_names(), n=1, cutoff=0.8):
            return
        super().unknown_kind(kind, where, path)

    def block(self, name: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
              stack: tuple[str, ...]) -> PosDict | None:
        before = len(self.problems)
        group = super().block(name, args, where, path, env, stack)
        if name in self.imported and where is not None and where.file == self.file:
            for i in range(before, len(self.problems)):
                p = self.problems[i]
                if p.location is not None and p.location.file != self.file and " used at " not in p.message:
                    self.problems[i] = Problem(f"{p.message} (in block '{name}', used at {where})", p.location,
                                               p.path, p.hint)
        return group


def add_imports(raw: PosDict, file: str, base: str | None, exp: ImportingExpander) -> None:
    """Add the blocks of every library ``raw`` imports to ``exp.blocks``. A name defined twice (here and
    in a library, or in two libraries) is a problem naming both places: no definition overrides another,
    so that which block a name means never depends on the order of the imports."""
    libraries, problems = read_imports(raw, file, base)
    exp.problems.extend(problems)
    exp.unread = exp.unread or bool(problems)
    if not libraries:
        return
    local = raw.get("blocks")
    origins: dict[str, Location | None] = {
        name: local.where(name) if isinstance(local, PosDict) else None for name in exp.blocks}
    for lib in libraries:
        used = f"imported at {lib.where}" if lib.where is not None else "imported"
        if not isinstance(lib.raw, PosDict):
            exp.problem(f"'{lib.file}' is not a block library: a library is a mapping with 'blocks:'",
                        getattr(lib.raw, "pos", None) or Location(lib.file, 1, 1), "", f"{used}")
            continue
        for key in lib.raw:
            if key in LIBRARY_KEYS:
                continue
            where = lib.raw.where(key)
            if key in TOP_KEYS:
                exp.problem(f"'{lib.file}' is imported as a block library, which holds only blocks, but it has "
                            f"'{key}'", where, key,
                            f"{used}; a library may hold {', '.join(LIBRARY_KEYS)}: move the network into a spec "
                            "of its own that imports the library")
            else:
                hint = did_you_mean(key, LIBRARY_KEYS) if isinstance(key, str) else ""
                exp.problem(f"unknown key '{key}' in a block library", where, key,
                            hint or f"a library holds: {', '.join(LIBRARY_KEYS)}")
        for name, bdef in block_definitions(lib.raw.get("blocks"), exp).items():
            place = lib.raw["blocks"].where(name) if isinstance(lib.raw["blocks"], PosDict) else None
            if name in origins:
                first = origins[name]
                if first is not None and first.file == file:
                    exp.problem(f"block '{name}' is defined here and also in {lib.file} ({place}, {used})", first,
                                f"blocks.{name}", "rename one of them: a spec may not redefine an imported block")
                else:
                    exp.problem(f"block '{name}' is defined in {lib.file} ({place}) and also in {first}",
                                lib.where or place, f"blocks.{name}",
                                "rename one of them, or import only one of the two files")
                continue
            origins[name] = place
            exp.blocks[name] = bdef
            exp.imported[name] = lib
