"""The package's layers, checked from the source: the decision core (``core/``) and the
journal (``journal/``) speak their own vocabulary and import neither ccxt nor the exchange
edge (so they are driven by generated answers, and reading a journal never needs ccxt), the
core does no I/O, a part imports only the parts below it, and no circle of imports runs
between modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "fsm_executor"

#: The parts, bottom up: a part may import the ones before it, never one after it.
PARTS = ("core", "journal", "exchange", "executors", "venue", "cli")

Graph = dict[str, tuple[set[str], set[str]]]


def part_modules(part: str) -> set[str]:
    return {f"{part}.{p.stem}" for p in (PACKAGE / part).glob("_*.py")
            if p.stem != "__init__"}


#: Decisions and the order's vocabulary: no I/O, no ccxt.
CORE = part_modules("core")
#: The journal and what reads it.
JOURNAL = part_modules("journal")
#: Where ccxt is spoken: only these modules (and the executors, the venue and the CLI
#: above them) may reach it.
EDGE = part_modules("exchange")


def imports(module: str) -> tuple[set[str], set[str]]:
    """(package modules as "part._name", outside top-level packages) that ``module``
    imports when it is imported: ``if TYPE_CHECKING:`` blocks and imports inside functions
    do not count."""
    part = module.split(".")[0]
    tree = ast.parse((PACKAGE / f"{module.replace('.', '/')}.py").read_text())
    inner, outer = set(), set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if isinstance(node, ast.Try | ast.If) else [node]:
            if isinstance(child, ast.ImportFrom):
                if child.level == 1 and child.module:  # from ._x import ...
                    inner.add(f"{part}.{child.module}")
                elif child.level == 1:  # from . import _x as y
                    inner.update(f"{part}.{a.name}" for a in child.names)
                elif child.level == 2 and child.module:  # from ..other._x import ...
                    inner.add(child.module)
                elif child.module and child.module.split(".")[0] != "__future__":
                    outer.add(child.module.split(".")[0])
            elif isinstance(child, ast.Import):
                outer.update(a.name.split(".")[0] for a in child.names)
    return inner, outer


MODULES = sorted(m for part in PARTS for m in part_modules(part))
GRAPH: Graph = {m: imports(m) for m in MODULES}


def reach(module: str, graph: Graph = GRAPH) -> tuple[set[str], set[str]]:
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


def circles(graph: Graph) -> list[str]:
    """The modules that import themselves, through others."""
    return [m for m in sorted(graph) if m in reach(m, graph)[0]]


def test_every_module_lives_in_a_part() -> None:
    assert [p.name for p in PACKAGE.glob("_*.py")] == ["__init__.py"]
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert parts == set(PARTS)
    assert len(CORE) > 10 and len(JOURNAL) > 4 and len(EDGE) >= 3
    assert set(GRAPH) == {m for inner, _ in GRAPH.values() for m in inner} | set(GRAPH)


@pytest.mark.parametrize("module", MODULES)
def test_a_part_imports_only_the_parts_below_it(module: str) -> None:
    rank = PARTS.index(module.split(".")[0])
    above = {m for m in GRAPH[module][0] if PARTS.index(m.split(".")[0]) > rank}
    assert not above, f"{module} imports {sorted(above)}, above it"


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


def test_no_circle_of_imports_at_import_time() -> None:
    assert circles(GRAPH) == []


def test_the_checker_sees_an_import_and_a_circle() -> None:
    # The decisions import the ledger; the executor imports ccxt through the edge.
    assert "core._ledger" in reach("core._decide")[0]
    assert "ccxt" in reach("executors._executor")[1]
    looped: Graph = {"a._a": ({"a._b"}, set()), "a._b": ({"a._c"}, set()),
                     "a._c": ({"a._a"}, {"ccxt"})}
    assert circles(looped) == ["a._a", "a._b", "a._c"]
    assert reach("a._a", looped)[1] == {"ccxt"}


READING = """
import sys
from fsm_executor import audit, replay
from fsm_executor.cli._cli import main

assert replay(sys.argv[1])["c1"].state.value == "pending_submit"
assert audit(sys.argv[1]).ok
assert main(["audit", sys.argv[1]]) == 0
for command in (["orders"], ["export"], ["export", "--what", "fills"], ["replay"]):
    assert main([*command[:1], sys.argv[1], *command[1:]]) == 0
