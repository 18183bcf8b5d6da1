"""The command line over HTTP: ``run --http`` (the paper venue behind the local Binance
server, traded through the real ccxt.binance client) and ``venue serve`` (the same server
as a process of its own, for a bot's end-to-end tests)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fsm_executor import State, audit, replay
from fsm_executor.cli._cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "signals.csv"


def test_run_over_http_trades_through_ccxt_binance_and_journals_the_same_truths(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal, state = tmp_path / "j.db", tmp_path / "venue.db"
    code = main(["run", str(EXAMPLE), "--journal", str(journal), "--faults", "--seed", "7",
                 "--http", "--venue-state", str(state)])
    out = capsys.readouterr().out
    assert code in (0, 3)
    orders = replay(journal)
    assert len(orders) == 43 and audit(journal).ok
    assert all(o.is_terminal or o.state is State.PRESUMED_ABSENT for o in orders.values())

    from fsm_executor.testing import FakeClock
    from fsm_executor.venue._paper import PaperExchange

    venue = PaperExchange(FakeClock(0), state_path=str(state))
    truth = venue.all_orders()
    venue.close()
    by_exchange_id = {o.exchange_order_id: o for o in orders.values() if o.exchange_order_id}
    assert {o["id"] for o in truth} == set(by_exchange_id)  # every placed order journaled
    assert len({o["clientOrderId"] for o in truth}) == len(truth)  # none placed twice
    assert "faults injected" in out


def test_run_async_over_http_trades_through_ccxt_async_support_on_the_real_clock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal, state, config = tmp_path / "j.db", tmp_path / "venue.db", tmp_path / "c.json"
    signals = tmp_path / "s.csv"
    signals.write_text("id,symbol,side,amount,price,order_type\n"
                       "m0,ETH/USDT,buy,0.1,2000,market\n"
                       "m1,BTC/USDT,sell,0.001,30000,market\n"
                       "rest,ETH/USDT,buy,0.1,1800,limit\n")
    # Binance's manners hold (a new order unseen by lookups for 5 s): real seconds here.
    config.write_text('{"order_timeout_seconds": 1, "poll_interval_seconds": 0.2}')
    code = main(["run", str(signals), "--journal", str(journal), "--seed", "7", "--http",
                 "--async", "--venue-state", str(state), "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    orders = {o.signal_id: o for o in replay(journal).values()}
    assert {k: o.state for k, o in orders.items()} == {
        "m0": State.FILLED, "m1": State.FILLED, "rest": State.CANCELLED}
    assert audit(journal).ok

    from fsm_executor.testing import FakeClock
    from fsm_executor.venue._paper import PaperExchange

    venue = PaperExchange(FakeClock(0), state_path=str(state))
    placed = {o["clientOrderId"] for o in venue.all_orders()}
    truths = {cid: venue.order_truth(client_order_id=cid) for cid in placed}
    venue.close()
    assert {o.client_order_id for o in orders.values()} == placed  # each placed once
    for order in orders.values():
        truth = truths[order.client_order_id]
        assert (order.filled, order.cost) == (truth.filled, truth.cost)


@pytest.mark.parametrize("args, message", [
    (["--http", "--imitate", "okx"], "needs --imitate binance"),
    (["--exchange", "binance", "--exchange-url", "http://10.0.0.1:9"], "loopback"),
    (["--exchange", "okx", "--exchange-url", "http://127.0.0.1:9"], "--exchange binance"),
])
@pytest.mark.parametrize("executor", [[], ["--async"]], ids=["sync", "async"])
def test_bad_http_options_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           args: list[str], message: str,
                                           executor: list[str]) -> None:
    code = main(["run", str(EXAMPLE), "--journal", str(tmp_path / "j.db"), *args, *executor])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "j.db").exists()


def test_venue_serve_refuses_to_start_without_keys(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FSM_EXECUTOR_API_KEY", raising=False)
    monkeypatch.delenv("FSM_EXECUTOR_API_SECRET", raising=False)
    assert main(["venue", "serve"]) == 2
    assert "FSM_EXECUTOR_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("executor", [[], ["--async"]], ids=["sync", "async"])
@pytest.mark.parametrize("as_json", [False, True])
def test_a_served_venue_takes_a_bots_orders_through_ccxt_binance(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, executor: list[str], as_json: bool) -> None:
    secret = "served-secret-0123456789abcdef"
    env = {**os.environ, "FSM_EXECUTOR_API_KEY": "served-key",
           "FSM_EXECUTOR_API_SECRET": secret}
    server = subprocess.Popen(
        [sys.executable, "-m", "fsm_executor.cli._cli", "venue", "serve",
         "--venue-state", str(tmp_path / "venue.db"), *(["--json"] if as_json else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if as_json:
            where = json.loads(line)
            url = where["url"]
            assert url == f"http://127.0.0.1:{where['port']}" and where["port"] > 0
        else:
            assert line.startswith("serving the paper venue (binance-like) at "
                                   "http://127.0.0.1:")
            url = line.split()[-1]
        signals = tmp_path / "s.csv"
        signals.write_text("id,symbol,side,amount,price,order_type\n"
                           "a,BTC/USDT,buy,0.01,30000,market\n"
                           "b,ETH/USDT,sell,0.2,2000,market\n")
        for name in ("FSM_EXECUTOR_API_KEY", "FSM_EXECUTOR_API_SECRET"):
            monkeypatch.setenv(name, env[name])
        journal = tmp_path / "j.db"
        code = main(["run", str(signals), "--journal", str(journal), "--exchange", "binance",
                     "--exchange-url", url, *executor])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        orders = replay(journal)
        assert sorted(o.state.value for o in orders.values()) == ["filled", "filled"]
        assert secret not in out + err and secret.encode() not in journal.read_bytes()
    finally:
        server.terminate()
        _, server_err = server.communicate(timeout=10)
    assert server.returncode == 0
    assert secret not in server_err


def test_venue_serve_on_a_port_already_taken_is_a_clear_error(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSM_EXECUTOR_API_KEY", "key")
    monkeypatch.setenv("FSM_EXECUTOR_API_SECRET", "secret")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["venue", "serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1 port {port}" in err and "Traceback" not in err
