"""What the executors ask ccxt, and what its answers mean, without doing the I/O.

Each method of ``ExchangeCalls`` is a generator: it yields the ccxt ``Call`` to make and is
sent ccxt's answer (or thrown ccxt's exception). The sync ``ExchangeAdapter`` and the
asyncio ``AsyncExchangeAdapter`` only carry the calls out, so the conversation (which
lookups settle a lost create, how a refused timestamp is mended, which listing holds an
order) is written once for both. ccxt's dicts become the core's ``ExchangeOrder`` and
``MarketRules`` here (_ccxt_shapes.py), and ccxt exceptions ``ExchangeFailure``
(_errors.py) ``from`` the original: nothing past this module sees a ccxt shape.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import ccxt

from ..core._actions import Op, Request
from ..core._answers import ExchangeOrder, Kind, Lookup, MarketRules
from ..core._exceptions import ClockSkew, ExchangeFailure, InvalidInput
from ..core._fill import Fill
from ..core._model import Order, Side
from ..core._profiles import ExchangeProfile, LookupBy, profile_for
from ..core._values import to_decimal
from ._ccxt_shapes import decimal_or_none, fills_from_ccxt, order_from_ccxt, rules_from_ccxt
from ._errors import translate

T = TypeVar("T")
#: The actions that place an order: a refused timestamp there is sent again only where the
#: exchange documents it as refused before execution.
_PLACING: Final = frozenset({"create_order"})


@attrs.frozen
class Call:
    """One ccxt method call: ``exchange.<method>(*args)``."""

    method: str
    args: tuple[Any, ...] = ()


#: A conversation with ccxt: yields calls, is sent their answers, returns a T.
Calls = Generator[Call, Any, T]


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


def retry_after(exchange: Any) -> float | None:
    """The seconds a rate-limited answer asked to wait: its Retry-After header, as ccxt
    kept the last response's headers (an HTTP date, or nothing, says nothing usable)."""
    headers = getattr(exchange, "last_response_headers", None)
    if not isinstance(headers, Mapping):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


