"""Journaled transitions per second with 1,000 orders in flight, each committed alone and
all of one moment committed together (``OrderBook.apply_many``), against the two floors
measured in the same run: a raw sqlite3 INSERT + COMMIT per row, and the same rows inserted
in one transaction (WAL, synchronous=NORMAL, rows of the journal's size).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import line

from fsm_executor import Acknowledge, FakeClock, Fill, OrderBook, OrderSpec, Submit

IN_FLIGHT = 1_000
ROUNDS = 5
ROW_BYTES = 198


def per_second(n: int, body: Callable[[], None]) -> float:
    start = time.perf_counter()
    body()
    return n / (time.perf_counter() - start)


def journaled(tmp: Path, name: str, grouped: bool) -> float:
    """Three moments (submit, acknowledge, fill) of 1,000 orders."""
    book = OrderBook.open(tmp / f"{name}.db", clock=FakeClock())
    cids = [f"fsmx-{name}-{i:06d}" for i in range(IN_FLIGHT)]
    for i, cid in enumerate(cids):
        book.create(OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.5", "30000.5", f"s{i}"))
    moments = [lambda c, i: [Submit()], lambda c, i: [Acknowledge(f"{1_000_000 + i}")],
               lambda c, i: [Fill(f"t{i}", "0.2", "30000.5", "0.0001", "BTC", 1.7e9)]]

    def body() -> None:
        for events in moments:
            if grouped:
                book.apply_many((c, events(c, i)) for i, c in enumerate(cids))
            else:
                for i, c in enumerate(cids):
                    book.apply_all(c, events(c, i))

    rate = per_second(IN_FLIGHT * len(moments), body)
    book.close()
    return rate


def raw(tmp: Path, name: str, grouped: bool) -> float:
    conn = sqlite3.connect(tmp / f"{name}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    rows = [("x" * ROW_BYTES,)] * IN_FLIGHT

    def body() -> None:
        for _ in range(3):
            if grouped:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO t (body) VALUES (?)", rows)
                conn.execute("COMMIT")
            else:
                for row in rows:
                    conn.execute("INSERT INTO t (body) VALUES (?)", row)

    rate = per_second(3 * IN_FLIGHT, body)
    conn.close()
    return rate


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    results: dict[str, list[float]] = {k: [] for k in ("single", "floor1", "group", "floorN")}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for r in range(ROUNDS):
            results["single"].append(journaled(tmp, f"single{r}", grouped=False))
            results["floor1"].append(raw(tmp, f"floor1_{r}", grouped=False))
            results["group"].append(journaled(tmp, f"group{r}", grouped=True))
            results["floorN"].append(raw(tmp, f"floorN_{r}", grouped=True))
    single, floor1 = median(results["single"]), median(results["floor1"])
    group, floor_n = median(results["group"]), median(results["floorN"])
    print(f"group commit, {IN_FLIGHT:,} orders in flight (3 moments: submit, acknowledge, fill)")
    line("floor: a raw INSERT+COMMIT per row", f"{floor1:,.0f}/s")
    line("one commit per order (apply_all)", f"{single:,.0f}/s",
         f"{floor1 / single:.2f}x under its floor")
    line("floor: the rows of a moment in one transaction", f"{floor_n:,.0f}/s")
    line("one commit per moment (apply_many)", f"{group:,.0f}/s",
         f"{floor_n / group:.2f}x under its floor")
    line("grouped against one commit per order", f"{group / single:.1f}x")


if __name__ == "__main__":
    main()
