"""The pure decisions: given an order and an exchange answer, which events."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from fsm_executor import (
    Acknowledge,
    Cancel,
    ExecutionConfig,
    Expire,
    Fill,
    LoseAnswer,
    Note,
    Order,
    OrderSpec,
    Reject,
    Restate,
    State,
)
from fsm_executor.core._answers import ExchangeOrder
from fsm_executor.core._decide import (
    after_create_failure,
    backoff,
    limit_price,
    new_client_order_id,
    observe,
)
from fsm_executor.core._exceptions import ExchangeFailure
from fsm_executor.core._model import Side
from fsm_executor.core._states import IN_DOUBT

D = Decimal


def order(state: State = State.SUBMITTED, filled: str = "0", amount: str = "1") -> Order:
    o = Order.from_spec(OrderSpec("c1", "X/Y", "buy", "limit", amount, "10"), 0.0)
    o.state = state
    if state is not State.CREATED and state not in IN_DOUBT:
        o.exchange_order_id = "E1"
    if D(filled):
        o.fills = {"t0": Fill("t0", filled, "10")}
        o.filled = D(filled)
        o.cost = D(filled) * 10
    return o


def seen(status: str | None = "open", filled: str | None = "0", amount: str = "1",
         trades: tuple[Fill, ...] = (), cost: str | None = None) -> ExchangeOrder:
    return ExchangeOrder("E1", "c1", status, D(amount), None if filled is None else D(filled),
                         None, None if cost is None else D(cost), None, None, trades)


def kinds(events: list[object]) -> list[str]:
    return [e.kind if isinstance(e, Note) else e.trigger for e in events]  # type: ignore[attr-defined]


def test_an_unacknowledged_order_found_open_is_acknowledged_with_the_exchange_id() -> None:
    events = observe(order(State.SUBMIT_UNKNOWN), seen())
    assert events == [Acknowledge("E1")]


def test_a_cumulative_fill_is_inferred_with_an_id_that_repeats_for_the_same_figure() -> None:
    events = observe(order(), seen(filled="0.4", cost="4.2"))
    assert len(events) == 1 and isinstance(events[0], Fill)
    assert events[0].amount == D("0.4") and events[0].price == D("10.5")
    assert events[0].trade_id == "E1:cum:0.4"
    assert observe(order(), seen(filled="0.4", cost="4.2"))[0] == events[0]


def test_an_inferred_fill_without_a_cost_is_priced_at_the_average_else_the_order_price_else_1(
) -> None:
    def inferred_price(o: Order, average: str | None) -> Decimal:
        answer = ExchangeOrder("E1", "c1", "open", D(1), D("0.4"),
                               None if average is None else D(average), None, None, None)
        [fill] = observe(o, answer)
        assert isinstance(fill, Fill) and fill.inferred and fill.cost is None
        return fill.price

    assert inferred_price(order(), "9.5") == D("9.5")
    assert inferred_price(order(), None) == D(10)  # the order's price
    market = Order.from_spec(OrderSpec("c1", "X/Y", "buy", "market", "1"), 0.0)
    market.state, market.exchange_order_id = State.SUBMITTED, "E1"
    assert inferred_price(market, "9.5") == D("9.5")
    assert inferred_price(market, None) == D(1)  # nothing known: one quote unit


def test_trades_that_add_up_are_used_with_their_real_ids() -> None:
    trades = (Fill("T1", "0.3", "10"), Fill("T2", "0.2", "11"))
    events = observe(order(), seen(filled="0.5", trades=trades))
    assert events == list(trades)


def test_a_lagging_trade_list_is_completed_by_inference_and_never_counted_twice() -> None:
    events = observe(order(), seen(filled="0.5", trades=(Fill("T1", "0.3", "10"),)))
    assert [e.amount for e in events if isinstance(e, Fill)] == [D("0.3"), D("0.2")]
    after = order(filled="0.5")
    late = observe(after, seen(filled="0.5", trades=(Fill("T2", "0.2", "10"),)))
    assert not any(isinstance(e, Fill) for e in late)


def test_filled_going_backwards_is_noted_and_changes_nothing() -> None:
    assert kinds(observe(order(State.PARTIALLY_FILLED, filled="0.5"), seen(filled="0.3"))) == [
        "filled_backwards"]


def test_reported_overfill_is_noted_and_capped_at_the_amount() -> None:
    events = observe(order(), seen(filled="1.5"))
    assert kinds(events) == ["overfill", "fill"]
    assert events[1].amount == D("1")  # type: ignore[union-attr]


def test_closed_without_filled_is_taken_as_fully_filled_and_noted() -> None:
    events = observe(order(), seen(status="closed", filled=None))
    assert kinds(events) == ["filled_inferred", "fill"]


def test_missing_and_unknown_statuses_are_noted() -> None:
    assert kinds(observe(order(), seen(status=None))) == ["status_missing"]
    assert kinds(observe(order(), seen(status="PENDING_NEW"))) == ["unknown_status"]


@pytest.mark.parametrize("status", ["open", "canceling", "new", "partially_filled", "NEW",
                                    "Partially_Filled", "CANCELING"])
def test_the_status_of_an_order_still_working_is_no_odd_answer(status: str) -> None:
    # The statuses exchanges give an order partly filled and still working: its fill, and
    # nothing noted (in any case, as ccxt passes some on from the exchange).
    assert kinds(observe(order(), seen(status=status, filled="0.25"))) == ["fill"]


@pytest.mark.parametrize("status", ["closed", "open", "canceling", "CLOSED", "Canceling"])
def test_a_full_fill_whose_status_is_done_or_still_working_is_not_noted(status: str) -> None:
    # "open" and "canceling": the answer was taken as the last trade went through.
    assert kinds(observe(order(), seen(status=status, filled="1"))) == ["fill"]


@pytest.mark.parametrize("status, event", [("canceled", Cancel), ("expired", Expire)])
def test_terminal_statuses_come_after_the_fills(status: str, event: type) -> None:
    events = observe(order(), seen(status=status, filled="0.25"))
    assert isinstance(events[0], Fill) and isinstance(events[1], event)


def test_rejected_before_acknowledgement_is_a_reject() -> None:
    events = observe(order(State.PENDING_SUBMIT), seen(status="rejected"))
    assert len(events) == 1 and isinstance(events[0], Reject)


def test_a_different_exchange_id_for_an_acknowledged_order_is_noted_not_applied() -> None:
    odd = ExchangeOrder("E2", "c1", "closed", D(1), D(1), None, None, None, None)
    assert kinds(observe(order(), odd)) == ["id_mismatch"]


@pytest.mark.parametrize("kind, expected", [("transient", LoseAnswer), ("rate_limited", LoseAnswer),
                                            ("duplicate", LoseAnswer), ("rejected", Reject),
                                            ("fatal", Reject)])
def test_a_failed_create_is_unknown_unless_definitive(kind: str, expected: type) -> None:
    event = after_create_failure(ExchangeFailure(kind, "x"), may_retry=True)
    assert isinstance(event, expected)
    if isinstance(event, Reject):
        assert event.fatal is (kind == "fatal")


def test_a_create_refused_before_execution_is_sent_again_while_the_budget_lasts() -> None:
    refused = ExchangeFailure("rate_limited", "429", "DDoSProtection", unprocessed=True)
    assert after_create_failure(refused, may_retry=True) is None
    # Nothing was placed: once the budget is spent it is a reject, not a doubt.
    assert isinstance(after_create_failure(refused, may_retry=False), Reject)
    # A 5XX (execution status unknown) is never taken as a refusal.
    unknown = ExchangeFailure("transient", "503", "ExchangeNotAvailable")
    assert isinstance(after_create_failure(unknown, may_retry=True), LoseAnswer)


def test_backoff_grows_exponentially_is_capped_and_rate_limits_wait_longer() -> None:
    config = ExecutionConfig(jitter=0, retry_delay_seconds=1, backoff_cap_seconds=5,
                             rate_limit_cooldown_seconds=10)
    rng = random.Random(0)
    assert [backoff(a, "transient", config, rng) for a in range(5)] == [1, 2, 4, 5, 5]
    assert backoff(0, "rate_limited", config, rng) == 10


def test_jitter_stays_within_its_fraction() -> None:
    config = ExecutionConfig(jitter=0.1, retry_delay_seconds=1)
    rng = random.Random(0)
    delays = [backoff(0, "transient", config, rng) for _ in range(200)]
    assert all(0.9 <= d <= 1.1 for d in delays) and len(set(delays)) > 100


def test_jitter_scales_the_delay_by_a_factor_within_its_fraction_whatever_the_base() -> None:
    # With a 1 s base, delay * (1 + j) and 1 + j are one number: other bases tell them apart.
    config = ExecutionConfig(jitter=0.25, retry_delay_seconds=3, backoff_cap_seconds=100,
                             rate_limit_cooldown_seconds=40)
    rng, same = random.Random(7), random.Random(7)
    for attempt, kind, base in [(0, "transient", 3), (2, "transient", 12), (6, "transient", 100),
                                (0, "rate_limited", 40)]:
        assert backoff(attempt, kind, config, rng) == base * (1 + same.uniform(-0.25, 0.25))
    delays = [backoff(1, "transient", config, rng) for _ in range(400)]
    assert all(4.5 <= d <= 7.5 for d in delays)
    assert min(delays) < 4.7 and max(delays) > 7.3  # both ways, the whole fraction


def test_client_order_ids_are_unique_alphanumeric_prefixed_and_short_enough() -> None:
    config = ExecutionConfig(client_order_id_prefix="bot7", client_order_id_max_length=32)
    rng = random.Random()
    ids = {new_client_order_id(config, 1.7e9, rng) for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(i.startswith("bot7") and i.isalnum() and len(i) <= 32 for i in ids)


def test_a_client_order_id_is_its_prefix_the_milliseconds_and_128_random_bits() -> None:
    # Nine base-36 digits of the milliseconds, so ids sort by the time they were made; then
    # what room is left of a 128-bit draw: a seeded generator gives the same ids again.
    config = ExecutionConfig(client_order_id_prefix="bot7", client_order_id_max_length=32)
    made = new_client_order_id(config, 1.7e9, random.Random(7))
    assert made == "bot7" + "0loyw3v28" + "h4g05loq58lkyi07394"
    assert int(made[4:13], 36) == 1_700_000_000_000
    later = new_client_order_id(config, 1.7e9 + 0.001, random.Random(7))
    assert int(later[4:13], 36) == 1_700_000_000_001 and later[13:] == made[13:]
    draw = random.Random(7).getrandbits(128)
    assert int(made[13:], 36) == draw % 36**19


@pytest.mark.parametrize("side, expected", [(Side.BUY, D("100.09")), (Side.SELL, D("99.91"))])
def test_limit_prices_round_inside_the_tolerance(side: Side, expected: Decimal) -> None:
    price = limit_price(side, D("100"), D("0.00095"), D("0.01"), lambda p: p)
    assert price == expected


def test_not_found_inside_the_visibility_grace_is_no_evidence_and_asks_again_at_its_end(
) -> None:
    from fsm_executor.core._decide import NotFound, after_not_found, may_be_invisible
    from fsm_executor.core._profiles import PROFILES

    binance = PROFILES["binance"]
    config = ExecutionConfig(not_found_confirmations=2, not_found_interval_seconds=2)
    assert may_be_invisible(100.0, 129.9, binance) and not may_be_invisible(100.0, 130.0, binance)
    unknown = order(State.SUBMIT_UNKNOWN)
    # Enough answers, but inside the grace: wait for its end (30 - 4 = 26 s), then ask.
    assert after_not_found(unknown, NotFound(2, 100.0), binance, config, 104.0, True) == (
        None, 26.0)
    event, wait = after_not_found(unknown, NotFound(3, 100.0), binance, config, 130.0, True)
    assert event is not None and event.trigger == "presume_absent" and wait == 0.0
    assert event.reason == (  # type: ignore[attr-defined]
        "not found by client order id: 3 answer(s) over 30s, past binance's visibility grace "
        "of 30s; watched until its lookup window of 7.776e+06s has passed")
    absent = order(State.PRESUMED_ABSENT)
    # Binance never makes a re-send safe; it fails only past the 90-day lookup window.
    assert after_not_found(absent, NotFound(1, 100.0), binance, config, 200.0, True) == (
        None, 0.0)
    event, _ = after_not_found(absent, NotFound(1, 100.0), binance, config,
                               100.0 + 90 * 86400, True)
    assert event is not None and event.trigger == "declare_absent"
    # Bybit refuses a reused id forever: the re-send is safe, if the budget allows.
    event, _ = after_not_found(absent, NotFound(1, 100.0), PROFILES["bybit"], config, 200.0, True)
    assert event is not None and event.trigger == "resubmit"
    assert after_not_found(absent, NotFound(1, 100.0), PROFILES["bybit"], config, 200.0,
                           False) == (None, 0.0)


def _rounded(places: str, rounding: str) -> Callable[[Decimal], Decimal]:
    """The exchange's own price_to_precision, where ccxt knows no tick: rounding to
    ``places`` its way."""
    return lambda p: p.quantize(D(places), rounding=rounding)


@pytest.mark.parametrize("tick", [None, D(0)])  # no tick known, or a nonsense one
def test_without_a_tick_the_exchanges_own_rounding_is_used_only_inside_the_tolerance(
        tick: Decimal | None) -> None:
    from decimal import ROUND_DOWN, ROUND_HALF_UP

    # Buy: at most 100.095. Rounded half up, 100.10 is past it: no price rather than more.
    assert limit_price(Side.BUY, D("100"), D("0.00095"), tick,
                       _rounded("0.01", ROUND_HALF_UP)) is None
    assert limit_price(Side.BUY, D("100"), D("0.00095"), tick,
                       _rounded("0.01", ROUND_DOWN)) == D("100.09")
    # Sell: at least 99.905. Truncated, 99.90 is below it; rounded half up, 99.91 is not.
    assert limit_price(Side.SELL, D("100"), D("0.00095"), tick,
                       _rounded("0.01", ROUND_DOWN)) is None
    assert limit_price(Side.SELL, D("100"), D("0.00095"), tick,
                       _rounded("0.01", ROUND_HALF_UP)) == D("99.91")
    # Exactly the bound is within it, either way.
    assert limit_price(Side.BUY, D("100"), D("0.001"), tick, lambda p: p) == D("100.100")
    assert limit_price(Side.SELL, D("100"), D("0.001"), tick, lambda p: p) == D("99.900")


# -- a signal planned into an order, or refused in words ---------------------------------

def _plan(signal: dict[str, Any], rules: dict[str, Any] | None = None,
          best: str | None = "100", amount_step: str = "0.001",
          config: dict[str, Any] | None = None) -> tuple[Any, Any]:
    from fsm_executor import InvalidInput, Signal
    from fsm_executor.core._answers import MarketRules
    from fsm_executor.core._decide import plan_order

    market = MarketRules("BTC/USDT", "BTC", "USDT", **{
        "min_amount": None, "max_amount": None, "min_cost": None, "min_price": None,
        "max_price": None, "price_tick": D("0.01"), **(rules or {})})

    def to_amount(value: Decimal) -> Decimal:
        rounded = value.quantize(D(amount_step), rounding="ROUND_DOWN")
        if value and not rounded and value < D(amount_step) / 10:
            raise InvalidInput(f"amount {value} is below the precision {amount_step}")
        return rounded

    given = {"id": "s1", "symbol": "BTC/USDT", "side": "buy", "amount": "1", **signal}
    return plan_order(Signal(**given), "c1", ExecutionConfig(**(config or {})), market,
                      None if best is None else D(best), to_amount, lambda p: p)


@pytest.mark.parametrize(("signal", "rules", "best", "reason", "amount", "price"), [
    ({"price": "100"}, {"active": False}, "100", "market BTC/USDT is not active", "1", "100"),
    ({}, {}, None,
     "no reference price: the signal has none and the exchange gave no quote", "1", None),
    ({"amount": "0.00001"}, {}, "100",
     "amount 0.00001 is below the market's precision (amount 0.00001 is below the "
     "precision 0.001)", "0.00001", "100"),
    ({"amount": "0.0004"}, {}, "100", "amount 0.0004 rounds to 0 at the market's precision",
     "0.0004", "100"),
    ({"amount": "0.5004"}, {"min_amount": D("0.6")}, "100",
     "amount 0.500 is below the minimum 0.6", "0.500", "100"),
    ({"amount": "2.0004"}, {"max_amount": D("1.5")}, "100",
     "amount 2.000 is above the maximum 1.5", "2.000", "100"),
    ({"price": "0.001", "amount": "1.0004"}, {}, "100",
     "no valid limit price within the slippage tolerance", "1.000", "0.001"),
    ({"price": "100", "amount": "1.0004"}, {"min_price": D("200")}, "100",
     "price 100.10 is below the minimum 200", "1.000", "100.10"),
    ({"price": "100", "amount": "1.0004"}, {"max_price": D("50")}, "100",
     "price 100.10 is above the maximum 50", "1.000", "100.10"),
    ({"price": "100", "amount": "1.0004", "order_type": "market"}, {}, None,
     "no current price to check a market order's slippage against", "1.000", "100"),
    ({"price": "100", "amount": "1.0004", "order_type": "market"}, {}, "101",
     "market buy refused: best price 101 is 1.0000% from the reference 100, over the "
     "0.1% tolerance", "1.000", "100"),
    ({"price": "100", "amount": "0.0504"}, {"min_cost": D("10")}, "100",
     "cost 5.00500 is below the minimum 10", "0.050", "100.10"),
    ({"price": "100", "amount": "0.0504", "order_type": "market"}, {"min_cost": D("10")},
     "100.05", "cost 5.00250 is below the minimum 10", "0.050", "100"),
])
def test_a_signal_that_must_not_be_placed_is_refused_in_words_with_what_it_would_have_been(
        signal: dict[str, Any], rules: dict[str, Any], best: str | None, reason: str,
        amount: str, price: str | None) -> None:
    spec, refusal = _plan(signal, rules, best)
    assert refusal is not None and refusal.reason == reason
    assert spec.amount == D(amount)
    assert spec.price == (None if price is None else D(price))


@pytest.mark.parametrize("rules", [
    {"min_amount": D("1")}, {"max_amount": D("1")}, {"min_price": D("100.10")},
    {"max_price": D("100.10")}, {"min_cost": D("100.10")},
])
def test_an_order_exactly_at_the_markets_limit_is_placed(rules: dict[str, Any]) -> None:
    spec, refusal = _plan({"price": "100"}, rules)
    assert refusal is None and (spec.amount, spec.price) == (D(1), D("100.10"))


def test_a_market_order_exactly_at_its_tolerance_is_placed() -> None:
    spec, refusal = _plan({"price": "100", "order_type": "market"}, best="100.1")
    assert refusal is None and spec.price == D(100)  # the reference, kept for the record


def test_a_limit_price_of_one_quote_unit_or_less_is_still_a_price() -> None:
    spec, refusal = _plan({"price": "1", "amount": "1"})
    assert refusal is None and spec.price is not None and D("1") <= spec.price <= D("1.01")
    spec, refusal = _plan({"price": "0.5", "amount": "1"})
    assert refusal is None and spec.price is not None and spec.price < 1


def test_the_signals_price_is_the_reference_before_the_exchanges_quote() -> None:
    spec, refusal = _plan({"price": "90"}, best="100")
    assert refusal is None and spec.price is not None and spec.price < D(91)


def test_a_create_refused_before_execution_fails_once_its_retries_are_spent_saying_so(
) -> None:
    from fsm_executor.core._decide import after_create_failure

    refused = ExchangeFailure("rate_limited", "create_order: DDoSProtection: 429",
                              "DDoSProtection", unprocessed=True)
    assert after_create_failure(refused, may_retry=True) is None
    event = after_create_failure(refused, may_retry=False)
    assert event is not None and event.trigger == "reject"
    assert event.reason == ("refused before execution, and the retries are used up: "  # type: ignore[attr-defined]
                            "create_order: DDoSProtection: 429")


def test_an_ended_order_the_exchange_reports_otherwise_is_noted_not_followed() -> None:
    filled = order(State.FILLED, filled="1")
    assert observe(filled, seen(status="canceled", filled="0.5")) == [Note(
        "after_end", "exchange reports status 'canceled' filled 0.5 for an order already "
        "filled with filled 1")]
    # An answer that agrees, or says no filled figure, is nothing to note.
    assert observe(filled, seen(status="closed", filled="1")) == []
    assert observe(filled, seen(status="closed", filled=None)) == []


def test_an_ended_orders_trades_settle_it_within_its_own_filled_not_the_answers_figures(
) -> None:
    ended = order(State.CANCELLED, filled="0.2")
    ended.fills = {**ended.fills, "E1:cum:0.5": Fill("E1:cum:0.5", "0.3", "10", inferred=True)}
    ended.filled, ended.cost = D("0.5"), D(5)
    # The exchange now says 0.6 at a cost of 6.6, and lists one more trade. The order
    # ended at 0.5: that stands, and the answer's cost and fees (of another filled) are
    # not used.
    answer = ExchangeOrder("E1", "c1", "canceled", D(1), D("0.6"), None, D("6.6"), None,
                           None, (Fill("t1", "0.1", "11"),), fees={"USDT": D("0.06")})
    note, restate = observe(ended, answer)
    assert isinstance(note, Note) and note.kind == "after_end"
    assert restate == Restate(("E1:cum:0.5",), [
        Fill("t1", "0.1", "11"), Fill("E1:cum:0.5", "0.2", "10", inferred=True)])


def test_an_inferred_fill_is_keyed_by_the_exchange_id_the_order_has_when_the_answer_has_none(
) -> None:
    anonymous = ExchangeOrder(None, "c1", "open", D(1), D("0.5"), None, None, None, None)
    (fill,) = observe(order(), anonymous)
    assert isinstance(fill, Fill) and fill.trade_id == "E1:cum:0.5" and fill.inferred


def notes(events: list[object]) -> list[tuple[str, str]]:
    return [(e.kind, e.detail) for e in events if isinstance(e, Note)]


def test_each_odd_answer_is_noted_in_its_words() -> None:
    assert notes(observe(order(), seen(filled="1.5"))) == [
        ("overfill", "exchange reports filled 1.5 of an order of 1; recorded up to the amount")]
    assert notes(observe(order(filled="0.5"), seen(filled="0.25"))) == [
        ("filled_backwards", "exchange reports filled 0.25, below the 0.5 already recorded: "
                             "kept 0.5")]
    assert notes(observe(order(), seen(status="closed", filled=None))) == [
        ("filled_inferred", "status closed without a filled figure")]
    anonymous = ExchangeOrder(None, "c1", "open", D(1), D(0), None, None, None, None)
    assert notes(observe(order(State.SUBMIT_UNKNOWN), anonymous)) == [
        ("no_order_id", f"the exchange answered without an order id: {anonymous!r}")]
    odd = ExchangeOrder("E2", "c1", "open", D(1), D(0), None, None, None, None)
    assert notes(observe(order(), odd)) == [
        ("id_mismatch", "exchange reports id E2 for an order it acknowledged as E1")]
    assert observe(order(State.PENDING_SUBMIT), seen(status="REJECTED")) == [
        Reject("the exchange rejected the order (status 'REJECTED')")]
    assert notes(observe(order(), seen(status=None))) == [
        ("status_missing", "the exchange reported no status")]
    assert notes(observe(order(), seen(status="canceled", filled="1"))) == [
        ("complete_with_status", "fully filled, status 'canceled'")]
    assert notes(observe(order(), seen(status="closed", filled="0.5"))) == [
        ("closed_short", "status closed with filled 0.5 of 1; still watched")]
    assert notes(observe(order(), seen(status="PENDING_NEW"))) == [
        ("unknown_status", "status 'PENDING_NEW'")]


def test_each_end_the_exchange_reports_carries_its_words() -> None:
    assert observe(order(), seen(status="canceled")) == [
        Cancel("cancelled on the exchange (filled 0 of 1)")]
    # A reason an order carries from earlier (a lost answer) is no cancel we asked for.
    found = order()
    found.reason = "generated: answer lost"
    assert observe(found, seen(status="canceled")) == [
        Cancel("cancelled on the exchange (filled 0 of 1)")]
    asked = order(State.PENDING_CANCEL)
    asked.reason = "not filled within 30s: remainder cancelled"
    assert observe(asked, seen(status="cancelled", filled="0")) == [
        Cancel("not filled within 30s: remainder cancelled (confirmed by the exchange, "
               "filled 0 of 1)")]
    assert observe(order(), seen(status="expired")) == [
        Expire("expired on the exchange (filled 0 of 1)")]
    assert observe(order(), seen(status="rejected")) == [
        Cancel("the exchange rejected the order after acknowledging it")]


def test_closed_without_a_filled_figure_is_filled_to_the_amount_the_answer_gives() -> None:
    # The answer's own amount (an exchange that rounded it), else the order's.
    (_, fill, note) = observe(order(), seen(status="closed", filled=None, amount="0.5"))
    assert isinstance(fill, Fill) and fill.amount == D("0.5")
    assert isinstance(note, Note) and note.kind == "closed_short"
    (_, fill) = observe(order(), ExchangeOrder("E1", "c1", "closed", None, None, None, None,
                                               None, None))
    assert isinstance(fill, Fill) and fill.amount == D(1)


@pytest.mark.parametrize(("reported", "used"), [
    ("0.5", True),  # the answer's filled is the one used: its cost and fees with it
    ("1.5", False),  # capped at the amount: another filled than the answer's
])
def test_the_answers_cost_and_fees_price_an_inferred_fill_only_at_its_own_filled(
        reported: str, used: bool) -> None:
    answer = ExchangeOrder("E1", "c1", "open", D(1), D(reported), None, D("9.9"), None, None,
                           fees={"USDT": D("0.02")})
    (fill,) = [e for e in observe(order(), answer) if isinstance(e, Fill)]
    assert fill.inferred
    if used:
        assert (fill.cost, fill.fees()) == (D("9.9"), (("USDT", D("0.02")),))
    else:
        assert (fill.cost, fill.fees(), fill.price) == (None, (), D(10))


def test_an_answer_below_the_recorded_filled_does_not_reprice_what_is_inferred() -> None:
    inferred = order()
    inferred.fills = {"E1:cum:0.5": Fill("E1:cum:0.5", "0.5", "10", inferred=True)}
    inferred.filled, inferred.cost = D("0.5"), D(5)
    answer = ExchangeOrder("E1", "c1", "open", D(1), D("0.25"), None, D("9.9"), None, None)
    assert kinds(observe(inferred, answer)) == ["filled_backwards"]


def test_an_ended_orders_trades_are_priced_by_the_answer_that_agrees_with_its_filled() -> None:
    ended = order(State.CANCELLED, filled="0.2")
    ended.fills = {**ended.fills, "E1:cum:0.5": Fill("E1:cum:0.5", "0.3", "10", inferred=True)}
    ended.filled, ended.cost = D("0.5"), D(5)
    answer = ExchangeOrder("E1", "c1", "canceled", D(1), D("0.5"), None, D("5.6"), None,
                           None, (Fill("t1", "0.1", "11"),))
    (restate,) = observe(ended, answer)
    # 5.6 in all, 3.1 of it the trades listed: the 0.2 left cost 2.5.
    assert restate == Restate(("E1:cum:0.5",), [
        Fill("t1", "0.1", "11"),
        Fill("E1:cum:0.5", "0.2", "12.5", inferred=True, cost=D("2.5"))])
