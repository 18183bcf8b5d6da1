"""The edge to ccxt: every exchange call goes through ``ExchangeAdapter``.

ccxt's dicts become the core's ``ExchangeOrder`` and ``MarketRules`` (_answers.py) here,
through _ccxt_shapes.py (floats become Decimals through ``str``), and ccxt exceptions become
``ExchangeFailure`` (_errors.py) ``from`` the original. Nothing past this module sees a
ccxt shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import ccxt

from ..core._answers import ExchangeOrder, Kind, Lookup, MarketRules
from ..core._exceptions import ClockSkew, ExchangeFailure, InvalidInput
from ..core._model import Fill, Order, Side, to_decimal
from ..core._profiles import ExchangeProfile, LookupBy, profile_for
from ._ccxt_shapes import decimal_or_none, fills_from_ccxt, order_from_ccxt, rules_from_ccxt
from ._errors import translate

T = TypeVar("T")
#: The actions that place an order: a refused timestamp there is sent again only where the
#: exchange documents it as refused before execution.
_PLACING: Final = frozenset({"create_order"})


def _wire(value: Decimal) -> str:
    """An amount or price as ccxt is given it: the exact decimal string, never a float
    (70329669.63383683 would leave as ...684) nor an exponent ("1E-8"). ccxt takes str
    for numbers (base/types.py ``Num``); its precision functions read them with
    ``Decimal(str(n))`` (base/decimal_to_precision.py), so the string reaches the wire."""
    return f"{value:f}"


def _brief(seen: ExchangeOrder | None) -> str:
    if seen is None:
        return "something that is not an order"
    return f"an order with id {seen.id!r} and client order id {seen.client_order_id!r}"


class ExchangeAdapter:
    """A ccxt exchange (sync API) or the paper venue, seen through the executor's needs.

    ``profile`` (default: the exchange's own, from _profiles.py) says how this exchange
    names client order ids, looks them up and answers a duplicate."""

    def __init__(self, exchange: Any, profile: ExchangeProfile | None = None) -> None:
        self.exchange = exchange
        self.profile = profile if profile is not None else profile_for(exchange)
        self._rules: dict[str, MarketRules] = {}
        #: Requests sent, for the figures of benchmarks and summaries.
        self.calls = 0

    @property
    def name(self) -> str:
        return str(getattr(self.exchange, "id", type(self.exchange).__name__))

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """``fn()``, its ccxt errors translated. A refused timestamp is mended here, so the
        executor never retries one: see ``_after_clock_refusal``."""
        self.calls += 1
        try:
            return fn()
        except ccxt.BaseError as exc:
            failure = translate(exc, action, self.profile)
            if failure.kind != Kind.CLOCK:
                raise failure from exc
            refused = exc
        return self._after_clock_refusal(action, fn, failure, refused)

    def _after_clock_refusal(self, action: str, fn: Callable[[], T], failure: ExchangeFailure,
                             exc: ccxt.BaseError) -> T:
        """The exchange refused the request's timestamp: resync ccxt's clock offset and send
        the request once more; refused again, ClockSkew (fatal): backoff cannot mend a clock.

        A create is sent again only where the exchange's profile lists the answer as
        refused before execution. Binance checks the timestamp before it forwards the
        request to the matching engine (binance-spot-api-docs rest-api.md, "Timing
        security": -1021 is answered from the "reject request" branches), so nothing was
        placed and a second send cannot place twice. Elsewhere the create's outcome is
        unknown, as after a network error: it is looked up, now with a resynced clock."""
        offset = self._resync(failure)
        if action in _PLACING and not failure.unprocessed:
            raise ExchangeFailure(
                Kind.TRANSIENT.value, f"{failure} (clock resynced; not sent again: "
                f"{self.name} does not document this answer as a refusal before execution)",
                failure.ccxt_class) from exc
        self.calls += 1
        try:
            return fn()
        except ccxt.BaseError as again:
            second = translate(again, action, self.profile)
            if second.kind != Kind.CLOCK:
                raise second from again
            raise ClockSkew(action, self.name, f"{second.ccxt_class}: {again}", offset,
                            second.ccxt_class, second.unprocessed) from again

    def _resync(self, failure: ExchangeFailure) -> int | None:
        """ccxt's clock offset measured again (ms, this machine's clock minus the
        exchange's), or None where ccxt keeps none for this exchange.

        ccxt's ``load_time_difference`` (base exchange.py) sets ``options["timeDifference"]``
        to this machine's milliseconds minus ``fetch_time()``, and the exchanges whose
        ``nonce()`` subtracts it (binance.py: ``milliseconds() - timeDifference``; okx,
        bitget, gate, coinbase too) declare that option: only there does a resync move the
        next request's timestamp. ``adjustForTimeDifference`` is left as the user set it: it
        only makes ``fetch_markets`` call ``load_time_difference`` at each markets load, one
        request more per load that catches no drift after it, where resyncing on a refusal
        costs nothing until a refusal and catches drift whenever it appears."""
        options = getattr(self.exchange, "options", None)
        measure = getattr(self.exchange, "load_time_difference", None)
        if not (isinstance(options, Mapping) and "timeDifference" in options
                and callable(measure)):
            return None
        self.calls += 1
        try:
            return int(measure())
        except ccxt.BaseError as failed:
            resync = translate(failed, "load_time_difference", self.profile)
            # Still the refused request's failure: whatever became of the resync, a create
            # refused before execution (unprocessed) may be sent again later.
            kind = Kind.FATAL.value if resync.kind == Kind.CLOCK else resync.kind
            raise ExchangeFailure(kind, f"{failure}; resyncing the clock failed: {resync}",
                                  resync.ccxt_class, failure.unprocessed) from failed

    def _order(self, answer: Mapping[str, Any]) -> ExchangeOrder:
        """ccxt's order as ours, with our client order id as we sent it (Gate echoes it
        behind its "t-")."""
        seen = order_from_ccxt(answer)
        echo = self.profile.client_id_echo_prefix
        cid = seen.client_order_id
        if echo and isinstance(cid, str) and cid.startswith(echo):
            seen = attrs.evolve(seen, client_order_id=cid[len(echo):])
        return seen

    def _has(self, feature: str) -> bool:
        return bool((getattr(self.exchange, "has", None) or {}).get(feature))

    # -- markets (no I/O once loaded) -------------------------------------------------------

    def rules(self, symbol: str) -> MarketRules:
        if symbol not in self._rules:
            markets = self._call("load_markets", self.exchange.load_markets)
            if symbol not in markets:
                raise ExchangeFailure(Kind.FATAL.value, f"{self.name} has no market {symbol!r}",
                                      "BadSymbol")
            market = markets[symbol]
            self._rules[symbol] = rules_from_ccxt(market, self._price_tick(symbol))
        return self._rules[symbol]

    def _price_tick(self, symbol: str) -> Decimal | None:
        precision = decimal_or_none(
            (self.exchange.markets[symbol].get("precision") or {}).get("price"))
        mode = getattr(self.exchange, "precisionMode", ccxt.TICK_SIZE)
        if precision is None:
            return None
        if mode == ccxt.TICK_SIZE:
            return precision
        if mode == ccxt.DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(precision))
        return None  # significant digits: no fixed step

    def amount_to_precision(self, symbol: str, amount: Decimal) -> Decimal:
        """Truncated to the market's amount precision (ccxt's own rule)."""
        text = self._call("amount_to_precision",
                          lambda: self.exchange.amount_to_precision(symbol, str(amount)))
        return to_decimal(text, "amount")

    def price_to_precision(self, symbol: str, price: Decimal) -> Decimal:
        text = self._call("price_to_precision",
                          lambda: self.exchange.price_to_precision(symbol, str(price)))
        return to_decimal(text, "price")

    # -- prices ----------------------------------------------------------------------------

    def best_price(self, symbol: str, side: Side) -> Decimal | None:
        """The price a taker would pay now: the ask to buy, the bid to sell."""
        key = "ask" if side is Side.BUY else "bid"
        if self._has("fetchTicker"):
            ticker = self._call("fetch_ticker", lambda: self.exchange.fetch_ticker(symbol))
            price = decimal_or_none(ticker.get(key))
            if price is not None:
                return price
        book = self._call("fetch_order_book", lambda: self.exchange.fetch_order_book(symbol, 5))
        levels = book.get("asks" if side is Side.BUY else "bids") or []
        return decimal_or_none(levels[0][0]) if levels else None

    # -- orders ----------------------------------------------------------------------------

    def create(self, order: Order, params: Mapping[str, Any] | None = None) -> ExchangeOrder:
        """Place ``order`` under its client order id. ccxt's own retry stays off: a create
        that failed in flight is looked up, never blindly sent again."""
        request = {self.profile.client_id_param: order.client_order_id,
                   "maxRetriesOnFailure": 0, **(params or {})}
        if order.type.value == "limit" and order.price is None:
            raise InvalidInput(f"order {order.client_order_id!r}: a limit order needs a price")
        price = (None if order.type.value == "market" or order.price is None
                 else _wire(order.price))
        answer = self._call("create_order", lambda: self.exchange.create_order(
            order.symbol, order.type.value, order.side.value, _wire(order.amount), price,
            request))
        return self._order(answer)

    def fetch(self, order: Order) -> ExchangeOrder:
        answer = self._call("fetch_order", lambda: self.exchange.fetch_order(
            order.exchange_order_id, order.symbol))
        return self._order(answer)

    def find(self, order: Order) -> Lookup:
        """Look ``order`` up by its client order id. ``found`` is None only when the
        exchange answered that it has no such order; network errors raise.

        An answer is believed only when it carries an exchange id and our client order id:
        some ccxt exchanges answer a lookup with another order, or an empty one, instead
        of raising. Such an answer is reported in ``odd`` and the listings decide."""
        cid = order.client_order_id
        profile = self.profile
        odd: list[str] = []
        if profile.lookup is LookupBy.FETCH_ORDER and self._has("fetchOrder"):
            try:
                answer = self._call("fetch_order", lambda: self.exchange.fetch_order(
                    "", order.symbol, {profile.lookup_param: cid}))
            except ExchangeFailure as failure:
                if failure.kind != Kind.NOT_FOUND:
                    raise
            else:
                seen = self._order(answer) if isinstance(answer, Mapping) else None
                if seen is not None and seen.id is not None and seen.client_order_id == cid:
                    return Lookup(seen)
                odd.append(f"fetch_order by client order id answered {_brief(seen)}")
        # Not found by id (or no such call): the open and recent closed orders settle it.
        params = ({profile.lookup_param: cid}
                  if profile.lookup is LookupBy.LISTINGS and profile.lookup_param else {})
        for listing in (self.open_orders, self.closed_orders):
            for seen in listing(order.symbol, params):
                if seen.client_order_id == cid and seen.id is not None:
                    return Lookup(seen, tuple(odd))
        return Lookup(None, tuple(odd))

    def open_orders(self, symbol: str | None = None,
                    params: Mapping[str, Any] | None = None) -> list[ExchangeOrder]:
        answer = self._call("fetch_open_orders", lambda: self.exchange.fetch_open_orders(
            symbol, None, None, dict(params or {})))
        return [self._order(o) for o in answer]

    def closed_orders(self, symbol: str | None = None,
                      params: Mapping[str, Any] | None = None) -> list[ExchangeOrder]:
        if not self._has("fetchClosedOrders"):
            return []
        answer = self._call("fetch_closed_orders", lambda: self.exchange.fetch_closed_orders(
            symbol, None, None, dict(params or {})))
        return [self._order(o) for o in answer]

    def trades(self, order: Order) -> Sequence[Fill] | None:
        """The order's trades, or None where the exchange cannot list them per order."""
        if not self._has("fetchMyTrades") or order.exchange_order_id is None:
            return None
        answer = self._call("fetch_my_trades", lambda: self.exchange.fetch_my_trades(
            order.symbol, None, None, {"orderId": order.exchange_order_id}))
        eid = order.exchange_order_id
        return fills_from_ccxt([t for t in answer if str(t.get("order")) == eid], eid)

    def cancel(self, order: Order) -> ExchangeOrder | None:
        answer = self._call("cancel_order", lambda: self.exchange.cancel_order(
            order.exchange_order_id, order.symbol))
        return self._order(answer) if isinstance(answer, Mapping) else None
