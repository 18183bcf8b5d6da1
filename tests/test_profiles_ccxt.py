"""Each exchange profile against that exchange's real ccxt client (offline: tests/
ccxt_wire.py): our client order id reaches the exchange in the field its API documents,
when the order is placed and when it is looked up after a lost answer. A profile that
named the wrong param would place orders the executor cannot find again, or look up
an order by a field the exchange ignores."""

from __future__ import annotations

import ccxt
import pytest
from ccxt_wire import Request, Sent, Wire

from fsm_executor import ExchangeFailure, Order, OrderSpec
from fsm_executor.core._answers import Kind
from fsm_executor.core._decide import after_create_failure
from fsm_executor.core._events import LoseAnswer
from fsm_executor.core._profiles import DEFAULT, PROFILES, LookupBy, profile_for
from fsm_executor.exchange._errors import translate
from fsm_executor.exchange._exchange import ExchangeAdapter

#: Where each exchange's API takes our client order id: when placing, and when looking an
#: order up ("path": in the URL's path; None: no lookup by it, the listings are matched
#: here), and the endpoint a lookup asks. From each exchange's API reference:
#: - binance: POST /api/v3/order newClientOrderId; query order, GET /api/v3/order,
#:   origClientOrderId.
#: - bybit: /v5/order/create orderLinkId; open and closed orders, /v5/order/realtime,
#:   orderLinkId.
#: - okx: /api/v5/trade/order (ccxt sends batch-orders) clOrdId; order details,
#:   GET /api/v5/trade/order, clOrdId.
#: - kucoin: POST /api/v1/(hf/)orders clientOid; GET .../orders/client-order/{clientOid}.
#: - gate: POST /spot/orders text ("t-" and ours); GET /spot/orders/{order_id} takes the
#:   text in place of the id.
#: - kraken: AddOrder cl_ord_id; OpenOrders (and ClosedOrders) cl_ord_id.
#: - coinbase: POST /orders client_order_id; no lookup or listing filter by it: the list of
#:   orders (/orders/historical/batch) is matched here.
#: - bitget: place-order clientOid; order-info clientOid.
#: - bitfinex: order/submit cid (an integer); r/orders cid.
#: - htx: orders/place client-order-id; orders/getClientOrder clientOrderId.
#: - mexc and bitstamp, two exchanges without a profile of their own: POST /api/v3/order
#:   newClientOrderId, GET /api/v3/order origClientOrderId; order/{side} client_order_id,
#:   order_status client_order_id.
DOCUMENTED: dict[str, tuple[str, str | None, str]] = {
    "binance": ("newClientOrderId", "origClientOrderId", "/api/v3/order"),
    "bybit": ("orderLinkId", "orderLinkId", "/v5/order/realtime"),
    "okx": ("clOrdId", "clOrdId", "/api/v5/trade/order"),
    "kucoin": ("clientOid", "path", "/orders/client-order/"),
    "gate": ("text", "path", "/spot/orders/"),
    "kraken": ("cl_ord_id", "cl_ord_id", "/OpenOrders"),
    "coinbase": ("client_order_id", None, "/orders/historical/batch"),
    "bitget": ("clientOid", "clientOid", "/order-info"),
    "bitfinex": ("cid", "cid", "/auth/r/orders"),
    "htx": ("client-order-id", "clientOrderId", "/getClientOrder"),
    "mexc": ("newClientOrderId", "origClientOrderId", "/api/v3/order"),
    "bitstamp": ("client_order_id", "client_order_id", "/order_status"),
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
    _, field, endpoint = DOCUMENTED[exchange]
    assert endpoint in request.path, request
    assert request.carrying(order.client_order_id) == ([field] if field else []), request
    if field is None:  # the open orders' listing, matched here
        assert profile_for(Wire(exchange).exchange).lookup is LookupBy.LISTINGS


#: Each exchange's answer to a create that reuses a client order id still held, as its API
#: reference gives it (HTTP status, body), with the id the profile matches it by.
DUPLICATE_ANSWERS = [
    ("binance", 400, '{"code":-2010,"msg":"Duplicate order sent."}'),
    ("okx", 200, '{"code":"1","data":[{"clOrdId":"fsmxAbc12","ordId":"","sCode":"51016",'
                 '"sMsg":"Duplicated clOrdId","tag":""}],"msg":"Operation failed."}'),
    ("kucoin", 200, '{"code":"126044","msg":"clientOid duplicate"}'),
    ("kucoin", 200, '{"code":"126033","msg":"Duplicate order"}'),
    ("kucoin", 400, '{"code":"400100","msg":"clientOidDuplicated"}'),
    ("bybit", 200, '{"retCode":110072,"retMsg":"OrderLinkedID is duplicate","result":{}}'),
    ("bybit", 200, '{"retCode":170141,"retMsg":"Duplicate clientOrderId.","result":{}}'),
    ("bitget", 400, '{"code":"43118","msg":"clientOrderId duplicate","data":null}'),
    ("bitget", 400, '{"code":"45034","msg":"Client order id duplicate","data":null}'),
    ("htx", 200, '{"status":"error","err-code":"invalid-client-order-id",'
                 '"err-msg":"invalid-client-order-id","data":null}'),
]


@pytest.mark.parametrize(("exchange", "status", "body"), DUPLICATE_ANSWERS,
                         ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(DUPLICATE_ANSWERS)])
