"""The paper venue: ccxt's interface offline, seeded fills, faults with exact side effects,
and a state file a restarted bot can come back to."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import attrs
import ccxt
import pytest

from fsm_executor import FakeClock
from fsm_executor.venue._paper import DEFAULT_MARKETS, FAULTS, MANNERS, MarketSpec, PaperExchange

T = TypeVar("T")


#: Binance's manners without their unkindness: these tests are about the engine's mechanics
#: and read trades off order answers; tests/test_paper_manners.py pins the manners.
PROMPT = attrs.evolve(MANNERS["binance"], visibility_lag=0.0, trade_lag=0.0,
                      order_has_trades=True, order_has_fee=True,
                      closed_lists_filled_only=False)


def prompt_venue(*args: Any, **kwargs: Any) -> PaperExchange:
    return PaperExchange(*args, imitate=PROMPT, **kwargs)

#: Every fault that leaves the venue untouched, with the class it raises.
NOTHING_HAPPENS = [
    ("timeout_before", ccxt.RequestTimeout),
    ("unavailable", ccxt.ExchangeNotAvailable),
    ("rate_limit", ccxt.RateLimitExceeded),
    ("insufficient_funds", ccxt.InsufficientFunds),
    ("invalid_order", ccxt.InvalidOrder),
]


@pytest.fixture
def venue(clock: FakeClock) -> Iterator[PaperExchange]:
    v = prompt_venue(clock, seed=7)
    yield v
    v.close()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network I/O attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(ccxt.Exchange, "fetch", refuse)


def tape(venue: PaperExchange) -> list[tuple[Any, ...]]:
    """Every trade, in a form two runs can be compared by."""
    return [(t["id"], t["order"], t["side"], t["price"], t["amount"], t["timestamp"],
             t["takerOrMaker"]) for t in venue.fetch_my_trades()]


def busy_run(venue: PaperExchange, clock: FakeClock, seconds: int = 40) -> None:
    """Resting, marketable and passive orders on every market while time passes."""
    for i, spec in enumerate(DEFAULT_MARKETS):
        bid, ask = Decimal(str(venue.fetch_ticker(spec.symbol)["bid"])), \
            Decimal(str(venue.fetch_ticker(spec.symbol)["ask"]))
        amount = spec.amount_tick * 1000
        venue.create_order(spec.symbol, "limit", "buy", amount, ask + spec.price_tick * 5,
                           {"clientOrderId": f"mb{i}"})
        venue.create_order(spec.symbol, "limit", "sell", amount, bid - spec.price_tick * 5,
                           {"clientOrderId": f"ms{i}"})
        venue.create_order(spec.symbol, "limit", "buy", amount,
                           (bid * Decimal("0.999")).quantize(spec.price_tick),
                           {"clientOrderId": f"pb{i}"})
        venue.create_order(spec.symbol, "market", "sell", amount, None,
                           {"clientOrderId": f"m{i}"})
    for _ in range(seconds):
        clock.advance(1)
        venue.fetch_open_orders()


# -- ccxt's machinery, offline ------------------------------------------------------------


@pytest.mark.usefixtures("offline")
def test_markets_load_offline_as_real_ccxt_markets(venue: PaperExchange) -> None:
    markets = venue.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    btc = venue.market("BTC/USDT")
    assert (btc["id"], btc["base"], btc["quote"], btc["type"], btc["spot"], btc["active"]) == \
        ("BTCUSDT", "BTC", "USDT", "spot", True, True)
    assert btc["precision"] == {"amount": 0.00001, "price": 0.01}
    assert btc["limits"]["cost"]["min"] == 5.0 and btc["limits"]["amount"]["min"] == 0.00001
    assert btc["taker"] == btc["maker"] == 0.001
    assert venue.precisionMode == ccxt.TICK_SIZE and venue.id == "paper"
    assert venue.has["fetchOrders"] and venue.has["fetchOrderWithClientOrderId"]


@pytest.mark.usefixtures("offline")
def test_ccxt_precision_helpers_work_on_the_venue(venue: PaperExchange) -> None:
    venue.load_markets()
    assert venue.amount_to_precision("BTC/USDT", 0.123456789) == "0.12345"
    assert venue.price_to_precision("BTC/USDT", 30000.127) == "30000.13"
    assert venue.amount_to_precision("SOL/USDT", 1.239) == "1.23"
    assert venue.price_to_precision("SOL/USDT", 99.12345) == "99.123"
    with pytest.raises(ccxt.BadSymbol):
        venue.market("DOGE/USDT")


@pytest.mark.usefixtures("offline")
def test_a_whole_session_makes_no_network_request(venue: PaperExchange,
                                                  clock: FakeClock) -> None:
    busy_run(venue, clock, seconds=5)
    venue.fetch_balance()
    venue.fetch_order_book("ETH/USDT")
    venue.fetch_closed_orders()
    venue.cancel_order(venue.fetch_open_orders()[0]["id"])
    assert venue.all_orders()


def test_the_ccxt_convenience_wrappers_reach_the_venue(venue: PaperExchange) -> None:
    order = venue.create_market_buy_order("ETH/USDT", 0.5)
    assert order["status"] == "closed" and order["filled"] == 0.5
    assert venue.createOrder("ETH/USDT", "limit", "buy", 0.5, 1000.0)["status"] == "open"


# -- the round trip -----------------------------------------------------------------------


def test_create_fetch_cancel_and_listings_agree(venue: PaperExchange) -> None:
    resting = venue.create_order("BTC/USDT", "limit", "buy", 0.01, 29000,
                                 {"clientOrderId": "rest-1"})
    assert resting["id"] == "1000001" and resting["status"] == "open"
    assert resting["clientOrderId"] == "rest-1" and resting["remaining"] == 0.01
    assert venue.fetch_order(resting["id"])["clientOrderId"] == "rest-1"
    assert venue.fetch_order("", None, {"clientOrderId": "rest-1"})["id"] == resting["id"]
    assert [o["id"] for o in venue.fetch_open_orders("BTC/USDT")] == [resting["id"]]
    # 0.01 * 29000 * 1.001 held in USDT
    assert venue.balance_of("USDT")[1] == Decimal("290.29")

    market = venue.create_order("BTC/USDT", "market", "buy", 0.01)
    assert market["id"] == "1000002" and market["clientOrderId"]

    canceled = venue.cancel_order(resting["id"], "BTC/USDT")
    assert canceled["status"] == "canceled" and canceled["filled"] == 0
    assert venue.fetch_open_orders() == []
    closed = venue.fetch_closed_orders()
    assert [(o["id"], o["status"]) for o in closed] == [("1000001", "canceled"),
                                                          ("1000002", "closed")]
    trades = venue.fetch_my_trades("BTC/USDT")
    assert trades and {t["order"] for t in trades} == {"1000002"}
    assert all(t["id"].startswith("T") for t in trades)
    balance = venue.fetch_balance()
    assert balance["USDT"]["used"] == 0 and balance["used"]["USDT"] == 0
    assert balance["BTC"]["free"] == pytest.approx(10.01)
    assert balance["total"]["USDT"] == balance["USDT"]["free"]


def test_order_dicts_have_ccxts_unified_keys(venue: PaperExchange) -> None:
    order = venue.create_order("SOL/USDT", "market", "sell", 1)
    for key in ("id", "clientOrderId", "timestamp", "datetime", "lastTradeTimestamp", "symbol",
                "type", "side", "timeInForce", "price", "amount", "filled", "remaining",
                "cost", "average", "status", "fee", "trades", "info"):
        assert key in order
    assert set(order["fee"]) == {"cost", "currency"} and order["fee"]["currency"] == "USDT"
    for key in ("id", "order", "symbol", "side", "price", "amount", "cost", "fee",
                "timestamp", "datetime", "takerOrMaker"):
        assert key in order["trades"][0]
    assert order["datetime"].endswith("Z") and isinstance(order["amount"], float)


def test_unknown_orders_are_not_found_with_binances_words(venue: PaperExchange) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
        venue.fetch_order("42")
    with pytest.raises(ccxt.OrderNotFound, match="Order does not exist"):
        venue.fetch_order(None, None, {"clientOrderId": "nobody"})
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        venue.cancel_order("42")


def test_cancelling_a_filled_order_is_unknown_order(venue: PaperExchange) -> None:
    filled = venue.create_order("ETH/USDT", "market", "buy", 1)
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        venue.cancel_order(filled["id"])
    resting = venue.create_order("ETH/USDT", "limit", "buy", 1, 1000)
    venue.cancel_order(resting["id"])
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        venue.cancel_order(resting["id"])


def test_an_order_of_another_symbol_is_not_found(venue: PaperExchange) -> None:
    order = venue.create_order("ETH/USDT", "limit", "buy", 1, 1000)
    with pytest.raises(ccxt.OrderNotFound):
        venue.fetch_order(order["id"], "BTC/USDT")


def test_market_order_fills_fully_at_once_at_the_touch(venue: PaperExchange) -> None:
    ticker = venue.fetch_ticker("BTC/USDT")
    assert (ticker["bid"], ticker["ask"]) == (29997.0, 30003.0)
    buy = venue.create_order("BTC/USDT", "market", "buy", 0.5)
    sell = venue.create_order("BTC/USDT", "market", "sell", 0.5)
    for order, touch in ((buy, 30003.0), (sell, 29997.0)):
        assert order["status"] == "closed" and order["filled"] == order["amount"] == 0.5
        assert 1 <= len(order["trades"]) <= 3
        assert {t["price"] for t in order["trades"]} == {touch}
        assert sum(Decimal(str(t["amount"])) for t in order["trades"]) == Decimal("0.5")
        assert all(t["takerOrMaker"] == "taker" for t in order["trades"])


def test_market_orders_split_into_one_to_three_trades_by_seed(clock: FakeClock) -> None:
    counts = set()
    for seed in range(12):
        v = prompt_venue(clock, seed=seed)
        counts.add(len(v.create_order("SOL/USDT", "market", "buy", 9)["trades"]))
    assert counts == {1, 2, 3}


def test_a_marketable_limit_fills_at_the_touch_not_its_limit(clock: FakeClock) -> None:
    venue = prompt_venue(clock, fill_probability=1.0)
    order = venue.create_order("ETH/USDT", "limit", "buy", 1, 2100)
    assert order["filled"] > 0
    assert {t["price"] for t in order["trades"]} == {2000.2}
    # The hold was taken at the limit: a full fill gives back what the better price saved.
    if order["status"] == "closed":
        assert venue.balance_of("USDT")[1] == 0


def test_resting_limit_orders_fill_over_time_as_the_clock_moves(clock: FakeClock) -> None:
    trade_counts = []
    for seed in range(6):
        c = FakeClock(clock.now())
        venue = prompt_venue(c, seed=seed, fill_probability=0.3)
        order = venue.create_order("BTC/USDT", "limit", "buy", 1, 30010)
        if order["status"] == "closed":
            continue  # filled in full at once: a 30% * 1/3 chance
        filled = [order["filled"]]
        for _ in range(60):
            c.sleep(1)
            filled.append(venue.fetch_order(order["id"])["filled"])
        assert filled == sorted(filled) and filled[-1] == 1.0
        final = venue.fetch_order(order["id"])
        assert final["status"] == "closed"
        assert final["lastTradeTimestamp"] > final["timestamp"]
        makers = [t for t in final["trades"] if t["takerOrMaker"] == "maker"]
        assert makers and {t["price"] for t in makers} == {30010.0}  # at its limit
        assert len({t["timestamp"] for t in makers}) == len(makers)  # one fill per step
        trade_counts.append(len(final["trades"]))
    assert len(trade_counts) >= 3 and max(trade_counts) > 2  # partial fills, over time


def test_passive_orders_fill_when_the_price_moves_through_them(clock: FakeClock) -> None:
    venue = prompt_venue(clock, seed=5, volatility=0.002, fill_probability=1.0)
    order = venue.create_order("ETH/USDT", "limit", "buy", 1, 1990)
    assert order["status"] == "open" and order["filled"] == 0
    for _ in range(600):
        clock.sleep(1)
        if venue.fetch_order(order["id"])["status"] == "closed":
            break
    assert venue.fetch_order(order["id"])["status"] == "closed"
    assert venue.mid("ETH/USDT") != Decimal(2000)


def test_set_mid_moves_the_touch_and_fills_crossed_orders(venue: PaperExchange,
                                                          clock: FakeClock) -> None:
    order = venue.create_order("SOL/USDT", "limit", "sell", 10, 105)
    venue.set_mid("SOL/USDT", "110")
    assert venue.fetch_ticker("SOL/USDT")["bid"] == 109.989
    clock.sleep(30)
    final = venue.fetch_order(order["id"])
    assert final["status"] == "closed" and {t["price"] for t in final["trades"]} == {105.0}


def test_limit_orders_expire_and_give_back_their_hold(venue: PaperExchange,
                                                      clock: FakeClock) -> None:
    order = venue.create_order("BTC/USDT", "limit", "buy", 1, 20000,
                               {"expireAfterSeconds": 30})
    clock.sleep(29.5)
    assert venue.fetch_order(order["id"])["status"] == "open"
    clock.sleep(1)
    expired = venue.fetch_order(order["id"])
    assert expired["status"] == "expired"
    assert expired["lastUpdateTimestamp"] == expired["timestamp"] + 30_000
    assert venue.balance_of("USDT") == (Decimal(1_000_000), Decimal(0))
    assert [o["status"] for o in venue.fetch_closed_orders()] == ["expired"]


def test_closed_orders_are_oldest_first_and_honour_since_and_limit(
        venue: PaperExchange, clock: FakeClock) -> None:
    ids = []
    for _ in range(5):
        ids.append(venue.create_order("SOL/USDT", "market", "buy", 1)["id"])
        clock.advance(10)
    closed = venue.fetch_closed_orders("SOL/USDT")
    assert [o["id"] for o in closed] == ids
    assert [o["id"] for o in venue.fetch_closed_orders(limit=2)] == ids[-2:]
    since = closed[2]["timestamp"]
    assert [o["id"] for o in venue.fetch_closed_orders(None, since)] == ids[2:]
    assert [o["id"] for o in venue.fetch_closed_orders(None, since, 1)] == [ids[2]]


def test_my_trades_filter_by_order_id(venue: PaperExchange) -> None:
    first = venue.create_order("SOL/USDT", "market", "buy", 3)
    venue.create_order("SOL/USDT", "market", "buy", 3)
    mine = venue.fetch_my_trades(None, None, None, {"orderId": first["id"]})
    assert [t["id"] for t in mine] == [t["id"] for t in first["trades"]]


def test_my_trades_of_an_unknown_order_or_another_market_are_none(venue: PaperExchange) -> None:
    first = venue.create_order("SOL/USDT", "market", "buy", 3)
    assert first["trades"]
    assert venue.fetch_my_trades("SOL/USDT", None, None, {"orderId": "999999"}) == []
    assert venue.fetch_my_trades("BTC/USDT", None, None, {"orderId": first["id"]}) == []
    mine = venue.fetch_my_trades("SOL/USDT", None, None, {"orderId": int(first["id"])})
    assert [t["id"] for t in mine] == [t["id"] for t in first["trades"]]


def test_order_book_has_a_few_levels_from_the_touch(venue: PaperExchange) -> None:
    book = venue.fetch_order_book("BTC/USDT")
    assert book["bids"][0][0] == 29997.0 and book["asks"][0][0] == 30003.0
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert [p for p, _ in book["bids"]] == sorted((p for p, _ in book["bids"]), reverse=True)
    assert len(venue.fetch_order_book("BTC/USDT", 2)["asks"]) == 2


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "error", "words"), [
    (("DOGE/USDT", "market", "buy", 1), ccxt.BadSymbol, "DOGE"),
    (("BTC/USDT", "stop", "buy", 1, 30000), ccxt.InvalidOrder, "orderType"),
    (("BTC/USDT", "limit", "buy", 1), ccxt.InvalidOrder, "price"),
    (("BTC/USDT", "limit", "buy", 0.000001, 30000), ccxt.InvalidOrder, "LOT_SIZE"),
    (("BTC/USDT", "limit", "buy", 0.000015, 30000), ccxt.InvalidOrder, "LOT_SIZE"),
    (("BTC/USDT", "limit", "buy", 0.0001, 30000.001), ccxt.InvalidOrder, "PRICE_FILTER"),
    (("BTC/USDT", "limit", "buy", 0.0001, 30000), ccxt.InvalidOrder, "NOTIONAL"),
    (("SOL/USDT", "market", "sell", 0.04), ccxt.InvalidOrder, "NOTIONAL"),
    (("BTC/USDT", "market", "buy", 40), ccxt.InsufficientFunds, "insufficient balance"),
    (("BTC/USDT", "limit", "sell", 11, 30000), ccxt.InsufficientFunds, "insufficient"),
    (("BTC/USDT", "market", "buy", -1), ccxt.InvalidOrder, "quantity"),
])
def test_invalid_orders_are_refused_and_nothing_is_created(
        venue: PaperExchange, args: tuple[Any, ...], error: type[Exception],
        words: str) -> None:
    with pytest.raises(error, match=words):
        venue.create_order(*args)
    assert venue.all_orders() == []
    assert venue.balance_of("USDT") == (Decimal(1_000_000), Decimal(0))


def test_the_hold_counts_the_fee(clock: FakeClock) -> None:
    venue = prompt_venue(clock, balances={"USDT": "100.09", "BTC": "0"})
    with pytest.raises(ccxt.InsufficientFunds):
        venue.create_order("BTC/USDT", "limit", "buy", "0.001", "100000")  # needs 100.1
    venue.create_order("BTC/USDT", "limit", "buy", "0.001", "99990")  # needs 100.08999
    assert venue.balance_of("USDT") == (Decimal("0.00001"), Decimal("100.08999"))


def test_a_client_order_id_is_a_duplicate_only_while_its_order_is_open(
        venue: PaperExchange) -> None:
    venue.create_order("ETH/USDT", "limit", "buy", 1, 1000, {"clientOrderId": "x"})
    # As ccxt.binance maps it: -2010 is InvalidOrder, whatever its message says.
    with pytest.raises(ccxt.InvalidOrder, match='"code":-2010,"msg":"Duplicate order sent."'):
        venue.create_order("ETH/USDT", "limit", "buy", 1, 1000, {"clientOrderId": "x"})
    assert len(venue.orders_for_client_id("x")) == 1


def test_like_binance_a_closed_orders_client_id_can_be_used_again(
        venue: PaperExchange) -> None:
    first = venue.create_order("ETH/USDT", "market", "buy", 1, None, {"clientOrderId": "y"})
    assert first["status"] == "closed"
    second = venue.create_order("ETH/USDT", "market", "buy", 1, None, {"clientOrderId": "y"})
    assert [o["id"] for o in venue.orders_for_client_id("y")] == [first["id"], second["id"]]
    assert venue.fetch_order("", "ETH/USDT", {"clientOrderId": "y"})["id"] == second["id"]


def test_bad_constructor_arguments_are_value_errors(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="timeout_before"):  # lists the valid names
        PaperExchange(clock, faults={"meteor": 0.1})
    with pytest.raises(ValueError):
        prompt_venue(clock, faults={"timeout_before": 1.5})
    with pytest.raises(ValueError):
        prompt_venue(clock, fill_probability=2)
    with pytest.raises(ValueError):
        prompt_venue(clock, markets=[DEFAULT_MARKETS[0], DEFAULT_MARKETS[0]])
    with pytest.raises(ValueError):
        MarketSpec("X/Y", "X", "Y", "0", "1", "1", "1", "1")


# -- determinism ----------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_fills(clock: FakeClock) -> None:
    runs = []
    for _ in range(2):
        c = FakeClock(clock.now())
        v = prompt_venue(c, seed=42, volatility=0.001)
        busy_run(v, c)
        runs.append((tape(v), v.all_orders()))
    assert runs[0] == runs[1] and len(runs[0][0]) > 12


def test_a_different_seed_gives_different_fills(clock: FakeClock) -> None:
    tapes = []
    for seed in (1, 2):
        c = FakeClock(clock.now())
        v = prompt_venue(c, seed=seed, volatility=0.001)
        busy_run(v, c)
        tapes.append(tape(v))
    assert tapes[0] != tapes[1]


def test_how_often_a_bot_polls_does_not_change_the_fills(clock: FakeClock) -> None:
    tapes = []
    for polls in (1, 7):
        c = FakeClock(clock.now())
        v = prompt_venue(c, seed=9, volatility=0.001, step_seconds=2.0)
        v.create_order("BTC/USDT", "limit", "buy", 1, 30004)
        v.create_order("ETH/USDT", "limit", "sell", 5, 1999)
        for _ in range(60 * polls):
            c.advance(1 / polls)
            v.fetch_ticker("BTC/USDT")
        tapes.append(tape(v))
    assert tapes[0] == tapes[1]


def test_a_long_jump_in_time_is_bounded(clock: FakeClock) -> None:
    venue = prompt_venue(clock, fill_probability=0.0)
    order = venue.create_order("BTC/USDT", "limit", "buy", 1, 31000)
    clock.advance(10 * 365 * 86400)
    started = time.perf_counter()
    assert venue.fetch_order(order["id"])["status"] == "open"
    assert time.perf_counter() - started < 10


def test_latency_is_slept_on_the_injected_clock(clock: FakeClock) -> None:
    venue = prompt_venue(clock, latency=0.25)
    before = clock.now()
    venue.fetch_ticker("BTC/USDT")
    venue.fetch_balance()
    assert clock.slept == [0.25, 0.25] and clock.now() == before + 0.5


# -- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "error"), NOTHING_HAPPENS)
def test_a_failed_create_leaves_nothing_behind(venue: PaperExchange, fault: str,
                                               error: type[Exception]) -> None:
    venue.inject("create_order", fault)
    with pytest.raises(error):
        venue.create_order("ETH/USDT", "market", "buy", 1, None, {"clientOrderId": "c1"})
    assert venue.orders_for_client_id("c1") == [] and venue.fetch_my_trades() == []
    assert venue.balance_of("USDT") == (Decimal(1_000_000), Decimal(0))
    assert venue.fault_log == [("create_order", fault)]
    # one shot: the retry goes through
    assert venue.create_order("ETH/USDT", "market", "buy", 1, None,
                              {"clientOrderId": "c1"})["status"] == "closed"


def test_timeout_after_creates_the_order_and_loses_the_answer(venue: PaperExchange) -> None:
    venue.inject("create_order", "timeout_after")
    with pytest.raises(ccxt.RequestTimeout):
        venue.create_order("ETH/USDT", "limit", "buy", 1, 1900, {"clientOrderId": "lost"})
    [order] = venue.orders_for_client_id("lost")
    assert order["status"] == "open"
    assert venue.fetch_order("", "ETH/USDT", {"clientOrderId": "lost"})["id"] == order["id"]
    assert venue.balance_of("USDT")[1] > 0
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        venue.create_order("ETH/USDT", "limit", "buy", 1, 1900, {"clientOrderId": "lost"})


def test_timeout_after_a_market_order_may_have_filled_it(venue: PaperExchange) -> None:
    venue.inject("create_order", "timeout_after")
    with pytest.raises(ccxt.RequestTimeout):
        venue.create_order("SOL/USDT", "market", "sell", 2, None, {"clientOrderId": "gone"})
    [order] = venue.orders_for_client_id("gone")
    assert order["status"] == "closed" and venue.balance_of("SOL")[0] == 998


@pytest.mark.parametrize(("fault", "error"), [
    ("timeout_before", ccxt.RequestTimeout), ("timeout_after", ccxt.RequestTimeout),
    ("unavailable", ccxt.ExchangeNotAvailable), ("rate_limit", ccxt.RateLimitExceeded),
])
def test_a_failed_cancel_leaves_the_order_open(venue: PaperExchange, fault: str,
                                               error: type[Exception]) -> None:
    order = venue.create_order("ETH/USDT", "limit", "buy", 1, 1900)
    venue.inject("cancel_order", fault)
    with pytest.raises(error):
        venue.cancel_order(order["id"])
    assert venue.fetch_order(order["id"])["status"] == "open"


def test_cancel_race_fills_the_order_then_says_unknown_order(venue: PaperExchange) -> None:
    order = venue.create_order("ETH/USDT", "limit", "sell", 2, 2050)
    venue.inject("cancel_order", "cancel_race")
    with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
        venue.cancel_order(order["id"])
    final = venue.fetch_order(order["id"])
    assert final["status"] == "closed" and final["filled"] == 2
    assert [t["price"] for t in final["trades"]] == [2050.0]
    assert venue.balance_of("ETH") == (Decimal(98), Decimal(0))
    assert venue.fault_log == [("cancel_order", "cancel_race")]


@pytest.mark.parametrize("method", ["fetch_order", "fetch_open_orders", "fetch_closed_orders",
                                    "fetch_my_trades", "fetch_ticker", "fetch_balance",
                                    "fetch_order_book"])
@pytest.mark.parametrize(("fault", "error"), [
    ("timeout_before", ccxt.RequestTimeout), ("timeout_after", ccxt.RequestTimeout),
    ("unavailable", ccxt.ExchangeNotAvailable), ("rate_limit", ccxt.RateLimitExceeded),
])
def test_read_faults_raise_the_real_ccxt_class(venue: PaperExchange, method: str,
                                               fault: str, error: type[Exception]) -> None:
    order = venue.create_order("BTC/USDT", "market", "buy", 0.1)
    args: dict[str, tuple[Any, ...]] = {"fetch_order": (order["id"],),
                                        "fetch_ticker": ("BTC/USDT",),
                                        "fetch_order_book": ("BTC/USDT",)}
    venue.inject(method, fault, times=2)
    for _ in range(2):
        with pytest.raises(error):
            getattr(venue, method)(*args.get(method, ()))
    getattr(venue, method)(*args.get(method, ()))
    assert venue.fault_log == [(method, fault)] * 2


def test_inject_refuses_faults_that_make_no_sense(venue: PaperExchange) -> None:
    with pytest.raises(ValueError, match="valid faults"):
        venue.inject("create_order", "meteor")
    with pytest.raises(ValueError, match="valid methods"):
        venue.inject("withdraw", "timeout_before")
    with pytest.raises(ValueError):
        venue.inject("fetch_order", "cancel_race")
    with pytest.raises(ValueError):
        venue.inject("cancel_order", "insufficient_funds")


def test_an_outage_is_switched_on_and_off_with_the_fault_rates(venue: PaperExchange) -> None:
    venue.set_faults({"unavailable": 1.0})
    venue.inject("fetch_ticker", "rate_limit", times=3)
    with pytest.raises(ccxt.RateLimitExceeded):
        venue.fetch_ticker("BTC/USDT")  # the scripted fault first
    with pytest.raises(ccxt.ExchangeNotAvailable):
        venue.fetch_order_book("BTC/USDT")  # then the rate, for every method
    venue.clear_faults()  # the outage is over: the scripted faults left go too
    assert venue.fetch_ticker("BTC/USDT")["symbol"] == "BTC/USDT"
    venue.set_faults(None)
    with pytest.raises(ValueError, match="valid faults"):
        venue.set_faults({"meteor": 0.5})
    assert venue.fault_log == [("fetch_ticker", "rate_limit"),
                               ("fetch_order_book", "unavailable")]


def test_scripted_faults_come_first_and_in_order(clock: FakeClock) -> None:
    venue = prompt_venue(clock, faults={"rate_limit": 1.0})
    venue.inject("fetch_ticker", "unavailable")
    venue.inject("fetch_ticker", "timeout_before")
    errors = []
    for _ in range(3):
        with pytest.raises(ccxt.BaseError) as info:
            venue.fetch_ticker("BTC/USDT")
        errors.append(type(info.value))
    assert errors == [ccxt.ExchangeNotAvailable, ccxt.RequestTimeout, ccxt.RateLimitExceeded]


def test_fault_rates_apply_only_where_they_make_sense(clock: FakeClock) -> None:
    rates = {"insufficient_funds": 1.0, "invalid_order": 1.0, "cancel_race": 1.0,
             "timeout_after": 1.0}
    venue = prompt_venue(clock, faults=rates)
    for _ in range(5):
        venue.fetch_ticker("BTC/USDT")
        venue.fetch_open_orders()
    assert venue.fault_log == []
    with pytest.raises(ccxt.RequestTimeout):
        venue.create_order("BTC/USDT", "market", "buy", 0.1)
    assert venue.fault_log == [("create_order", "timeout_after")]


def test_fault_rates_are_seeded(clock: FakeClock) -> None:
    logs = []
    for seed in (3, 3, 4):
        venue = prompt_venue(clock, seed=seed, faults={"timeout_before": 0.3,
                                                        "rate_limit": 0.2})
        for _ in range(60):
            with contextlib.suppress(ccxt.BaseError):
                venue.fetch_ticker("SOL/USDT")
        logs.append(venue.fault_log)
    assert logs[0] == logs[1] != logs[2]
    assert {f for _, f in logs[0]} == {"timeout_before", "rate_limit"}


def retry(call: Callable[[], T]) -> T:
    while True:
        try:
            return call()
        except (ccxt.NetworkError, ccxt.InsufficientFunds):
            continue
        except ccxt.InvalidOrder as exc:
            if isinstance(exc, ccxt.OrderNotFound | ccxt.DuplicateOrderId):
                raise
            continue


def place(venue: PaperExchange, cid: str, symbol: str, kind: str, side: str, amount: float,
          price: float | None) -> None:
    """Create idempotently: after a timeout, look the order up before sending it again."""
    while True:
        try:
            venue.create_order(symbol, kind, side, amount, price, {"clientOrderId": cid})
            return
        except ccxt.RequestTimeout:
            try:
                retry(lambda: venue.fetch_order("", None, {"clientOrderId": cid}))
                return
            except ccxt.OrderNotFound:
                continue
        except (ccxt.NetworkError, ccxt.InsufficientFunds):
            continue
        except ccxt.InvalidOrder as exc:
            if isinstance(exc, ccxt.DuplicateOrderId):
                return
            continue


def careful_bot(venue: PaperExchange, clock: FakeClock) -> None:
    for i in range(12):
        spec = DEFAULT_MARKETS[i % 3]
        ticker = retry(partial(venue.fetch_ticker, spec.symbol))
        side = "buy" if i % 2 == 0 else "sell"
        price = ticker["ask"] if side == "buy" else ticker["bid"]
        kind = "market" if i % 4 == 3 else "limit"
        place(venue, f"c{i}", spec.symbol, kind, side, float(spec.amount_tick * 500),
              None if kind == "market" else price)
        clock.advance(0.5)
    for _ in range(40):
        retry(venue.fetch_open_orders)
        retry(venue.fetch_balance)
        clock.advance(1)


def test_faults_do_not_change_the_fill_sequence(clock: FakeClock) -> None:
    calm_clock, faulty_clock = FakeClock(clock.now()), FakeClock(clock.now())
    calm = prompt_venue(calm_clock, seed=21, volatility=0.0005)
    faulty = prompt_venue(faulty_clock, seed=21, volatility=0.0005, faults={
        "timeout_before": 0.1, "timeout_after": 0.15, "unavailable": 0.05, "rate_limit": 0.05,
        "insufficient_funds": 0.05, "invalid_order": 0.1,
    })
    careful_bot(calm, calm_clock)
    careful_bot(faulty, faulty_clock)
    assert calm.fault_log == [] and len({f for _, f in faulty.fault_log}) == 6
    assert tape(faulty) == tape(calm) and len(tape(calm)) > 12
    assert faulty.all_orders() == calm.all_orders()


# -- money --------------------------------------------------------------------------------


def test_a_buy_spends_exactly_its_cost_and_fees(venue: PaperExchange) -> None:
    order = venue.create_order("BTC/USDT", "market", "buy", "0.37")
    spent = Decimal(1_000_000) - venue.balance_of("USDT")[0]
    cost = sum(Decimal(str(t["cost"])) for t in order["trades"])
    fees = sum(Decimal(str(t["fee"]["cost"])) for t in order["trades"])
    assert spent == cost + fees == Decimal("0.37") * 30003 * Decimal("1.001")
    assert venue.balance_of("BTC") == (Decimal("10.37"), Decimal(0))


def test_balances_are_conserved_through_a_busy_session(clock: FakeClock) -> None:
    venue = prompt_venue(clock, seed=8, volatility=0.001)
    busy_run(venue, clock, seconds=60)
    for order in venue.fetch_open_orders():
        venue.cancel_order(order["id"])
    start = {"USDT": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100),
             "SOL": Decimal(1000)}
    expected = dict(start)
    for t in venue.fetch_my_trades():
        base, quote = t["symbol"].split("/")
        amount, cost = Decimal(str(t["amount"])), Decimal(str(t["price"])) * \
            Decimal(str(t["amount"]))
        fee = cost * Decimal("0.001")
        sign = 1 if t["side"] == "buy" else -1
        expected[base] += sign * amount
        expected[quote] -= sign * cost + fee
    for cur, value in expected.items():
        free, used = venue.balance_of(cur)
        assert used == 0 and free == value, cur


# -- fees: maker and taker rates, rebates, fee currencies ---------------------------------

BNB = MarketSpec("BNB/USDT", "BNB", "USDT", "0.01", "0.001", "0.001", "5", "613")
START = {"USDT": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100),
         "SOL": Decimal(1000), "BNB": Decimal(1)}


def bnb_venue(clock: FakeClock, **kwargs: Any) -> PaperExchange:
    """Three markets and BNB/USDT, to price fees charged in BNB."""
    return prompt_venue(clock, markets=[*DEFAULT_MARKETS, BNB], balances=START, **kwargs)


def filled_resting_buy(venue: PaperExchange, clock: FakeClock, symbol: str = "BTC/USDT",
                       amount: str = "0.1") -> str:
    """A limit buy that rests, then fills as maker once the price falls through it."""
    limit = venue.mid(symbol) * Decimal("0.99")
    order = venue.create_order(symbol, "limit", "buy", amount, limit)
    assert order["status"] == "open" and order["filled"] == 0
    venue.set_mid(symbol, limit * Decimal("0.99"))
    for _ in range(30):
        clock.advance(1)
        if venue.fetch_order(order["id"])["status"] == "closed":
            break
    return str(order["id"])


def flows(venue: PaperExchange, start: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """What every balance must be, from ``start`` and the venue's own trade records."""
    expected = dict(start)
    for o in venue.all_orders():
        for t in venue.order_truth(o["id"]).trades:
            spec = venue.market_spec(t.symbol)
            sign = 1 if t.side == "buy" else -1
            expected[spec.base] += sign * t.amount
            expected[spec.quote] -= sign * t.cost
            expected[t.fee_currency] -= t.fee
    return expected


