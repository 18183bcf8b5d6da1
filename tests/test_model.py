"""OrderSpec, Fill and Order: validation at the boundary, Decimal money, snapshots."""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import fills, order_specs, positive_decimals

from fsm_executor import (
    Acknowledge,
    FakeClock,
    Fill,
    FsmExecutorError,
    InvalidInput,
    Order,
    OrderBook,
    OrderSpec,
    OrderType,
    Reject,
    RequestCancel,
    Side,
    State,
    Submit,
)
from fsm_executor.core._values import (
    _FLOATS,
    _FLOATS_KEPT,
    _POSITIVES,
    _TEXTS,
    _TEXTS_KEPT,
    to_decimal,
)

NOT_POSITIVE = [-1, "-0.5", Decimal("-3"), 0, "0", 0.0, Decimal("0"), Decimal("-0"), "-0"]
NOT_FINITE = [
    float("nan"), float("inf"), float("-inf"), "NaN", "nan", "sNaN", "Infinity", "-inf",
    Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
]
# The last an object with a repr of its own: its test id stays the same from run to run
# (make mutate selects tests by id).
NOT_A_NUMBER = [True, False, "abc", "", "  ", "1.2.3", "1e", "0x10", "1,5", None, [1], {},
                pytest.param(object(), id="object")]
BAD_FIGURES = NOT_POSITIVE + NOT_FINITE + NOT_A_NUMBER


def spec(**changes: Any) -> OrderSpec:
    fields: dict[str, Any] = {
        "client_order_id": "o1", "symbol": "BTC/USDT", "side": "buy", "type": "limit",
        "amount": "1", "price": "100",
    }
    fields.update(changes)
    return OrderSpec(**fields)


def assert_invalid_input(info: pytest.ExceptionInfo[InvalidInput]) -> None:
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FsmExecutorError)


