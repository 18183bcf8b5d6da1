"""The orders index: what the journal's rows say about each order, kept beside them, so that
opening a journal costs what its open orders cost, not what its history does.

One row per order: its client order id, signal id, exchange id and market, and whether it is
open (not yet terminal, or ended with fills still inferred: the order book holds those in
memory, and no other). The book writes it in the same transaction as the rows that change
it. It is derived: the rows stay the only truth. The book rebuilds it from the rows when it
is missing (a journal of schema 1) or disagrees with them in what opening checks (how many
orders there are, the newest, each open order); audit checks all of it against the rows.

An index of the rows by order id finds one order's rows (an old order asked for, the open
orders when the journal opens): about 8 µs an append (benchmarks/bench_journal.py).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ..core._ledger import unsettled
from ..core._model import Order

#: The derived tables and indexes, created with the journal (or by the migration to schema 2).
SCHEMA: Final = (
    "CREATE TABLE orders (order_id TEXT PRIMARY KEY, signal_id TEXT,"
    " exchange_order_id TEXT, symbol TEXT NOT NULL, open INTEGER NOT NULL)",
    "CREATE INDEX orders_by_signal ON orders (signal_id) WHERE signal_id IS NOT NULL",
    "CREATE INDEX orders_by_exchange_id ON orders (exchange_order_id)"
    " WHERE exchange_order_id IS NOT NULL",
    "CREATE INDEX orders_open ON orders (open) WHERE open",
    "CREATE INDEX journal_by_order ON journal (order_id)",
    # The create rows by seq: the newest order's is found without a scan.
    "CREATE INDEX journal_creates ON journal (seq) WHERE trigger = 'create'",
)

#: (order_id, signal_id, exchange_order_id, symbol, open): an order's row in the index.
IndexRow = tuple[str, str | None, str | None, str, int]

#: An order's row written or brought up to date; its ids and market never change.
UPSERT: Final = ("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (order_id)"
                 " DO UPDATE SET exchange_order_id = ?3, open = ?5")

#: The columns replay reads (_journal.RAW_COLUMNS), of the rows aliased ``j``.
_RAW: Final = "j.seq, j.order_id, j.trigger, j.source, j.dest, j.payload, j.ts"


def is_open(order: Order) -> bool:
    """Whether the order book holds the order: not terminal yet, or ended with fills still
    inferred from its figures (its trades are listed again)."""
    return not order.is_terminal or unsettled(order)


def row_of(order: Order) -> IndexRow:
    return (order.client_order_id, order.signal_id, order.exchange_order_id, order.symbol,
            int(is_open(order)))


def fingerprint(row: IndexRow) -> int:
    """One row's share of ``digest``."""
    return int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=8).digest(), "big")


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

    def open_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row of the open orders, in seq order (replay's raw columns)."""
        # IN, not a join: without statistics SQLite would scan every row and look each
        # one's order up (250 ms with 100,000 finished orders, against 0.4 ms).
        return iter(self._conn.execute(
            f"SELECT {_RAW} FROM journal j WHERE j.order_id IN"
            " (SELECT order_id FROM orders WHERE open) ORDER BY j.seq").fetchall())

    def order_rows(self, order_id: str) -> list[tuple[Any, ...]]:
        """One order's rows, in seq order (empty for an order never journaled)."""
        return self._conn.execute(f"SELECT {_RAW} FROM journal j WHERE j.order_id = ?"
                                  " ORDER BY j.seq", (order_id,)).fetchall()

    def __contains__(self, order_id: object) -> bool:
        return self._one("SELECT 1 FROM orders WHERE order_id = ?", order_id) is not None

    def __len__(self) -> int:
        return int(self._one("SELECT count(*) FROM orders"))

    def by_signal(self, signal_id: str) -> str | None:
        """The order journaled for ``signal_id`` (the newest, should there be several)."""
        found: str | None = self._one("SELECT order_id FROM orders WHERE signal_id = ?"
                                      " ORDER BY rowid DESC LIMIT 1", signal_id)
        return found

    def knows_exchange_id(self, exchange_order_id: str) -> bool:
        return self._one("SELECT 1 FROM orders WHERE exchange_order_id = ?",
                         exchange_order_id) is not None

    def symbols(self) -> set[str]:
        return {s for (s,) in self._conn.execute("SELECT DISTINCT symbol FROM orders")}

    # -- derived, checked, rebuilt ---------------------------------------------------------

    def disagreement(self) -> str | None:
        """What opening can check without reading the history: the newest order the same
        as the rows', the last row's order known (and, by the book, every open order open
        by its rows). None when it agrees, else why not. Whatever else an edit of the index
        could hide, audit finds: it checks every row of the index against the rows."""
        newest = self._one("SELECT order_id FROM orders ORDER BY rowid DESC LIMIT 1")
        last = self._one("SELECT order_id FROM journal WHERE trigger = 'create'"
                         " ORDER BY seq DESC LIMIT 1")
        if newest != last:
            if newest is None:
                return "the orders index is empty, and the rows create orders"
            return f"the orders index's newest order is {newest!r}, the rows' {last!r}"
        latest = self._one("SELECT order_id FROM journal ORDER BY seq DESC LIMIT 1")
        if latest is not None and latest not in self:
            return f"the last row's order {latest!r} is not in the orders index"
        return None

    def rebuild(self, orders: Iterable[Order]) -> None:
        """Every row anew from ``orders`` (replayed from the rows, oldest first), in one
        transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM orders")
            conn.executemany(UPSERT, (row_of(o) for o in orders))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def rows(self) -> Iterator[IndexRow]:
        return iter(self._conn.execute(
            "SELECT order_id, signal_id, exchange_order_id, symbol, open FROM orders"))

    def digest(self) -> int:
        """The sum of every row's fingerprint: equal to the one of the orders the rows
        rebuild when the index agrees with them (audit), in constant memory."""
        return sum(fingerprint(r) for r in self.rows()) % DIGEST_MODULUS