def test_by_default_makers_and_takers_pay_the_one_fee_rate_in_the_quote(
        clock: FakeClock) -> None:
    venue = prompt_venue(clock, fill_probability=1.0)
    market = venue.load_markets()["BTC/USDT"]
    assert market["maker"] == market["taker"] == 0.001
    taker = venue.order_truth(venue.create_order("BTC/USDT", "market", "buy", "0.1")["id"])
    maker = venue.order_truth(filled_resting_buy(venue, clock))
    trades = taker.trades + maker.trades
    assert {t.maker for t in trades} == {False, True}
    assert all(t.fee == t.cost * Decimal("0.001") and t.fee_currency == "USDT" for t in trades)


def test_a_maker_rebate_is_credited_while_takers_pay(clock: FakeClock) -> None:
    venue = prompt_venue(clock, fill_probability=1.0, maker_fee_rate="-0.0001")
    market = venue.load_markets()["BTC/USDT"]
    assert (market["maker"], market["taker"]) == (-0.0001, 0.001)
    taker = venue.order_truth(venue.create_order("BTC/USDT", "market", "buy", "0.1")["id"])
    maker = venue.order_truth(filled_resting_buy(venue, clock))
    assert taker.trades and all(not t.maker and t.fee == t.cost * Decimal("0.001")
                                for t in taker.trades)
    assert maker.status == "closed" and all(t.maker for t in maker.trades)
    assert all(t.fee == t.cost * Decimal("-0.0001") < 0 for t in maker.trades)
    assert maker.fees == {"USDT": maker.cost * Decimal("-0.0001")}
    # The rebate is money: paid for the BTC less than its cost, the rest of the hold back.
    assert venue.balance_of("USDT") == (Decimal(1_000_000) - taker.cost - taker.fees["USDT"]
                                        - maker.cost - maker.fees["USDT"], Decimal(0))
    assert venue.balance_of("BTC") == (Decimal("10.2"), Decimal(0))


