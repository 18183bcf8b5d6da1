"""The package's layers, checked from the source: the decision core and the journal speak
their own vocabulary and import neither ccxt nor the exchange edge (so they are driven by
generated answers, and reading a journal never needs ccxt), and no circle of imports runs
between modules at import time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "fsm_executor"

#: Decisions and the order's vocabulary: no I/O, no ccxt.
CORE = {"_states", "_machine", "_model", "_events", "_lifecycle", "_decide", "_ledger",
        "_memory", "_answers", "_config", "_signal", "_exceptions", "_clock", "_profiles"}
#: The journal and what reads it.
JOURNAL = {"_journal", "_replay", "_audit", "_book", "_lock", "_sqlite_file"}
#: Where ccxt is spoken: only these modules (and the venue, the CLI, the executors above
#: them) may reach it.
EDGE = {"_exchange", "_errors", "_ccxt_shapes"}


def imports(module: str) -> tuple[set[str], set[str]]:
    """(package modules, outside top-level packages) that ``module`` imports when it is
    imported: ``if TYPE_CHECKING:`` blocks and imports inside functions do not count."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    inner, outer = set(), set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if isinstance(node, ast.Try | ast.If) else [node]:
            if isinstance(child, ast.ImportFrom):
                if child.level == 1 and child.module:
                    inner.add(child.module)
                elif child.level == 1:  # from . import _module as name
                    inner.update(a.name for a in child.names)
                elif child.module and child.module.split(".")[0] != "__future__":
                    outer.add(child.module.split(".")[0])
            elif isinstance(child, ast.Import):
                outer.update(a.name.split(".")[0] for a in child.names)
    return inner, outer


MODULES = sorted(p.stem for p in PACKAGE.glob("_*.py") if p.stem != "__init__")
GRAPH = {m: imports(m) for m in MODULES}


def reach(module: str, graph: dict[str, tuple[set[str], set[str]]] = GRAPH
          ) -> tuple[set[str], set[str]]:
    """Everything ``module`` imports, directly or not."""
    seen, outside, todo = set(), set(), [module]
    while todo:
        current = todo.pop()
        inner, outer = graph[current]
        outside |= outer
        for name in inner - seen:
            seen.add(name)
            todo.append(name)
    return seen, outside


def test_the_layers_name_real_modules() -> None:
    assert set(MODULES) >= CORE | JOURNAL | EDGE


@pytest.mark.parametrize("module", sorted(CORE | JOURNAL))
def test_the_core_and_the_journal_reach_neither_ccxt_nor_the_exchange_edge(module: str) -> None:
    inner, outer = reach(module)
    assert "ccxt" not in outer, f"{module} imports ccxt (through {sorted(inner & EDGE)})"
    assert not inner & EDGE, f"{module} imports the exchange edge: {sorted(inner & EDGE)}"


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_does_no_io(module: str) -> None:
    inner, outer = reach(module)
    assert not inner & JOURNAL, f"{module} reaches the journal: {sorted(inner & JOURNAL)}"
    assert not outer & {"sqlite3", "sqlite_utils", "socket", "http", "urllib", "subprocess"}


def circles(graph: dict[str, tuple[set[str], set[str]]]) -> list[str]:
    """The modules that import themselves, through others."""
    return [m for m in sorted(graph) if m in reach(m, graph)[0]]


def test_no_circle_of_imports_at_import_time() -> None:
    assert circles(GRAPH) == []


def test_the_checker_sees_an_import_and_a_circle() -> None:
    # The decisions import the ledger; the executor imports ccxt through the edge.
    assert "_ledger" in reach("_decide")[0]
    assert "ccxt" in reach("_executor")[1]
    looped = {"_a": ({"_b"}, set()), "_b": ({"_c"}, set()), "_c": ({"_a"}, {"ccxt"})}
    assert circles(looped) == ["_a", "_b", "_c"]
    assert reach("_a", looped)[1] == {"ccxt"}
