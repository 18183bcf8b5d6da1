"""What history costs: opening a journal, replaying and auditing it, and the command line's
start-up, each against a floor measured in the same run.

- Open: a journal of 100,000 finished orders (500,000 rows) against one of 2,000, both with
  the same 10 orders open. Targets: within 2x the time, and at most 30 MiB more memory held
  by the process (each opened in a fresh process; RSS after opening minus before).
- Replay and audit of the 500,000 rows, streaming (``fsm-executor replay``, ``audit``):
  rows per second, and the ratio to a raw SELECT of the same rows. Targets: >= 300,000
  rows/s and <= 3x. Measured in one process, then as shipped: two halves at once on two
  cores (journal/_split.py). Each the best of three runs, as the SELECT is.
- Start-up of ``audit``, ``orders``, ``export``, ``replay`` and ``diagram`` on a tiny
  journal against ``python -c "import sqlite3"``. Target: within 3x. Timed as an installed
  package starts, its bytecode cached (pip compiles it on install): see ``startup``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import line, verdict

from fsm_executor import Acknowledge, Fill, Journal, OrderSpec, Submit, audit
from fsm_executor.cli._cli import main
from fsm_executor.journal import _split

SMALL, LARGE, OPEN = 2_000, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, 10
BATCH = 5_000


Row = tuple[str, str, str, str, dict[str, object], str]


def order_rows(i: int, finished: bool) -> tuple[list[Row], tuple[str, str, str, int]]:
    """An order's rows (create, submit, acknowledge, and two fills when finished) and its
    row in the orders index."""
    cid = f"fsmx-{i:010d}"
    spec = OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.5", "30000.5", f"s{i}")
    rows: list[Row] = [
        (cid, "create", "", "created", spec.to_payload(), "live"),
        (cid, "submit", "created", "pending_submit", Submit().to_payload(), "live"),
        (cid, "acknowledge", "pending_submit", "submitted",
         Acknowledge(str(10**9 + i)).to_payload(), "live"),
    ]
    if finished:
        rows += [
            (cid, "fill", "submitted", "partially_filled",
             Fill(f"t{i}a", "0.2", "30000.5", "0.0001", "BTC", 1.7e9).to_payload(), "live"),
            (cid, "fill", "partially_filled", "filled",
             Fill(f"t{i}b", "0.3", "30000.4", "0.0001", "BTC", 1.7e9).to_payload(), "live"),
        ]
    return rows, (cid, f"s{i}", "BTC/USDT", 0 if finished else 1)


def build(path: Path, finished: int) -> None:
    """``finished`` orders filled, then OPEN resting, with their orders index."""
    with Journal.open(path) as journal:
        rows: list[Row] = []
        index: list[tuple[str, str, str, int]] = []
        for i in range(finished + OPEN):
            more, entry = order_rows(i, i < finished)
            rows += more
            index.append(entry)
            if len(rows) >= BATCH:
                journal.append(rows, 1.7e9 + i, index)
                rows, index = [], []
        if rows:
            journal.append(rows, 1.7e9, index)


OPENING = """
import resource, sys, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) * 1024
from fsm_executor import OrderBook
before = rss()
start = time.perf_counter()
book = OrderBook.open(sys.argv[1])
took = time.perf_counter() - start
assert book.index_rebuilt is None, book.index_rebuilt
assert len(book.unfinished()) == int(sys.argv[2])
print(took, rss() - before)
"""


def opening(path: Path) -> tuple[float, int]:
    """(seconds, bytes held) to open ``path``, in a fresh process: the best of three."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", OPENING, str(path), str(OPEN)],
                             capture_output=True, text=True, check=True).stdout.split()
        runs.append((float(out[0]), int(out[1])))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def raw_select(path: Path) -> float:
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    for _row in conn.execute("SELECT seq, order_id, trigger, source, dest, payload, origin,"
                             " ts, hash FROM journal ORDER BY seq"):
        pass
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def timed(fn: object, *args: object) -> float:
    """The best of three runs, as the floor is taken: on a shared machine one run of the
    same reading varies by a fifth, and the ratio of a best to one run would carry it."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(*args)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def startup(argv: list[str], cache: Path) -> float:
    """Wall time of a fresh process: the best of nine, after a first run that fills the
    bytecode cache in ``cache``.

    Under PYTHONDONTWRITEBYTECODE (set in some CI and development environments) a source
    tree's modules would be compiled again in every process: about 20 ms of the reading
    commands' start-up that no installed copy pays. The floor is timed the same way."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    subprocess.run(argv, capture_output=True, check=False, env=env)
    best = float("inf")
    for _ in range(9):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=env)
        best = min(best, time.perf_counter() - start)
    return best


