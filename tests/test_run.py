"""``fsm-executor run``: the main job, as a user runs it."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fsm_executor import FakeClock, State, audit, replay
from fsm_executor.cli._cli import main
from fsm_executor.cli._signals_file import read_signals

EXAMPLE = Path(__file__).parent.parent / "examples" / "signals.csv"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["run", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stat(out: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}\s+(\d+)$", out, re.M)
    assert match, f"no {label!r} line in:\n{out}"
    return int(match.group(1))


def test_run_executes_the_example_with_faults_and_the_journal_audits_clean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "j.db"
    code, out, _ = run(capsys, str(EXAMPLE), "--journal", str(journal), "--faults",
                       "--seed", "7")
    # Binance-like: creates whose answer was lost and that never showed up are presumed
    # absent, not re-sent, and the exit status says so.
    absent = stat(out, "  presumed_absent")
    assert code == 3 and absent > 0
    assert f"{absent} order(s) presumed absent" in out and "not re-sent" in out
    assert stat(out, "faults injected") > 0
    assert stat(out, "  filled") > 30
    orders = replay(journal)
    assert len(orders) == 43
    assert all(o.is_terminal or o.state is State.PRESUMED_ABSENT for o in orders.values())
    assert audit(journal).ok


def test_running_the_same_file_again_executes_nothing_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "j.db"
    run(capsys, str(EXAMPLE), "--journal", str(journal))
    before = replay(journal)
    code, out, _ = run(capsys, str(EXAMPLE), "--journal", str(journal))
    assert code == 0
    assert stat(out, "already journaled") == 43
    assert replay(journal) == before


def test_a_file_with_bad_signals_is_refused_whole_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,symbol,side,amount,price\n"
                   "a,BTC/USDT,buy,0.01,30000\n"
                   "b,BTC/USDT,hold,0.01,30000\n"
                   "c,BTC/USDT,buy,-3,30000\n")
    journal = tmp_path / "j.db"
    code, out, err = run(capsys, str(bad), "--journal", str(journal))
    assert code == 2
    assert "2 bad signal(s), nothing executed" in err
    assert "line 3" in err and "line 4" in err
    assert "Traceback" not in err
    assert not journal.exists()


def test_json_lines_signals_are_read_too(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    signals = tmp_path / "s.jsonl"
    signals.write_text("\n".join(json.dumps(
        {"id": f"j{i}", "symbol": "ETH/USDT", "side": "sell", "amount": "0.1",
         "price": "2000"}) for i in range(3)) + "\n")
    code, out, _ = run(capsys, str(signals), "--journal", str(tmp_path / "j.db"))
    assert code == 0
    assert stat(out, "  filled") == 3


def test_a_fatal_failure_makes_the_exit_status_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signals = tmp_path / "s.csv"
    signals.write_text("id,symbol,side,amount,price\nx,NOPE/USDT,buy,1,10\n")
    code, out, _ = run(capsys, str(signals), "--journal", str(tmp_path / "j.db"))
    assert code == 1
    assert stat(out, "  fatal") == 1


def test_api_keys_come_from_the_environment_and_reach_neither_journal_nor_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "SECRETsecret0123456789"
    monkeypatch.setenv("FSM_EXECUTOR_API_KEY", secret)
    monkeypatch.setenv("FSM_EXECUTOR_API_SECRET", secret)
    journal = tmp_path / "j.db"
    code, out, err = run(capsys, str(EXAMPLE), "--journal", str(journal), "--faults")
    assert code in (0, 3)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in data
    assert secret not in out + err

    from argparse import Namespace

    from fsm_executor.cli._run import make_exchange
    exchange, venue = make_exchange(Namespace(exchange="binance", sandbox=False),
                                    clock=None)  # type: ignore[arg-type]
    assert exchange.apiKey == secret and venue is None


def test_an_unknown_exchange_id_is_a_clear_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(EXAMPLE), "--journal", str(tmp_path / "j.db"),
                       "--exchange", "nosuchexchange")
    assert code == 2 and "unknown exchange id" in err


def test_imitate_offers_every_manners_of_the_paper_venue_and_only_those() -> None:
    # Named in the command line's declarations, which must not import the venue to
    # declare ``run``.
    from fsm_executor.cli._cli import IMITATE
    from fsm_executor.venue._paper_manners import MANNERS

    assert list(IMITATE) == sorted(MANNERS)


#: Every lookup the executor may make of an order it placed.
LOOKUPS = ("fetch_order", "fetch_open_orders", "fetch_orders", "fetch_closed_orders",
           "fetch_my_trades")


def scripted_venue(monkeypatch: pytest.MonkeyPatch, faults: dict[str, tuple[str, int]]) -> None:
    """The command line's paper venue with ``faults`` scripted: method -> (fault, times)."""
    from fsm_executor.cli import _run

    real = _run.paper_venue

    def venue(args: Any, clock: Any) -> Any:
        paper = real(args, clock)
        for method, (fault, times) in faults.items():
            paper.inject(method, fault, times)
        return paper

    monkeypatch.setattr(_run, "paper_venue", venue)


#: A create whose answer is lost though it was placed, then an exchange that stops
#: answering lookups: the order is left in doubt.
IN_DOUBT = {"create_order": ("timeout_after", 1),
            **{method: ("unavailable", 10_000) for method in LOOKUPS}}
#: A create that never reached the exchange and whose answer is lost: presumed absent.
NEVER_PLACED = {"create_order": ("timeout_before", 1)}


