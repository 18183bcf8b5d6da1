"""Helpers for tests that look at (or tamper with) a journal file from the outside."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fsm_executor import (
    Acknowledge,
    CancelRejected,
    Expire,
    FakeClock,
    Fill,
    LoseAnswer,
    Note,
    Order,
    OrderBook,
    OrderSpec,
    PresumeAbsent,
    Reject,
    RequestCancel,
    State,
    Submit,
)

COLUMNS = ("seq", "order_id", "trigger", "source", "dest", "payload", "origin", "ts", "hash")
TEXT_COLUMNS = ("order_id", "trigger", "source", "dest", "payload", "origin", "hash")


def rows(path: Path) -> list[tuple[Any, ...]]:
    """Every journal row, read without going through the library."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM journal ORDER BY seq").fetchall()
    finally:
        conn.close()


def states(orders: Mapping[str, Order]) -> dict[str, int]:
    """How many orders end in each state, as ``AuditReport.by_state`` counts them."""
    counts = Counter(o.state for o in orders.values())
    return {s.value: counts[s] for s in State if counts[s]}


def as_schema_1(path: Path) -> None:
    """Make a closed journal what schema 1 wrote: no orders index (_index.py)."""
    execute(path, ["DROP TABLE orders",
                   "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
                   "DELETE FROM migrations", "INSERT INTO migrations VALUES (1, 0.0)"])


def sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def fingerprint(path: Path) -> tuple[str | None, str | None]:
    """The bytes of the database file and of its write-ahead log: any write changes one."""
    return sha256(path), sha256(path.with_name(path.name + "-wal"))


def execute(path: Path, statements: Sequence[tuple[str, Sequence[Any]] | str]) -> None:
    """Run SQL against the file, as an attacker or a bad disk would."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            for statement in statements:
                if isinstance(statement, str):
                    conn.execute(statement)
                else:
                    conn.execute(*statement)
    finally:
        conn.close()


def spec(order_id: str = "o1", amount: str = "1", **changes: Any) -> OrderSpec:
    fields: dict[str, Any] = {
        "client_order_id": order_id, "symbol": "BTC/USDT", "side": "buy", "type": "limit",
        "amount": amount, "price": "100",
    }
    fields.update(changes)
    return OrderSpec(**fields)


def open_order(book: OrderBook, order_id: str = "o1", amount: str = "1", **changes: Any) -> None:
    """Create ``order_id`` and bring it to ``submitted`` (three journal rows)."""
    book.create(spec(order_id, amount, **changes))
    book.apply(order_id, Submit())
    book.apply(order_id, Acknowledge(f"ex-{order_id}"))



def build_scenario(book: OrderBook, clock: FakeClock) -> None:
    """Three orders through most of the table, the clock moving: 20 journal rows."""
    clock.advance(1)
    open_order(book, "o1", "1", signal_id="sig-1")                          # rows 1-3
    book.apply("o1", Fill("t1", "0.4", "100", "0.04", "USDT"))              # 4
    clock.advance(0.5)
    book.apply("o1", Fill("t2", "0.6", "101", "0.0001", "BTC"))             # 5: filled
    book.create(spec("o2", "2", type="market", price=None))                 # 6
    book.apply("o2", Submit())                                              # 7
    clock.advance(30)
    book.apply("o2", LoseAnswer("timeout"))                                 # 8
    book.apply("o2", PresumeAbsent("not found past the grace period"))      # 9
    book.apply("o2", Reject("InsufficientFunds"))                           # 10: failed
    open_order(book, "o3", "3")                                             # 11-13
    clock.advance(0.001)
    book.apply("o3", RequestCancel("stale"))                                # 14
    book.apply("o3", Fill("t3", "1", "99"))                                 # 15
    book.apply("o3", CancelRejected("order is filling"))                    # 16
    book.apply("o3", Note("odd_answer", "status 'open' after cancel"))      # 17
    clock.advance(7)
    book.apply_all("o3", [Fill("t4", "1", "99"), Expire("end of session")])  # 18-19
    book.apply("o1", Note("late_fill_seen", "t2 again"))                    # 20



def page_size(path: Path) -> int:
    """From the file's header (a connection would leave a -wal and -shm beside it)."""
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def root_page(path: Path, table: str) -> int:
    """The page number of ``table``'s b-tree root (the whole table, while it fits a page)."""
    conn = sqlite3.connect(path)  # the last connection to close: nothing left beside the file
    try:
        return int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                                (table,)).fetchone()[0])
    finally:
        conn.close()


def page_holding(path: Path, text: str) -> int:
    """The number of the one page of the (closed, checkpointed) file whose bytes hold
    ``text``: a leaf of the table that stores it."""
    data, size = path.read_bytes(), page_size(path)
    at = data.index(text.encode())
    assert data.find(text.encode(), at + 1) == -1, "the text is on more than one page"
    return at // size + 1


def smash_page(path: Path, page: int) -> None:
    """Overwrite one page of a closed journal with bytes no b-tree page starts with, as a
    bad disk would: SQLite then finds "database disk image is malformed" on reaching it."""
    assert not Path(f"{path}-wal").exists(), "the page may live on in the write-ahead log"
    assert page > 1, "page 1 holds the file header and the schema"
    size = page_size(path)
    with path.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xff" * size)
