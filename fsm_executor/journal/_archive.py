"""Journal retention: the oldest finished orders' rows move into an archive file, and the
live journal stays small.

What moves is always a prefix of the chain: rows ``A+1 .. K``, where ``A`` is where the live
file's chain starts (0, or the end of the last archive) and ``K`` the last row before the
given date such that every order with a row up to ``K`` is finished and has no row after it.
An order still open, or finished only after the date, keeps its rows and every later row in
the live file. So the archive is a journal of its own (same journal id, same rows, same
hashes, its own orders index), the live file's chain now starts from row ``K``'s hash (its
``anchor``), and ``audit(live, archives=[...])`` verifies the two as one chain.

The live file keeps the orders index rows of the orders archived: their signals stay known,
so a signal run again is never placed again; asking for such an order raises OrderArchived.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import attrs

from ..core._clock import Clock, SystemClock
from ._book import OrderBook
from ._file import create


@attrs.frozen
class Archived:
    """What an archiving moved: rows ``first_seq .. last_seq`` (none when ``rows`` is 0)."""

    into: Path | None
    first_seq: int
    last_seq: int
    rows: int
    orders: int
    #: The rows left in the live journal.
    live_rows: int


def cut(conn: sqlite3.Connection, before: float, anchor: int) -> int:
    """The last row that can move: before ``before``, and no order with a row up to it
    open or with a row after it. ``anchor`` when none can."""
    last = conn.execute("SELECT max(seq) FROM journal WHERE ts < ?", (before,)).fetchone()[0]
    k = anchor if last is None else int(last)
    while k > anchor:
        pinned = conn.execute(
            "SELECT min(first_seq) FROM orders WHERE first_seq <= ?1 AND first_seq > ?2"
            " AND (open OR last_seq IS NULL OR last_seq > ?1)", (k, anchor)).fetchone()[0]
        if pinned is None:
            break
        k = int(pinned) - 1
    return k


def archive(path: str | os.PathLike[str], before: float,
            into: str | os.PathLike[str] | None = None, clock: Clock | None = None) -> Archived:
    """Move the rows of the orders finished before ``before`` (epoch seconds) out of the
    journal at ``path`` into a new archive file ``into`` (by default beside it, named after
    the rows it holds). Takes the journal's writer lock; JournalLocked while a bot writes
    it. The archive is complete and checkpointed before anything leaves the live file."""
    clock = clock or SystemClock()
    live = Path(path)
    with OrderBook.open(live, clock=clock) as book:  # the lock, and an index checked
        journal = book.journal
        conn = journal._conn
        anchor_seq, anchor_hash = journal.anchor
        k = cut(conn, before, anchor_seq)
        if k <= anchor_seq:
            left = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
            return Archived(None, anchor_seq + 1, anchor_seq, 0, 0, left)
        target = Path(into) if into is not None else live.with_name(
            f"{live.stem}.archive-{anchor_seq + 1}-{k}{live.suffix}")
        k_hash = conn.execute("SELECT hash FROM journal WHERE seq = ?", (k,)).fetchone()[0]

        def fill(archive_conn: sqlite3.Connection) -> dict[str, str]:
            archive_conn.execute("ATTACH DATABASE ? AS live", (str(live.resolve()),))
            archive_conn.execute("INSERT INTO journal SELECT * FROM live.journal"
                                 " WHERE seq > ? AND seq <= ?", (anchor_seq, k))
            archive_conn.execute("INSERT INTO orders SELECT * FROM live.orders"
                                 " WHERE first_seq > ? AND first_seq <= ?", (anchor_seq, k))
            archive_conn.execute("DETACH DATABASE live")
            meta = {"journal_id": journal.journal_id,
                    "archive": f"rows {anchor_seq + 1}..{k} of {live.name}"}
            if anchor_seq:
                meta["anchor"] = f"{anchor_seq}:{anchor_hash}"
            return meta

        create(target, clock.now(), fill)
        moved_orders = conn.execute("SELECT count(*) FROM orders WHERE first_seq > ?"
                                    " AND first_seq <= ?", (anchor_seq, k)).fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM journal WHERE seq <= ?", (k,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('anchor', ?)", (f"{k}:{k_hash}",))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        journal.anchor = (k, k_hash)
        conn.execute("VACUUM")  # the live file gives the space back
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        left = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
        return Archived(target, anchor_seq + 1, k, k - anchor_seq, int(moved_orders), left)

