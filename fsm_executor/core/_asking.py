"""How the order driver asks and records (the base of ``Driver``, _driver.py): every
request retried with backoff on transient errors only, a rate limit cooling the whole
exchange down, every answer journaled once (odd answers noted once per run), and what
the drivers of one executor share.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from ._actions import Action, Look, Op, Record, Request, Send, View, Wait
from ._answers import ExchangeOrder, Kind
from ._config import ExecutionConfig
from ._decide import backoff, is_retryable, may_be_invisible, observe
from ._events import Event, Note
from ._exceptions import ExchangeFailure
from ._fill import Fill
from ._ledger import unsettled
from ._profiles import ExchangeProfile
from ._timing import Timers

T = TypeVar("T")
#: A driver: yields actions, is sent views, returns a T.
Steps = Generator[Action, View, T]


class Asking:
    """What the drivers of every order of one executor share: the exchange's cool-down
    after a rate limit, the notes already journaled in this run, the monotonic timers, the
    counts for the run summary; and how they ask and record."""

    def __init__(self, config: ExecutionConfig, profile: ExchangeProfile,
                 rng: random.Random) -> None:
        self.config, self.profile, self._rng = config, profile, rng
        #: Retries, unknown outcomes, resubmits, ...: for the run summary.
        self.stats: Counter[str] = Counter()
        #: Until when (monotonic) the exchange cools down after a rate limit: every request
        #: to it waits, not only the one that met the limit.
        self.cool_until = float("-inf")
        self.timers = Timers(config.order_timeout_seconds)
        self._noted: set[tuple[str, str]] = set()

    def leaving(self, request: Request, view: View) -> None:
        """The loop says ``request`` leaves now (its rows are committed)."""
        if request.op is Op.CREATE:
            self.timers.sending(view)

    def ask(self, request: Request) -> Steps[Any]:
        """One request not about an order (a listing), retried like all: its answer, or
        None if it failed (a failed request's view holds no answer)."""
        view = yield Look(None)  # the time, for the request's cool-down
        view = yield from self._ask(view, None, request)
        return view.answer

    def observe(self, view: View, seen: ExchangeOrder) -> Steps[View]:
        """Bring the order in line with ``seen``."""
        return (yield from self._observe(view, seen))

    def _within_grace(self, view: View) -> bool:
        return may_be_invisible(self.timers.sent_at(view), view.mono, self.profile)

    def _trades_if_changed(self, view: View,
                           seen: ExchangeOrder) -> Steps[tuple[View, list[Fill] | None]]:
        """The order's trades when the answer says more was filled, or some of what is
        recorded is still inferred; None when not worth a call (or the call failed)."""
        order = view.current
        if seen.filled is None or seen.trades:
            return view, None
        if seen.filled == order.filled and not unsettled(order):
            return view, None
        cid = order.client_order_id
        view = yield from self._ask(view, cid, Request(Op.TRADES, cid))
        # Failed: the cumulative figure still says how much; trades only say which.
        if view.failure is not None or view.answer is None:
            return view, None
        return view, list(view.answer)

    # -- journaling ------------------------------------------------------------------------

    def _observe(self, view: View, seen: ExchangeOrder,
                 trades: list[Fill] | None = None) -> Steps[View]:
        return (yield from self._apply(view, observe(view.current, seen, trades)))

    def _apply(self, view: View, events: list[Event]) -> Steps[View]:
        cid = view.current.client_order_id
        kept: list[Event] = []
        for event in events:
            if isinstance(event, Note):
                if (cid, event.kind) in self._noted:
                    continue  # an odd answer is journaled once, not at every poll
                self._noted.add((cid, event.kind))
            kept.append(event)
        if not kept:
            return view
        view = yield Record(cid, tuple(kept), answer=True)
        if view.refused is not None:
            # The exchange said something the lifecycle cannot follow: say so in the
            # journal, change nothing, and let the next answer settle it.
            view = yield from self._note(view, "illegal_answer",
                                         f"{view.refused}; answer events: {kept!r}")
        return view

    def _note(self, view: View, kind: str, detail: str) -> Steps[View]:
        cid = view.current.client_order_id
        if (cid, kind) in self._noted:
            return view
        self._noted.add((cid, kind))
        return (yield Record(cid, (Note(kind, detail),)))

    # -- asking ----------------------------------------------------------------------------

    def _ask(self, view: View, cid: str | None, request: Request,
             rows: Callable[[View], tuple[Event, ...]] | None = None) -> Steps[View]:
        """``request``, retried with backoff on transient errors only, ``max_retries``
        times; ``rows(view)`` journaled before each attempt. The view after the last."""
        attempt = 0
        while True:
            if self.cool_until > view.mono:  # (checked here first: most requests do not wait)
                view = yield from self._cooled(view, cid)
            view = yield Send(request, rows(view) if rows is not None else ())
            failure = view.failure
            self._cool(view, failure, attempt)
            if (failure is None or not is_retryable(failure)
                    or attempt >= self.config.max_retries):
                return view
            self.stats["retries"] += 1
            if failure.kind == Kind.RATE_LIMITED:
                self.stats["rate_limited"] += 1
            view = yield from self._back_off(view, cid, failure, attempt)
            attempt += 1

    def _cool(self, view: View, failure: ExchangeFailure | None, attempt: int) -> None:
        """A rate limit cools the whole exchange down, for at least as long as its
        Retry-After asked: every request to it waits (``_cooled``), whether the one that
        met it is retried or not (its retries spent, or a create left in doubt)."""
        if failure is None or failure.kind != Kind.RATE_LIMITED:
            return
        delay = max(backoff(attempt, failure.kind, self.config, self._rng),
                    failure.retry_after or 0.0)
        self.cool_until = max(self.cool_until, view.mono + delay)

    def _back_off(self, view: View, cid: str | None, failure: ExchangeFailure,
                  attempt: int) -> Steps[View]:
        """Wait before a retry: a rate limit's cool-down (``_cool``), else the backoff."""
        if failure.kind == Kind.RATE_LIMITED:
            return (yield from self._cooled(view, cid))
        return (yield Wait(cid, view.mono, backoff(attempt, failure.kind, self.config,
                                                   self._rng)))

    def _cooled(self, view: View, cid: str | None) -> Steps[View]:
        """Wait out the exchange's cool-down, if one is running (it may grow meanwhile)."""
        while self.cool_until > view.mono:
            view = yield Wait(cid, view.mono, self.cool_until - view.mono)
        return view
