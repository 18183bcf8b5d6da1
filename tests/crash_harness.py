"""Kill the bot with SIGKILL at seeded moments, restart it, and check the result against
the persistent paper venue's ground truth.

Used by tests/test_crash_recovery.py (CI: at least 200 kill points, 60 through HTTP and 40
on the asyncio executor) and by ``make crash-test`` (``python tests/crash_harness.py 1000
[--http | --async]``), which prints the counts. ``--http``: the bot trades through the real
ccxt.binance client with the venue behind the local Binance REST server, inside the bot's
process (``run --http``): the kill takes both down, the venue's state file outlives them.
``--async``: the bot is ``run --async`` (AsyncTradeExecutor on a virtual event loop), 50
signals at once, killed while many orders are in flight; the run to the end is made by
either executor, so a journal either one left must be recoverable by the other.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from fsm_executor import Order
    from fsm_executor.venue._paper import PaperExchange

HERE = Path(__file__).parent
ROOT = HERE.parent
STATE_OF_STATUS = {"closed": "filled", "canceled": "cancelled", "expired": "expired"}


@attrs.define
class Outcome:
    kills: int = 0
    kills_by_mode: Counter[str] = attrs.Factory(Counter)
    signals: int = 0
    double_placed: int = 0
    unknown_to_journal: int = 0
    mismatched: int = 0
    #: Filled, cost or fees per currency other than the venue's own trades say.
    money_mismatched: int = 0
    illegal: int = 0
    unfinished: int = 0
    #: Runs of the bot that ended on an unexpected exception rather than a kill or an exit.
    tracebacks: int = 0
    #: Presumed absent and truly not on the exchange: watched, as it should be (not a fault).
    presumed_absent: int = 0
    problems: list[str] = attrs.Factory(list)
    #: Async mode: the journal's orders left in flight by each kill (not ended, not
    #: presumed absent), and which executor made each run to the end.
    in_flight_at_kill: list[tuple[str, int]] = attrs.Factory(list)
    finished_by: Counter[str] = attrs.Factory(Counter)

    def add(self, other: Outcome) -> None:
        for field in ("kills", "signals", "double_placed", "unknown_to_journal", "mismatched",
                      "money_mismatched", "illegal", "unfinished", "presumed_absent",
                      "tracebacks"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.kills_by_mode.update(other.kills_by_mode)
        self.problems.extend(other.problems)
        self.in_flight_at_kill.extend(other.in_flight_at_kill)
        self.finished_by.update(other.finished_by)


def write_signals(path: Path, rng: random.Random, count: int) -> None:
    lines = ["id,symbol,side,amount,price,order_type"]
    for i in range(count):
        symbol, mid, amount = rng.choice([("BTC/USDT", 30000, "0.01"), ("ETH/USDT", 2000, "0.2"),
                                          ("SOL/USDT", 100, "3")])
        # Some rest under the market (they time out, or fill while the bot is down).
        offset = rng.choice([1.0, 1.0, 0.9995, 1.0005, 0.998])
        kind = rng.choice(["limit", "limit", "market"])
        lines.append(f"c{i},{symbol},{rng.choice(['buy', 'sell'])},{amount},"
                     f"{mid * offset:.2f},{kind}")
    path.write_text("\n".join(lines) + "\n")


def child(workdir: Path, mode: str, n: int, downtime: float, seed: int,
          http: bool = False, asynchronous: bool = False,
          latency: float = 0.0) -> subprocess.Popen[str]:
    config = workdir / "config.json"
    if not config.exists():
        config.write_text(json.dumps({"order_timeout_seconds": 20, "poll_interval_seconds": 2,
                                      "not_found_confirmations": 2, "jitter": 0.0}))
    command = [sys.executable, str(HERE / "crash_child.py"), mode, str(n), str(downtime), "--",
               "run", str(workdir / "signals.csv"), "--journal", str(workdir / "journal.db"),
               "--venue-state", str(workdir / "venue.db"), "--faults", "--seed", str(seed),
               "--config", str(config), "--latency", str(latency),
               *(["--http"] if http else []), *(["--async"] if asynchronous else [])]
    # Every run's stderr goes to one file: check() looks for a traceback in it.
    with (workdir / "stderr.log").open("a") as errors:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                cwd=ROOT)


def episode(seed: int, kills: int, signals: int = 6, http: bool = False) -> Outcome:
    """One signals file, ``kills`` SIGKILLs at seeded moments, then a run to the end."""
    rng = random.Random(seed)
    outcome = Outcome(signals=signals)
    with tempfile.TemporaryDirectory() as d:
        workdir = Path(d)
        write_signals(workdir / "signals.csv", rng, signals)
        for _ in range(kills):
            mode = rng.choice(["run", "before_send", "after_accept"])
            proc = child(workdir, mode, rng.randint(1, 3), rng.choice([0, 0, 5, 60]), seed,
                         http)
            if mode == "run":
                assert proc.stdout is not None
                proc.stdout.readline()  # started: past the imports
                time.sleep(rng.uniform(0.0, 0.25))
                proc.send_signal(signal.SIGKILL)
            code = proc.wait()
            if code == -signal.SIGKILL:
                outcome.kills += 1
                outcome.kills_by_mode[mode] += 1
        to_the_end(lambda downtime: child(workdir, "run", 0, downtime, seed, http),
                   rng.choice([0, 30]))
        check(workdir, outcome)
    return outcome


#: Runs after the first run to the end that exits 1 (an order left in doubt: the exchange
#: kept failing its lookups or cancels, as --faults makes it do now and then), as an
#: operator follows the doubt's advice: run again, which recovers first and executes nothing
#: twice. Only then must everything be settled.
AGAIN: Final = 2


def to_the_end(run: Callable[[float], subprocess.Popen[str]], downtime: float) -> list[int]:
    """The exit statuses of the run to the end and of the runs again after a doubt."""
    codes: list[int] = []
    while not codes or codes[-1] == 1 and len(codes) <= AGAIN:
        final = run(downtime if not codes else 0.0)
        final.communicate()
        codes.append(final.returncode)
    return codes


#: Async episodes: signals submitted at once; the venue's latency in virtual time (the
#: requests overlap on the way, at no real cost); how long after the bot's first request a
#: random kill may land (its creates leave within ~0.15 s of it, its run ends within ~0.4 s
#: on an idle machine).
ASYNC_SIGNALS = 50
ASYNC_LATENCY = 0.05
ASYNC_KILL_WITHIN = 0.4


def async_episode(seed: int, kills: int, signals: int = ASYNC_SIGNALS) -> Outcome:
    """``signals`` signals at once through ``run --async``, ``kills`` SIGKILLs while orders
    are in flight, then a run to the end by a seeded choice of executor."""
    rng = random.Random(seed)
    outcome = Outcome(signals=signals)
    with tempfile.TemporaryDirectory() as d:
        workdir = Path(d)
        write_signals(workdir / "signals.csv", rng, signals)
        steps = []
        for _ in range(kills):
            # The N-th create is aimed among the signals left to place, so the kill lands.
            unplaced = signals - len(journal_orders(workdir))
            mode = rng.choice(["run", "before_send", "after_accept"]) if unplaced else "run"
            n, downtime = rng.randint(1, max(unplaced, 1)), rng.choice([0, 0, 5, 60])
            proc = child(workdir, mode, n, downtime, seed, asynchronous=True,
                         latency=ASYNC_LATENCY)
            delay = rng.uniform(0.0, ASYNC_KILL_WITHIN)
            if mode == "run":
                assert proc.stdout is not None
                for line in proc.stdout:  # past the imports, the recovery's first request
                    if line.strip() == "requesting":
                        break
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
            code = proc.wait()
            steps.append(f"async {mode} n={n} downtime={downtime} delay={delay:.3f}: {code}")
            if code == -signal.SIGKILL:
                outcome.kills += 1
                outcome.kills_by_mode[mode] += 1
                outcome.in_flight_at_kill.append((mode, in_flight(workdir)))
        finisher, downtime = rng.choice(["sync", "async"]), rng.choice([0, 30])
        codes = to_the_end(lambda pause: child(workdir, "run", 0, pause, seed,
                                               asynchronous=finisher == "async",
                                               latency=ASYNC_LATENCY), downtime)
        steps.append(f"{finisher} to the end, downtime={downtime}: {codes}")
        outcome.finished_by[finisher] += 1
        check(workdir, outcome)
        keep(workdir, seed, outcome, steps)
    return outcome


def keep(workdir: Path, seed: int, outcome: Outcome, steps: list[str]) -> None:
    """With CRASH_KEEP=DIR, a failed episode's files (journal, venue, signals, the runs'
    stderr) are copied to DIR/seed-N, with steps.txt saying what was done."""
    where = os.environ.get("CRASH_KEEP")
    if not where or not outcome.problems:
        return
    target = Path(where) / f"seed-{seed}"
    shutil.copytree(workdir, target, dirs_exist_ok=True)
    (target / "steps.txt").write_text("\n".join([*steps, "", *outcome.problems]) + "\n")


def journal_orders(workdir: Path) -> dict[str, Order]:
    from fsm_executor import replay

    path = workdir / "journal.db"
    return replay(path) if path.exists() else {}


def in_flight(workdir: Path) -> int:
    """The journal's orders that are neither ended nor presumed absent."""
    from fsm_executor import State

    return sum(1 for o in journal_orders(workdir).values()
               if not o.is_terminal and o.state is not State.PRESUMED_ABSENT)


