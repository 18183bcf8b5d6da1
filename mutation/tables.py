"""The table mutation check: the data mutmut does not mutate, row by row.

    python -m mutation.tables [--jobs N] [TABLE ...]

mutmut mutates code inside functions; the transition table (core/_states.py
``TRANSITIONS``), the error-kind table (exchange/_errors.py ``CCXT_KINDS``) and the exchange
profiles (core/_profiles.py ``PROFILES`` and ``DEFAULT``) are module-level data, so nothing
says whether a test would notice a row gone or wrong. Each mutation below is applied to the
module's source in a copy of the repository, and tests run in a fresh interpreter there:

- transitions: each row removed; its destination moved to the next state in ``State``'s
  order (an internal row's to ``created``); its ``when``/``unless`` condition dropped; a
  legacy row made current.
- error kinds: each class's row removed (it then takes its nearest named ancestor's kind);
  its kind moved to the next in ``Kind``'s order.
- profiles: each profile removed (its exchange then gets DEFAULT); in each profile (DEFAULT
  too) each fact changed once: ``uniqueness`` to or from FOREVER (which decides whether a
  lost create is re-sent), ``lookup`` and ``listings_need_symbol`` flipped, no visibility
  grace, half the lookup window, one character less of id, the other id alphabet, a param
  emptied (or given), each duplicate and unprocessed answer removed, the echo prefix dropped.

A mutation is killed when a test fails. Each runs the table's tests (``Table.tests``), not
the whole suite: a survivor would cost most of a suite run, and most survivors are rows no
test can reach (a ccxt class no test raises). The subsets were measured against the whole
selection (``--everywhere``: what they let through runs against every test): on 2026-12-01
that took 4 min for the transitions and 3 h 20 min for the other two tables on 2 loaded
cores, and found 15 of the 273 mutations killed only outside them; the files that killed
those were added, so at that commit the subsets killed what the whole selection killed.
Not counted: tests that compare a table with a committed copy of itself (the diagrams, the
README's profile table), which fail at any change and so say nothing about behaviour.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

from mutation._common import ROOT, Config, Verdict, child_env, load_config, run_pytest


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    #: The test files run first: those that exercise what the table decides.
    tests: tuple[str, ...]


TABLES = (
    Table("transitions", "fsm_executor/core/_states.py",
          ("tests/test_states.py", "tests/test_machine.py", "tests/test_lifecycle.py",
           "tests/test_events.py", "tests/test_book.py", "tests/test_replay.py",
           "tests/test_audit.py", "tests/test_driver.py", "tests/test_decision_memory.py",
           "tests/test_async_executor.py", "tests/test_ledger.py")),
    Table("error kinds", "fsm_executor/exchange/_errors.py",
          ("tests/test_errors.py", "tests/test_exchange.py", "tests/test_rate_limit.py",
           "tests/test_clock_skew.py", "tests/test_decide.py", "tests/test_driver.py",
           "tests/test_profiles.py", "tests/test_placement_http.py",
           "tests/test_venue_cli.py")),
    Table("profiles", "fsm_executor/core/_profiles.py",
          ("tests/test_profiles.py", "tests/test_profiles_ccxt.py", "tests/test_decide.py",
           "tests/test_driver.py",
           "tests/test_decision_memory.py", "tests/test_exchange.py",
           "tests/test_clock_skew.py", "tests/test_placement_truth.py",
           "tests/test_paper_manners.py", "tests/test_recovery.py",
           "tests/test_executor_scenarios.py")),
)

#: Tests that compare a table with a committed copy of itself: not evidence (see above).
COPIES = (
    "--deselect=tests/test_diagram.py::test_committed_diagram_is_what_the_table_generates",
    "--deselect=tests/test_diagram.py::test_diagram_check_passes_on_the_committed_files",
    "--deselect=tests/test_profiles.py::test_the_readme_shows_the_profiles_as_they_are",
    "--deselect=tests/test_cli_exits.py::"
    "test_the_program_exits_with_mains_status_its_objects_frozen_for_the_exit[diagram-check]",
)
#: What a copy of the repository needs for the tests to run.
COPIED = ("fsm_executor", "tests", "pyproject.toml", "README.md", "docs", "diagrams",
          "examples")


@dataclass(frozen=True)
class Mutation:
    table: str
    row: str
    change: str
    path: str
    source: str


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    verdict: Verdict
    #: Whether the table's own tests killed it (else every selected test was run).
    by_subset: bool


class Source:
    """A module's text and its syntax tree, and the text with one node replaced."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.tree = ast.parse(text)
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.expr) -> tuple[int, int]:
        # ast's columns count UTF-8 bytes: so do these offsets.
        assert node.end_lineno is not None and node.end_col_offset is not None
        return (self.starts[node.lineno - 1] + node.col_offset,
                self.starts[node.end_lineno - 1] + node.end_col_offset)

    def text(self, node: ast.expr) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode()

    def replace(self, node: ast.expr, new: str) -> str:
        start, end = self.span(node)
        mutated = (self.data[:start] + new.encode() + self.data[end:]).decode()
        ast.parse(mutated)  # a mutation of ours must still be Python
        return mutated

    def without(self, container: ast.Tuple | ast.Dict, index: int) -> str:
        """The text with ``container`` lacking its ``index``-th element."""
        if isinstance(container, ast.Dict):
            items = [f"{self.text(k)}: {self.text(v)}" for i, (k, v)
                     in enumerate(zip(container.keys, container.values, strict=True))
                     if i != index and k is not None]
            return self.replace(container, "{" + ", ".join(items) + "}")
        kept = [self.text(e) for i, e in enumerate(container.elts) if i != index]
        return self.replace(container, "(" + ", ".join(kept) + ("," if len(kept) == 1 else "")
                            + ")")

    def assigned(self, name: str) -> ast.expr:
        """The value assigned to the module-level ``name``."""
        for node in self.tree.body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return node.value
        raise LookupError(name)


