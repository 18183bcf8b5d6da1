"""The orders index: what the journal's rows say about each order, kept beside them, so that
opening a journal costs what its open orders cost, not what its history does.

One row per order: its client order id, signal id and market, whether it is open (not yet
terminal, or ended with fills still inferred: the order book holds those in memory, and no
other), and where its rows lie (the seq of its create row, and of its last row once it is
finished). The book writes it in the same transaction as the rows that change it: an
order's create, and the rows that finish it (or reach it after). It is derived: the rows
stay the only truth. The book rebuilds it from the rows when it is missing (a journal of
schema 1) or disagrees with them in what opening checks (the newest order, the last row's
order, each open order); audit checks all of it against the rows.

Lean on purpose: each row of the index is a page or two more to write in its commit, and a
journaled transition should cost about twice a raw INSERT (benchmarks/bench_journal.py). So
the rows are not indexed by order id (an order's rows are read from its span of seqs), an
acknowledgement writes nothing here, and the exchange id is not kept (an exchange order is
known by its client order id, and the journaled order's id compared).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Final
from zlib import adler32 as _adler32
from zlib import crc32 as _crc32

from ..core._ledger import unsettled
from ..core._model import Order
from ..core._states import TERMINAL

#: The derived tables and indexes, created with the journal (or by the migration to schema 2).
SCHEMA: Final = (
    "CREATE TABLE orders (order_id TEXT PRIMARY KEY, signal_id TEXT, symbol TEXT NOT NULL,"
    " open INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER) WITHOUT ROWID",
    "CREATE INDEX orders_by_signal ON orders (signal_id, first_seq)"
    " WHERE signal_id IS NOT NULL",
    "CREATE INDEX orders_open ON orders (first_seq) WHERE open",
)

#: (order_id, signal_id, symbol, open): an order's row in the index as the book writes it;
#: the journal adds where its rows lie (first_seq, last_seq), from the rows it appends.
IndexRow = tuple[str, str | None, str, int]
#: An index row with its span of seqs, as stored.
StoredRow = tuple[str, str | None, str, int, int, int | None]

#: An order's row written or brought up to date; its ids, market and first row never change.
UPSERT: Final = ("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (order_id)"
                 " DO UPDATE SET open = ?4, last_seq = ?6")

#: The columns replay reads (_journal.RAW_COLUMNS).
_RAW: Final = "seq, order_id, trigger, source, dest, payload, ts"


def is_open(order: Order) -> bool:
    """Whether the order book holds the order: not terminal yet, or ended with fills still
    inferred from its figures (its trades are listed again)."""
    return order.state not in TERMINAL or unsettled(order)


def row_of(order: Order) -> IndexRow:
    return (order.client_order_id, order.signal_id, order.symbol, int(is_open(order)))


def stored(row: IndexRow, first_seq: int, last_seq: int) -> StoredRow:
    """``row`` with where its order's rows lie: the last one only once it is finished."""
    return (*row, first_seq, None if row[3] else last_seq)


def stored_of(order: Order, first_seq: int, last_seq: int) -> StoredRow:
    """``stored(row_of(order), first_seq, last_seq)``, built at once (audit's tally takes
    one per order)."""
    open_ = int(is_open(order))
    return (order.client_order_id, order.signal_id, order.symbol, open_, first_seq,
            None if open_ else last_seq)


def fingerprint(row: StoredRow) -> int:
    """One row's share of ``digest``: 64 bits, a CRC-32 and an Adler-32 of its text (its
    fields between unit separators, a record separator for no signal id: neither is in a
    printable id). Not a cryptographic hash (the hash chain is what proves the rows); a
    check that derived rows equal what the rows rebuild, cheap (audit takes one per order,
    on each side). ``_TEXT`` is the same text, as SQLite writes it."""
    order_id, signal_id, symbol, is_open_, first_seq, last_seq = row
    text = (f"{order_id}\x1f{_NONE if signal_id is None else signal_id}\x1f{symbol}\x1f"
            f"{is_open_}\x1f{first_seq}\x1f{'' if last_seq is None else last_seq}").encode()
    return _shared(text)


def _shared(text: bytes) -> int:
    return _crc32(text) << 32 | _adler32(text)


_NONE: Final = "\x1e"
#: A stored row's text for its fingerprint, read as one column: no tuple built per row.
_TEXT: Final = ("order_id || char(31) || coalesce(signal_id, char(30)) || char(31) || symbol"
                " || char(31) || open || char(31) || first_seq || char(31)"
                " || coalesce(last_seq, '')")


