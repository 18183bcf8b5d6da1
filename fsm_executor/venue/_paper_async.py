"""The paper venue's async face: ``ccxt.async_support``'s interface over the same venue.

``AsyncPaperExchange`` subclasses ccxt's async base ``Exchange``, so what ccxt keeps sync
there stays sync here (``market()``, ``amount_to_precision``, ``markets``, ``id``, ``has``,
``options``...) and the unified methods are coroutines. Behind it is a ``PaperExchange``
(``venue``) on the same clock: the same seeded fills and fault plan, the same exception
classes, manners and ground truth.

Latency is the event loop's time, in two halves: a request travels ``latency / 2`` to the
venue, which acts on its arrival (catching up with the clock, drawing its fault), and the
answer, or the error, travels ``latency / 2`` back. So concurrent requests interleave as on
the wire: one sent later may be acted on before an earlier one's answer is back, and a
fault that loses the answer (``timeout_after``) loses it after the venue acted. Requests
arriving at the same instant reach the venue in the order they were sent (on the virtual
loop with a seed, in a seeded shuffle of it). A task cancelled while its request is on the
way out sent nothing; cancelled on the way back, it loses an answer the venue acted on.

The clock must be the event loop's: the ``VirtualClock`` of a ``VirtualEventLoop``
(``run_virtual``), or ``SystemClock`` on a real loop, where latency is real. A request on
a loop whose time is not the clock's raises RuntimeError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import ccxt.async_support

from ..core._clock import Clock, SystemClock, monotonic_of
from ._paper import DESCRIPTION, PaperExchange
from ._paper_records import MarketSpec, OrderTruth, PaperOrder, PaperTrade
from ._virtual_loop import VirtualEventLoop

T = TypeVar("T")

#: How far a real loop's time may be from the clock's monotonic time (they are one clock,
#: read a moment apart); a fake clock on a real loop is off by far more.
_CLOCK_TOLERANCE = 1.0


class AsyncPaperExchange(ccxt.async_support.Exchange):  # type: ignore[misc]
    """The paper venue with ccxt's async interface (see the module docstring).

    ``latency``: seconds of the loop's time per request, half each way. Every other
    keyword is ``PaperExchange``'s (``seed``, ``faults``, ``imitate``, ``state_path``...).

    Scripting and ground truth are the sync venue's, without latency or faults:
    ``inject``, ``set_faults``, ``clear_faults``, ``order_truth``, ``orders_for_client_id``,
    ``balance_of``, ``all_orders``, ``set_mid``... (``venue`` is that ``PaperExchange``
    itself). ``close()`` closes the venue; a request afterwards raises
    ``ccxt.ExchangeClosedByUser``, as ccxt's do.
    """

    def describe(self) -> Any:
        return self.deep_extend(super().describe(), DESCRIPTION)

    def __init__(self, clock: Clock | None = None, *, latency: float = 0.0,
                 **options: Any) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, not {latency!r}")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._latency = float(latency)
        # The venue sleeps nothing: a blocking sleep would stop every task on the loop.
        self.venue = PaperExchange(self._clock, latency=0.0, **options)
        self.manners = self.venue.manners
        #: The exchange imitated: the executor reads that exchange's profile.
        self.imitates = self.venue.imitates
        super().__init__({})
        #: (method, fault) for every fault fired, in order (the venue's own list).
        self.fault_log: list[tuple[str, str]] = self.venue.fault_log

    # -- ccxt's market loading, offline: no latency, as for the sync venue -----------------

    async def fetch_markets(self, params: Mapping[str, Any] | None = None
                            ) -> list[dict[str, Any]]:
        return self.venue.fetch_markets(params)

    async def fetch_currencies(self, params: Mapping[str, Any] | None = None
                               ) -> dict[str, Any]:
        return {}

    # -- the unified methods ---------------------------------------------------------------

    async def create_order(self, symbol: str, type: str, side: str, amount: Any,
                           price: Any = None, params: Mapping[str, Any] | None = None
                           ) -> dict[str, Any]:
        """``params``: ``clientOrderId`` (else one is made up), ``expireAfterSeconds``."""
        return await self._request(
            lambda: self.venue.create_order(symbol, type, side, amount, price, params))

    async def fetch_order(self, id: str | None, symbol: str | None = None,
                          params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """By id, or with an empty id by ``params["clientOrderId"]``."""
        return await self._request(lambda: self.venue.fetch_order(id, symbol, params))

    async def cancel_order(self, id: str | None, symbol: str | None = None,
                           params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self._request(lambda: self.venue.cancel_order(id, symbol, params))

    async def fetch_open_orders(self, symbol: str | None = None, since: int | None = None,
                                limit: int | None = None,
                                params: Mapping[str, Any] | None = None
                                ) -> list[dict[str, Any]]:
        return await self._request(
            lambda: self.venue.fetch_open_orders(symbol, since, limit, params))

    async def fetch_closed_orders(self, symbol: str | None = None, since: int | None = None,
                                  limit: int | None = None,
                                  params: Mapping[str, Any] | None = None
                                  ) -> list[dict[str, Any]]:
        return await self._request(
            lambda: self.venue.fetch_closed_orders(symbol, since, limit, params))

    async def fetch_orders(self, symbol: str | None = None, since: int | None = None,
                           limit: int | None = None,
                           params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._request(lambda: self.venue.fetch_orders(symbol, since, limit, params))

    async def fetch_my_trades(self, symbol: str | None = None, since: int | None = None,
                              limit: int | None = None,
                              params: Mapping[str, Any] | None = None
                              ) -> list[dict[str, Any]]:
        """Trades, oldest first; ``params["orderId"]`` keeps one order's."""
        return await self._request(
            lambda: self.venue.fetch_my_trades(symbol, since, limit, params))

    async def fetch_ticker(self, symbol: str,
                           params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self._request(lambda: self.venue.fetch_ticker(symbol, params))

    async def fetch_order_book(self, symbol: str, limit: int | None = None,
                               params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self._request(lambda: self.venue.fetch_order_book(symbol, limit, params))

    async def fetch_balance(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self._request(lambda: self.venue.fetch_balance(params))

    async def close(self, clean_instance_data: bool = False) -> None:
        """Close the venue (and its state file): requests afterwards raise
        ``ccxt.ExchangeClosedByUser``, those on their way raise it on arrival."""
        self.closed_by_user = True
        self.venue.close()
        if clean_instance_data:
            self.clean_rest_data()

    def open(self, lazy: bool = False) -> None:
        """No session to open (``async with`` calls this): the venue is in the process. A
        closed venue stays closed."""
        self._check_open()

    # -- scripting and ground truth: the sync venue's, at once -------------------------------

    def inject(self, method: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` requests of ``method`` fail with ``fault``."""
        self.venue.inject(method, fault, times)

    def set_faults(self, faults: Mapping[str, float] | None) -> None:
        self.venue.set_faults(faults)

    def clear_faults(self) -> None:
        self.venue.clear_faults()

    def orders_for_client_id(self, client_order_id: str) -> list[dict[str, Any]]:
        return self.venue.orders_for_client_id(client_order_id)

    def order_truth(self, order_id: str | None = None, *,
                    client_order_id: str | None = None) -> OrderTruth:
        return self.venue.order_truth(order_id, client_order_id=client_order_id)

    def order_record(self, order_id: str) -> PaperOrder:
        return self.venue.order_record(order_id)

    def trade_record(self, trade_id: str) -> PaperTrade:
        return self.venue.trade_record(trade_id)

    def market_spec(self, symbol: str) -> MarketSpec:
        return self.venue.market_spec(symbol)

    def all_orders(self) -> list[dict[str, Any]]:
        return self.venue.all_orders()

    def open_order_count(self) -> int:
        return self.venue.open_order_count()

    def balance_of(self, currency: str) -> tuple[Decimal, Decimal]:
        return self.venue.balance_of(currency)

    def venue_time(self) -> float:
        return self.venue.venue_time()

    def mid(self, symbol: str) -> Decimal:
        return self.venue.mid(symbol)

    def set_mid(self, symbol: str, mid: Decimal | str) -> None:
        self.venue.set_mid(symbol, mid)

    # -- the request pipeline --------------------------------------------------------------

    async def _request(self, act: Callable[[], T]) -> T:
        """Half the latency out, the venue acting on arrival, half back (with the answer or
        the error)."""
        self._check_open()
        self._check_clock()
        await self.load_markets()
        await asyncio.sleep(self._latency / 2)
        self._check_open()
        try:
            return act()
        finally:
            await asyncio.sleep(self._latency / 2)

    def _check_open(self) -> None:
        if self.closed_by_user:
            raise ccxt.ExchangeClosedByUser(f"{self.id} instance was closed by the user")

    def _check_clock(self) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualEventLoop):
            agrees = loop.clock is self._clock
        else:
            agrees = abs(monotonic_of(self._clock) - loop.time()) < _CLOCK_TOLERANCE
        if not agrees:
            raise RuntimeError(
                "the paper venue's clock is not the event loop's: latency and the venue's time "
                "would disagree (use run_virtual's VirtualClock, or SystemClock on a real loop)")
