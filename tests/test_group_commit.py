"""Group commit: the rows of many orders that move at the same moment commit in one
transaction; an order whose events are refused journals nothing and holds the others up
not at all; when the call returns, every row in it is committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fsm_executor import (
    Acknowledge,
    FakeClock,
    Fill,
    InvalidInput,
    InvalidTransition,
    JournalReader,
    Order,
    OrderBook,
    OrderSpec,
    State,
    Submit,
    audit,
    replay,
)

N = 50


@pytest.fixture
def book(journal_path: Path) -> Any:
    with OrderBook.open(journal_path, clock=FakeClock()) as book:
        for i in range(N):
            book.create(OrderSpec(f"c{i}", "BTC/USDT", "buy", "limit", "1", "100"))
        yield book


def test_many_orders_moving_at_once_commit_in_one_transaction(
        book: OrderBook, journal_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    appends: list[int] = []
    append = book.journal.append
    monkeypatch.setattr(book.journal, "append",
                        lambda rows, ts, *more: appends.append(len(rows))
                        or append(rows, ts, *more))
    before = int(book.journal.head.split(":")[0])
    result = book.apply_many((f"c{i}", [Submit(), Acknowledge(f"E{i}")]) for i in range(N))
    assert appends == [2 * N]
    assert all(isinstance(o, Order) and o.state is State.SUBMITTED for o in result.values())
    result["c0"].state = State.FAILED  # type: ignore[union-attr]
    assert book.get("c0").state is State.SUBMITTED  # snapshots: the book's own untouched
    assert [o.exchange_order_id for o in result.values()] == [f"E{i}" for i in range(N)]
    with JournalReader(journal_path) as reader:  # another connection: committed
        rows = [e for e in reader.entries() if e.seq > before]
    assert [e.seq for e in rows] == list(range(before + 1, before + 1 + 2 * N))
    assert len({e.ts for e in rows}) == 1
    assert replay(journal_path) == {o.client_order_id: o for o in book.orders()}
    assert audit(journal_path).ok


def test_a_refused_order_journals_nothing_and_the_others_commit(
        book: OrderBook, journal_path: Path) -> None:
    result = book.apply_many([
        ("c0", [Submit()]),
        ("c1", [Submit(), Fill("t1", "1", "100")]),  # a fill before any acknowledgement
        ("nobody", [Submit()]),
        ("c2", [Submit(), Acknowledge("E2")]),
    ])
    assert isinstance(result["c1"], InvalidTransition)
    assert type(result["nobody"]).__name__ == "UnknownOrder"
    assert result["c0"].state is State.PENDING_SUBMIT  # type: ignore[union-attr]
    assert result["c2"].state is State.SUBMITTED  # type: ignore[union-attr]
    assert book.get("c1").state is State.CREATED
    triggers = [e.trigger for e in JournalReader(journal_path).entries()
                if e.order_id == "c1"]
    assert triggers == ["create"]


def test_an_order_twice_in_one_group_is_refused_before_anything_is_written(
        book: OrderBook) -> None:
    head = book.journal.head
    with pytest.raises(InvalidInput) as info:
        book.apply_many([("c0", [Submit()]), ("c0", [Acknowledge("E0")])])
    assert str(info.value) == ("order 'c0' appears twice in one group commit: give its "
                               "events together")
    assert book.journal.head == head and book.get("c0").state is State.CREATED


def test_a_group_with_nothing_to_write_writes_nothing(book: OrderBook) -> None:
    book.apply("c0", Submit())
    book.apply("c0", Acknowledge("E0"))
    book.apply("c0", Fill("t1", "0.5", "100"))
    head = book.journal.head
    result = book.apply_many([("c0", [Fill("t1", "0.5", "100")])])  # seen before
    assert book.journal.head == head and result["c0"].filled == 1 / 2  # type: ignore[union-attr]
