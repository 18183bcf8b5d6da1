"""Placement truth through the real ccxt.binance client over HTTP (the local Binance server
over the binance-like paper venue): one regression test per failure a new user met, and per
promise the order layer makes about placement. Time is simulated: nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from executor_tools import ScheduledClock, notes, triggers

from fsm_executor import (
    Acknowledge,
    LoseAnswer,
    OrderInDoubt,
    OrderSpec,
    State,
    Submit,
    TradeExecutor,
    audit,
)
from fsm_executor.venue._binance_http import BinanceServer, binance_client
from fsm_executor.venue._paper import PaperExchange

KEY, SECRET = "k-placement", "s-placement-0123456789"
BTC = "BTC/USDT"
CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "not_found_confirmations": 2, "not_found_interval_seconds": 2, "jitter": 0.0}
POST = "POST /api/v3/order"


@pytest.fixture
def clock() -> ScheduledClock:
    return ScheduledClock()


def serve(clock: ScheduledClock, **venue_options: Any) -> tuple[PaperExchange, BinanceServer]:
    venue = PaperExchange(clock, seed=3, fill_probability=1.0, **venue_options)
    return venue, BinanceServer(venue, api_key=KEY, secret=SECRET).start()


@pytest.fixture
def venue_server(clock: ScheduledClock) -> Iterator[tuple[PaperExchange, BinanceServer]]:
    venue, server = serve(clock)
    yield venue, server
    server.close()


@pytest.fixture
def executor(venue_server: tuple[PaperExchange, BinanceServer], journal_path: Path,
             clock: ScheduledClock) -> Iterator[TradeExecutor]:
    with TradeExecutor(binance_client(venue_server[1]), journal_path, CONFIG, clock=clock,
                       seed=1) as ex:
        yield ex


def signal(venue: PaperExchange, kind: str = "limit", resting: bool = True,
           sid: str = "s1") -> dict[str, Any]:
    price = venue.mid(BTC) * (Decimal("0.9") if resting else Decimal("1"))
    return {"id": sid, "symbol": BTC, "side": "buy", "amount": "0.01",
            "price": str(price.quantize(Decimal("0.01"))), "order_type": kind}


def placed(venue: PaperExchange, cid: str) -> list[dict[str, Any]]:
    return venue.orders_for_client_id(cid)


# -- what a new user met --------------------------------------------------------------------

def test_a_resting_limit_whose_create_answer_was_lost_is_found_never_failed_never_resent(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        journal_path: Path) -> None:
    venue, server = venue_server
    server.inject(POST, "drop_after")  # Binance took it; the answer never came back
    executor.config = executor.config.__class__.from_dict({**CONFIG,
                                                          "order_timeout_seconds": 120})
    order = executor.execute_signal(signal(venue))
    cid = order.client_order_id
    # Lookups 2 s apart met -2013 (Binance cannot see it yet); it was found once visible.
    assert notes(journal_path, cid).count("not_found") == 2
    assert order.exchange_order_id == placed(venue, cid)[0]["id"]
    assert order.failure is None and order.state is State.CANCELLED  # timed out, unfilled
    assert len(placed(venue, cid)) == 1 and server.requests[POST] == 1
    assert "resubmit" not in triggers(journal_path, cid)
    assert audit(journal_path).ok


@pytest.mark.parametrize("lag", [5.0, 45.0])
def test_a_market_order_whose_create_answer_was_lost_is_never_placed_twice(
        clock: ScheduledClock, journal_path: Path, lag: float) -> None:
    # 45 s: invisible for longer than the grace period. Binance accepts the client id again
    # once the filled order is closed, so a re-send would buy twice.
    venue, server = serve(clock, visibility_lag=lag)
    server.inject(POST, "drop_after")
    with server, TradeExecutor(binance_client(server), journal_path, CONFIG, clock=clock,
                               seed=1) as executor:
        order = executor.execute_signal(signal(venue, "market", resting=False))
        cid = order.client_order_id
        if lag > 30:
            assert order.state is State.PRESUMED_ABSENT and order.failure is None
            clock.advance(lag)
            executor.recover()  # watched: it shows up, and is followed like any other
            order = executor.book.get(cid)
        assert order.state is State.FILLED
        assert [o["id"] for o in placed(venue, cid)] == [order.exchange_order_id]
        assert server.requests[POST] == 1
    assert audit(journal_path).ok


def test_cancel_of_an_order_in_doubt_looks_it_up_and_cancels_it_never_sends(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        clock: ScheduledClock, journal_path: Path) -> None:
    venue, server = venue_server
    book = executor.book
    book.create(OrderSpec("fsmxC1", BTC, "buy", "limit", "0.01", "27000", "sig-c"))
    book.apply("fsmxC1", Submit())
    book.apply("fsmxC1", LoseAnswer("timeout"))
    with pytest.raises(OrderInDoubt, match="nothing was sent"):
        executor.cancel("fsmxC1")  # not on the exchange: nothing to cancel, nothing sent
    assert server.requests[POST] == 0
    venue.create_order(BTC, "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxC1"})
    clock.advance(6)
    order = executor.cancel("fsmxC1")
    assert order.state is State.CANCELLED
    assert [o["status"] for o in placed(venue, "fsmxC1")] == ["canceled"]
    assert server.requests[POST] == 0 and server.requests["DELETE /api/v3/order"] == 1


# -- the promises -----------------------------------------------------------------------

def test_a_create_that_never_arrived_is_presumed_absent_watched_and_not_resent(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        clock: ScheduledClock, journal_path: Path) -> None:
    venue, server = venue_server
    server.inject(POST, "drop_before")
    order = executor.execute_signal(signal(venue))
    assert order.state is State.PRESUMED_ABSENT and placed(venue, order.client_order_id) == []
    clock.advance(3600)
    assert executor.recover().presumed_absent == (order.client_order_id,)
    clock.advance(90 * 86400)
    executor.recover()
    order = executor.book.get(order.client_order_id)
    assert order.state is State.FAILED and order.failure == "absent"
    assert server.requests[POST] == 1
    assert triggers(journal_path, order.client_order_id)[-1] == "declare_absent"


def test_binances_duplicate_answer_is_looked_up_not_taken_for_a_reject(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        clock: ScheduledClock, journal_path: Path) -> None:
    venue, server = venue_server
    first = venue.create_order(BTC, "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxD1"})
    clock.advance(6)
    executor.book.create(OrderSpec("fsmxD1", BTC, "buy", "limit", "0.01", "27000", "sig-d"))
    order = executor.execute_signal({"id": "sig-d", "symbol": BTC, "side": "buy",
                                     "amount": "0.01", "price": "27000"})
    # -2010 "Duplicate order sent." arrived as ccxt's InvalidOrder: it exists, look it up.
    assert order.exchange_order_id == first["id"] and order.failure is None
    assert "Duplicate order sent" in _lose_answer_reason(journal_path, "fsmxD1")
    assert len(placed(venue, "fsmxD1")) == 1


def _lose_answer_reason(path: Path, cid: str) -> str:
    from fsm_executor import JournalReader

    with JournalReader(path) as reader:
        return next(e.data()["reason"] for e in reader.entries()
                    if e.order_id == cid and e.trigger == "lose_answer")


def test_a_rate_limited_create_placed_nothing_and_is_sent_again(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        journal_path: Path) -> None:
    venue, server = venue_server
    venue.inject("create_order", "rate_limit")  # HTTP 429: ccxt raises DDoSProtection
    order = executor.execute_signal(signal(venue, "market", resting=False))
    assert order.state is State.FILLED and server.requests[POST] == 2
    assert notes(journal_path, order.client_order_id)[0] == "create_refused"
    assert len(placed(venue, order.client_order_id)) == 1


def test_a_second_exchange_order_under_a_known_client_id_is_found_by_its_exchange_id(
        venue_server: tuple[PaperExchange, BinanceServer], executor: TradeExecutor,
        clock: ScheduledClock, journal_path: Path) -> None:
    venue, _ = venue_server
    book = executor.book
    book.create(OrderSpec("fsmxO1", BTC, "buy", "market", "0.01", None, "sig-o"))
    book.apply("fsmxO1", Submit())
    first = venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "fsmxO1"})
    book.apply("fsmxO1", Acknowledge(first["id"]))
    second = venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "fsmxO1"})
    clock.advance(6)
    report = executor.recover()
    assert [o.id for o in report.orphans] == [second["id"]]
    report = executor.recover(adopt=True)
    assert report.adopted == (f"fsmxO1~{second['id']}",)
    assert executor.recover().orphans == ()
    assert audit(journal_path).ok
