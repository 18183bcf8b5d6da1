"""``make mutate``: mutmut over the core, the table mutation check, and one report.

    python -m mutation.run [--jobs N] [--again | --recheck | --report] [--no-tables] [PATH ...]

PATHs (``fsm_executor/core/_machine.py`` ...) restrict the run to those modules, among
``[tool.mutmut] only_mutate`` in pyproject.toml (the core); the tables of the modules run
are checked too (mutation/tables.py), unless ``--no-tables``. A run starts from an empty
``mutants/`` (mutmut's cache would keep a survivor's verdict when only the tests changed),
unless ``--again``: then the last run's killed mutants keep their verdict and every other
one is tested again, so a run cut short goes on and new tests meet the survivors. The
report ends in mutants/report.txt, each surviving mutant with its diff in
mutants/survivors.txt; ``mutmut show NAME`` and ``mutmut browse`` read the same verdicts.

Each mutant runs the fastest tests that call its function, ``TEST_SECONDS`` of them at most
(``budget_tests``): mutmut's own choice, every test that calls it, made a survivor cost the
whole suite. Functions that run while the tests are imported and collected (the table compilers of
core/_machine.py, ``_t`` in core/_states.py, converters called by test constants) and a
module's ``__getattr__`` (PEP 562: what it builds is kept as a module global) run in
mutmut's parent process, before it forks one worker per mutant: the workers never run them
again, so mutmut reports their mutants survived whatever the tests say. They are not
excluded with mutmut's pragma, which would leave the compilers untested. Instead the
functions hit while the tests are collected are recorded by mutmut's own trampoline, and
each of their mutants that mutmut reports survived (or without tests) is run again in a
fresh interpreter, where the package is imported with the mutant active, against every
selected test (``recheck_files``: its module's own first, then those that call it). That
verdict replaces mutmut's. So are the mutants of the functions that run only in a child
process a test starts (``IN_CHILDREN``), against the tests that start it. A mutant the
equivalent list rightly names is not run again: it is left out of the score either way.
``--recheck`` does only this, then the tables and the report, over the last run's verdicts
(a run stopped once mutmut ended).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mutation import equivalent, tables
from mutation._common import ROOT, Config, Verdict, child_env, load_config, module_name, run_pytest

MUTANTS = ROOT / "mutants"
#: mutmut's exit codes for our verdicts (mutmut.stats.status_by_exit_code reads them back).
EXIT_CODES = {"survived": 0, "killed": 1, "timeout": 36}

#: Run with mutmut's trampoline recording, in mutants/: prints the functions called while the
#: tests are collected (imports, parametrize lists, test constants).
COLLECTING = """
import json, sys
import pytest
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.state import state
set_mutant_under_test("stats")
code = pytest.main(["--collect-only", "-qq", "-p", "no:cacheprovider", *sys.argv[2:]])
if code != 0:
    sys.exit(code)
with open(sys.argv[1], "w") as f:
    json.dump(sorted(state()._stats), f)