def check(workdir: Path, outcome: Outcome) -> None:
    from fsm_executor import FakeClock, audit, replay
    from fsm_executor.venue._paper import PaperExchange

    errors = (workdir / "stderr.log").read_text()
    if "Traceback" in errors:
        outcome.tracebacks += 1
        outcome.problems.append("a run crashed: " + errors[errors.index("Traceback"):][-600:])
    report = audit(workdir / "journal.db")
    outcome.illegal += len(report.violations)
    outcome.problems += [str(v) for v in report.violations]
    orders = replay(workdir / "journal.db")
    venue = PaperExchange(FakeClock(0), state_path=str(workdir / "venue.db"))
    by_cid: dict[str, list[dict[str, object]]] = {}
    for placed in venue.all_orders():
        by_cid.setdefault(str(placed["clientOrderId"]), []).append(placed)
    try:
        _compare(venue, orders, by_cid, outcome)
    finally:
        venue.close()


def _compare(venue: PaperExchange, orders: dict[str, Order],
             by_cid: dict[str, list[dict[str, object]]], outcome: Outcome) -> None:
    from fsm_executor import State
    signals = Counter(o.signal_id for o in orders.values())
    for signal_id, count in signals.items():
        if count > 1:
            outcome.double_placed += 1
            outcome.problems.append(f"signal {signal_id} has {count} journal orders")
    journaled_ids = {o.exchange_order_id for o in orders.values() if o.exchange_order_id}
    for cid, placed in by_cid.items():
        if cid not in orders:
            outcome.unknown_to_journal += 1
            outcome.problems.append(f"exchange order {cid} is not in the journal")
        for one in placed:
            if cid in orders and str(one["id"]) not in journaled_ids:
                outcome.unknown_to_journal += 1
                outcome.problems.append(f"exchange order {one['id']} ({cid}) is not in the "
                                        "journal by its exchange id")
        if len(placed) > 1:
            outcome.double_placed += 1
            outcome.problems.append(f"{cid} was placed {len(placed)} times")
    for cid, order in orders.items():
        placed = by_cid.get(cid, [])
        if order.state is State.PRESUMED_ABSENT and not placed:
            outcome.presumed_absent += 1
        elif not order.is_terminal:
            outcome.unfinished += 1
            outcome.problems.append(f"{cid} left {order.state.value}")
        if not placed:
            if order.exchange_order_id is not None:
                outcome.mismatched += 1
                outcome.problems.append(f"{cid} acknowledged but not on the exchange")
            continue
        truth = placed[0]
        expected = STATE_OF_STATUS.get(str(truth["status"]), str(truth["status"]))
        if order.state.value != expected or order.filled != Decimal(str(truth["filled"])):
            # Among them: an order the journal holds failed (or presumed absent) while the
            # exchange holds it.
            outcome.mismatched += 1
            outcome.problems.append(f"{cid}: journal {order.state.value} {order.filled}, "
                                    f"exchange {truth['status']} {truth['filled']}")
        if order.exchange_order_id is None:
            continue
        money = venue.order_truth(order.exchange_order_id)
        journaled = (order.filled, order.cost, dict(order.fees))
        if order.is_terminal and journaled != (money.filled, money.cost, dict(money.fees)):
            outcome.money_mismatched += 1
            outcome.problems.append(
                f"{cid}: journal filled {order.filled} cost {order.cost} fees "
                f"{dict(order.fees)}, exchange filled {money.filled} cost {money.cost} fees "
                f"{dict(money.fees)}")