def test_a_rebated_sell_is_credited_its_cost_and_rebate(clock: FakeClock) -> None:
    venue = prompt_venue(clock, fill_probability=1.0, maker_fee_rate="-0.00025")
    limit = venue.mid("ETH/USDT") * Decimal("1.01")
    order = venue.create_order("ETH/USDT", "limit", "sell", "2", limit)
    venue.set_mid("ETH/USDT", limit * Decimal("1.01"))
    clock.advance(30)
    truth = venue.order_truth(order["id"])
    assert truth.status == "closed" and truth.fees["USDT"] == truth.cost * Decimal("-0.00025")
    assert venue.balance_of("USDT") == (Decimal(1_000_000) + truth.cost * Decimal("1.00025"),
                                        Decimal(0))
    assert venue.balance_of("ETH") == (Decimal(98), Decimal(0))


def test_a_buys_hold_counts_the_dearer_of_the_two_rates(clock: FakeClock) -> None:
    # A rebate does not lower the hold: the order may take on arrival.
    rebate = prompt_venue(clock, balances={"USDT": "100.09", "BTC": "0"},
                          maker_fee_rate="-0.0001")
    with pytest.raises(ccxt.InsufficientFunds):
        rebate.create_order("BTC/USDT", "limit", "buy", "0.001", "100000")  # needs 100.1
    rebate.create_order("BTC/USDT", "limit", "buy", "0.001", "99990")  # needs 100.08999
    assert rebate.balance_of("USDT")[1] == Decimal("100.08999")
    # A dearer maker rate (whatever for) is what a resting order may pay.
    dear = prompt_venue(clock, balances={"USDT": "1000", "BTC": "0"}, maker_fee_rate="0.002")
    dear.create_order("BTC/USDT", "limit", "buy", "0.001", "20000")
    assert dear.balance_of("USDT")[1] == Decimal("20.04")


