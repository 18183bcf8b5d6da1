"""The money through the real ccxt.binance client over HTTP, with Binance's shapes: order
answers without trades or fee, trades listed late. The journal's filled, cost and fees end
equal to the venue's own trades. Time is simulated: nothing sleeps."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from executor_tools import ScheduledClock, assert_money_matches, notes, triggers

from fsm_executor import State, TradeExecutor, audit, replay
from fsm_executor.venue._binance_http import BinanceServer, binance_client
from fsm_executor.venue._paper import DEFAULT_MARKETS, MarketSpec, PaperExchange

KEY, SECRET = "k-money", "s-money-0123456789"
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


def market_buy(venue: PaperExchange, sid: str = "s1", amount: str = "0.01") -> dict[str, Any]:
    return {"id": sid, "symbol": BTC, "side": "buy", "amount": amount,
            "price": str(venue.mid(BTC).quantize(Decimal("0.01"))), "order_type": "market"}


def test_an_order_found_by_lookup_after_a_lost_answer_ends_with_all_its_fees(
        clock: ScheduledClock, journal_path: Path) -> None:
    # What a new user met: Binance's GET /api/v3/order carries no trades and no fee, and
    # the trades were not fetched again once the order had ended: half the fees.
    venue, server = serve(clock)
    server.inject(POST, "drop_after")
    with server, TradeExecutor(binance_client(server), journal_path, CONFIG, clock=clock,
                               seed=1) as executor:
        order = executor.execute_signal(market_buy(venue))
        assert order.state is State.FILLED
        assert order.fees and sum(order.fees.values()) > 0
        assert_money_matches(venue, order)
        assert "restate" in triggers(journal_path, order.client_order_id)
    assert replay(journal_path)[order.client_order_id] == order
    assert audit(journal_path).ok


BNB = MarketSpec("BNB/USDT", "BNB", "USDT", "0.01", "0.001", "0.001", "5", "613")
BALANCES = {"USDT": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100),
            "SOL": Decimal(1000), "BNB": Decimal(1)}


def bnb_serve(clock: ScheduledClock, seed: int = 5, **options: Any
              ) -> tuple[PaperExchange, BinanceServer]:
    trade_ids = options.pop("trade_ids", True)
    venue = PaperExchange(clock, seed=seed, fill_probability=1.0,
                          markets=[*DEFAULT_MARKETS, BNB], balances=BALANCES, **options)
    server = BinanceServer(venue, api_key=KEY, secret=SECRET, trade_ids=trade_ids)
    return venue, server.start()


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "answer-lost"])
@pytest.mark.parametrize("trade_ids", [True, False], ids=["trade-ids", "id-less"])
def test_fees_in_two_currencies_and_id_less_trades_end_equal_to_the_venues(
        clock: ScheduledClock, journal_path: Path, lost: bool, trade_ids: bool) -> None:
    # Binance charges BNB while it lasts, USDT otherwise: one order, fees in two currencies.
    venue, server = bnb_serve(clock, fee_currencies=("BNB", None), trade_ids=trade_ids)
    if lost:
        server.inject(POST, "drop_after")
    with server, TradeExecutor(binance_client(server), journal_path, CONFIG, clock=clock,
                               seed=1) as executor:
        order = executor.execute_signal(market_buy(venue, amount="0.3"))
        assert order.state is State.FILLED
        truth = venue.order_truth(order.exchange_order_id)
        assert len(truth.trades) == 3 and set(truth.fees) == {"BNB", "USDT"}
        assert_money_matches(venue, order)
        if not trade_ids:
            assert all(":t:" in key for key in order.fills)
    assert replay(journal_path)[order.client_order_id] == order
    assert audit(journal_path).ok


def test_a_maker_rebate_is_journaled_as_a_negative_fee_equal_to_the_venues(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue, server = serve(clock, maker_fee_rate=Decimal("-0.0001"))
    limit = (venue.mid(BTC) * Decimal("0.99")).quantize(Decimal("0.01"))
    # The market falls through the resting limit a few seconds after it was placed.
    clock.at(3, lambda: venue.set_mid(BTC, limit * Decimal("0.99")))
    with server, TradeExecutor(binance_client(server), journal_path,
                               {**CONFIG, "order_timeout_seconds": 60}, clock=clock,
                               seed=1) as executor:
        order = executor.execute_signal({"id": "s1", "symbol": BTC, "side": "buy",
                                         "amount": "0.01", "price": str(limit),
                                         "order_type": "limit", })
        assert order.filled > 0
        assert order.fees["USDT"] < 0, "a maker rebate"
        assert_money_matches(venue, order)
    assert audit(journal_path).ok


def test_trades_listed_later_than_the_bound_are_settled_by_the_next_recovery(
        clock: ScheduledClock, journal_path: Path) -> None:
    # Trades listed a minute late: the executor asks a bounded number of times, keeps the
    # order's own cost meanwhile (its fees are unknown: Binance's order answers carry none),
    # and recover() settles the ledger once they are listed.
    venue, server = serve(clock, trade_lag=60.0)
    server.inject(POST, "drop_after")
    config = {**CONFIG, "trade_listing_attempts": 3}
    with server, TradeExecutor(binance_client(server), journal_path, config, clock=clock,
                               seed=1) as executor:
        order = executor.execute_signal(market_buy(venue))
        truth = venue.order_truth(order.exchange_order_id)
        assert order.state is State.FILLED
        assert (order.filled, order.cost) == (truth.filled, truth.cost)
        assert [f.inferred for f in order.fills.values()] == [True] and not order.fees
        assert server.requests["GET /api/v3/myTrades"] == 3
        assert "trades_unlisted" in notes(journal_path, order.client_order_id)
        clock.advance(60)
        report = executor.recover()
        assert [c.client_order_id for c in report.changes] == [order.client_order_id]
        assert_money_matches(venue, executor.book.get(order.client_order_id))
    assert audit(journal_path).ok
