"""AsyncTradeExecutor on virtual time: many orders in flight at once, one driver per order,
group commit, one listing per market, background following, cancel, close and restart.
Nothing sleeps for real: the event loop's time is the executor's clock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from executor_tools import assert_money_matches, triggers

from fsm_executor import AsyncTradeExecutor, ExecutorClosed, OrderInDoubt, State, audit, replay
from fsm_executor.exchange._calls import Call
from fsm_executor.venue._paper_async import AsyncPaperExchange
from fsm_executor.venue._virtual_loop import VirtualClock, run_virtual

T = TypeVar("T")
LATENCY = 0.02
CONFIG = {"order_timeout_seconds": 10, "poll_interval_seconds": 1, "jitter": 0,
          "retry_delay_seconds": 0.5, "max_retries": 2}
MARKETS = {"BTC/USDT": "0.001", "ETH/USDT": "0.01", "SOL/USDT": "0.1"}


def signals(venue: AsyncPaperExchange, n: int, offset: str, prefix: str = "s",
            kinds: tuple[str, ...] = ("limit", "market")) -> list[dict[str, str]]:
    """``n`` buy signals round the markets, at ``offset`` times the mid (above 1: they
    fill at once; below: they rest)."""
    out = []
    for i in range(n):
        symbol = list(MARKETS)[i % len(MARKETS)]
        out.append({"id": f"{prefix}{i}", "symbol": symbol, "side": "buy",
                    "amount": MARKETS[symbol], "order_type": kinds[i % len(kinds)],
                    "price": str(venue.mid(symbol) * Decimal(offset))})
    return out


def spy(executor: AsyncTradeExecutor) -> Counter[str]:
    calls: Counter[str] = Counter()
    make = executor.adapter.make

    async def counted(call: Call) -> Any:
        calls[call.method] += 1
        return await make(call)

    executor.adapter.make = counted  # type: ignore[method-assign]
    return calls


class World:
    """A virtual clock, the async venue on it, and executors opened on one journal."""

    def __init__(self, path: Path, **venue: Any) -> None:
        self.clock = VirtualClock()
        self.path = path
        self.venue = AsyncPaperExchange(self.clock, seed=5, latency=LATENCY, **venue)

    def executor(self, **config: Any) -> AsyncTradeExecutor:
        return AsyncTradeExecutor(self.venue, self.path, {**CONFIG, **config},
                                  clock=self.clock, seed=5)

    def run(self, scenario: Callable[[AsyncTradeExecutor], Coroutine[Any, Any, T]],
            **config: Any) -> T:
        async def main() -> T:
            async with self.executor(**config) as ex:
                return await scenario(ex)
        return run_virtual(main(), clock=self.clock)


@pytest.fixture
def world(journal_path: Path) -> World:
    return World(journal_path)


def test_a_thousand_signals_gathered_end_together_each_placed_once(world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        start = world.clock.monotonic()
        orders = await asyncio.gather(*(ex.execute_signal(s) for s in signals(
            world.venue, 1000, "1.001", kinds=("market",))))
        return orders, world.clock.monotonic() - start, ex.adapter.calls

    orders, took, calls = world.run(scenario)
    assert len({o.client_order_id for o in orders}) == 1000
    assert all(o.state is State.FILLED for o in orders)
    # All at once: a few round trips, not a thousand of them one after another.
    assert took < 0.5
    for order in orders:
        assert len(world.venue.orders_for_client_id(order.client_order_id)) == 1
        assert_money_matches(world.venue.venue, order)
    assert audit(world.path).ok
    assert replay(world.path) == {o.client_order_id: o for o in orders}


def test_submit_settles_the_placement_and_the_order_is_followed_to_its_end(
        world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        signal = signals(world.venue, 1, "0.999", kinds=("limit",))[0]
        placed = await ex.submit(signal)
        placed_at = world.clock.monotonic()
        assert placed.state is State.SUBMITTED
        assert [o.client_order_id for o in ex.pending_orders] == [placed.client_order_id]
        # The market comes down to it while nobody waits on it.
        await asyncio.sleep(2)
        world.venue.set_mid("BTC/USDT", world.venue.mid("BTC/USDT") * Decimal("0.99"))
        ended = await ex.wait(placed.client_order_id)
        return placed_at, ended, ex.pending_orders

    placed_at, ended, pending = world.run(scenario, order_timeout_seconds=60)
    assert placed_at - 1_000.0 == pytest.approx(LATENCY)  # one round trip: the create
    assert ended.state is State.FILLED and pending == []
    assert_money_matches(world.venue.venue, ended)


def test_waiting_again_on_an_order_that_just_ended_returns_it_at_once(world: World) -> None:
    # The follower had ended, but was still listed until its done-callback ran: the second
    # wait() registered a waiter nobody would ever answer.
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        placed = await ex.submit(signals(world.venue, 1, "0.999", kinds=("limit",))[0])
        await asyncio.sleep(1)
        world.venue.set_mid("BTC/USDT", world.venue.mid("BTC/USDT") * Decimal("0.99"))
        first = await ex.wait(placed.client_order_id)  # woken as its follower ends
        return first, await ex.wait(placed.client_order_id)

    first, again = world.run(scenario, order_timeout_seconds=60)
    assert first.state is State.FILLED and again == first


def test_the_same_signal_submitted_twice_at_once_places_one_order(world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        signal = signals(world.venue, 1, "0.999", kinds=("limit",))[0]
        return await asyncio.gather(ex.submit(signal), ex.submit(signal), ex.submit(signal))

    orders = world.run(scenario)
    assert len({o.client_order_id for o in orders}) == 1
    assert len(world.venue.all_orders()) == 1


def test_resting_orders_are_polled_with_one_listing_per_market(world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        await asyncio.gather(*(ex.submit(s) for s in signals(world.venue, 60, "0.9",
                                                               kinds=("limit",))))
        await asyncio.sleep(6)  # Binance lists a new order only after a lag (5 s here)
        calls = spy(ex)
        await asyncio.sleep(5)
        return calls, len(ex.pending_orders)

    calls, pending = world.run(scenario, order_timeout_seconds=60)
    assert pending == 60
    # Five polls of three markets: one listing each, whatever the orders there.
    assert calls == {"fetch_open_orders": 5 * 3}


def test_rows_of_orders_moving_together_commit_in_one_transaction(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    appends: list[int] = []

    async def scenario(ex: AsyncTradeExecutor) -> Any:
        append = ex.book.journal.append
        monkeypatch.setattr(ex.book.journal, "append",
                            lambda rows, ts, *more: appends.append(len(rows))
                            or append(rows, ts, *more))
        return await asyncio.gather(*(ex.submit(s) for s in signals(world.venue, 50, "0.9",
                                                                      kinds=("limit",))))

    orders = world.run(scenario)
    assert all(o.state is State.SUBMITTED for o in orders)
    # Fifty submit rows in one transaction before any create left, then fifty
    # acknowledgements in one; the create rows are one per order.
    assert appends.count(50) == 2
    assert audit(world.path).ok


def test_cancel_while_followed_and_cancel_all(world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        orders = await asyncio.gather(*(ex.submit(s) for s in signals(
            world.venue, 6, "0.9", kinds=("limit",))))
        await asyncio.sleep(1.5)
        first = await ex.cancel(orders[0].client_order_id)
        rest = await ex.cancel_all()
        return first, rest, ex.pending_orders

    first, rest, pending = world.run(scenario)
    assert first.state is State.CANCELLED
    assert [o.state for o in rest] == [State.CANCELLED] * 5 and pending == []
    assert all(o["status"] == "canceled" for o in world.venue.all_orders())
    assert audit(world.path).ok


def test_a_cancel_while_the_create_is_in_flight_waits_for_its_answer(world: World) -> None:
    # One driver per order: a cancel driven beside the placement took the create in
    # flight for lost (lose_answer), found nothing by lookup yet and raised OrderInDoubt.
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        placing = asyncio.ensure_future(ex.submit(signals(world.venue, 1, "0.9",
                                                          kinds=("limit",))[0]))
        await asyncio.sleep(LATENCY / 4)  # the create is on its way
        [order] = ex.pending_orders
        assert order.state is State.PENDING_SUBMIT
        return await ex.cancel(order.client_order_id), await placing

    cancelled, placed = world.run(scenario)
    assert cancelled.state is State.CANCELLED
    assert placed.state is State.SUBMITTED  # the placement settled first, as it was
    assert "lose_answer" not in triggers(world.path, cancelled.client_order_id)
    assert [o["status"] for o in world.venue.all_orders()] == ["canceled"]
    assert audit(world.path).ok


def test_the_exchange_down_raises_order_in_doubt_from_wait_and_it_is_still_followed(
        world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        order = await ex.submit(signals(world.venue, 1, "0.9", kinds=("limit",))[0])
        world.venue.inject("fetch_order", "unavailable", times=3)
        world.venue.inject("fetch_open_orders", "unavailable", times=3)
        await asyncio.sleep(10)  # past the timeout: the cancel's confirmation fails
        world.venue.inject("cancel_order", "unavailable", times=3)
        with pytest.raises(OrderInDoubt):
            await ex.wait(order.client_order_id)
        doubts = ex.doubts
        # Still followed (its cancel budget spent, nothing more is sent): waiting on it
        # again says so again. recover() renews the budget, and cancels it.
        await asyncio.sleep(CONFIG["order_timeout_seconds"] * 3)
        with pytest.raises(OrderInDoubt):
            await ex.wait(order.client_order_id)
        assert [o["status"] for o in world.venue.all_orders()] == ["open"]
        report = await ex.recover()
        return order, doubts, report.in_doubt, ex.book.state_of(order.client_order_id)

    order, doubts, in_doubt, state = world.run(scenario)
    assert list(doubts) == [order.client_order_id]
    assert not in_doubt and state is State.CANCELLED
    assert [o["status"] for o in world.venue.all_orders()] == ["canceled"]


def test_a_follower_stopped_by_the_journal_failing_tells_its_waiters_instead_of_hanging(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    async def scenario(ex: AsyncTradeExecutor) -> Any:
        order = await ex.submit(signals(world.venue, 1, "0.9", kinds=("limit",))[0])
        waiting = asyncio.ensure_future(ex.wait(order.client_order_id))
        await asyncio.sleep(0)  # waiting before the follower stops
        monkeypatch.setattr(ex.book, "apply_many", disk_full)
        world.venue.set_mid("BTC/USDT", world.venue.mid("BTC/USDT") * Decimal("0.8"))
        results = await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 60)
        with pytest.raises(sqlite3.OperationalError):  # and so does a later wait()
            await ex.wait(order.client_order_id)
        monkeypatch.undo()
        return results

    [raised] = world.run(scenario)
    assert isinstance(raised, sqlite3.OperationalError)


class Abort(BaseException):
    """Not an Exception: hypothesis' StopTest (a test's generated data ran out), a
    framework's exit."""