class ExchangeCalls:
    """The conversation with one ccxt exchange (or the paper venue), sync or async alike.

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

    def perform(self, request: Request, order: Order | None) -> Calls[Any]:
        """The conversation that answers ``request`` (about ``order``, if it names one)."""
        op = request.op
        if op is Op.RULES:
            return self.rules(_given(request.symbol))
        if op is Op.QUOTE:
            return self.best_price(_given(request.symbol), Side(_given(request.side)))
        if op is Op.OPEN_ORDERS:
            return self.open_orders(request.symbol)
        if op is Op.CLOSED_ORDERS:
            return self.closed_orders(request.symbol)
        assert order is not None, f"{op} needs an order"
        if op is Op.CREATE:
            return self.create(order)
        if op is Op.FIND:
            return self.find(order)
        if op is Op.FETCH:
            return self.fetch(order)
        if op is Op.CANCEL:
            return self.cancel(order)
        return self.trades(order)

    def _call(self, call: Call) -> Calls[Any]:
        """``call``, its ccxt errors translated. A refused timestamp is mended here, so the
        executor never retries one: see ``_after_clock_refusal``."""
        self.calls += 1
        try:
            return (yield call)
        except ccxt.BaseError as exc:
            failure = translate(exc, call.method, self.profile)
            if failure.kind == Kind.RATE_LIMITED:
                failure.retry_after = retry_after(self.exchange)
            if failure.kind != Kind.CLOCK:
                try:
                    raise failure from exc
                finally:
                    # Its traceback holds this frame: kept here too, the failure would be
                    # a cycle only the garbage collector frees (Binance's not-found
                    # answers come at every poll inside its visibility lag).
                    del failure
            refused = exc
        return (yield from self._after_clock_refusal(call, failure, refused))

    def _after_clock_refusal(self, call: Call, failure: ExchangeFailure,
                             exc: ccxt.BaseError) -> Calls[Any]:
        """The exchange refused the request's timestamp: resync ccxt's clock offset and send
        the request once more; refused again, ClockSkew (fatal): backoff cannot mend a clock.

        A create is sent again only where the exchange's profile lists the answer as
        refused before execution. Binance checks the timestamp before it forwards the
        request to the matching engine (binance-spot-api-docs rest-api.md, "Timing
        security": -1021 is answered from the "reject request" branches), so nothing was
        placed and a second send cannot place twice. Elsewhere the create's outcome is
        unknown, as after a network error: it is looked up, now with a resynced clock."""
        offset = yield from self._resync(failure)
        if call.method in _PLACING and not failure.unprocessed:
            raise ExchangeFailure(
                Kind.TRANSIENT.value, f"{failure} (clock resynced; not sent again: "
                f"{self.name} does not document this answer as a refusal before execution)",
                failure.ccxt_class) from exc
        self.calls += 1
        try:
            return (yield call)
        except ccxt.BaseError as again:
            second = translate(again, call.method, self.profile)
            if second.kind != Kind.CLOCK:
                raise second from again
            raise ClockSkew(call.method, self.name, f"{second.ccxt_class}: {again}", offset,
                            second.ccxt_class, second.unprocessed) from again

    def _resync(self, failure: ExchangeFailure) -> Calls[int | None]:
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
        if not (isinstance(options, Mapping) and "timeDifference" in options
                and callable(getattr(self.exchange, "load_time_difference", None))):
            return None
        self.calls += 1
        try:
            return int((yield Call("load_time_difference")))
        except ccxt.BaseError as failed:
            resync = translate(failed, "load_time_difference", self.profile)
            # Still the refused request's failure: whatever became of the resync, a create
            # refused before execution (unprocessed) may be sent again later.
            kind = Kind.FATAL.value if resync.kind == Kind.CLOCK else resync.kind
            raise ExchangeFailure(kind, f"{failure}; resyncing the clock failed: {resync}",
                                  resync.ccxt_class, failure.unprocessed) from failed

    def _local(self, action: str, fn: Callable[[], T]) -> T:
        """A ccxt helper that asks nothing of the network (precision rules), its errors
        translated."""
        try:
            return fn()
        except ccxt.BaseError as exc:
            raise translate(exc, action, self.profile) from exc

    def _order(self, answer: Mapping[str, Any]) -> ExchangeOrder:
        """ccxt's order as ours, with our client order id as we sent it (Gate echoes it
        behind its "t-")."""
        seen = order_from_ccxt(answer)
        echo = self.profile.client_id_echo_prefix
        cid = seen.client_order_id
        if echo and isinstance(cid, str) and cid.startswith(echo):
            seen = attrs.evolve(seen, client_order_id=cid[len(echo):])
        return seen

    @property
    def can_list_open(self) -> bool:
        """Whether the exchange lists a market's open orders."""
        return self._has("fetchOpenOrders")

    def _has(self, feature: str) -> bool:
        return bool((getattr(self.exchange, "has", None) or {}).get(feature))

    # -- markets (no I/O once loaded) -------------------------------------------------------

    def rules(self, symbol: str) -> Calls[MarketRules]:
        if symbol not in self._rules:
            # Loaded already (ccxt keeps them): no request.
            markets = getattr(self.exchange, "markets", None)
            if not (isinstance(markets, Mapping) and symbol in markets):
                markets = yield from self._call(Call("load_markets"))
            if symbol not in markets:
                raise ExchangeFailure(Kind.FATAL.value, f"{self.name} has no market {symbol!r}",
                                      "BadSymbol")
            self._rules[symbol] = rules_from_ccxt(markets[symbol], self._price_tick(symbol))
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
        """Truncated to the market's amount precision (ccxt's own rule, no I/O)."""
        text = self._local("amount_to_precision",
                           lambda: self.exchange.amount_to_precision(symbol, str(amount)))
        return to_decimal(text, "amount")

    def price_to_precision(self, symbol: str, price: Decimal) -> Decimal:
        text = self._local("price_to_precision",
                           lambda: self.exchange.price_to_precision(symbol, str(price)))
        return to_decimal(text, "price")

    # -- prices ----------------------------------------------------------------------------

    def best_price(self, symbol: str, side: Side) -> Calls[Decimal | None]:
        """The price a taker would pay now: the ask to buy, the bid to sell."""
        key = "ask" if side is Side.BUY else "bid"
        if self._has("fetchTicker"):
            ticker = yield from self._call(Call("fetch_ticker", (symbol,)))
            price = decimal_or_none(ticker.get(key))
            if price is not None:
                return price
        book = yield from self._call(Call("fetch_order_book", (symbol, 5)))
        levels = book.get("asks" if side is Side.BUY else "bids") or []
        return decimal_or_none(levels[0][0]) if levels else None

    # -- orders ----------------------------------------------------------------------------

    def create(self, order: Order, params: Mapping[str, Any] | None = None
               ) -> Calls[ExchangeOrder]:
        """Place ``order`` under its client order id. ccxt's own retry stays off: a create
        that failed in flight is looked up, never blindly sent again."""
        request = {self.profile.client_id_param: order.client_order_id,
                   "maxRetriesOnFailure": 0, **(params or {})}
        if order.type.value == "limit" and order.price is None:
            raise InvalidInput(f"order {order.client_order_id!r}: a limit order needs a price")
        price = (None if order.type.value == "market" or order.price is None
                 else _wire(order.price))
        answer = yield from self._call(Call("create_order", (
            order.symbol, order.type.value, order.side.value, _wire(order.amount), price,
            request)))
        return self._order(answer)

    def fetch(self, order: Order) -> Calls[ExchangeOrder]:
        answer = yield from self._call(Call("fetch_order", (order.exchange_order_id,
                                                            order.symbol)))
        return self._order(answer)

    def find(self, order: Order) -> Calls[Lookup]:
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
                answer = yield from self._call(Call("fetch_order", (
                    "", order.symbol, {profile.lookup_param: cid})))
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
            for seen in (yield from listing(order.symbol, params)):
                if seen.client_order_id == cid and seen.id is not None:
                    return Lookup(seen, tuple(odd))
        return Lookup(None, tuple(odd))

    def open_orders(self, symbol: str | None = None,
                    params: Mapping[str, Any] | None = None) -> Calls[list[ExchangeOrder]]:
        answer = yield from self._call(Call("fetch_open_orders", (
            symbol, None, None, dict(params or {}))))
        return [self._order(o) for o in answer]

    def closed_orders(self, symbol: str | None = None,
                      params: Mapping[str, Any] | None = None) -> Calls[list[ExchangeOrder]]:
        if not self._has("fetchClosedOrders"):
            return []
        answer = yield from self._call(Call("fetch_closed_orders", (
            symbol, None, None, dict(params or {}))))
        return [self._order(o) for o in answer]

    def trades(self, order: Order) -> Calls[Sequence[Fill] | None]:
        """The order's trades, or None where the exchange cannot list them per order."""
        if not self._has("fetchMyTrades") or order.exchange_order_id is None:
            return None
        answer = yield from self._call(Call("fetch_my_trades", (
            order.symbol, None, None, {"orderId": order.exchange_order_id})))
        eid = order.exchange_order_id
        return fills_from_ccxt([t for t in answer if str(t.get("order")) == eid], eid)

    def cancel(self, order: Order) -> Calls[ExchangeOrder | None]:
        answer = yield from self._call(Call("cancel_order", (order.exchange_order_id,
                                                             order.symbol)))
        return self._order(answer) if isinstance(answer, Mapping) else None


def _given(value: str | None) -> str:
    assert value is not None, "the request names no market"
    return value
