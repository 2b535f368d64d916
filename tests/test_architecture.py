"""The layout rules of docs/architecture.md: one op family, one place; no import cycle; no
module over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import edgegen
from edgegen import ops
from edgegen.ir import Op
from edgegen.program import Call
from edgegen.resources import templates_dir
from edgegen.tflite_reader import SUPPORTED_OPS
from tests.support.opmodels import FAMILIES

PACKAGE = Path(edgegen.__file__).resolve().parent
MAX_LINES = 500
#: builtins proven by other tests than a converter-made generator: TFLM has no RELU_N1_TO_1
#: kernel (tests/test_fixedpoint.py follows TFLite's), and the converter never writes PADV2
#: (tests/test_reader.py reads one), nor SVDF from Keras (tests/test_ops_svdf.py builds them by hand)
NOT_CONVERTER_MADE = {"RELU_N1_TO_1", "PADV2", "SVDF"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """edgegen modules ``name`` imports, at module level or inside functions (an import under
    ``if TYPE_CHECKING:`` is not one: it never runs)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                for alias in child.names:
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if sub in modules else mod)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_over_500_lines() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


@pytest.mark.parametrize("module, family", ops.families(), ids=[m for m, _f in ops.families()])
def test_op_family_provides_every_piece(module: str, family: ops.OpFamily) -> None:
    assert family.builders, f"{module}: no reader"
    assert family.lowerers and all(issubclass(t, Op) for t in family.lowerers), f"{module}: no lowering"
    for builtin in family.options:
        assert builtin in family.builders, f"{module}: options for {builtin}, which it does not read"
    for builtin in family.required_options:
        assert builtin in family.options, f"{module}: required options of {builtin} without their type"
    for call_type in family.kernels:
        assert issubclass(call_type, Call)
        assert (templates_dir() / "calls" / f"{call_type.KIND}.c.j2").is_file(), f"{module}: no template"
    tested = {b for f in FAMILIES.values() for group in (f.builtins, *f.also, f.each) for b in group}
    untested = set(family.builders) - tested - NOT_CONVERTER_MADE
    assert not untested, f"{module}: no test generator in tests/support/opmodels.py for {sorted(untested)}"


def test_every_call_kind_has_a_kernel_and_template() -> None:
    """Every Call subclass an op module defines is simulated and rendered, and a call that checks
    its scratch size has that template too."""
    kinds = {t for _m, f in ops.families() for t in f.kernels}
    defined = set()
    for _m, family in ops.families():
        for lower in family.lowerers.values():
            module = __import__(lower.__module__, fromlist=["_"])
            defined |= {v for v in vars(module).values()
                        if isinstance(v, type) and issubclass(v, Call) and v is not Call
                        and v.__module__ == module.__name__}
    assert defined <= kinds, sorted(t.__name__ for t in defined - kinds)
    for t in kinds:
        if t.checks_scratch is not Call.checks_scratch:
            assert (templates_dir() / "calls" / f"{t.KIND}.scratch.j2").is_file(), t.KIND


def test_supported_ops_are_the_families_builtins() -> None:
    union = sorted(b for _m, f in ops.families() for b in f.builders)
    assert len(union) == len(set(union)), "a builtin is read by two families"
    assert list(SUPPORTED_OPS) == union
