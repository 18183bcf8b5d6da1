"""TradeExecutor: the synchronous driver. It does the I/O; _decide.py decides.

Each pass of ``_drive`` looks at the order's journaled state and does one exchange
interaction for it, journaling every change before the next request leaves. Not
thread-safe: one executor per journal.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ._book import OrderBook
from ._clock import Clock
from ._config import ExecutionConfig
from ._decide import (
    after_create_failure,
    backoff,
    is_retryable,
    new_client_order_id,
    observe,
    plan_order,
)
from ._errors import Kind
from ._events import (
    Abandon,
    CancelRejected,
    Event,
    LoseAnswer,
    Note,
    Refuse,
    RequestCancel,
    Resubmit,
    Submit,
    Withdraw,
)
from ._exceptions import ExchangeFailure, InvalidTransition, OrderInDoubt
from ._exchange import ExchangeAdapter, ExchangeOrder
from ._journal import Durability
from ._model import Order, OrderSpec, OrderType
from ._recovery import RecoveryReport, recover
from ._signal import Signal
from ._states import State

T = TypeVar("T")


class TradeExecutor:
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
    ) -> None:
        if isinstance(journal, OrderBook):
            self.book = journal
        else:
            self.book = OrderBook.open(journal, durability=durability, clock=clock)
        self.clock: Clock = clock or self.book.clock
        self.config = (config if isinstance(config, ExecutionConfig)
                       else ExecutionConfig.from_dict(config or {}))
        self.adapter = ExchangeAdapter(exchange)
        # Jitter may be seeded for tests; client order ids never repeat across processes.
        self._rng = random.Random(seed)
        self._ids = random.Random(seed) if seed is not None else random.SystemRandom()
        #: Counts for the run summary: retries, unknown outcomes, resubmits, ...
        self.stats: Counter[str] = Counter()
        self._deadlines: dict[str, float] = {}
        self._not_found: Counter[str] = Counter()
        self._sends: Counter[str] = Counter()
        self._cancels: Counter[str] = Counter()
        self._noted: set[tuple[str, str]] = set()
        #: "live", or "reconcile" while recover() runs: every journal row says which.
        self._origin = "live"
        self._recovered = False
        # New signals wait until recovery has finished (and recovery for other threads).
        self._lock = threading.RLock()

    def close(self) -> None:
        self.book.close()

    def __enter__(self) -> TradeExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ----------------------------------------------------------------------------

    @property
    def pending_orders(self) -> list[Order]:
        """Orders not yet terminal."""
        return self.book.unfinished()

    def execute_signal(self, signal: Signal | Mapping[str, Any]) -> Order:
        """Place ``signal``'s order and return it once terminal.

        A signal id already in the journal places nothing: its order is returned (and
        driven on if it was not finished). Raises OrderInDoubt when the exchange stays
        unreachable while the order's outcome is unknown.
        """
        if not isinstance(signal, Signal):
            signal = Signal.from_dict(signal)
        with self._lock:
            existing = self.book.by_signal(signal.id)
            if existing is not None:
                self.stats["already_journaled"] += 1
                if existing.is_terminal:
                    return existing
            if not self._recovered and any(o.is_in_flight or o.is_open
                                           for o in self.book.unfinished()):
                # A journal with orders in flight comes from a run that stopped: settle
                # them with the exchange before anything new is sent.
                self.recover()
            if existing is not None:
                return self._drive(existing.client_order_id)
            return self._drive(self._create(signal).client_order_id)

    def cancel(self, client_order_id: str) -> Order:
        """Cancel the order now and return it once terminal."""
        with self._lock:
            order = self.book.get(client_order_id)
            if order.state is State.CREATED:
                return self._record(client_order_id, Withdraw("cancelled before it was sent"))
            self._deadlines[client_order_id] = float("-inf")
            return self._drive(client_order_id)

    def recover(self, adopt: bool = False, symbols: Iterable[str] = ()) -> RecoveryReport:
        """Settle every unfinished order of the journal with the exchange (see _recovery).

        ``adopt``: journal the orders found on the exchange with this executor's client
        order id prefix that the journal does not know. ``symbols``: markets to search for
        those besides the journal's own. Running it twice changes nothing the second time
        (unless the exchange moved meanwhile).
        """
        with self._lock:
            self._origin = "reconcile"
            try:
                report = recover(self, adopt, symbols)
            finally:
                self._origin = "live"
            self._recovered = True
            self.stats["recovered_changes"] += len(report.changes)
            return report

    def cancel_all(self) -> list[Order]:
        """Cancel every unfinished order; raises the first OrderInDoubt after trying all."""
        done, doubt = [], None
        for order in self.pending_orders:
            try:
                done.append(self.cancel(order.client_order_id))
            except OrderInDoubt as exc:
                doubt = doubt or exc
        if doubt is not None:
            raise doubt
        return done

    # -- creating --------------------------------------------------------------------------

    def _create(self, signal: Signal) -> Order:
        cid = new_client_order_id(self.config, self.clock.now(), self._ids)
        while cid in self.book:  # a seeded generator restarts its sequence with the process
            cid = new_client_order_id(self.config, self.clock.now(), self._ids)
        order_type = signal.order_type or self.config.order_type
        try:
            rules = self._retrying(lambda: self.adapter.rules(signal.symbol))
            best = None
            if order_type is OrderType.MARKET or signal.price is None:
                best = self._retrying(lambda: self.adapter.best_price(signal.symbol, signal.side))
        except ExchangeFailure as failure:
            if is_retryable(failure):
                raise  # nothing journaled: the same signal can simply be run again
            # A definitive answer (a bad symbol, bad keys): journal the refusal, so the
            # signal is not tried again, and let the summary count it as not normal.
            self.book.create(OrderSpec(cid, signal.symbol, signal.side, order_type,
                                       signal.amount, signal.price, signal.id), self._origin)
            return self._record(cid, Refuse(str(failure), fatal=True))
        spec, refusal = plan_order(
            signal, cid, self.config, rules, best,
            lambda a: self.adapter.amount_to_precision(signal.symbol, a),
            lambda p: self.adapter.price_to_precision(signal.symbol, p),
        )
        order = self.book.create(spec, self._origin)
        if refusal is not None:
            self.stats["refused"] += 1
            return self._record(cid, Refuse(refusal.reason))
        return order

    # -- driving ---------------------------------------------------------------------------

    def _drive(self, cid: str) -> Order:
        while True:
            order = self.book.get(cid)
            state = order.state
            if order.is_terminal:
                return order
            if state is State.CREATED:
                self._send(self._record(cid, Submit()))
            elif state is State.PENDING_SUBMIT:
                # Only an interrupted run leaves this state at the top of the loop: the
                # request may have left. Never re-send blindly: look it up first.
                self._record(cid, LoseAnswer("interrupted before the answer was recorded"))
            elif state is State.SUBMIT_UNKNOWN:
                self._resolve_unknown(order)
            elif state is State.PENDING_CANCEL:
                self._cancel(order)
            else:
                self._poll(order)

    def _send(self, order: Order) -> None:
        """The placement request; its ``submit``/``resubmit`` row is already committed."""
        cid = order.client_order_id
        self._sends[cid] += 1
        self._deadlines.setdefault(cid, self.clock.now() + self.config.order_timeout_seconds)
        try:
            seen = self.adapter.create(order)
        except ExchangeFailure as failure:
            event = after_create_failure(failure)
            if isinstance(event, LoseAnswer):
                self.stats["unknown_outcomes"] += 1
            self._record(cid, event)
            return
        self._observe(order, seen)

    def _resolve_unknown(self, order: Order, resend: bool = True) -> None:
        """Outcome unknown: look it up by client order id before anything is re-sent.

        Confirmed absent, it is sent again with the same client order id (``resend``, while
        placements remain) or declared failed (recovery, or placements used up)."""
        cid = order.client_order_id
        try:
            seen = self._retrying(lambda: self.adapter.find(order))
        except ExchangeFailure as failure:
            raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
        if seen is not None:
            self.stats["unknown_resolved"] += 1
            self._not_found[cid] = 0
            self._observe(order, seen)
            return
        self._not_found[cid] += 1
        count = self._not_found[cid]
        self._record(cid, Note("not_found", f"lookup {count}: the exchange has no order "
                                  "with this client order id"))
        if count < self.config.not_found_confirmations:
            # It may still land (exchanges are eventually consistent): ask again later.
            self.clock.sleep(self.config.not_found_interval_seconds)
            return
        self._not_found[cid] = 0
        self.stats["unknown_resolved"] += 1
        if resend and self._sends[cid] <= self.config.max_retries:
            self.stats["resubmits"] += 1
            self.clock.sleep(backoff(self._sends[cid] - 1, Kind.TRANSIENT, self.config,
                                     self._rng))
            self._send(self._record(cid, Resubmit()))
        else:
            self._record(cid, Abandon(
                f"not on the exchange: {self.config.not_found_confirmations} definitive "
                "not-found answer(s) to lookups by client order id"))

    def _poll(self, order: Order) -> None:
        cid = order.client_order_id
        now = self.clock.now()
        deadline = self._deadlines.setdefault(cid, now + self.config.order_timeout_seconds)
        if now >= deadline:
            timeout = self.config.order_timeout_seconds
            reason = ("cancel requested" if deadline == float("-inf")
                      else f"not filled within {timeout:g}s: remainder cancelled")
            self._record(cid, RequestCancel(reason))
            return
        self.clock.sleep(min(self.config.poll_interval_seconds, deadline - now))
        self._refresh(order)

    def _refresh(self, order: Order) -> None:
        """Fetch an acknowledged order and apply what changed."""
        try:
            seen = self._retrying(lambda: self.adapter.fetch(order))
        except ExchangeFailure as failure:
            if failure.kind == Kind.NOT_FOUND:
                self._note(order, "exchange_forgot", f"fetch by exchange id: {failure}")
            elif not is_retryable(failure):
                raise OrderInDoubt(order.client_order_id, order.state.value,
                                   str(failure)) from failure
            return  # the deadline still runs: the cancel path settles it
        self._observe(order, seen, self._trades_if_changed(order, seen))

    def _cancel(self, order: Order) -> None:
        """Cancel requested: send the cancel, then fetch the order to learn how it ended.
        An OrderNotFound on cancel is never taken as cancelled: the fetch decides."""
        cid = order.client_order_id
        self._cancels[cid] += 1
        if self._cancels[cid] > self.config.max_retries + 1:
            raise OrderInDoubt(cid, order.state.value, "the cancel is not confirmed after "
                               f"{self._cancels[cid] - 1} attempts")
        refused: ExchangeFailure | None = None
        try:
            self._retrying(lambda: self.adapter.cancel(order))
        except ExchangeFailure as failure:
            if failure.kind not in (Kind.NOT_FOUND, Kind.REJECTED):
                raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
            refused = failure
        try:
            seen = self._retrying(lambda: self.adapter.fetch(order))
        except ExchangeFailure as failure:
            raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
        events = observe(order, seen, self._trades_if_changed(order, seen))
        still_open = (seen.status or "").lower() in ("open", "new", "partially_filled")
        if still_open and refused is not None:
            events.append(CancelRejected(str(refused)))
        self._apply(order, events)
        if still_open and refused is None:
            self.clock.sleep(self.config.poll_interval_seconds)  # accepted, not yet effective

    # -- helpers ---------------------------------------------------------------------------

    def _trades_if_changed(self, order: Order, seen: ExchangeOrder) -> list[Any] | None:
        if seen.filled is None or seen.filled == order.filled or seen.trades:
            return None
        try:
            trades = self._retrying(lambda: self.adapter.trades(order))
        except ExchangeFailure:
            return None  # the cumulative figure still says how much; trades only say which
        return None if trades is None else list(trades)

    def _observe(self, order: Order, seen: ExchangeOrder,
                 trades: list[Any] | None = None) -> None:
        self._apply(order, observe(order, seen, trades))

    def _apply(self, order: Order, events: list[Event]) -> None:
        cid = order.client_order_id
        kept: list[Event] = []
        for event in events:
            if isinstance(event, Note):
                if (cid, event.kind) in self._noted:
                    continue  # an odd answer is journaled once, not at every poll
                self._noted.add((cid, event.kind))
            kept.append(event)
        if not kept:
            return
        try:
            self.book.apply_all(cid, kept, self._origin)
        except InvalidTransition as exc:
            # The exchange said something the lifecycle cannot follow: say so in the
            # journal, change nothing, and let the next answer settle it.
            self._note(order, "illegal_answer", f"{exc}; answer events: {kept!r}")

    def _record(self, cid: str, event: Event) -> Order:
        return self.book.apply(cid, event, self._origin)

    def _note(self, order: Order, kind: str, detail: str) -> None:
        if (order.client_order_id, kind) not in self._noted:
            self._noted.add((order.client_order_id, kind))
            self._record(order.client_order_id, Note(kind, detail))

    def _retrying(self, call: Callable[[], T]) -> T:
        """``call``, retried with backoff on transient errors only, ``max_retries`` times."""
        attempt = 0
        while True:
            try:
                return call()
            except ExchangeFailure as failure:
                if not is_retryable(failure) or attempt >= self.config.max_retries:
                    raise
                self.stats["retries"] += 1
                if failure.kind == Kind.RATE_LIMITED:
                    self.stats["rate_limited"] += 1
                self.clock.sleep(backoff(attempt, failure.kind, self.config, self._rng))
                attempt += 1