def test_an_order_that_takes_then_makes_pays_each_rate_and_releases_its_hold(
        clock: FakeClock) -> None:
    for seed in range(8):
        c = FakeClock(clock.now())
        venue = prompt_venue(c, seed=seed, fill_probability=1.0, maker_fee_rate="-0.0002")
        ask = Decimal(str(venue.fetch_ticker("BTC/USDT")["ask"]))
        order = venue.create_order("BTC/USDT", "limit", "buy", "1", ask)
        if order["status"] == "closed":
            continue  # all of it taken on arrival
        [taken] = venue.order_truth(order["id"]).trades
        hold = ask * Decimal("1.001")  # at the taker rate, the dearer one
        # The taker fill was paid out of the hold, its fee too.
        assert venue.balance_of("USDT") == (Decimal(1_000_000) - hold,
                                            hold - taken.cost - taken.fee)
        c.advance(60)
        truth = venue.order_truth(order["id"])
        assert truth.status == "closed"
        assert not truth.trades[0].maker and truth.trades[-1].maker
        assert all(t.fee == t.cost * (Decimal("-0.0002") if t.maker else Decimal("0.001"))
                   for t in truth.trades)
        assert venue.balance_of("USDT") == (Decimal(1_000_000) - truth.cost
                                            - truth.fees["USDT"], Decimal(0))
        return
    pytest.fail("no seed gave a partial fill on arrival")


