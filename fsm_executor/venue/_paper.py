"""The paper venue: an exchange inside the process, for tests, demos and dry runs.

``PaperExchange`` subclasses ccxt's own base ``Exchange``: ccxt's market helpers
(``load_markets``, ``market()``, ``amount_to_precision``...) work on it and it fails with
ccxt's real exception classes, yet every unified method is overridden, so it never touches
the network. Randomness comes from two seeded generators only: ``Random(seed)`` moves prices
and fills orders, ``Random(seed + 1)`` draws faults (_paper_faults.py), so faults never change
which orders fill when.

The market moves in steps of ``step_seconds`` on a grid fixed at the venue's creation: each
call first catches up to ``clock.now()``, so how often a bot polls changes nothing.

Here: the venue's setup, its call pipeline (latency, catching up, faults, saving) and ccxt's
unified methods. How a request is taken is _paper_desk.py, what the venue holds
_paper_records.py and how that changes _paper_store.py, its answers' ccxt shapes
_paper_ccxt.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import ccxt

from ..core._clock import Clock, SystemClock
from ..core._values import to_decimal
from ._paper_ccxt import (
    balance_dict,
    market_dict,
    order_book_dict,
    order_dict,
    raise_answer,
    ticker_dict,
    trade_dict,
    window,
)
from ._paper_desk import find, listed, market, place
from ._paper_faults import FAULTS, METHODS, FaultPlan, check_rates, raise_fault
from ._paper_fees import FeeSchedule
from ._paper_file import VenueFile
from ._paper_manners import DEFAULT_MANNERS, MANNERS, VenueManners, choose_manners
from ._paper_records import MarketSpec, OrderTruth, PaperOrder, PaperTrade, ms
from ._paper_store import VenueState
from ._paper_truth import GroundTruth

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

#: Faults that ``_call`` raises itself: nothing happens at the venue.
_NOTHING_HAPPENED: Final = frozenset(FAULTS) - {"timeout_after", "cancel_race"}


class PaperExchange(GroundTruth, ccxt.Exchange):  # type: ignore[misc]
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

    Ground truth for tests (_paper_truth.py): ``order_truth`` (filled, cost, fees per
    currency, trades: exact Decimals), ``order_record``, ``trade_record``, ``balance_of``,
    ``all_orders``.
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
        manners = choose_manners(imitate, visibility_lag, trade_lag, trade_ids)
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
                    place(self._state, self.manners, self._clock, symbol, type, side, amount,
                          price, params)
                raise_fault("create_order", fault)
            order = place(self._state, self.manners, self._clock, symbol, type, side, amount,
                          price, params)
            return self._order_dict(order, trades=True, fee=self.manners.order_has_fee)

    def fetch_order(self, id: str | None, symbol: str | None = None,
                    params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """By id, or with an empty id by ``params["clientOrderId"]``."""
        with self._call("fetch_order"):
            order = find(self._state, self.manners, self._clock, id, symbol, params,
                         self.manners.not_found)
            return self._order_dict(order, trades=self.manners.order_has_trades,
                                    fee=self.manners.order_has_fee)

    def cancel_order(self, id: str | None, symbol: str | None = None,
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        unknown = self.manners.cancel_unknown
        with self._call("cancel_order") as fault:
            order = find(self._state, self.manners, self._clock, id, symbol, params, unknown)
            if order.status != "open":
                raise_answer(unknown)  # what Binance answers for a filled order
            now = ms(self._clock.now())
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
        """Trades, oldest first; ``params["orderId"]`` keeps one order's (as Binance's
        myTrades does: one order's trades, not the market's)."""
        order_id = (params or {}).get("orderId")
        with self._call("fetch_my_trades"):
            if symbol is not None:
                market(self._state, symbol)
            # Listed late (trade_lag), while the order's filled already counts them.
            shown = ms(self._clock.now() - self.manners.trade_lag)
            state = self._state
            if order_id is None:
                candidates: Iterable[PaperTrade] = state.trades.values()
            else:
                # Straight from the order's own trades, oldest first like the venue's list:
                # a scan of every trade would cost the venue more with each order it holds.
                order = state.orders.get(str(order_id))
                candidates = () if order is None else [state.trades[t] for t in order.trade_ids]
            trades = [self._trade_dict(t) for t in candidates
                      if (symbol is None or t.symbol == symbol) and t.timestamp <= shown]
            return window(trades, "timestamp", since, limit)

    def fetch_ticker(self, symbol: str,
                     params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self._call("fetch_ticker"):
            market(self._state, symbol)
            bid, ask = self._state.quotes(symbol)
            mid, now = float(self._state.mids[symbol]), ms(self._clock.now())
            return ticker_dict(symbol, bid, ask, mid, now)

    def fetch_order_book(self, symbol: str, limit: int | None = None,
                         params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A few levels of made-up depth around the bid and ask (drawing nothing random)."""
        with self._call("fetch_order_book"):
            spec = market(self._state, symbol)
            bid, ask = self._state.quotes(symbol)
            return order_book_dict(spec, bid, ask, self._state.mids[symbol], limit,
                                   ms(self._clock.now()))

    def fetch_balance(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        with self._call("fetch_balance"):
            now = ms(self._clock.now())
            return balance_dict(self._state.free, self._state.used, now)

    # -- closing ---------------------------------------------------------------------------

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

    def _list_orders(self, symbol: str | None, since: int | None, limit: int | None,
                     open_: bool | None) -> list[dict[str, Any]]:
        """Visible orders (_paper_desk.listed) in ccxt's shape, through ccxt's window."""
        manners = self.manners
        orders = [self._order_dict(o, trades=manners.order_has_trades, fee=manners.order_has_fee)
                  for o in listed(self._state, manners, self._clock, symbol, open_)]
        return window(orders, "timestamp", since, limit)

    # -- ccxt's shapes -----------------------------------------------------------------------

    def _order_dict(self, o: PaperOrder, *, trades: bool = True,
                    fee: bool = True) -> dict[str, Any]:
        state = self._state
        return order_dict(o, state.specs[o.symbol].quote, [state.trades[t] for t in o.trade_ids],
                          with_trades=trades, with_fee=fee, trade_ids=self.manners.trade_ids)

    def _trade_dict(self, t: PaperTrade) -> dict[str, Any]:
        return trade_dict(t, self._state.orders[t.order_id].type, self.manners.trade_ids)