@pytest.mark.parametrize("value", BAD_FIGURES, ids=repr)
def test_order_amount_must_be_a_finite_positive_number(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        spec(amount=value)
    assert_invalid_input(info)
    assert str(info.value).startswith("amount ")  # the figure named first, in its words


@pytest.mark.parametrize("value", [v for v in BAD_FIGURES if v is not None], ids=repr)
def test_order_price_must_be_a_finite_positive_number(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        spec(price=value)
    assert_invalid_input(info)
    assert str(info.value).startswith("price ")


@pytest.mark.parametrize("value", BAD_FIGURES, ids=repr)
def test_fill_amount_must_be_a_finite_positive_number(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Fill("t1", value, "100")
    assert_invalid_input(info)
    assert str(info.value).startswith("amount ")


@pytest.mark.parametrize("value", BAD_FIGURES, ids=repr)
def test_fill_price_must_be_a_finite_positive_number(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        Fill("t1", "1", value)
    assert_invalid_input(info)
    assert str(info.value).startswith("price ")


@pytest.mark.parametrize("value", [*NOT_FINITE, *NOT_A_NUMBER], ids=repr)
def test_fill_fee_must_be_a_finite_number(value: object) -> None:
    with pytest.raises(InvalidInput):
        Fill("t1", "1", "100", value, "USDT")


@pytest.mark.parametrize("value", [-1, "-0.01", "-0.000000012345"], ids=repr)
def test_a_negative_fee_is_a_rebate_kept_exactly(value: object) -> None:
    fill = Fill("t1", "1", "100", value, "USDT")
    assert fill.fee_cost == Decimal(str(value)) < 0
    assert Fill.from_payload(fill.to_payload()) == fill


def test_a_zero_fee_is_accepted() -> None:
    assert Fill("t1", "1", "100", "0", "USDT").fee_cost == 0
    assert Fill("t1", "1", "100").fee_cost == 0


@pytest.mark.parametrize("value", ["", "   ", None, 7, b"o1"], ids=repr)
def test_ids_and_symbols_must_be_non_empty_strings(value: object) -> None:
    with pytest.raises(InvalidInput):
        spec(client_order_id=value)
    with pytest.raises(InvalidInput):
        spec(symbol=value)
    with pytest.raises(InvalidInput):
        Fill(value, "1", "100")
    with pytest.raises(InvalidInput):
        Acknowledge(value)


@pytest.mark.parametrize(("value", "message"), [
    ("", "symbol must be a non-empty string, not ''"),
    (" ", "symbol must be a non-empty string, not ' '"),
    ("BTC\nUSDT", "symbol must be printable UTF-8 text, not 'BTC\\nUSDT'"),
    ("\ud800", "symbol must be printable UTF-8 text, not '\\ud800'"),  # a lone surrogate
])
def test_a_bad_id_or_symbol_is_refused_saying_what_and_why(value: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        spec(symbol=value)
    assert str(info.value) == message
    with pytest.raises(InvalidInput) as info:
        spec(client_order_id=value)
    assert str(info.value) == message.replace("symbol", "id")


def test_a_limit_order_without_a_price_is_journaled_but_never_sent() -> None:
    # A signal refused for want of a price must still be recorded (so it is not retried);
    # the exchange edge is where a priceless limit order is stopped.
    from fsm_executor.core._model import Order
    from fsm_executor.exchange._exchange import ExchangeAdapter

    priceless = spec(type="limit", price=None)
    assert priceless.price is None
    with pytest.raises(InvalidInput, match="needs a price") as info:
        adapter = ExchangeAdapter(object())
        adapter.run(adapter.create(Order.from_spec(priceless, 0.0)))
    assert_invalid_input(info)


def test_a_market_order_may_go_without_a_price() -> None:
    assert spec(type="market", price=None).price is None


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [(0.1, "0.1"), (1e-7, "1E-7"), (0.3, "0.3"), (2, "2"), (" 1.5 ", "1.5"),
     (Decimal("0.10"), "0.10"), ("1e3", "1E+3")],
)
def test_figures_become_decimals_floats_going_through_str(
    given_value: object, expected: str
) -> None:
    s = spec(amount=given_value, price=given_value)
    assert s.amount == Decimal(expected)
    assert type(s.amount) is Decimal
    assert type(s.price) is Decimal
    if isinstance(given_value, float):
        assert s.amount != Decimal(given_value)  # not the binary expansion of the float


@given(st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_any_positive_float_converts_exactly_as_its_str(value: float) -> None:
    assert Fill("t", value, value).amount == Decimal(str(value))


@given(positive_decimals)
def test_any_positive_decimal_is_kept_exactly(value: Decimal) -> None:
    assert spec(amount=value).amount == value
    assert spec(amount=str(value)).amount == value


@pytest.mark.parametrize(("side", "expected"), [
    ("buy", Side.BUY), ("BUY", Side.BUY), ("Buy", Side.BUY), ("sell", Side.SELL),
    ("SeLL", Side.SELL), (Side.SELL, Side.SELL),
])
def test_side_is_case_insensitive(side: str, expected: Side) -> None:
    assert spec(side=side).side is expected


@pytest.mark.parametrize(("kind", "expected"), [
    ("limit", OrderType.LIMIT), ("LIMIT", OrderType.LIMIT), ("Market", OrderType.MARKET),
    (OrderType.MARKET, OrderType.MARKET),
])
def test_order_type_is_case_insensitive(kind: str, expected: OrderType) -> None:
    assert spec(type=kind).type is expected


@pytest.mark.parametrize("side", ["hold", "", "b", " buy", None, 1, ["buy"], b"buy"])
def test_unknown_side_is_refused(side: object) -> None:
    with pytest.raises(InvalidInput) as info:
        spec(side=side)
    assert str(info.value) == f"side must be one of buy, sell, not {side!r}"


@pytest.mark.parametrize("kind", ["stop", "", None, ["limit"], OrderType])
def test_unknown_order_type_is_refused(kind: object) -> None:
    with pytest.raises(InvalidInput) as info:
        spec(type=kind)
    assert str(info.value) == f"order type must be one of market, limit, not {kind!r}"


@given(order_specs)
def test_order_spec_payload_round_trips_through_json(s: OrderSpec) -> None:
    payload = json.loads(json.dumps(s.to_payload()))
    assert OrderSpec.from_payload(payload) == s
    assert all(isinstance(payload[k], str) for k in ("amount", "price", "side", "type"))


@given(fills, st.none() | st.floats(min_value=0, max_value=2e9))
def test_fill_payload_round_trips_through_json(fill: Fill, timestamp: float | None) -> None:
    fill = Fill(fill.trade_id, fill.amount, fill.price, fill.fee_cost, fill.fee_currency,
                timestamp)
    payload = json.loads(json.dumps(fill.to_payload()))
    assert Fill.from_payload(payload) == fill
    assert isinstance(payload["amount"], str)


def test_fill_payload_without_fee_defaults_to_zero() -> None:
    fill = Fill.from_payload({"trade_id": "t", "amount": "1", "price": "2"})
    assert fill.fee_cost == 0
    assert fill.fee_currency is None


def test_order_from_spec_starts_created_and_empty() -> None:
    order = Order.from_spec(spec(signal_id="sig"), 5.0)
    assert order.state is State.CREATED
    assert (order.filled, order.remaining, order.average) == (0, Decimal(1), None)
    assert (order.created_at, order.updated_at) == (5.0, 5.0)
    assert order.signal_id == "sig"
    assert not order.is_terminal and not order.is_in_flight and not order.is_open


def test_snapshot_taken_before_a_fill_does_not_change_after_it(
    book: OrderBook, clock: FakeClock
) -> None:
    book.create(spec(amount="2"))
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    book.apply("o1", Fill("t1", "0.5", "100", "0.1", "USDT"))
    before = book.get("o1")
    frozen = (before.state, before.filled, before.cost, dict(before.fills), dict(before.fees),
              before.updated_at)
    clock.advance(1)
    book.apply("o1", Fill("t2", "1", "101", "0.2", "USDT"))
    assert (before.state, before.filled, before.cost, dict(before.fills), dict(before.fees),
            before.updated_at) == frozen
    after = book.get("o1")
    assert after.filled == Decimal("1.5")
    assert after.fees == {"USDT": Decimal("0.3")}
    assert after != before


def test_snapshot_equals_its_order_but_is_another_object(clock: FakeClock) -> None:
    order = Order.from_spec(spec(), clock.now())
    copy = order.snapshot()
    assert copy == order
    assert copy is not order
    copy.state = State.FAILED
    assert order.state is State.CREATED


def test_order_to_json_is_plain_json_with_decimals_as_strings(book: OrderBook) -> None:
    book.create(spec(amount="2", signal_id="s1"))
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    book.apply("o1", Fill("t1", "0.5", "100", "0.1", "USDT"))
    data = json.loads(json.dumps(book.get("o1").to_json()))
    assert data["state"] == "partially_filled"
    assert (data["filled"], data["remaining"], data["average"]) == ("0.5", "1.5", "100")
    assert data["fees"] == {"USDT": "0.1"}
    assert data["exchange_order_id"] == "ex-1"
    assert [f["trade_id"] for f in data["fills"]] == ["t1"]



def test_order_to_json_names_every_field_with_its_value(
        book: OrderBook, clock: FakeClock) -> None:
    # All of it: what `audit --order --json` and scripts read.
    book.create(spec(amount="2", signal_id="s1"))
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    clock.advance(2.5)
    book.apply("o1", Fill("t1", "0.5", "100", "0.1", "USDT"))
    book.apply("o1", RequestCancel("timeout"))
    assert book.get("o1").to_json() == {
        "client_order_id": "o1", "symbol": "BTC/USDT", "side": "buy", "type": "limit",
        "amount": "2", "price": "100", "signal_id": "s1", "state": "pending_cancel",
        "exchange_order_id": "ex-1", "filled": "0.5", "remaining": "1.5", "average": "100",
        "fees": {"USDT": "0.1"},
        "fills": [{"trade_id": "t1", "amount": "0.5", "price": "100", "fee_cost": "0.1",
                   "fee_currency": "USDT", "timestamp": None}],
        "reason": "timeout", "failure": None, "cancel_requested": True,
        "created_at": 1_700_000_000.0, "updated_at": 1_700_000_002.5,
    }
    book.create(spec(client_order_id="o2", type="market", price=None, side="sell"))
    book.apply("o2", Submit())
    book.apply("o2", Reject("insufficient balance", fatal=True))
    data = book.get("o2").to_json()
    assert (data["type"], data["side"], data["price"], data["average"]) == (
        "market", "sell", None, None)
    assert (data["state"], data["reason"], data["failure"], data["signal_id"]) == (
        "failed", "insufficient balance", "fatal", None)


def test_a_live_order_pickles_with_its_fills_whole(book: OrderBook) -> None:
    # As the second half of a long journal's reading hands its open orders over.
    book.create(spec(amount="2"))
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    book.apply("o1", Fill("t1", "0.5", "100", "0.1", "USDT"))
    live = book._orders["o1"]
    assert type(live.fills) is dict  # not a snapshot's read-only view
    again = pickle.loads(pickle.dumps(live))
    assert again == live and type(again.fills["t1"]) is Fill


def test_a_snapshot_can_be_pickled_and_deep_copied(book: OrderBook) -> None:
    book.create(spec(amount="2"))
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    book.apply("o1", Fill("t1", "0.5", "100", "0.1", "USDT"))
    snapshot = book.get("o1")
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot
    assert copy.deepcopy(snapshot) == snapshot


def test_a_fill_of_the_whole_amount_fills_the_order_whatever_its_digits(book: OrderBook) -> None:
    amount = "1.0000000000000000000000000001"
    try:
        book.create(spec(amount=amount))
    except InvalidInput:
        return  # refusing such an amount at the boundary is a fix too
    book.apply("o1", Submit())
    book.apply("o1", Acknowledge("ex-1"))
    order = book.apply("o1", Fill("t1", amount, "100"))
    assert order.state is State.FILLED
    assert order.remaining == 0


def test_a_float_converts_alike_every_time_and_zero_keeps_its_sign() -> None:
    for _ in range(2):  # the second time from the kept conversions
        assert str(to_decimal(0.1)) == "0.1"
        assert str(to_decimal(2000.5, "price")) == "2000.5"
        assert str(to_decimal(0.0)) == "0.0" and str(to_decimal(-0.0)) == "-0.0"
        with pytest.raises(InvalidInput, match="price must be finite"):
            to_decimal(float("nan"), "price")
        with pytest.raises(InvalidInput, match="amount is out of range"):
            to_decimal(1e30, "amount")


def test_the_kept_float_conversions_stay_bounded() -> None:
    for i in range(1, _FLOATS_KEPT + 100):
        assert to_decimal(i / 8) == Decimal(i) / 8
    assert len(_FLOATS) <= _FLOATS_KEPT


@pytest.mark.parametrize(("kept", "kind"), [(_FLOATS, float), (_TEXTS, str)],
                         ids=["floats", "texts"])
def test_the_kept_conversions_hold_up_to_their_bound_then_start_again(
        kept: dict[Any, Decimal], kind: type) -> None:
    kept.clear()
    _POSITIVES.clear()
    for i in range(1, _TEXTS_KEPT + 1):
        to_decimal(kind(i / 4))
    assert len(kept) == _TEXTS_KEPT == _FLOATS_KEPT  # each kept
    to_decimal(kind(0.125))
    assert list(kept) == [kind(0.125)]  # full: emptied, then the new one kept


@pytest.mark.parametrize("value", [
    "1e24", "1e-24", "-1e24", "0." + "1" * 58,  # the largest, the smallest, 60 characters
    10**24, Decimal("1E-24"), Decimal("0." + "1" * 58), 1e24, 1e-24,
], ids=repr)
def test_figures_at_the_bounds_are_accepted(value: object) -> None:
    assert to_decimal(value) == Decimal(str(value))


@pytest.mark.parametrize(("value", "message"), [
    ("1e25", "amount is out of range: '1e25'"),
    ("1e-25", "amount is out of range: '1e-25'"),
    (10**25, "amount is out of range: 10000000000000000000000000"),
    (Decimal("1E-25"), "amount is out of range: Decimal('1E-25')"),
    ("0." + "1" * 59, "amount has too many digits: '0.111111111111111111'..."),
    (Decimal("0." + "1" * 59), f"amount has too many digits: Decimal('0.{'1' * 59}')"),
    ("abc", "amount must be a number, not 'abc'"),
    (True, "amount must be a number, not True"),
    ([1], "amount must be a number, not [1]"),
], ids=repr)
def test_figures_past_the_bounds_are_refused_in_words(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        to_decimal(value, "amount")
    assert str(info.value) == message


def test_a_figure_named_nothing_is_called_a_value() -> None:
    with pytest.raises(InvalidInput, match="^value must be a number, not 'abc'$"):
        to_decimal("abc")


def test_a_fill_charged_nothing_lists_no_fee_whatever_currency_it_names() -> None:
    from fsm_executor import Fill

    assert Fill("t1", "1", "100", "0", "BNB").fees() == ()
    assert Fill("t1", "1", "100", "0.01", None).fees() == ()  # no currency: no fee
    assert Fill("t1", "1", "100", "0.01", "BNB").fees() == (("BNB", Decimal("0.01")),)


def test_an_inferred_fills_cost_and_further_fees_are_refused_in_their_own_words() -> None:
    from fsm_executor import Fill

    def refused(**fields: object) -> str:
        with pytest.raises(InvalidInput) as info:
            Fill("E-1:cum:1", "1", "100", inferred=True, **fields)  # type: ignore[arg-type]
        return str(info.value)

    assert refused(cost="-5") == "cost must be positive, not '-5'"
    assert refused(more_fees={"": "0.1"}) == "fee currency must be a non-empty string, not ''"
    assert refused(more_fees=7) == "fees must be a mapping of currency to cost, not 7"
    # Nothing is no fees only as the empty tuple (or mapping): None is no mapping.
    assert refused(more_fees=None) == ("fees must be a mapping of currency to cost, not "
                                       "None")
    assert Fill("E-1:cum:1", "1", "100", inferred=True, more_fees={}).more_fees == ()


def test_a_fills_price_and_fee_are_refused_in_their_own_words() -> None:
    from fsm_executor import Fill

    def refused(*args: object) -> str:
        with pytest.raises(InvalidInput) as info:
            Fill("t1", "1", *args)  # type: ignore[arg-type]
        return str(info.value)

    assert refused("-1") == "price must be positive, not '-1'"
    assert refused("0") == "price must be positive, not '0'"
    assert refused("abc") == "price must be a number, not 'abc'"
    assert refused("100", "abc", "USDT") == "fee must be a number, not 'abc'"