def signals_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "signals.csv"
    path.write_text("id,symbol,side,amount,price,order_type\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_run_json_is_one_document_on_stdout_and_counts_what_the_journal_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "j.db"
    code, out, err = run(capsys, str(EXAMPLE), "--journal", str(journal), "--faults",
                         "--seed", "7", "--json")
    summary = json.loads(out)  # the whole of stdout: progress went to stderr
    assert code == summary["exit_status"] == 3
    assert "presumed absent" in summary["exit_meaning"] and "not re-sent" in summary["note"]
    assert "43/43 signals" in err
    orders = replay(journal)
    assert summary["states"] == dict(Counter(o.state.value for o in orders.values()))
    assert summary["failures"] == dict(Counter(o.failure for o in orders.values()
                                               if o.failure))
    assert summary["unknown_outcomes"]["presumed_absent"] == summary["states"][
        "presumed_absent"] > 0
    assert summary["in_doubt"] == [] and summary["already_journaled"] == 0
    assert summary["faults_injected"] > 0 and summary["retries"] > 0
    assert summary["journal_head"] == audit(journal).head
    by_signal = {o.signal_id: o for o in orders.values()}
    assert [o["signal_id"] for o in summary["orders"]] == [
        s.id for s in read_signals(EXAMPLE)]
    for listed in summary["orders"]:
        order = by_signal[listed["signal_id"]]
        assert (listed["client_order_id"], listed["state"], listed["filled"],
                listed["failure"]) == (order.client_order_id, order.state.value,
                                       str(order.filled), order.failure)
    assert summary["recovery"]["checked"] == 0

    # The text summary of the same run says the same.
    code, text, _ = run(capsys, str(EXAMPLE), "--journal", str(tmp_path / "t.db"),
                        "--faults", "--seed", "7")
    assert code == 3
    for state, count in summary["states"].items():
        assert stat(text, f"  {state}") == count
    assert stat(text, "retries") == summary["retries"]
    assert stat(text, "faults injected") == summary["faults_injected"]


def test_run_json_reports_an_order_left_in_doubt_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_venue(monkeypatch, IN_DOUBT)
    journal = tmp_path / "j.db"
    signals = signals_file(tmp_path, "d1,ETH/USDT,buy,0.1,2000,market",
                           "d2,BTC/USDT,buy,0.01,30000,market")
    code, out, err = run(capsys, str(signals), "--journal", str(journal), "--json")
    summary = json.loads(out)
    assert code == summary["exit_status"] == 1
    assert "in doubt" in summary["exit_meaning"]
    orders = {o.signal_id: o for o in replay(journal).values()}
    (doubt,) = summary["in_doubt"]
    assert doubt["signal_id"] == "d1" and doubt["order_id"] == orders["d1"].client_order_id
    assert doubt["state"] == orders["d1"].state.value == "submit_unknown"
    assert "503" in doubt["error"] and doubt["order_id"] in err
    # The order in doubt is no final state: the states count the other order alone.
    assert summary["states"] == {"filled": 1} and orders["d2"].state is State.FILLED
    assert [o["signal_id"] for o in summary["orders"]] == ["d2"]
    assert summary["journal_head"] == audit(journal).head


def test_recover_json_says_what_changed_and_names_orphans_and_what_adopting_made_of_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    journal, state = tmp_path / "j.db", tmp_path / "venue.db"
    common = ("--journal", str(journal), "--venue-state", str(state))
    with monkeypatch.context() as patched:
        scripted_venue(patched, IN_DOUBT)
        code, _, _ = run(capsys, str(signals_file(tmp_path, "d1,ETH/USDT,buy,0.1,2000,market")),
                         *common)
    assert code == 1
    (left,) = replay(journal).values()
    assert left.state is State.SUBMIT_UNKNOWN

    # The exchange answers again (the venue keeps its scripted faults in its state: the
    # outage is over once they are cleared): the order placed after all is found filled.
    from fsm_executor.venue._paper import PaperExchange

    venue = PaperExchange(FakeClock(time.time()), state_path=str(state))
    venue.clear_faults()
    venue.close()
    assert main(["recover", *common, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exit_status"] == 0 and summary["checked"] == 1
    assert summary["changes"] == [{"client_order_id": left.client_order_id,
                                   "before": "submit_unknown", "after": "filled",
                                   "rows": summary["changes"][0]["rows"]}]
    assert replay(journal)[left.client_order_id].state is State.FILLED
    assert summary["in_doubt"] == summary["orphans"] == summary["presumed_absent"] == []
    assert summary["journal_head"] == audit(journal).head

    # An order with our prefix the journal lacks: an orphan, status 1 until adopted.
    venue = PaperExchange(FakeClock(time.time()), seed=2, state_path=str(state))
    stray = venue.create_order("ETH/USDT", "limit", "buy", 0.1, 1000,
                               {"clientOrderId": "fsmxSTRAY"})
    venue.close()
    assert main(["recover", *common, "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["exit_status"] == 1 and "orphans" in summary["exit_meaning"]
    assert summary["orphans"] == [{"client_order_id": "fsmxSTRAY",
                                   "exchange_order_id": stray["id"], "symbol": "ETH/USDT",
                                   "side": "buy", "amount": "0.1", "status": "open",
                                   "adopted_as": None}]
    assert main(["recover", *common, "--json", "--adopt"]) == 0
    summary = json.loads(capsys.readouterr().out)
    (adopted,) = summary["orphans"]
    assert adopted["adopted_as"] in replay(journal)
    assert summary["exit_status"] == 0