def test_the_exchanges_own_duplicate_id_answer_is_looked_up_never_taken_as_a_reject(
        exchange: str, status: int, body: str) -> None:
    wire = Wire(exchange)
    wire.answer = (status, body)
    adapter = ExchangeAdapter(wire.exchange)
    with pytest.raises(ExchangeFailure) as raised:
        adapter.run(adapter.create(_order(exchange)))
    assert raised.value.kind == Kind.DUPLICATE, raised.value
    assert isinstance(after_create_failure(raised.value, may_retry=True), LoseAnswer)


#: A listing's field value that points it at another market than spot (Bybit's
#: category=linear without a symbol).
_NOT_SPOT = {"linear", "inverse", "usdt-futures", "coin-futures", "swap", "futures", "option"}


def _lists_every_spot_market(exchange: str) -> bool:
    """Whether ccxt's fetch_open_orders without a symbol asks for every spot market's open
    orders (rather than refusing, or listing another market type)."""
    wire = Wire(exchange)
    try:
        wire.exchange.fetch_open_orders(None)
    except Sent:
        return not any(value.lower() in _NOT_SPOT for _, value in wire.last().fields)
    except ccxt.BaseError:  # refused without a symbol: Binance's warning, KuCoin's HF
        return False
    raise AssertionError("nothing was asked")


@pytest.mark.parametrize("exchange", PROFILES)
def test_recovery_looks_for_orphans_in_every_market_where_ccxt_can_list_them_at_once(
        exchange: str) -> None:
    # Recovery adds a listing without a symbol (_reconcile._orphans) exactly where the
    # profile says listings need none: there, one that refused or listed futures would
    # hide every orphan; elsewhere, leaving it out would miss those of other markets.
    assert PROFILES[exchange].listings_need_symbol is not _lists_every_spot_market(exchange)


#: Binance's rate-limit answers (rest-api.md, "LIMITS"): HTTP 429, then 418 once the IP is
#: banned, each with -1003. Binance documents 4XX answers as refused before execution.
RATE_LIMITED = [
    (429, '{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request '
          'weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid '
          'polling the API."}'),
    (418, '{"code":-1003,"msg":"Way too much request weight used; IP banned until '
          '1700000000000. Please use WebSocket Streams for live updates to avoid bans."}'),
]


@pytest.mark.parametrize(("status", "body"), RATE_LIMITED, ids=["429", "418"])
def test_a_create_binance_refused_for_its_rate_limit_is_sent_again(status: int,
                                                                  body: str) -> None:
    wire = Wire("binance")
    wire.answer = (status, body)
    adapter = ExchangeAdapter(wire.exchange)
    with pytest.raises(ExchangeFailure) as raised:
        adapter.run(adapter.create(_order("binance")))
    assert raised.value.kind == Kind.RATE_LIMITED and raised.value.unprocessed
    assert after_create_failure(raised.value, may_retry=True) is None  # nothing to look up


def test_binances_rate_limit_code_alone_is_a_refusal_too() -> None:
    # Without the HTTP status (the websocket API's answers), ccxt's exceptions table gives
    # -1003 its class: the code says what happened.
    binance = Wire("binance").exchange
    body = 'binance {"code":-1003,"msg":"Too many requests; please use the websocket."}'
    with pytest.raises(ccxt.RateLimitExceeded) as raised:
        binance.throw_exactly_matched_exception(binance.exceptions["exact"], "-1003", body)
    failure = translate(raised.value, "create_order", PROFILES["binance"])
    assert failure.unprocessed and after_create_failure(failure, may_retry=True) is None


def test_an_unknown_exchange_is_listed_market_by_market_as_some_known_ones_must_be() -> None:
    # Nothing is known of it: that some exchanges refuse a listing without a symbol, or
    # answer it with futures, is reason enough not to rely on one.
    some_cannot = any(not _lists_every_spot_market(exchange) for exchange in PROFILES)
    assert DEFAULT.listings_need_symbol is some_cannot
