"""OrderBook: the only way to change an order, and it journals first."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from journal_tools import as_schema_1, execute, fingerprint, open_order, rows, spec

from fsm_executor import (
    Acknowledge,
    Cancel,
    CancelRejected,
    ConflictingFill,
    CorruptJournal,
    DuplicateOrder,
    FakeClock,
    Fill,
    FsmExecutorError,
    InvalidInput,
    InvalidTransition,
    LoseAnswer,
    Note,
    OrderBook,
    Overfill,
    Reject,
    RequestCancel,
    Resubmit,
    State,
    Submit,
    UnknownOrder,
    Withdraw,
    audit,
    replay,
)
from fsm_executor.core._memory import Memory


def test_create_journals_one_row_and_returns_a_created_order(
    book: OrderBook, journal_path: Path, clock: FakeClock
) -> None:
    order = book.create(spec("o1", "2", signal_id="sig-1"))
    assert order.state is State.CREATED
    assert order.created_at == clock.now()
    [row] = rows(journal_path)
    assert row[1:5] == ("o1", "create", "", "created")
    assert "o1" in book and len(book) == 1


def test_apply_commits_the_row_then_changes_the_order(
    book: OrderBook, journal_path: Path, clock: FakeClock
) -> None:
    book.create(spec())
    clock.advance(2)
    order = book.apply("o1", Submit())
    assert order.state is State.PENDING_SUBMIT
    assert order.updated_at == clock.now()
    last = rows(journal_path)[-1]
    assert last[1:5] == ("o1", "submit", "created", "pending_submit")
    assert last[7] == clock.now()
    assert book.get("o1") == order


def test_a_failed_append_leaves_the_order_unchanged_and_nothing_journaled(
    book: OrderBook, journal_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_order(book)
    before, head, journal_rows = book.get("o1"), book.journal.head, rows(journal_path)

    def disk_full(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(book.journal, "append", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        book.apply("o1", Fill("t1", "0.5", "100"))
    with pytest.raises(sqlite3.OperationalError):
        book.apply_all("o1", [Fill("t1", "0.5", "100"), RequestCancel()])
    with pytest.raises(sqlite3.OperationalError):
        book.create(spec("o2"))
    assert book.get("o1") == before
    assert "o2" not in book
    assert book.journal.head == head
    assert rows(journal_path) == journal_rows


def test_an_insert_refused_by_sqlite_changes_nothing_and_the_chain_continues(
    book: OrderBook, journal_path: Path
) -> None:
    # A real failure inside SQLite, not a patched method: a trigger aborts every insert.
    open_order(book)
    before, head = book.get("o1"), book.journal.head
    execute(journal_path, ["CREATE TRIGGER refuse BEFORE INSERT ON journal "
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END"])
    with pytest.raises(sqlite3.DatabaseError):
        book.apply("o1", Fill("t1", "0.5", "100"))
    with pytest.raises(sqlite3.DatabaseError):
        book.apply_all("o1", [Fill("t1", "0.5", "100"), Fill("t2", "0.5", "100")])
    assert book.get("o1") == before
    assert book.journal.head == head
    execute(journal_path, ["DROP TRIGGER refuse"])
    book.apply("o1", Fill("t1", "0.5", "100"))
    assert len(rows(journal_path)) == 4
    assert audit(journal_path).ok
    assert replay(journal_path)["o1"] == book.get("o1")


@pytest.mark.parametrize("event", [Acknowledge("x"), Fill("t1", "1", "100"), Cancel(),
                                   Resubmit(), LoseAnswer(), CancelRejected()])
def test_an_invalid_trigger_raises_and_journals_nothing(
    book: OrderBook, journal_path: Path, event: Any
) -> None:
    book.create(spec())
    before, journal_rows, files = book.get("o1"), rows(journal_path), fingerprint(journal_path)
    with pytest.raises(InvalidTransition) as info:
        book.apply("o1", event)
    assert (info.value.order_id, info.value.state, info.value.trigger) == (
        "o1", "created", event.trigger)
    assert rows(journal_path) == journal_rows
    assert fingerprint(journal_path) == files
    assert book.get("o1") == before


def test_a_repeated_fill_is_a_no_op_journaling_nothing(
    book: OrderBook, journal_path: Path
) -> None:
    open_order(book, amount="2")
    first = book.apply("o1", Fill("t1", "0.5", "100", "0.01", "USDT"))
    files = fingerprint(journal_path)
    again = book.apply("o1", Fill("t1", "0.5", "100", "0.01", "USDT"))
    assert again == first
    assert again.filled == Decimal("0.5")
    assert again.fees == {"USDT": Decimal("0.01")}
    assert fingerprint(journal_path) == files
    assert len(rows(journal_path)) == 4


def test_a_repeated_fill_in_equal_figures_spelled_otherwise_is_a_no_op(book: OrderBook) -> None:
    open_order(book, amount="2")
    book.apply("o1", Fill("t1", "0.5", "100"))
    assert book.apply("o1", Fill("t1", "0.50", "100.0")).filled == Decimal("0.5")


@pytest.mark.parametrize("other", [
    Fill("t1", "0.4", "100"), Fill("t1", "0.5", "101"), Fill("t1", "0.5", "100", "0.1", "USDT"),
])
def test_same_trade_id_with_other_figures_is_a_conflicting_fill(
    book: OrderBook, journal_path: Path, other: Fill
) -> None:
    open_order(book, amount="2")
    book.apply("o1", Fill("t1", "0.5", "100"))
    before, files = book.get("o1"), fingerprint(journal_path)
    with pytest.raises(ConflictingFill) as info:
        book.apply("o1", other)
    assert (info.value.order_id, info.value.trade_id) == ("o1", "t1")
    assert book.get("o1") == before
    assert fingerprint(journal_path) == files


def test_a_repeated_fill_after_the_order_completed_is_still_a_no_op(book: OrderBook) -> None:
    open_order(book)
    book.apply("o1", Fill("t1", "1", "100"))
    assert book.apply("o1", Fill("t1", "1", "100")).state is State.FILLED


@pytest.mark.parametrize("state_events", [[], [RequestCancel()]], ids=["open", "pending_cancel"])
def test_an_overfill_raises_and_leaves_totals_and_journal_intact(
    book: OrderBook, journal_path: Path, state_events: list[Any]
) -> None:
    open_order(book, amount="1")
    book.apply("o1", Fill("t1", "0.75", "100"))
    for event in state_events:
        book.apply("o1", event)
    before, files = book.get("o1"), fingerprint(journal_path)
    with pytest.raises(Overfill) as info:
        book.apply("o1", Fill("t2", "0.5", "100"))
    error = info.value
    assert (error.order_id, error.trade_id) == ("o1", "t2")
    assert (error.filled, error.amount, error.fill_amount) == (
        Decimal("0.75"), Decimal(1), Decimal("0.5"))
    assert book.get("o1") == before
    assert book.get("o1").filled == Decimal("0.75")
    assert fingerprint(journal_path) == files


def test_a_fill_exactly_completing_the_amount_fills_the_order(book: OrderBook) -> None:
    open_order(book, amount="1")
    book.apply("o1", Fill("t1", "0.3", "100"))
    assert book.apply("o1", Fill("t2", "0.7", "100")).state is State.FILLED
    assert book.get("o1").remaining == 0


def test_operations_on_an_unknown_order_raise_unknown_order(book: OrderBook) -> None:
    for call in (lambda: book.apply("nope", Fill("t1", "1", "100")),
                 lambda: book.apply_all("nope", [Submit()]),
                 lambda: book.get("nope"),
                 lambda: book.state_of("nope"),
                 lambda: book.memory("nope")):
        with pytest.raises(UnknownOrder) as info:
            call()
        assert info.value.order_id == "nope"
    assert len(book) == 0


def test_creating_an_order_twice_raises_duplicate_order_and_journals_nothing(
    book: OrderBook, journal_path: Path
) -> None:
    book.create(spec("o1", "1"))
    files = fingerprint(journal_path)
    with pytest.raises(DuplicateOrder) as info:
        book.create(spec("o1", "5"))
    assert info.value.order_id == "o1"
    assert book.get("o1").amount == 1
    assert fingerprint(journal_path) == files


def test_apply_all_commits_every_event_in_one_transaction(
    book: OrderBook, journal_path: Path
) -> None:
    book.create(spec("o1", "1"))
    order = book.apply_all("o1", [Submit(), Acknowledge("ex-1"), Fill("t1", "0.4", "100"),
                                  Fill("t1", "0.4", "100"), Fill("t2", "0.6", "100")])
    assert order.state is State.FILLED
    assert order.exchange_order_id == "ex-1"
    triggers = [(r[2], r[3], r[4]) for r in rows(journal_path)[1:]]
    assert triggers == [("submit", "created", "pending_submit"),
                        ("acknowledge", "pending_submit", "submitted"),
                        ("fill", "submitted", "partially_filled"),
                        ("fill", "partially_filled", "filled")]
    assert replay(journal_path)["o1"] == order


@pytest.mark.parametrize(("events", "error"), [
    ([Submit(), Acknowledge("ex-1"), Submit()], InvalidTransition),
    ([Submit(), Acknowledge("ex-1"), Fill("t1", "5", "100")], Overfill),
    ([Submit(), Acknowledge("ex-1"), Fill("t1", "0.5", "100"), Fill("t1", "0.1", "100")],
     ConflictingFill),
], ids=["illegal", "overfill", "conflict"])
def test_apply_all_is_atomic_when_a_later_event_is_refused(
    book: OrderBook, journal_path: Path, events: list[Any], error: type[Exception]
) -> None:
    book.create(spec("o1", "1"))
    before, files = book.get("o1"), fingerprint(journal_path)
    with pytest.raises(error):
        book.apply_all("o1", events)
    assert book.get("o1") == before
    assert fingerprint(journal_path) == files
    assert len(rows(journal_path)) == 1
    assert book.apply("o1", Submit()).state is State.PENDING_SUBMIT


def test_apply_all_of_nothing_new_journals_nothing(book: OrderBook, journal_path: Path) -> None:
    open_order(book, amount="2")
    book.apply("o1", Fill("t1", "1", "100"))
    files = fingerprint(journal_path)
    assert book.apply_all("o1", []).filled == 1
    assert book.apply_all("o1", [Fill("t1", "1", "100")]).filled == 1
    assert fingerprint(journal_path) == files


def test_filled_never_decreases_and_is_the_sum_of_fills(book: OrderBook) -> None:
    open_order(book, amount="3")
    seen = [Decimal(0)]
    for i, amount in enumerate(["0.5", "0.25", "0.25", "1", "1"]):
        order = book.apply("o1", Fill(f"t{i}", amount, "100"))
        assert order.filled >= seen[-1]
        assert order.filled == sum(f.amount for f in order.fills.values())
        seen.append(order.filled)
    assert seen[-1] == 3
    assert book.get("o1").state is State.FILLED


def test_average_price_and_fees_per_currency(book: OrderBook) -> None:
    open_order(book, amount="4")
    book.apply("o1", Fill("t1", "1", "100", "0.1", "USDT"))
    book.apply("o1", Fill("t2", "2", "103", "0.0001", "BTC"))
    order = book.apply("o1", Fill("t3", "1", "104", "0.2", "USDT"))
    assert order.average == Decimal("102.5")
    assert order.fees == {"USDT": Decimal("0.3"), "BTC": Decimal("0.0001")}
    assert order.cost == Decimal("410")


@pytest.mark.parametrize("index", ["kept", "rebuilt"])
def test_an_orders_decision_counts_survive_a_reopening_whether_or_not_the_index_is_rebuilt(
        journal_path: Path, clock: FakeClock, index: str) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(spec("o1"))
        book.apply("o1", Submit())
        book.apply("o1", LoseAnswer("answer lost"))
        for n in (1, 2):
            book.apply("o1", Note("not_found", f"lookup {n}"))
        before = book.memory("o1")
    assert (before.sends, before.not_found) == (1, 2)
    if index == "rebuilt":
        as_schema_1(journal_path)  # no index: the rows are all read again
    with OrderBook.open(journal_path, clock=clock) as book:
        assert (book.index_rebuilt is None) == (index == "kept")
        assert book.memory("o1") == before


def test_reopening_the_book_from_the_file_gives_the_same_orders(
    journal_path: Path, clock: FakeClock
) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        open_order(book, "o1", amount="2", signal_id="sig-1")
        clock.advance(1)
        book.apply("o1", Fill("t1", "0.5", "100", "0.01", "USDT"))
        book.create(spec("o2", signal_id="sig-2"))
        book.apply("o2", Withdraw("changed my mind"))
        open_order(book, "o3")
        book.apply("o3", RequestCancel("stale"))
        book.apply("o3", Note("odd_answer", "seen twice"))
        live = list(book.orders())
        head = book.journal.head
    with OrderBook.open(journal_path, clock=clock) as book:
        assert list(book.orders()) == live
        assert book.journal.head == head
        assert book.by_signal("sig-1") == live[0]
        assert book.get("o2").reason == "changed my mind"
        book.apply("o1", Fill("t2", "1.5", "100"))
        assert book.state_of("o1") is State.FILLED


def test_by_signal_finds_the_order_of_a_signal(book: OrderBook) -> None:
    book.create(spec("o1", signal_id="sig-1"))
    book.create(spec("o2"))
    book.apply("o1", Submit())
    found = book.by_signal("sig-1")
    assert found is not None
    assert found.client_order_id == "o1"
    assert found.state is State.PENDING_SUBMIT
    assert book.by_signal("sig-2") is None


def test_unfinished_lists_non_terminal_orders_oldest_first(book: OrderBook) -> None:
    for order_id in ("a", "b", "c", "d"):
        book.create(spec(order_id))
    book.apply("b", Withdraw())
    book.apply("d", Submit())
    book.apply("d", Reject("InsufficientFunds"))
    assert [o.client_order_id for o in book.unfinished()] == ["a", "c"]


def test_unfinished_follows_group_commits_and_a_reopened_journal(
    journal_path: Path, clock: FakeClock
) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        for order_id in ("a", "b", "c"):
            book.create(spec(order_id))
        book.apply_many([("a", [Submit(), Reject("InsufficientFunds")]), ("c", [Submit()])])
        assert [o.client_order_id for o in book.unfinished()] == ["b", "c"]
    with OrderBook.open(journal_path, clock=clock) as book:
        assert [o.client_order_id for o in book.unfinished()] == ["b", "c"]
        book.apply("b", Withdraw())
        book.create(spec("d"))
        assert [o.client_order_id for o in book.unfinished()] == ["c", "d"]


def test_reasons_are_kept_from_the_exchange(book: OrderBook) -> None:
    book.create(spec("o1"))
    book.apply("o1", Submit())
    book.apply("o1", LoseAnswer("timeout"))
    assert book.get("o1").reason is None  # losing an answer is not a reason to end
    book.apply("o1", Reject("InsufficientFunds: balance too low"))
    assert book.get("o1").reason == "InsufficientFunds: balance too low"
    assert book.get("o1").state is State.FAILED


def test_note_journals_a_row_without_changing_state_even_when_terminal(
    book: OrderBook, journal_path: Path
) -> None:
    book.create(spec())
    book.apply("o1", Withdraw())
    order = book.apply("o1", Note("late_answer", "the exchange said filled"))
    assert order.state is State.CANCELLED
    assert rows(journal_path)[-1][2:5] == ("note", "cancelled", "cancelled")


def test_cancel_rejected_returns_to_partially_filled_only_with_fills(book: OrderBook) -> None:
    open_order(book, "o1", amount="2")
    open_order(book, "o2", amount="2")
    book.apply("o1", Fill("t1", "1", "100"))
    for order_id in ("o1", "o2"):
        book.apply(order_id, RequestCancel())
    assert book.apply("o1", CancelRejected()).state is State.PARTIALLY_FILLED
    assert book.apply("o2", CancelRejected()).state is State.SUBMITTED


def test_fills_racing_a_cancel_are_kept_and_can_complete_the_order(book: OrderBook) -> None:
    open_order(book, amount="1")
    book.apply("o1", RequestCancel())
    assert book.apply("o1", Fill("t1", "0.5", "100")).state is State.PENDING_CANCEL
    assert book.apply("o1", Fill("t2", "0.5", "100")).state is State.FILLED


def test_orders_hands_out_snapshots(book: OrderBook) -> None:
    open_order(book)
    [snapshot] = book.orders()
    snapshot.state = State.FAILED
    assert book.state_of("o1") is State.SUBMITTED


def test_every_order_rebuilt_names_the_file_of_a_row_it_cannot_follow(
        journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book, "o1")
        book.apply("o1", Fill("t1", "1", "100"))  # row 4: filled, let go
        open_order(book, "o2")
    execute(journal_path, [("UPDATE journal SET dest = 'cancelled' WHERE seq = 4", ())])
    # Opening rebuilds the open orders only; orders() rebuilds them all.
    with OrderBook.open(journal_path) as book:
        with pytest.raises(CorruptJournal) as info:
            list(book.orders())
        assert info.value.path == str(journal_path) and info.value.seq == 4
        assert str(info.value).startswith(f"{journal_path}: order 'o1': 'fill' recorded as ")
        with pytest.raises(CorruptJournal) as alone:  # read back on its own, as get does
            book.get("o1")
        assert (alone.value.path, alone.value.seq) == (str(journal_path), 4)


def test_opening_names_the_file_of_an_open_orders_row_it_cannot_follow(
        journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book, "o1")  # rows 1-3, still open
    execute(journal_path, [("UPDATE journal SET dest = 'filled' WHERE seq = 3", ())])
    with pytest.raises(CorruptJournal) as info:
        OrderBook.open(journal_path)
    assert info.value.path == str(journal_path) and info.value.seq == 3
    assert str(info.value).startswith(f"{journal_path}: order 'o1': 'acknowledge' recorded as ")


def test_orders_are_snapshots_as_get_gives_them_finished_or_not(book: OrderBook) -> None:
    open_order(book, "o1")
    book.apply("o1", Fill("t1", "1", "100"))  # filled: the book lets it go
    open_order(book, "o2")
    book.apply("o2", Fill("t2", "0.5", "100"))
    orders = list(book.orders())
    assert orders == [book.get("o1"), book.get("o2")]
    for order in orders:
        with pytest.raises(TypeError):
            order.fills["t9"] = order.fills[next(iter(order.fills))]  # type: ignore[index]


def test_rows_say_live_unless_the_caller_says_otherwise(
    book: OrderBook, journal_path: Path
) -> None:
    book.create(spec("o1"))
    book.apply("o1", Submit())
    book.apply_all("o1", [Acknowledge("ex-1"), Fill("t1", "0.5", "100")])
    book.apply_many([("o1", [Note("seen", "live")])])
    book.create(spec("o2"), origin="reconcile")
    book.apply("o2", Withdraw("found cancelled"), origin="reconcile")
    book.apply_all("o1", [Note("seen", "by recovery")], origin="reconcile")
    book.apply_many([("o1", [Note("seen", "by recovery, grouped")])], origin="reconcile")
    assert [(r[1], r[2], r[6]) for r in rows(journal_path)] == [
        ("o1", "create", "live"), ("o1", "submit", "live"), ("o1", "acknowledge", "live"),
        ("o1", "fill", "live"), ("o1", "note", "live"), ("o2", "create", "reconcile"),
        ("o2", "withdraw", "reconcile"), ("o1", "note", "reconcile"),
        ("o1", "note", "reconcile")]


def test_opening_records_the_injected_clocks_time_not_the_systems(journal_path: Path) -> None:
    # The time a journal is created, and the time a writer migrates it, are the clock's.
    with OrderBook.open(journal_path, clock=FakeClock(1234.5)):
        pass
    assert dict(query(journal_path, "SELECT key, value FROM meta"))["created_at"] == "1234.5"
    assert query(journal_path, "SELECT version, applied_at FROM migrations") == [(2, 1234.5)]
    as_schema_1(journal_path)
    OrderBook.open(journal_path, clock=FakeClock(2000.25)).close()
    assert query(journal_path, "SELECT version, applied_at FROM migrations ORDER BY version"
                 ) == [(1, 0.0), (2, 2000.25)]


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


class IntClock:
    """A clock whose ``now`` returns whole seconds: an int is a valid float for type checkers."""

    def now(self) -> float:
        return 1_700_000_000

    def sleep(self, seconds: float) -> None:
        pass


def test_a_clock_returning_whole_seconds_gives_a_journal_that_audits_clean(
    journal_path: Path,
) -> None:
    with OrderBook.open(journal_path, clock=IntClock()) as book:
        open_order(book)
    assert audit(journal_path).ok


def test_mutating_a_snapshot_cannot_make_the_book_journal_a_fill_twice(
    book: OrderBook, journal_path: Path
) -> None:
    open_order(book, amount="2")
    book.apply("o1", Fill("t1", "1", "100"))
    snapshot = book.get("o1")
    with pytest.raises(TypeError):
        snapshot.fills["t1"] = Fill("t1", "2", "100")  # type: ignore[index]
    with pytest.raises(AttributeError):
        snapshot.fills.clear()  # type: ignore[attr-defined]
    book.apply("o1", Fill("t1", "1", "100"))  # the exchange re-sends the trade
    assert book.get("o1").filled == 1
    assert replay(journal_path)["o1"] == book.get("o1")


def test_an_id_that_cannot_be_journaled_is_refused_as_invalid_input(book: OrderBook) -> None:
    with pytest.raises(InvalidInput):
        book.create(spec("o\ud800"))


def test_an_amount_beyond_decimal_arithmetic_is_refused_up_front(book: OrderBook) -> None:
    try:
        open_order(book, amount="1e1000000")
    except FsmExecutorError:
        return  # refused at the boundary: fine
    book.apply("o1", Fill("t1", "1e1000000", "1"))
    assert book.state_of("o1") is State.FILLED


def closed_in_file(path: Path) -> set[str]:
    """The orders the file's orders index holds finished."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT order_id FROM orders WHERE NOT open")}
    finally:
        conn.close()


