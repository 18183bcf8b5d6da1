"""One scenario per failure the executor must meet, on the paper venue: the final state,
the exchange's ground truth, the journal's contents, and replay to the same state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from async_face import AsyncFace
from executor_tools import ScheduledClock, assert_money_matches, notes, triggers

from fsm_executor import (
    CancelIncomplete,
    JournalReader,
    Order,
    OrderInDoubt,
    RequestCancel,
    State,
    TradeExecutor,
    audit,
    replay,
)
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 30, "poll_interval_seconds": 1, "max_retries": 3,
          "not_found_confirmations": 2, "jitter": 0.0}


@pytest.fixture
def clock() -> ScheduledClock:
    return ScheduledClock()


@pytest.fixture
def venue(clock: ScheduledClock) -> PaperExchange:
    return PaperExchange(clock, seed=3, fill_probability=1.0)


@pytest.fixture(params=["sync", "async"])
def executor(request: pytest.FixtureRequest, venue: PaperExchange, journal_path: Path,
             clock: ScheduledClock) -> Iterator[TradeExecutor]:
    """Each scenario against the sync executor and the asyncio one (async_face.py)."""
    kind = TradeExecutor if request.param == "sync" else AsyncFace
    with kind(venue, journal_path, CONFIG, clock=clock, seed=1) as ex:
        yield ex  # type: ignore[misc]


def buy(signal_id: str = "s1", amount: str = "0.01", price: str = "30000",
        order_type: str = "limit", symbol: str = "BTC/USDT") -> dict[str, Any]:
    return {"id": signal_id, "symbol": symbol, "side": "buy", "amount": amount,
            "price": price, "order_type": order_type}


def assert_consistent(executor: TradeExecutor, venue: PaperExchange, order: Order,
                      journal_path: Path, placed: int = 1) -> None:
    """Exactly ``placed`` exchange orders for it, nothing left open by mistake, the
    journal audits clean and replays to the live state."""
    assert len(venue.orders_for_client_id(order.client_order_id)) == placed
    assert venue.open_order_count() == 0
    live = {o.client_order_id: o for o in executor.book.orders()}
    assert replay(journal_path) == live
    assert audit(journal_path).ok
    if order.is_terminal:
        assert_money_matches(venue, executor.book.get(order.client_order_id))


def test_a_clean_limit_order_fills_and_is_journaled_before_each_effect(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    order = executor.execute_signal(buy())
    assert order.state is State.FILLED
    assert order.filled == order.amount == Decimal("0.01")
    assert order.exchange_order_id is not None
    assert triggers(journal_path, order.client_order_id)[:3] == ["create", "submit",
                                                                  "acknowledge"]
    truth = venue.orders_for_client_id(order.client_order_id)[0]
    assert Decimal(str(truth["filled"])) == order.filled
    assert_consistent(executor, venue, order, journal_path)


def test_the_sync_executor_serves_signals_from_threads_other_than_its_own(
        venue: PaperExchange, journal_path: Path, clock: ScheduledClock) -> None:
    # A bot hands signals over from a worker thread; the executor (and its journal's
    # connection) was made in the main one.
    done: list[Order | BaseException] = []

    def work(executor: TradeExecutor, signal_id: str) -> None:
        try:
            done.append(executor.execute_signal(buy(signal_id)))
        except BaseException as exc:  # handed over to the test's thread
            done.append(exc)

    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        for signal_id in ("s1", "s2"):
            worker = threading.Thread(target=work, args=(executor, signal_id))
            worker.start()
            worker.join()
        assert [getattr(o, "state", o) for o in done] == [State.FILLED, State.FILLED]
        for order in done:
            assert isinstance(order, Order)
            assert_consistent(executor, venue, order, journal_path)


def test_on_binance_a_create_lost_before_arrival_is_presumed_absent_and_never_resent(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path,
        clock: ScheduledClock) -> None:
    start = clock.now()
    venue.inject("create_order", "timeout_before")
    order = executor.execute_signal(buy())
    assert order.state is State.PRESUMED_ABSENT
    steps = triggers(journal_path, order.client_order_id)
    assert steps[:4] == ["create", "submit", "lose_answer", "note"]
    assert steps[-1] == "presume_absent" and "resubmit" not in steps
    # Not found through Binance's visibility grace (30 s), asked again at its end.
    assert clock.now() - start >= 30
    assert notes(journal_path, order.client_order_id).count("not_found") == 3
    assert executor.stats["resubmits"] == 0 and executor.stats["presumed_absent"] == 1
    assert order in executor.pending_orders  # still watched
    assert_consistent(executor, venue, order, journal_path, placed=0)


@pytest.mark.parametrize("fault", ["timeout_before", "unavailable"])
def test_where_ids_are_unique_forever_a_create_lost_before_arrival_is_resent_with_the_same_id(
        clock: ScheduledClock, journal_path: Path, fault: str) -> None:
    venue = PaperExchange(clock, seed=3, fill_probability=1.0, imitate="bybit")
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1) as executor:
        venue.inject("create_order", fault)
        order = executor.execute_signal(buy())
        assert order.state is State.FILLED
        steps = triggers(journal_path, order.client_order_id)
        assert steps[:3] == ["create", "submit", "lose_answer"]
        assert steps.index("presume_absent") < steps.index("resubmit")
        assert executor.stats["resubmits"] == 1
        assert_consistent(executor, venue, order, journal_path)


def test_timeout_after_acceptance_is_found_by_client_id_once_visible_and_never_resent(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    venue.inject("create_order", "timeout_after")
    order = executor.execute_signal(buy())
    assert order.state is State.FILLED
    steps = triggers(journal_path, order.client_order_id)
    assert steps[:3] == ["create", "submit", "lose_answer"]
    # Binance cannot see it for a while: not-found answers, then found, never re-sent.
    assert notes(journal_path, order.client_order_id).count("not_found") == 2
    assert "acknowledge" in steps and "presume_absent" not in steps
    assert "resubmit" not in steps
    assert executor.stats["unknown_resolved"] == 1
    assert_consistent(executor, venue, order, journal_path)


def test_every_row_the_live_path_writes_says_live(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    # A lost answer, lookups and a cancel on top of the plain path: rows of many kinds.
    venue.inject("create_order", "timeout_after")
    executor.execute_signal(buy())
    executor.execute_signal(_resting_buy(venue, "s2"))
    with JournalReader(journal_path) as reader:
        entries = list(reader.entries())
    assert {e.trigger for e in entries} >= {"create", "submit", "lose_answer", "note",
                                           "acknowledge", "fill", "request_cancel", "cancel"}
    assert {e.origin for e in entries} == {"live"}


def test_exchange_not_available_on_create_is_an_unknown_outcome_not_a_failure(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    venue.inject("create_order", "unavailable")
    order = executor.execute_signal(buy())
    assert order.state is State.PRESUMED_ABSENT and order.failure is None
    assert "lose_answer" in triggers(journal_path, order.client_order_id)
    assert_consistent(executor, venue, order, journal_path, placed=0)


def test_rate_limits_wait_at_least_the_cool_down_and_are_retried(
        executor: TradeExecutor, venue: PaperExchange, clock: ScheduledClock,
        journal_path: Path) -> None:
    asked: list[float] = []
    fetch_ticker = venue.fetch_ticker
    venue.fetch_ticker = lambda *a: asked.append(clock.now()) or fetch_ticker(*a)  # type: ignore[method-assign]
    venue.inject("fetch_ticker", "rate_limit", times=2)
    order = executor.execute_signal(buy(order_type="market"))
    assert order.state is State.FILLED
    assert executor.stats["rate_limited"] == 2
    assert len(asked) == 3 and asked[1] - asked[0] >= 10 and asked[2] - asked[1] >= 10
    assert_consistent(executor, venue, order, journal_path)


def test_transient_errors_give_up_after_max_retries_without_journaling(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    venue.inject("fetch_ticker", "unavailable", times=10)
    with pytest.raises(Exception, match="ExchangeNotAvailable"):
        executor.execute_signal(buy(order_type="market"))
    assert executor.stats["retries"] == 3
    assert len(executor.book) == 0  # nothing journaled: the signal can simply run again


@pytest.mark.parametrize("fault, ccxt_class", [("insufficient_funds", "InsufficientFunds"),
                                                ("invalid_order", "InvalidOrder")])
def test_an_exchange_reject_fails_the_order_at_once_with_its_reason(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path, fault: str,
        ccxt_class: str) -> None:
    venue.inject("create_order", fault)
    order = executor.execute_signal(buy())
    assert order.state is State.FAILED
    assert order.failure == "rejected"
    assert ccxt_class in (order.reason or "")
    assert triggers(journal_path, order.client_order_id) == ["create", "submit", "reject"]
    assert_consistent(executor, venue, order, journal_path, placed=0)


def test_real_insufficient_funds_is_a_reject_too(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue = PaperExchange(clock, seed=3, balances={"USDT": "10", "BTC": "0"})
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock) as executor:
        order = executor.execute_signal(buy(amount="0.01"))
        assert order.state is State.FAILED and order.failure == "rejected"
        assert "InsufficientFunds" in (order.reason or "")


def _resting_buy(venue: PaperExchange, signal_id: str = "s1") -> dict[str, Any]:
    """A buy limited well under the market: it rests on the book."""
    return buy(signal_id, price=str(venue.mid("BTC/USDT") * Decimal("0.9")))


def test_an_order_not_filled_in_time_has_its_remainder_cancelled(
        executor: TradeExecutor, venue: PaperExchange, clock: ScheduledClock,
        journal_path: Path) -> None:
    start = clock.now()
    order = executor.execute_signal(_resting_buy(venue))
    assert order.state is State.CANCELLED
    assert order.filled == 0
    assert "not filled within 30s" in (order.reason or "")
    assert 30 <= clock.now() - start < 40
    steps = triggers(journal_path, order.client_order_id)
    assert [s for s in steps if s != "note"][-2:] == ["request_cancel", "cancel"]
    assert notes(journal_path, order.client_order_id)[-1] == "cancel_sent"
    assert_consistent(executor, venue, order, journal_path)


def test_a_partial_fill_then_timeout_ends_cancelled_with_the_fill_kept(
        clock: ScheduledClock, journal_path: Path) -> None:
    # Seed 1: the one fill below takes 25% (the assertion on filled guards this premise).
    venue = PaperExchange(clock, seed=1, fill_probability=1.0)
    executor = TradeExecutor(venue, journal_path, CONFIG, clock=clock, seed=1)
    signal = _resting_buy(venue)
    limit = Decimal(signal["price"]) * Decimal("1.001")
    original = venue.mid("BTC/USDT")
    # The market dips to the limit across one poll (the venue moves when called), then
    # leaves: one fill of a seeded fraction.
    clock.at(4.5, lambda: venue.set_mid("BTC/USDT", limit * Decimal("0.999")))
    clock.at(5.5, lambda: venue.set_mid("BTC/USDT", original))
    order = executor.execute_signal(signal)
    assert order.state is State.CANCELLED
    assert 0 < order.filled < order.amount, "the scenario must produce a partial fill"
    steps = triggers(journal_path, order.client_order_id)
    assert "fill" in steps and steps[-1] == "cancel"
    assert_consistent(executor, venue, order, journal_path)


def test_a_cancel_racing_a_fill_ends_filled_never_assumed_cancelled(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    venue.inject("cancel_order", "cancel_race")
    order = executor.execute_signal(_resting_buy(venue))
    assert order.state is State.FILLED
    assert order.filled == order.amount
    steps = triggers(journal_path, order.client_order_id)
    assert "request_cancel" in steps and "cancel" not in steps
    # The fill completes it; the trades, listed late, then replace what was inferred.
    assert [s for s in steps if s != "note"][-2:] == ["fill", "restate"]
    assert_consistent(executor, venue, order, journal_path)


def test_a_signal_already_in_the_journal_places_nothing(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    first = executor.execute_signal(buy())
    placed = len(venue.all_orders())
    again = executor.execute_signal(buy(amount="5"))  # same id, other figures: same order
    assert again == first
    assert len(venue.all_orders()) == placed
    assert executor.stats["already_journaled"] == 1


def test_unplaceable_signals_are_refused_before_anything_is_sent(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    tiny = executor.execute_signal(buy("tiny", amount="0.000001"))
    cheap = executor.execute_signal(buy("cheap", amount="0.0001"))  # 3 USDT < min cost 5
    far = executor.execute_signal(buy("far", price="20000", order_type="market"))
    for order in (tiny, cheap, far):
        assert order.state is State.FAILED and order.failure == "refused"
        assert triggers(journal_path, order.client_order_id) == ["create", "refuse"]
    assert "below the minimum 5" in (cheap.reason or "")
    assert "tolerance" in (far.reason or "")
    assert venue.all_orders() == []


def test_an_unknown_symbol_is_refused_as_fatal(
        executor: TradeExecutor, venue: PaperExchange) -> None:
    order = executor.execute_signal(buy(symbol="NOPE/USDT"))
    assert order.state is State.FAILED and order.failure == "fatal"
    assert "NOPE/USDT" in (order.reason or "")
    assert venue.all_orders() == []


def test_limit_prices_stay_within_the_slippage_tolerance_on_the_tick_grid(
        executor: TradeExecutor, venue: PaperExchange) -> None:
    order = executor.execute_signal(buy(price="30000.123"))
    assert order.price is not None
    assert order.price <= Decimal("30000.123") * Decimal("1.001")
    assert order.price == order.price.quantize(Decimal("0.01"))


class ForgetfulVenue(PaperExchange):
    """An exchange that stops knowing an order it acknowledged."""

    def fetch_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        raise ccxt.OrderNotFound("Order does not exist.")

    def cancel_order(self, id: Any, symbol: Any = None, params: Any = None) -> Any:
        raise ccxt.OrderNotFound("Unknown order sent.")


def test_an_order_the_exchange_no_longer_knows_is_left_in_doubt_never_assumed(
        clock: ScheduledClock, journal_path: Path) -> None:
    venue = ForgetfulVenue(clock, seed=3, fill_probability=0.0)
    with TradeExecutor(venue, journal_path, CONFIG, clock=clock) as executor:
        signal = buy(price=str(venue.mid("BTC/USDT") * Decimal("0.9")))
        with pytest.raises(OrderInDoubt) as caught:
            executor.execute_signal(signal)
        order = executor.book.get(caught.value.order_id)
        assert order.state is State.PENDING_CANCEL
        assert "exchange_forgot" in notes(journal_path, order.client_order_id)
        assert audit(journal_path).ok


def test_cancel_all_cancels_what_is_resting(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    executor.config = executor.config.__class__.from_dict({**CONFIG,
                                                          "order_timeout_seconds": 1e9})
    # With an endless timeout the order would be polled forever; cancel it from the clock.
    resting = _resting_buy(venue)
    clock = executor.clock
    assert isinstance(clock, ScheduledClock)

    def cancel_from_outside() -> None:  # as another part of the bot would, mid-poll
        for o in executor.pending_orders:
            executor.book.apply(o.client_order_id, RequestCancel("cancel requested"))

    clock.at(3, cancel_from_outside)
    order = executor.execute_signal(resting)
    assert order.state is State.CANCELLED
    assert executor.cancel_all() == []
    assert venue.open_order_count() == 0


def test_cancel_all_cancels_what_it_can_and_says_which_stayed_in_doubt(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    resting = executor.submit({**_resting_buy(venue), "id": "rests"})
    venue.inject("create_order", "timeout_before")  # never reaches the venue
    lost = executor.submit({**_resting_buy(venue), "id": "lost"})
    assert lost.state in (State.SUBMIT_UNKNOWN, State.PRESUMED_ABSENT)
    with pytest.raises(CancelIncomplete) as raised:
        executor.cancel_all()
    incomplete = raised.value
    assert isinstance(incomplete, OrderInDoubt)  # what cancel_all raised before
    by_id = {o.client_order_id: o for o in incomplete.orders}
    # Every order is there: the cancelled one with it, not lost with the exception.
    assert by_id[resting.client_order_id].state is State.CANCELLED
    assert by_id[lost.client_order_id].cancel_requested
    assert [d.order_id for d in incomplete.doubts] == [lost.client_order_id]
    assert venue.open_order_count() == 0
    assert audit(journal_path).ok


def test_on_binance_a_rate_limited_create_placed_nothing_and_is_sent_again(
        executor: TradeExecutor, venue: PaperExchange, journal_path: Path) -> None:
    venue.inject("create_order", "rate_limit")
    order = executor.execute_signal(buy())
    assert order.state is State.FILLED
    steps = triggers(journal_path, order.client_order_id)
    assert steps[:4] == ["create", "submit", "note", "acknowledge"]
    assert notes(journal_path, order.client_order_id)[0] == "create_refused"
    assert "lose_answer" not in steps
    assert_consistent(executor, venue, order, journal_path)
