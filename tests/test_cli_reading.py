"""The reading commands as a user runs them: ``orders``, ``export`` and ``replay`` (their
output, their exit statuses, a journal a bot is writing meanwhile, a foreign file), and
how the command line draws a table on a terminal and elsewhere."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from journal_tools import spec

from fsm_executor import (
    Acknowledge,
    FakeClock,
    Fill,
    Journal,
    OrderBook,
    OrderSpec,
    Submit,
    TradeExecutor,
    replay,
)
from fsm_executor.cli._cli import main
from fsm_executor.cli._show import age, table
from fsm_executor.core._answers import ExchangeOrder
from fsm_executor.core._decide import observe
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "jitter": 0}


def signal(venue: PaperExchange, sid: str, symbol: str, offset: str) -> dict[str, str]:
    amount = "0.01" if symbol == "BTC/USDT" else "0.1"
    return {"id": sid, "symbol": symbol, "side": "buy", "amount": amount,
            "price": str(venue.mid(symbol) * Decimal(offset))}


@pytest.fixture
def bot(journal_path: Path) -> Iterator[TradeExecutor]:
    """A bot with a filled order, a cancelled one and one resting, its journal open."""
    clock = FakeClock()
    venue = PaperExchange(clock, seed=4, fill_probability=1.0)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=4) as executor:
        executor.execute_signal(signal(venue, "filled", "BTC/USDT", "1.01"))
        rests = executor.submit(signal(venue, "cancelled", "ETH/USDT", "0.9"))
        executor.cancel(rests.client_order_id)
        executor.submit(signal(venue, "open", "ETH/USDT", "0.9"))
        yield executor


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_orders_lists_every_order_of_a_journal_a_bot_is_writing(
        bot: TradeExecutor, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "orders", str(journal_path))
    assert code == 0 and err == ""
    header, *lines = out.splitlines()
    assert header.split() == ["order", "signal", "symbol", "side", "type", "state", "filled",
                              "average", "fees", "age", "reason"]
    by_signal = {line.split()[1]: line for line in lines}
    assert set(by_signal) == {"filled", "cancelled", "open"}
    filled = bot.order_for_signal("filled")
    assert filled is not None
    assert f"{filled.filled}/{filled.amount}" in by_signal["filled"]
    assert f"{filled.average}" in by_signal["filled"]
    assert " cancelled " in by_signal["cancelled"] and " submitted " in by_signal["open"]
    # Still written to: a new order shows up at the next look.
    bot.submit({"id": "later", "symbol": "BTC/USDT", "side": "buy", "amount": "0.01",
                "price": "1000"})
    code, out, _ = cli(capsys, "orders", str(journal_path), "--open")
    assert code == 0
    assert sorted(line.split()[1] for line in out.splitlines()[1:]) == ["later", "open"]


def test_orders_selects_a_market_and_speaks_json(
        bot: TradeExecutor, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "orders", str(journal_path), "--symbol", "ETH/USDT", "--json")
    assert code == 0
    listed = json.loads(out)
    journaled = replay(journal_path)
    assert {o["signal_id"] for o in listed} == {"cancelled", "open"}
    for order in listed:
        assert order == journaled[order["client_order_id"]].to_json()


def test_export_writes_orders_and_fills_for_accounting_exactly(
        bot: TradeExecutor, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "export", str(journal_path))
    assert code == 0
    orders = {r["signal_id"]: r for r in csv.DictReader(io.StringIO(out))}
    filled = bot.order_for_signal("filled")
    assert filled is not None
    row = orders["filled"]
    assert (row["state"], row["filled"], row["cost"], row["average"]) == (
        "filled", str(filled.filled), str(filled.cost), str(filled.average))
    assert row["fees"] == ", ".join(f"{v} {k}" for k, v in sorted(filled.fees.items()))
    assert orders["open"]["state"] == "submitted" and orders["open"]["average"] == ""

    code, out, _ = cli(capsys, "export", str(journal_path), "--what", "fills",
                       "--format", "jsonl")
    assert code == 0
    fills = [json.loads(line) for line in out.splitlines()]
    mine = [f for f in fills if f["signal_id"] == "filled"]
    assert mine and sum(Decimal(f["amount"]) for f in mine) == filled.filled
    assert sum(Decimal(f["cost"]) for f in mine) == filled.cost
    assert {f["trade_id"] for f in mine} == set(filled.fills)


def test_replay_counts_the_orders_by_state(
        bot: TradeExecutor, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "replay", str(journal_path), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["states"] == {"cancelled": 1, "filled": 1, "submitted": 1}
    assert summary["head"] == bot.book.journal.head
    assert summary["rows"] == int(bot.book.journal.head.split(":")[0])
    code, out, _ = cli(capsys, "replay", str(journal_path))
    assert code == 0 and "every transition re-validated" in out
    assert f"journal head {bot.book.journal.head}" in out


def test_a_journal_that_does_not_replay_exits_1_and_a_foreign_file_2(
        bot: TradeExecutor, journal_path: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bot.close()
    conn = sqlite3.connect(journal_path)
    with conn:  # a row the table does not allow: filled straight from created
        conn.execute("UPDATE journal SET dest = 'filled' WHERE trigger = 'submit'")
        seq, order_id = conn.execute("SELECT seq, order_id FROM journal WHERE trigger ="
                                     " 'submit' ORDER BY seq LIMIT 1").fetchone()
    conn.close()
    code, out, err = cli(capsys, "replay", str(journal_path))
    assert code == 1 and out == ""
    assert err == (f"fsm-executor: {journal_path}: order {order_id!r}: 'submit' recorded as "
                   "created -> filled, but the table gives created -> pending_submit "
                   f"(row {seq}); `fsm-executor audit` says more\n")
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a journal\n")
    for command in ("orders", "export", "replay"):
        code, out, err = cli(capsys, command, str(foreign))
        assert code == 2 and out == "", command
        assert "not a SQLite file" in err and "Traceback" not in err


def test_replay_stops_at_the_first_illegal_row_and_says_it_not_damage_further_on(
        journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Journal.open(journal_path) as journal:
        journal.append([("o1", "create", "", "created", spec("o1").to_payload(), "live"),
                        ("o1", "submit", "created", "filled", Submit().to_payload(), "live")],
                       1.0)
        # Rows enough that the damage below is read in a later batch than the illegal row.
        journal.append([(f"x{i}", "create", "", "created", spec(f"x{i}").to_payload(), "live")
                        for i in range(600)], 2.0)
    conn = sqlite3.connect(journal_path)
    with conn:  # the last row's text is not UTF-8: a reading that went on would stop there
        conn.execute("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq ="
                     " (SELECT max(seq) FROM journal)", (b"\xff\xfe{",))
    conn.close()
    code, out, err = cli(capsys, "replay", str(journal_path))
    assert code == 1 and out == ""
    assert err == (f"fsm-executor: {journal_path}: order 'o1': 'submit' recorded as created ->"
                   " filled, but the table gives created -> pending_submit (row 2);"
                   " `fsm-executor audit` says more\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_table_is_drawn_on_a_terminal_and_plain_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    rows = [("a", "1.5"), ("bb", "10")]
    plain, drawn = io.StringIO(), Terminal()
    table(("name", "figure"), rows, plain, right=("figure",))
    table(("name", "figure"), rows, drawn, right=("figure",))
    assert plain.getvalue().splitlines() == ["name  figure", "a        1.5", "bb        10"]
    assert "┃" in drawn.getvalue() or "│" in drawn.getvalue()  # rich's box
    assert "1.5" in drawn.getvalue()


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.9, "59s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"),
    (86399, "23h59m"), (86400 * 3 + 7200, "3d02h"), (-5, "0s"),
])
def test_ages_read_as_people_say_them(seconds: float, text: str) -> None:
    assert age(seconds) == text


def test_export_gives_every_fill_the_time_the_journal_recorded_it_beside_the_exchanges(
        journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    clock = FakeClock(start)
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("c1", Submit())
        book.apply("c1", Acknowledge("E1"))
        clock.advance(10)
        # Half filled, no trade listed yet: an inferred fill, which has no exchange time.
        seen = ExchangeOrder("E1", "c1", "open", Decimal(1), Decimal("0.5"), None,
                             Decimal(50), None, None)
        book.apply_all("c1", observe(book.get("c1"), seen, []))

        def fills() -> dict[str, dict[str, str]]:
            code, out, _ = cli(capsys, "export", str(journal_path), "--what", "fills")
            assert code == 0
            return {r["trade_id"]: r for r in csv.DictReader(io.StringIO(out))}

        (inferred,) = fills().values()
        assert inferred["inferred"] == "yes" and inferred["timestamp"] == ""
        assert inferred["recorded_at"] == "2026-01-01T00:00:10.000+00:00"
        # The trades are listed later: they replace it, each with the exchange's own time.
        clock.advance(20)
        trades = [Fill("t1", "0.5", "100", timestamp=start + 5),
                  Fill("t2", "0.5", "110", timestamp=start + 25)]
        seen = ExchangeOrder("E1", "c1", "closed", Decimal(1), Decimal(1), None,
                             Decimal(105), None, None)
        book.apply_all("c1", observe(book.get("c1"), seen, trades))
        listed = fills()
        assert set(listed) == {"t1", "t2"}
        assert [listed[t]["timestamp"] for t in ("t1", "t2")] == [
            "2026-01-01T00:00:05.000+00:00", "2026-01-01T00:00:25.000+00:00"]
        assert {r["recorded_at"] for r in listed.values()} == {"2026-01-01T00:00:30.000+00:00"}