def test_a_rebate_is_free_at_once_while_the_rest_of_the_hold_stays_held(
        clock: FakeClock) -> None:
    for seed in range(8):
        c = FakeClock(clock.now())
        venue = prompt_venue(c, seed=seed, fill_probability=1.0, maker_fee_rate="-0.0001")
        order = venue.create_order("BTC/USDT", "limit", "buy", "1", "29000")
        venue.set_mid("BTC/USDT", "28000")
        c.advance(1)  # one step: a seeded 25, 50 or 100% fills, as maker
        truth = venue.order_truth(order["id"])
        if truth.status != "open":
            continue
        [made] = truth.trades
        hold = Decimal(29000) * Decimal("1.001")
        assert made.maker and made.fee < 0
        assert venue.balance_of("USDT") == (Decimal(1_000_000) - hold - made.fee,
                                            hold - made.cost)
        return
    pytest.fail("no seed gave a partial maker fill")


def test_fee_currencies_cycle_over_an_orders_trades(clock: FakeClock) -> None:
    venue = bnb_venue(clock, seed=5, fee_currencies=("BNB", None))
    order = venue.create_order("BTC/USDT", "market", "buy", "0.3")
    truth = venue.order_truth(order["id"])
    assert len(truth.trades) == 3  # seed 5 splits it in three
    assert [t.fee_currency for t in truth.trades] == ["BNB", "USDT", "BNB"]
    for t in truth.trades:  # BNB at its mid, rounded to Binance's 8 places
        expected = t.cost * Decimal("0.001")
        if t.fee_currency == "BNB":
            expected = (expected / Decimal(613)).quantize(Decimal("1e-8"))
        assert t.fee == expected
    assert list(truth.fees) == ["BNB", "USDT"]
    # ccxt's order fees, one per currency; its single ``fee`` is None when there are two.
    assert order["fee"] is None
    assert order["fees"] == [{"cost": float(truth.fees["BNB"]), "currency": "BNB"},
                             {"cost": float(truth.fees["USDT"]), "currency": "USDT"}]
    assert [t["fee"]["currency"] for t in order["trades"]] == ["BNB", "USDT", "BNB"]
    assert venue.balance_of("BNB") == (1 - truth.fees["BNB"], Decimal(0))
    assert flows(venue, START) == {c: venue.balance_of(c)[0] for c in START}


