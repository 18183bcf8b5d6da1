"""fsm_executor.testing: what a bot author's own tests import, driven through ExchangeOrder."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from fsm_executor import Order, OrderSpec, State
from fsm_executor.core._decide import observe
from fsm_executor.core._lifecycle import apply, plan
from fsm_executor.exchange._ccxt_shapes import order_from_ccxt
from fsm_executor.testing import (
    AsyncPaperExchange,
    FakeClock,
    PaperExchange,
    VirtualClock,
    ccxt_exceptions,
    ccxt_order_dicts,
    run_virtual,
)


def test_the_testing_module_exports_a_working_venue() -> None:
    venue = PaperExchange(FakeClock(), seed=1)
    assert "BTC/USDT" in venue.load_markets()


def test_the_testing_module_runs_the_async_venue_on_virtual_time() -> None:
    clock = VirtualClock()
    venue = AsyncPaperExchange(clock, seed=1, latency=0.05)

    async def main() -> dict[str, Any]:
        async with venue:
            return await venue.fetch_ticker("BTC/USDT")

    ticker = run_virtual(main(), clock=clock)
    assert ticker["bid"] < ticker["ask"]
    assert clock.monotonic() - 1_000 == pytest.approx(0.05)  # the round trip, virtual time


@given(ccxt_exceptions())
def test_every_generated_exception_is_a_real_ccxt_one(exc: BaseException) -> None:
    import ccxt

    assert isinstance(exc, ccxt.BaseError)


@given(ccxt_order_dicts("c1"), ccxt_order_dicts("c1"))
def test_any_two_answers_in_a_row_keep_the_order_legal_and_bounded(
        first: dict[str, Any], second: dict[str, Any]) -> None:
    order = Order.from_spec(OrderSpec("c1", "BTC/USDT", "buy", "limit", "2", "10"), 0.0)
    order.state = State.SUBMIT_UNKNOWN
    filled_before = order.filled
    for answer in (first, second):
        for event in observe(order, order_from_ccxt(answer)):
            step = plan(order, event)  # raises if the decisions emit an illegal trigger
            if step is not None:
                apply(order, step, 1.0)
        assert filled_before <= order.filled <= order.amount
        filled_before = order.filled
