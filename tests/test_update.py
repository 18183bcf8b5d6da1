"""submit() and update(): many orders in flight at once on the sync executor.

submit() returns once the placement is settled, without waiting for fills; update() does
one pass over every pending order, polls a market's open orders with one listing, commits
the rows of orders moving together in one transaction, and never raises for one order's
doubt."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from executor_tools import assert_money_matches, notes

from fsm_executor import FakeClock, State, TradeExecutor, UnknownOrder, audit, replay
from fsm_executor.exchange._calls import Call
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "jitter": 0,
          "retry_delay_seconds": 0.5, "max_retries": 2}
SYMBOLS = ("BTC/USDT", "ETH/USDT")
AMOUNTS = {"BTC/USDT": "0.01", "ETH/USDT": "0.1", "SOL/USDT": "1"}


@pytest.fixture
def venue(clock: FakeClock) -> PaperExchange:
    return PaperExchange(clock, seed=3, imitate="binance")


@pytest.fixture
def executor(venue: PaperExchange, journal_path: Path, clock: FakeClock) -> Any:
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=3) as ex:
        yield ex


def spy(executor: TradeExecutor) -> Counter[str]:
    """Counts the ccxt calls the executor makes, by method."""
    calls: Counter[str] = Counter()
    make = executor.adapter.make

    def counted(call: Call) -> Any:
        calls[call.method] += 1
        return make(call)

    executor.adapter.make = counted  # type: ignore[method-assign]
    return calls


def resting(venue: PaperExchange, symbol: str, n: int, prefix: str) -> list[dict[str, str]]:
    """Signals for buy orders far below the market: they rest."""
    price = str(venue.mid(symbol) * Decimal("0.9"))
    return [{"id": f"{prefix}{i}", "symbol": symbol, "side": "buy", "amount": AMOUNTS[symbol],
             "price": price} for i in range(n)]


def test_submit_returns_once_the_placement_is_settled_without_waiting_for_fills(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    calls = spy(executor)
    before = clock.now()
    order = executor.submit(resting(venue, "BTC/USDT", 1, "s")[0])
    assert order.state is State.SUBMITTED and order.exchange_order_id is not None
    assert clock.now() == before  # nothing waited for
    assert calls == {"load_markets": 1, "create_order": 1}
    assert venue.order_truth(order.exchange_order_id).status == "open"
    assert executor.pending_orders == [order]
    # The same signal again places nothing.
    assert executor.submit(resting(venue, "BTC/USDT", 1, "s")[0]) == order
    assert calls["create_order"] == 1


def test_a_pass_polls_each_market_with_one_listing_whatever_its_open_orders(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    for symbol in SYMBOLS:
        for signal in resting(venue, symbol, 10, symbol[:3]):
            executor.submit(signal)
    calls = spy(executor)
    assert executor.update() == []  # nothing due yet: the first look is a poll interval away
    assert sum(calls.values()) == 0
    for _ in range(6):  # Binance lists a new order only after a lag (5 s on this venue)
        clock.advance(1)
        executor.update()
    calls.clear()
    executor.stats["answered_by_listing"] = 0
    for _ in range(5):
        clock.advance(1)
        executor.update()
    assert calls == {"fetch_open_orders": 2 * 5}  # one per market and pass, not per order
    assert executor.stats["answered_by_listing"] == 20 * 5
    assert len(executor.pending_orders) == 20


def test_an_order_that_leaves_the_listing_is_fetched_to_learn_how_it_ended(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    orders = [executor.submit(s) for s in resting(venue, "BTC/USDT", 3, "b")]
    for _ in range(6):  # past Binance's listing lag: the listing holds them
        clock.advance(1)
        executor.update()
    venue.set_mid("BTC/USDT", venue.mid("BTC/USDT") * Decimal("0.85"))  # all fill
    calls = spy(executor)
    changed = []
    for _ in range(3):
        clock.advance(1)
        changed += executor.update()
    assert {o.client_order_id for o in changed} == {o.client_order_id for o in orders}
    ended = [executor.book.get(o.client_order_id) for o in orders]
    assert [o.state for o in ended] == [State.FILLED] * 3
    for order in ended:
        assert_money_matches(venue, order)
    assert calls["fetch_order"] == 3  # each fetched once it left the listing
    assert executor.pending_orders == []
    assert audit(executor.book.journal.path).ok


def test_orders_timing_out_together_commit_their_rows_in_one_transaction(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    orders = [executor.submit(s) for s in resting(venue, "ETH/USDT", 8, "e")]
    for _ in range(29):
        clock.advance(1)
        executor.update()
    appends: list[int] = []
    append = executor.book.journal.append
    monkeypatch.setattr(executor.book.journal, "append",
                        lambda rows, ts, *more: appends.append(len(rows))
                        or append(rows, ts, *more))
    clock.advance(1)
    changed = executor.update()
    assert [o.state for o in changed] == [State.CANCELLED] * 8
    # request_cancel for all eight in one commit, then the cancel notes for all eight in
    # one, then the eight cancels confirmed in one.
    assert appends[:3] == [8, 8, 8]
    assert all(venue.order_truth(o.exchange_order_id).status == "canceled" for o in orders)
    assert replay(executor.book.journal.path) == {o.client_order_id: o
                                                  for o in executor.book.orders()}


def test_one_order_in_doubt_holds_no_other_up_and_is_looked_at_again(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    doubtful = executor.submit(resting(venue, "SOL/USDT", 1, "x")[0])
    for _ in range(15):
        clock.advance(1)
        executor.update()
    fine = executor.submit(resting(venue, "BTC/USDT", 1, "y")[0])
    for _ in range(14):
        clock.advance(1)
        executor.update()
    # The first order times out, and its cancel meets the exchange down three times: more
    # than its retries.
    venue.inject("cancel_order", "unavailable", times=3)
    for _ in range(3):
        clock.advance(1)
        executor.update()  # no OrderInDoubt raised
    assert list(executor.doubts) == [doubtful.client_order_id]
    assert "cancel_order" in str(executor.doubts[doubtful.client_order_id])
    assert executor.book.get(doubtful.client_order_id).state is State.PENDING_CANCEL
    # The other order is followed meanwhile: it fills.
    venue.set_mid("BTC/USDT", venue.mid("BTC/USDT") * Decimal("0.85"))
    for _ in range(5):
        clock.advance(1)
        executor.update()
    assert executor.book.get(fine.client_order_id).state is State.FILLED
    assert executor.book.get(doubtful.client_order_id).state is State.PENDING_CANCEL
    # Looked at again every watch interval: its cancel budget is spent (journaled, so a
    # restart would not renew it either), so no cancel is sent any more, only a look.
    calls = spy(executor)
    clock.advance(CONFIG["order_timeout_seconds"])
    assert executor.update() == []
    assert list(executor.doubts) == [doubtful.client_order_id]
    assert calls == Counter({"fetch_order": 1})
    # The look settles it once the exchange says it ended: here it filled meanwhile.
    venue.set_mid("SOL/USDT", venue.mid("SOL/USDT") * Decimal("0.85"))
    clock.advance(CONFIG["order_timeout_seconds"])
    [changed] = executor.update()
    assert (changed.client_order_id, changed.state) == (doubtful.client_order_id, State.FILLED)
    assert executor.doubts == {}


def test_cancel_takes_an_order_from_the_pass_and_the_others_go_on(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    first, second = (executor.submit(s) for s in resting(venue, "BTC/USDT", 2, "c"))
    clock.advance(1)
    executor.update()
    assert executor.cancel(first.client_order_id).state is State.CANCELLED
    clock.advance(1)
    executor.update()
    assert [o.client_order_id for o in executor.pending_orders] == [second.client_order_id]
    assert venue.order_truth(first.exchange_order_id).status == "canceled"


def test_each_order_takes_its_own_line_of_the_listing(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    mid = venue.mid("BTC/USDT")
    prices = [mid * Decimal(f) for f in ("0.90", "0.95", "0.97")]
    orders = [executor.submit({"id": f"p{i}", "symbol": "BTC/USDT", "side": "buy",
                               "amount": "0.01", "price": str(p)})
              for i, p in enumerate(prices)]
    for _ in range(6):  # past the listing lag
        clock.advance(1)
        executor.update()
    venue.set_mid("BTC/USDT", mid * Decimal("0.96"))  # only the dearest bid is hit
    for _ in range(3):
        clock.advance(1)
        executor.update()
    for order in orders:
        now = executor.book.get(order.client_order_id)
        truth = venue.order_truth(now.exchange_order_id)
        assert (now.filled, now.cost) == (truth.filled, truth.cost)
        assert "id_mismatch" not in notes(executor.book.journal.path, now.client_order_id)
    assert executor.book.get(orders[2].client_order_id).filled > 0
    assert executor.stats["answered_by_listing"] > 0


def test_a_rate_limit_met_in_a_pass_holds_the_requests_decided_before_it(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    for symbol in SYMBOLS:  # one order per market: each polled with its own fetch
        executor.submit(resting(venue, symbol, 1, symbol[:3])[0])
    for _ in range(6):
        clock.advance(1)
        executor.update()
    calls = spy(executor)
    venue.inject("fetch_order", "rate_limit")
    clock.advance(1)
    executor.update()
    assert calls == {"fetch_order": 1}  # the second order's fetch waits with the first
    assert executor.stats["rate_limited"] >= 1
    for _ in range(9):  # within the 10 s cool-down: nothing at all
        clock.advance(1)
        executor.update()
    assert calls == {"fetch_order": 1}
    clock.advance(1)
    executor.update()
    assert calls["fetch_order"] == 3  # both asked again once it is over


def test_orders_this_run_placed_never_call_for_a_recovery(
        executor: TradeExecutor, venue: PaperExchange, clock: FakeClock) -> None:
    # No recover() called: the journal opened empty, so nothing in it is left over.
    venue.inject("create_order", "timeout_after")  # the first's answer is lost
    lost = executor.submit(resting(venue, "ETH/USDT", 1, "e")[0])
    calls = spy(executor)
    start = clock.now()
    executor.submit(resting(venue, "BTC/USDT", 1, "b")[0])
    # The second placement went straight out: no listing, no lookup of the first (a
    # recovery would list open orders and look the lost create up again).
    assert lost.state in (State.SUBMIT_UNKNOWN, State.SUBMITTED, State.PRESUMED_ABSENT)
    assert set(calls) <= {"create_order", "fetch_ticker", "fetch_order_book"}, calls
    assert clock.now() - start < 1
    assert executor.stats["recovered_changes"] == 0
    assert executor.last_recovery is None


def test_any_order_of_the_journal_is_found_by_its_id_or_its_signal(
        executor: TradeExecutor, venue: PaperExchange) -> None:
    price = str(venue.mid("BTC/USDT") * Decimal("1.01"))
    done = executor.execute_signal({"id": "now", "symbol": "BTC/USDT", "side": "buy",
                                    "amount": "0.01", "price": price})
    assert done.is_terminal and executor.pending_orders == []
    assert executor.order(done.client_order_id) == done
    assert executor.order_for_signal("now") == done
    assert executor.order_for_signal("never") is None
    with pytest.raises(UnknownOrder):
        executor.order("no-such-order")