def test_a_follower_ended_by_a_base_exception_hands_it_to_its_waiters(world: World) -> None:
    # The property suite's spin: hypothesis' StopTest ended a follower, which handed only
    # Exceptions to its waiters, so execute_signal() waited for ever, while an order whose
    # cancel budget was spent, watched without sending anything, moved virtual time on.
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        watched, order = signals(world.venue, 2, "0.9", kinds=("limit",))
        stuck = await ex.submit(watched)
        world.venue.inject("fetch_order", "unavailable", times=3)
        world.venue.inject("fetch_open_orders", "unavailable", times=3)
        await asyncio.sleep(10)  # past the timeout: the cancel's confirmation fails
        world.venue.inject("cancel_order", "unavailable", times=3)
        with pytest.raises(OrderInDoubt):
            await ex.wait(stuck.client_order_id)
        placed = await ex.submit(order)
        make = ex.adapter.make

        async def aborting(call: Call) -> Any:
            if call.method in ("fetch_order", "fetch_open_orders"):
                raise Abort
            return await make(call)

        ex.adapter.make = aborting  # type: ignore[method-assign]
        async with asyncio.timeout(86_400):  # a hang fails instead
            await ex.wait(placed.client_order_id)

    with pytest.raises(Abort):
        world.run(scenario)


