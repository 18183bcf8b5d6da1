"""The paper venue: an exchange inside the process, for tests, demos and dry runs.

``PaperExchange`` subclasses ccxt's own base ``Exchange``: ccxt's market helpers
(``load_markets``, ``market()``, ``amount_to_precision``...) work on it and it fails with
ccxt's real exception classes, yet every unified method is overridden, so it never touches
the network. Randomness comes from two seeded generators only: ``Random(seed)`` moves prices
and fills orders, ``Random(seed + 1)`` draws faults (_paper_faults.py), so faults never change
which orders fill when.

The market moves in steps of ``step_seconds`` on a grid fixed at the venue's creation: each
call first catches up to ``clock.now()``, so how often a bot polls changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

import attrs
import ccxt

from ..core._clock import Clock, SystemClock
from ..core._model import to_decimal
from ._paper_ccxt import (
    binance_error,
    check_request,
    market_dict,
    order_dict,
    raise_answer,
    trade_dict,
    window,
)
from ._paper_faults import FAULTS, METHODS, FaultPlan, check_rates, raise_fault
from ._paper_fees import FeeSchedule
from ._paper_file import VenueFile
from ._paper_manners import DEFAULT_MANNERS, MANNERS, Answer, VenueManners
from ._paper_store import (
    MarketSpec,
    OrderTruth,
    PaperOrder,
    PaperTrade,
    VenueState,
    to_tick,
)

__all__ = ["DEFAULT_BALANCES", "DEFAULT_MARKETS", "DESCRIPTION", "FAULTS", "MANNERS", "METHODS",
           "MarketSpec", "OrderTruth", "PaperExchange"]

DEFAULT_MARKETS: Final = (
    MarketSpec("BTC/USDT", "BTC", "USDT", "0.01", "0.00001", "0.00001", "5", "30000"),
    MarketSpec("ETH/USDT", "ETH", "USDT", "0.01", "0.0001", "0.0001", "5", "2000"),
    MarketSpec("SOL/USDT", "SOL", "USDT", "0.001", "0.01", "0.01", "5", "100"),
)
DEFAULT_BALANCES: Final[Mapping[str, Decimal]] = {
    "USDT": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100), "SOL": Decimal(1000),
}

#: ccxt's description of the venue (its async face, _paper_async.py, shares it).
DESCRIPTION: Final[Mapping[str, Any]] = {
    "id": "paper", "name": "Paper venue", "countries": [], "rateLimit": 0,
    "precisionMode": ccxt.TICK_SIZE,
    "has": {
        "spot": True, "fetchMarkets": True, "fetchCurrencies": False,
        "createOrder": True, "createMarketOrder": True, "createLimitOrder": True,
        "cancelOrder": True, "fetchOrder": True, "fetchOrders": True,
        "fetchOpenOrders": True, "fetchClosedOrders": True, "fetchMyTrades": True,
        "fetchTicker": True, "fetchOrderBook": True, "fetchBalance": True,
        "fetchOrderWithClientOrderId": True,
    },
}

_BOOK_LEVELS: Final = 5
#: Quote value of the first order-book level; level i holds (i + 1) times as much.
_BOOK_LEVEL_VALUE: Final = Decimal(10_000)
#: Faults that ``_call`` raises itself: nothing happens at the venue.
_NOTHING_HAPPENED: Final = frozenset(FAULTS) - {"timeout_after", "cancel_race"}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class PaperExchange(ccxt.Exchange):  # type: ignore[misc]
    """A deterministic, seeded spot exchange with ccxt's interface and no network.

    ``latency`` seconds are slept on ``clock`` at the start of every call. ``faults`` maps
    fault names (``FAULTS``) to a probability per call; ``inject`` scripts one-shot faults.
    A marketable limit order (a buy at or above the ask, a sell at or below the bid) fills
    with ``fill_probability`` a seeded 25, 50 or 100% of what remains, at once and then once
    per ``step_seconds``; ``volatility`` is the standard deviation of each step's relative
    move of every mid price. With ``state_path`` the whole venue lives in that SQLite file,
    saved after every call; a saved venue wins over the arguments, except ``clock``,
    ``latency``, the fault rates and the manners, which belong to the connection.

    Fees (_paper_fees.py): ``fee_rate`` is the taker rate (market orders, a limit order's
    fill when it is marketable on arrival), ``maker_fee_rate`` (default: ``fee_rate``) the
    rate of a resting order's fills; a negative maker rate is a rebate, credited. A buy
    holds its quote at the dearer rate. ``fee_currencies`` cycles the currency an order's
    successive trades pay in: None is the quote (the default), a named currency (e.g.
    ``("BNB", None)``) is charged while its free balance lasts, priced at its market's mid.

    ``imitate`` names the exchange whose manners it reproduces (_paper_manners.py:
    "binance", the default, "okx", "bybit", or a VenueManners of your own): the lag before
    a new order is visible, trades listed late, order answers without trades or fee, how a
    duplicate client order id and an unknown order are answered. ``visibility_lag`` and
    ``trade_lag`` override its lags; ``trade_ids=False`` lists trades without an id.

    Ground truth for tests: ``order_truth`` (filled, cost, fees per currency, trades: exact
    Decimals), ``order_record``, ``trade_record``, ``balance_of``, ``all_orders``.
    """

    def describe(self) -> Any:
        return self.deep_extend(super().describe(), DESCRIPTION)

    def __init__(self, clock: Clock | None = None, *, seed: int = 0, latency: float = 0.0,
                 faults: Mapping[str, float] | None = None,
                 markets: Sequence[MarketSpec] | None = None,
                 balances: Mapping[str, str | Decimal] | None = None,
                 fee_rate: Decimal | str = Decimal("0.001"),
                 maker_fee_rate: Decimal | str | None = None,
                 fee_currencies: Sequence[str | None] = (None,),
                 fill_probability: float = 0.6,
                 step_seconds: float = 1.0, volatility: float = 0.0,
                 state_path: str | os.PathLike[str] | None = None,
                 imitate: str | VenueManners = DEFAULT_MANNERS,
                 visibility_lag: float | None = None,
                 trade_lag: float | None = None,
                 trade_ids: bool | None = None) -> None:
        self._file: VenueFile | None = None  # first: ccxt's __del__ calls close()
        if isinstance(imitate, VenueManners):
            manners = imitate
        elif imitate in MANNERS:
            manners = MANNERS[imitate]
        else:
            raise ValueError(f"unknown manners {imitate!r}; valid: {', '.join(MANNERS)}")
        if visibility_lag is not None or trade_lag is not None or trade_ids is not None:
            manners = attrs.evolve(
                manners,
                visibility_lag=manners.visibility_lag if visibility_lag is None
                else float(visibility_lag),
                trade_lag=manners.trade_lag if trade_lag is None else float(trade_lag),
                trade_ids=manners.trade_ids if trade_ids is None else bool(trade_ids))
        if manners.visibility_lag < 0 or manners.trade_lag < 0:
            raise ValueError("visibility_lag and trade_lag must be >= 0")
        self.manners: VenueManners = manners
        #: The exchange imitated: the executor reads that exchange's profile (_profiles.py).
        self.imitates = manners.imitates
        self._cancels = 0
        super().__init__({})
        if latency < 0 or step_seconds <= 0 or volatility < 0:
            raise ValueError("latency and volatility must be >= 0, step_seconds > 0")
        if not 0.0 <= fill_probability <= 1.0:
            raise ValueError(f"fill_probability must be within [0, 1], not {fill_probability}")
        specs = list(DEFAULT_MARKETS if markets is None else markets)
        if not specs or len({s.symbol for s in specs}) != len(specs):
            raise ValueError("markets must be a non-empty sequence of distinct symbols")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._latency = float(latency)
        self._plan = FaultPlan(check_rates(faults), seed)
        #: (method, fault) for every fault fired, in order.
        self.fault_log: list[tuple[str, str]] = self._plan.log
        start = DEFAULT_BALANCES if balances is None else balances
        fees = FeeSchedule(taker=fee_rate,
                           maker=fee_rate if maker_fee_rate is None else maker_fee_rate,
                           currencies=tuple(fee_currencies))
        self._state = VenueState(
            seed=seed, specs=specs,
            balances={c: to_decimal(v, f"balance of {c}") for c, v in start.items()},
            fees=fees, fill_probability=float(fill_probability),
            step_seconds=float(step_seconds), volatility=float(volatility),
            origin=self._clock.now(),
        )
        if state_path is not None:
            self._file = VenueFile.open(state_path)
            try:
                saved = self._file.load()
                if saved is not None:  # the saved venue wins over the arguments
                    self._state = VenueState.from_saved(saved)
                    self._plan.restore(saved.kv["faults"])
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                self.close()
                raise ValueError(f"{state_path}: a damaged paper venue state ({exc})") from exc
            self._save()

    def _save(self) -> None:
        if self._file is not None:
            orders, trades = self._state.take_changes()
            kv = self._state.to_kv()
            kv["faults"] = self._plan.to_json()
            self._file.save(kv, orders, trades)

    # -- ccxt's market loading, offline ---------------------------------------------------

    def fetch_markets(self, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [market_dict(s, self._state.fees) for s in self._state.specs.values()]

    def fetch_currencies(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {}  # ccxt derives the currencies from the markets

    # -- the unified methods ---------------------------------------------------------------

    def create_order(self, symbol: str, type: str, side: str, amount: Any, price: Any = None,
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``params``: ``clientOrderId`` (else one is made up), ``expireAfterSeconds``."""
        params = params or {}
        with self._call("create_order") as fault:
            if fault == "timeout_after":
                # The venue acts on the request; its answer, whatever it was, is lost.
                with contextlib.suppress(ccxt.BaseError):
                    self._create(symbol, type, side, amount, price, params)
                raise_fault("create_order", fault)
            return self._order_dict(self._create(symbol, type, side, amount, price, params),
                                    trades=True, fee=self.manners.order_has_fee)

    def fetch_order(self, id: str | None, symbol: str | None = None,
                    params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """By id, or with an empty id by ``params["clientOrderId"]``."""
        with self._call("fetch_order"):
            order = self._find(id, symbol, params, self.manners.not_found)
            return self._order_dict(order, trades=self.manners.order_has_trades,
                                    fee=self.manners.order_has_fee)

    def cancel_order(self, id: str | None, symbol: str | None = None,
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        unknown = self.manners.cancel_unknown
        with self._call("cancel_order") as fault:
            order = self._find(id, symbol, params, unknown)
            if order.status != "open":
                raise_answer(unknown)  # what Binance answers for a filled order
            now = _ms(self._clock.now())
            if fault == "cancel_race":
                # The order filled while the cancel was on its way.
                assert order.price is not None  # only limit orders rest
                self._state.trade(order, order.price, order.remaining, now, maker=True)
                raise_fault("cancel_order", fault)
            self._state.finish(order, "canceled", now)
            answer = self._order_dict(order, trades=False, fee=self.manners.order_has_fee)
            if self.manners.cancel_reply_own_client_id:
                # Binance names the cancel request itself: ccxt reads that as clientOrderId.
                self._cancels += 1
                answer["clientOrderId"] = f"cancel{order.id}x{self._cancels}"
                answer["info"]["origClientOrderId"] = order.client_order_id
                answer["info"]["clientOrderId"] = answer["clientOrderId"]
            return answer

    def fetch_open_orders(self, symbol: str | None = None, since: int | None = None,
                          limit: int | None = None,
                          params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._call("fetch_open_orders"):
            return self._list_orders(symbol, since, limit, open_=True)

    def fetch_closed_orders(self, symbol: str | None = None, since: int | None = None,
                            limit: int | None = None,
                            params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Closed, canceled, expired and rejected orders, oldest first (only the closed ones
        where the manners say so, as ccxt's binance)."""
        with self._call("fetch_closed_orders"):
            return self._list_orders(symbol, since, limit, open_=False)

    def fetch_orders(self, symbol: str | None = None, since: int | None = None,
                     limit: int | None = None,
                     params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every order, whatever its status, oldest first (Binance's allOrders)."""
        with self._call("fetch_orders"):
            return self._list_orders(symbol, since, limit, open_=None)

    def fetch_my_trades(self, symbol: str | None = None, since: int | None = None,
                        limit: int | None = None,
                        params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Trades, oldest first; ``params["orderId"]`` keeps one order's."""
        order_id = (params or {}).get("orderId")
        with self._call("fetch_my_trades"):
            if symbol is not None:
                self._spec(symbol)
            # Listed late (trade_lag), while the order's filled already counts them.
            listed = _ms(self._clock.now() - self.manners.trade_lag)
            trades = [self._trade_dict(t) for t in self._state.trades.values()
                      if (symbol is None or t.symbol == symbol) and t.timestamp <= listed
                      and (order_id is None or t.order_id == str(order_id))]
            return window(trades, "timestamp", since, limit)

    def fetch_ticker(self, symbol: str,
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self._call("fetch_ticker"):
            self._spec(symbol)
            bid, ask = self._state.quotes(symbol)
            mid, now = float(self._state.mids[symbol]), _ms(self._clock.now())
            return {
                "symbol": symbol, "timestamp": now, "datetime": self.iso8601(now),
                "bid": float(bid), "bidVolume": None, "ask": float(ask), "askVolume": None,
                "last": mid, "close": mid, "average": mid, "open": None, "high": None,
                "low": None, "previousClose": None, "change": None, "percentage": None,
                "vwap": None, "baseVolume": None, "quoteVolume": None, "info": {},
            }

    def fetch_order_book(self, symbol: str, limit: int | None = None,
                         params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A few levels of made-up depth around the bid and ask (drawing nothing random)."""
        with self._call("fetch_order_book"):
            spec = self._spec(symbol)
            bid, ask = self._state.quotes(symbol)
            size = max(to_tick(_BOOK_LEVEL_VALUE / self._state.mids[symbol], spec.amount_tick,
                               ROUND_FLOOR), spec.min_amount)
            depth = _BOOK_LEVELS if limit is None else max(0, min(int(limit), 100))
            tick = spec.price_tick
            bids = [[float(bid - i * tick), float(size * (i + 1))]
                    for i in range(depth) if bid - i * tick > 0]
            asks = [[float(ask + i * tick), float(size * (i + 1))] for i in range(depth)]
            now = _ms(self._clock.now())
            return {"symbol": symbol, "bids": bids, "asks": asks, "timestamp": now,
                    "datetime": self.iso8601(now), "nonce": None}

    def fetch_balance(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self._call("fetch_balance"):
            now = _ms(self._clock.now())
            result: dict[str, Any] = {"info": {}, "timestamp": now,
                                      "datetime": self.iso8601(now),
                                      "free": {}, "used": {}, "total": {}}
            state = self._state
            for cur in sorted(state.free):
                free, used = state.free[cur], state.used[cur]
                entry = {"free": float(free), "used": float(used), "total": float(free + used)}
                result[cur] = entry
                for key, value in entry.items():
                    result[key][cur] = value
            return result

    # -- scripting and ground truth, for tests ---------------------------------------------

    def inject(self, method: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``fault`` (before any rate)."""
        self._plan.inject(method, fault, times)
        self._save()

    def orders_for_client_id(self, client_order_id: str) -> list[dict[str, Any]]:
        """Every order ever created with this client order id, oldest first (ground truth)."""
        with self._quiet():
            return [self._order_dict(o) for o in self._state.orders.values()
                    if o.client_order_id == client_order_id]

    def order_truth(self, order_id: str | None = None, *,
                    client_order_id: str | None = None) -> OrderTruth:
        """An order's figures as the venue booked them (exact Decimals): filled, cost (the
        sum of its trades' costs), fees per currency (negative: a rebate), its trades. By
        exchange id, or by client order id (the newest order with it). The venue catches up
        with the clock first, as for every call; no lag hides anything. KeyError if
        unknown."""
        if (order_id is None) == (client_order_id is None):
            raise TypeError("order_truth takes exactly one of order_id and client_order_id")
        with self._quiet():
            state = self._state
            oid = str(order_id) if client_order_id is None else state.by_client[client_order_id]
            return state.truth(state.orders[oid])

    def order_record(self, order_id: str) -> PaperOrder:
        """The venue's own live record of an order (exact Decimals), for front-ends that
        render an exchange's raw shapes (the Binance REST server); its fees are in its
        trades (``order_truth`` sums them). KeyError if unknown."""
        return self._state.orders[str(order_id)]

    def trade_record(self, trade_id: str) -> PaperTrade:
        """The venue's own record of a trade (exact Decimals), by the venue's trade id
        ("T17"; also when ``trade_ids`` is off and its listings carry none). KeyError if
        unknown."""
        return self._state.trades[str(trade_id)]

    def market_spec(self, symbol: str) -> MarketSpec:
        """A market's spec (ticks, minimums); ccxt.BadSymbol if the venue has no such market."""
        return self._spec(symbol)

    def all_orders(self) -> list[dict[str, Any]]:
        """Every order the venue knows, oldest first (ground truth)."""
        with self._quiet():
            return [self._order_dict(o) for o in self._state.orders.values()]

    def open_order_count(self) -> int:
        with self._quiet():
            return len(self._state.open)

    def balance_of(self, currency: str) -> tuple[Decimal, Decimal]:
        """(free, used) of ``currency``."""
        with self._quiet():
            return (self._state.free.get(currency, Decimal(0)),
                    self._state.used.get(currency, Decimal(0)))

    def venue_time(self) -> float:
        """How far the venue's market has played (seconds since the epoch): a restarted bot
        on simulated time starts its clock no earlier than this. (A method: ccxt's
        constructor reads every property before the state exists.)"""
        state = self._state
        return state.origin + state.steps * state.step_seconds

    def mid(self, symbol: str) -> Decimal:
        with self._quiet():
            return self._state.mids[self._spec(symbol).symbol]

    def set_mid(self, symbol: str, mid: Decimal | str) -> None:
        """Move a market's mid price (to its tick): resting orders it makes marketable
        may fill from the next step on."""
        with self._quiet():
            self._spec(symbol)
            self._state.set_mid(symbol, to_decimal(mid, "mid"))

    def close(self, clean_instance_data: bool = False) -> None:
        """Close the state file: a persistent venue saves nothing afterwards."""
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close(clean_instance_data)

    # -- the call pipeline -----------------------------------------------------------------

    @contextlib.contextmanager
    def _call(self, method: str) -> Iterator[str | None]:
        """Latency, catching up with the clock, faults; the caller's body; saving.

        Yields the fault the body must act out ("timeout_after", "cancel_race") or None.
        """
        try:
            self.load_markets()
            if self._latency > 0:
                self._clock.sleep(self._latency)
            self._state.advance(self._clock.now())
            fault = self._plan.draw(method)
            if fault in _NOTHING_HAPPENED or (fault == "timeout_after"
                                              and method != "create_order"):
                raise_fault(method, fault)
            yield fault
        finally:
            self._save()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Catching up with the clock, without latency or faults."""
        try:
            self._state.advance(self._clock.now())
            yield
        finally:
            self._save()

    def _spec(self, symbol: str) -> MarketSpec:
        spec = self._state.specs.get(symbol)
        if spec is None:
            raise ccxt.BadSymbol(f"paper does not have market symbol {symbol}")
        return spec

    def _create(self, symbol: str, type: str, side: str, amount: Any, price: Any,
                params: Mapping[str, Any]) -> PaperOrder:
        """Validate as a venue would, in its order, then place."""
        spec = self._spec(symbol)
        qty, limit, reference = check_request(spec, type, side, amount, price,
                                              self._state.quotes(symbol))
        expire_after = params.get("expireAfterSeconds")
        if expire_after is not None:
            expire_after = float(expire_after)
            if not expire_after > 0:
                raise ccxt.InvalidOrder(binance_error(-1100, "Illegal expireAfterSeconds."))
        cid = params.get("clientOrderId")
        if cid is None:
            cid = self._state.new_client_id()
        elif self._state.client_id_in_use(str(cid)) or (
                self.manners.unique_forever and str(cid) in self._state.by_client):
            # Like Binance: refused only while an order with this id is open. A client id
            # whose order has ended can be used again, so a blind re-send after a lost answer
            # *would* place a second order: this venue does not hide that bug.
            raise_answer(self.manners.duplicate)
        currency, hold = self._state.hold_for(side, spec, qty, reference)
        if self._state.free.get(currency, Decimal(0)) < hold:
            raise ccxt.InsufficientFunds(
                binance_error(-2010, "Account has insufficient balance for requested action."))
        return self._state.place(spec, str(cid), type, side, qty, limit, expire_after,
                                 self._clock.now())

    def _visible(self, order: PaperOrder) -> bool:
        """Whether lookups can see the order yet (the imitated exchange's query lag)."""
        return order.created + _ms(self.manners.visibility_lag) <= _ms(self._clock.now())

    def _find(self, id: str | None, symbol: str | None, params: Mapping[str, Any] | None,
              unknown: Answer) -> PaperOrder:
        if symbol is not None:
            self._spec(symbol)
        order = None
        if id:
            order = self._state.orders.get(str(id))
        elif (cid := (params or {}).get("clientOrderId")) is not None:
            oid = self._state.by_client.get(str(cid))
            order = None if oid is None else self._state.orders[oid]
        if (order is None or (symbol is not None and order.symbol != symbol)
                or not self._visible(order)):
            raise_answer(unknown)
        return order

    def _list_orders(self, symbol: str | None, since: int | None, limit: int | None,
                     open_: bool | None) -> list[dict[str, Any]]:
        """Visible orders: open ones, closed ones (filled only where the manners say so),
        or (``open_`` None) every one."""
        if symbol is not None:
            self._spec(symbol)
        manners = self.manners

        def listed(o: PaperOrder) -> bool:
            if open_ is None:
                return True
            if open_:
                return o.status == "open"
            return o.status != "open" and (o.status == "closed"
                                           or not manners.closed_lists_filled_only)

        orders = [self._order_dict(o, trades=manners.order_has_trades, fee=manners.order_has_fee)
                  for o in self._state.orders.values()
                  if listed(o) and (symbol is None or o.symbol == symbol) and self._visible(o)]
        return window(orders, "timestamp", since, limit)

    # -- ccxt's shapes -----------------------------------------------------------------------

    def _order_dict(self, o: PaperOrder, *, trades: bool = True,
                    fee: bool = True) -> dict[str, Any]:
        state = self._state
        return order_dict(o, state.specs[o.symbol].quote, [state.trades[t] for t in o.trade_ids],
                          with_trades=trades, with_fee=fee, trade_ids=self.manners.trade_ids)

    def _trade_dict(self, t: PaperTrade) -> dict[str, Any]:
        return trade_dict(t, self._state.orders[t.order_id].type, self.manners.trade_ids)
