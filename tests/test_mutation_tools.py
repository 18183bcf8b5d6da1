"""The mutation run's own bookkeeping (mutation/): the equivalent-mutant list and the
report's score, which leave listed mutants out only while the list is true."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutation import equivalent
from mutation.run import row

DIFF = """--- fsm_executor/journal/_index.py
+++ fsm_executor/journal/_index.py
@@ -1,2 +1,2 @@
-    rows = conn.execute("SELECT seq FROM journal")
+    rows = conn.execute("select seq from journal")
"""


def listing(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "equivalent.txt"
    path.write_text("# a comment\n\n" + "\n".join(lines) + "\n")
    return path


def test_a_mutated_line_may_hold_the_separator(tmp_path: Path) -> None:
    entries = equivalent.load(listing(
        tmp_path, "m.x_f__mutmut_2 | best: Decimal | None = '' | its first value is never read"))
    assert entries["m.x_f__mutmut_2"].line == "best: Decimal | None = ''"
    assert entries["m.x_f__mutmut_2"].why == "its first value is never read"


def test_the_checked_in_list_reads() -> None:
    entries = equivalent.load()
    assert all(e.name.startswith("fsm_executor.") and e.line and e.why
               for e in entries.values())


def test_an_entry_is_name_line_and_why(tmp_path: Path) -> None:
    entries = equivalent.load(listing(
        tmp_path, 'm.x_f__mutmut_1 | rows = conn.execute("select seq from journal") | SQL '
                  "keywords are case-insensitive"))
    assert entries == {"m.x_f__mutmut_1": equivalent.Entry(
        "m.x_f__mutmut_1", 'rows = conn.execute("select seq from journal")',
        "SQL keywords are case-insensitive")}


@pytest.mark.parametrize("line", ["m.x_f__mutmut_1 | no reason", "m.x_f__mutmut_1 |  | why",
                                  "m.x_f__mutmut_1"])
def test_an_entry_without_its_three_parts_is_refused(tmp_path: Path, line: str) -> None:
    with pytest.raises(ValueError, match="equivalent.txt:3"):
        equivalent.load(listing(tmp_path, line))


def test_a_mutant_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="listed twice"):
        equivalent.load(listing(tmp_path, "m.a | x | y", "m.a | x | z"))


def test_an_entry_is_stale_when_its_mutant_is_killed_gone_or_another(tmp_path: Path) -> None:
    entries = equivalent.load(listing(
        tmp_path,
        'm.ok | rows = conn.execute("select seq from journal") | case',
        'm.killed | rows = conn.execute("select seq from journal") | case',
        'm.gone | rows = conn.execute("select seq from journal") | case',
        "m.moved | a line it no longer changes | case",
        "other.module | anything | not run"))
    statuses = {"m.ok": "survived", "m.killed": "killed", "m.gone": "absent",
                "m.moved": "survived"}
    problems = equivalent.stale(entries, statuses.get, lambda name: DIFF)
    assert sorted(problems) == ["m.gone", "m.killed", "m.moved"]
    assert "killed" in problems["m.killed"] and "no such" in problems["m.gone"]


def test_the_score_leaves_the_equivalent_mutants_out() -> None:
    line = row("journal/_index.py", Counter(killed=18, survived=2, equivalent=5))
    assert line.split()[1:] == ["25", "18", "2", "0", "0", "5", "0", "90.0", "%"]
    assert row("x", Counter(equivalent=3)).split()[-1] == "-"


class Verdicts:
    """What the report reads of a run's verdicts."""

    modules = ["fsm_executor/journal/_index.py"]
    stale: dict[str, str] = {}

    def of(self, path: str) -> dict[str, str]:
        return {"a": "killed", "b": "killed", "c": "survived", "d": "equivalent"}


def test_the_report_ends_in_the_score_and_says_the_run_time_of_a_run_only() -> None:
    from mutation.run import report

    ran = report(Verdicts(), [], Counter(), 150.0).splitlines()  # type: ignore[arg-type]
    assert ran[-2:] == ["run time: 2.5 min",
                        "mutation score: 66.7 % (2 of 3 killed; 1 equivalent left out)"]
    # --report runs nothing: no run time to tell.
    again = report(Verdicts(), [], Counter(), 0.0).splitlines()  # type: ignore[arg-type]
    assert not [line for line in again if line.startswith("run time")]
    assert again[-1] == ran[-1] and again[1].split()[0] == "journal/_index.py"


