"""What the mutation runs share: the configuration in pyproject.toml and a pytest run in a
fresh interpreter, with its verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


@dataclass(frozen=True)
class Config:
    #: The modules mutmut mutates, as paths from the repository root.
    modules: tuple[str, ...]
    #: pytest's arguments choosing the tests: paths, then --ignore and --deselect options.
    selection: tuple[str, ...]

    @property
    def options(self) -> tuple[str, ...]:
        """The selection without its paths: what any subset of the tests must honour."""
        return tuple(a for a in self.selection if a.startswith("-"))

    def test_files(self) -> list[str]:
        """Every test file of the selection, sorted, as paths from the root."""
        ignored = {a.removeprefix("--ignore=") for a in self.options if a.startswith("--ignore=")}
        return [f"tests/{p.name}" for p in sorted(TESTS.glob("test_*.py"))
                if f"tests/{p.name}" not in ignored]


def load_config() -> Config:
    with (ROOT / "pyproject.toml").open("rb") as f:
        mutmut = tomllib.load(f)["tool"]["mutmut"]
    return Config(tuple(mutmut["only_mutate"]), tuple(mutmut["pytest_add_cli_args_test_selection"]))


def module_name(path: str) -> str:
    """``fsm_executor/core/_machine.py`` -> ``fsm_executor.core._machine``."""
    return path.removesuffix(".py").replace("/", ".")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a test run: hypothesis's "mutation" profile (tests/conftest.py:
    CI's examples, so that every mutant sees the same ones, and no shrinking), and no
    PYTHONPATH, so that the package imported is the one in the run's own directory (its
    first entry: ``python -m`` puts it there)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUTANT_UNDER_TEST")}
    return {**env, "HYPOTHESIS_PROFILE": "mutation", **extra}


@dataclass(frozen=True)
class Verdict:
    status: str  # "killed", "survived", "timeout"
    #: The first test that failed (or the collection error), for the report.
    by: str = ""
    seconds: float = 0.0


#: pytest's short summary line of the first failure (-rfE): the test, or the file whose
#: collection failed and why.
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+(?: - .{0,80})?)", re.MULTILINE)


def run_pytest(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Verdict:
    """pytest with ``args`` in a fresh interpreter, stopping at the first failure. Any
    failure is a kill, an error while collecting included (a mutant that breaks an import
    breaks the code); no test collected is a mistake of ours, not a verdict."""
    import time

    command = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider",
               "-p", "no:randomly", *args]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Verdict("timeout", seconds=time.monotonic() - start)
    seconds = time.monotonic() - start
    if done.returncode == 0:
        return Verdict("survived", seconds=seconds)
    if done.returncode == 4 and "while loading conftest" in done.stdout + done.stderr:
        # The package no longer imports (a mutant of what runs at import): killed.
        return Verdict("killed", "the package does not import", seconds)
    if done.returncode in (4, 5):  # usage error, no tests collected
        raise RuntimeError(f"pytest {' '.join(args)} in {cwd}: exit {done.returncode}\n"
                           f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    found = _FAILED.search(done.stdout)
    return Verdict("killed", found.group(1) if found else f"exit {done.returncode}", seconds)
