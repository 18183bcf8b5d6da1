"""Time is injected: the fake clock moves only when told, and never waits."""

from __future__ import annotations

import time

from fsm_executor import FakeClock, SystemClock


def test_fake_clock_moves_only_when_told_or_slept_on() -> None:
    clock = FakeClock(100.0)
    assert clock.now() == clock.now() == 100.0
    clock.advance(2.5)
    clock.advance(-5)  # time never goes back
    assert clock.now() == 102.5
    started = time.monotonic()
    clock.sleep(3600)
    assert time.monotonic() - started < 1
    assert clock.now() == 3702.5
    assert clock.slept == [3600]


def test_system_clock_reads_the_wall_clock() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()
    SystemClock().sleep(-1)  # a negative sleep returns at once