def diff(before: str, after: str) -> str:
    return f"--- a.py\n+++ a.py\n@@ -1 +1 @@\n-{before}\n+{after}\n"


@pytest.mark.parametrize(("before", "after"), [
    ('    n = self._one("SELECT count(*) FROM orders")',
     '    n = self._one("select count(*) from orders")'),
    ('    n = self._one("SELECT count(*) FROM orders")',
     '    n = self._one("SELECT COUNT(*) FROM ORDERS")'),
    ("        \"SELECT seq FROM journal WHERE trigger = 'create' AND seq > ?\"",
     "        \"select seq from journal where trigger = 'create' and seq > ?\""),
    ('        conn.execute("COMMIT")', '        conn.execute("commit")'),
    # A CREATE TABLE's column definitions, a line of their own.
    ('        " ts REAL NOT NULL, hash TEXT NOT NULL)"',
     '        " ts real not null, hash text not null)"'),
])
def test_a_mutant_that_only_changes_the_case_of_sql_is_equivalent(
        before: str, after: str) -> None:
    assert equivalent.sql_case(diff(before, after)) is not None


@pytest.mark.parametrize(("before", "after"), [
    # A quoted SQL value is case-sensitive: 'CREATE' is no trigger the journal writes.
    ("        \"SELECT seq FROM journal WHERE trigger = 'create'\"",
     "        \"SELECT SEQ FROM JOURNAL WHERE TRIGGER = 'CREATE'\""),
    # Not SQL: an exchange's side.
    ('    side = "buy" if x else "sell"', '    side = "BUY" if x else "sell"'),
    ('    why = "amount is not null"', '    why = "AMOUNT IS NOT NULL"'),  # lower-case: words
    ('        conn.execute("ROLLBACK")', '        conn.execute("XXROLLBACKXX")'),
    ('        conn.execute("ROLLBACK")', '        conn.execute(None)'),
    ('    n = self._one("SELECT count(*) FROM orders")',
     '    n = self._one("SELECT count(*) FROM order")'),
])
def test_any_other_change_of_sql_or_of_other_text_is_not(before: str, after: str) -> None:
    assert equivalent.sql_case(diff(before, after)) is None


def test_a_mutant_of_more_than_one_line_is_not_judged_by_rule() -> None:
    two = ('--- a.py\n+++ a.py\n@@ -1,2 +1,2 @@\n-x = "SELECT a FROM t"\n-y = 1\n'
           '+x = "select a from t"\n+y = 2\n')
    assert equivalent.sql_case(two) is None


def test_each_function_keeps_its_fastest_tests_up_to_the_budget_and_one_at_least(
        tmp_path: Path) -> None:
    import json

    from mutation.run import budget_tests

    stats = tmp_path / "mutmut-stats.json"
    stats.write_text(json.dumps({
        "duration_by_test": {"t::slow": 9.0, "t::a": 1.0, "t::b": 2.0, "t::c": 2.5,
                             "t::d": 0.0},
        "tests_by_mangled_function_name": {
            "m.x_f": ["t::slow", "t::c", "t::a", "t::b", "t::d"],
            "m.x_g": ["t::slow"], "m.x_h": []},
        "stats_time": 1.0,
    }))
    assert budget_tests(stats, seconds=5.0) == (4, 6)
    kept = json.loads(stats.read_text())
    assert kept["tests_by_mangled_function_name"] == {
        "m.x_f": ["t::d", "t::a", "t::b"], "m.x_g": ["t::slow"], "m.x_h": []}
    assert kept["duration_by_test"]["t::slow"] == 9.0 and kept["stats_time"] == 1.0


