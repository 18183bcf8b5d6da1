"""``fsm-executor run --async``: the signals file through AsyncTradeExecutor, every signal
at once, with the sync run's summary, exit statuses and journal."""

from __future__ import annotations

import asyncio
import json
import re
from argparse import Namespace
from collections import Counter
from pathlib import Path

import ccxt.async_support
import pytest
from test_run import EXAMPLE, run, stat

from fsm_executor import (
    AsyncTradeExecutor,
    ExchangeFailure,
    FakeClock,
    InvalidInput,
    OrderBook,
    Signal,
    State,
    audit,
    replay,
)
from fsm_executor.cli._cli import main
from fsm_executor.cli._exits import EXIT_LOCKED
from fsm_executor.cli._run_async import make_async_exchange, run_signals
from fsm_executor.venue._paper import PaperExchange
from fsm_executor.venue._paper_async import AsyncPaperExchange
from fsm_executor.venue._virtual_loop import VirtualClock, run_virtual


def labels(out: str) -> list[str]:
    """The summary's lines without their counts (nor the journal head)."""
    return [re.sub(r"\s+\d+$", "", line) for line in out.splitlines()
            if not line.startswith("journal head")]


def test_run_async_executes_the_example_with_faults_and_the_sync_audit_accepts_its_journal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "j.db"
    code, out, _ = run(capsys, str(EXAMPLE), "--journal", str(journal), "--faults",
                       "--seed", "7", "--async")
    absent = stat(out, "  presumed_absent")
    assert code == 3 and absent > 0
    assert f"{absent} order(s) presumed absent" in out and "not re-sent" in out
    assert stat(out, "faults injected") > 0
    assert stat(out, "  filled") > 30
    orders = replay(journal)
    assert len(orders) == 43
    assert len({o.signal_id for o in orders.values()}) == 43
    assert all(o.is_terminal or o.state is State.PRESUMED_ABSENT for o in orders.values())
    assert audit(journal).ok
    assert main(["audit", str(journal)]) == 0
    head = re.search(r"^journal head (\S+)$", out, re.M)
    assert head and main(["audit", str(journal), "--expect-head", head.group(1)]) == 0