def test_finished_orders_index_rows_are_written_with_the_commit_that_defers_the_64th(
        book: OrderBook, journal_path: Path) -> None:
    # A finished order's index row waits for the next create or for others (a page or two
    # saved a commit); the commit that finishes the 64th order writes them all. Orders
    # without a signal each keep their own; an order ended with a fill still inferred
    # stays open and waits for nothing.
    from fsm_executor.journal._book import _DEFERRED

    finished = sorted(f"o{i:02}" for i in range(_DEFERRED))
    for cid in ["u", *finished]:
        open_order(book, cid)
    book.apply("u", Fill("i1", "1", "100", inferred=True))
    assert book.get("u").is_terminal and book.unsettled()[0].client_order_id == "u"
    for cid in finished:
        assert closed_in_file(journal_path) == set()
        book.apply(cid, Fill(f"t-{cid}", "1", "100"))
    assert closed_in_file(journal_path) == set(finished)
    book.close()
    assert closed_in_file(journal_path) == set(finished)
    with OrderBook.open(journal_path) as again:
        assert again.index_caught_up == 0
        assert [o.client_order_id for o in again.unsettled()] == ["u"]


def test_a_finished_orders_decision_counts_are_let_go(book: OrderBook) -> None:
    open_order(book, "o1")  # a submit: one send counted
    assert book.memory("o1").sends == 1
    book.apply("o1", Fill("t1", "1", "100"))
    assert book.memory("o1") == Memory()


