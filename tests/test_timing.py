"""When an order's placement left and when it times out, in monotonic time (core/_timing.py):
read from the journal's wall times once, then kept, so a wall-clock jump moves nothing."""

from __future__ import annotations

from fsm_executor import Order, OrderSpec
from fsm_executor.core._actions import View
from fsm_executor.core._memory import Memory
from fsm_executor.core._timing import Timers

#: Monotonic time is far from wall time, as on a real machine: mixing them up shows.
WALL, MONO = 1_700_000_000.0, 5_000.0


def view(order: Order, memory: Memory, later: float = 0.0, jump: float = 0.0) -> View:
    """A view ``later`` seconds on, the wall clock moved ``jump`` more."""
    return View(order, memory, WALL + later + jump, MONO + later)


def order(created: float = WALL - 100) -> Order:
    return Order.from_spec(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "10"), created)


def test_a_placement_sent_by_this_process_left_when_it_was_sent_whatever_the_clock_does(
) -> None:
    timers = Timers(30)
    timers.sending(view(order(), Memory()))
    assert timers.sent_at(view(order(), Memory(), later=5, jump=3600)) == MONO
    assert timers.deadline(view(order(), Memory(), later=5, jump=-3600)) == MONO + 30


def test_one_sent_by_an_earlier_process_left_when_the_journal_says_converted_once() -> None:
    timers = Timers(30)
    memory = Memory(sends=2, first_sent_at=WALL - 40, sent_at=WALL - 10)
    assert timers.sent_at(view(order(), memory)) == MONO - 10
    assert timers.deadline(view(order(), memory)) == MONO - 40 + 30
    # Kept: a wall-clock jump afterwards moves neither.
    assert timers.sent_at(view(order(), memory, later=1, jump=3600)) == MONO - 10
    assert timers.deadline(view(order(), memory, later=1, jump=3600)) == MONO - 10


def test_a_journal_without_placement_times_counts_from_the_orders_creation() -> None:
    timers = Timers(30)
    assert timers.sent_at(view(order(WALL - 100), Memory(sends=1))) == MONO - 100
    assert timers.deadline(view(order(WALL - 100), Memory(sends=1))) == MONO - 70


def test_a_placement_sent_again_now_times_out_from_the_first_one() -> None:
    timers = Timers(30)
    memory = Memory(sends=1, first_sent_at=WALL - 20, sent_at=WALL - 20)
    timers.sending(view(order(), memory))
    assert timers.sent_at(view(order(), memory)) == MONO
    assert timers.deadline(view(order(), memory)) == MONO - 20 + 30
