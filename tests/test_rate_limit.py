"""A rate limit cools the exchange down for at least as long as its Retry-After asked,
through the real ccxt.binance client over HTTP; the create refused by it is sent again (Binance
refuses a 429 before execution), once, after the wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from executor_tools import ScheduledClock, notes

from fsm_executor import State, TradeExecutor
from fsm_executor.exchange._calls import retry_after
from fsm_executor.venue._binance_http import BinanceServer, binance_client
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "rate_limit_cooldown_seconds": 2, "retry_delay_seconds": 0.5, "jitter": 0.0}


@pytest.mark.parametrize("asked", [1.0, 42.0])
def test_a_rate_limited_create_waits_what_retry_after_asks_then_is_sent_once_more(
        journal_path: Path, asked: float) -> None:
    clock = ScheduledClock()
    venue = PaperExchange(clock, seed=3, fill_probability=1.0)
    with BinanceServer(venue, api_key="k", secret="s") as server, TradeExecutor(
            binance_client(server), journal_path, CONFIG, clock=clock, seed=1) as executor:
        server.retry_after = asked
        venue.inject("create_order", "rate_limit")
        start = clock.monotonic()
        order = executor.execute_signal({"id": "s1", "symbol": "BTC/USDT", "side": "buy",
                                         "amount": "0.01", "order_type": "market",
                                         "price": str(venue.mid("BTC/USDT"))})
        assert order.state is State.FILLED
        assert server.requests["POST /api/v3/order"] == 2
        assert notes(journal_path, order.client_order_id).count("create_refused") == 1
        # The wait: the cool-down (2 s) or Retry-After, whichever is longer.
        assert max(clock.slept) == max(asked, 2.0)
        assert clock.monotonic() - start >= max(asked, 2.0)


class Headers:
    def __init__(self, headers: Any) -> None:
        self.last_response_headers = headers


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
    ({"Retry-After": "-3"}, None),
    ({}, None),
    (None, None),
])
def test_retry_after_is_read_from_the_last_response(headers: Any,
                                                     expected: float | None) -> None:
    assert retry_after(Headers(headers)) == expected
