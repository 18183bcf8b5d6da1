"""Many orders at once: a driver per pending order, advanced together, without I/O.

A loop asks for the actions ``due`` now across every followed order, commits all their
rows in one transaction (group commit: each request still leaves only after the commit
that holds its own row), answers the routine looks at open orders of one market from one
listing where it can (``by_listing``), sends the rest, and ``resume``\\ s each driver with
what came of its action. An order whose driver stops short of the end (presumed absent,
or in doubt) rests for ``watch_seconds`` before a new driver looks again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ._actions import Action, Send, View, Wait
from ._answers import ExchangeOrder
from ._asking import Steps
from ._driver import Driver, Goal
from ._exceptions import OrderInDoubt
from ._model import Order

#: A market's routine looks are answered by one open-orders listing from this many on:
#: for a single order, its own fetch is one request too, and says how it ended.
LISTING_FROM = 2


@attrs.define
class _Track:
    steps: Steps[Order]
    action: Action


class Tracker:
    """The drivers of every followed order, and the actions they wait to have done."""

    def __init__(self, driver: Driver, watch_seconds: float) -> None:
        self.driver = driver
        self._watch = watch_seconds
        self._tracks: dict[str, _Track] = {}
        #: Orders whose driver stopped short of the end: not looked at again before.
        self._resting: dict[str, float] = {}
        #: Why each order in doubt could not be settled, as its last driver said.
        self.doubts: dict[str, OrderInDoubt] = {}

    def follow(self, cids: Iterable[str], mono: float) -> None:
        """Start a driver (to the order's end) for each of these orders not followed yet,
        unless it rests."""
        for cid in cids:
            if cid in self._tracks or self._resting.get(cid, mono) > mono:
                continue
            self._resting.pop(cid, None)
            steps = self.driver.drive(cid, Goal.ENDED, aligned=True)
            self._tracks[cid] = _Track(steps, next(steps))

    def forget(self, cid: str) -> None:
        """Stop following ``cid`` (another driver takes it on): its driver is closed."""
        track = self._tracks.pop(cid, None)
        if track is not None:
            track.steps.close()
        self._resting.pop(cid, None)

    def due(self, mono: float) -> list[tuple[str, Action]]:
        """The actions to carry out now, one per order at most."""
        return [(cid, t.action) for cid, t in self._tracks.items()
                if not (isinstance(t.action, Wait) and t.action.until > mono)]

    def resume(self, cid: str, view: View) -> Order | None:
        """Hand the order's driver what came of its action; the order if it stopped."""
        track = self._tracks[cid]
        try:
            track.action = track.steps.send(view)
        except StopIteration as stop:
            del self._tracks[cid]
            self.doubts.pop(cid, None)
            order: Order = stop.value
            if not order.is_terminal:
                self._resting[cid] = view.mono + self._watch
            return order
        except OrderInDoubt as doubt:
            del self._tracks[cid]
            self.doubts[cid] = doubt
            self._resting[cid] = view.mono + self._watch
            return view.order
        return None


def by_listing(due: Sequence[tuple[str, Action]]) -> dict[str, list[str]]:
    """The markets whose routine looks are worth one open-orders listing, with the orders
    it answers."""
    markets: dict[str, list[str]] = {}
    for cid, action in due:
        if isinstance(action, Send) and action.request.listable and action.request.symbol:
            markets.setdefault(action.request.symbol, []).append(cid)
    return {s: cids for s, cids in markets.items() if len(cids) >= LISTING_FROM}


def index(listing: Sequence[ExchangeOrder] | None) -> dict[str, ExchangeOrder]:
    """A listing by exchange id. An order it lacks is not open any more (or the listing
    failed): its own fetch says how it ended."""
    return {o.id: o for o in listing or () if o.id is not None}
