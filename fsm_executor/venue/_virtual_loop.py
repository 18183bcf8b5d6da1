"""Virtual time for asyncio: an event loop that never waits for a timer, and the clock it keeps.

``VirtualEventLoop`` is asyncio's own selector loop with two changes. Its ``time()`` is
virtual: when no callback is ready and no thread is out, it moves time at once to the next
timer instead of blocking. And timers due at the same instant run in the order they were
scheduled (asyncio's heap leaves that order to chance), or, with a ``seed``, in a seeded
shuffle of it. Everything else, ready callbacks in FIFO order included, is asyncio's. Same
program and seed, same interleaving and same times.

``VirtualClock`` is that time as a ``Clock``: ``monotonic()`` is the loop's time,
``now()`` a wall epoch plus the virtual time elapsed, so the journal's stamps, the
executor's monotonic deadlines and ``asyncio.sleep``/``asyncio.timeout`` all read one time.
Its blocking ``sleep()`` advances time only outside a running event loop (like
``FakeClock``); inside one it raises, since on a real loop it would freeze every task.

Threads (``run_in_executor``, ``asyncio.to_thread``) take no virtual time: while one is out,
the loop waits for it for real and time stands still, so a thread's speed cannot change
the interleaving (a thread started any other way is not waited for). When nothing is
ready, scheduled or out in a thread, no task can ever resume: the loop raises instead of
hanging. Real sockets are polled but not waited for (time would run ahead of them): use
the paper venue, not the network, on this loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import random
import selectors
import weakref
from collections.abc import Callable, Coroutine, Generator
from concurrent.futures import Executor
from typing import Any, Final, Protocol, TypeVar, TypeVarTuple, Unpack

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: Where virtual wall time starts by default (as ``FakeClock``).
DEFAULT_START: Final = 1_700_000_000.0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class VirtualClock:
    """A ``Clock`` whose time is a virtual event loop's (see the module docstring).

    ``now()`` starts at ``start``; ``monotonic()`` at 1000.0, far from any wall time, so
    mixing the two up shows at once. ``jump`` moves the wall clock alone (NTP, a person
    setting the clock), at any moment."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._monotonic = 1_000.0
        self._wall_offset = float(start) - self._monotonic

    def now(self) -> float:
        return self._wall_offset + self._monotonic

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        """Advance time by ``seconds``; only outside a running event loop."""
        if _running_loop() is not None:
            raise RuntimeError("VirtualClock.sleep() inside a running event loop would block "
                               "it on a real one: await asyncio.sleep() instead")
        if seconds > 0:
            self._monotonic += seconds

    def jump(self, seconds: float) -> None:
        """Set the wall clock forward (or back, if negative); monotonic time stays."""
        self._wall_offset += seconds

    def _move_to(self, monotonic: float) -> None:
        self._monotonic = max(self._monotonic, monotonic)


class Advancing(Protocol):
    """A clock the loop can run on besides ``VirtualClock``: one moved forward by
    ``advance`` (``FakeClock``, or a test's clock that acts when time passes)."""

    def monotonic(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class _Timer(asyncio.TimerHandle):
    """A timer that sorts by (when, tie-break rank, scheduling order): asyncio's compare
    ``when`` alone, and its heap pops equal ones in no particular order."""

    __slots__ = ("_key",)

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...],
                 loop: asyncio.AbstractEventLoop, context: contextvars.Context | None,
                 key: tuple[float, float, int]) -> None:
        super().__init__(when, callback, args, loop, context)
        self._key = key

    def __lt__(self, other: object) -> bool:
        if isinstance(other, _Timer):
            return self._key < other._key
        return NotImplemented


