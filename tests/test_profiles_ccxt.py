"""Each exchange profile against that exchange's real ccxt client (offline: tests/
ccxt_wire.py): our client order id reaches the exchange in the field its API documents,
when the order is placed and when it is looked up after a lost answer. A profile that
named the wrong param would place orders the executor cannot find again, or look up
an order by a field the exchange ignores."""

from __future__ import annotations

import pytest
from ccxt_wire import Request, Sent, Wire

from fsm_executor import Order, OrderSpec
from fsm_executor.core._profiles import DEFAULT, PROFILES, LookupBy, profile_for
from fsm_executor.exchange._exchange import ExchangeAdapter

#: Where each exchange's API takes our client order id: when placing, and when looking an
#: order up ("path": in the URL's path; None: no lookup by it, the listings are matched
#: here). From each exchange's API reference:
#: - binance: POST /api/v3/order newClientOrderId; GET /api/v3/order origClientOrderId.
#: - bybit: /v5/order/create and /v5/order/realtime orderLinkId.
#: - okx: /api/v5/trade/order (ccxt sends batch-orders) and GET /api/v5/trade/order clOrdId.
#: - kucoin: POST /api/v1/orders clientOid; GET /api/v1/order/client-order/{clientOid}.
#: - gate: POST /spot/orders text ("t-" and ours); GET /spot/orders/{order_id} takes the
#:   text in place of the id.
#: - kraken: AddOrder, OpenOrders and ClosedOrders cl_ord_id.
#: - coinbase: POST /orders client_order_id; no order lookup or listing filter by it.
#: - bitget: place-order and orderInfo clientOid.
#: - bitfinex: order/submit and r/orders cid (an integer).
#: - htx: orders/place client-order-id; getClientOrder clientOrderId.
#: - mexc and bitstamp, two exchanges without a profile of their own: POST /api/v3/order
#:   newClientOrderId, GET /api/v3/order origClientOrderId; order/{side} and order_status
#:   client_order_id.
DOCUMENTED: dict[str, tuple[str, str | None]] = {
    "binance": ("newClientOrderId", "origClientOrderId"),
    "bybit": ("orderLinkId", "orderLinkId"),
    "okx": ("clOrdId", "clOrdId"),
    "kucoin": ("clientOid", "path"),
    "gate": ("text", "path"),
    "kraken": ("cl_ord_id", "cl_ord_id"),
    "coinbase": ("client_order_id", None),
    "bitget": ("clientOid", "clientOid"),
    "bitfinex": ("cid", "cid"),
    "htx": ("client-order-id", "clientOrderId"),
    "mexc": ("newClientOrderId", "origClientOrderId"),
    "bitstamp": ("client_order_id", "client_order_id"),
}


def _order(exchange: str) -> Order:
    cid = "1234567890" if exchange == "bitfinex" else "fsmxAbc-12"
    if exchange in ("okx", "bitstamp", "mexc"):  # letters and digits only there
        cid = "fsmxAbc12"
    return Order.from_spec(OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.5", "30000"), 0.0)


def _first_request(exchange: str, what: str) -> tuple[Request, Order]:
    wire = Wire(exchange)
    adapter = ExchangeAdapter(wire.exchange)
    order = _order(exchange)
    with pytest.raises(Sent):
        adapter.run(getattr(adapter, what)(order))
    return Request(*wire.sent[0]), order


def test_every_profile_is_checked_here_and_two_exchanges_stand_for_the_default() -> None:
    assert set(PROFILES) < set(DOCUMENTED)
    without = set(DOCUMENTED) - set(PROFILES)
    assert without and all(profile_for(Wire(e).exchange) is DEFAULT for e in without)


@pytest.mark.parametrize("exchange", DOCUMENTED)
def test_a_placed_order_carries_our_client_id_in_the_field_the_exchange_documents(
        exchange: str) -> None:
    request, order = _first_request(exchange, "create")
    assert request.carrying(order.client_order_id) == [DOCUMENTED[exchange][0]], request


@pytest.mark.parametrize("exchange", DOCUMENTED)
def test_a_lookup_asks_the_exchange_by_our_client_id_where_its_api_can(
        exchange: str) -> None:
    request, order = _first_request(exchange, "find")
    field = DOCUMENTED[exchange][1]
    assert request.carrying(order.client_order_id) == ([field] if field else []), request
    if field is None:  # the open orders' listing, matched here
        assert profile_for(Wire(exchange).exchange).lookup is LookupBy.LISTINGS
