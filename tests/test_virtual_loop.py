"""Virtual time for asyncio: timers fire at once, at their exact times, in a fixed order;
the clock, the loop and asyncio's sleeps and timeouts read one time; nothing waits for real."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from fsm_executor.venue._virtual_loop import (
    DEFAULT_START,
    VirtualClock,
    VirtualEventLoop,
    run_virtual,
)

#: Where a VirtualClock's monotonic time starts.
MONO = 1_000.0


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def test_a_thousand_sleepers_wake_in_virtual_order_at_their_exact_times_at_once() -> None:
    clock = VirtualClock()
    rng = random.Random(11)
    # Milliseconds over an hour, so that some sleepers share a wake-up time.
    durations = [rng.randrange(0, 3_600_000, 1_000) / 1000 for _ in range(1000)]
    assert len(set(durations)) < len(durations)
    woke: list[tuple[int, float, float]] = []

    async def sleeper(i: int) -> None:
        await asyncio.sleep(durations[i])
        woke.append((i, loop_time(), clock.now()))

    async def main() -> float:
        await asyncio.gather(*(sleeper(i) for i in range(1000)))
        return loop_time()

    started = time.perf_counter()
    end = run_virtual(main(), clock=clock)
    real = time.perf_counter() - started

    # Virtual order; sleepers due at the same instant in the order they went to sleep.
    assert [i for i, _, _ in woke] == sorted(range(1000), key=lambda i: (durations[i], i))
    assert all(mono == MONO + durations[i] for i, mono, _ in woke)  # exact, not approximate
    assert all(wall == pytest.approx(DEFAULT_START + durations[i], abs=1e-6)
               for i, _, wall in woke)
    assert end == MONO + max(durations) == clock.monotonic()
    assert real < 2.0  # an hour of virtual time; about 0.1 s of real time here


def test_time_never_goes_back_for_the_loop_nor_the_clock() -> None:
    clock = VirtualClock()
    program = random.Random(3)
    seen: list[tuple[float, float]] = []

    async def wanderer(steps: list[float]) -> None:
        for step in steps:
            seen.append((loop_time(), clock.now()))
            await asyncio.sleep(step)
            seen.append((loop_time(), clock.now()))

    async def main() -> None:
        await asyncio.gather(*(wanderer([program.choice([0, 0.001, 0.5, 2, 7.25])
                                         for _ in range(30)]) for _ in range(50)))

    run_virtual(main(), clock=clock)
    monos, walls = [m for m, _ in seen], [w for _, w in seen]
    assert monos == sorted(monos) and walls == sorted(walls)
    assert monos[-1] > monos[0]


def test_a_task_awaiting_a_future_that_another_task_completes_resumes_at_that_time() -> None:
    async def main() -> tuple[str, float]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def completer() -> None:
            await asyncio.sleep(5)
            future.set_result("done")

        task = asyncio.create_task(completer())
        result = await future
        await task
        return result, loop_time()

    assert run_virtual(main()) == ("done", MONO + 5)


def test_asyncio_timeouts_fire_on_virtual_time() -> None:
    async def main() -> list[float]:
        fired = []
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(3600), timeout=3)
        fired.append(loop_time())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await asyncio.Event().wait()
        fired.append(loop_time())
        return fired

    assert run_virtual(main()) == [MONO + 3, MONO + 4.5]


def test_an_exception_propagates_out_of_run_virtual_and_the_loop_is_closed() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def failing() -> None:
        await asyncio.sleep(1)
        raise ValueError("inner")

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        await asyncio.gather(asyncio.sleep(2), failing())

    with pytest.raises(ValueError, match="inner"):
        run_virtual(main())
    assert isinstance(loops[0], VirtualEventLoop) and loops[0].is_closed()


def test_the_loop_is_closed_after_a_run_and_leftover_tasks_are_cancelled_in_order() -> None:
    loops: list[asyncio.AbstractEventLoop] = []
    cancelled: list[int] = []

    async def lingering(i: int) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise

    async def main() -> str:
        loops.append(asyncio.get_running_loop())
        for i in range(20):
            asyncio.create_task(lingering(i))
        await asyncio.sleep(1)
        return "result"

    assert run_virtual(main()) == "result"
    assert loops[0].is_closed()
    assert cancelled == list(range(20))


def test_same_program_same_interleaving_and_times_and_a_seed_shuffles_only_ties() -> None:
    def trace(seed: int | None) -> list[tuple[int, float]]:
        program = random.Random(99)
        plans = [[program.choice([0, 0.25, 0.5, 1]) for _ in range(10)] for _ in range(40)]
        events: list[tuple[int, float]] = []

        async def worker(i: int) -> None:
            for step in plans[i]:
                await asyncio.sleep(step)
                events.append((i, loop_time()))

        async def main() -> None:
            await asyncio.gather(*(worker(i) for i in range(40)))

        run_virtual(main(), seed=seed)
        return events

    fifo, seeded = trace(None), trace(7)
    assert trace(None) == fifo and trace(7) == seeded
    assert trace(8) != seeded and seeded != fifo  # ties fall otherwise...
    assert sorted(trace(8)) == sorted(seeded) == sorted(fifo)  # ...at the same times
    assert [t for _, t in seeded] == sorted(t for _, t in seeded)


def test_the_clock_reads_the_loop_time_and_its_blocking_sleep_only_runs_outside_a_loop() -> None:
    clock = VirtualClock(start=5_000.0)
    clock.sleep(10)  # before the run: time moves, as FakeClock's
    assert (clock.now(), clock.monotonic()) == (5_010.0, MONO + 10)

    async def main() -> tuple[float, float]:
        with pytest.raises(RuntimeError, match="await asyncio.sleep"):
            clock.sleep(1)
        clock.jump(-60)  # the wall clock set back: monotonic time stays
        await asyncio.sleep(2)
        return clock.now(), loop_time()

    assert run_virtual(main(), clock=clock) == (4_952.0, MONO + 12)
    # A clock run on again goes on from where it stood.
    assert run_virtual(asyncio.sleep(1, result="again"), clock=clock) == "again"
    assert clock.monotonic() == MONO + 13


def test_a_thread_takes_no_virtual_time_and_the_loop_waits_for_it() -> None:
    order: list[str] = []

    async def timer() -> None:
        await asyncio.sleep(0.001)
        order.append(f"timer at {loop_time() - MONO:.3f}")

    def work() -> str:
        time.sleep(0.02)  # real time, in the thread: 20 times the timer's delay
        return "done"

    async def main() -> None:
        task = asyncio.create_task(timer())
        await asyncio.sleep(0)  # the timer is scheduled before the thread starts
        result = await asyncio.to_thread(work)
        order.append(f"thread {result} at {loop_time() - MONO:.3f}")
        await task

    run_virtual(main())
    # The timer was due 1 ms after the thread started, yet it waited for the thread.
    assert order == ["thread done at 0.000", "timer at 0.001"]


def test_a_deadlock_raises_at_once_instead_of_hanging() -> None:
    async def stuck() -> None:
        await asyncio.get_running_loop().create_future()

    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="deadlock on virtual time.*stuck"):
        run_virtual(stuck())
    assert time.perf_counter() - started < 1.0


def test_run_virtual_refuses_a_running_loop_and_a_clock_with_a_start() -> None:
    async def nested() -> Any:
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="running event loop"):
            run_virtual(coro)

    asyncio.run(nested())
    with pytest.raises(TypeError, match="not both"):
        run_virtual(asyncio.sleep(0), clock=VirtualClock(), start=1.0)
    assert run_virtual(asyncio.sleep(0, result=7), start=1.0) == 7