def test_a_wait_on_an_order_recover_brings_to_its_end_is_answered(world: World) -> None:
    # recover() stands every follower aside; an order it ended was not followed again, and
    # nothing answered a wait() on it.
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        placed = await ex.submit(signals(world.venue, 1, "0.999", kinds=("limit",))[0])
        waiting = asyncio.ensure_future(ex.wait(placed.client_order_id))
        await asyncio.sleep(1)
        world.venue.set_mid("BTC/USDT", world.venue.mid("BTC/USDT") * Decimal("0.99"))
        await asyncio.sleep(30)  # filled meanwhile, before the follower's next poll
        await ex.recover()
        async with asyncio.timeout(86_400):  # a hang fails instead
            return await waiting, ex.doubts

    ended, doubts = world.run(scenario, order_timeout_seconds=600, poll_interval_seconds=60)
    assert ended.state is State.FILLED and doubts == {}
    assert_money_matches(world.venue.venue, ended)


def test_an_order_in_doubt_recover_settles_is_in_doubt_no_more(world: World) -> None:
    # Not followed again once ended, it kept the doubt of its last follower, which wait()
    # raised.
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        world.venue.inject("create_order", "timeout_after")  # filled, its answer lost
        world.venue.inject("fetch_order", "unavailable", times=3)  # and its lookups
        signal = signals(world.venue, 1, "1.001", kinds=("market",))[0]
        with pytest.raises(OrderInDoubt):
            await ex.execute_signal(signal)
        await asyncio.sleep(6)  # Binance's lag: visible to lookups by now
        await ex.recover()
        return await ex.wait(ex.book.by_signal(signal["id"]).client_order_id), ex.doubts

    ended, doubts = world.run(scenario)
    assert ended.state is State.FILLED and doubts == {}