assert main(["diagram", "--check", "--out", sys.argv[2]]) == 0
heavy = ("ccxt", "sqlite_utils", "aiohttp", "requests")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or ".executors." in m))
"""


def test_reading_a_journal_and_its_commands_never_import_ccxt(tmp_path: Path) -> None:
    # ccxt's import is a quarter of a second, sqlite-utils' 60 ms: a process that only
    # reads a journal (the command line's audit, an auditor's script) must pay neither.
    from fsm_executor import OrderBook, OrderSpec, Submit

    with OrderBook.open(tmp_path / "j.db") as book:
        book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("c1", Submit())
    done = subprocess.run([sys.executable, "-c", READING, str(tmp_path / "j.db"),
                           str(PACKAGE.parent / "diagrams")],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    # ... while the executors, named from the package, still import it when first used.
    import fsm_executor

    assert fsm_executor.TradeExecutor.__module__ == "fsm_executor.executors._executor"


#: What a reading command does not need, and so must not import: every second of its start-up
#: is the user's (benchmarks/bench_history.py measures it against the bare interpreter). A
#: name covers its submodules.
NOT_READING = (
    "ccxt", "sqlite_utils", "aiohttp", "requests", "rich",
    # The machine is built by diagram only; resolve walks a lookup compiled from the table.
    "transitions",
    # Only a writer (its lock's holder), a CSV export or a new file needs it. (Not uuid:
    # orjson, replay's decoder, imports it as it loads; 1 ms of a replay's start-up with it,
    # against 0.3 µs a row of decoding saved.)
    "socket",
    # argparse's formatter asks shutil for the width; the command line asks os (_cli.py).
    "shutil",
    # Trading: the executors, the exchange edge, the paper venue, their configuration and
    # decisions, the order book that journals before it changes an order, and the archive.
    "fsm_executor.executors", "fsm_executor.exchange", "fsm_executor.venue",
    "fsm_executor.core._config", "fsm_executor.core._signal", "fsm_executor.core._clock",
    "fsm_executor.core._decide", "fsm_executor.core._driver", "fsm_executor.core._asking",
    "fsm_executor.core._profiles", "fsm_executor.journal._book",
    "fsm_executor.journal._archive", "fsm_executor.cli._run", "fsm_executor.cli._venue_cli",
    "fsm_executor.cli._archive", "fsm_executor.cli._diagram",
)
#: What each reading command must not import, beyond NOT_READING.
NOT_NEEDED = {
    "audit": ("csv", "fsm_executor.cli._orders"),
    # hashlib (OpenSSL's hashes, 3 ms): only a reading that checks the chain takes a hash.
    "orders": ("csv", "fsm_executor.journal._audit", "hashlib"),
    "export": ("fsm_executor.journal._audit", "hashlib"),
    "replay": ("csv", "fsm_executor.journal._audit", "hashlib"),
}
#: diagram draws the table: no journal, no order, no event.
NOT_DIAGRAM = (
    "ccxt", "sqlite_utils", "fsm_executor.journal", "fsm_executor.executors",
    "fsm_executor.exchange", "fsm_executor.venue", "fsm_executor.core._events",
    "fsm_executor.core._fill", "fsm_executor.core._model", "fsm_executor.core._ledger",
    "fsm_executor.core._lifecycle", "fsm_executor.core._config", "fsm_executor.cli._orders",
    "fsm_executor.cli._run",
)

COMMAND = """
import sys
from fsm_executor.cli._cli import main

code = main(sys.argv[1:])
print()
print(code, *sorted(sys.modules))
"""


def imported_by(command: list[str]) -> tuple[int, set[str]]:
    """The exit status of ``fsm-executor COMMAND`` run in a fresh process, and every module
    that process imported."""
    done = subprocess.run([sys.executable, "-c", COMMAND, *command], capture_output=True,
                          text=True, check=False, timeout=120)
    code, *modules = done.stdout.splitlines()[-1].split()
    return int(code), set(modules)


def among(modules: set[str], names: Iterable[str]) -> list[str]:
    """The ``names`` that ``modules`` holds, as themselves or through a submodule."""
    return sorted(n for n in names if any(m == n or m.startswith(f"{n}.") for m in modules))


@pytest.mark.parametrize("command", sorted(NOT_NEEDED))
def test_a_reading_command_imports_only_what_it_needs(command: str, tmp_path: Path) -> None:
    from fsm_executor import OrderBook, OrderSpec, Submit

    with OrderBook.open(tmp_path / "j.db") as book:
        book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("c1", Submit())
    code, modules = imported_by([command, str(tmp_path / "j.db")])
    assert code == 0
    assert "fsm_executor.journal._replay" in modules  # it did read the journal
    assert among(modules, (*NOT_READING, *NOT_NEEDED[command])) == []


def test_one_orders_timeline_is_read_without_sqlite_utils(tmp_path: Path) -> None:
    from fsm_executor import OrderBook, OrderSpec, Submit

    with OrderBook.open(tmp_path / "j.db") as book:
        book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("c1", Submit())
    code, modules = imported_by(["audit", str(tmp_path / "j.db"), "--order", "c1"])
    assert code == 0
    assert among(modules, NOT_READING) == []


def test_diagram_imports_neither_the_journal_nor_the_order_model_nor_asyncio() -> None:
    code, modules = imported_by(["diagram", "--check", "--out", str(PACKAGE.parent / "diagrams")])
    assert code == 0
    assert "fsm_executor.cli._diagram" in modules  # it did draw the machine
    # Mermaid is written by _diagram itself: transitions.extensions loads asyncio and ssl.
    assert among(modules, (*NOT_DIAGRAM, "transitions.extensions", "asyncio", "ssl")) == []


def test_the_import_checker_sees_a_module_and_its_submodules() -> None:
    assert among({"fsm_executor.venue._paper", "csv"}, ("fsm_executor.venue", "csv", "uuid")) == [
        "csv", "fsm_executor.venue"]
    assert among({"transitions_extra"}, ("transitions",)) == []
