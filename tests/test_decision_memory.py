"""What the decisions count lives in the journal, so a restart continues the same budgets;
deadlines and intervals run on monotonic time, so a wall-clock jump moves none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import ccxt
import pytest
from executor_tools import ScheduledClock, notes, triggers

from fsm_executor import (
    Acknowledge,
    LoseAnswer,
    Note,
    OrderBook,
    OrderInDoubt,
    OrderSpec,
    PresumeAbsent,
    RequestCancel,
    Resubmit,
    State,
    Submit,
    TradeExecutor,
    audit,
)
from fsm_executor.core._memory import Memory
from fsm_executor.core._profiles import PROFILES
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "not_found_confirmations": 3, "not_found_interval_seconds": 2, "jitter": 0.0}
BTC = "BTC/USDT"
CID = "fsmxM1"


class CountingVenue(PaperExchange):
    """The paper venue, counting create and cancel requests."""

    creates = cancels = 0

    def create_order(self, *args: Any, **kwargs: Any) -> Any:
        self.creates += 1
        return super().create_order(*args, **kwargs)

    def cancel_order(self, *args: Any, **kwargs: Any) -> Any:
        self.cancels += 1
        return super().cancel_order(*args, **kwargs)


@pytest.fixture
def clock() -> ScheduledClock:
    return ScheduledClock()


class ExchangeTime:
    """The exchange's own clock: it runs on, whatever happens to this machine's wall clock."""

    def __init__(self, clock: ScheduledClock) -> None:
        self._clock, self._offset = clock, clock.now() - clock.monotonic()

    def now(self) -> float:
        return self._clock.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)


def venue_for(clock: ScheduledClock, imitate: str = "binance") -> CountingVenue:
    return CountingVenue(ExchangeTime(clock), seed=3, fill_probability=1.0,  # type: ignore[arg-type]
                         imitate=imitate)


def in_doubt(path: Path, clock: ScheduledClock, *events: Any) -> None:
    """A journal left by a run that stopped: an order whose create answer was lost, then
    ``events``."""
    with OrderBook.open(path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "27000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, LoseAnswer("timeout"))
        for event in events:
            book.apply(CID, event)


def test_a_memory_copy_has_every_count_and_changes_apart() -> None:
    # Distinct values in every field: a field the copy forgot would show.
    values = [i + 1 if f.type in (int, "int") else float(i + 1)
              for i, f in enumerate(attrs.fields(Memory))]
    memory = Memory(*values)
    copy = memory.copy()
    assert copy == memory and copy is not memory
    copy.sends += 1
    assert memory.sends == values[0]


def test_the_journal_holds_the_counts_and_a_reopened_book_reads_them(
        journal_path: Path, clock: ScheduledClock) -> None:
    in_doubt(journal_path, clock, Note("not_found", "1"), Note("not_found", "2"))
    with OrderBook.open(journal_path, clock=clock) as book:
        memory = book.memory(CID)
    assert (memory.sends, memory.not_found, memory.cancels) == (1, 2, 0)
    assert memory.sent_at == memory.first_sent_at == clock.now()


def test_not_found_answers_before_a_restart_count_toward_the_confirmations(
        journal_path: Path, clock: ScheduledClock) -> None:
    in_doubt(journal_path, clock, Note("not_found", "1"), Note("not_found", "2"))
    clock.advance(60)  # past Binance's visibility grace
    venue = venue_for(clock)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        report = executor.recover()
    # The third answer completes the three confirmations: one lookup, not three more.
    assert notes(journal_path, CID).count("not_found") == 3
    assert report.presumed_absent == (CID,)
    assert venue.creates == 0


def test_placements_sent_before_a_restart_spend_the_resend_budget(
        journal_path: Path, clock: ScheduledClock) -> None:
    # On an exchange where a same-id re-send is safe (Bybit), a presumed-absent order is
    # sent again while the budget allows: 1 + max_retries placements in all, whatever the
    # restarts in between.
    events = []
    for _ in range(CONFIG["max_retries"]):
        events += [PresumeAbsent("not found"), Resubmit(), LoseAnswer("timeout")]
    in_doubt(journal_path, clock, *events, PresumeAbsent("not found"))
    clock.advance(60)
    venue = venue_for(clock, "bybit")
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1,
                       profile=PROFILES["bybit"]) as executor:
        assert executor.book.memory(CID).sends == 1 + CONFIG["max_retries"]
        order = executor.execute_signal({"id": "sig-m", "symbol": BTC, "side": "buy",
                                         "amount": "0.01", "price": "27000"})
    assert order.state is State.PRESUMED_ABSENT
    assert venue.creates == 0, "the budget was spent before the restart"
    assert "resubmit" in triggers(journal_path, CID)


def test_a_recovery_renews_the_cancel_budget_spent_before_a_restart(
        journal_path: Path, clock: ScheduledClock) -> None:
    # Four attempts journaled, each cut short by a crash (the async SIGKILL harness, seed
    # 34): a recovery that never sent again would leave the order resting for ever.
    venue = venue_for(clock)
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": CID})
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "20000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, Acknowledge(placed["id"]))
        book.apply(CID, RequestCancel("timed out"))
        for attempt in range(1 + CONFIG["max_retries"]):
            book.apply(CID, Note("cancel_sent", f"cancel request {attempt + 1}"))
    clock.advance(60)  # visible for long: a not-found would be evidence
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        report = executor.recover()
        assert executor.book.state_of(CID) is State.CANCELLED
    assert not report.in_doubt
    assert venue.cancels == 1
    assert notes(journal_path, CID).count("cancel_sent") == 5


class IneffectiveCancels(CountingVenue):
    """Every cancel accepted, none taking effect: the order keeps resting."""

    def cancel_order(self, id: str, symbol: str | None = None, params: Any = None) -> Any:
        self.cancels += 1
        return self.fetch_order(id, symbol)


def test_each_recovery_spends_a_budget_of_its_own_and_the_live_path_does_not_renew(
        journal_path: Path, clock: ScheduledClock) -> None:
    venue = IneffectiveCancels(ExchangeTime(clock), seed=3, fill_probability=0.0)  # type: ignore[arg-type]
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": CID})
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "20000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, Acknowledge(placed["id"]))
        book.apply(CID, RequestCancel("timed out"))
    clock.advance(60)
    attempts = 1 + CONFIG["max_retries"]
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        for recovery in (1, 2):
            report = executor.recover()
            assert "after 4 attempts" in str(report.in_doubt[0])
            assert venue.cancels == recovery * attempts
        with pytest.raises(OrderInDoubt, match="after 8 attempts"):
            executor.cancel(CID)  # a look, no cancel: the order's own budget is spent
    assert venue.cancels == 2 * attempts


def test_an_orders_timeout_runs_from_its_first_placement_across_a_restart(
        journal_path: Path, clock: ScheduledClock) -> None:
    venue = venue_for(clock)
    start = clock.now()
    signal = {"id": "sig-r", "symbol": BTC, "side": "buy", "amount": "0.01",
              "price": str(venue.mid(BTC) * 9 // 10)}
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        clock.at(20, lambda: (_ for _ in ()).throw(KeyboardInterrupt))  # the process stops
        with pytest.raises(KeyboardInterrupt):
            executor.execute_signal(signal)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=2) as executor:
        order = executor.execute_signal(signal)
    assert order.state is State.CANCELLED and "within 30s" in (order.reason or "")
    # Cancelled 30 s after it was first sent, not 30 s after the restart.
    assert 30 <= clock.now() - start < 33
    assert audit(journal_path).ok


@pytest.mark.parametrize("jump", [3600.0, -3600.0])
def test_a_wall_clock_jump_moves_no_deadline(journal_path: Path, clock: ScheduledClock,
                                             jump: float) -> None:
    venue = venue_for(clock)
    start = clock.monotonic()
    signal = {"id": "sig-j", "symbol": BTC, "side": "buy", "amount": "0.01",
              "price": str(venue.mid(BTC) * 9 // 10)}
    clock.at(10, lambda: clock.jump(jump))
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        order = executor.execute_signal(signal)
    assert order.state is State.CANCELLED
    assert 30 <= clock.monotonic() - start < 33


def test_a_cancel_with_its_budget_spent_raises_in_doubt_without_sending(
        journal_path: Path, clock: ScheduledClock) -> None:
    venue = venue_for(clock)
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": CID})
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "20000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, Acknowledge(placed["id"]))
        book.apply(CID, RequestCancel("asked"))
        for attempt in range(4):
            book.apply(CID, Note("cancel_sent", str(attempt)))
    clock.advance(60)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor, \
            pytest.raises(OrderInDoubt):
        executor.cancel(CID)
    assert venue.cancels == 0


class RefusingCancels(CountingVenue):
    """Every cancel answered -2011 "Unknown order sent." while the order rests."""

    def cancel_order(self, *args: Any, **kwargs: Any) -> Any:
        self.cancels += 1
        raise ccxt.OrderNotFound('paper {"code":-2011,"msg":"Unknown order sent."}')


def test_refused_cancels_inside_the_visibility_grace_still_spend_the_budget(
        journal_path: Path, clock: ScheduledClock) -> None:
    venue = RefusingCancels(ExchangeTime(clock), seed=3, fill_probability=1.0)  # type: ignore[arg-type]
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": CID})
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "20000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, Acknowledge(placed["id"]))
    clock.advance(6)  # visible to queries, still inside Binance's 30 s grace
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor, \
            pytest.raises(OrderInDoubt, match="after 4 attempts"):
        executor.cancel(CID)
    # The order was seen open after each refusal: no attempt is exempt from the budget.
    assert venue.cancels == 1 + CONFIG["max_retries"]
    assert notes(journal_path, CID).count("cancel_sent") == venue.cancels


class FlakyCancels(CountingVenue):
    """The first two cancel requests time out (the exchange may have acted)."""

    def cancel_order(self, *args: Any, **kwargs: Any) -> Any:
        self.cancels += 1
        if self.cancels <= 2:
            raise ccxt.RequestTimeout("paper: timed out")
        return PaperExchange.cancel_order(self, *args, **kwargs)


def test_every_cancel_request_retries_included_is_journaled_before_it_leaves(
        journal_path: Path, clock: ScheduledClock) -> None:
    venue = FlakyCancels(ExchangeTime(clock), seed=3, fill_probability=1.0)  # type: ignore[arg-type]
    signal = {"id": "sig-c", "symbol": BTC, "side": "buy", "amount": "0.01",
              "price": str(venue.mid(BTC) * 9 // 10)}
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        order = executor.execute_signal(signal)
    assert order.state is State.CANCELLED
    assert venue.cancels == 3
    assert notes(journal_path, order.client_order_id).count("cancel_sent") == 3


def test_a_resubmit_after_a_restart_keeps_the_timeout_of_the_first_placement(
        journal_path: Path, clock: ScheduledClock) -> None:
    in_doubt(journal_path, clock, PresumeAbsent("not found"))
    first = clock.monotonic()
    clock.advance(60)  # past the timeout of the first placement
    venue = venue_for(clock, "bybit")
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1,
                       profile=PROFILES["bybit"]) as executor:
        restarted = clock.monotonic()
        order = executor.execute_signal({"id": "sig-m", "symbol": BTC, "side": "buy",
                                         "amount": "0.01", "price": "27000"})
    assert venue.creates == 1 and order.state is State.CANCELLED
    # Due at once, not 30 s after the re-send.
    assert clock.monotonic() - restarted < 5 < clock.monotonic() - first


def test_a_recovery_spends_its_own_budget_whatever_the_attempts_before_it_saw(
        journal_path: Path, clock: ScheduledClock) -> None:
    # Two attempts before the restart, the first while the order could not be seen yet:
    # neither counts against this recovery's budget, and none is given back twice.
    venue = IneffectiveCancels(ExchangeTime(clock), seed=3, fill_probability=0.0)  # type: ignore[arg-type]
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 20000, {"clientOrderId": CID})
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec(CID, BTC, "buy", "limit", "0.01", "20000", "sig-m"))
        book.apply(CID, Submit())
        book.apply(CID, Acknowledge(placed["id"]))
        book.apply(CID, RequestCancel("timed out"))
        book.apply(CID, Note("cancel_sent", "cancel request 1"))
        book.apply(CID, Note("cancel_unseen", "the order was not visible yet"))
        book.apply(CID, Note("cancel_sent", "cancel request 2"))
    clock.advance(60)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        report = executor.recover()
    assert "after 4 attempts" in str(report.in_doubt[0])
    assert venue.cancels == 1 + CONFIG["max_retries"]


def test_each_counted_row_counts_once_and_a_refused_create_is_a_send_at_its_time() -> None:
    from fsm_executor.core._memory import (
        CANCEL_SENT,
        CANCEL_UNSEEN,
        CREATE_REFUSED,
        NOT_FOUND,
        remember,
    )

    memory = Memory()
    remember(memory, "submit", Submit(), 10.0)
    for kind in (NOT_FOUND, NOT_FOUND, CANCEL_SENT, CANCEL_UNSEEN):
        remember(memory, "note", Note(kind), 11.0)
    remember(memory, "note", Note("odd_answer"), 11.5)  # another note counts nothing
    assert (memory.sends, memory.not_found, memory.cancels, memory.cancels_unseen) == (
        1, 2, 1, 1)
    # The exchange refused the create: it was sent, at that row's time; not-found answers
    # before it say nothing of what follows.
    remember(memory, "note", Note(CREATE_REFUSED), 12.0)
    assert (memory.sends, memory.sent_at, memory.first_sent_at, memory.not_found) == (
        2, 12.0, 10.0, 0)
