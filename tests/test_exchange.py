"""ExchangeAdapter at the ccxt boundary: amounts and prices leave as the exact decimal
strings of the order, never floats (a float turns 70329669.63383683 into ...684)."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from fsm_executor import ExchangeFailure, FakeClock, Order, OrderSpec
from fsm_executor.core._actions import Op, Request
from fsm_executor.exchange._exchange import ExchangeAdapter
from fsm_executor.venue._binance_http import BinanceServer, binance_client
from fsm_executor.venue._paper import MarketSpec, PaperExchange

#: Seventeen significant digits: a float cannot hold either (they come back as ...684, ...466).
AMOUNT, PRICE = "70329669.63383683", "82667152.01235465"


class Recorder:
    """A ccxt-like exchange that records what create_order is given."""

    id = "recorder"
    has: dict[str, bool] = {}

    def __init__(self) -> None:
        self.created: list[tuple[Any, Any]] = []

    def create_order(self, symbol: str, type: str, side: str, amount: Any, price: Any,
                     params: Mapping[str, Any]) -> dict[str, Any]:
        self.created.append((amount, price))
        return {"id": "1", "clientOrderId": params["clientOrderId"], "status": "open"}


def order(amount: str, price: str | None, type: str = "limit", cid: str = "fsmxW1") -> Order:
    return Order.from_spec(OrderSpec(cid, "XYZ/USDT", "buy", type, amount, price), 0.0)


def test_floats_would_not_do() -> None:
    assert repr(float(AMOUNT)) != AMOUNT and repr(float(PRICE)) != PRICE


@pytest.mark.parametrize("amount, price, sent", [
    (AMOUNT, PRICE, (AMOUNT, PRICE)),
    # Decimal("0.00000001") prints as 1E-8: the string is plain, as exchanges take it.
    ("0.00000001", "5E+3", ("0.00000001", "5000")),
    ("1.50", "0.10", ("1.50", "0.10")),
])
def test_create_gives_ccxt_exact_decimal_strings_never_floats(
        amount: str, price: str, sent: tuple[str, str]) -> None:
    exchange = Recorder()
    (adapter := ExchangeAdapter(exchange)).run(adapter.create(order(amount, price)))
    assert exchange.created == [sent]
    assert all(type(value) is str for value in exchange.created[0])


def test_a_market_order_sends_its_amount_as_a_string_and_no_price() -> None:
    exchange = Recorder()
    (adapter := ExchangeAdapter(exchange)).run(adapter.create(order(AMOUNT, None, "market")))
    assert exchange.created == [(AMOUNT, None)]


# -- through the real ccxt.binance client, on the wire ----------------------------------------

KEY, SECRET = "k-wire", "s-wire-0123456789"
#: Steps of 1e-8, as Binance's smallest; a mid far above the test prices: buys rest.
XYZ = MarketSpec("XYZ/USDT", "XYZ", "USDT", "0.00000001", "0.00000001", "0.00000001", "0",
                 "100000000")


@pytest.fixture
def wire() -> Iterator[tuple[PaperExchange, BinanceServer, list[dict[str, str]]]]:
    venue = PaperExchange(FakeClock(), markets=[XYZ], fill_probability=1.0)
    seen: list[dict[str, str]] = []
    with BinanceServer(venue, api_key=KEY, secret=SECRET) as server:
        handle = server.handle

        def recording(method: str, target: str, headers: Mapping[str, str],
                      body: bytes) -> Any:
            if method == "POST":
                query = target.partition("?")[2]
                seen.append(dict(parse_qsl(query + "&" + body.decode())))
            return handle(method, target, headers, body)

        server.handle = recording  # type: ignore[method-assign]
        yield venue, server, seen


@pytest.mark.parametrize("amount, price", [(AMOUNT, "0.00012345"), ("0.001", PRICE)])
def test_amount_and_price_reach_binance_as_the_exact_strings(
        wire: tuple[PaperExchange, BinanceServer, list[dict[str, str]]], amount: str,
        price: str) -> None:
    venue, server, seen = wire
    adapter = ExchangeAdapter(binance_client(server))
    adapter.run(adapter.rules("XYZ/USDT"))  # markets loaded: ccxt applies the market's precision
    placed = adapter.run(adapter.create(order(amount, price)))
    assert [(s["quantity"], s["price"]) for s in seen] == [(amount, price)]
    record = venue.order_record(placed.id or "")
    assert (record.amount, record.price) == (Decimal(amount), Decimal(price))
    # (The answer comes back through ccxt's parse_order, which makes floats of Binance's
    # strings: placed.amount reads ...684. Only the request is exact.)
    assert placed.id is not None


def test_a_failed_request_leaves_no_cycle_for_the_garbage_collector() -> None:
    # Binance answers not-found at every poll inside its visibility lag: a failure kept
    # in a frame of its own traceback would leave each one to the cyclic collector.
    adapter = ExchangeAdapter(PaperExchange(FakeClock()))
    unknown = Order.from_spec(OrderSpec("fsmxW1", "BTC/USDT", "buy", "limit", "1", "10"), 0.0)
    unknown.exchange_order_id = "999"
    gc.collect()
    gc.disable()
    try:
        kind = ""
        try:
            adapter.request(Request(Op.FETCH, "fsmxW1"), unknown)
        except ExchangeFailure as failure:
            kind = failure.kind
        assert kind == "not_found"
        assert gc.collect() == 0
    finally:
        gc.enable()