def test_a_fee_currency_that_runs_out_falls_back_to_the_quote(clock: FakeClock) -> None:
    venue = prompt_venue(clock, seed=1, markets=[*DEFAULT_MARKETS, BNB],
                         balances={"USDT": "100000", "BNB": "0.06"}, fee_currencies=("BNB",))
    first = venue.order_truth(venue.create_order("BTC/USDT", "market", "buy", "1")["id"])
    assert first.fees == {"BNB": Decimal("0.04894454")}  # 30003 * 0.001 / 613, 8 places
    second = venue.order_truth(venue.create_order("BTC/USDT", "market", "buy", "1")["id"])
    assert second.fees == {"USDT": second.cost * Decimal("0.001")}
    assert venue.balance_of("BNB") == (Decimal("0.01105546"), Decimal(0))
    assert venue.balance_of("USDT") == (Decimal(100_000) - first.cost - second.cost
                                        - second.fees["USDT"], Decimal(0))


def test_fees_in_the_markets_base_are_the_amount_times_the_rate(clock: FakeClock) -> None:
    venue = prompt_venue(clock, seed=5, fee_currencies=("BTC",))
    truth = venue.order_truth(venue.create_order("BTC/USDT", "market", "buy", "0.3")["id"])
    assert {t.fee_currency for t in truth.trades} == {"BTC"}
    assert all(t.fee == t.amount * Decimal("0.001") for t in truth.trades)
    assert truth.fees == {"BTC": Decimal("0.0003")}
    assert venue.balance_of("BTC") == (Decimal("10.2997"), Decimal(0))
    # the quote hold, which counted a quote fee, is given back whole
    assert venue.balance_of("USDT") == (Decimal(1_000_000) - truth.cost, Decimal(0))