class _VirtualSelector(selectors.DefaultSelector):
    """Polls the real file descriptors (the loop's self-pipe, woken by threads) without
    blocking, then asks the loop how long to wait for real."""

    def __init__(self, idle: Callable[[float | None], float | None]) -> None:
        super().__init__()
        self._idle = idle

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        return super().select(self._idle(timeout))


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on ``clock``'s virtual time (see the module docstring)."""

    def __init__(self, clock: VirtualClock | Advancing, *, seed: int | None = None) -> None:
        self.clock = clock
        self._rng = None if seed is None else random.Random(seed)
        self._sequence = itertools.count()
        self._threads: set[asyncio.Future[Any]] = set()
        self._created: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = (
            weakref.WeakKeyDictionary())
        #: Closing: wait for real for threads it did not start (shutdown_default_executor's).
        self._closing = False
        super().__init__(_VirtualSelector(self._idle))

    def time(self) -> float:
        return self.clock.monotonic()

    def call_at(self, when: float, callback: Callable[[Unpack[Ts]], object], *args: *Ts,
                context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        # asyncio's call_at, with a timer that breaks ties; _scheduled is asyncio's heap.
        self._check_closed()  # type: ignore[attr-defined]
        rank = 0.0 if self._rng is None else self._rng.random()
        timer = _Timer(when, callback, args, self, context, (when, rank, next(self._sequence)))
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def create_task(self, coro: Coroutine[Any, Any, T] | Generator[Any, None, T], *,
                    name: object = None,
                    context: contextvars.Context | None = None) -> asyncio.Task[T]:
        task: asyncio.Task[T] = super().create_task(coro, name=name, context=context)
        self._created[task] = next(self._sequence)
        return task

    def run_in_executor(self, executor: Executor | None, func: Callable[[Unpack[Ts]], T],
                        *args: *Ts) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._threads.add(future)
        future.add_done_callback(self._threads.discard)
        return future

    def tasks_in_creation_order(self) -> list[asyncio.Task[Any]]:
        """The loop's unfinished tasks, oldest first (``asyncio.all_tasks`` is a set)."""
        return sorted(asyncio.all_tasks(self),
                      key=lambda t: self._created.get(t, float("inf")))

    def _idle(self, timeout: float | None) -> float | None:
        """Nothing is ready: how long the selector waits for real, after moving time."""
        if self._threads:
            return None  # a thread will wake the loop; virtual time stands still meanwhile
        if timeout is not None:
            # _run_once dropped the cancelled timers off the top of asyncio's heap: this is
            # the next one due. Time moves to its exact ``when``, never by a computed sum.
            when = self._scheduled[0]._when  # type: ignore[attr-defined]
            if isinstance(self.clock, VirtualClock):
                self.clock._move_to(when)
            else:
                self.clock.advance(when - self.clock.monotonic())
            return 0
        if self._closing:
            return None
        stuck = "; ".join(repr(t) for t in self.tasks_in_creation_order()[:5])
        raise RuntimeError(f"deadlock on virtual time: no callback ready, no timer, no thread "
                           f"out, so no task can ever resume ({stuck})")


def run_virtual(main: Coroutine[Any, Any, T], *, clock: VirtualClock | None = None,
                start: float | None = None, seed: int | None = None) -> T:
    """Run ``main`` to its end on a new ``VirtualEventLoop`` and return its result (or raise
    its exception), as ``asyncio.run`` does on a real loop; the loop is closed afterwards.

    ``clock``: the time to run on (build the venue and the executor on it before); a
    clock run on again goes on from where it stood. Else a new ``VirtualClock(start)``.
    ``seed``: shuffle timers due at the same instant (None: in the order scheduled).
    Tasks still running at the end are cancelled in the order they were created."""
    if _running_loop() is not None:
        main.close()
        raise RuntimeError("run_virtual() cannot be called from a running event loop")
    if clock is not None and start is not None:
        main.close()
        raise TypeError("run_virtual() takes a clock or a start, not both")
    loop = VirtualEventLoop(clock or VirtualClock(DEFAULT_START if start is None else start),
                            seed=seed)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop._closing = True
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _cancel_leftovers(loop: VirtualEventLoop) -> None:
    """asyncio.run's clean-up of the tasks still running, in creation order."""
    leftovers = loop.tasks_in_creation_order()
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    for task in leftovers:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception during run_virtual() "
                                         "shutdown", "exception": task.exception(),
                                         "task": task})
