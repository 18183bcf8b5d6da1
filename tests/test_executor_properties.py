"""Hypothesis drives the executor with generated exchange answers (any ccxt error, any status
and fill progression, odd answers, and Binance's unkindness: orders invisible for a while
after placement, duplicates answered as InvalidOrder, lookups answered with an empty or
another order, trade lists lagging the filled) and checks what must hold whatever the
exchange does: at most one exchange order per signal, no journaled order failed while the
exchange holds it, every exchange order known to the journal."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from async_face import AsyncFace
from hypothesis import given
from hypothesis import strategies as st

from fsm_executor import (
    ExchangeFailure,
    FakeClock,
    OrderInDoubt,
    State,
    TradeExecutor,
    audit,
    replay,
)
from fsm_executor.venue._generated import GeneratedExchange

CONFIG = {"max_retries": 2, "order_timeout_seconds": 20, "poll_interval_seconds": 1,
          "not_found_confirmations": 2, "retry_delay_seconds": 0.5}


#: Every property holds for both executors (the asyncio one through async_face.py).
EXECUTORS: dict[str, Any] = {"sync": TradeExecutor, "async": AsyncFace}
both = pytest.mark.parametrize("kind", sorted(EXECUTORS))


def _run(data: st.DataObject, signals: int, trades: bool, kind: str) -> tuple[Any, ...]:
    clock = FakeClock()
    exchange = GeneratedExchange(data.draw, trades=trades, clock=clock)
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "journal.db"
    executor = EXECUTORS[kind](exchange, path, CONFIG, clock=clock, seed=1)
    seen_filled: dict[str, Decimal] = {}
    terminal: dict[str, State] = {}

    def check_invariants() -> None:
        for order in executor.book.orders():
            cid = order.client_order_id
            assert 0 <= order.filled <= order.amount
            assert order.filled >= seen_filled.get(cid, Decimal(0)), "filled decreased"
            seen_filled[cid] = order.filled
            assert order.filled == sum((f.amount for f in order.fills.values()), Decimal(0))
            if cid in terminal:
                assert order.state is terminal[cid], "a terminal state was left"
            elif order.is_terminal:
                terminal[cid] = order.state

    book = executor.book

    def checked(commit: Any) -> Any:
        def commit_and_check(*args: Any, **kwargs: Any) -> Any:
            result = commit(*args, **kwargs)
            check_invariants()
            return result
        return commit_and_check

    # The sync executor commits one order at a time, the asyncio one many at once.
    book.apply_all = checked(book.apply_all)  # type: ignore[method-assign]
    book.apply_many = checked(book.apply_many)  # type: ignore[method-assign]
    outcomes: list[Any] = []
    try:
        for i in range(signals):
            signal = {"id": f"s{i}", "symbol": "SYM/USD", "side": data.draw(st.sampled_from(
                ["buy", "sell"])), "amount": str(data.draw(st.integers(1, 300)) / 100),
                "price": "10", "order_type": data.draw(st.sampled_from(["limit", "market"]))}
            try:
                outcomes.append(executor.execute_signal(signal))
            except OrderInDoubt as exc:
                outcomes.append(exc)
            except ExchangeFailure as exc:
                # Unreachable before anything was journaled: nothing placed, safe to run
                # again.
                assert exc.kind in ("transient", "rate_limited")
                assert executor.book.by_signal(signal["id"]) is None
                outcomes.append(exc)
            check_invariants()
        # The exchange settles down and every lag has passed: recovery must now know every
        # order the exchange holds, by its exchange id.
        exchange.error_rate = 0.0
        clock.advance(100)
        executor.recover()
        check_invariants()
    finally:
        # Closed first: the asyncio executor commits at close what its tasks had queued.
        executor.close()
    # The finished orders as the file holds them, the open ones as the book held them.
    live = {o.client_order_id: o for o in replay(path).values()}
    live.update({o.client_order_id: o
                 for o in executor.book.unfinished() + executor.book.unsettled()})
    return exchange, path, live, outcomes, tmp


@both
@given(st.data(), st.integers(1, 4), st.booleans())
def test_generated_answers_never_place_a_signal_twice_and_keep_every_invariant(
    kind: str, data: st.DataObject, signals: int, trades: bool
) -> None:
    exchange, path, live, outcomes, tmp = _run(data, signals, trades, kind)
    with tmp:
        for order in live.values():
            placed = exchange.orders_for_client_id(order.client_order_id)
            assert len(placed) <= 1, f"{order.client_order_id} placed {len(placed)} times"
            if order.state in (State.SUBMITTED, State.PARTIALLY_FILLED, State.FILLED):
                assert placed, "an order the journal holds as placed is not on the exchange"
            if order.state is State.FAILED:
                assert not placed, f"{order.client_order_id} failed, yet the exchange holds it"
            if placed and order.is_terminal and order.failure is None:
                # A finished order agrees with the exchange's truth on how much filled.
                truth = placed[0]["filled"]
                assert order.filled <= truth
        journaled_ids = {o.exchange_order_id for o in live.values()}
        for placed_order in exchange.orders.values():
            cid = placed_order["clientOrderId"]
            assert cid in live, f"exchange order {cid} unknown to the journal"
            assert placed_order["id"] in journaled_ids, (
                f"exchange order {placed_order['id']} unknown to the journal by its id")
        for outcome in outcomes:
            if not isinstance(outcome, OrderInDoubt | ExchangeFailure):
                # Terminal, or presumed absent: the exchange showed nothing within its
                # grace period (an order may be invisible for longer), and it is watched.
                assert outcome.is_terminal or outcome.state is State.PRESUMED_ABSENT
        assert replay(path) == live
        report = audit(path)
        assert report.ok, report.violations


@both
@given(st.data())
def test_a_signal_run_twice_places_nothing_the_second_time(kind: str,
                                                            data: st.DataObject) -> None:
    clock = FakeClock()
    exchange = GeneratedExchange(data.draw, error_rate=0.0, clock=clock)
    with tempfile.TemporaryDirectory() as d:
        signal = {"id": "again", "symbol": "SYM/USD", "side": "buy", "amount": "1",
                  "price": "10"}
        with EXECUTORS[kind](exchange, Path(d) / "j.db", CONFIG, clock=clock) as executor:
            try:
                first = executor.execute_signal(signal)
            except (OrderInDoubt, ExchangeFailure):
                return
        calls = exchange.calls
        orders = len(exchange.orders)
        with EXECUTORS[kind](exchange, Path(d) / "j.db", CONFIG, clock=clock) as executor:
            second = executor.execute_signal(signal)
        assert len(exchange.orders) == orders
        if first.is_terminal:
            assert second == first
            assert exchange.calls == calls
        else:
            # Presumed absent: looked up again (it may have shown up), never re-sent.
            assert first.state is State.PRESUMED_ABSENT
            assert second.state in (State.PRESUMED_ABSENT, State.SUBMITTED,
                                    State.PARTIALLY_FILLED, State.FILLED, State.CANCELLED,
                                    State.EXPIRED)


@both
@given(st.data())
def test_a_lost_create_is_never_placed_twice_however_late_it_shows_up(
        kind: str, data: st.DataObject) -> None:
    """The create's answer is always lost; the order may be invisible for longer than the
    grace period and may have ended meanwhile (Binance then accepts its client id again).
    Executing, then recovering once the exchange has caught up, places it at most once."""
    clock = FakeClock()
    # Half the orders stay invisible past Binance's 30 s grace: the case that tempts a
    # re-send.
    exchange = GeneratedExchange(data.draw, error_rate=0.0, clock=clock,
                                 create_outcomes=("lost_after", "lost_before"),
                                 lags=(45.0, 0.0))
    with tempfile.TemporaryDirectory() as d, EXECUTORS[kind](
            exchange, Path(d) / "j.db", CONFIG, clock=clock, seed=1) as executor:
        signal = {"id": "s", "symbol": "SYM/USD", "side": "buy", "amount": "1",
                  "price": "10", "order_type": data.draw(st.sampled_from(["limit", "market"]))}
        try:
            cid = executor.execute_signal(signal).client_order_id
        except OrderInDoubt as exc:  # acknowledged, then invisible past the grace period
            cid = exc.order_id
        clock.advance(data.draw(st.sampled_from([0, 10, 60])))
        executor.recover()
        order = executor.book.get(cid)
        placed = exchange.orders_for_client_id(order.client_order_id)
        assert len(placed) <= 1, f"placed {len(placed)} times"
        if order.state is State.FAILED:
            assert not placed
        if placed and exchange._visible(placed[0]):
            assert order.exchange_order_id == placed[0]["id"]
