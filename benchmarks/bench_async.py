"""Many orders in flight at once on the asyncio executor (AsyncTradeExecutor).

1. A burst: 1,000 market orders at once at 20 ms venue latency, on a real event loop with
   the real clock, through the async paper venue (Binance's manners, its lags off so that
   the executor, not the venue's lag, is measured). Wall time against the 2 s target and
   against the floor measured in the same run: the same 1,000 creates sent straight to
   the venue, no executor, no journal. Requests per order.
2. Steady state: resting orders over 5 markets, venue requests per second once every order
   is placed and listed (virtual time: a count, not a speed), for 1,000 orders and 200:
   proportional to markets, not orders. Polled one by one it would be one per order.
3. The journal under that burst: rows committed per second of commit time, against the
   raw SQLite floors of bench_group_commit.py (a row per transaction; a moment's rows in
   one), measured in the same run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import line, verdict
from bench_group_commit import median, raw

from fsm_executor import AsyncTradeExecutor, SystemClock
from fsm_executor.venue._paper import MarketSpec
from fsm_executor.venue._paper_async import AsyncPaperExchange
from fsm_executor.venue._virtual_loop import VirtualClock, run_virtual

BURST = 1_000
LATENCY = 0.02
TARGET_SECONDS = 2.0
MARKETS = tuple(MarketSpec(f"C{i}/USDT", f"C{i}", "USDT", "0.01", "0.001", "0.001", "1",
                           str(100 + 10 * i)) for i in range(5))
BALANCES = {"USDT": Decimal(10**9), **{m.base: Decimal(10**6) for m in MARKETS}}
CONFIG = {"order_timeout_seconds": 3_600, "poll_interval_seconds": 1, "jitter": 0.0}


def venue(clock: Any) -> AsyncPaperExchange:
    return AsyncPaperExchange(clock, seed=1, latency=LATENCY, markets=MARKETS,
                              balances=BALANCES, visibility_lag=0.0, trade_lag=0.0,
                              fill_probability=1.0)


def signals(n: int, offset: str, kind: str) -> list[dict[str, str]]:
    return [{"id": f"s{i}", "symbol": MARKETS[i % len(MARKETS)].symbol, "side": "buy",
             "amount": "0.1", "order_type": kind,
             "price": str(MARKETS[i % len(MARKETS)].mid * Decimal(offset))} for i in range(n)]


class Commits:
    """Counts the rows the executor commits and the time spent committing them."""

    def __init__(self, executor: AsyncTradeExecutor) -> None:
        self.rows, self.seconds = 0, 0.0
        for name in ("apply_many", "apply_all", "create"):
            setattr(executor.book, name, self._timed(getattr(executor.book, name)))

    def _timed(self, commit: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            head = self._head(commit)
            start = time.perf_counter()
            result = commit(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.rows += self._head(commit) - head
            return result
        return timed

    @staticmethod
    def _head(commit: Any) -> int:
        return int(commit.__self__.journal.head.split(":")[0])


def burst(tmp: Path) -> tuple[float, float, Commits]:
    """Wall seconds for BURST market orders at once through the executor, requests per
    order, and the journal's commits meanwhile."""
    async def main() -> tuple[float, float, Commits]:
        clock = SystemClock()
        exchange = venue(clock)
        async with AsyncTradeExecutor(exchange, tmp / "burst.db", CONFIG, clock=clock) as ex:
            commits = Commits(ex)
            start = time.perf_counter()
            orders = await asyncio.gather(*(ex.execute_signal(s)
                                            for s in signals(BURST, "1", "market")))
            took = time.perf_counter() - start
            assert all(o.is_terminal for o in orders)
            return took, ex.adapter.calls / BURST, commits

    return asyncio.run(main())


def floor() -> float:
    """The same creates sent straight to the venue: what latency and the venue cost."""
    async def main() -> float:
        exchange = venue(SystemClock())
        await exchange.load_markets()
        start = time.perf_counter()
        await asyncio.gather(*(exchange.create_order(s["symbol"], "market", "buy", "0.1",
                                                     None, {"clientOrderId": f"f{i}"})
                               for i, s in enumerate(signals(BURST, "1", "market"))))
        return time.perf_counter() - start

    return asyncio.run(main())


def steady(tmp: Path, orders: int) -> float:
    """Venue requests per second once ``orders`` resting orders are placed and listed."""
    clock = VirtualClock()

    async def main() -> float:
        exchange = venue(clock)
        async with AsyncTradeExecutor(exchange, tmp / f"steady{orders}.db", CONFIG,
                                      clock=clock) as ex:
            await asyncio.gather(*(ex.submit(s) for s in signals(orders, "0.9", "limit")))
            await asyncio.sleep(5)
            calls, start = ex.adapter.calls, clock.monotonic()
            await asyncio.sleep(60)
            return (ex.adapter.calls - calls) / (clock.monotonic() - start)

    return run_virtual(main(), clock=clock)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        floors = [floor() for _ in range(3)]
        runs = []
        for i in range(3):
            (tmp / f"r{i}").mkdir()
            runs.append(burst(tmp / f"r{i}"))
        took, per_order, commits = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
        floor_s = median(floors)
        single = median([raw(tmp, f"single{i}", grouped=False) for i in range(3)])
        batched = median([raw(tmp, f"batched{i}", grouped=True) for i in range(3)])
        thousand, two_hundred = steady(tmp, 1_000), steady(tmp, 200)
    print(f"asyncio executor, {BURST:,} market orders at once, {LATENCY * 1000:g} ms latency")
    line("floor: the creates alone, straight to the venue", f"{floor_s:.2f} s")
    line("executor: placed, filled, trades listed", f"{took:.2f} s",
         f"{took / floor_s:.1f}x its floor; target {TARGET_SECONDS:g} s: "
         f"{verdict(took <= TARGET_SECONDS)}")
    line("one after another it would take", f"{BURST * per_order * LATENCY:.0f} s",
         f"{per_order:.2f} requests per order")
    rate = commits.rows / commits.seconds
    line("journaled rows per second of commit time", f"{rate:,.0f}/s",
         f"{commits.rows:,} rows")
    line("floor: a raw INSERT+COMMIT per row", f"{single:,.0f}/s",
         f"journal under load: {rate / single:.1f}x this floor")
    line("floor: the rows of a moment in one transaction", f"{batched:,.0f}/s",
         f"{batched / rate:.1f}x above the journal under load")
    print("steady state, resting orders over 5 markets, polled every second")
    line("venue requests per second, 1,000 orders", f"{thousand:.1f}/s",
         f"polled one by one: {1_000:,}/s")
    line("venue requests per second, 200 orders", f"{two_hundred:.1f}/s",
         f"{thousand / two_hundred:.2f}x for 5x the orders")


if __name__ == "__main__":
    main()
