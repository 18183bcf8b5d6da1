"""An exchange whose every answer is drawn by hypothesis, for property tests.

Answers are arbitrary but as unkind as Binance's, never worse: OrderNotFound is raised for
an order that does not exist, or one still inside its visibility lag (drawn per order: a
new order can be invisible to lookups, listings and cancels for a while, -2013 "Order does
not exist."), and the cumulative filled it reports never exceeds the truth. Everything else
goes: any ccxt exception at any call, statuses missing or odd, filled missing or reported
lower than before, a lookup by client order id answered with an empty order or another
one, trade lists lagging the cumulative filled. Like Binance, a client order id is refused
only while an order with it is open, with -2010 "Duplicate order sent." as InvalidOrder,
so a blind re-send after a lost answer would create a second order, which the ground truth
(``orders_for_client_id``) shows.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt
from hypothesis import strategies as st

from ..core._clock import Clock

#: Errors a call may raise without anything happening (the request never arrived, or was
#: refused before processing). OrderNotFound is left out: it is a definitive answer, and so
#: is InvalidNonce (a refused timestamp: the adapter resyncs, then it is fatal), which an
#: exchange never answers after acting.
TRANSIENT_ERRORS = (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable, ccxt.OnMaintenance,
                    ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.NetworkError,
                    ccxt.BadResponse, ccxt.NullResponse, ccxt.OrderNotCached)
REJECT_ERRORS = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.OrderNotFillable,
                 ccxt.OrderImmediatelyFillable, ccxt.MarketClosed, ccxt.BadRequest,
                 ccxt.OperationRejected, ccxt.ExchangeError, ccxt.AuthenticationError,
                 ccxt.PermissionDenied, ccxt.BadSymbol, ccxt.NotSupported)


def ccxt_errors(classes: tuple[type[Exception], ...] = TRANSIENT_ERRORS) -> Any:
    """A strategy of ccxt exception instances of ``classes``."""
    return st.sampled_from(classes).map(lambda cls: cls("generated"))


#: Visibility lags a new order may draw (seconds); Binance's grace in _profiles.py is 30 s,
#: so the last one outlasts it: the order is presumed absent while the exchange holds it.
LAGS = (0.0, 0.0, 1.0, 5.0, 20.0, 45.0)
#: What a create may do: be answered, be lost before or after the exchange acted, be refused.
CREATE_OUTCOMES = ("ok", "ok", "lost_before", "lost_after", "reject")
_NOT_FOUND = '{"code":-2013,"msg":"Order does not exist."}'
_UNKNOWN = '{"code":-2011,"msg":"Unknown order sent."}'


class GeneratedExchange:
    """A ccxt-shaped exchange (one market, SYM/USD) answering from ``draw``, imitating
    Binance's manners. Without ``clock`` there is no visibility lag."""

    id = "generated"
    imitates = "binance"
    precisionMode = ccxt.TICK_SIZE

    def __init__(self, draw: Callable[[Any], Any], *, trades: bool = False,
                 error_rate: float = 0.3, clock: Clock | None = None,
                 create_outcomes: tuple[str, ...] = CREATE_OUTCOMES,
                 lags: tuple[float, ...] = LAGS) -> None:
        self.draw = draw
        self.clock = clock
        self.create_outcomes = create_outcomes
        self.lags = lags
        self.has = {"fetchOrder": True, "fetchOrderWithClientOrderId": True,
                    "fetchOpenOrders": True, "fetchClosedOrders": True,
                    "fetchMyTrades": trades, "fetchTicker": True}
        self.error_rate = error_rate
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.markets = {"SYM/USD": {
            "symbol": "SYM/USD", "base": "SYM", "quote": "USD", "active": True,
            "precision": {"amount": 0.01, "price": 0.01},
            "limits": {"amount": {"min": 0.01, "max": None}, "cost": {"min": None},
                       "price": {"min": None, "max": None}},
        }}
        self.calls = 0

    # -- ground truth ------------------------------------------------------------------------

    def orders_for_client_id(self, cid: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["clientOrderId"] == cid]

    # -- helpers -----------------------------------------------------------------------------

    def _maybe_fail(self, errors: tuple[type[Exception], ...] = TRANSIENT_ERRORS) -> None:
        self.calls += 1
        if self.draw(st.floats(0, 1)) < self.error_rate:
            raise self.draw(ccxt_errors(errors))

    def _progress(self, order: dict[str, Any]) -> None:
        """The exchange's truth moves on: some fill, maybe an end."""
        if order["status"] != "open":
            return
        remaining = order["amount"] - order["filled"]
        steps = int(remaining / Decimal("0.01"))
        if steps and self.draw(st.booleans()):
            fill = Decimal("0.01") * self.draw(st.integers(1, steps))
            order["filled"] += fill
            tid = f"T{len(self.trades) + 1}"
            self.trades.append({"id": tid, "order": order["id"], "amount": float(fill),
                                "price": 10.0, "symbol": "SYM/USD", "timestamp": None,
                                "fee": {"cost": 0.0, "currency": "USD"}})
        if order["filled"] == order["amount"]:
            order["status"] = "closed"
        else:
            end = self.draw(st.sampled_from(["open", "open", "open", "canceled", "expired"]))
            order["status"] = end

    def _answer(self, order: dict[str, Any]) -> dict[str, Any]:
        """A ccxt order dict, sometimes odd: status missing or unknown, filled missing or
        stale (never above the truth)."""
        status = order["status"]
        oddity = self.draw(st.sampled_from(["none"] * 6 + ["no_status", "no_filled", "stale",
                                                           "weird_status"]))
        filled: float | None = float(order["filled"])
        if oddity == "no_status":
            status = None
        elif oddity == "weird_status":
            status = "PENDING_NEW"
        elif oddity == "no_filled":
            filled = None
        elif oddity == "stale" and order["filled"] > 0:
            filled = float(order["filled"] - Decimal("0.01"))
        return {"id": order["id"], "clientOrderId": order["clientOrderId"], "status": status,
                "symbol": "SYM/USD", "amount": float(order["amount"]), "filled": filled,
                "average": 10.0 if order["filled"] else None,
                "cost": None, "fee": None, "trades": [], "timestamp": None}

    def _visible(self, order: dict[str, Any]) -> bool:
        return self.clock is None or self.clock.now() >= order["visible_at"]

    def _find(self, id: str | None, params: dict[str, Any],
              unknown: str = _NOT_FOUND) -> dict[str, Any]:
        if id:
            order = self.orders.get(id)
        else:
            matches = self.orders_for_client_id(params.get("clientOrderId", ""))
            order = matches[-1] if matches else None
        if order is None or not self._visible(order):
            raise ccxt.OrderNotFound(f"generated {unknown}")
        return order

    # -- the ccxt calls the executor makes -----------------------------------------------------

    def load_markets(self) -> dict[str, Any]:
        return self.markets

    def amount_to_precision(self, symbol: str, amount: Any) -> str:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        if value <= 0:
            raise ccxt.InvalidOrder("amount must be greater than minimum amount precision")
        return str(value)

    def price_to_precision(self, symbol: str, price: Any) -> str:
        return str(Decimal(str(price)).quantize(Decimal("0.01")))

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        self._maybe_fail()
        return {"symbol": symbol, "bid": 9.99, "ask": 10.0, "last": 10.0}

    def create_order(self, symbol: str, type: str, side: str, amount: Any,
                     price: Any = None, params: dict[str, Any] | None = None) -> Any:
        cid = (params or {}).get("clientOrderId")
        outcome = self.draw(st.sampled_from(self.create_outcomes))
        self.calls += 1
        if outcome == "lost_before":
            raise self.draw(ccxt_errors())
        if outcome == "reject":
            raise self.draw(ccxt_errors(REJECT_ERRORS))
        if any(o["status"] == "open" for o in self.orders_for_client_id(cid or "")):
            raise ccxt.InvalidOrder('generated {"code":-2010,"msg":"Duplicate order sent."}')
        oid = str(1000 + len(self.orders))
        now = self.clock.now() if self.clock is not None else 0.0
        order = {"id": oid, "clientOrderId": cid, "amount": Decimal(str(amount)),
                 "filled": Decimal(0), "status": "open",
                 "visible_at": now + self.draw(st.sampled_from(self.lags))}
        self.orders[oid] = order
        self._progress(order)
        if outcome == "lost_after":
            raise self.draw(ccxt_errors())
        return self._answer(order)

    def fetch_order(self, id: str | None, symbol: str | None = None,
                    params: dict[str, Any] | None = None) -> Any:
        self._maybe_fail()
        shown = sorted(oid for oid, o in self.orders.items() if self._visible(o))
        if not id and shown and self.draw(st.integers(0, 9)) == 0:
            # Some exchanges answer a lookup by client id with an empty order, or another.
            return self.draw(st.sampled_from([{}, self._answer(
                self.orders[self.draw(st.sampled_from(shown))])]))
        order = self._find(id, params or {})
        self._progress(order)
        return self._answer(order)

    def cancel_order(self, id: str, symbol: str | None = None,
                     params: dict[str, Any] | None = None) -> Any:
        self._maybe_fail()
        order = self._find(id, {}, _UNKNOWN)
        self._progress(order)  # a fill may race the cancel
        if order["status"] != "open":
            raise ccxt.OrderNotFound(f"generated {_UNKNOWN}")
        order["status"] = "canceled"
        return self._answer(order)

    def fetch_open_orders(self, symbol: str | None = None, *args: Any) -> Any:
        self._maybe_fail()
        return [self._answer(o) for o in self.orders.values()
                if o["status"] == "open" and self._visible(o)]

    def fetch_closed_orders(self, symbol: str | None = None, *args: Any) -> Any:
        self._maybe_fail()
        return [self._answer(o) for o in self.orders.values()
                if o["status"] != "open" and self._visible(o)]

    def fetch_my_trades(self, symbol: str | None = None, since: Any = None, limit: Any = None,
                        params: dict[str, Any] | None = None) -> Any:
        self._maybe_fail()
        oid = (params or {}).get("orderId")
        listed = [t for t in self.trades if oid is None or t["order"] == oid]
        # The trade list may lag the cumulative filled: the newest trades are missing.
        return listed[:self.draw(st.integers(0, len(listed)))]