saved_split_min = _split.SPLIT_MIN


def main_bench() -> None:
    _split.SPLIT_MIN = 2**62  # one process first, for the figure the second core improves
    with tempfile.TemporaryDirectory() as d:
        small, large = Path(d) / "small.db", Path(d) / "large.db"
        start = time.perf_counter()
        build(small, SMALL)
        build(large, LARGE)
        built = time.perf_counter() - start
        rows = LARGE * 5 + OPEN * 3
        print(f"history: {SMALL:,} and {LARGE:,} finished orders, {OPEN} open "
              f"({rows:,} rows, {large.stat().st_size / 2**20:.0f} MiB; built in {built:.0f} s)")
        small_s, small_mem = opening(small)
        large_s, large_mem = opening(large)
        ratio = large_s / small_s
        extra = (large_mem - small_mem) / 2**20
        line(f"open {SMALL:,} finished orders", f"{small_s * 1000:.0f} ms, "
             f"{small_mem / 2**20:.1f} MiB")
        line(f"open {LARGE:,} finished orders", f"{large_s * 1000:.0f} ms, "
             f"{large_mem / 2**20:.1f} MiB")
        line("open-time ratio (target <= 2x)", f"{ratio:.2f}x", verdict(ratio <= 2.0))
        line("memory held beyond the small one (target <= 30 MiB)", f"{extra:.1f} MiB",
             verdict(extra <= 30))

        select_s = min(raw_select(large) for _ in range(3))
        line("raw SELECT of the same rows (floor)", f"{select_s:.2f} s")
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            one = {"replay": timed(main, ["replay", str(large), "--json"]),
                   "audit": timed(audit, large)}
        for name, took in one.items():
            line(f"{name}, one process: rows/s, ratio to the SELECT", f"{rows / took:,.0f}/s, "
                 f"{took / select_s:.2f}x")
        _split.SPLIT_MIN = saved_split_min  # as shipped: two halves at once from here on
        with contextlib.redirect_stdout(quiet):
            two = {"replay": timed(main, ["replay", str(large), "--json"]),
                   "audit": timed(audit, large)}
        for name, took in two.items():
            rate = rows / took
            line(f"{name} (two halves at once): rows/s (target >= 300,000)", f"{rate:,.0f}/s",
                 verdict(rate >= 300_000))
            line(f"{name} (two halves at once): ratio to raw SELECT (target <= 3x)",
                 f"{took / select_s:.2f}x", verdict(took / select_s <= 3.0))

        tiny = Path(d) / "tiny.db"
        build(tiny, 3)
        cache = Path(d) / "pycache"
        bare = startup([sys.executable, "-c", "import sqlite3"], cache)
        line("python -c 'import sqlite3' (floor)", f"{bare * 1000:.0f} ms")
        cli = [sys.executable, "-m", "fsm_executor.cli._cli"]
        for command in (["audit"], ["orders"], ["export"], ["replay"], ["diagram", "--check"]):
            args = [*command[:1], str(tiny)] if command[0] != "diagram" else command
            took = startup([*cli, *args], cache)
            line(f"fsm-executor {command[0]} start-up (target <= 3x)",
                 f"{took * 1000:.0f} ms, {took / bare:.1f}x", verdict(took / bare <= 3.0))


if __name__ == "__main__":
    main_bench()