def test_fee_options_that_cannot_work_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="no BNB/USDT market"):
        prompt_venue(clock, fee_currencies=("BNB", None))
    with pytest.raises(ValueError, match="fee_currencies"):
        prompt_venue(clock, fee_currencies=())
    with pytest.raises(ValueError, match=r"within \(-1, 1\)"):
        prompt_venue(clock, maker_fee_rate="-1")
    with pytest.raises(ValueError, match=r"within \(-1, 1\)"):
        prompt_venue(clock, fee_rate="1.5")


def test_balances_are_conserved_with_rebates_and_fees_in_two_currencies(
        clock: FakeClock) -> None:
    venue = bnb_venue(clock, seed=8, volatility=0.001, maker_fee_rate="-0.0001",
                      fee_currencies=(None, "BNB", "BTC"))
    busy_run(venue, clock, seconds=60)
    for order in venue.fetch_open_orders():
        venue.cancel_order(order["id"])
    trades = [t for o in venue.all_orders() for t in venue.order_truth(o["id"]).trades]
    assert {t.fee_currency for t in trades} >= {"USDT", "BNB", "BTC"}
    assert any(t.fee < 0 for t in trades) and any(t.fee > 0 for t in trades)
    for cur, value in flows(venue, START).items():
        assert venue.balance_of(cur) == (value, Decimal(0)), cur


# -- ground truth -------------------------------------------------------------------------


def test_order_truth_sums_the_orders_trades_exactly(venue: PaperExchange,
                                                    clock: FakeClock) -> None:
    order = venue.create_order("SOL/USDT", "limit", "buy", "7", "100.02",
                               {"clientOrderId": "t1"})
    clock.advance(30)
    truth = venue.order_truth(order["id"])
    record = venue.order_record(order["id"])
    assert truth == venue.order_truth(client_order_id="t1")
    assert (truth.id, truth.client_order_id, truth.symbol, truth.side, truth.amount) == \
        (order["id"], "t1", "SOL/USDT", "buy", Decimal(7))
    assert [t.id for t in truth.trades] == record.trade_ids and len(truth.trades) > 1
    assert truth.filled == record.filled == sum(t.amount for t in truth.trades)
    assert truth.cost == record.cost == sum(t.price * t.amount for t in truth.trades)
    assert truth.fees == {"USDT": sum(t.fee for t in truth.trades)}
    assert [venue.trade_record(t.id) for t in truth.trades] == list(truth.trades)


def test_order_truth_leaves_zero_fees_out(clock: FakeClock) -> None:
    venue = prompt_venue(clock, fee_rate="0")
    truth = venue.order_truth(venue.create_order("ETH/USDT", "market", "buy", 1)["id"])
    assert truth.trades and truth.fees == {}
    assert {t.fee for t in truth.trades} == {0}


def test_order_truth_by_client_id_is_the_newest_order_and_unknown_is_key_error(
        venue: PaperExchange) -> None:
    venue.create_order("ETH/USDT", "market", "buy", 1, None, {"clientOrderId": "again"})
    second = venue.create_order("ETH/USDT", "limit", "buy", 1, 1000, {"clientOrderId": "again"})
    truth = venue.order_truth(client_order_id="again")
    assert (truth.id, truth.status, truth.filled, truth.fees, truth.trades) == \
        (second["id"], "open", 0, {}, ())
    with pytest.raises(KeyError):
        venue.order_truth("404")
    with pytest.raises(KeyError):
        venue.order_truth(client_order_id="nobody")
    with pytest.raises(TypeError):
        venue.order_truth()
    with pytest.raises(TypeError):
        venue.order_truth(second["id"], client_order_id="again")


def test_order_truth_is_a_snapshot(venue: PaperExchange, clock: FakeClock) -> None:
    order = venue.create_order("BTC/USDT", "limit", "sell", "0.5", "29990")
    before = venue.order_truth(order["id"])
    clock.advance(60)
    after = venue.order_truth(order["id"])
    assert after.filled == Decimal("0.5") and before.filled < after.filled
    assert len(before.trades) < len(after.trades)


# -- trades without an id -----------------------------------------------------------------


def test_trades_can_be_listed_without_an_id(clock: FakeClock) -> None:
    venue = PaperExchange(clock, seed=5, imitate=attrs.evolve(PROMPT, trade_ids=False))
    order = venue.create_order("BTC/USDT", "market", "buy", "0.3")
    listed = venue.fetch_my_trades("BTC/USDT")
    assert len(listed) == 3 and [t["id"] for t in listed] == [None] * 3
    assert [t["id"] for t in order["trades"]] == [None] * 3
    assert all("id" not in t["info"] and t["order"] == order["id"] for t in listed)
    truth = venue.order_truth(order["id"])  # the venue still tells them apart
    assert [float(t.amount) for t in truth.trades] == [t["amount"] for t in listed]


# -- persistence --------------------------------------------------------------------------


