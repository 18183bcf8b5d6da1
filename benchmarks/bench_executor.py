"""The layer's own cost for a complete order lifecycle on the paper venue, zero latency.

A limit order is created, acknowledged, partially filled and filled over a few polls;
the time spent inside the paper venue is measured and taken out, and what remains is split
into journal (append + commit), machine (planning each transition) and the rest.
Target: at most 1 ms per order.

Measured twice: on a prompt venue (no lags, trades in every order answer: the lifecycle the
target was set for) and on the default binance-like venue (orders invisible for 5 s after
placement, trades listed late and fetched separately: more requests, more rows).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from _common import line, verdict

import fsm_executor.journal._book as book_module
from fsm_executor import FakeClock, Journal, TradeExecutor
from fsm_executor.venue._paper import MANNERS, PaperExchange
from fsm_executor.venue._paper_manners import VenueManners

PROMPT = attrs.evolve(MANNERS["binance"], visibility_lag=0.0, trade_lag=0.0,
                      order_has_trades=True, order_has_fee=True)

ORDERS = 2_000
VENUE_METHODS = ("create_order", "fetch_order", "cancel_order", "fetch_my_trades",
                 "fetch_ticker", "fetch_order_book", "load_markets", "amount_to_precision",
                 "price_to_precision")


def timed(spent: Counter[str], key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if key in _inside:
            # A call made from inside another of the same key (every venue method loads its
            # markets through the wrapped load_markets): its time is counted already.
            return fn(*args, **kwargs)
        _inside.add(key)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
            _inside.discard(key)

    return wrapper


#: The keys whose timed call is under way.
_inside: set[str] = set()


def measure(label: str, manners: VenueManners) -> None:
    spent: Counter[str] = Counter()
    clock = FakeClock()
    venue = PaperExchange(clock, seed=5, fill_probability=0.7, imitate=manners)
    for name in VENUE_METHODS:
        setattr(venue, name, timed(spent, "venue", getattr(venue, name)))
    original_append = Journal.append
    original_plan = book_module.plan
    Journal.append = timed(spent, "journal", original_append)  # type: ignore[method-assign]
    book_module.plan = timed(spent, "machine", original_plan)  # type: ignore[assignment]
    config = {"poll_interval_seconds": 1, "order_timeout_seconds": 600, "jitter": 0}
    transitions = 0
    try:
        with (tempfile.TemporaryDirectory() as d,
              TradeExecutor(venue, Path(d) / "j.db", config, clock=clock, seed=1) as ex):
            signal = {"symbol": "ETH/USDT", "side": "buy", "amount": "0.2",
                      "price": "2000.5", "order_type": "limit"}
            ex.execute_signal({**signal, "id": "warm-up"})
            spent.clear()
            start = time.perf_counter()
            for i in range(ORDERS):
                ex.execute_signal({**signal, "id": f"s{i}"})
            total = time.perf_counter() - start
            transitions = ex.book.journal.head
    finally:
        Journal.append = original_append  # type: ignore[method-assign]
        book_module.plan = original_plan  # type: ignore[assignment]
    rows = int(transitions.split(":")[0])
    own = total - spent["venue"]
    per_order = own / ORDERS
    rest = own - spent["journal"] - spent["machine"]
    print(f"order lifecycle on the {label} paper venue, zero latency ({ORDERS} orders, "
          f"{rows / ORDERS:.1f} journal rows each)")
    line("total per order, venue included", f"{total / ORDERS * 1e6:.0f} us")
    line("  inside the paper venue", f"{spent['venue'] / ORDERS * 1e6:.0f} us")
    line("layer's own cost per order (target <= 1 ms)", f"{per_order * 1e6:.0f} us",
         verdict(per_order <= 0.001))
    for label, value in (("journal (append + commit)", spent["journal"]),
                         ("machine (plan each transition)", spent["machine"]),
                         ("the rest (decisions, adapter, book)", rest)):
        line(f"  {label}", f"{value / own * 100:.0f} %")


def main() -> None:
    measure("prompt", PROMPT)
    measure("binance-like", MANNERS["binance"])


if __name__ == "__main__":
    main()
