"""A long journal read on two cores: the second half of its rows in another process while
this one reads the first (audit and replay, above ``SPLIT_MIN`` rows).

Each reader holds the orders created in its half. A row of the second half whose order was
created in the first (an order open across the middle, a note after an order's end) is left
by the second reader, its seq handed back, and fed here after the first half, in seq order.
So every order's rows reach one rebuilder in seq order, as in one reading (_pass.whole), and
the two tallies add up (Tally.merge). The chain is checked in each half from the row before
it; the second half's first hash must be the one the first half ends with.

Only a journal that reads clean is read this way. At anything two halves could see otherwise
than one reading (a violation in either; an order created in the second half while the first
holds it; a second process that cannot start or fails) ``read_in_halves`` gives None, and the
caller reads the journal the one way, which says what is wrong in its own words. So the two ways
agree by construction where a journal is not clean, and tests/test_split.py holds them equal
where it is, at every split point.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ..core._collector import gc_paused
from ..core._exceptions import CorruptJournal
from ._journal import JournalReader
from ._pass import Pass, Progress, Reading
from ._replay import streaming
from ._tally import Tally

if TYPE_CHECKING:
    import subprocess

# subprocess and pickle are imported where a journal is split: a short journal's audit, and
# every other reading command, start without them.

#: Rows below which one process reads alone: the second one's start (~0.1 s) would cost
#: more than it saves.
SPLIT_MIN: Final = 200_000
#: Rows this process reads while the other starts: the first half is longer by this much.
HEAD_START: Final = 30_000
#: The share of the rows audit leaves to the other process beyond half: this one also
#: digests the orders index, and checks the rows handed back, after its half.
AUDIT_LEAD: Final = 0.04
#: Rows of the first half's orders the second reader hands back at most; beyond, it stops
#: and the journal is read the one way (their seqs are held in memory).
HANDED_BACK_MAX: Final = 100_000


def read_in_halves(reader: JournalReader, audit: bool, anchors: Mapping[int, str] | None = None,
                   at: int | None = None, progress: Progress | None = None) -> Reading | None:
    """The reading of every row of ``reader``'s file in two halves at once, or None: too
    short, one core, no orders index, or not clean (then read it the one way). ``at``: the
    last seq of the first half (tests choose it; by default the middle). Call it inside
    ``reader.consistent()``: the other process reads the same rows, up to the last one
    this reader sees. ``progress``: as the first half goes, told the rows read in both
    (the other reads as fast)."""
    first, end = reader.anchor_seq, reader.last_seq()
    if at is None:
        if end - first < SPLIT_MIN or _cores() < 2:
            return None
        lead = int((end - first) * AUDIT_LEAD) if audit else 0
        at = first + (end - first + HEAD_START) // 2 - lead
    if not reader.indexed or not first < at < end:
        return None
    other = _start(reader.path, at, end, audit, anchors or {})
    if other is None:
        return None
    try:
        told = None if progress is None else partial(_both, progress, (end - first) / (at - first),
                                                     end - first)
        return _joined(reader, audit, anchors, at, other, told)
    except (CorruptJournal, sqlite3.DatabaseError):  # read again the one way, which says it
        return None
    finally:
        if other.poll() is None:
            other.kill()
        other.communicate()


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover (not Linux)


def _start(path: Path, at: int, end: int, audit: bool, anchors: Mapping[int, str]
           ) -> subprocess.Popen[bytes] | None:
    """The process that reads the rows after ``at``, up to ``end``: this module's main."""
    import subprocess

    env = dict(os.environ)
    # The package as this process imports it, wherever that is.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", __name__, str(path), str(at), str(end),
               "audit" if audit else "replay", json.dumps(anchors)]
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
    except OSError:
        return None


def _both(progress: Progress, scale: float, total: int, rows: int) -> None:
    progress(min(int(rows * scale), total), total)


def _joined(reader: JournalReader, audit: bool, anchors: Mapping[int, str] | None, at: int,
            other: subprocess.Popen[bytes], progress: Callable[[int], None] | None
            ) -> Reading | None:
    reading = Reading.of(reader, audit)
    rebuilder = streaming(reader, reading.tally.finished)
    first_half = Pass(rebuilder, reading, anchors)
    first_half.read(reader.rows(audit, upto=at, progress=progress))
    if reading.violations or reading.tally.problems:
        return None
    # While the other half is read: the checks that need only this one's end.
    held = set(rebuilder.orders)
    if held and reader.created_among(at, held):
        return None  # an order of the first half created again: one reading says so
    if audit:
        first = reader.anchor_seq
        reading.indexed = (reader.index.count(first), reader.index.digest(first))
    out, _errors = other.communicate()
    if other.returncode != 0:
        return None
    import pickle

    start, second, handed_back = pickle.loads(out)  # our own process's pickle
    if second.violations or second.tally.problems or (audit and start != reading.end[1]):
        return None
    feed = rebuilder.feed
    handed_back_orders = set()
    for row in reader.rows_at(handed_back):
        handed_back_orders.add(row[1])
        if feed(row) is not None:
            return None
    # Finished in the first half, brought back by a later row: created again after it?
    brought_back = handed_back_orders - held
    if brought_back and reader.created_among(at, brought_back):
        return None
    first_half.close()
    last_create = max(reading.last_create, second.last_create)
    reading.tally.merge(second.tally, last_create)
    if reading.tally.problems:
        return None
    reading.rows += second.rows
    reading.end = second.end
    reading.last_create = last_create
    reading.creates += second.creates
    reading.orders.update(second.orders)
    reading.spans.update(second.spans)
    return reading


class _TooMany(Exception):
    pass


def second_half(path: str, at: int, end: int, audit: bool, anchors: Mapping[int, str]
                ) -> tuple[str | None, Reading, list[int]]:
    """The other process's reading: the rows after ``at`` up to ``end`` of the orders
    created after ``at``; the hash of row ``at`` it chains from; the seqs it hands back."""
    with JournalReader(path) as reader, reader.consistent(), gc_paused():
        start = reader.hash_at(at) if audit else None
        reading = Reading(audit, Tally(audit), (at, start or ""))
        handed_back: list[int] = []

        def foreign(seq: int) -> None:
            handed_back.append(seq)
            if len(handed_back) > HANDED_BACK_MAX:
                raise _TooMany

        rebuilder = streaming(reader, reading.tally.finished, after=at, foreign=foreign)
        Pass(rebuilder, reading, anchors).read(reader.rows(audit, after=at, upto=end),
                                               first_only=True)
        return start, Pass(rebuilder, reading).close(), handed_back


def main(argv: list[str]) -> int:
    path, at, end, mode, anchors = argv
    try:
        found = second_half(path, int(at), int(end), mode == "audit",
                            {int(k): v for k, v in json.loads(anchors).items()})
    except (_TooMany, CorruptJournal):
        return 1
    import pickle

    sys.stdout.buffer.write(pickle.dumps(found, pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    # The module under its own name, not as __main__: the child then runs the very
    # functions the parent's copy holds (mutate's trampoline, keyed by module name,
    # reaches a mutant there only so), at the cost of running this file's top once more.
    from fsm_executor.journal._split import main as _main

    sys.exit(_main(sys.argv[1:]))