def resting_orders(venue: PaperExchange) -> list[dict[str, Any]]:
    orders = []
    for i in range(6):
        spec = DEFAULT_MARKETS[i % 3]
        ask = Decimal(str(venue.fetch_ticker(spec.symbol)["ask"]))
        orders.append(venue.create_order(spec.symbol, "limit", "buy", spec.amount_tick * 2000,
                                         ask, {"clientOrderId": f"r{i}"}))
    return orders


def test_a_restarted_venue_keeps_its_orders_and_keeps_filling_them(
        tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "venue.db"
    reference_clock = FakeClock(clock.now())
    reference = prompt_venue(reference_clock, seed=4, fill_probability=0.2)
    reference.inject("fetch_order", "unavailable")
    resting_orders(reference)

    first = prompt_venue(clock, seed=4, fill_probability=0.2, state_path=str(path))
    first.inject("fetch_order", "unavailable")
    created = resting_orders(first)
    assert [o["status"] for o in created] == ["open"] * 6
    # Killed: no close(), no goodbye. The next process starts a minute later.
    clock.advance(60)
    reference_clock.advance(60)
    second = prompt_venue(clock, seed=99, fill_probability=0.9, markets=[DEFAULT_MARKETS[0]],
                           balances={"USDT": "1"}, state_path=str(path))
    with pytest.raises(ccxt.ExchangeNotAvailable):  # the scripted fault survived too
        second.fetch_order(created[0]["id"])
    orders = second.all_orders()
    assert [o["id"] for o in orders] == [o["id"] for o in created]
    # kept filling while nobody watched, exactly as a venue that never stopped
    assert sum(o["filled"] for o in orders) > sum(o["filled"] for o in created)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        reference.fetch_order(created[0]["id"])
    assert orders == reference.all_orders() and tape(second) == tape(reference)
    assert "SOL/USDT" in second.load_markets()  # the saved markets, not the new argument
    assert second.balance_of("USDT")[0] > 1  # the saved balances too
    assert second.fault_log == [("fetch_order", "unavailable")]
    second.close()
    first.close()


def test_the_state_file_is_private_sqlite(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "venue.db"
    prompt_venue(clock, state_path=str(path)).close()
    assert os.stat(path).st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"meta", "kv", "orders", "trades"} <= tables


def test_a_venue_reopened_by_itself_continues_where_it_was(tmp_path: Path,
                                                           clock: FakeClock) -> None:
    path = str(tmp_path / "venue.db")
    venue = prompt_venue(clock, seed=2, volatility=0.001, state_path=path)
    busy_run(venue, clock, seconds=10)
    venue.close()
    reopened = prompt_venue(clock, state_path=path)
    busy_run_rest = [o["id"] for o in reopened.fetch_open_orders()]
    reference_clock = FakeClock(1_700_000_000.0)
    reference = prompt_venue(reference_clock, seed=2, volatility=0.001)
    busy_run(reference, reference_clock, seconds=10)
    assert busy_run_rest == [o["id"] for o in reference.fetch_open_orders()]
    clock.advance(30)
    reference_clock.advance(30)
    assert reopened.all_orders() == reference.all_orders()
    assert reopened.create_order("SOL/USDT", "market", "buy", 1)["id"] == \
        reference.create_order("SOL/USDT", "market", "buy", 1)["id"]
    reopened.close()


def test_a_saved_venue_keeps_its_fee_schedule(tmp_path: Path, clock: FakeClock) -> None:
    path = str(tmp_path / "venue.db")
    bnb_venue(clock, seed=5, maker_fee_rate="-0.0001", fee_currencies=("BNB", None),
              state_path=path).close()
    reopened = prompt_venue(clock, fee_rate="0.005", state_path=path)  # the saved one wins
    market = reopened.load_markets()["BTC/USDT"]
    assert (market["maker"], market["taker"]) == (-0.0001, 0.001)
    order = reopened.create_order("BTC/USDT", "market", "buy", "0.3")
    truth = reopened.order_truth(order["id"])
    assert [t.fee_currency for t in truth.trades] == ["BNB", "USDT", "BNB"]
    reopened.close()
    again = prompt_venue(clock, state_path=path)
    assert again.order_truth(order["id"]) == truth  # the trades keep their fee currency
    again.close()


def test_a_state_saved_before_maker_rates_and_fee_currencies_still_loads(
        tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "venue.db"
    venue = prompt_venue(clock, seed=5, fee_rate="0.002", state_path=str(path))
    order = venue.create_order("BTC/USDT", "market", "buy", "0.3")
    venue.close()
    with sqlite3.connect(path) as conn:  # rewritten as the previous version wrote them
        [text] = conn.execute("SELECT value FROM kv WHERE key = 'config'").fetchone()
        config = json.loads(text)
        del config["maker_fee_rate"], config["fee_currencies"]
        conn.execute("UPDATE kv SET value = ? WHERE key = 'config'", (json.dumps(config),))
        for table, drop, add in (("trades", "fee_currency", {}), ("orders", None, {"fee": "1"})):
            for rowid, text in conn.execute(f"SELECT id, value FROM {table}").fetchall():
                row = {**json.loads(text), **add}
                row.pop(drop, None)
                conn.execute(f"UPDATE {table} SET value = ? WHERE id = ?",
                             (json.dumps(row), rowid))
    conn.close()
    reopened = prompt_venue(clock, state_path=str(path))
    market = reopened.load_markets()["BTC/USDT"]
    assert market["maker"] == market["taker"] == 0.002
    truth = reopened.order_truth(order["id"])
    assert len(truth.trades) == 3 and truth.fees == {"USDT": truth.cost * Decimal("0.002")}
    assert reopened.create_order("ETH/USDT", "market", "buy", "1")["fee"]["currency"] == "USDT"
    reopened.close()


@pytest.mark.parametrize("content", [b"", b"hello, not a database" * 10])
def test_a_file_that_is_not_a_venue_is_refused_untouched(tmp_path: Path, clock: FakeClock,
                                                         content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    before = path.stat()
    with pytest.raises(ValueError, match="not a paper venue state"):
        prompt_venue(clock, state_path=str(path))
    assert path.read_bytes() == content and path.stat().st_mtime_ns == before.st_mtime_ns


def test_another_sqlite_database_is_refused_untouched(tmp_path: Path,
                                                      clock: FakeClock) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    conn.close()
    content = path.read_bytes()
    with pytest.raises(ValueError, match="not a paper venue state"):
        prompt_venue(clock, state_path=str(path))
    assert path.read_bytes() == content


def test_a_damaged_venue_file_is_a_clear_value_error(tmp_path: Path,
                                                     clock: FakeClock) -> None:
    path = tmp_path / "venue.db"
    prompt_venue(clock, state_path=str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE kv SET value = '{}' WHERE key = 'config'")
    conn.close()
    with pytest.raises(ValueError, match="damaged paper venue state"):
        prompt_venue(clock, state_path=str(path))


def test_fault_names_are_the_documented_ones() -> None:
    assert set(FAULTS) == {"timeout_before", "timeout_after", "unavailable", "rate_limit",
                           "insufficient_funds", "invalid_order", "cancel_race"}
