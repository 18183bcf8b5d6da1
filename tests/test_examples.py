"""The examples run as a newcomer runs them: ``python examples/NAME.py`` from the repository
root, in a process of their own, against this checkout's code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from fsm_executor import audit, replay

ROOT = Path(__file__).resolve().parents[1]


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    # This checkout first on the path: the venv's editable install may point at another.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # ResourceWarnings shown: an unclosed aiohttp session or socket lands on stderr.
    return subprocess.run([sys.executable, "-W", "default::ResourceWarning",
                           f"examples/{name}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


#: One printed line per order: signal id, type, state, filled, average price, fees.
ORDER_LINE = re.compile(r"(?P<signal>\S+) +(?P<type>\w+) +(?P<state>\w+) +filled "
                        r"(?P<filled>\S+) at (?P<average>\S+), fees (?P<fees>.+)")


def test_async_bot_places_at_once_prints_each_order_and_leaves_a_clean_journal(
        tmp_path: Path) -> None:
    journal = tmp_path / "orders.db"
    done = run_example("async_bot.py", str(journal))
    assert (done.returncode, done.stderr) == (0, "")
    *lines, last = done.stdout.splitlines()
    assert last == f"journal: {journal}"
    printed = {m["signal"]: m for m in map(ORDER_LINE.fullmatch, lines) if m}
    assert list(printed) == ["buy-btc-now", "sell-eth-now", "buy-btc-at-mid", "buy-btc-dip",
                             "sell-eth-high"] and len(lines) == 5
    journaled = {o.signal_id: o for o in replay(journal).values()}
    for sid, line in printed.items():  # what is printed is what the journal holds
        order = journaled[sid]
        assert (line["type"], line["state"]) == (order.type.value, order.state.value)
        assert Decimal(line["filled"]) == order.filled
        assert line["average"] == str(order.average or "-")
    for market in ("buy-btc-now", "sell-eth-now"):
        assert (printed[market]["type"], printed[market]["state"]) == ("market", "filled")
        assert printed[market]["fees"].endswith(" USDT")
    # Marketable on arrival: filled, or cancelled part-filled had the wait run out.
    assert printed["buy-btc-at-mid"]["state"] in ("filled", "cancelled")
    assert journaled["buy-btc-at-mid"].filled > 0
    for resting in ("buy-btc-dip", "sell-eth-high"):
        assert (printed[resting]["state"], printed[resting]["filled"],
                printed[resting]["fees"]) == ("cancelled", "0", "-")
    assert audit(journal).ok
