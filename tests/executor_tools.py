"""Helpers for executor tests: a clock with scheduled actions, and journal inspection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fsm_executor import FakeClock, JournalReader, Order
from fsm_executor.venue._paper import PaperExchange


class ScheduledClock(FakeClock):
    """A FakeClock that runs actions when slept past their time: the world moving on
    while the executor waits (a price move, a fill)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        super().__init__(start)
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def at(self, offset: float, action: Callable[[], None]) -> None:
        self._actions.append((self.now() + offset, action))
        self._actions.sort(key=lambda item: item[0])

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        while self._actions and self._actions[0][0] <= self.now():
            self._actions.pop(0)[1]()


def triggers(path: Path, order_id: str) -> list[str]:
    with JournalReader(path) as reader:
        return [e.trigger for e in reader.entries() if e.order_id == order_id]


def notes(path: Path, order_id: str) -> list[str]:
    with JournalReader(path) as reader:
        return [e.data()["kind"] for e in reader.entries()
                if e.order_id == order_id and e.trigger == "note"]


def assert_money_matches(venue: PaperExchange, order: Order) -> None:
    """The journal's filled, cost and fees equal the venue's, and none of them is inferred."""
    if order.exchange_order_id is None:
        assert order.filled == 0 and not order.fees
        return
    assert not [f for f in order.fills.values() if f.inferred], order.fills
    truth = venue.order_truth(order.exchange_order_id)
    assert (order.filled, order.cost, dict(order.fees)) == (truth.filled, truth.cost,
                                                             dict(truth.fees))
