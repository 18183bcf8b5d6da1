"""TradeExecutor: the synchronous loop over the order driver (core/_driver.py).

The driver decides; this loop carries its actions out in this thread: it commits the rows
of each action to the journal, then sends its request, sleeps on the injected clock, and
hands back what came of it. Not thread-safe beyond a lock held by each public call: one
executor per journal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar

from ..core._actions import Action, Op, Open, Record, Request, Send, View, Wait
from ..core._answers import ExchangeOrder, Kind
from ..core._asking import Steps
from ..core._clock import Clock, monotonic_of
from ..core._config import ExecutionConfig
from ..core._driver import Goal
from ..core._exceptions import (
    CancelIncomplete,
    ExchangeFailure,
    FsmExecutorError,
    InvalidTransition,
    OrderInDoubt,
)
from ..core._ledger import unsettled
from ..core._model import Order
from ..core._profiles import ExchangeProfile
from ..core._reconcile import reconcile
from ..core._signal import Signal
from ..core._tracker import Tracker, by_listing, index
from ..exchange._exchange import ExchangeAdapter
from ..journal._book import OrderBook
from ..journal._journal import Durability
from ._base import ExecutorBase, signal_of
from ._recovery import Before, RecoveryReport

T = TypeVar("T")
#: A member read through its Enum class costs ~70 ns; read once here (as _model.py does).
_CREATE: Final = Op.CREATE


class TradeExecutor(ExecutorBase):
    """Turns signals into orders on ``exchange`` (a ccxt exchange or ``PaperExchange``) and
    sees each to a terminal state, journaling every transition before its effect."""

    def __init__(
        self,
        exchange: Any,
        journal: OrderBook | str | os.PathLike[str],
        config: ExecutionConfig | Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        durability: Durability = "normal",
        profile: ExchangeProfile | None = None,
    ) -> None:
        self.adapter: ExchangeAdapter
        super().__init__(ExchangeAdapter(exchange, profile), journal, config, clock, seed,
                         durability)
        self._tracker = Tracker(self.driver, self.config.watch_interval_seconds)
        # New signals wait until recovery has finished (and recovery for other threads).
        self._lock = threading.RLock()

    def close(self) -> None:
        self.book.close()

    def __enter__(self) -> TradeExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ----------------------------------------------------------------------------

    def execute_signal(self, signal: Signal | Mapping[str, Any]) -> Order:
        """Place ``signal``'s order and return it once terminal, or presumed absent (the
        create's answer was lost and lookups found nothing past the exchange's visibility
        grace: not re-sent unless the exchange makes that safe; ``recover()`` watches it).

        A signal id already in the journal places nothing: its order is returned (and
        driven on if it was not finished). Raises OrderInDoubt when the exchange stays
        unreachable while the order's outcome is unknown.
        """
        return self._signal(signal, Goal.ENDED)

    def submit(self, signal: Signal | Mapping[str, Any]) -> Order:
        """Place ``signal``'s order and return it once its placement is settled
        (acknowledged, refused, rejected, or in doubt), without waiting for fills:
        ``update()`` takes it on from there. A signal id already in the journal places
        nothing: its order is returned."""
        return self._signal(signal, Goal.PLACED)

    def update(self) -> list[Order]:
        """One pass over every pending order: whatever is due for each (a poll, a lookup, a
        timeout's cancel, a cancel's confirmation) is done, and the orders that changed
        are returned. Nothing waits: an order whose next step lies ahead is left for a
        later pass. The routine looks at a market's open orders take one listing for all
        of them, and the rows of orders that move together commit in one transaction.

        An order whose outcome cannot be settled now stays pending (``doubts`` says why),
        and so does one presumed absent: both are looked at again every
        ``watch_interval_seconds``."""
        with self._lock:
            self._recover_if_needed()
            before = {o.client_order_id: o for o in self.book.unfinished()}
            self._tracker.follow(before, monotonic_of(self.clock))
            while due := self._tracker.due(monotonic_of(self.clock)):
                self._round(due)
            return [after for cid, order in before.items()
                    if _progress(after := self.book.get(cid)) != _progress(order)]

    @property
    def doubts(self) -> dict[str, OrderInDoubt]:
        """Why each order left pending by ``update()`` could not be settled."""
        return dict(self._tracker.doubts)

    def cancel(self, client_order_id: str) -> Order:
        """Cancel the order now and return it once terminal.

        The request is journaled first. An order in doubt (its placement's answer was lost)
        is looked up, never sent: what the lookup finds is cancelled. Found nowhere, it
        raises OrderInDoubt; the journaled request is carried out as soon as the order shows
        up (recover() keeps looking)."""
        with self._lock:
            self._tracker.forget(client_order_id)
            return self._run(self.driver.cancel(client_order_id))

    def recover(self, adopt: bool = False, symbols: Iterable[str] = ()) -> RecoveryReport:
        """Settle every unfinished order of the journal with the exchange
        (core/_reconcile.py).

        ``adopt``: journal the orders found on the exchange with this executor's client
        order id prefix that the journal does not know. ``symbols``: markets to search for
        those besides the journal's own. Running it twice changes nothing the second time
        (unless the exchange moved meanwhile).
        """
        with self._lock:
            before = Before.of(self.book, self.adapter.calls)
            result = self._run(reconcile(self.driver, self.book,
                                         self.config.client_order_id_prefix, adopt, symbols),
                               origin="reconcile")
            report = before.report(self.book, result, self.adapter.calls)
            self._recovered = True
            self.last_recovery = report
            self.stats["recovered_changes"] += len(report.changes)
            return report

    def cancel_all(self) -> list[Order]:
        """Cancel every unfinished order, and return them all once ended. Raises
        CancelIncomplete (an OrderInDoubt) after trying all when some stay in doubt: it
        holds every order as the cancels left it."""
        done, doubts = [], []
        for order in self.pending_orders:
            try:
                done.append(self.cancel(order.client_order_id))
            except OrderInDoubt as exc:
                doubts.append(exc)
                done.append(self.book.get(order.client_order_id))
        if doubts:
            raise CancelIncomplete(done, doubts)
        return done

    # -- signals ---------------------------------------------------------------------------

    def _signal(self, signal: Signal | Mapping[str, Any], goal: Goal) -> Order:
        signal = signal_of(signal)
        with self._lock:
            existing = self.book.by_signal(signal.id)
            if existing is not None:
                self.stats["already_journaled"] += 1
                if existing.is_terminal and not unsettled(existing):
                    return existing
            self._recover_if_needed()
            if existing is not None:
                self._tracker.forget(existing.client_order_id)
                return self._run(self.driver.drive(existing.client_order_id, goal))
            return self._run(self.driver.place(signal, self._new_id(), self.adapter, goal))

    def _recover_if_needed(self) -> None:
        if self._needs_recovery():
            self.recover()

    # -- the loop --------------------------------------------------------------------------

    def _run(self, steps: Steps[T], origin: str = "live") -> T:
        """Carry a driver's actions out until it returns."""
        view: View | None = None
        while True:
            try:
                action = steps.send(view)  # type: ignore[arg-type]
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            view = self._carry_out(action, origin)

    def _carry_out(self, action: Action, origin: str) -> View:
        """One action: its rows committed, then its request sent."""
        cid = action.client_order_id
        committed: Order | FsmExecutorError | None = None
        if isinstance(action, Record | Send) and action.rows:
            assert cid is not None
            try:
                committed = self.book.apply_all(cid, action.rows, origin)
            except InvalidTransition as exc:
                committed = exc
        return self._after(action, committed, origin)

    def _round(self, due: list[tuple[str, Action]]) -> None:
        """The actions due for many orders: every row committed in one transaction, then
        the requests sent (a market's routine looks answered by one listing), then each
        driver handed what came of its action."""
        rows = [(cid, a.rows) for cid, a in due if isinstance(a, Record | Send) and a.rows]
        committed = self.book.apply_many(rows, "live") if rows else {}
        listings = {symbol: index(self._run(self.driver.ask(Request(Op.OPEN_ORDERS,
                                                                    symbol=symbol))))
                    for symbol in by_listing(due)} if self.adapter.can_list_open else {}
        for cid, action in due:
            self._tracker.resume(cid, self._after(action, committed.get(cid), "live",
                                                  listings))

    def _after(self, action: Action, committed: Order | FsmExecutorError | None, origin: str,
               listings: Mapping[str, Mapping[str, ExchangeOrder]] | None = None) -> View:
        """What came of ``action``, its rows already committed (``committed``: the order
        after them, or why the journal refused them)."""
        cid = action.client_order_id
        refused = self._refused(action, committed)
        if refused is not None:
            return refused
        # The order's snapshot once its rows are in: what the view shows, unless the
        # action changes the order itself (Open).
        order = committed if isinstance(committed, Order) else None
        if isinstance(action, Wait):
            remaining = self._remaining(action)
            if remaining > 0:
                self.clock.sleep(remaining)
        elif isinstance(action, Open):
            order = self._open(action, origin)
        elif isinstance(action, Send):
            if order is None and cid is not None:
                order = self.book.get(cid)
            request = action.request
            if listings:
                answered = self._listed(request, order, listings.get(request.symbol or ""))
                if answered is not None:
                    return answered
            if self.driver.cool_until > monotonic_of(self.clock):
                # Decided in this pass before another order met a rate limit: not sent.
                # Its driver waits the cool-down out and asks again (``update()`` waits
                # for nothing itself).
                return self._view(cid, order, failure=ExchangeFailure(
                    Kind.RATE_LIMITED.value, "not sent: the exchange is cooling down after "
                    "a rate limit", "", unprocessed=True))
            if request.op is _CREATE:
                self.driver.leaving(request, self._view(cid, order))
            # Nothing but this thread changes the book, and a request changes nothing in
            # it: ``order`` is still the order's snapshot once the answer is in.
            try:
                answer = self.adapter.request(request, order)
            except ExchangeFailure as failure:
                return self._view(cid, order, failure=failure)
            return self._view(cid, order, answer=answer)
        return self._view(cid, order)


def _progress(order: Order) -> tuple[Any, ...]:
    """What ``update()`` counts as a change: all but notes."""
    return (order.state, order.filled, order.cost, dict(order.fees), tuple(order.fills),
            order.exchange_order_id, order.cancel_requested)