def test_the_budget_counts_each_tests_own_cost_beyond_what_mutmut_measured(
        tmp_path: Path) -> None:
    import json

    from mutation.run import PER_TEST, budget_tests

    # A function every test calls, each test too quick for mutmut to measure: the budget
    # still ends (pytest's cost per test is real).
    tests = [f"t::{i:04}" for i in range(1000)]
    stats = tmp_path / "mutmut-stats.json"
    stats.write_text(json.dumps({"duration_by_test": dict.fromkeys(tests, 0.0),
                                 "tests_by_mangled_function_name": {"m.x_f": tests}}))
    kept, before = budget_tests(stats, seconds=200.5 * PER_TEST)
    assert (kept, before) == (200, 1000)


def test_every_module_mutated_has_its_own_tests_file() -> None:
    # The budget runs a module's own tests first: a name that is no file would leave its
    # mutants to the fastest tests of other modules (as journal/_file.py's were).
    from mutation._common import load_config, module_name
    from mutation.run import ROOT, test_file

    modules = load_config().modules
    assert len(modules) == 27
    for path in modules:
        assert (ROOT / test_file(module_name(path))).is_file(), path
    assert test_file("fsm_executor.journal._file") == "tests/test_journal.py"


def test_a_functions_own_module_tests_come_first_within_the_budget(tmp_path: Path) -> None:
    import json

    from mutation.run import budget_tests, own_file

    assert own_file("fsm_executor.journal._replay.xǁRebuilderǁfeed") == (
        "tests/test_replay.py::")
    assert own_file("fsm_executor.core._decide.x_observe") == "tests/test_decide.py::"
    stats = tmp_path / "mutmut-stats.json"
    mine, other = "tests/test_decide.py::test_words", "tests/test_driver.py::test_fast"
    stats.write_text(json.dumps({
        "duration_by_test": {mine: 4.4, other: 0.1, "tests/test_decide.py::test_b": 0.5},
        "tests_by_mangled_function_name": {
            "fsm_executor.core._decide.x_observe": [other, mine,
                                                    "tests/test_decide.py::test_b"]},
    }))
    budget_tests(stats, seconds=5.0)
    kept = json.loads(stats.read_text())["tests_by_mangled_function_name"]
    # The module's own tests, fastest first, before a faster test of another module
    # (which the budget then leaves out).
    assert kept == {"fsm_executor.core._decide.x_observe": [
        "tests/test_decide.py::test_b", mine]}


def test_a_mutant_mutmut_cannot_see_runs_every_test_file_its_own_and_its_callers_first(
) -> None:
    from mutation.run import IN_CHILDREN, recheck_files

    every = ["tests/test_a.py", "tests/test_diagram.py", "tests/test_driver.py",
             "tests/test_states.py", "tests/test_z.py"]
    tests_of = {"fsm_executor.core._states.x__t": ["tests/test_z.py::test_one",
                                                   "tests/test_states.py::test_two",
                                                   "tests/test_z.py::test_three"]}
    # A table compiler's mutant shows far from its module (the committed diagram): every
    # file runs, each once, the module's own first, then its callers'.
    assert recheck_files("fsm_executor.core._states.x__t", "fsm_executor/core/_states.py",
                         tests_of, every) == [
        "tests/test_states.py", "tests/test_z.py", "tests/test_a.py", "tests/test_diagram.py",
        "tests/test_driver.py"]
    # None seen calling it, and a module without its own file: every file, as they come.
    assert recheck_files("fsm_executor.core._errors.x_g", "fsm_executor/core/_nothing.py",
                         {}, every) == every
    # A function run only in a child process: the tests that start the child.
    child = next(iter(IN_CHILDREN))
    assert recheck_files(child, "fsm_executor/journal/_split.py", {}, every) == list(
        IN_CHILDREN[child])


def test_each_copy_the_table_check_leaves_out_is_a_test_pytest_collects() -> None:
    # A copy comparison renamed would no longer be left out, and count as evidence.
    import subprocess

    from mutation.tables import COPIES

    ids = [option.removeprefix("--deselect=") for option in COPIES]
    done = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-o", "addopts=",
                           *ids], capture_output=True, text=True, timeout=120, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    for node in ids:  # a function names each of its parameter sets
        assert [c for c in collected if c == node or c.startswith(f"{node}[")], node
    assert len(collected) >= len(ids)
