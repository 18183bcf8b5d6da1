"""Time, injected: nothing in the library reads a clock or sleeps except through this.

Two kinds of time. ``now()`` is the wall clock: journal rows are stamped with it, and it
can jump (NTP, a person setting the clock). ``monotonic()`` never jumps: deadlines and
intervals inside one process are measured with it. Across a restart only wall time
survives, so a deadline kept in the journal is turned into monotonic time once, when the
process first needs it.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock: may jump)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back nor jumping."""

    def sleep(self, seconds: float) -> None: ...


def monotonic_of(clock: object) -> float:
    """``clock.monotonic()``; a clock written before it existed (only ``now`` and
    ``sleep``) falls back to its wall time."""
    read = getattr(clock, "monotonic", None)
    return float(read()) if read is not None else float(clock.now())  # type: ignore[attr-defined]


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to, or when slept on: tests never wait.

    ``advance`` moves both kinds of time; ``jump`` moves the wall clock alone, as NTP or a
    person setting the clock would."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        #: Deliberately far from the wall time: mixing the two up shows at once.
        self._monotonic = 1_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
            self._monotonic += seconds

    def jump(self, seconds: float) -> None:
        """Set the wall clock forward (or back, if negative); monotonic time stays."""
        self._now += seconds