def test_closing_with_orders_in_flight_leaves_a_journal_the_next_run_recovers(
        world: World) -> None:
    async def first_run() -> Any:
        ex = world.executor()
        await ex.start()
        tasks = [asyncio.ensure_future(ex.submit(s))
                 for s in signals(world.venue, 30, "0.9", kinds=("limit",))]
        await asyncio.sleep(LATENCY / 4)  # the creates are on their way
        await ex.close(grace=0)  # cut short, as a crash would
        await asyncio.gather(*tasks, return_exceptions=True)

    run_virtual(first_run(), clock=world.clock)
    assert audit(world.path).ok

    async def second_run(ex: AsyncTradeExecutor) -> Any:
        return ex.stats["recovered_changes"], ex.last_recovery

    recovered, report = world.run(second_run)
    placed = world.venue.all_orders()
    journaled = {o.client_order_id: o for o in replay(world.path).values()}
    assert recovered > 0
    # The start's own recovery, reported where the bot can log it.
    assert report is not None and report.checked == 30 and len(report.changes) == recovered
    for one in placed:  # nothing the venue holds is unknown to the journal
        assert journaled[one["clientOrderId"]].exchange_order_id == one["id"]
    assert all(o.state is not State.PENDING_SUBMIT for o in journaled.values())
    assert audit(world.path).ok


def test_a_rate_limit_cools_every_order_down_together(world: World) -> None:
    async def scenario(ex: AsyncTradeExecutor) -> Any:
        await asyncio.gather(*(ex.submit(s) for s in signals(world.venue, 6, "0.9",
                                                               kinds=("limit",))))
        sent: list[float] = []
        make = ex.adapter.make

        async def stamped(call: Call) -> Any:
            sent.append(world.clock.monotonic())
            return await make(call)

        ex.adapter.make = stamped  # type: ignore[method-assign]
        # One market's listing meets the limit; the other markets' listings are answered
        # at the same moment, and their orders (not listed yet: Binance's lag) would be
        # fetched one by one at once.
        world.venue.inject("fetch_open_orders", "rate_limit")
        await asyncio.sleep(8)
        return sent

    sent = world.run(scenario, rate_limit_cooldown_seconds=5, order_timeout_seconds=60)
    limited = min(sent)  # the first listings, one of which met the limit
    # Nothing at all was sent to the exchange during the cool-down.
    assert not [t for t in sent[1:] if limited < t < limited + 5]
    assert len(sent) > 1


def test_same_seed_same_journal(tmp_path: Path) -> None:
    def journal(path: Path) -> list[tuple[str, str, str]]:
        world = World(path)

        async def scenario(ex: AsyncTradeExecutor) -> Any:
            await asyncio.gather(*(ex.execute_signal(s)
                                   for s in signals(world.venue, 30, "0.9995")))

        world.run(scenario)
        return [(o.client_order_id, o.state.value, str(o.filled))
                for o in replay(path).values()]

    assert journal(tmp_path / "a.db") == journal(tmp_path / "b.db")


def test_closing_lets_the_placements_under_way_settle_first(world: World) -> None:
    async def run() -> Any:
        ex = world.executor()
        await ex.start()
        tasks = [asyncio.ensure_future(ex.submit(s))
                 for s in signals(world.venue, 30, "0.9", kinds=("limit",))]
        await asyncio.sleep(LATENCY / 4)  # the creates are on their way
        await ex.close()
        return await asyncio.gather(*tasks, return_exceptions=True)

    placed = run_virtual(run(), clock=world.clock)
    assert [o.state for o in placed] == [State.SUBMITTED] * 30
    journaled = replay(world.path)
    assert {o.state for o in journaled.values()} == {State.SUBMITTED}
    assert len(world.venue.all_orders()) == 30
    assert audit(world.path).ok


