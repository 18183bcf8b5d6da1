"""The order driver: every decision about one order's life, and no I/O.

What the executors once decided in their I/O loops lives here: place, look up after a
lost answer, poll, time out, cancel, settle a cancel race, list trades after the end.
Each entry point is a generator over the vocabulary of _actions.py: it yields what to do
(journal these rows, send this request, wait so long) and is sent back what the journal
and the exchange then say (a ``View``). The sync ``TradeExecutor`` and the asyncio
``AsyncTradeExecutor`` only carry the actions out; tests drive the generators with
generated answers. Recovery (_reconcile.py) is the same driver with another goal.

A driver raises ``OrderInDoubt`` when the order's outcome cannot be settled now (the
exchange unreachable, a cancel not confirmed), and ``ExchangeFailure`` when a signal could
not be planned and nothing was journaled.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Protocol

from ._actions import Look, Op, Open, Record, Request, Send, View, Wait
from ._answers import ExchangeOrder, Kind, MarketRules
from ._asking import Asking, Steps
from ._decide import (
    NotFound,
    after_create_failure,
    after_not_found,
    backoff,
    is_retryable,
    observe,
    plan_order,
)
from ._events import (
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
from ._exceptions import OrderInDoubt
from ._ledger import settle, unsettled
from ._memory import CANCEL_SENT, CANCEL_UNSEEN, CREATE_REFUSED, NOT_FOUND
from ._model import Order, OrderSpec, OrderType
from ._signal import Signal
from ._states import IN_DOUBT, State

_STILL_OPEN = ("open", "new", "partially_filled")


_UNFOLLOWED_CREATE = ("the create's answer could not be followed (the note before says why: "
                      "an answer without an order id, or one the lifecycle refuses)")


class Goal(enum.Enum):
    """Where a driver stops."""

    #: Once the placement is settled: acknowledged, refused, rejected or in doubt.
    PLACED = "placed"
    #: Once terminal (and its trades listed), or presumed absent after a lookup.
    ENDED = "ended"


class Precision(Protocol):
    """The exchange's rounding rules (ccxt's, no I/O)."""

    def amount_to_precision(self, symbol: str, amount: Decimal) -> Decimal: ...

    def price_to_precision(self, symbol: str, price: Decimal) -> Decimal: ...


class Driver(Asking):
    """The decisions for every order of one executor."""

    # -- entry points ----------------------------------------------------------------------

    def place(self, signal: Signal, cid: str, precision: Precision, goal: Goal) -> Steps[Order]:
        """Plan ``signal``'s order under ``cid``, journal it and drive it to ``goal``."""
        order_type = signal.order_type or self.config.order_type
        symbol = signal.symbol
        view = yield Look(None)  # the time, for the request's cool-down
        view = yield from self._ask(view, None, Request(Op.RULES, symbol=symbol))
        rules: MarketRules | None = view.answer
        best: Decimal | None = None
        if view.failure is None and (order_type is OrderType.MARKET or signal.price is None):
            view = yield from self._ask(view, None, Request(Op.QUOTE, symbol=symbol,
                                                            side=signal.side.value))
            best = view.answer
        if view.failure is not None:
            if is_retryable(view.failure):
                raise view.failure  # nothing journaled: the same signal can simply run again
            # A definitive answer (a bad symbol, bad keys): journal the refusal, so the
            # signal is not tried again, and let the summary count it as not normal.
            yield Open(OrderSpec(cid, symbol, signal.side, order_type, signal.amount,
                                 signal.price, signal.id))
            view = yield Record(cid, (Refuse(str(view.failure), fatal=True),))
            return view.current
        assert rules is not None
        spec, refusal = plan_order(
            signal, cid, self.config, rules, best,
            lambda a: precision.amount_to_precision(symbol, a),
            lambda p: precision.price_to_precision(symbol, p))
        view = yield Open(spec)
        if refusal is not None:
            self.stats["refused"] += 1
            view = yield Record(cid, (Refuse(refusal.reason),))
            return view.current
        return (yield from self.drive(cid, goal))

    def cancel(self, cid: str) -> Steps[Order]:
        """Cancel the order now and drive it until it ends. The request is journaled
        first. An order in doubt is looked up, never sent: what the lookup finds is
        cancelled; found nowhere, OrderInDoubt (the journaled request is carried out as soon
        as the order shows up)."""
        view = yield Look(cid)
        order = view.current
        if order.state is State.CREATED:
            view = yield Record(cid, (Withdraw("cancelled before it was sent"),))
            return view.current
        if order.is_terminal:
            return order
        if order.state is State.PENDING_SUBMIT:
            view = yield Record(cid, (LoseAnswer("cancel requested: the placement's answer "
                                                 "was never recorded"),))
        order = view.current
        if not order.cancel_requested and order.state is not State.PENDING_CANCEL:
            view = yield Record(cid, (RequestCancel("cancel requested"),))
        if view.current.state in IN_DOUBT:
            view, found = yield from self._look_up(view)
            if not found:
                raise OrderInDoubt(cid, view.current.state.value, "cancel requested, but the "
                                   "exchange shows no order with this client order id; "
                                   "nothing was sent: it is cancelled as soon as it shows up")
        return (yield from self.drive(cid, Goal.ENDED))

    def drive(self, cid: str, goal: Goal, aligned: bool = False) -> Steps[Order]:
        """Drive the journaled order ``cid`` until ``goal``. ``aligned``: poll on the grid
        of the poll interval, so that every order's polls fall due together and a loop
        following many orders answers those of one market with one listing."""
        view = yield Look(cid)
        looked_up = False
        while True:
            order = view.current
            state = order.state
            if goal is Goal.PLACED and state not in (State.CREATED, State.PENDING_SUBMIT):
                return order
            if order.is_terminal:
                view = yield from self.settle_ledger(view)
                return view.current
            if state is State.CREATED:
                view = yield from self._place(view, (Submit(),))
            elif state is State.PENDING_SUBMIT:
                # Only an interrupted run leaves this state here: the request may have left.
                # Never re-send blindly: look it up first.
                view = yield Record(cid, (LoseAnswer("interrupted before the answer was "
                                                     "recorded"),))
            elif state is State.PRESUMED_ABSENT and looked_up:
                # Back to the caller once looked up: recover() and update() watch it until
                # the exchange's lookup window has passed.
                return order
            elif state in IN_DOUBT:
                view = yield from self._resolve_unknown(view, resend=True)
                looked_up = True
            elif state is State.PENDING_CANCEL:
                view = yield from self._cancel(view)
            else:
                view = yield from self._poll(view, aligned)

    def bring_up_to_date(self, cid: str, listed: ExchangeOrder | None) -> Steps[Order]:
        """Recovery's part for one unfinished order: what the exchange did meanwhile,
        applied once; an order in doubt looked up until found or presumed absent (never
        re-sent); a requested cancel carried out. ``listed``: the order as an open-orders
        listing just showed it, which spares a request."""
        view = yield Look(cid)
        # Each recovery renews the cancel budget: a cancel is safe to send again, one cut
        # short by a crash proved nothing, and "run recovery" is what an order in doubt
        # asks for. Only the attempts of this recovery count.
        earlier = view.memory.cancels - view.memory.cancels_unseen
        if view.current.state is State.PENDING_SUBMIT:
            view = yield Record(cid, (LoseAnswer("the run stopped before the answer was "
                                                 "recorded"),))
        order = view.current
        if order.state in IN_DOUBT:
            if listed is not None:
                view = yield from self._observe(view, listed)
            else:
                view = yield from self._resolve_unknown(view, resend=False)
                while view.current.state is State.SUBMIT_UNKNOWN:
                    view = yield from self._resolve_unknown(view, resend=False)
        elif order.state is not State.PENDING_CANCEL:
            same = listed is not None and listed.id == order.exchange_order_id
            view = yield from self._refresh(view, listed if same else None)
        order = view.current
        if order.cancel_requested and order.state in (State.SUBMITTED, State.PARTIALLY_FILLED):
            # Cancelled while in doubt (or the run stopped before it could cancel).
            view = yield Record(cid, (RequestCancel("cancel requested"),))
        while view.current.state is State.PENDING_CANCEL:
            view = yield from self._cancel(view, earlier)
        return view.current

    def settle_ledger(self, view: View, attempts: int | None = None) -> Steps[View]:
        """An ended order whose fills are partly inferred: its trades are listed until they
        account for the exchange's filled and cost, ``attempts`` (by default
        ``trade_listing_attempts``) times at most, a poll interval apart. What they still
        leave out stays inferred from the order's own figures (noted), and recover() lists
        them again."""
        cid = view.current.client_order_id
        attempts = self.config.trade_listing_attempts if attempts is None else attempts
        for attempt in range(attempts):
            if not unsettled(view.current):
                return view
            if attempt:
                view = yield Wait(cid, view.mono, self.config.poll_interval_seconds)
            view = yield from self._ask(view, cid, Request(Op.TRADES, cid))
            if view.failure is not None:
                break
            if view.answer is None:
                return view  # the exchange cannot list them: its order figures stand
            view = yield from self._apply(view, settle(view.current, list(view.answer)))
        order = view.current
        if unsettled(order):
            view = yield from self._note(view, "trades_unlisted", "its trades do not account "
                                         f"for its filled {order.filled} yet: part of it is "
                                         "inferred from the order's figures")
        return view

    # -- placing and looking up ------------------------------------------------------------

    def _place(self, view: View, rows: tuple[Event, ...]) -> Steps[View]:
        """The placement request, ``rows`` (its ``submit``/``resubmit``) journaled first."""
        cid = view.current.client_order_id
        view = yield from self._cooled(view, cid)  # the create waits with everything else
        view = yield Send(Request(Op.CREATE, cid), rows)
        failure = view.failure
        if failure is None:
            view = yield from self._observe(view, view.answer)
            if view.current.state is State.PENDING_SUBMIT:
                # Answered, but with nothing to acknowledge the order by (the note before
                # says what): placed or not, only a lookup can tell.
                view = yield Record(cid, (LoseAnswer(_UNFOLLOWED_CREATE),))
            return view
        sends = view.memory.sends  # this request's row is counted already
        self._cool(view, failure, sends - 1)
        event = after_create_failure(failure, sends <= self.config.max_retries)
        if event is None:
            # Refused before execution: nothing exists, so sending again is no re-send of an
            # order in doubt. The note is journaled before the request leaves.
            self.stats["retries"] += 1
            view = yield from self._back_off(view, cid, failure, sends - 1)
            note = Note(CREATE_REFUSED, f"not executed, sent again: {failure}")
            return (yield from self._place(view, (note,)))
        if isinstance(event, LoseAnswer):
            self.stats["unknown_outcomes"] += 1
        return (yield Record(cid, (event,)))

    def _look_up(self, view: View) -> Steps[tuple[View, bool]]:
        """Look an order in doubt up by client order id and apply what is found; whether it
        was found. OrderInDoubt when the exchange cannot be asked."""
        cid = view.current.client_order_id
        view = yield from self._ask(view, cid, Request(Op.FIND, cid))
        if view.failure is not None:
            raise OrderInDoubt(cid, view.current.state.value,
                               str(view.failure)) from view.failure
        lookup = view.answer
        for detail in lookup.odd:
            view = yield from self._note(view, "odd_lookup", detail)
        if lookup.found is None:
            return view, False
        view = yield from self._observe(view, lookup.found)
        if view.current.state in IN_DOUBT:
            # Found, yet nothing it said could settle the doubt (the notes say why): no
            # evidence either way, and asking again would only get the same answer.
            raise OrderInDoubt(cid, view.current.state.value, "the exchange's answer to a "
                               "lookup by client order id could not be followed")
        self.stats["unknown_resolved"] += 1
        return view, True

    def _resolve_unknown(self, view: View, resend: bool) -> Steps[View]:
        """Outcome unknown: look it up by client order id; what not being found means is
        _decide.after_not_found's to say (wait, presume absent, re-send, declare absent)."""
        view, found = yield from self._look_up(view)
        if found:
            return view
        cid = view.current.client_order_id
        count = view.memory.not_found + 1
        view = yield Record(cid, (Note(NOT_FOUND, f"lookup {count}: the exchange has no "
                                       "order with this client order id"),))
        # Time since the placement left, in monotonic time: a wall-clock jump cannot make
        # an order look older or younger than it is.
        sends = view.memory.sends
        evidence = NotFound(count, self.timers.sent_at(view))
        may_resend = resend and sends <= self.config.max_retries

        def decided() -> tuple[Event | None, float]:
            return after_not_found(view.current, evidence, self.profile, self.config,
                                   view.mono, may_resend)

        event, wait = decided()
        while event is not None:
            if isinstance(event, Resubmit):
                self.stats["resubmits"] += 1
                view = yield Wait(cid, view.mono,
                                  backoff(sends - 1, Kind.TRANSIENT, self.config, self._rng))
                return (yield from self._place(view, (event,)))
            self.stats["unknown_resolved" if event.trigger == "declare_absent"
                       else "presumed_absent"] += 1
            # Presumed absent on this very evidence: a re-send (where safe) or the end (past
            # the lookup window) needs no second lookup.
            view = yield Record(cid, (event,))
            event, wait = decided()
        if wait > 0:
            view = yield Wait(cid, view.mono, wait)
        return view

    # -- an acknowledged order -------------------------------------------------------------

    def _poll(self, view: View, aligned: bool) -> Steps[View]:
        order = view.current
        cid = order.client_order_id
        deadline = self.timers.deadline(view)
        if order.cancel_requested or view.mono >= deadline:
            timeout = self.config.order_timeout_seconds
            reason = ("cancel requested" if order.cancel_requested
                      else f"not filled within {timeout:g}s: remainder cancelled")
            return (yield Record(cid, (RequestCancel(reason),)))
        interval = self.config.poll_interval_seconds
        wait = interval - view.mono % interval if aligned else interval
        view = yield Wait(cid, view.mono, min(wait, deadline - view.mono))
        return (yield from self._refresh(view))

    def _refresh(self, view: View, seen: ExchangeOrder | None = None) -> Steps[View]:
        """Fetch an acknowledged order (unless ``seen`` just now) and apply what changed."""
        order = view.current
        cid = order.client_order_id
        if seen is None:
            view = yield from self._ask(view, cid, Request(Op.FETCH, cid, order.symbol,
                                                           listable=True))
            failure = view.failure
            if failure is not None:
                if failure.kind == Kind.NOT_FOUND:
                    kind = "not_visible_yet" if self._within_grace(view) else "exchange_forgot"
                    return (yield from self._note(view, kind, f"fetch by exchange id: {failure}"))
                if not is_retryable(failure):
                    raise OrderInDoubt(cid, order.state.value, str(failure)) from failure
                return view  # the deadline still runs: the cancel path settles it
            seen = view.answer
        assert seen is not None
        view, trades = yield from self._trades_if_changed(view, seen)
        return (yield from self._observe(view, seen, trades))

    def _cancel(self, view: View, earlier: int = 0) -> Steps[View]:
        """Cancel requested: send the cancel, then fetch the order to learn how it ended.
        An OrderNotFound on cancel is never taken as cancelled: the fetch decides.
        ``earlier``: attempts that do not count (a recovery's, made before it began)."""
        order = view.current
        cid = order.client_order_id
        # Attempts whose order the exchange could not see yet (its placement's grace
        # period) prove nothing: only the others spend the budget.
        spent = view.memory.cancels - view.memory.cancels_unseen - earlier
        if spent > self.config.max_retries:
            # No cancel is sent any more, but a look may show the order ended meanwhile
            # (filled, or the last cancel took effect): only then is the doubt over.
            view = yield from self._ask(view, cid, Request(Op.FETCH, cid))
            if view.failure is None:
                seen = view.answer
                view, trades = yield from self._trades_if_changed(view, seen)
                view = yield from self._apply(view, observe(view.current, seen, trades))
                if view.current.is_terminal:
                    return view
            raise OrderInDoubt(cid, view.current.state.value, "the cancel is not confirmed "
                               f"after {spent} attempts")
        # Each request, retries included, is journaled before it leaves.
        view = yield from self._ask(view, cid, Request(Op.CANCEL, cid), lambda v: (
            Note(CANCEL_SENT, f"cancel request {v.memory.cancels + 1}"),))
        refused = view.failure
        if refused is not None and refused.kind not in (Kind.NOT_FOUND, Kind.REJECTED):
            raise OrderInDoubt(cid, view.current.state.value, str(refused)) from refused
        view = yield from self._ask(view, cid, Request(Op.FETCH, cid))
        failure = view.failure
        if failure is not None:
            if failure.kind == Kind.NOT_FOUND and self._within_grace(view):
                # Acknowledged, yet not visible to queries yet (Binance's lag): this attempt
                # does not count; ask again once a poll interval has passed.
                view = yield Record(cid, (Note(CANCEL_UNSEEN, f"fetch by exchange id: "
                                                              f"{failure}"),))
                return (yield Wait(cid, view.mono, self.config.poll_interval_seconds))
            raise OrderInDoubt(cid, view.current.state.value, str(failure)) from failure
        seen = view.answer
        view, trades = yield from self._trades_if_changed(view, seen)
        events = observe(view.current, seen, trades)
        still_open = (seen.status or "").lower() in _STILL_OPEN
        if still_open and refused is not None:
            events.append(CancelRejected(str(refused)))
        view = yield from self._apply(view, events)
        if still_open:
            # Accepted but not yet effective, or refused while the order rests: either way,
            # ask again once a poll interval has passed, not at once.
            view = yield Wait(cid, view.mono, self.config.poll_interval_seconds)
        return view