def test_run_async_prints_the_sync_runs_summary_and_ends_the_same_without_faults(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sync_code, sync_out, _ = run(capsys, str(EXAMPLE), "--journal", str(tmp_path / "s.db"),
                                 "--seed", "3")
    code, out, _ = run(capsys, str(EXAMPLE), "--journal", str(tmp_path / "a.db"),
                       "--seed", "3", "--async")
    assert code == sync_code == 0
    assert labels(out) == labels(sync_out)
    final = re.compile(r"^  (\w+)\s+(\d+)$", re.M)
    assert final.findall(out) == final.findall(sync_out)


def test_running_the_same_file_again_with_async_executes_nothing_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal, venue = tmp_path / "j.db", tmp_path / "venue.db"
    common = ("--journal", str(journal), "--venue-state", str(venue), "--faults", "--seed", "5")
    first, _, _ = run(capsys, str(EXAMPLE), *common, "--async")
    before = replay(journal)
    code, out, _ = run(capsys, str(EXAMPLE), *common, "--async")
    assert first in (0, 3) and code in (0, 3)
    assert stat(out, "already journaled") == 43
    after = replay(journal)
    assert after.keys() == before.keys()
    assert {cid: o.state for cid, o in after.items()} == {cid: o.state
                                                          for cid, o in before.items()}
    # Then the sync run over the same journal: nothing new either, and the venue holds each
    # client order id at most once.
    code, out, _ = run(capsys, str(EXAMPLE), *common)
    assert stat(out, "already journaled") == 43
    assert replay(journal).keys() == before.keys()
    paper = PaperExchange(FakeClock(0), state_path=str(venue))
    try:
        placed = [str(o["clientOrderId"]) for o in paper.all_orders()]
    finally:
        paper.close()
    assert len(placed) == len(set(placed)) and set(placed) <= set(before)
    assert audit(journal).ok


def test_a_fatal_failure_makes_the_async_exit_status_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = tmp_path / "s.csv"
    signals.write_text("id,symbol,side,amount,price\nx,NOPE/USDT,buy,1,10\n"
                       "y,ETH/USDT,sell,0.1,1900\n")
    code, out, _ = run(capsys, str(signals), "--journal", str(tmp_path / "j.db"), "--async")
    assert code == 1
    assert stat(out, "  fatal") == 1 and stat(out, "  filled") == 1


def test_a_signal_that_raises_stops_the_async_run_once_the_other_orders_have_ended(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The market order's quote keeps timing out past the retries: nothing is journaled for
    # it and the run stops with its error (exit status 2, as the sync run), but not before
    # the orders already out (resting ones until their timeout) have ended.
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=0.02)
    venue.inject("fetch_ticker", "timeout_before", times=50)
    journal = tmp_path / "j.db"
    executor = AsyncTradeExecutor(venue, journal, {"order_timeout_seconds": 10, "jitter": 0,
                                                   "poll_interval_seconds": 1},
                                  clock=clock, seed=1)
    signals = [Signal.from_dict({"id": f"rest{i}", "symbol": "BTC/USDT", "side": "buy",
                                 "amount": "0.01", "price": "29000"}) for i in range(3)]
    signals.append(Signal.from_dict({"id": "fill", "symbol": "ETH/USDT", "side": "buy",
                                     "amount": "0.1", "price": "2100"}))
    signals.append(Signal.from_dict({"id": "quote", "symbol": "ETH/USDT", "side": "sell",
                                     "amount": "0.1", "price": "2000",
                                     "order_type": "market"}))
    with pytest.raises(ExchangeFailure, match="fetch_ticker"):
        run_virtual(run_signals(executor, venue, signals), clock=clock)
    orders = {o.signal_id: o for o in replay(journal).values()}
    assert sorted(orders) == ["fill", "rest0", "rest1", "rest2"]
    assert orders["fill"].state is State.FILLED
    assert all(orders[f"rest{i}"].state is State.CANCELLED for i in range(3))
    assert audit(journal).ok


def test_run_async_on_the_real_clock_runs_a_real_event_loop(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = tmp_path / "s.csv"
    signals.write_text("id,symbol,side,amount,price,order_type\n"
                       + "".join(f"m{i},ETH/USDT,buy,0.1,2000,market\n" for i in range(5)))
    code, out, _ = run(capsys, str(signals), "--journal", str(tmp_path / "j.db"), "--async",
                       "--realtime", "--latency", "0.01")
    assert code == 0 and stat(out, "  filled") == 5
    assert audit(tmp_path / "j.db").ok


def test_a_locked_journal_gives_the_async_run_exit_status_4(
        book: OrderBook, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLE), "--journal", str(journal_path), "--async"]) == EXIT_LOCKED
    out, err = capsys.readouterr()
    assert out == "" and "already has this journal open for writing" in err


def test_async_on_a_real_exchange_takes_ccxt_async_support_with_keys_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSM_EXECUTOR_API_KEY", "key0123")
    monkeypatch.setenv("FSM_EXECUTOR_API_SECRET", "secret0123")
    args = Namespace(exchange="binance", sandbox=False, http=False, exchange_url=None)
    exchange, venue = make_async_exchange(args, clock=None)  # type: ignore[arg-type]
    assert isinstance(exchange, ccxt.async_support.binance) and venue is None
    assert exchange.apiKey == "key0123" and exchange.enableRateLimit
    asyncio.run(exchange.close())
    with pytest.raises(InvalidInput, match="unknown exchange id"):
        make_async_exchange(Namespace(exchange="nosuchexchange", sandbox=False, http=False,
                                      exchange_url=None), clock=None)  # type: ignore[arg-type]


def test_run_async_json_is_the_sync_runs_document_and_counts_what_the_journal_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "a.db"
    code, out, err = run(capsys, str(EXAMPLE), "--journal", str(journal), "--seed", "3",
                         "--async", "--json")
    summary = json.loads(out)
    assert code == summary["exit_status"] == 0 and "43/43 signals" in err
    orders = replay(journal)
    assert summary["states"] == dict(Counter(o.state.value for o in orders.values()))
    assert sorted(o["client_order_id"] for o in summary["orders"]) == sorted(orders)
    assert summary["journal_head"] == audit(journal).head
    assert summary["faults_injected"] == 0 and summary["in_doubt"] == []
    _, sync_out, _ = run(capsys, str(EXAMPLE), "--journal", str(tmp_path / "s.db"),
                         "--seed", "3", "--json")
    sync = json.loads(sync_out)
    assert sync.keys() == summary.keys()
    assert sync["states"] == summary["states"]
