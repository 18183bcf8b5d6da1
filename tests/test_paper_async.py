"""The paper venue's async face: ccxt.async_support's interface, latency split around the
venue's action so concurrent requests interleave as on the wire, the sync venue's answers,
faults and ground truth, deterministic on virtual time, and closing."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import pytest

from fsm_executor import FakeClock, SystemClock
from fsm_executor.venue._paper import DEFAULT_MARKETS, METHODS, PaperExchange
from fsm_executor.venue._paper_async import AsyncPaperExchange
from fsm_executor.venue._virtual_loop import DEFAULT_START, VirtualClock, run_virtual

LATENCY = 0.02
#: Where a VirtualClock's monotonic time starts.
MONO = 1_000.0
#: Every fault that leaves the venue untouched, with the class it raises.
NOTHING_HAPPENS = [
    ("timeout_before", ccxt.RequestTimeout),
    ("unavailable", ccxt.ExchangeNotAvailable),
    ("rate_limit", ccxt.RateLimitExceeded),
    ("insufficient_funds", ccxt.InsufficientFunds),
    ("invalid_order", ccxt.InvalidOrder),
]
RATES = {"timeout_before": 0.05, "timeout_after": 0.1, "unavailable": 0.05,
         "rate_limit": 0.05, "cancel_race": 0.2}


def now_ms(clock: VirtualClock) -> int:
    return round(clock.now() * 1000)


def buy(venue: AsyncPaperExchange, cid: str, price: str = "29000") -> Awaitable[Any]:
    """A resting limit buy of BTC (below the touch)."""
    return venue.create_order("BTC/USDT", "limit", "buy", "0.001", price,
                              {"clientOrderId": cid})


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return "ok", call()
    except ccxt.BaseError as exc:
        return type(exc).__name__, str(exc)


async def async_outcome(call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return "ok", await call()
    except ccxt.BaseError as exc:
        return type(exc).__name__, str(exc)


# -- time and concurrency -------------------------------------------------------------------


def test_a_hundred_gathered_creates_take_one_latency_of_virtual_time() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY)

    async def main() -> list[dict[str, Any]]:
        return await asyncio.gather(*(buy(venue, f"c{i}") for i in range(100)))

    started = time.perf_counter()
    orders = run_virtual(main(), clock=clock)
    assert time.perf_counter() - started < 2.0
    assert clock.monotonic() == pytest.approx(MONO + LATENCY, abs=1e-9)  # not 100 x 20 ms
    # All arrived at once, half-way, and were placed in the order they were sent.
    assert [o["clientOrderId"] for o in orders] == [f"c{i}" for i in range(100)]
    assert [o["id"] for o in orders] == [str(1_000_001 + i) for i in range(100)]
    assert {o["timestamp"] for o in orders} == {round((DEFAULT_START + LATENCY / 2) * 1000)}
    assert venue.open_order_count() == 100


def test_the_venue_acts_on_arrival_so_a_later_request_can_overtake_an_answer() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY, visibility_lag=0.0)
    seen: list[tuple[str, int]] = []

    async def creator() -> None:
        await buy(venue, "first")
        seen.append(("create answered", now_ms(clock)))

    async def lister() -> None:
        await asyncio.sleep(0.005)  # sent after the create, arrives before its answer
        listed = await venue.fetch_open_orders()
        seen.append((f"listed {[o['clientOrderId'] for o in listed]}", now_ms(clock)))

    async def observer() -> None:
        await asyncio.sleep(0.009)
        seen.append((f"truth {venue.orders_for_client_id('first') != []}", now_ms(clock)))
        await asyncio.sleep(0.002)
        seen.append((f"truth {venue.orders_for_client_id('first') != []}", now_ms(clock)))

    async def main() -> None:
        await asyncio.gather(creator(), lister(), observer())

    run_virtual(main(), clock=clock)
    start = round(DEFAULT_START * 1000)
    assert seen == [("truth False", start + 9), ("truth True", start + 11),
                    ("create answered", start + 20), ("listed ['first']", start + 25)]


def test_answers_equal_the_sync_venues_for_the_same_seed_and_sequence() -> None:
    """The same script, one request at a time: the sync venue with its clock moved half the
    latency before each call and half after, and the async face at that latency."""
    program = random.Random(5)
    script: list[tuple[float, str, tuple[Any, ...]]] = []
    for i in range(120):
        spec = program.choice(DEFAULT_MARKETS)
        sym, cid = spec.symbol, f"c{program.randrange(max(i, 1))}"
        ref = {"BTC/USDT": 30000, "ETH/USDT": 2000, "SOL/USDT": 100}[sym]
        step = program.choice([
            ("create_order", (sym, "limit", program.choice(["buy", "sell"]),
                              str(spec.amount_tick * 1000),
                              str(ref + program.randrange(-20, 21) * spec.price_tick * 10),
                              {"clientOrderId": f"c{i}"})),
            ("create_order", (sym, "market", "sell", str(spec.amount_tick * 500), None,
                              {"clientOrderId": f"c{i}"})),
            ("fetch_order", ("", None, {"clientOrderId": cid})),
            ("cancel_order", ("", None, {"clientOrderId": cid})),
            ("fetch_open_orders", (sym,)), ("fetch_closed_orders", ()), ("fetch_orders", ()),
            ("fetch_my_trades", (sym,)), ("fetch_ticker", (sym,)),
            ("fetch_order_book", (sym, 3)), ("fetch_balance", ()),
        ])
        script.append((program.choice([0.0, 0.1, 0.5, 1.0, 3.0]), *step))
    options: dict[str, Any] = {"seed": 9, "faults": RATES, "volatility": 0.002}

    # The sync venue on a VirtualClock outside any loop: its sleep moves time exactly as the
    # loop's timers do, so both see bit-identical times.
    sync_clock = VirtualClock()
    sync = PaperExchange(sync_clock, **options)
    expected = []
    for gap, method, args in script:
        sync_clock.sleep(gap)
        sync_clock.sleep(LATENCY / 2)
        expected.append(outcome(lambda m=method, a=args: getattr(sync, m)(*a)))
        sync_clock.sleep(LATENCY / 2)

    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, latency=LATENCY, **options)

    async def main() -> list[Any]:
        got = []
        for gap, method, args in script:
            await asyncio.sleep(gap)
            got.append(await async_outcome(lambda m=method, a=args: getattr(venue, m)(*a)))
        return got

    answers = run_virtual(main(), clock=clock)
    assert answers == expected
    assert venue.fault_log == sync.fault_log and len(venue.fault_log) > 5
    assert {kind for kind, _ in answers} >= {"ok", "RequestTimeout", "OrderNotFound"}
    assert venue.all_orders() == sync.all_orders()
    assert clock.monotonic() == sync_clock.monotonic()


def concurrent_trace(seed: int | None) -> tuple[list[Any], list[Any], list[Any]]:
    """Ten traders at once, each sending and sleeping at random, with faults on."""
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=4, latency=LATENCY, faults=RATES, volatility=0.002)
    trace: list[Any] = []

    async def trader(n: int) -> None:
        rng = random.Random(n)
        for i in range(15):
            await asyncio.sleep(rng.choice([0, 0.01, 0.25, 1.0]))
            cid = f"t{n}-{i}"
            if rng.random() < 0.6:
                call = partial(buy, venue, cid, str(29990 + rng.randrange(0, 30)))
            else:
                call = partial(venue.cancel_order, "", None,
                               {"clientOrderId": f"t{n}-{rng.randrange(i + 1)}"})
            trace.append((cid, await async_outcome(call), clock.monotonic()))

    async def main() -> None:
        await asyncio.gather(*(trader(n) for n in range(10)))

    run_virtual(main(), clock=clock, seed=seed)
    return trace, venue.fault_log, venue.all_orders()


def test_concurrent_runs_are_deterministic_with_and_without_a_loop_seed() -> None:
    first = concurrent_trace(None)
    assert concurrent_trace(None) == first
    assert concurrent_trace(3) == concurrent_trace(3)
    assert len(first[1]) > 10 and len(first[2]) > 50


# -- faults ---------------------------------------------------------------------------------


def test_a_lost_answer_is_lost_after_the_venue_acted() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY)
    venue.inject("create_order", "timeout_after")

    async def main() -> float:
        with pytest.raises(ccxt.RequestTimeout):
            await buy(venue, "lost")
        return clock.monotonic()

    assert run_virtual(main(), clock=clock) == pytest.approx(MONO + LATENCY, abs=1e-9)
    truth = venue.order_truth(client_order_id="lost")
    assert truth.status == "open"
    assert venue.order_record(truth.id).created == round((DEFAULT_START + LATENCY / 2) * 1000)
    assert venue.fault_log == [("create_order", "timeout_after")]


@pytest.mark.parametrize(("fault", "error"), NOTHING_HAPPENS)
def test_a_fault_that_leaves_the_venue_untouched_is_raised_after_the_round_trip(
        fault: str, error: type[Exception]) -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY)
    venue.inject("create_order", fault)

    async def main() -> float:
        with pytest.raises(error):
            await buy(venue, "refused")
        return clock.monotonic()

    assert run_virtual(main(), clock=clock) == pytest.approx(MONO + LATENCY, abs=1e-9)
    assert venue.orders_for_client_id("refused") == []


def test_a_caller_cancelled_on_the_way_out_sent_nothing_on_the_way_back_lost_the_answer(
        ) -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(buy(venue, "unsent"), timeout=LATENCY / 4)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(buy(venue, "unanswered"), timeout=LATENCY * 3 / 4)

    run_virtual(main(), clock=clock)
    assert venue.orders_for_client_id("unsent") == []
    assert venue.order_truth(client_order_id="unanswered").status == "open"


# -- ccxt's face ----------------------------------------------------------------------------


def test_it_is_a_ccxt_async_exchange_sync_where_ccxts_is_sync() -> None:
    venue = AsyncPaperExchange(VirtualClock(), seed=1)
    assert isinstance(venue, ccxt.async_support.Exchange)
    base = ccxt.async_support.Exchange
    names = [n for n in dir(AsyncPaperExchange)
             if not n.startswith("_") and callable(getattr(base, n, None))]
    differing = [n for n in names if inspect.iscoroutinefunction(getattr(venue, n))
                 != inspect.iscoroutinefunction(getattr(base, n))]
    assert differing == []
    for name in (*METHODS, "load_markets", "fetch_markets", "close"):
        assert inspect.iscoroutinefunction(getattr(venue, name)), name
    for name in ("market", "amount_to_precision", "price_to_precision", "iso8601"):
        assert not inspect.iscoroutinefunction(getattr(venue, name)), name
    assert (venue.id, venue.precisionMode, venue.has["fetchOrders"]) == ("paper", ccxt.TICK_SIZE,
                                                                         True)
    assert venue.imitates == "binance"


def test_markets_load_as_ccxts_do_and_the_sync_helpers_then_work() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY)
    with pytest.raises(ccxt.ExchangeError, match="markets not loaded"):
        venue.market("BTC/USDT")

    async def main() -> set[str]:
        markets = await venue.load_markets()
        return set(markets)

    assert run_virtual(main(), clock=clock) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    assert clock.monotonic() == MONO  # offline: no latency, as for the sync venue
    assert venue.market("BTC/USDT")["id"] == "BTCUSDT"
    assert venue.amount_to_precision("BTC/USDT", 0.123456789) == "0.12345"
    assert venue.price_to_precision("BTC/USDT", 30000.127) == "30000.13"


def test_ground_truth_and_scripting_are_the_sync_venues_at_once() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY, visibility_lag=0.0)

    async def main() -> dict[str, Any]:
        return await venue.create_order("ETH/USDT", "market", "buy", "1", None,
                                        {"clientOrderId": "m"})

    order = run_virtual(main(), clock=clock)
    truth = venue.order_truth(order["id"])
    assert truth == venue.venue.order_truth(client_order_id="m") and truth.filled == 1
    assert venue.trade_record(truth.trades[0].id) == venue.venue.trade_record(truth.trades[0].id)
    assert venue.balance_of("ETH") == venue.venue.balance_of("ETH")
    assert venue.all_orders() == venue.venue.all_orders()
    venue.set_mid("SOL/USDT", "120")
    assert venue.mid("SOL/USDT") == 120 and venue.market_spec("SOL/USDT").symbol == "SOL/USDT"
    assert venue.venue_time() == venue.venue.venue_time()
    assert venue.fault_log is venue.venue.fault_log


# -- closing, and the clock ---------------------------------------------------------------


def test_closing_ends_requests_even_those_on_their_way_and_saves_the_venue(
        tmp_path: Path) -> None:
    clock = VirtualClock()
    state = tmp_path / "venue.db"
    venue = AsyncPaperExchange(clock, seed=1, latency=LATENCY, state_path=state)

    async def main() -> None:
        await buy(venue, "kept")
        on_its_way = asyncio.create_task(buy(venue, "never"))
        await asyncio.sleep(LATENCY / 4)
        await venue.close()
        with pytest.raises(ccxt.ExchangeClosedByUser):
            await on_its_way
        with pytest.raises(ccxt.ExchangeClosedByUser, match="closed by the user"):
            await venue.fetch_balance()

    run_virtual(main(), clock=clock)
    reopened = PaperExchange(clock, state_path=state)  # the file was closed, and saved
    assert [o["clientOrderId"] for o in reopened.all_orders()] == ["kept"]
    reopened.close()


def test_async_with_closes_the_venue() -> None:
    clock = VirtualClock()

    async def main() -> AsyncPaperExchange:
        async with AsyncPaperExchange(clock, seed=1, latency=LATENCY) as venue:
            await venue.fetch_ticker("BTC/USDT")
        with pytest.raises(ccxt.ExchangeClosedByUser):
            await venue.fetch_ticker("BTC/USDT")
        return venue

    assert run_virtual(main(), clock=clock).closed_by_user


def test_on_a_real_loop_with_the_system_clock_latency_is_real_and_concurrent() -> None:
    # The one test on real time: latency then is real, so it sleeps 20 ms.
    venue = AsyncPaperExchange(SystemClock(), seed=1, latency=LATENCY)

    async def main() -> tuple[float, list[dict[str, Any]]]:
        started = time.monotonic()
        tickers = await asyncio.gather(*(venue.fetch_ticker("BTC/USDT") for _ in range(10)))
        await venue.close()
        return time.monotonic() - started, tickers

    elapsed, tickers = asyncio.run(main())
    assert LATENCY <= elapsed < 5 * LATENCY * 10  # one latency, not ten
    assert len(tickers) == 10 and tickers[0]["bid"] < tickers[0]["ask"]


def test_a_clock_that_is_not_the_loops_is_refused() -> None:
    fake = AsyncPaperExchange(FakeClock(), seed=1)
    with pytest.raises(RuntimeError, match="not the event loop's"):
        asyncio.run(fake.fetch_balance())
    other = AsyncPaperExchange(VirtualClock(), seed=1)
    with pytest.raises(RuntimeError, match="not the event loop's"):
        run_virtual(other.fetch_balance())  # run on a clock of its own
    with pytest.raises(ValueError, match="latency"):
        AsyncPaperExchange(VirtualClock(), latency=-1)
