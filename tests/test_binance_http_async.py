"""The local Binance server through the real ``ccxt.async_support.binance`` client (aiohttp),
alone and under ``AsyncTradeExecutor``.

These run on a real event loop: aiohttp's sockets and ccxt's throttle run on real time,
which the virtual loop cannot drive. The venue's Binance lags are shortened (or its clock
advanced by hand) so that each test takes a second or so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from executor_tools import assert_money_matches, triggers

from fsm_executor import AsyncTradeExecutor, State, SystemClock, audit, replay
from fsm_executor.testing import BinanceServer, FakeClock, PaperExchange, async_binance_client

KEY = "test-api-key"
SECRET = "s3cret-never-shown-0123456789"
BTC = "BTC/USDT"
POST = "POST /api/v3/order"


@pytest.fixture
def venue_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(venue_clock: FakeClock) -> Iterator[BinanceServer]:
    venue = PaperExchange(venue_clock, fill_probability=1.0)
    with BinanceServer(venue, api_key=KEY, secret=SECRET) as s:
        yield s


def test_the_async_client_is_ccxts_own_pointed_at_the_server_with_its_rate_limiter_on(
        server: BinanceServer) -> None:
    client = async_binance_client(server)
    assert isinstance(client, ccxt.async_support.binance)
    assert client.enableRateLimit is True
    assert all(url.startswith(server.url) for url in client.urls["api"].values()
               if isinstance(url, str))
    assert async_binance_client(server, enableRateLimit=False).enableRateLimit is False

    async def three_trade_listings() -> float:
        async with client:
            await client.load_markets()
            start = time.monotonic()
            for _ in range(3):
                await client.fetch_my_trades(BTC)
            return time.monotonic() - start

    # myTrades weighs 20 on Binance, a cost of 4 x 50 ms in ccxt's throttle: each listing
    # waits 0.2 s for the request before it (exchangeInfo weighs as much).
    assert asyncio.run(three_trade_listings()) >= 0.35
    assert client.session is None  # closed: no aiohttp session left behind


def test_an_order_placed_fetched_and_cancelled_through_the_async_client(
        server: BinanceServer, venue_clock: FakeClock) -> None:
    venue = server.venue
    price = str((venue.mid(BTC) * Decimal("0.9")).quantize(Decimal("0.01")))

    async def life() -> tuple[Any, ...]:
        async with async_binance_client(server) as client:
            placed = await client.create_order(BTC, "limit", "buy", "0.002", price,
                                               {"clientOrderId": "async-1"})
            with pytest.raises(ccxt.OrderNotFound):  # Binance's lag: not visible yet
                await client.fetch_order(placed["id"], BTC)
            venue_clock.advance(6.0)
            fetched = await client.fetch_order(placed["id"], BTC)
            cancelled = await client.cancel_order(placed["id"], BTC)
            return placed, fetched, cancelled

    placed, fetched, cancelled = asyncio.run(life())
    assert (placed["status"], placed["clientOrderId"]) == ("open", "async-1")
    assert (fetched["id"], fetched["status"], fetched["clientOrderId"]) == (
        placed["id"], "open", "async-1")
    assert Decimal(str(fetched["price"])) == Decimal(price)
    assert (cancelled["id"], cancelled["status"]) == (placed["id"], "canceled")
    assert venue.order_truth(placed["id"]).status == "canceled"
    assert len(venue.orders_for_client_id("async-1")) == 1


@pytest.mark.parametrize("order_type", ["market", "limit"])
def test_a_lost_create_answer_is_found_by_the_async_executors_lookup_and_placed_once(
        order_type: str, journal_path: Path) -> None:
    # The venue on real time, Binance's lags cut to 0.3 s: the lookups miss the order
    # (inside the exchange's grace: that says nothing), then find it.
    venue = PaperExchange(SystemClock(), seed=3, fill_probability=1.0, visibility_lag=0.3,
                          trade_lag=0.3)
    config = {"poll_interval_seconds": 0.2, "not_found_interval_seconds": 0.2,
              "retry_delay_seconds": 0.1, "jitter": 0}
    signal = {"id": "lost-1", "symbol": BTC, "side": "buy", "amount": "0.01",
              "price": str(venue.mid(BTC)), "order_type": order_type}

    async def run(server: BinanceServer) -> Any:
        async with async_binance_client(server) as client, \
                AsyncTradeExecutor(client, journal_path, config, seed=1) as executor:
            return await asyncio.wait_for(executor.execute_signal(signal), 30)

    with BinanceServer(venue, api_key=KEY, secret=SECRET) as server:
        server.inject(POST, "drop_after")  # placed, and the connection dropped
        order = asyncio.run(run(server))
    # Binance keeps a reused client id only while its order is open: never re-sent.
    assert server.requests[POST] == 1
    assert [o["id"] for o in venue.orders_for_client_id(order.client_order_id)] == [
        order.exchange_order_id]
    assert order.state is State.FILLED
    assert {"lose_answer", "acknowledge"} <= set(triggers(journal_path,
                                                          order.client_order_id))
    assert_money_matches(venue, order)
    assert replay(journal_path)[order.client_order_id] == order
    assert audit(journal_path).ok
