"""Recovering a journal with 10,000 open orders against the paper venue, zero latency.

Target: under 2 s, with the exchange calls per order printed. Recovery asks for each
market's open orders once instead of fetching every order by itself (rate limits).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import line, verdict

from fsm_executor import Acknowledge, FakeClock, OrderBook, OrderSpec, Submit, TradeExecutor
from fsm_executor.venue._paper import PaperExchange

ORDERS = 10_000


def main() -> None:
    clock = FakeClock()
    venue = PaperExchange(clock, seed=1, balances={"USDT": "1e12", "BTC": "1e6", "ETH": "1e6",
                                                   "SOL": "1e6"})
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "j.db"
        with OrderBook.open(path, clock=clock) as book:
            for i in range(ORDERS):
                cid = f"fsmx{i:012d}"
                # Resting under the market: they stay open while the bot is down.
                price = "27000" if i % 2 else "1800"
                symbol = "BTC/USDT" if i % 2 else "ETH/USDT"
                book.create(OrderSpec(cid, symbol, "buy", "limit", "0.01", price, f"s{i}"))
                book.apply(cid, Submit())
                placed = venue.create_order(symbol, "limit", "buy", 0.01, float(price),
                                            {"clientOrderId": cid})
                book.apply(cid, Acknowledge(placed["id"]))
        clock.advance(60)  # down for a minute
        start = time.perf_counter()
        executor = TradeExecutor(venue, path, clock=clock, seed=1)
        opened = time.perf_counter() - start
        report = executor.recover()
        total = time.perf_counter() - start
        executor.close()
    assert report.checked == ORDERS and not report.in_doubt
    print(f"recovery of {ORDERS:,} open orders (paper venue, zero latency)")
    line("open the journal (replay into the book)", f"{opened:.2f} s")
    line("recover: total (target < 2 s)", f"{total:.2f} s", verdict(total < 2))
    line("exchange calls", f"{report.exchange_calls}",
         f"{report.exchange_calls / ORDERS:.4f} per order")


if __name__ == "__main__":
    main()
