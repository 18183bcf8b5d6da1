"""Recovery: a journal left by a stopped run, settled with the exchange."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from fsm_executor import (
    Acknowledge,
    FakeClock,
    JournalReader,
    OrderBook,
    OrderSpec,
    RequestCancel,
    State,
    Submit,
    TradeExecutor,
    audit,
)
from fsm_executor.cli._cli import main
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"not_found_confirmations": 3, "not_found_interval_seconds": 5, "jitter": 0.0,
          "order_timeout_seconds": 30}


@pytest.fixture
def venue(clock: FakeClock) -> PaperExchange:
    return PaperExchange(clock, seed=2, fill_probability=1.0)


def stopped_run(journal_path: Path, clock: FakeClock, cid: str = "fsmxA1",
                price: str = "30000") -> OrderBook:
    """A journal whose run stopped right after committing ``submit``."""
    book = OrderBook.open(journal_path, clock=clock)
    book.create(OrderSpec(cid, "BTC/USDT", "buy", "limit", "0.01", price, "sig-1"))
    book.apply(cid, Submit())
    return book


def rows(path: Path, cid: str) -> list[tuple[str, str]]:
    with JournalReader(path) as reader:
        return [(e.trigger, e.origin) for e in reader.entries() if e.order_id == cid]


def recover(venue: Any, path: Path, clock: FakeClock, **kwargs: Any) -> Any:
    with TradeExecutor(venue, path, CONFIG, clock=clock, seed=1) as ex:
        return ex.recover(**kwargs), ex.book.get("fsmxA1") if "fsmxA1" in ex.book else None


def test_killed_between_commit_and_request_the_order_is_presumed_absent_not_failed(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    start = clock.now()
    report, order = recover(venue, journal_path, clock)
    assert order.state is State.PRESUMED_ABSENT and order.failure is None
    assert venue.all_orders() == []
    # Three not-found answers 5 s apart, then one more once Binance's visibility grace
    # (30 s) has passed.
    assert [t for t, _ in rows(journal_path, "fsmxA1")].count("note") == 4
    assert clock.now() - start >= 30
    assert all(origin == "reconcile" for _, origin in rows(journal_path, "fsmxA1")[2:])
    assert report.changes[0].before == "pending_submit"
    assert report.changes[0].after == "presumed_absent"
    assert audit(journal_path).ok


def test_a_presumed_absent_order_fails_only_once_the_lookup_window_has_passed(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    recover(venue, journal_path, clock)
    clock.advance(3600)
    report, order = recover(venue, journal_path, clock)
    assert order.state is State.PRESUMED_ABSENT  # watched: an hour proves nothing
    assert report.changes == () and report.presumed_absent == ("fsmxA1",)
    clock.advance(90 * 86400)  # Binance's lookup window for orders that ended unfilled
    _, order = recover(venue, journal_path, clock)
    assert order.state is State.FAILED and order.failure == "absent"
    assert "lookup window" in (order.reason or "")
    assert [t for t, _ in rows(journal_path, "fsmxA1")][-1] == "declare_absent"
    assert venue.all_orders() == []


def test_a_presumed_absent_order_that_shows_up_late_is_acknowledged_and_followed(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock, price="30100").close()
    recover(venue, journal_path, clock)
    # It was on its way after all (a slow gateway): it lands after the grace period.
    placed = venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30100,
                                {"clientOrderId": "fsmxA1"})
    clock.advance(60)
    report, order = recover(venue, journal_path, clock)
    assert order.exchange_order_id == placed["id"]
    assert order.state is State.FILLED and order.filled == order.amount
    triggers = [t for t, _ in rows(journal_path, "fsmxA1")]
    assert triggers.index("presume_absent") < triggers.index("acknowledge")
    assert report.orphans == ()
    assert audit(journal_path).ok


def test_killed_after_the_exchange_accepted_the_order_takes_the_exchange_state(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock, price="30100").close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30100, {"clientOrderId": "fsmxA1"})
    clock.advance(10)  # the bot is down; the venue goes on filling
    report, order = recover(venue, journal_path, clock)
    truth = venue.orders_for_client_id("fsmxA1")
    assert len(truth) == 1
    assert order.exchange_order_id == truth[0]["id"]
    assert truth[0]["status"] == "closed"
    assert order.filled == Decimal(str(truth[0]["filled"])) == order.amount
    assert order.state is State.FILLED
    triggers = [t for t, _ in rows(journal_path, "fsmxA1")]
    assert triggers[:4] == ["create", "submit", "lose_answer", "acknowledge"]
    assert {o for _, o in rows(journal_path, "fsmxA1")[2:]} == {"reconcile"}
    assert audit(journal_path).ok


def test_an_open_order_that_filled_while_the_bot_was_down_is_brought_up_to_date(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    book = stopped_run(journal_path, clock, price="27000")  # rests under the market
    placed = venue.create_order("BTC/USDT", "limit", "buy", 0.01, 27000,
                                {"clientOrderId": "fsmxA1"})
    book.apply("fsmxA1", Acknowledge(placed["id"]))
    book.close()
    venue.set_mid("BTC/USDT", "26000")  # the market comes down to the order while down
    clock.advance(30)
    _, order = recover(venue, journal_path, clock)
    assert order.state is State.FILLED
    assert order.filled == Decimal("0.01")
    assert venue.open_order_count() == 0


def test_a_cancel_whose_outcome_was_unknown_is_settled_by_the_exchange(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    book = stopped_run(journal_path, clock, price="27000")
    placed = venue.create_order("BTC/USDT", "limit", "buy", 0.01, 27000,
                                {"clientOrderId": "fsmxA1"})
    book.apply("fsmxA1", Acknowledge(placed["id"]))
    book.apply("fsmxA1", RequestCancel("timeout"))
    book.close()
    _, order = recover(venue, journal_path, clock)
    assert order.state is State.CANCELLED
    assert venue.open_order_count() == 0


class Unreachable(PaperExchange):
    def fetch_order(self, *args: Any, **kwargs: Any) -> Any:
        raise ccxt.RequestTimeout("timed out")

    def fetch_open_orders(self, *args: Any, **kwargs: Any) -> Any:
        raise ccxt.ExchangeNotAvailable("502 Bad Gateway")

    fetch_closed_orders = fetch_open_orders


def test_network_errors_never_count_as_not_found(journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    report, order = recover(Unreachable(clock, seed=2), journal_path, clock)
    assert order.state is State.SUBMIT_UNKNOWN  # in doubt, not failed
    assert len(report.in_doubt) == 1
    assert "note" not in [t for t, _ in rows(journal_path, "fsmxA1")]


def test_recovering_twice_changes_nothing_the_second_time(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 27000, {"clientOrderId": "fsmxA1"})
    first, _ = recover(venue, journal_path, clock)
    assert first.changes
    size = len(rows(journal_path, "fsmxA1"))
    second, _ = recover(venue, journal_path, clock)
    assert second.changes == ()
    assert len(rows(journal_path, "fsmxA1")) == size


def test_orders_with_our_prefix_unknown_to_the_journal_are_reported_then_adopted(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": "fsmxA1"})
    venue.create_order("BTC/USDT", "limit", "buy", 0.02, 27000, {"clientOrderId": "fsmxLOST"})
    venue.create_order("BTC/USDT", "limit", "buy", 0.02, 27000, {"clientOrderId": "manual1"})
    report, _ = recover(venue, journal_path, clock)
    assert [o.client_order_id for o in report.orphans] == ["fsmxLOST"]
    assert report.adopted == ()
    report, _ = recover(venue, journal_path, clock, adopt=True)
    assert report.adopted == ("fsmxLOST",)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock) as ex:
        adopted = ex.book.get("fsmxLOST")
        assert adopted.state is State.SUBMITTED and adopted.amount == Decimal("0.02")
        assert "manual1" not in ex.book
    assert {o for _, o in rows(journal_path, "fsmxLOST")} == {"reconcile"}
    assert audit(journal_path).ok


def test_a_new_signal_waits_for_recovery_of_what_was_in_flight(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": "fsmxA1"})
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as ex:
        ex.execute_signal({"id": "sig-2", "symbol": "ETH/USDT", "side": "buy",
                           "amount": "0.1", "price": "2000"})
        settled = ex.book.get("fsmxA1")
        assert settled.state is State.SUBMITTED  # acknowledged, resting under the market
        assert settled.exchange_order_id == venue.orders_for_client_id("fsmxA1")[0]["id"]
    with JournalReader(journal_path) as reader:
        order_of_rows = [e.order_id for e in reader.entries()]
    # Everything about the stopped order came before anything of the new signal.
    last_a1 = max(i for i, o in enumerate(order_of_rows) if o == "fsmxA1")
    first_new = min(i for i, o in enumerate(order_of_rows) if o != "fsmxA1")
    assert last_a1 < first_new


def test_the_audit_timeline_marks_reconciliation_rows(
        venue: PaperExchange, journal_path: Path, clock: FakeClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    stopped_run(journal_path, clock).close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": "fsmxA1"})
    recover(venue, journal_path, clock)
    assert main(["audit", str(journal_path), "--order", "fsmxA1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "[reconcile]" not in out[1]  # submit: live
    assert all("[reconcile]" in line for line in out[2:])


def test_cli_recover_prints_what_it_changed(tmp_path: Path, clock: FakeClock,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    journal, state = tmp_path / "j.db", tmp_path / "venue.db"
    venue = PaperExchange(clock, seed=2, state_path=str(state))
    stopped_run(journal, clock).close()
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 30000, {"clientOrderId": "fsmxA1"})
    venue.close()
    assert main(["recover", "--journal", str(journal), "--venue-state", str(state)]) == 0
    out = capsys.readouterr().out
    assert "1 unfinished order(s) checked, 1 changed" in out
    assert "fsmxA1  pending_submit -> " in out


def test_a_second_exchange_order_under_a_known_client_id_is_an_orphan_and_adoptable(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    # The journal knows fsmxA1 as one exchange order; a blind re-send elsewhere (or by
    # another program) placed a second one under the same client order id.
    book = stopped_run(journal_path, clock)
    first = venue.create_order("BTC/USDT", "market", "buy", 0.01, None,
                               {"clientOrderId": "fsmxA1"})
    book.apply("fsmxA1", Acknowledge(first["id"]))
    book.close()
    second = venue.create_order("BTC/USDT", "market", "buy", 0.01, None,
                                {"clientOrderId": "fsmxA1"})
    clock.advance(10)
    report, order = recover(venue, journal_path, clock)
    assert order.exchange_order_id == first["id"]
    assert [o.id for o in report.orphans] == [second["id"]]
    assert f"exchange id {second['id']}" in report.render()
    report, _ = recover(venue, journal_path, clock, adopt=True)
    journal_id = f"fsmxA1~{second['id']}"
    assert report.adopted == (journal_id,)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock) as ex:
        adopted = ex.book.get(journal_id)
        assert adopted.exchange_order_id == second["id"] and adopted.state is State.FILLED
    report, _ = recover(venue, journal_path, clock)
    assert report.orphans == ()  # known by its exchange id now
    assert audit(journal_path).ok


def test_an_order_the_journal_gave_up_on_that_the_exchange_holds_is_an_orphan(
        venue: PaperExchange, journal_path: Path, clock: FakeClock) -> None:
    stopped_run(journal_path, clock).close()
    recover(venue, journal_path, clock)
    clock.advance(91 * 86400)
    _, order = recover(venue, journal_path, clock)
    assert order.state is State.FAILED and order.failure == "absent"
    late = venue.create_order("BTC/USDT", "limit", "buy", 0.01, 20000,
                              {"clientOrderId": "fsmxA1"})
    clock.advance(10)
    report, _ = recover(venue, journal_path, clock)
    assert [o.id for o in report.orphans] == [late["id"]]


def test_where_listings_need_no_symbol_orphans_in_markets_the_journal_never_traded_are_found(
        journal_path: Path, clock: FakeClock) -> None:
    okx = PaperExchange(clock, seed=2, imitate="okx")  # OKX lists open orders of all markets
    stopped_run(journal_path, clock).close()  # the journal knows BTC/USDT only
    stray = okx.create_order("SOL/USDT", "limit", "buy", 1, 90, {"clientOrderId": "fsmxSOL"})
    clock.advance(10)
    report, _ = recover(okx, journal_path, clock)
    assert [o.id for o in report.orphans] == [stray["id"]]
    later = FakeClock(clock.now())
    binance = PaperExchange(later, seed=2)  # Binance lists per symbol only
    binance.create_order("SOL/USDT", "limit", "buy", 1, 90, {"clientOrderId": "fsmxSOL"})
    later.advance(10)
    assert [o["id"] for o in binance.fetch_open_orders("SOL/USDT")]  # visible by now
    report, _ = recover(binance, journal_path, later)
    assert report.orphans == ()  # not searched: pass recover(symbols=...) for such markets


def test_cli_recover_exits_3_while_orders_are_presumed_absent_and_1_for_orphans(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    clock = FakeClock(time.time())  # the command line's simulated time starts from now
    journal, state = tmp_path / "j.db", tmp_path / "venue.db"
    PaperExchange(clock, seed=2, state_path=str(state)).close()
    stopped_run(journal, clock).close()  # killed before the request left: nothing placed
    assert main(["recover", "--journal", str(journal), "--venue-state", str(state)]) == 3
    assert "1 presumed absent (watched)" in capsys.readouterr().out
    venue = PaperExchange(clock, seed=2, state_path=str(state))
    venue.create_order("BTC/USDT", "limit", "buy", 0.01, 20000, {"clientOrderId": "fsmxZZ"})
    venue.close()
    assert main(["recover", "--journal", str(journal), "--venue-state", str(state)]) == 1
    assert "not in the journal: fsmxZZ" in capsys.readouterr().out
