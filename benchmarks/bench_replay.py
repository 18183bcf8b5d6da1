"""Replay of a 1,000,000-transition journal against a raw SELECT of the same rows.

Targets: at least 200,000 transitions/s, and within 3x of the raw SELECT (same run).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from _common import line, verdict

from fsm_executor import Acknowledge, Fill, Journal, OrderSpec, Submit, replay

TRANSITIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
BATCH = 5_000


def order_rows(i: int) -> list[tuple[str, str, str, str, dict[str, object], str]]:
    """The five rows of one order: create, submit, acknowledge, two fills."""
    cid = f"fsmx-{i:010d}"
    spec = OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.5", "30000.5", f"s{i}")
    fill_a = Fill(f"t{i}a", "0.2", "30000.5", "0.0001", "BTC", 1.7e9)
    fill_b = Fill(f"t{i}b", "0.3", "30000.4", "0.0001", "BTC", 1.7e9)
    return [
        (cid, "create", "", "created", spec.to_payload(), "live"),
        (cid, "submit", "created", "pending_submit", Submit().to_payload(), "live"),
        (cid, "acknowledge", "pending_submit", "submitted",
         Acknowledge(str(10**9 + i)).to_payload(), "live"),
        (cid, "fill", "submitted", "partially_filled", fill_a.to_payload(), "live"),
        (cid, "fill", "partially_filled", "filled", fill_b.to_payload(), "live"),
    ]


def build(path: Path) -> None:
    with Journal.open(path) as journal:
        batch: list[tuple[str, str, str, str, dict[str, object], str]] = []
        for i in range(TRANSITIONS // 5):
            batch.extend(order_rows(i))
            if len(batch) >= BATCH:
                journal.append(batch, 1.7e9 + i)
                batch = []
        if batch:
            journal.append(batch, 1.7e9)


def raw_select(path: Path) -> float:
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    for _row in conn.execute(
        "SELECT seq, order_id, trigger, source, dest, payload, ts FROM journal ORDER BY seq"
    ):
        pass
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.db"
        start = time.perf_counter()
        build(path)
        built = time.perf_counter() - start
        select_s = min(raw_select(path) for _ in range(3))
        start = time.perf_counter()
        orders = replay(path)
        replay_s = time.perf_counter() - start
        size = path.stat().st_size
    assert len(orders) == TRANSITIONS // 5
    rate = TRANSITIONS / replay_s
    ratio = replay_s / select_s
    print(f"replay of {TRANSITIONS:,} transitions ({size / 2**20:.0f} MiB, built in {built:.1f} s)")
    line("raw SELECT of the same rows", f"{select_s:.2f} s")
    line("replay (every transition re-validated)", f"{replay_s:.2f} s")
    line("replay rate (target >= 200,000/s)", f"{rate:,.0f}/s", verdict(rate >= 200_000))
    line("ratio to raw SELECT (target <= 3.0)", f"{ratio:.2f}x", verdict(ratio <= 3.0))


if __name__ == "__main__":
    main()
