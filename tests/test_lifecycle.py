"""The pure core: ``plan`` decides without touching the order, ``apply`` changes it."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from strategies import events

from fsm_executor import (
    Acknowledge,
    BadRestate,
    CancelRejected,
    ConflictingFill,
    Fill,
    InvalidTransition,
    LoseAnswer,
    Order,
    Overfill,
    RequestCancel,
    Restate,
    State,
    Submit,
)
from fsm_executor.core._lifecycle import apply, plan
from fsm_executor.core._model import OrderSpec
from fsm_executor.core._states import IN_DOUBT


def order_in(state: State, amount: str = "1", filled: str = "0") -> Order:
    order = Order.from_spec(OrderSpec("o1", "BTC/USDT", "buy", "limit", amount, "100"), 1.0)
    order.state = state
    if state is not State.CREATED and state not in IN_DOUBT:
        order.exchange_order_id = "ex-1"
    if Decimal(filled):
        fill = Fill("t0", filled, "100")
        order.fills = {"t0": fill}
        order.filled = fill.amount
        order.cost = fill.amount * fill.price
    return order


@given(events)
def test_plan_never_changes_the_order(event: object) -> None:
    for state in State:
        order = order_in(state, amount="1", filled="0.5" if state in (
            State.PARTIALLY_FILLED, State.PENDING_CANCEL) else "0")
        before = order.snapshot()
        with contextlib.suppress(InvalidTransition, Overfill, ConflictingFill, BadRestate):
            plan(order, event)  # type: ignore[arg-type]
        assert order == before


def test_plan_describes_the_row_and_apply_makes_it_so() -> None:
    order = order_in(State.SUBMITTED, amount="2")
    step = plan(order, Fill("t1", "0.5", "100", "0.01", "USDT"))
    assert step is not None
    assert (step.order_id, step.trigger, step.source, step.dest) == (
        "o1", "fill", State.SUBMITTED, State.PARTIALLY_FILLED)
    assert step.payload()["amount"] == "0.5"
    apply(order, step, 9.0)
    assert (order.state, order.filled, order.updated_at) == (State.PARTIALLY_FILLED,
                                                             Decimal("0.5"), 9.0)
    assert order.fees == {"USDT": Decimal("0.01")}


def test_a_fill_seen_before_plans_nothing() -> None:
    order = order_in(State.PARTIALLY_FILLED, filled="0.5")
    assert plan(order, Fill("t0", "0.5", "100")) is None


def test_an_overfill_is_refused_with_its_figures() -> None:
    order = order_in(State.PARTIALLY_FILLED, amount="1", filled="0.5")
    with pytest.raises(Overfill) as info:
        plan(order, Fill("t1", "0.6", "100"))
    assert (info.value.filled, info.value.amount, info.value.fill_amount) == (
        Decimal("0.5"), Decimal(1), Decimal("0.6"))


def test_a_fill_outside_an_open_state_is_an_invalid_transition_not_an_overfill() -> None:
    with pytest.raises(InvalidTransition):
        plan(order_in(State.PENDING_SUBMIT), Fill("t1", "5", "100"))


@pytest.mark.parametrize("event", [
    Restate((), (Fill("t1", "0.5", "100"),)),  # a restate outside the states that allow it
    RequestCancel("too slow"),
])
def test_a_refused_trigger_names_the_order_its_state_and_itself(event: object) -> None:
    with pytest.raises(InvalidTransition) as info:
        plan(order_in(State.PENDING_SUBMIT), event)  # type: ignore[arg-type]
    trigger = event.trigger  # type: ignore[attr-defined]
    assert (info.value.order_id, info.value.state, info.value.trigger) == (
        "o1", "pending_submit", trigger)
    assert str(info.value) == (f"order 'o1': trigger {trigger!r} is not allowed in state "
                               "'pending_submit'")


def test_fees_without_currency_or_cost_are_not_counted() -> None:
    order = order_in(State.SUBMITTED, amount="3")
    for fill in (Fill("t1", "1", "100", "0.5", None), Fill("t2", "1", "100", "0", "USDT")):
        step = plan(order, fill)
        assert step is not None
        apply(order, step, 2.0)
    assert order.fees == {}
    assert order.filled == 2


def test_fees_of_every_fill_are_summed_per_currency_and_a_fee_of_nothing_names_none(
) -> None:
    # What audit's ledger sums from the fills (Fill.fees): the order's fees must agree.
    order = order_in(State.SUBMITTED, amount="3")
    fills = (Fill("t1", "1", "100", "0.5", "USDT"),
             # An order-level figure: no fee in BNB, a further one in USDT.
             Fill("t2", "1", "100", "0", "BNB", inferred=True, cost="100",
                  more_fees=[("USDT", "0.1")]),
             Fill("t3", "1", "100", "0.25", "USDT"))
    for fill in fills:
        step = plan(order, fill)
        assert step is not None
        apply(order, step, 2.0)
    assert order.fees == {"USDT": Decimal("0.85")}
    assert dict(fee for fill in fills for fee in fill.fees()).keys() == order.fees.keys()


def test_only_ending_triggers_record_a_reason() -> None:
    order = order_in(State.PENDING_SUBMIT)
    for event in (LoseAnswer("timeout"),):
        step = plan(order, event)
        assert step is not None
        apply(order, step, 2.0)
    assert order.reason is None
    order = order_in(State.SUBMITTED)
    for event in (RequestCancel("stale"), CancelRejected("too late")):
        step = plan(order, event)
        assert step is not None
        apply(order, step, 2.0)
    assert order.reason == "stale"
    assert order.state is State.SUBMITTED


@pytest.mark.parametrize("state", sorted(set(State) - IN_DOUBT - {State.CREATED}))
def test_a_second_acknowledge_is_refused_by_the_table_and_keeps_the_first_id(
    state: State,
) -> None:
    order = order_in(state)  # acknowledged as ex-1 (every state an acknowledge leads to)
    for exchange_id in ("ex-2", "ex-1"):
        with pytest.raises(InvalidTransition) as info:
            plan(order, Acknowledge(exchange_id))
        assert (info.value.state, info.value.trigger) == (state.value, "acknowledge")
    assert order.exchange_order_id == "ex-1" and order.state is state


def test_acknowledge_records_the_exchange_order_id() -> None:
    order = order_in(State.CREATED)
    for event in (Submit(), Acknowledge("ex-9")):
        step = plan(order, event)
        assert step is not None
        apply(order, step, 3.0)
    assert (order.state, order.exchange_order_id) == (State.SUBMITTED, "ex-9")
