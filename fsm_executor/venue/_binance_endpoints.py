"""Binance spot's /api/v3 endpoints over the paper venue: what each answers, given a request's
parameters (already checked for a signature where the endpoint is SIGNED). Every behaviour
of the market comes from calling the venue's unified methods; the venue's records only
supply exact figures for the answer (_binance_shapes.py).

``BinanceEndpoints`` is a mixin of ``BinanceServer`` (_binance_http.py), which serves them.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from . import _binance_shapes as shapes
from ._binance_requests import (
    NewOrder,
    Params,
    Refusal,
    client_id,
    limit_param,
    long_param,
    missing,
    order_ids,
    page,
)
from ._paper import PaperExchange
from ._paper_records import PaperOrder

#: Every endpoint served ("METHOD /path"): whether it is SIGNED, and its handler.
ROUTES: Final[Mapping[str, tuple[bool, str]]] = {
    "GET /api/v3/ping": (False, "_ping"), "GET /api/v3/time": (False, "_time"),
    "GET /api/v3/exchangeInfo": (False, "_exchange_info"),
    "GET /api/v3/ticker/24hr": (False, "_ticker_24hr"),
    "GET /api/v3/ticker/price": (False, "_ticker_price"),
    "GET /api/v3/ticker/bookTicker": (False, "_book_ticker"),
    "GET /api/v3/depth": (False, "_depth"),
    "POST /api/v3/order": (True, "_create"), "GET /api/v3/order": (True, "_query"),
    "DELETE /api/v3/order": (True, "_cancel"), "GET /api/v3/openOrders": (True, "_open_orders"),
    "GET /api/v3/allOrders": (True, "_all_orders"), "GET /api/v3/myTrades": (True, "_my_trades"),
    "GET /api/v3/account": (True, "_account"),
}
#: Every endpoint served and whether it is SIGNED.
ENDPOINTS: Final[Mapping[str, bool]] = {e: signed for e, (signed, _) in ROUTES.items()}

_ID_ALPHABET: Final = string.ascii_letters + string.digits


@attrs.frozen
class Answer:
    """The answer to one request: its HTTP status, its body and any headers."""

    status: int
    body: Any  # JSON; None: plain text (a 503 from in front of the API)
    headers: Mapping[str, str] = attrs.Factory(dict)


class BinanceEndpoints:
    """BinanceServer's handlers, one per endpoint of ``ROUTES``: each takes the request's
    parameters and returns the Answer, or raises a Refusal or the venue's ccxt error."""

    # BinanceServer's (_binance_http.py): the venue, whether trades carry ids, the markets'
    # ids both ways (loaded when it starts), the client ids' generator, and its clock.
    venue: PaperExchange
    trade_ids: bool
    _symbols: dict[str, str]  # Binance id -> unified symbol
    _ids: dict[str, str]  # unified symbol -> Binance id
    _rng: random.Random
    if TYPE_CHECKING:
        def _now_ms(self) -> int: ...

    # -- a request's market, a new client id -----------------------------------------------

    def _symbol(self, params: Params, required: bool = True) -> str | None:
        market_id = params.get("symbol")
        if not market_id:
            if required:
                raise missing("symbol")
            return None
        symbol = self._symbols.get(market_id)
        if symbol is None:
            raise Refusal(400, -1121, "Invalid symbol.")
        return symbol

    def _market(self, params: Params) -> str:
        symbol = self._symbol(params)
        assert symbol is not None
        return symbol

    def _symbols_asked(self, params: Params) -> list[str]:
        symbol = self._symbol(params, required=False)
        return list(self._ids) if symbol is None else [symbol]

    def _new_client_id(self) -> str:
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(22))

    # -- market data -----------------------------------------------------------------------

    def _ping(self, params: Params) -> Answer:
        return Answer(200, {})

    def _time(self, params: Params) -> Answer:
        return Answer(200, {"serverTime": self._now_ms()})

    def _exchange_info(self, params: Params) -> Answer:
        symbols = self._symbols_asked(params)
        info = shapes.exchange_info(
            [(self._ids[s], self.venue.market_spec(s)) for s in symbols], self._now_ms())
        return Answer(200, info)

    def _one_or_all(self, params: Params, render: Callable[[str], dict[str, Any]]) -> Answer:
        single = self._symbol(params, required=False) is not None
        rows = [render(s) for s in self._symbols_asked(params)]
        return Answer(200, rows[0] if single else rows)

    def _ticker_24hr(self, params: Params) -> Answer:
        def render(symbol: str) -> dict[str, Any]:
            t = self.venue.fetch_ticker(symbol)
            return shapes.ticker_24hr(self._ids[symbol], shapes.from_float(t["bid"]),
                                      shapes.from_float(t["ask"]), shapes.from_float(t["last"]),
                                      int(t["timestamp"]))
        return self._one_or_all(params, render)

    def _ticker_price(self, params: Params) -> Answer:
        def render(symbol: str) -> dict[str, Any]:
            last = shapes.from_float(self.venue.fetch_ticker(symbol)["last"])
            return {"symbol": self._ids[symbol], "price": shapes.num(last)}
        return self._one_or_all(params, render)

    def _book_ticker(self, params: Params) -> Answer:
        def render(symbol: str) -> dict[str, Any]:
            book = self.venue.fetch_order_book(symbol, 1)
            best = [[shapes.from_float(x) for x in (side[0] if side else (0.0, 0.0))]
                    for side in (book["bids"], book["asks"])]
            return shapes.book_ticker(self._ids[symbol], best[0], best[1])
        return self._one_or_all(params, render)

    def _depth(self, params: Params) -> Answer:
        symbol = self._market(params)
        book = self.venue.fetch_order_book(symbol, limit_param(params, 100, 5000))

        def levels(side: list[list[float]]) -> list[list[Decimal]]:
            return [[shapes.from_float(p), shapes.from_float(q)] for p, q in side]
        return Answer(200, shapes.depth(int(book["timestamp"]), levels(book["bids"]),
                                         levels(book["asks"])))

    # -- orders ----------------------------------------------------------------------------

    def _create(self, params: Params) -> Answer:
        symbol = self._market(params)
        new = NewOrder.from_params(params)
        cid = new.client_order_id or self._new_client_id()
        answer = self.venue.create_order(symbol, new.type, new.side, new.quantity, new.price,
                                         {"clientOrderId": cid})
        order, market_id = self.venue.order_record(answer["id"]), self._ids[symbol]
        if new.respond == "ACK":
            return Answer(200, shapes.order_ack(order, market_id))
        if new.respond == "RESULT":
            return Answer(200, shapes.order_result(order, market_id))
        fills = [shapes.fill(self.venue.trade_record(t), self.trade_ids)
                 for t in order.trade_ids]  # the fills of the moment
        return Answer(200, shapes.order_full(order, market_id, fills))

    def _fetch(self, symbol: str, oid: int | None, cid: str | None) -> PaperOrder:
        """The order by id (checked against ``cid`` when both are given), else by client id."""
        if oid is not None:
            order = self.venue.order_record(self.venue.fetch_order(str(oid), symbol)["id"])
            if cid is not None and order.client_order_id != cid:
                raise Refusal(400, -2013, "Order does not exist.")
            return order
        answer = self.venue.fetch_order(None, symbol, {"clientOrderId": cid})
        return self.venue.order_record(answer["id"])

    def _query(self, params: Params) -> Answer:
        symbol, (oid, cid) = self._market(params), order_ids(params)
        return Answer(200, shapes.order_query(self._fetch(symbol, oid, cid), self._ids[symbol]))

    def _cancel(self, params: Params) -> Answer:
        symbol, (oid, cid) = self._market(params), order_ids(params)
        cancel_id = client_id(params, "newClientOrderId") or self._new_client_id()
        if oid is not None and cid is not None:
            self._fetch(symbol, oid, cid)  # Binance checks the pair before cancelling
        answer = (self.venue.cancel_order(str(oid), symbol) if oid is not None
                  else self.venue.cancel_order(None, symbol, {"clientOrderId": cid}))
        order = self.venue.order_record(answer["id"])
        return Answer(200, shapes.cancel_answer(order, self._ids[symbol], cancel_id))

    def _open_orders(self, params: Params) -> Answer:
        symbol = self._symbol(params, required=False)
        orders = [self.venue.order_record(o["id"]) for o in self.venue.fetch_open_orders(symbol)]
        return Answer(200, [shapes.order_query(o, self._ids[o.symbol]) for o in orders])

    def _all_orders(self, params: Params) -> Answer:
        symbol = self._market(params)
        oid, start, end = (long_param(params, n)
                           for n in ("orderId", "startTime", "endTime"))
        limit = limit_param(params, 500, 1000)
        seen = self.venue.fetch_orders(symbol)  # every status, as Binance's allOrders
        orders = sorted((self.venue.order_record(o["id"]) for o in seen), key=lambda o: int(o.id))
        orders = [o for o in orders if (oid is None or int(o.id) >= oid)
                  and (start is None or o.created >= start) and (end is None or o.created <= end)]
        orders = page(orders, limit, oid is not None or start is not None)
        return Answer(200, [shapes.order_query(o, self._ids[symbol]) for o in orders])

    def _my_trades(self, params: Params) -> Answer:
        symbol = self._market(params)
        oid, from_id, start, end = (long_param(params, n)
                                    for n in ("orderId", "fromId", "startTime", "endTime"))
        limit = limit_param(params, 500, 1000)
        listed = self.venue.fetch_my_trades(
            symbol, params=None if oid is None else {"orderId": str(oid)})
        trades = sorted((self.venue.trade_record(t["id"]) for t in listed),
                        key=lambda t: shapes.trade_number(t.id))
        trades = [t for t in trades if (from_id is None or shapes.trade_number(t.id) >= from_id)
                  and (start is None or t.timestamp >= start)
                  and (end is None or t.timestamp <= end)]
        trades = page(trades, limit, from_id is not None or start is not None)
        return Answer(200, [shapes.my_trade(t, self._ids[symbol], self.trade_ids)
                             for t in trades])

    def _account(self, params: Params) -> Answer:
        balance = self.venue.fetch_balance()
        omit_zero = params.get("omitZeroBalances", "false").lower() == "true"
        rows = []
        for asset in sorted(balance["free"]):
            free, used = self.venue.balance_of(asset)
            if not (omit_zero and free + used == 0):
                rows.append((asset, free, used))
        market = self.venue.market(next(iter(self._ids)))
        maker, taker = (shapes.from_float(market[k]) for k in ("maker", "taker"))
        return Answer(200, shapes.account(rows, maker, taker, int(balance["timestamp"])))
