"""A real crash: a child process appending to a journal is SIGKILLed at a seeded point.

Afterwards the journal must open, audit clean, and hold every commit the child reported
(and at most the one it committed but had not yet reported).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import pytest
from crash_writer import plan, trigger_of
from journal_tools import rows, states

from fsm_executor import Note, OrderBook, audit, replay

WRITER = Path(__file__).with_name("crash_writer.py")
KILL_POINTS = range(10)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def run_and_kill(path: Path, durability: str, seed: int, lines: int, delay: float) -> int:
    """Start the writer, read ``lines`` reports, wait ``delay``, SIGKILL it.

    Returns the last commit count the child reported before dying.
    """
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), durability, str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reported = 0
    try:
        assert proc.stdout is not None
        for _ in range(lines):
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the writer died on its own: {proc.communicate()[1]}")
            reported = int(line)
        if delay:
            time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        # Not communicate(): with two pipes it reads the raw descriptors and would drop the
        # reports readline() has already buffered, under-counting what was committed.
        rest = proc.stdout.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return max([reported, *map(int, rest.split())])


@pytest.mark.parametrize("seed", KILL_POINTS)
def test_a_killed_writer_leaves_a_journal_with_every_reported_commit(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    path = tmp_path / "journal.db"
    durability = rng.choice(["normal", "full"])
    reported = run_and_kill(path, durability, seed, lines=rng.randint(1, 300),
                            delay=rng.choice([0.0, rng.uniform(0, 0.01)]))

    # Read-only first, as an operator would after the crash: the WAL is still beside it.
    report = audit(path)
    assert report.ok, report.render()
    assert reported <= report.rows <= reported + 1
    expected = [(order_id, trigger_of(item))
                for order_id, item in islice(plan(seed), report.rows)]
    assert [(r[1], r[2]) for r in rows(path)] == expected

    replayed = replay(path)
    assert report.order_count == len(replayed)
    assert report.by_state == states(replayed)
    assert len(replayed) == sum(1 for _, trigger in expected if trigger == "create")

    # The journal is still writable, and the chain goes on from where the crash left it.
    with OrderBook.open(path) as book:
        assert {o.client_order_id: o for o in book.orders()} == replayed
        last_order = expected[-1][0]
        book.apply(last_order, Note("recovered", "after SIGKILL"))
        head = book.journal.head
    after = audit(path, expected_head=head)
    assert after.ok, after.render()
    assert after.rows == report.rows + 1