"""


def forget_all_but_killed(modules: list[str]) -> int:
    """``--again``: the verdicts of ``modules``' mutants that were not killed (survived, no
    tests, timeout, not run yet) dropped, so mutmut tests them again, against the tests as
    they are now; the killed ones are kept (mutmut itself drops the verdicts of a function
    whose code changed). Returns how many are tested again."""
    from mutmut.mutation.data import SourceFileMutationData

    again = 0
    for path in modules:
        if not (MUTANTS / f"{path}.meta").exists():
            continue
        data = SourceFileMutationData(path=path)
        data.load()
        for mutant, code in data.exit_code_by_key.items():
            if code is None or status(code) not in ("killed", "timeout"):
                data.exit_code_by_key[mutant] = None
                again += 1
        data.save()
    return again


#: Seconds of tests each mutant runs at most, the fastest of those that call its function
#: first (mutmut's own durations): see ``budget_tests``.
TEST_SECONDS = 5.0
#: What a test costs besides its own run, which mutmut's durations leave out (pytest's
#: setup, teardown and report): the 1,110 tests of a converter, 5.0 s by mutmut's measure,
#: took 23 s in one pytest run beside a mutmut run on 2 cores. Counted in the budget, a
#: function that nearly every test calls keeps a few hundred of them, not a thousand.
PER_TEST = 0.01
#: A name no mutant has: mutmut then collects which tests call which function, and stops.
NO_MUTANT = "fsm_executor.no_such_module.*"


def budget_tests(path: Path = MUTANTS / "mutmut-stats.json", seconds: float = TEST_SECONDS
                 ) -> tuple[int, int]:
    """Keep, for each function, the tests that call it up to ``seconds`` of them, each
    counted ``PER_TEST`` more than mutmut measured (at least one): those of its module's
    own test file first (``own_file``: the tests written for its details, its words and
    its edges), each group fastest first. mutmut runs every test that calls a mutant's
    function: the core is called by nearly every test, so each survivor cost the whole
    suite under mutmut (two minutes) and a run of the core about twenty hours on 2 cores.
    The slow tests left out are the long property and stateful ones; a mutant only they
    would kill counts as a survivor, so the score can only be lower than the whole
    suite's. Returns (tests kept, tests before) over all functions."""
    stats = json.loads(path.read_text())
    duration: dict[str, float] = stats["duration_by_test"]
    kept = before = 0
    for function, tests in stats["tests_by_mangled_function_name"].items():
        chosen: list[str] = []
        total = 0.0
        own = own_file(function)
        for test in sorted(tests, key=lambda t: (not t.startswith(own), duration.get(t, 0.0),
                                                 t)):
            total += duration.get(test, 0.0) + PER_TEST
            if chosen and total > seconds:
                break
            chosen.append(test)
        stats["tests_by_mangled_function_name"][function] = chosen
        kept, before = kept + len(chosen), before + len(tests)
    path.write_text(json.dumps(stats, indent=4))
    return kept, before


def own_file(function: str) -> str:
    """``pkg.journal._replay.xǁRebuilderǁfeed`` -> ``tests/test_replay.py::``: where the
    tests written for the function's module are."""
    return f"{test_file(function.rpartition('.x')[0])}::"


#: Modules whose own tests are in a file of another name (the module's, where there is one:
#: tests/test_mutation_tools.py holds every module of the core to a file that exists).
TESTS_OF = {
    "fsm_executor.core._asking": "tests/test_driver.py",
    "fsm_executor.core._reconcile": "tests/test_recovery.py",
    "fsm_executor.core._memory": "tests/test_decision_memory.py",
    "fsm_executor.core._values": "tests/test_model.py",
    "fsm_executor.core._fill": "tests/test_model.py",
    "fsm_executor.journal._file": "tests/test_journal.py",
    "fsm_executor.journal._pass": "tests/test_audit.py",
}


def test_file(module: str) -> str:
    """``fsm_executor.journal._replay`` -> ``tests/test_replay.py``: its own tests' file."""
    return TESTS_OF.get(module) or f"tests/test_{module.rpartition('.')[2].lstrip('_')}.py"


def run_mutmut(modules: list[str], every: bool, jobs: int, again: bool) -> None:
    if again and MUTANTS.is_dir():
        print(f"mutmut: {forget_all_but_killed(modules)} mutants not killed last time, tested "
              "again", flush=True)
        # Named mutants would all run again, the killed ones too: none is named.
        names: list[str] = []
    else:
        shutil.rmtree(MUTANTS, ignore_errors=True)
        MUTANTS.mkdir()
        names = [] if every else [f"{module_name(p)}.*" for p in modules]
    log = MUTANTS / "mutmut.log"
    print(f"mutmut: {len(modules)} modules, {jobs} workers (its output: {log.relative_to(ROOT)})",
          flush=True)
    # First which tests call which function (new tests only, again), then the mutants.
    # Asked for a mutant it does not have, mutmut saves the stats, then fails to find it.
    mutmut(["run", "--max-children", str(jobs), NO_MUTANT], log, modules, again,
           expected_end="Filtered for specific mutants, but nothing matches")
    kept, before = budget_tests()
    print(f"mutmut: each mutant runs the fastest tests of its function, {TEST_SECONDS:g} s at "
          f"most ({kept:,} of {before:,} test runs kept)", flush=True)
    mutmut(["run", "--max-children", str(jobs), *names], log, modules, True)