def test_recovery_settles_the_orders_in_doubt_at_once_not_one_after_another(
        tmp_path: Path) -> None:
    def recovery_time(n: int) -> tuple[float, Any]:
        world = World(tmp_path / f"{n}.db")

        async def crash() -> None:
            ex = world.executor()
            await ex.start()
            tasks = [asyncio.ensure_future(ex.submit(s))
                     for s in signals(world.venue, n, "0.9", kinds=("limit",))]
            await asyncio.sleep(LATENCY / 4)  # the creates are still on their way
            await ex.close(grace=0)  # cut short: none reaches the venue
            await asyncio.gather(*tasks, return_exceptions=True)

        async def restart() -> tuple[float, Any]:
            ex = world.executor()
            start = world.clock.monotonic()
            await ex.start()  # recovers: each order looked up until its grace has passed
            spent = world.clock.monotonic() - start
            report = await ex.recover()
            await ex.close()
            return spent, report

        run_virtual(crash(), clock=world.clock)
        return run_virtual(restart(), clock=world.clock)

    one, _ = recovery_time(1)
    many, report = recovery_time(30)
    assert one > 5  # the visibility grace period: the lookups wait it out
    assert many < one * 1.5, f"30 orders in doubt took {many:.1f} s, one took {one:.1f} s"
    assert len(report.presumed_absent) == 30


def test_closing_tells_the_callers_still_waiting_that_it_closed(world: World) -> None:
    async def run() -> Any:
        ex = world.executor()
        await ex.start()
        resting = await ex.submit(signals(world.venue, 1, "0.9", kinds=("limit",))[0])
        waiting = asyncio.ensure_future(ex.wait(resting.client_order_id))
        placing = [asyncio.ensure_future(ex.submit(s))
                   for s in signals(world.venue, 3, "0.9", prefix="p", kinds=("limit",))]
        await asyncio.sleep(LATENCY / 4)  # the creates are on their way
        await ex.close(grace=0)
        outcomes = await asyncio.gather(waiting, *placing, return_exceptions=True)
        after = await asyncio.gather(ex.wait(resting.client_order_id),
                                     ex.submit({**signals(world.venue, 1, "0.9")[0],
                                                "id": "late"}),
                                     return_exceptions=True)
        return resting.client_order_id, outcomes, after

    cid, outcomes, after = run_virtual(run(), clock=world.clock)
    # Not CancelledError, which would tell a caller it was cancelled itself.
    assert all(isinstance(o, ExecutorClosed) for o in [*outcomes, *after]), outcomes
    assert outcomes[0].order_id == cid
    assert isinstance(outcomes[0], RuntimeError)  # what a closed executor raised before


def test_a_caller_cancelling_its_own_submit_is_cancelled_and_the_placement_goes_on(
        world: World) -> None:
    async def run() -> Any:
        ex = world.executor()
        await ex.start()
        signal = signals(world.venue, 1, "0.9", kinds=("limit",))[0]
        caller = asyncio.ensure_future(ex.submit(signal))
        await asyncio.sleep(LATENCY / 4)
        caller.cancel()
        outcome = await asyncio.gather(caller, return_exceptions=True)
        order = await ex.submit(signal)  # the same signal: the placement that went on
        await ex.close()
        return outcome, order

    (outcome,), order = run_virtual(run(), clock=world.clock)
    assert isinstance(outcome, asyncio.CancelledError)
    assert order.state is State.SUBMITTED and len(world.venue.all_orders()) == 1


def test_a_caller_cancelled_as_the_executor_closes_gets_its_own_cancellation(
        world: World) -> None:
    async def run() -> Any:
        ex = world.executor()
        await ex.start()
        signal = signals(world.venue, 1, "0.9", kinds=("limit",))[0]
        caller = asyncio.ensure_future(ex.submit(signal))
        await asyncio.sleep(LATENCY / 4)
        # The caller is cancelled in the very turn close() cuts its placement short.
        ex._placing[signal["id"]].add_done_callback(lambda _: caller.cancel())
        await ex.close(grace=0)
        return await asyncio.gather(caller, return_exceptions=True)

    (outcome,) = run_virtual(run(), clock=world.clock)
    # Swallowed into ExecutorClosed, it would break asyncio.timeout and TaskGroup.
    assert isinstance(outcome, asyncio.CancelledError)
