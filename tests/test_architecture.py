"""The design as checked rules: imports follow the pipeline, and kind names live only in layers/.

Stages, left to right (a module imports only from its own stage or stages to its left):

    core → layers → frontends → spec → ir → backends → api → editor → train → cli

Inside ``backends/`` the report, graphviz and torch backends are siblings: none imports another.
Every import counts, including those inside functions (lazy imports are still dependencies).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "netspec"
STAGES = ["core", "layers", "frontends", "spec", "ir", "backends", "api", "editor", "interop", "train", "cli"]
# Top-level modules and the stage they belong to; `__main__` is the entry point, after everything.
TOP_LEVEL = {"__init__": "api", "api": "api", "convert": "api", "__main__": "__main__"}
MAX_TOP_LEVEL = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(path: Path, name: str) -> set[str]:
    """netspec modules imported anywhere in the file (module-level or inside functions)."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "netspec")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "netspec":
                continue
            if mod != name:  # a package importing its own submodules names itself
                out.add(mod)
            # `from netspec.layers import conv` imports the module netspec.layers.conv
            out.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in _modules())
    return {m for m in out if m in _modules()}


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    if parts[1] in TOP_LEVEL:
        return TOP_LEVEL[parts[1]]
    return parts[1]


def _rank(stage: str) -> int:
    return len(STAGES) if stage == "__main__" else STAGES.index(stage)


def _backend(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "backends" else None


GRAPH = {m: _imports(p, m) for m, p in _modules().items()}


def test_every_module_is_in_a_known_stage():
    unknown = sorted(m for m in GRAPH if _stage(m) not in STAGES and _stage(m) != "__main__")
    assert not unknown, f"modules outside the pipeline's folders: {unknown}"


def test_few_loose_modules_at_the_top():
    loose = sorted(p.name for p in PKG.glob("*.py"))
    assert len(loose) <= MAX_TOP_LEVEL, loose
    assert set(p.stem for p in PKG.glob("*.py")) <= set(TOP_LEVEL), loose


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_left(module: str):
    rank = _rank(_stage(module))
    wrong = sorted(dep for dep in GRAPH[module] if _rank(_stage(dep)) > rank)
    assert not wrong, f"{module} ({_stage(module)}) imports from stages to its right: {wrong}"
    mine = _backend(module)
    sideways = sorted(d for d in GRAPH[module] if _backend(d) and mine and _backend(d) != mine)
    assert not sideways, f"{module} imports a sibling backend: {sideways}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph (package __init__s included,
    except that a package importing its own submodules is not a cycle with them)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def edges(m: str) -> set[str]:
        # importing netspec.a.b runs netspec.a's __init__ too, but that is the package's business,
        # not an edge of this module; the edges are the modules named.
        return GRAPH[m]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in GRAPH[v]:
                cycles.append(sorted(comp))

    for m in GRAPH:
        if m not in index:
            visit(m)
    assert not cycles, f"import cycles: {cycles}"


def test_no_reexport_modules():
    """A module whose only content is imports (plus a docstring and __all__) exists only to re-export."""
    shims = []
    for m, p in _modules().items():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        if not body or m.endswith("__main__"):
            continue
        reexports = all(isinstance(n, (ast.Import, ast.ImportFrom)) or
                        (isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets))
                        for n in body)
        if reexports and p.name != "__init__.py":
            shims.append(m)
        elif reexports and any(isinstance(n, ast.ImportFrom) and n.module and n.module != "__future__"
                               and not n.module.startswith(m) for n in body):
            shims.append(m)  # a package __init__ may import its own submodules, not others' names
    assert not shims, f"modules that only re-export names: {shims}"


# --- kind names live in the layers package -------------------------------------------------------
# A consumer reads properties from the IR (family, activation, states, glyph, topology), never kind
# names. Docstrings are not code. Words that name something else in another vocabulary of the
# project are not kind tests, and are taken from their sources rather than listed here: family names
# (``conv``, ``dense``), the `train:` section's task/optimizer/schedule/loss/data names (``rbm`` the
# task, ``step`` the schedule) and the DSL's keywords (``block``, ``repeat``).


ALLOWED = {
    ("netspec.backends.report.report", "group"),  # the JSON contract's field: the node's enclosing group
    ("netspec.train.loop", "sample"),  # the progress bar's unit (tqdm's `unit="sample"`), English
    ("netspec.train.api", "split"),  # the evaluation result's field: which data split was evaluated
    ("netspec.cli.train", "split"),  # the same field, printed
    ("netspec.interop.onnx_import", "linear"),  # ONNX Resize's mode attribute (bilinear on 2-D maps)
}


def _kind_names() -> set[str]:
    from netspec.frontends.dsl.grammar import KEYWORDS
    from netspec.layers import layer_kinds
    from netspec.layers.base import all_kind_names
    from netspec.spec import train

    other = {cls.FAMILY for cls in layer_kinds().values()} | set(KEYWORDS)
    other |= {*train.TASKS, *train.OPTIMIZERS, *train.SCHEDULES, *train.LOSSES, *train.DATASETS}
    return set(all_kind_names()) - other


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _stage(m) != "layers"))
def test_no_kind_name_outside_layers(module: str):
    kinds = _kind_names()
    found = sorted({(line, s) for line, s in _string_literals(_modules()[module])
                    if s in kinds and (module, s) not in ALLOWED})
    assert not found, (f"{module} spells layer kind names as strings (read a property from the IR or the "
                       f"layer class instead): {found}")


def test_kind_name_rule_can_fail(tmp_path: Path):
    """The scanner itself finds a kind name in code (and ignores it in a docstring)."""
    f = tmp_path / "m.py"
    f.write_text('"""conv2d in a docstring."""\nif kind == "lstm":\n    pass\n')
    assert [s for _, s in _string_literals(f)] == ["lstm"]
    assert re.match(r"netspec\.", "netspec.x")


def test_tests_mirror_the_package_tree():
    """tests/<stage>/... holds the tests of netspec/<stage>/...; cross-cutting tests stay at the top."""
    tests = ROOT / "tests"
    for folder in sorted(p for p in tests.rglob("*") if p.is_dir() and p.name != "__pycache__"):
        rel = folder.relative_to(tests)
        assert (PKG / rel).is_dir(), f"tests/{rel} has no netspec/{rel} to mirror"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _stage(m) not in ("layers", "ir")
                                          and _backend(m) != "torch"))
def test_only_the_torch_backend_reads_the_layer_objects(module: str):
    """The IR is closed: a node carries what its consumers need; `Node.layer` is there for `build` only."""
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    reads = sorted(n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "layer")
    assert not reads, f"{module} reads `.layer` at lines {reads}: read a property of the IR node instead"