def mutmut(args: list[str], log: Path, modules: list[str], append: bool,
           expected_end: str | None = None) -> None:
    """mutmut ``args`` in the repository, its output in ``log``; a line a minute. A failure
    whose output holds ``expected_end`` is the end expected."""
    start = shown = time.monotonic()
    with log.open("a" if append else "w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("mutmut")), *args],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=child_env())
        while proc.poll() is None:
            time.sleep(5)
            if time.monotonic() - shown >= 60:  # a line a minute, while it tests
                shown = time.monotonic()
                done, total = progress(modules)
                if done:
                    print(f"mutmut: {done} of {total} mutants tested "
                          f"({(shown - start) / 60:.0f} min)", flush=True)
    if proc.returncode != 0 and not (expected_end and expected_end in log.read_text()[-3000:]):
        sys.exit(f"mutmut failed (exit {proc.returncode}); the end of {log}:\n"
                 + log.read_text()[-3000:])


def meta(path: str) -> dict[str, int | None]:
    """mutmut's verdicts for the module at ``path``: exit code by mutant name."""
    file = MUTANTS / f"{path}.meta"
    if not file.exists():
        return {}
    codes: dict[str, int | None] = json.loads(file.read_text())["exit_code_by_key"]
    return codes


def progress(modules: list[str]) -> tuple[int, int]:
    codes = [c for p in modules for c in meta(p).values()]
    return sum(c is not None for c in codes), len(codes)


def status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def function_of(mutant: str) -> str:
    """``pkg.mod.x_f__mutmut_3`` -> ``pkg.mod.x_f``, as mutmut's trampoline records it."""
    return mutant.partition("__mutmut_")[0]


def collected_functions(config: Config) -> set[str]:
    out = MUTANTS / "collection-hits.json"
    done = subprocess.run([sys.executable, "-c", COLLECTING, str(out), *config.selection],
                          cwd=MUTANTS, env=child_env(), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"collecting the tests with mutmut's trampoline failed:\n{done.stdout[-3000:]}")
    return set(json.loads(out.read_text()))


def own_tests(path: str) -> list[str]:
    """``fsm_executor/core/_machine.py`` -> ``["tests/test_machine.py"]``, if it exists."""
    own = test_file(module_name(path))
    return [own] if (ROOT / own).is_file() else []


def recheck_fresh(config: Config, modules: list[str], jobs: int) -> Counter[str]:
    """Run again, each in a fresh interpreter, the mutants mutmut cannot see (the module
    docstring says why); write their verdicts into mutmut's files. Returns the count of
    each verdict."""
    from mutmut.mutation.data import SourceFileMutationData

    hits = collected_functions(config)
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
    tests_of: dict[str, list[str]] = stats["tests_by_mangled_function_name"]
    suite_seconds = sum(stats["duration_by_test"].values())
    verdicts = Verdicts(modules)
    todo: list[tuple[str, str]] = []
    for path in modules:
        # A rightly listed equivalent (or SQL case) is left out of the score whatever its
        # verdict: running it again, through every test since none fails, would buy nothing.
        for mutant, state in verdicts.of(path).items():
            function = function_of(mutant)
            unseen = (function in hits or function.endswith(".x___getattr__")
                      or function in IN_CHILDREN)
            if unseen and state in ("survived", "no tests"):
                todo.append((path, mutant))
    if not todo:
        return Counter()
    print(f"fresh interpreters: {len(todo)} mutants of functions run at import or cached "
          f"({len(hits)} functions run while collecting)", flush=True)

    def check(item: tuple[str, str]) -> tuple[str, str, Verdict]:
        path, mutant = item
        files = recheck_files(function_of(mutant), path, tests_of, config.test_files())
        # A test that compares a table with its committed copy is no evidence (tables.py).
        verdict = run_pytest([*files, *config.options, *tables.COPIES], MUTANTS,
                             child_env(MUTANT_UNDER_TEST=mutant),
                             timeout=3 * suite_seconds + 60)
        return path, mutant, verdict

    counts: Counter[str] = Counter()
    with ThreadPoolExecutor(jobs) as pool:
        for path, mutant, verdict in pool.map(check, todo):
            data = SourceFileMutationData(path=path)
            data.load()
            data.exit_code_by_key[mutant] = EXIT_CODES[verdict.status]
            data.save()
            counts[verdict.status] += 1
    return counts


def recheck_files(function: str, path: str, tests_of: dict[str, list[str]],
                  every: list[str]) -> list[str]:
    """The test files a mutant of ``function`` (in the module at ``path``) runs in a fresh
    interpreter, in order; pytest stops at the first failure, so a kill costs the files up to
    it and a survivor all of them. A function run only in a child process: the files of the
    tests that start it. Any other (run at import, or once for every test after, what it
    built kept): mutmut saw it called by one test at most, so every file of the selection
    (``every``): its module's own first, then those of the tests mutmut saw calling it, then
    the rest, in case a test far away is the one that notices (a legacy move of the state
    table written again shows in the replay of old journals, not in the table's tests)."""
    if function in IN_CHILDREN:
        return list(IN_CHILDREN[function])
    own = own_tests(path)
    called = sorted({t.split("::")[0] for t in tests_of.get(function, [])} - set(own))
    return [*own, *called, *(f for f in every if f not in own and f not in called)]


#: Functions that run only in a child process a test starts (the second half of a long
#: journal's reading): mutmut records the calls of its own process, so it finds no test for
#: them. Their mutants are run in fresh interpreters, whose children inherit the mutant
#: (MUTANT_UNDER_TEST) and import the mutated copy, against the tests that start the child.
IN_CHILDREN: dict[str, tuple[str, ...]] = {
    "fsm_executor.journal._split.x_main": ("tests/test_split.py",),
}


COLUMNS = ("mutants", "killed", "survived", "no tests", "timeout", "equivalent", "other",
           "score")


def row(name: str, figures: Counter[str]) -> str:
    """One row of the report; the score leaves the equivalent mutants out."""
    total = sum(figures.values())
    detected = figures["killed"] + figures["timeout"]
    other = (total - detected - figures["survived"] - figures["no tests"]
             - figures["equivalent"])
    scored = total - figures["equivalent"]
    score = f"{100 * detected / scored:.1f} %" if scored else "-"
    cells = (total, figures["killed"], figures["survived"], figures["no tests"],
             figures["timeout"], figures["equivalent"], other, score)
    return f"{name:<36}" + "".join(f"{c:>10}" for c in cells)


class Verdicts:
    """Each mutant's verdict in the modules run, the equivalent list applied."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self.codes = {path: meta(path) for path in modules}
        self._diffs: dict[str, str] = {}
        self.listed = equivalent.load()
        self.stale = equivalent.stale(self.listed, self.status_of, self.diff_of)

    def module_of(self, mutant: str) -> str | None:
        return next((p for p in self.modules if mutant.startswith(module_name(p) + ".")), None)

    def status_of(self, mutant: str) -> str | None:
        path = self.module_of(mutant)
        if path is None:
            return None
        if mutant not in self.codes[path]:
            return "absent"
        return status(self.codes[path][mutant])

    def diff_of(self, mutant: str) -> str:
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        if mutant not in self._diffs:
            path = self.module_of(mutant)
            assert path is not None
            self._diffs[mutant] = str(get_diff_for_mutant(mutant, path=path))
        return self._diffs[mutant]

    def of(self, path: str) -> dict[str, str]:
        """Mutant name -> verdict: mutmut's, or "equivalent" for one rightly listed."""
        verdicts = {}
        for mutant, code in self.codes[path].items():
            verdict = status(code)
            if verdict in ("survived", "no tests") and (
                    (mutant in self.listed and mutant not in self.stale)
                    or equivalent.sql_case(self.diff_of(mutant))):
                verdict = "equivalent"
            verdicts[mutant] = verdict
        return verdicts


def report(verdicts: Verdicts, checks: list[tables.Outcome],
           fresh: Counter[str], seconds: float) -> str:
    lines = [f"{'module':<36}" + "".join(f"{c:>10}" for c in COLUMNS)]
    total: Counter[str] = Counter()
    for path in verdicts.modules:
        figures = Counter(verdicts.of(path).values())
        total += figures
        lines.append(row(path.removeprefix("fsm_executor/"), figures))
    for table, outcomes in tables.by_table(checks).items():
        figures = Counter(o.verdict.status for o in outcomes)
        lines.append(row(f"table: {table}", figures))
    if fresh:
        lines.append(f"(run again in fresh interpreters: {sum(fresh.values())} mutants, "
                     f"{fresh['killed']} killed)")
    if checks:
        survived = [o for o in checks if o.verdict.status != "killed"]
        lines.append(f"table mutation check: {len(checks) - len(survived)} of {len(checks)} "
                     "killed")
    lines.extend(f"equivalent list (mutation/equivalent.txt): {p}"
                 for p in verdicts.stale.values())
    if seconds:  # (not for --report, which runs nothing)
        lines.append(f"run time: {seconds / 60:.1f} min")
    detected = total["killed"] + total["timeout"]
    count = sum(total.values()) - total["equivalent"]
    lines.append(f"mutation score: {100 * detected / max(count, 1):.1f} % "
                 f"({detected} of {count} killed; {total['equivalent']} equivalent left out)")
    return "\n".join(lines)


def write_survivors(verdicts: Verdicts, checks: list[tables.Outcome]) -> Path:
    out = MUTANTS / "survivors.txt"
    parts: list[str] = []
    for path in verdicts.modules:
        left = sorted((m, v) for m, v in verdicts.of(path).items()
                      if v not in ("killed", "timeout", "equivalent"))
        if left:
            parts.append(f"# {path}: {len(left)} not killed\n")
        for mutant, state in left:
            parts.append(f"## {mutant}: {state}\n{verdicts.diff_of(mutant)}\n")
    for outcome in checks:
        if outcome.verdict.status != "killed":
            parts.append(f"## table {outcome.mutation.table}: {outcome.mutation.row}: "
                         f"{outcome.mutation.change}: {outcome.verdict.status}\n")
    out.write_text("\n".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0].replace("``", ""))  # plain words, not reST
    parser.add_argument("modules", nargs="*", metavar="PATH")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--no-tables", action="store_true",
                        help="skip the table mutation check (mutation/tables.py)")
    parser.add_argument("--again", action="store_true",
                        help="keep the last run's killed mutants; test the others again "
                             "(a run cut short goes on; new tests meet the survivors)")
    parser.add_argument("--recheck", action="store_true",
                        help="skip mutmut: run again in fresh interpreters the last run's "
                             "mutants it cannot see, then the tables and the report (after "
                             "a run stopped once mutmut ended)")
    parser.add_argument("--report", action="store_true",
                        help="only the report of the last run's verdicts, with the "
                             "equivalent list as it is now (no mutant run, no tables)")
    args = parser.parse_args(argv)
    config = load_config()
    unknown = sorted(set(args.modules) - set(config.modules))
    if unknown:
        parser.error(f"not among [tool.mutmut] only_mutate: {' '.join(unknown)}")
    modules = [p for p in config.modules if p in args.modules] or list(config.modules)
    if args.report:
        verdicts = Verdicts(modules)
        print(report(verdicts, [], Counter(), 0.0))
        return 1 if verdicts.stale else 0
    start = time.monotonic()
    if not args.recheck:
        run_mutmut(modules, every=modules == list(config.modules), jobs=args.jobs,
                   again=args.again)
    fresh = recheck_fresh(config, modules, args.jobs)
    chosen = [] if args.no_tables else [t for t in tables.TABLES if t.path in modules]
    checks = tables.check(config, chosen, args.jobs)
    verdicts = Verdicts(modules)
    text = report(verdicts, checks, fresh, time.monotonic() - start)
    (MUTANTS / "report.txt").write_text(text + "\n")
    print(text)
    print(f"not killed, with their diffs: {write_survivors(verdicts, checks).relative_to(ROOT)}")
    return 1 if verdicts.stale else 0


if __name__ == "__main__":
    sys.exit(main())