def run_many(kill_points: int, seed: int = 0, kills_per_episode: int = 4,
             workers: int = 2, http: bool = False, asynchronous: bool = False) -> Outcome:
    """Episodes until at least ``kill_points`` SIGKILLs landed, two at a time."""
    total = Outcome()
    next_seed = seed

    def one(s: int) -> Outcome:
        if asynchronous:
            return async_episode(s, kills_per_episode)
        return episode(s, kills_per_episode, http=http)

    with ThreadPoolExecutor(workers) as pool:
        while total.kills < kill_points:
            if next_seed - seed >= 2 * max(kill_points, workers):
                # Episodes land kills by the handful: this is a child that is not killed.
                raise RuntimeError(f"only {total.kills} kills landed in {next_seed - seed} "
                                   "episodes")
            batch = [next_seed + i for i in range(workers)]
            next_seed += workers
            for result in pool.map(one, batch):
                total.add(result)
    return total


def main() -> int:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    points = int(numbers[0]) if numbers else 1000
    http = "--http" in sys.argv[1:]
    asynchronous = "--async" in sys.argv[1:]
    if http and asynchronous:
        print("--http or --async, not both: run --async refuses --http", file=sys.stderr)
        return 2
    start = time.time()
    outcome = run_many(points, seed=int(os.environ.get("CRASH_SEED", "0")), http=http,
                       asynchronous=asynchronous, kills_per_episode=3 if asynchronous else 4)
    print(f"venue                  binance-like{' over HTTP (real ccxt.binance)' if http else ''}")
    if asynchronous:
        print(f"executor               async, {ASYNC_SIGNALS} signals at once per episode; "
              f"runs to the end by {dict(outcome.finished_by)}")
        print("orders in flight at the kill (journal: not ended, not presumed absent)")
        for mode in sorted(outcome.kills_by_mode):
            flying = sorted(n for m, n in outcome.in_flight_at_kill if m == mode)
            print(f"  {mode:<21}median {flying[len(flying) // 2]}, max {flying[-1]}, "
                  f"25+ in {sum(n >= 25 for n in flying)} of {len(flying)} kills")
    print(f"kill points            {outcome.kills} ({dict(outcome.kills_by_mode)})")
    print(f"signals                {outcome.signals}")
    print(f"placed twice           {outcome.double_placed}")
    print(f"unknown to the journal {outcome.unknown_to_journal}")
    print(f"illegal transitions    {outcome.illegal}")
    print(f"state/filled mismatch  {outcome.mismatched}")
    print(f"cost/fees mismatch     {outcome.money_mismatched}")
    print(f"left unfinished        {outcome.unfinished}")
    print(f"runs that crashed      {outcome.tracebacks}")
    print(f"presumed absent (and truly absent, still watched) {outcome.presumed_absent}")
    print(f"took                   {time.time() - start:.0f} s")
    for problem in outcome.problems[:20]:
        print(f"  {problem}")
    bad = (outcome.double_placed + outcome.unknown_to_journal + outcome.illegal
           + outcome.mismatched + outcome.money_mismatched + outcome.unfinished
           + outcome.tracebacks)
    print(f"{outcome.kills} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