#: Shares are summed modulo this: the digest of a set of rows, in any order.
DIGEST_MODULUS: Final = 2**64


class OrdersIndex:
    """The index of one journal's connection (reads and, inside a transaction the caller
    holds, rewrites)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, *args: Any) -> Any:
        row = self._conn.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # -- what the book asks ----------------------------------------------------------------

    def open_rows(self) -> list[tuple[Any, ...]]:
        """Every row of the open orders, in seq order (replay's raw columns): the rows
        since the oldest open order's create, those of open orders kept (SQLite filters
        them: about 0.1 µs a row)."""
        first = self._one("SELECT min(first_seq) FROM orders WHERE open")
        if first is None:
            return []
        return self._conn.execute(
            f"SELECT {_RAW} FROM journal WHERE seq >= ? AND order_id IN"
            " (SELECT order_id FROM orders WHERE open) ORDER BY seq", (first,)).fetchall()

    def order_rows(self, order_id: str, before: int | None = None) -> list[tuple[Any, ...]]:
        """One order's rows (before seq ``before``), in seq order, from its span of seqs;
        empty for an order the index does not hold."""
        span = self._conn.execute("SELECT first_seq, last_seq FROM orders WHERE order_id = ?",
                                  (order_id,)).fetchone()
        if span is None:
            return []
        first, last = span
        end = min(x for x in (last, None if before is None else before - 1, 2**62)
                  if x is not None)
        return self._conn.execute(
            f"SELECT {_RAW} FROM journal WHERE seq BETWEEN ? AND ? AND order_id = ?"
            " ORDER BY seq", (first, end, order_id)).fetchall()

    def row(self, order_id: str) -> StoredRow | None:
        found: StoredRow | None = self._conn.execute(
            "SELECT order_id, signal_id, symbol, open, first_seq, last_seq FROM orders"
            " WHERE order_id = ?", (order_id,)).fetchone()
        return found

    def __contains__(self, order_id: object) -> bool:
        return self._one("SELECT 1 FROM orders WHERE order_id = ?", order_id) is not None

    def __len__(self) -> int:
        return int(self._one("SELECT count(*) FROM orders"))

    def by_signal(self, signal_id: str) -> str | None:
        """The order journaled for ``signal_id`` (the newest, should there be several)."""
        found: str | None = self._one("SELECT order_id FROM orders WHERE signal_id = ?"
                                      " ORDER BY first_seq DESC LIMIT 1", signal_id)
        return found

    def symbols(self) -> set[str]:
        return {s for (s,) in self._conn.execute("SELECT DISTINCT symbol FROM orders")}

    # -- derived, checked, rebuilt ---------------------------------------------------------

    def disagreement(self) -> str | None:
        """What opening can check without reading the history: the newest order's and the
        last row's order in the index (and, by the book, every open order open by its
        rows). None when it agrees, else why not. Whatever else an edit of the index could
        hide, audit finds: it checks every row of the index against the rows."""
        newest = self._one("SELECT order_id FROM journal WHERE trigger = 'create'"
                           " ORDER BY seq DESC LIMIT 1")
        if newest is not None and newest not in self:
            if self._one("SELECT 1 FROM orders LIMIT 1") is None:
                return "the orders index is empty, and the rows create orders"
            return f"the newest order {newest!r} is not in the orders index"
        latest = self._one("SELECT order_id FROM journal ORDER BY seq DESC LIMIT 1")
        if latest is not None and latest not in self:
            return f"the last row's order {latest!r} is not in the orders index"
        return None

    def rebuild(self, rows: Iterable[StoredRow]) -> None:
        """Every row anew (replayed from the journal's rows), in one transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM orders")
            conn.executemany(UPSERT, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def rows(self, after: int = 0) -> Iterator[StoredRow]:
        """The rows of the orders created after seq ``after`` (an archived order's row
        stays, so that its signal is still known: its rows are in the archive)."""
        return iter(self._conn.execute(
            "SELECT order_id, signal_id, symbol, open, first_seq, last_seq FROM orders"
            " WHERE first_seq > ?", (after,)))

    def count(self, after: int) -> int:
        return int(self._one("SELECT count(*) FROM orders WHERE first_seq > ?", after))

    def digest(self, after: int = 0) -> int:
        """The sum of the fingerprints of the rows of orders created after seq ``after``:
        equal to the one of the orders the rows rebuild when the index agrees with them
        (audit), in constant memory."""
        return sum(_shared(text.encode()) for (text,) in self._conn.execute(
            f"SELECT {_TEXT} FROM orders WHERE first_seq > ?", (after,))) % DIGEST_MODULUS