def label(source: Source, node: ast.expr) -> str:
    try:
        return str(ast.literal_eval(node))
    except ValueError:
        return source.text(node)


def transition_mutations(table: Table, source: Source) -> Iterator[Mutation]:
    from fsm_executor.core._states import State

    states = list(State)
    rows = source.assigned("TRANSITIONS")
    assert isinstance(rows, ast.Tuple)
    for index, call in enumerate(rows.elts):
        assert isinstance(call, ast.Call)
        dest = call.args[2]
        state = State[dest.attr] if isinstance(dest, ast.Attribute) else None
        keywords = {k.arg: k.value for k in call.keywords}
        row = (f"{label(source, call.args[0])}: {label(source, call.args[1])} -> "
               f"{state.value if state else '(internal)'}"
               + "".join(f" {k}={label(source, v)}" for k, v in keywords.items()))

        def mutation(change: str, text: str, row: str = row) -> Mutation:
            return Mutation(table.name, row, change, table.path, text)

        yield mutation("removed", source.without(rows, index))
        moved = states[(states.index(state) + 1) % len(states)] if state else states[0]
        yield mutation(f"dest -> {moved.value}", source.replace(dest, f"S.{moved.name}"))
        for name in ("when", "unless"):
            if name in keywords:
                yield mutation(f"{name} dropped", source.replace(keywords[name], '""'))
        if "legacy" in keywords:
            yield mutation("legacy -> current", source.replace(keywords["legacy"], "False"))


def error_kind_mutations(table: Table, source: Source) -> Iterator[Mutation]:
    from fsm_executor.core._answers import Kind

    kinds = list(Kind)
    rows = source.assigned("CCXT_KINDS")
    assert isinstance(rows, ast.Dict)
    for index, (key, value) in enumerate(zip(rows.keys, rows.values, strict=True)):
        assert key is not None and isinstance(value, ast.Attribute)
        kind = Kind[value.attr]
        row = f"{label(source, key)}: {kind.value}"
        yield Mutation(table.name, row, "removed", table.path, source.without(rows, index))
        moved = kinds[(kinds.index(kind) + 1) % len(kinds)]
        yield Mutation(table.name, row, f"kind -> {moved.value}", table.path,
                       source.replace(value, f"K.{moved.name}"))


def _changed(field: str, text: str) -> str | None:
    """One changed value for a profile's ``field`` (its source ``text``), or None."""
    flips = {"Uniqueness.FOREVER": "Uniqueness.OPEN", "LookupBy.FETCH_ORDER": "LookupBy.LISTINGS",
             "LookupBy.LISTINGS": "LookupBy.FETCH_ORDER", "True": "False", "False": "True"}
    match field:
        case "uniqueness":
            return flips.get(text, "Uniqueness.FOREVER")
        case "lookup" | "listings_need_symbol":
            return flips[text]
        case "visibility_grace_seconds":
            return "0.0"
        case "lookup_window_seconds":
            return f"({text}) / 2"
        case "client_id_max_length":
            return f"{text} - 1"
        case "client_id_alphabet":
            return "_ALNUM_DASH" if text == "_ALNUM" else "_ALNUM"
        case "client_id_param" | "lookup_param":
            return '"clientOrderId"' if text == '""' else '""'
        case "client_id_echo_prefix":
            return '""'
    return None


