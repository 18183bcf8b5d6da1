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
from functools import partial
from typing import Any, TypeVar

from ..core._answers import ExchangeOrder, Kind
from ..core._clock import Clock
from ..core._config import ExecutionConfig
from ..core._decide import (
    NotFound,
    after_create_failure,
    after_not_found,
    backoff,
    is_retryable,
    may_be_invisible,
    new_client_order_id,
    observe,
    plan_order,
)
from ..core._events import (
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
from ..core._exceptions import ExchangeFailure, InvalidInput, InvalidTransition, OrderInDoubt
from ..core._ledger import settle, unsettled
from ..core._memory import CANCEL_SENT, CANCEL_UNSEEN, CREATE_REFUSED, NOT_FOUND
from ..core._model import Order, OrderSpec, OrderType
from ..core._profiles import ExchangeProfile
from ..core._signal import Signal
from ..core._states import IN_DOUBT, State
from ..exchange._exchange import ExchangeAdapter
from ..journal._book import OrderBook
from ..journal._journal import Durability
from ._recovery import RecoveryReport, recover
from ._timers import Timers

T = TypeVar("T")


def _check_client_ids(config: ExecutionConfig, profile: ExchangeProfile) -> None:
    """Refuse, before anything is opened or sent, a configuration whose client order ids
    the exchange would reject."""
    try:
        sample = new_client_order_id(config, 0.0, random.Random(0),
                                     profile.client_id_max_length)
    except InvalidInput as exc:
        raise InvalidInput(f"{profile.id}: {exc}") from None
    if not profile.check_client_id(sample):
        raise InvalidInput(
            f"{profile.id} does not accept client order ids like {sample!r} (it wants "
            f"{profile.client_id_alphabet}, at most {profile.client_id_max_length} "
            "characters): change client_order_id_prefix or client_order_id_max_length")


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
        profile: ExchangeProfile | None = None,
    ) -> None:
        self.config = (config if isinstance(config, ExecutionConfig)
                       else ExecutionConfig.from_dict(config or {}))
        #: How this exchange treats client order ids (_profiles.py): whether a lost create
        #: may be re-sent, how long lookups may miss a new order.
        self.adapter = ExchangeAdapter(exchange, profile)
        _check_client_ids(self.config, self.adapter.profile)
        if isinstance(journal, OrderBook):
            self.book = journal
        else:
            self.book = OrderBook.open(journal, durability=durability, clock=clock)
        self.clock: Clock = clock or self.book.clock
        # Jitter may be seeded for tests; client order ids never repeat across processes.
        self._rng = random.Random(seed)
        self._ids = random.Random(seed) if seed is not None else random.SystemRandom()
        #: Counts for the run summary: retries, unknown outcomes, resubmits, ...
        self.stats: Counter[str] = Counter()
        # What the decisions count lives in the journal (book.memory); the timers hold, in
        # monotonic time, when each order's last placement left and when it times out.
        self._timers = Timers(self.book, self.clock, self.config.order_timeout_seconds)
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
        """Place ``signal``'s order and return it once terminal, or presumed absent (the
        create's answer was lost and lookups found nothing past the exchange's visibility
        grace: not re-sent unless the exchange makes that safe; ``recover()`` watches it).

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
        """Cancel the order now and return it once terminal.

        The request is journaled first. An order in doubt (its placement's answer was lost)
        is looked up, never sent: what the lookup finds is cancelled. Found nowhere, it
        raises OrderInDoubt; the journaled request is carried out as soon as the order shows
        up (recover() keeps looking)."""
        with self._lock:
            cid = client_order_id
            order = self.book.get(cid)
            if order.state is State.CREATED:
                return self._record(cid, Withdraw("cancelled before it was sent"))
            if order.is_terminal:
                return order
            if order.state is State.PENDING_SUBMIT:
                order = self._record(cid, LoseAnswer("cancel requested: the placement's "
                                                     "answer was never recorded"))
            if not order.cancel_requested and order.state is not State.PENDING_CANCEL:
                order = self._record(cid, RequestCancel("cancel requested"))
            if order.state in IN_DOUBT and not self._look_up(order):
                order = self.book.get(cid)
                raise OrderInDoubt(cid, order.state.value, "cancel requested, but the "
                                   "exchange shows no order with this client order id; "
                                   "nothing was sent: it is cancelled as soon as it shows up")
            return self._drive(cid)

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
        longest = self.adapter.profile.client_id_max_length
        cid = new_client_order_id(self.config, self.clock.now(), self._ids, longest)
        # A seeded generator restarts its sequence with the process: draw again (at least
        # five random characters make a second clash all but impossible).
        while cid in self.book:
            cid = new_client_order_id(self.config, self.clock.now(), self._ids, longest)
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
        looked_up = False
        while True:
            order = self.book.get(cid)
            state = order.state
            if order.is_terminal:
                return self._settle_ledger(order)
            if state is State.CREATED:
                self._send(self._record(cid, Submit()))
            elif state is State.PENDING_SUBMIT:
                # Only an interrupted run leaves this state at the top of the loop: the
                # request may have left. Never re-send blindly: look it up first.
                self._record(cid, LoseAnswer("interrupted before the answer was recorded"))
            elif state is State.SUBMIT_UNKNOWN:
                self._resolve_unknown(order)
                looked_up = True
            elif state is State.PRESUMED_ABSENT:
                # Back to the caller once it has been looked up in this call: recover()
                # watches it until the exchange's lookup window has passed.
                if looked_up:
                    return order
                self._resolve_unknown(order)
                looked_up = True
            elif state is State.PENDING_CANCEL:
                self._cancel(order)
            else:
                self._poll(order)

    def _send(self, order: Order) -> None:
        """The placement request; its ``submit``/``resubmit`` row is already committed."""
        cid = order.client_order_id
        sends = self.book.memory(cid).sends  # this request's row is counted already
        self._timers.sending(cid)
        try:
            seen = self.adapter.create(order)
        except ExchangeFailure as failure:
            event = after_create_failure(failure, sends <= self.config.max_retries)
            if event is None:
                # Refused before execution: nothing exists, so sending again is no re-send
                # of an order in doubt. The note is journaled before the request leaves.
                self.stats["retries"] += 1
                self.clock.sleep(backoff(sends - 1, failure.kind, self.config, self._rng))
                self._record(cid, Note(CREATE_REFUSED, f"not executed, sent again: {failure}"))
                self._send(self.book.get(cid))
                return
            if isinstance(event, LoseAnswer):
                self.stats["unknown_outcomes"] += 1
            self._record(cid, event)
            return
        self._observe(order, seen)

    def _look_up(self, order: Order) -> bool:
        """Look an order in doubt up by client order id and apply what is found. Returns
        whether it was found; raises OrderInDoubt when the exchange cannot be asked."""
        cid = order.client_order_id
        try:
            lookup = self._retrying(lambda: self.adapter.find(order))
        except ExchangeFailure as failure:
            raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
        for detail in lookup.odd:
            self._note(order, "odd_lookup", detail)
        if lookup.found is None:
            return False
        self._observe(order, lookup.found)
        after = self.book.get(cid)
        if after.state in IN_DOUBT:
            # Found, yet nothing it said could settle the doubt (the notes say why): no
            # evidence either way, and asking again would only get the same answer.
            raise OrderInDoubt(cid, after.state.value, "the exchange's answer to a lookup "
                               "by client order id could not be followed")
        self.stats["unknown_resolved"] += 1
        return True

    def _resolve_unknown(self, order: Order, resend: bool = True) -> None:
        """Outcome unknown: look it up by client order id; what not being found means is
        _decide.after_not_found's to say (wait, presume absent, re-send, declare absent)."""
        if self._look_up(order):
            return
        cid = order.client_order_id
        count = self.book.memory(cid).not_found + 1
        self._record(cid, Note(NOT_FOUND, f"lookup {count}: the exchange has no order "
                               "with this client order id"))
        # Time since the placement left, in monotonic time: a wall-clock jump cannot
        # make an order look older or younger than it is.
        sends = self.book.memory(cid).sends
        evidence = NotFound(count, self._timers.sent_at(order))
        may_resend = resend and sends <= self.config.max_retries
        event, wait = after_not_found(self.book.get(cid), evidence, self.adapter.profile,
                                      self.config, self._timers.now(), may_resend)
        while event is not None:
            if isinstance(event, Resubmit):
                self.stats["resubmits"] += 1
                self.clock.sleep(backoff(sends - 1, Kind.TRANSIENT, self.config, self._rng))
                self._send(self._record(cid, event))
                return
            self.stats["unknown_resolved" if event.trigger == "declare_absent"
                       else "presumed_absent"] += 1
            # Presumed absent on this very evidence: a re-send (where safe) or the end
            # (past the lookup window) needs no second lookup.
            event, wait = after_not_found(self._record(cid, event), evidence,
                                          self.adapter.profile, self.config,
                                          self._timers.now(), may_resend)
        if wait > 0:
            self.clock.sleep(wait)

    def _poll(self, order: Order) -> None:
        cid = order.client_order_id
        now = self._timers.now()
        deadline = self._timers.deadline(order)
        if order.cancel_requested or now >= deadline:
            timeout = self.config.order_timeout_seconds
            reason = ("cancel requested" if order.cancel_requested
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
                self._note(order, self._unseen_kind(order), f"fetch by exchange id: {failure}")
            elif not is_retryable(failure):
                raise OrderInDoubt(order.client_order_id, order.state.value,
                                   str(failure)) from failure
            return  # the deadline still runs: the cancel path settles it
        self._observe(order, seen, self._trades_if_changed(order, seen))

    def _cancel(self, order: Order) -> None:
        """Cancel requested: send the cancel, then fetch the order to learn how it ended.
        An OrderNotFound on cancel is never taken as cancelled: the fetch decides."""
        cid = order.client_order_id
        memory = self.book.memory(cid)
        # Attempts whose order the exchange could not see yet (its placement's grace
        # period) prove nothing: only the others spend the budget.
        spent = memory.cancels - memory.cancels_unseen
        if spent > self.config.max_retries:
            raise OrderInDoubt(cid, order.state.value, "the cancel is not confirmed after "
                               f"{spent} attempts")
        refused: ExchangeFailure | None = None
        try:
            # Each request, retries included, is journaled before it leaves.
            self._retrying(partial(self._send_cancel, order))
        except ExchangeFailure as failure:
            if failure.kind not in (Kind.NOT_FOUND, Kind.REJECTED):
                raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
            refused = failure
        try:
            seen = self._retrying(lambda: self.adapter.fetch(order))
        except ExchangeFailure as failure:
            if failure.kind == Kind.NOT_FOUND and self._within_grace(order):
                # Acknowledged, yet not visible to queries yet (Binance's lag): this attempt
                # does not count; ask again once a poll interval has passed.
                self._record(cid, Note(CANCEL_UNSEEN, f"fetch by exchange id: {failure}"))
                self.clock.sleep(self.config.poll_interval_seconds)
                return
            raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
        events = observe(order, seen, self._trades_if_changed(order, seen))
        still_open = (seen.status or "").lower() in ("open", "new", "partially_filled")
        if still_open and refused is not None:
            events.append(CancelRejected(str(refused)))
        self._apply(order, events)
        if still_open:
            # Accepted but not yet effective, or refused while the order rests: either way,
            # ask again once a poll interval has passed, not at once.
            self.clock.sleep(self.config.poll_interval_seconds)

    def _send_cancel(self, order: Order) -> None:
        count = self.book.memory(order.client_order_id).cancels + 1
        self._record(order.client_order_id, Note(CANCEL_SENT, f"cancel request {count}"))
        self.adapter.cancel(order)

    # -- helpers ---------------------------------------------------------------------------

    def _within_grace(self, order: Order) -> bool:
        return may_be_invisible(self._timers.sent_at(order), self._timers.now(),
                                self.adapter.profile)

    def _unseen_kind(self, order: Order) -> str:
        return "not_visible_yet" if self._within_grace(order) else "exchange_forgot"

    def _settle_ledger(self, order: Order, attempts: int | None = None) -> Order:
        """An ended order whose fills are partly inferred: its trades are listed until they
        account for the exchange's filled and cost, ``attempts`` (by default
        ``trade_listing_attempts``) times at most, a poll interval apart. What they still
        leave out stays inferred from the order's own figures (noted), and recover() lists
        them again."""
        cid = order.client_order_id
        attempts = self.config.trade_listing_attempts if attempts is None else attempts
        for attempt in range(attempts):
            if not unsettled(order):
                return order
            if attempt:
                self.clock.sleep(self.config.poll_interval_seconds)
            try:
                trades = self._retrying(partial(self.adapter.trades, order))
            except ExchangeFailure:
                break
            if trades is None:
                return order  # the exchange cannot list them: its order figures stand
            self._apply(order, settle(order, list(trades)))
            order = self.book.get(cid)
        if unsettled(order):
            self._note(order, "trades_unlisted", "its trades do not account for its filled "
                       f"{order.filled} yet: part of it is inferred from the order's figures")
        return order

    def _trades_if_changed(self, order: Order, seen: ExchangeOrder) -> list[Any] | None:
        """The order's trades when the answer says more was filled, or some of what is
        recorded is still inferred; None when not worth a call (or the call failed)."""
        if seen.filled is None or seen.trades:
            return None
        if seen.filled == order.filled and not unsettled(order):
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
