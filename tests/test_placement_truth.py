"""Placement truth on the binance-like venue: never place twice, never forget an order,
whatever the answers (issue: placement truth on real exchanges)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from executor_tools import ScheduledClock, notes, triggers

from fsm_executor import (
    LoseAnswer,
    OrderInDoubt,
    OrderSpec,
    State,
    Submit,
    TradeExecutor,
    audit,
)
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "not_found_confirmations": 2, "jitter": 0.0}
BTC = "BTC/USDT"


class CountingVenue(PaperExchange):
    """The paper venue, counting create requests."""

    creates = 0

    def create_order(self, *args: Any, **kwargs: Any) -> Any:
        self.creates += 1
        return super().create_order(*args, **kwargs)


@pytest.fixture
def clock() -> ScheduledClock:
    return ScheduledClock()


@pytest.fixture
def venue(clock: ScheduledClock) -> CountingVenue:
    return CountingVenue(clock, seed=3, fill_probability=1.0)


@pytest.fixture
def executor(venue: PaperExchange, journal_path: Path,
             clock: ScheduledClock) -> Iterator[TradeExecutor]:
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as ex:
        yield ex


def in_doubt(executor: TradeExecutor, cid: str = "fsmxD1", price: str = "27000") -> None:
    """An order whose create answer was lost: journaled up to submit_unknown."""
    executor.book.create(OrderSpec(cid, BTC, "buy", "limit", "0.01", price, "sig-d"))
    executor.book.apply(cid, Submit())
    executor.book.apply(cid, LoseAnswer("timeout"))


def test_cancel_of_an_order_in_doubt_that_is_nowhere_sends_nothing(
        executor: TradeExecutor, venue: CountingVenue, journal_path: Path) -> None:
    in_doubt(executor)
    with pytest.raises(OrderInDoubt, match="nothing was sent"):
        executor.cancel("fsmxD1")
    assert venue.creates == 0 and venue.all_orders() == []
    order = executor.book.get("fsmxD1")
    assert order.state is State.SUBMIT_UNKNOWN and order in executor.pending_orders
    assert "resubmit" not in triggers(journal_path, "fsmxD1")


def test_cancel_of_an_order_in_doubt_cancels_what_the_lookup_finds(
        executor: TradeExecutor, venue: CountingVenue, clock: ScheduledClock,
        journal_path: Path) -> None:
    in_doubt(executor)
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxD1"})
    venue.creates = 0
    clock.advance(10)  # past Binance's visibility lag
    order = executor.cancel("fsmxD1")
    assert order.state is State.CANCELLED and order.exchange_order_id == placed["id"]
    assert venue.creates == 0
    assert [o["status"] for o in venue.orders_for_client_id("fsmxD1")] == ["canceled"]
    steps = triggers(journal_path, "fsmxD1")
    # The request is journaled while in doubt, carried out once the order is found.
    assert steps[steps.index("lose_answer") + 1:] == ["request_cancel", "acknowledge",
                                                      "request_cancel", "note", "cancel"]
    assert audit(journal_path).ok


def test_a_duplicate_id_answer_is_looked_up_and_followed_never_a_reject(
        executor: TradeExecutor, venue: CountingVenue, clock: ScheduledClock,
        journal_path: Path) -> None:
    # A resting order already holds this client id (a run that died after sending it).
    placed = venue.create_order(BTC, "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxD2"})
    clock.advance(10)
    executor.book.create(OrderSpec("fsmxD2", BTC, "buy", "limit", "0.01", "27000", "sig-2"))
    order = executor.execute_signal({"id": "sig-2", "symbol": BTC, "side": "buy",
                                     "amount": "0.01", "price": "27000"})
    assert order.exchange_order_id == placed["id"]
    assert order.failure is None
    steps = triggers(journal_path, "fsmxD2")
    assert steps[:4] == ["create", "submit", "lose_answer", "acknowledge"]
    assert len(venue.orders_for_client_id("fsmxD2")) == 1


class MisleadingVenue(CountingVenue):
    """Answers a lookup by client order id with another order, or with an order that has
    our client order id but no exchange id (KuCoin's ``data: null``), as some do."""

    def fetch_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        if not id and params and params.get("clientOrderId"):
            others = [o for o in self.all_orders()
                      if o["clientOrderId"] != params["clientOrderId"]]
            if others:
                return others[0]
            return {"id": "", "clientOrderId": params["clientOrderId"], "status": "open"}
        return super().fetch_order(id, symbol, params)


def test_a_lookup_answered_with_another_order_or_an_empty_one_is_not_believed(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue = MisleadingVenue(clock, seed=3, fill_probability=1.0)
    other = venue.create_order(BTC, "limit", "buy", 0.01, 26000, {"clientOrderId": "else"})
    # Filled at once: not among the open orders recovery lists first, so it is looked up.
    mine = venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "fsmxD3"})
    clock.advance(10)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        in_doubt(executor, "fsmxD3")
        executor.recover()
        order = executor.book.get("fsmxD3")
    assert order.exchange_order_id == mine["id"] != other["id"]
    assert order.state is State.FILLED
    assert "odd_lookup" in notes(journal_path, "fsmxD3")
    assert audit(journal_path).ok


def test_a_cancel_asked_while_the_order_is_nowhere_is_carried_out_when_it_shows_up_after_a_restart(
        executor: TradeExecutor, venue: CountingVenue, clock: ScheduledClock,
        journal_path: Path) -> None:
    in_doubt(executor)
    with pytest.raises(OrderInDoubt, match="cancelled as soon as it shows up"):
        executor.cancel("fsmxD1")
    assert executor.book.get("fsmxD1").cancel_requested
    executor.close()
    # It was on its way: it lands late, and the bot restarts.
    venue.create_order(BTC, "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxD1"})
    clock.advance(60)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as again:
        again.recover()
        order = again.book.get("fsmxD1")
    assert order.state is State.CANCELLED
    assert [o["status"] for o in venue.orders_for_client_id("fsmxD1")] == ["canceled"]
    assert venue.creates == 1  # the test's own placement: the executor sent none
    assert audit(journal_path).ok


def test_a_lookup_answered_with_our_client_id_but_no_exchange_id_is_not_believed(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue = MisleadingVenue(clock, seed=3, fill_probability=1.0)
    mine = venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "fsmxD4"})
    clock.advance(10)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        in_doubt(executor, "fsmxD4")
        executor.recover()
        order = executor.book.get("fsmxD4")
    assert order.exchange_order_id == mine["id"] and order.state is State.FILLED
    assert "odd_lookup" in notes(journal_path, "fsmxD4")


class UnreachableLookups(CountingVenue):
    """Lookups by id time out; the listings answer."""

    def fetch_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        import ccxt

        raise ccxt.RequestTimeout("paper fetch_order request timed out")


def test_an_order_in_doubt_that_the_listings_show_is_not_reported_as_an_orphan(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue = UnreachableLookups(clock, seed=3, fill_probability=1.0)
    venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "fsmxD5"})
    clock.advance(10)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        in_doubt(executor, "fsmxD5")
        report = executor.recover()
    # Still in doubt (it cannot be looked up), but it is ours: adopting it would journal
    # the same exchange order twice.
    assert [d.order_id for d in report.in_doubt] == ["fsmxD5"]
    assert report.orphans == ()
