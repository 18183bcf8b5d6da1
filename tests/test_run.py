"""``fsm-executor run``: the main job, as a user runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fsm_executor import State, audit, replay
from fsm_executor.cli._cli import main

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
