"""The paper venue's ground truth, for tests: what it booked, exactly (``order_truth``, its
own records, balances, mid prices), and faults scripted on cue (``inject``).

``GroundTruth`` is a mixin of ``PaperExchange`` (_paper.py), which holds the state it
reads. Reading catches the venue up with the clock first, as every call does, but without
latency or faults, and no lag hides anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..core._clock import Clock
from ..core._values import to_decimal
from ._paper_desk import market
from ._paper_faults import FaultPlan, check_rates
from ._paper_records import MarketSpec, OrderTruth, PaperOrder, PaperTrade
from ._paper_store import VenueState


class GroundTruth:
    """PaperExchange's scripting and ground truth, for tests."""

    # PaperExchange's (_paper.py): the state, the fault plan, the clock, and saving.
    _state: VenueState
    _plan: FaultPlan
    _clock: Clock
    if TYPE_CHECKING:
        def _save(self) -> None: ...

        def _order_dict(self, o: PaperOrder, *, trades: bool = True,
                        fee: bool = True) -> dict[str, Any]: ...

    def inject(self, method: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``fault`` (before any rate)."""
        self._plan.inject(method, fault, times)
        self._save()

    def set_faults(self, faults: Mapping[str, float] | None) -> None:
        """The fault rates from now on, as ``faults`` gives them at construction (None: no
        random fault). Scripted faults stay queued."""
        self._plan.rates = check_rates(faults)

    def clear_faults(self) -> None:
        """No fault from now on (an outage over): the rates off, the scripted faults still
        queued dropped."""
        self._plan.rates = {}
        self._plan.scripted.clear()
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
        return market(self._state, symbol)

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
            return self._state.mids[market(self._state, symbol).symbol]

    def set_mid(self, symbol: str, mid: Decimal | str) -> None:
        """Move a market's mid price (to its tick): resting orders it makes marketable
        may fill from the next step on."""
        with self._quiet():
            market(self._state, symbol)
            self._state.set_mid(symbol, to_decimal(mid, "mid"))

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Catching up with the clock, without latency or faults."""
        try:
            self._state.advance(self._clock.now())
            yield
        finally:
            self._save()