def profile_mutations(table: Table, source: Source) -> Iterator[Mutation]:
    profiles = source.assigned("PROFILES")
    assert isinstance(profiles, ast.DictComp)
    listed = profiles.generators[0].iter
    assert isinstance(listed, ast.Tuple)
    calls = [(None, source.assigned("DEFAULT")), *enumerate(listed.elts)]
    for index, call in calls:
        assert isinstance(call, ast.Call)
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        row = label(source, keywords["id"])
        if index is not None:
            yield Mutation(table.name, row, "removed", table.path, source.without(listed, index))
        for field, value in keywords.items():
            text = source.text(value)
            if field in ("duplicate_answers", "unprocessed_answers"):
                assert isinstance(value, ast.Tuple)
                for i, answer in enumerate(value.elts):
                    yield Mutation(table.name, row, f"{field} without {source.text(answer)}",
                                   table.path, source.without(value, i))
            elif (new := _changed(field, text)) is not None:
                yield Mutation(table.name, row, f"{field} {text} -> {new}", table.path,
                               source.replace(value, new))


def mutations(table: Table) -> list[Mutation]:
    source = Source((ROOT / table.path).read_text())
    make = {"transitions": transition_mutations, "error kinds": error_kind_mutations,
            "profiles": profile_mutations}[table.name]
    return list(make(table, source))


def copy_repository(into: Path) -> Path:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, into / name)
    return into


def check(config: Config, chosen: list[Table], jobs: int,
          everywhere: bool = False) -> list[Outcome]:
    """Every mutation of the ``chosen`` tables, ``jobs`` at a time, each in its own copy.
    ``everywhere``: a mutation the table's tests let through runs against every selected
    test too (how the subsets were chosen; slow: most of a full suite per survivor)."""
    if not chosen:
        return []
    todo = [m for t in chosen for m in mutations(t)]
    subsets = {t.name: list(t.tests) for t in chosen}
    print(f"table mutation check: {len(todo)} mutations of {len(chosen)} tables", flush=True)
    with tempfile.TemporaryDirectory(prefix="fsm-tables-") as tmp:
        copies: Queue[Path] = Queue()
        for i in range(jobs):
            copies.put(copy_repository(Path(tmp) / str(i)))
        # Written fresh each time: no bytecode, which a same-size edit within the same
        # second would leave stale.
        env = child_env(PYTHONDONTWRITEBYTECODE="1")
        everything = [*config.test_files(), *config.options, *COPIES]
        timeout = 1800.0

        def unmutated(table: Table) -> None:
            clean = run_pytest([*table.tests, *config.options, *COPIES], ROOT, env, timeout)
            if clean.status != "survived":
                sys.exit(f"table check: {table.name}'s tests fail unmutated: {clean.by}")

        def run(mutation: Mutation) -> Outcome:
            copy = copies.get()
            try:
                target = copy / mutation.path
                target.write_text(mutation.source)
                try:
                    args = [*subsets[mutation.table], *config.options, *COPIES]
                    verdict = run_pytest(args, copy, env, timeout)
                    if verdict.status == "survived" and everywhere:
                        return Outcome(mutation, run_pytest(everything, copy, env, timeout),
                                       False)
                    return Outcome(mutation, verdict, True)
                finally:
                    shutil.copy2(ROOT / mutation.path, target)
            finally:
                copies.put(copy)

        outcomes: list[Outcome] = []
        start = shown = time.monotonic()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(unmutated, chosen))
            for outcome in pool.map(run, todo):
                outcomes.append(outcome)
                if time.monotonic() - shown >= 60:  # a line a minute
                    shown = time.monotonic()
                    print(f"table mutation check: {len(outcomes)} of {len(todo)} run "
                          f"({(shown - start) / 60:.0f} min)", flush=True)
        return outcomes


def by_table(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.mutation.table, []).append(outcome)
    return grouped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="*", metavar="TABLE",
                        help="transitions, 'error kinds', profiles (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--everywhere", action="store_true",
                        help="run what the table's tests let through against every test")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tables) - {t.name for t in TABLES})
    if unknown:
        parser.error(f"no such table: {', '.join(unknown)}")
    chosen = [t for t in TABLES if not args.tables or t.name in args.tables]
    outcomes = check(load_config(), chosen, args.jobs, args.everywhere)
    for table, rows in by_table(outcomes).items():
        killed = sum(o.verdict.status == "killed" for o in rows)
        print(f"\n{table}: {killed} of {len(rows)} mutations killed")
        for o in rows:
            by = o.verdict.by if o.by_subset else f"{o.verdict.by} (outside the subset)"
            print(f"  {o.verdict.status:<9} {o.mutation.row}: {o.mutation.change}"
                  + (f"  [{by}]" if o.verdict.status == "killed" else ""))
    return 0 if all(o.verdict.status == "killed" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
