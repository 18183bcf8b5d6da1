"""The checked-in list of equivalent mutants (mutation/equivalent.txt).

A mutant no test can kill because it behaves as the code does (SQL keywords in another
case, a batch size) is listed there, one line each::

    NAME | THE MUTATED LINE | WHY IT BEHAVES THE SAME

The mutated line is the ``+`` line of its diff, stripped: mutmut numbers a function's
mutants in order, so after an edit a name can point at another mutant; an entry whose line
is no longer the mutant's is stale and said so, never counted. A listed mutant is left out
of the score (it cannot be killed), and a listed mutant that is killed is stale too.
Dead code is not listed: it goes away.

One kind is recognised by rule instead of listed, since the core writes a great deal of
SQL: a mutant that only changes the case of SQL text (``sql_case``). SQL keywords, function,
table and column names are case-insensitive, so ``"SELECT count(*) FROM orders"`` and
``"select COUNT(*) from ORDERS"`` are one statement; a quoted SQL value (``'create'``) is
not, so a mutant that changes one is no equivalent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LIST = Path(__file__).resolve().parent / "equivalent.txt"


@dataclass(frozen=True)
class Entry:
    name: str
    line: str
    why: str


def load(path: Path = LIST) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip() or text.startswith("#"):
            continue
        # The mutated line may hold " | " itself (a type union); the name and the why do not.
        name, _, rest = text.partition(" | ")
        line, _, why = rest.rpartition(" | ")
        parts = [name.strip(), line.strip(), why.strip()]
        if not all(parts):
            raise ValueError(f"{path.name}:{number}: not NAME | LINE | WHY: {text!r}")
        name, line, why = parts
        if name in entries:
            raise ValueError(f"{path.name}:{number}: {name} is listed twice")
        entries[name] = Entry(name, line, why)
    return entries


#: A keyword that only SQL text holds, upper-case as the core writes it.
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|ORDER BY|GROUP BY|BEGIN|COMMIT|"
                  r"ROLLBACK|CREATE|PRAGMA|VALUES|LIMIT|COALESCE|NOT NULL|PRIMARY KEY)\b")
#: A single-quoted SQL value ('' inside is a quote).
_QUOTED = re.compile(r"'(?:[^']|'')*'")


def _outside_values(sql: str) -> tuple[str, list[str]]:
    """The text with its SQL values taken out, lower-cased; and the values, as they are."""
    return _QUOTED.sub("''", sql).lower(), _QUOTED.findall(sql)


def sql_case(diff: str) -> str | None:
    """Why the mutant of ``diff`` is equivalent, if it only changes the case of SQL text:
    one line changed, the same but for case, and the original SQL (an upper-case keyword)."""
    removed = [line[1:] for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    added = mutated_lines(diff)
    if len(removed) != 1 or len(added) != 1:
        return None
    before, after = removed[0].strip(), added[0]
    if before == after or not _SQL.search(before):
        return None
    if _outside_values(before) != _outside_values(after):
        return None
    return "SQL keywords and names are case-insensitive: the same statement"


def mutated_lines(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")]


def stale(entries: dict[str, Entry], status_of: Callable[[str], str | None],
          diff_of: Callable[[str], str]) -> dict[str, str]:
    """What is wrong with the list against a run: an entry whose mutant the run does not
    have, was killed, or mutates another line. ``status_of``: a mutant's verdict, "absent"
    if its module has no such mutant, None if the run did not mutate its module."""
    problems: dict[str, str] = {}
    for entry in entries.values():
        status = status_of(entry.name)
        if status is None:
            continue
        if status == "absent":
            problems[entry.name] = f"{entry.name}: no such mutant"
        elif status in ("killed", "timeout"):
            problems[entry.name] = f"{entry.name} is listed as equivalent but was killed"
        elif entry.line not in mutated_lines(diff_of(entry.name)):
            problems[entry.name] = f"{entry.name} no longer mutates {entry.line!r}"
    return problems
