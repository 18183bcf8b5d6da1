"""A refused timestamp (Binance's -1021, ccxt's InvalidNonce) is mended at the exchange edge:
one resync of ccxt's clock offset and one more send; refused again, ClockSkew, which is
fatal. Unit tests with a ccxt-like fake, then the real ccxt.binance client over HTTP against
a server whose clock is skewed (the venue runs on a FakeClock: nothing sleeps)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from executor_tools import notes

from fsm_executor import (
    ClockSkew,
    ExchangeFailure,
    FakeClock,
    Order,
    OrderSpec,
    Reject,
    State,
    TradeExecutor,
    audit,
)
from fsm_executor.core._decide import after_create_failure, is_retryable
from fsm_executor.core._events import LoseAnswer
from fsm_executor.core._profiles import PROFILES
from fsm_executor.exchange._errors import Kind, translate
from fsm_executor.exchange._exchange import ExchangeAdapter
from fsm_executor.venue._binance_http import BinanceServer, binance_client
from fsm_executor.venue._paper import PaperExchange

MINUS_1021 = ('binance {"code":-1021,"msg":"Timestamp for this request is outside of the '
              'recvWindow."}')
ORDER = Order.from_spec(OrderSpec("fsmxC1", "BTC/USDT", "buy", "limit", "0.01", "27000"), 0.0)


class Skewed:
    """A ccxt-like exchange that refuses the first ``refusals`` signed calls for their
    timestamp; ``load_time_difference`` measures ``offset_ms`` as ccxt's does (into
    ``options["timeDifference"]``). Without ``keeps_offset`` it has no such option, like
    the ccxt exchanges whose nonce() ignores it."""

    has = {"fetchOrder": True}

    def __init__(self, refusals: int, *, id: str = "binance", offset_ms: int = 5003,
                 keeps_offset: bool = True, resync_error: Exception | None = None) -> None:
        self.id = id
        self.refusals = refusals
        self.offset_ms = offset_ms
        self.resync_error = resync_error
        self.options: dict[str, Any] = {"timeDifference": 0} if keeps_offset else {}
        self.log: list[str] = []

    def load_time_difference(self) -> int:
        self.log.append("load_time_difference")
        if self.resync_error is not None:
            raise self.resync_error
        self.options["timeDifference"] = self.offset_ms
        return self.offset_ms

    def _signed(self, name: str) -> dict[str, Any]:
        self.log.append(name)
        if self.refusals > 0:
            self.refusals -= 1
            raise ccxt.InvalidNonce(MINUS_1021)
        return {"id": "42", "clientOrderId": "fsmxC1", "status": "open", "symbol": "BTC/USDT",
                "amount": 0.01, "filled": 0.0}

    def fetch_order(self, id: str, symbol: str | None = None,
                    params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._signed("fetch_order")

    def create_order(self, *args: Any) -> dict[str, Any]:
        return self._signed("create_order")


# -- translation -------------------------------------------------------------------------------

def test_invalid_nonce_is_a_clock_answer_never_a_transient_one() -> None:
    failure = translate(ccxt.InvalidNonce(MINUS_1021), "fetch_order", PROFILES["binance"])
    assert failure.kind == Kind.CLOCK
    assert not is_retryable(failure)


def test_binance_documents_minus_1021_as_refused_before_execution_others_do_not() -> None:
    refused = ccxt.InvalidNonce(MINUS_1021)
    assert translate(refused, "create_order", PROFILES["binance"]).unprocessed
    assert not translate(refused, "create_order", PROFILES["okx"]).unprocessed
    other = ccxt.InvalidNonce('binance {"code":-1022,"msg":"Signature for this request..."}')
    assert not translate(other, "create_order", PROFILES["binance"]).unprocessed


def test_clock_skew_is_fatal_so_the_executor_fails_the_order_and_never_retries() -> None:
    skew = ClockSkew("create_order", "binance", "InvalidNonce: -1021", 5003, unprocessed=True)
    assert skew.kind == Kind.FATAL and not is_retryable(skew)
    assert isinstance(skew, ExchangeFailure)
    event = after_create_failure(skew, may_retry=True)
    assert isinstance(event, Reject) and event.fatal


def test_clock_skews_message_says_what_to_do_and_the_measured_offset() -> None:
    ahead = str(ClockSkew("fetch_order", "binance", "x", 5003))
    assert "5003 ms ahead of binance's" in ahead and "NTP" in ahead
    assert "1200 ms behind" in str(ClockSkew("fetch_order", "binance", "x", -1200))
    unknown = ClockSkew("fetch_order", "kraken", "x", None)
    assert unknown.offset_ms is None and "none was measured" in str(unknown)
    assert "same API key" in str(unknown)  # kraken's nonce is a counter, not a clock


# -- the adapter -------------------------------------------------------------------------------

def test_a_refused_timestamp_is_resynced_once_and_sent_once_more() -> None:
    exchange = Skewed(refusals=1)
    adapter = ExchangeAdapter(exchange)
    assert adapter.run(adapter.fetch(ORDER)).id == "42"
    assert exchange.log == ["fetch_order", "load_time_difference", "fetch_order"]
    assert exchange.options["timeDifference"] == 5003  # ccxt's nonce() reads it from now on
    assert adapter.calls == 3


def test_refused_again_after_the_resync_is_clock_skew_after_exactly_one_resync() -> None:
    exchange = Skewed(refusals=99)
    adapter = ExchangeAdapter(exchange)
    with pytest.raises(ClockSkew) as info:
        adapter.run(adapter.fetch(ORDER))
    assert exchange.log == ["fetch_order", "load_time_difference", "fetch_order"]
    skew = info.value
    assert skew.kind == "fatal" and skew.ccxt_class == "InvalidNonce"
    assert skew.offset_ms == 5003 and skew.action == "fetch_order"
    assert "-1021" in str(skew) and "NTP" in str(skew)
    assert isinstance(skew.__cause__, ccxt.InvalidNonce)


def test_without_a_clock_offset_in_ccxt_nothing_is_measured_but_it_is_sent_once_more() -> None:
    exchange = Skewed(refusals=99, id="kraken", keeps_offset=False)
    with pytest.raises(ClockSkew) as info:
        (adapter := ExchangeAdapter(exchange)).run(adapter.fetch(ORDER))
    assert exchange.log == ["fetch_order", "fetch_order"]
    assert info.value.offset_ms is None


def test_another_error_on_the_second_send_is_translated_as_usual() -> None:
    class ThenGone(Skewed):
        def fetch_order(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if self.log:
                self.log.append("fetch_order")
                raise ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}')
            return super().fetch_order(*args, **kwargs)

    with pytest.raises(ExchangeFailure) as info:
        (adapter := ExchangeAdapter(ThenGone(refusals=1))).run(adapter.fetch(ORDER))
    assert info.value.kind == Kind.NOT_FOUND and not isinstance(info.value, ClockSkew)


def test_a_binance_create_refused_for_its_timestamp_is_sent_again_after_the_resync() -> None:
    exchange = Skewed(refusals=1)
    adapter = ExchangeAdapter(exchange)
    assert adapter.run(adapter.create(ORDER)).id == "42"
    assert exchange.log == ["create_order", "load_time_difference", "create_order"]


def test_a_create_where_the_refusal_is_undocumented_is_looked_up_never_sent_again() -> None:
    exchange = Skewed(refusals=1, id="okx")
    with pytest.raises(ExchangeFailure) as info:
        (adapter := ExchangeAdapter(exchange)).run(adapter.create(ORDER))
    # Resynced, so the lookups that settle it carry a good timestamp; sent once only.
    assert exchange.log == ["create_order", "load_time_difference"]
    assert info.value.kind == Kind.TRANSIENT and not info.value.unprocessed
    assert isinstance(after_create_failure(info.value, may_retry=True), LoseAnswer)


def test_a_failed_resync_leaves_a_refused_create_free_to_be_sent_again_later() -> None:
    exchange = Skewed(refusals=1, resync_error=ccxt.ExchangeNotAvailable("binance 503"))
    with pytest.raises(ExchangeFailure) as info:
        (adapter := ExchangeAdapter(exchange)).run(adapter.create(ORDER))
    assert exchange.log == ["create_order", "load_time_difference"]
    failure = info.value
    assert failure.kind == Kind.TRANSIENT and failure.unprocessed
    assert "resyncing the clock failed" in str(failure)
    assert after_create_failure(failure, may_retry=True) is None  # refused: send again


# -- the real ccxt.binance client over HTTP ----------------------------------------------------

KEY, SECRET = "k-skew", "s-skew-0123456789"
BTC = "BTC/USDT"
POST, TIME = "POST /api/v3/order", "GET /api/v3/time"
CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "jitter": 0.0}


class JumpingClock:
    """The exchange's clock, 30 s further on at each reading: no measured offset holds
    (and 30 s is past ccxt's 10 s recvWindow)."""

    def __init__(self) -> None:
        self.readings = 0

    def now(self) -> float:
        self.readings += 1
        return time.time() + 30 * self.readings

    def sleep(self, seconds: float) -> None:
        raise AssertionError("the server never sleeps")


@pytest.fixture
def venue_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def venue(venue_clock: FakeClock) -> PaperExchange:
    return PaperExchange(venue_clock, seed=3, fill_probability=1.0)


@pytest.fixture
def server(venue: PaperExchange) -> Iterator[BinanceServer]:
    with BinanceServer(venue, api_key=KEY, secret=SECRET) as s:
        yield s


def market_buy(venue: PaperExchange, sid: str = "s1") -> dict[str, Any]:
    return {"id": sid, "symbol": BTC, "side": "buy", "amount": "0.01",
            "price": str(venue.mid(BTC).quantize(Decimal("0.01"))), "order_type": "market"}


@pytest.mark.parametrize("offset", [-5.0, 15.0], ids=["server-5s-behind", "server-15s-ahead"])
def test_a_skewed_exchange_clock_is_resynced_once_and_the_order_placed_exactly_once(
        server: BinanceServer, venue: PaperExchange, venue_clock: FakeClock,
        journal_path: Path, offset: float) -> None:
    # 5 s behind: our timestamps are more than 1 s ahead of Binance's. 15 s ahead: they
    # are older than ccxt's recvWindow (10 s, binance.py options).
    server.clock_offset = offset
    with TradeExecutor(binance_client(server), journal_path, CONFIG, clock=venue_clock,
                       seed=1) as executor:
        order = executor.execute_signal(market_buy(venue))
        assert order.state is State.FILLED and order.failure is None
        placed = venue.orders_for_client_id(order.client_order_id)
        assert [o["id"] for o in placed] == [order.exchange_order_id]
        assert server.requests[POST] == 2 and server.requests[TIME] == 1
        offset_ms = executor.adapter.exchange.options["timeDifference"]
        assert abs(offset_ms + offset * 1000) < 1000  # ccxt measured the skew
        executor.execute_signal(market_buy(venue, "s2"))  # the resync holds
        assert server.requests[POST] == 3 and server.requests[TIME] == 1
    assert audit(journal_path).ok


def test_five_seconds_ahead_is_inside_ccxts_recv_window_and_needs_no_resync(
        server: BinanceServer, venue: PaperExchange, venue_clock: FakeClock,
        journal_path: Path) -> None:
    server.clock_offset = 5.0
    with TradeExecutor(binance_client(server), journal_path, CONFIG, clock=venue_clock,
                       seed=1) as executor:
        assert executor.execute_signal(market_buy(venue)).state is State.FILLED
    assert server.requests[POST] == 1 and server.requests[TIME] == 0


def test_a_clock_that_keeps_jumping_fails_the_order_fatally_after_exactly_one_resync(
        venue: PaperExchange, venue_clock: FakeClock, journal_path: Path) -> None:
    with BinanceServer(venue, api_key=KEY, secret=SECRET, clock=JumpingClock()) as server, \
            TradeExecutor(binance_client(server), journal_path, CONFIG, clock=venue_clock,
                          seed=1) as executor:
        order = executor.execute_signal(market_buy(venue))
        assert order.state is State.FAILED and order.failure == "fatal"
        assert "NTP" in (order.reason or "") and "-1021" in (order.reason or "")
        assert venue.orders_for_client_id(order.client_order_id) == []
        assert server.requests[POST] == 2 and server.requests[TIME] == 1
        assert venue_clock.slept == []  # no backoff: nothing retried the refusal
    assert audit(journal_path).ok


def test_the_adapter_reports_the_offset_ccxt_measured_when_the_skew_does_not_hold(
        venue: PaperExchange) -> None:
    with BinanceServer(venue, api_key=KEY, secret=SECRET, clock=JumpingClock()) as server:
        adapter = ExchangeAdapter(binance_client(server))
        with pytest.raises(ClockSkew) as info:
            adapter.run(adapter.open_orders(BTC))
        assert server.requests["GET /api/v3/openOrders"] == 2 and server.requests[TIME] == 1
    offset = info.value.offset_ms
    assert offset is not None and offset < -30_000  # this machine is behind the exchange
    assert f"{-offset} ms behind binance's" in str(info.value)


def test_an_unreachable_time_endpoint_leaves_a_refused_create_to_be_sent_again(
        server: BinanceServer, venue: PaperExchange, venue_clock: FakeClock,
        journal_path: Path) -> None:
    server.clock_offset = -5.0
    server.inject(TIME, "http_503")
    with TradeExecutor(binance_client(server), journal_path, CONFIG, clock=venue_clock,
                       seed=1) as executor:
        order = executor.execute_signal(market_buy(venue))
        assert order.state is State.FILLED
        assert len(venue.orders_for_client_id(order.client_order_id)) == 1
        # Refused and not resynced; sent again after the backoff, refused, resynced, placed.
        assert server.requests[POST] == 3 and server.requests[TIME] == 2
        assert notes(journal_path, order.client_order_id)[0] == "create_refused"
    assert audit(journal_path).ok
