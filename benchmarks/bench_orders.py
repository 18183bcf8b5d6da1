"""Order creation cost and memory per live order, and the machine choice behind them.

Compares three ways to give orders a ``transitions`` state machine: a Machine per order,
one shared Machine with ``add_model``, and (chosen) one shared Machine compiled into a
lookup that orders never register with. Target: at most 6 KB per live order.
"""

from __future__ import annotations

import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

from _common import line, verdict
from transitions import Machine

from fsm_executor import Acknowledge, FakeClock, Fill, OrderBook, OrderSpec, Submit
from fsm_executor.core._machine import build_machine, machine_arguments

N = 5_000


class Model:
    def is_complete(self) -> bool:
        return False

    def has_fills(self) -> bool:
        return False


def per_order(make: object, n: int = N) -> tuple[float, float]:
    """(µs, bytes) per order for ``make()``, objects kept alive. Time and memory are
    measured in separate passes: tracemalloc slows everything it watches."""
    gc.collect()
    keep = []
    start = time.perf_counter()
    for _ in range(n):
        keep.append(make())  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    keep.clear()
    gc.collect()
    tracemalloc.start()
    for _ in range(n):
        keep.append(make())  # type: ignore[operator]
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed / n * 1e6, size / n


def main() -> None:
    args = machine_arguments()
    shared = build_machine()

    def machine_per_order() -> object:
        m = Model()
        Machine(model=m, **args)
        return m

    def add_model() -> object:
        m = Model()
        shared.add_model(m)
        return m

    print("machine per order (measured here, same run)")
    for label, make in (("a Machine per order", machine_per_order),
                        ("shared Machine, add_model", add_model)):
        us, size = per_order(make, 2_000)
        line(label, f"{us:.0f} us {size / 1024:.1f} KB")

    with tempfile.TemporaryDirectory() as d:
        book = OrderBook.open(Path(d) / "j.db", clock=FakeClock())
        counter = iter(range(10**9))

        def live_order() -> object:
            i = next(counter)
            cid = f"fsmx{i:012d}abcdefghij"
            book.create(OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.5", "30000.5", f"s{i}"))
            book.apply(cid, Submit())
            book.apply(cid, Acknowledge(str(10**9 + i)))
            return book.apply(cid, Fill(f"t{i}", "0.2", "30000.5", "0.0001", "BTC"))

        start = time.perf_counter()
        for _ in range(N):
            live_order()
        elapsed = time.perf_counter() - start
        # Memory of what the book keeps per live order (the snapshots returned are dropped).
        gc.collect()
        tracemalloc.start()
        for _ in range(N):
            live_order()
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        book.close()
    kb = size / N / 1024
    line("chosen: compiled shared machine, per live order", f"{kb:.2f} KB",
         f"target <= 6 KB: {verdict(kb <= 6)}")
    line("  creating it + 3 journaled transitions", f"{elapsed / N * 1e6:.0f} us")


if __name__ == "__main__":
    main()
