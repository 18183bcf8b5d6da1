"""The tracker of many orders at once (core/_tracker.py), against a scripted driver: whom
it follows and how, the orders that rest between looks, and which looks share a listing."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from fsm_executor import Order, OrderSpec, State
from fsm_executor.core._actions import Action, Look, Op, Request, Send, View, Wait
from fsm_executor.core._driver import Goal
from fsm_executor.core._exceptions import OrderInDoubt
from fsm_executor.core._memory import Memory
from fsm_executor.core._tracker import LISTING_FROM, Tracker, by_listing

WATCH = 30.0


def order(cid: str, state: State) -> Order:
    made = Order.from_spec(OrderSpec(cid, "BTC/USDT", "buy", "limit", "1", "100"), 0.0)
    made.state = state
    return made


def view(cid: str, mono: float, state: State = State.SUBMITTED) -> View:
    return View(order(cid, state), Memory(), 1_700_000_000.0 + mono, mono)


class ScriptedDriver:
    """Each drive: one Look, then ends as ``ends[cid]`` says: an order it returns, or
    OrderInDoubt raised."""

    def __init__(self) -> None:
        self.drives: list[tuple[str, Goal, Any]] = []
        self.ends: dict[str, State | None] = {}

    def drive(self, cid: str, goal: Goal, aligned: bool = False) -> Generator[Action, View, Order]:
        self.drives.append((cid, goal, aligned))
        return self._steps(cid)

    def _steps(self, cid: str) -> Generator[Action, View, Order]:
        yield Look(cid)
        end = self.ends.get(cid, State.FILLED)
        if end is None:
            raise OrderInDoubt(cid, "submit_unknown", "the lookup failed")
        return order(cid, end)


def tracker() -> tuple[Tracker, ScriptedDriver]:
    driver = ScriptedDriver()
    return Tracker(driver, WATCH), driver  # type: ignore[arg-type]


def test_each_order_gets_one_driver_to_its_end_polling_on_the_shared_grid() -> None:
    tracked, driver = tracker()
    tracked.follow(["a", "b"], 0.0)
    tracked.follow(["a", "c"], 1.0)  # a is followed already
    assert driver.drives == [("a", Goal.ENDED, True), ("b", Goal.ENDED, True),
                             ("c", Goal.ENDED, True)]
    assert tracked.due(1.0) == [("a", Look("a")), ("b", Look("b")), ("c", Look("c"))]
    assert tracked.resume("a", view("a", 1.0)).state is State.FILLED
    assert [cid for cid, _ in tracked.due(1.0)] == ["b", "c"]


def test_an_order_that_stops_short_of_its_end_rests_before_another_driver_looks() -> None:
    tracked, driver = tracker()
    driver.ends = {"absent": State.PRESUMED_ABSENT, "doubt": None}
    tracked.follow(["absent", "doubt"], 0.0)
    assert tracked.resume("absent", view("absent", 10.0)).state is State.PRESUMED_ABSENT
    assert tracked.resume("doubt", view("doubt", 10.0)) is not None
    assert set(tracked.doubts) == {"doubt"}
    tracked.follow(["absent", "doubt"], 10.0 + WATCH - 0.001)
    assert len(driver.drives) == 2 and tracked.due(100.0) == []
    driver.ends = {}
    tracked.follow(["absent", "doubt"], 10.0 + WATCH)  # rested: looked at again
    assert [d[0] for d in driver.drives[2:]] == ["absent", "doubt"]
    assert tracked._resting == {}  # nothing kept for an order followed again
    tracked.resume("doubt", view("doubt", 50.0))
    assert tracked.doubts == {}  # settled: its doubt is over


def test_a_forgotten_order_is_neither_followed_nor_resting() -> None:
    tracked, driver = tracker()
    driver.ends = {"a": State.PRESUMED_ABSENT}
    tracked.follow(["a", "b"], 0.0)
    tracked.resume("a", view("a", 1.0))
    tracked.forget("a")
    tracked.forget("b")
    assert tracked.due(1.0) == [] and tracked._resting == {}
    tracked.follow(["a"], 2.0)  # at once: another driver took it on meanwhile
    assert [d[0] for d in driver.drives] == ["a", "b", "a"]


def test_only_the_actions_due_now_are_given_waits_included_once_their_time_comes() -> None:
    tracked, _ = tracker()
    tracked.follow(["a", "b"], 0.0)
    tracked._tracks["a"].action = Wait("a", 0.0, 5.0)
    assert tracked.due(4.999) == [("b", Look("b"))]
    assert tracked.due(5.0) == [("a", Wait("a", 0.0, 5.0)), ("b", Look("b"))]


def look(cid: str, symbol: str | None = "BTC/USDT", listable: bool = True) -> Send:
    return Send(Request(Op.FETCH, cid, symbol, listable=listable))


def test_a_market_is_listed_once_for_two_routine_looks_or_more() -> None:
    assert LISTING_FROM == 2
    due = [("a", look("a")), ("b", look("b")), ("c", look("c", "ETH/USDT")),
           ("d", look("d", listable=False)), ("e", look("e", None)), ("f", Look("f")),
           ("g", look("g", "SOL/USDT")), ("h", look("h", "SOL/USDT"))]
    assert by_listing(due) == {"BTC/USDT": ["a", "b"], "SOL/USDT": ["g", "h"]}
    assert by_listing(due[2:5]) == {}