def test_a_finished_order_whose_rows_are_archived_says_so(
        journal_path: Path, clock: FakeClock) -> None:
    from fsm_executor import OrderArchived
    from fsm_executor.journal._archive import archive

    with OrderBook.open(journal_path, clock=clock) as book:
        open_order(book, "o1")
        book.apply("o1", Fill("t1", "1", "100"))
        clock.advance(100)
        open_order(book, "o2")
    archive(journal_path, before=clock.now() - 50, clock=clock)
    with OrderBook.open(journal_path, clock=clock) as book:
        with pytest.raises(OrderArchived) as info:
            book.get("o1")
        assert info.value.order_id == "o1"
        assert book.get("o2").state is State.SUBMITTED


def test_a_move_only_old_journals_hold_is_refused_naming_order_state_and_trigger(
        book: OrderBook) -> None:
    from fsm_executor import Abandon

    book.create(spec("o1"))
    book.apply("o1", Submit())
    book.apply("o1", LoseAnswer("timeout"))
    for event in (Resubmit(), Abandon("x")):  # what 0.1 wrote; replayed, never written
        with pytest.raises(InvalidTransition) as info:
            book.apply("o1", event)
        assert (info.value.order_id, info.value.state, info.value.trigger) == (
            "o1", "submit_unknown", event.trigger)
