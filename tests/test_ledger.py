"""The ledger: filled, cost, average and fees converge on the exchange's trades, with
inferred fills standing in (provisionally) for trades not listed yet. One test per way the
money used to go wrong."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import fills

from fsm_executor import (
    Acknowledge,
    BadRestate,
    Cancel,
    ConflictingFill,
    Fill,
    Note,
    OrderBook,
    OrderSpec,
    Overfill,
    RequestCancel,
    Restate,
    State,
    Submit,
    audit,
    replay,
)
from fsm_executor.core._answers import ExchangeOrder
from fsm_executor.core._decide import observe
from fsm_executor.core._ledger import Figures, fees_of, reconcile, settle, totals
from fsm_executor.core._model import Order
from fsm_executor.core._values import LEDGER
from fsm_executor.exchange._ccxt_shapes import fills_from_ccxt
from fsm_executor.journal._tally import invariants as _invariants

D = Decimal


def answer(filled: str | None, status: str = "open", cost: str | None = None,
           fees: dict[str, str] | None = None, trades: tuple[Fill, ...] = ()) -> ExchangeOrder:
    return ExchangeOrder(
        "E1", "c1", status, D(1), None if filled is None else D(filled), None,
        None if cost is None else D(cost), None, None, trades,
        fees=None if fees is None else {c: D(v) for c, v in fees.items()})


def trade(tid: str, amount: str, price: str, fee: str = "0", currency: str = "USDT") -> Fill:
    return Fill(tid, amount, price, fee, currency)


@pytest.fixture
def book(journal_path: Path) -> OrderBook:
    book = OrderBook.open(journal_path)
    book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", "1", "100"))
    book.apply("c1", Submit())
    book.apply("c1", Acknowledge("E1"))
    return book


def see(book: OrderBook, seen: ExchangeOrder, trades: list[Fill] | None = None) -> Order:
    return book.apply_all("c1", observe(book.get("c1"), seen, trades))


def money(order: Order) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    return order.filled, order.cost, dict(order.fees)


def test_trades_listed_late_replace_the_inferred_fill_none_counted_twice_none_dropped(
        book: OrderBook, journal_path: Path) -> None:
    # Half filled at 100; the trade list is still empty: inferred.
    order = see(book, answer("0.5", cost="50"), [])
    assert [f.inferred for f in order.fills.values()] == [True]
    # Filled at last, 0.5 more at 110: both trades are listed now. The old ledger counted the
    # first on top of the inferred fill and dropped the second with its price and fee.
    trades = [trade("t1", "0.5", "100", "0.05"), trade("t2", "0.5", "110", "0.055")]
    order = see(book, answer("1", "closed", cost="105"), trades)
    assert order.state is State.FILLED
    assert set(order.fills) == {"t1", "t2"}
    assert money(order) == (D(1), D(105), {"USDT": D("0.105")})
    assert order.average == D("105")
    assert replay(journal_path)["c1"] == order
    assert audit(journal_path).ok


def test_the_restate_is_journaled_retracting_exactly_the_inferred_fill(
        book: OrderBook, journal_path: Path) -> None:
    see(book, answer("0.5", cost="50"), [])
    see(book, answer("0.5", cost="50"), [trade("t1", "0.5", "100")])
    last = book.journal.entries_after(0)[-1]
    assert last.trigger == "restate" and last.source == last.dest == "partially_filled"
    assert last.data()["retract"] == ["E1:cum:0.5"]
    assert [f["trade_id"] for f in last.data()["fills"]] == ["t1"]


def test_the_inferred_part_is_priced_at_its_own_marginal_price_not_the_average(
        book: OrderBook) -> None:
    see(book, answer("0.5", cost="50"), [trade("t1", "0.5", "100")])
    # 0.5 more at 120: the order's average is 110, the inferred half's own price 120.
    order = see(book, answer("1", "closed", cost="110"), [])
    inferred = [f for f in order.fills.values() if f.inferred]
    assert [(f.amount, f.price, f.value) for f in inferred] == [(D("0.5"), D(120), D(60))]
    assert order.cost == D(110)


def test_an_inferred_cost_that_does_not_divide_evenly_keeps_the_exact_cost(
        book: OrderBook) -> None:
    order = see(book, answer("0.3", cost="10"), [])
    assert order.cost == D(10)  # not 0.3 x 33.33...
    (fill,) = order.fills.values()
    assert fill.value == D(10) and fill.price == D(10) / D("0.3")


def submitted(price: str, amount: str = "1000") -> Order:
    order = Order.from_spec(OrderSpec("c1", "DOGE/USDT", "buy", "limit", amount, price), 0.0)
    order.state, order.exchange_order_id = State.SUBMITTED, "E1"
    return order


def test_an_inferred_cost_below_one_quote_unit_still_prices_the_fill() -> None:
    figures = Figures(D(10), cost=D("0.85"), fallback_price=D("0.09"), key="E1")
    [fill] = reconcile(submitted("0.09"), figures, [])
    assert isinstance(fill, Fill)
    assert (fill.trade_id, fill.amount, fill.cost, fill.price, fill.inferred) == (
        "E1:cum:10", D(10), D("0.85"), D("0.085"), True)


def test_a_cost_its_trades_already_account_for_leaves_the_inferred_rest_at_the_fallback(
) -> None:
    # Nothing of the order's cost is left for the rest (an exchange's figures that lag):
    # no cost of zero nor price of zero, the fallback price instead.
    order = submitted("0.09")
    order.fills = {"t1": Fill("t1", "5", "0.1")}
    order.filled, order.cost = D(5), D("0.5")
    figures = Figures(D(10), cost=D("0.5"), fallback_price=D("0.09"), key="E1")
    [fill] = reconcile(order, figures, [])
    assert isinstance(fill, Fill)
    assert (fill.amount, fill.cost, fill.price) == (D(5), None, D("0.09"))


def test_a_listing_is_read_past_a_known_trade_a_repeat_and_a_trade_ahead_of_the_figures(
) -> None:
    order = submitted("10", amount="1")
    known = Fill("t1", "0.2", "10")
    order.fills, order.filled, order.cost = {"t1": known}, D("0.2"), D(2)
    figures = Figures(D("0.7"), fallback_price=D(10), key="E1")
    clash = Fill("t1", "0.2", "11")
    listing = [clash, Fill("t2", "0.2", "10"), Fill("t2", "0.2", "10"),
               Fill("t3", "0.4", "10"), Fill("t4", "0.1", "10")]
    events = reconcile(order, figures, listing)
    # The recorded t1 kept (its clash noted), t2 taken once, t3 beyond the 0.7 the answer
    # says (it waits for the next one), t4 still within it, and the rest inferred.
    assert events == [
        Note("conflicting_trade", f"trade 't1' listed as {clash!r}, recorded as {known!r}: "
                                  "kept the record"),
        Fill("t2", "0.2", "10"), Fill("t4", "0.1", "10"),
        Fill("E1:cum:0.7", "0.2", "10", inferred=True)]


def test_trades_beyond_an_ended_orders_filled_are_noted_by_name_only_once_it_has_ended(
) -> None:
    order = submitted("10", amount="1")
    figures = Figures(D("0.3"), fallback_price=D(10), key="E1")
    listing = [Fill("t1", "0.2", "10"), Fill("t2", "0.2", "10"), Fill("t3", "0.3", "10")]
    # Open, a trade ahead of the figures waits without a word.
    assert not [e for e in reconcile(order, figures, listing) if isinstance(e, Note)]
    order.state = State.CANCELLED
    assert [e for e in reconcile(order, figures, listing) if isinstance(e, Note)] == [Note(
        "trades_beyond_filled", "trades t2, t3 would take filled past the 0.3 the order "
        "ended with")]
    # Ended, with nothing beyond: nothing to say.
    assert not [e for e in reconcile(order, figures, listing[:1]) if isinstance(e, Note)]


def test_without_an_inferred_fill_an_answer_that_adds_nothing_restates_nothing() -> None:
    order = submitted("10", amount="1")
    order.fills, order.filled, order.cost = {"t1": Fill("t1", "0.5", "10")}, D("0.5"), D(5)
    # The same filled, another cost: only an inferred fill's price could be corrected.
    assert reconcile(order, Figures(D("0.5"), fallback_price=D(10), cost=D(6), key="E1"),
                     []) == []


def test_order_level_fees_are_used_for_what_no_trade_accounts_for(book: OrderBook) -> None:
    order = see(book, answer("0.5", cost="50", fees={"USDT": "0.05", "BNB": "0.001"}), [])
    assert order.fees == {"USDT": D("0.05"), "BNB": D("0.001")}
    # One trade is listed: it is charged what it says, the inferred rest the remainder.
    order = see(book, answer("1", cost="100", fees={"USDT": "0.07", "BNB": "0.003"}),
                [trade("t1", "0.5", "100", "0.002", "BNB")])
    assert money(order) == (D(1), D(100), {"USDT": D("0.07"), "BNB": D("0.003")})
    inferred = [f for f in order.fills.values() if f.inferred]
    assert fees_of(inferred) == {"USDT": D("0.07"), "BNB": D("0.001")}


def test_without_new_trades_the_orders_own_figures_correct_the_inferred_price(
        book: OrderBook) -> None:
    see(book, answer("0.5"), [])  # no cost: priced at the fallback (the order's price)
    order = see(book, answer("0.5", cost="45", fees={"USDT": "0.01"}), [])
    assert money(order) == (D("0.5"), D(45), {"USDT": D("0.01")})
    rows = len(book.journal.entries_after(0))
    see(book, answer("0.5", cost="45", fees={"USDT": "0.01"}), [])
    assert len(book.journal.entries_after(0)) == rows, "the same answer again changes nothing"


def test_a_negative_fee_is_a_rebate_and_is_kept(book: OrderBook, journal_path: Path) -> None:
    order = see(book, answer("1", "closed", cost="100"),
                [trade("t1", "0.6", "100", "-0.012"), trade("t2", "0.4", "100", "0.04")])
    assert order.state is State.FILLED
    assert order.fees == {"USDT": D("0.028")}
    order2 = replay(journal_path)["c1"]
    assert order2.fills["t1"].fee_cost == D("-0.012")


def test_trades_listed_ahead_of_the_order_answer_wait_for_it(book: OrderBook) -> None:
    order = see(book, answer("0.5", cost="50"),
                [trade("t1", "0.5", "100"), trade("t2", "0.5", "100")])
    assert set(order.fills) == {"t1"} and order.filled == D("0.5")
    order = see(book, answer("1", "closed", cost="100"),
                [trade("t1", "0.5", "100"), trade("t2", "0.5", "100")])
    assert set(order.fills) == {"t1", "t2"} and order.state is State.FILLED


def test_an_ended_orders_late_trades_settle_its_ledger_within_its_filled(
        book: OrderBook, journal_path: Path) -> None:
    see(book, answer("0.4", cost="40", fees={"USDT": "0.04"}), [])
    order = see(book, answer("0.4", "canceled", cost="40", fees={"USDT": "0.04"}), [])
    assert order.state is State.CANCELLED
    # One of the two trades is listed: it replaces its share, the rest stays inferred at
    # the order's own figures.
    order = book.apply_all("c1", settle(order, [trade("t1", "0.1", "90", "0.01")]))
    assert money(order) == (D("0.4"), D(40), {"USDT": D("0.04")})
    assert order.fills["t1"].price == D(90)
    order = book.apply_all("c1", settle(order, [trade("t1", "0.1", "90", "0.01"),
                                                trade("t2", "0.3", "103.33", "0.03")]))
    assert set(order.fills) == {"t1", "t2"} and order.state is State.CANCELLED
    assert money(order) == (D("0.4"), D("39.999"), {"USDT": D("0.04")})
    assert settle(order, [trade("t1", "0.1", "90", "0.01")]) == []
    last = book.journal.entries_after(0)[-1]
    assert (last.trigger, last.source, last.dest) == ("restate", "cancelled", "cancelled")
    assert audit(journal_path).ok


@pytest.mark.parametrize("events, why", [
    ([Restate(["t1"], [trade("t9", "0.5", "100")])], "not an inferred fill"),
    ([Restate(["E1:cum:0.5"], [])], "filled would go down"),
    ([Restate(["E1:cum:0.5"], [trade("t7", "0.2", "100")])], "filled would go down"),
    ([Restate(["E1:cum:0.5", "E1:cum:0.5"], [trade("t8", "0.5", "1"), trade("t9", "0.5", "1")])],
     "retracted twice"),
])
def test_a_restate_may_only_reattribute_inferred_fills(book: OrderBook, events: list[Any],
                                                      why: str) -> None:
    see(book, answer("0.5", cost="50"), [trade("t1", "0.25", "100")])
    rows = len(book.journal.entries_after(0))
    with pytest.raises(BadRestate, match=why) as refused:
        book.apply_all("c1", events)
    assert refused.value.order_id == "c1"  # which order, in its words too
    assert len(book.journal.entries_after(0)) == rows


def test_a_restate_drops_a_fee_currency_no_fill_is_charged_in_any_more(
        book: OrderBook) -> None:
    # The answer said BNB fees; the trades listed later were charged in USDT.
    inferred = see(book, answer("0.5", cost="50", fees={"BNB": "0.001"}), [])
    assert dict(inferred.fees) == {"BNB": D("0.001")}
    order = book.apply("c1", Restate(["E1:cum:0.5"], [trade("t1", "0.5", "100", "0.05")]))
    assert dict(order.fees) == {"USDT": D("0.05")}  # what the fills alone give
    assert dict(order.fees) == fees_of(order.fills.values())


def test_a_restate_keeps_a_fee_currency_its_fills_charge_even_when_they_sum_to_nothing(
        book: OrderBook) -> None:
    # A fee and a rebate of the same amount: the currency is charged, at 0 in all, as the
    # fills alone list it.
    see(book, answer("0.5", cost="50", fees={"USDT": "0"}), [])
    order = book.apply("c1", Restate(["E1:cum:0.5"], [trade("t1", "0.25", "100", "0.01"),
                                                      trade("t2", "0.25", "100", "-0.01")]))
    assert dict(order.fees) == {"USDT": D(0)} == fees_of(order.fills.values())


def test_a_restate_while_a_cancel_is_pending_leaves_the_order_pending_cancel(
        book: OrderBook, journal_path: Path) -> None:
    see(book, answer("0.5", cost="50"), [])  # half filled, inferred
    book.apply("c1", RequestCancel("timeout"))
    order = book.apply("c1", Restate(["E1:cum:0.5"], [trade("t1", "0.5", "100")]))
    assert (order.state, order.filled) == (State.PENDING_CANCEL, D("0.5"))
    last = book.journal.entries_after(0)[-1]
    assert (last.trigger, last.source, last.dest) == (
        "restate", "pending_cancel", "pending_cancel")
    assert audit(journal_path).ok


@pytest.mark.parametrize(("events", "kind", "words"), [
    ([Restate(["E1:cum:0.5", "E1:cum:0.5"], [trade("t8", "0.5", "1")])], BadRestate,
     "restate refused: a fill is retracted twice"),
    ([Restate(["E1:cum:0.5"], [trade("t1", "0.25", "100"), trade("t9", "0.25", "100")])],
     BadRestate, "restate refused: trade 't1' is applied already"),
    ([Restate(["E1:cum:0.5"], [trade("t1", "0.25", "99"), trade("t9", "0.25", "100")])],
     ConflictingFill, "trade 't1' was already applied with other figures"),
    ([Restate(["E1:cum:0.5"], [trade("t8", "0.25", "100"), trade("t8", "0.25", "100")])],
     BadRestate, "restate refused: a trade is added twice"),
    ([Restate(["E1:cum:0.5"], [trade("t8", "0.1", "100")])], BadRestate,
     "restate refused: filled would go down from 0.75 to 0.60"),
    ([Restate(["E1:cum:0.5"], [trade("t7", "0.1", "100"), trade("t8", "0.4", "100"),
                                trade("t9", "0.3", "100")])],
     Overfill, "fill 't9' of 0.55 would take filled from 0.75 past the order amount 1"),
])
def test_a_restate_refused_says_which_order_and_why_in_words(
        book: OrderBook, events: list[Any], kind: type[Exception], words: str) -> None:
    # Half filled by the answer, a quarter of it listed as t1: a quarter and a half inferred.
    see(book, answer("0.5", cost="50"), [trade("t1", "0.25", "100")])
    see(book, answer("0.75", cost="75"), [])
    assert book.get("c1").filled == D("0.75")
    with pytest.raises(kind) as info:
        book.apply_all("c1", events)
    assert type(info.value) is kind and info.value.order_id == "c1"  # type: ignore[attr-defined]
    assert str(info.value) == f"order 'c1': {words}"
    if kind is Overfill:
        assert (info.value.filled, info.value.amount, info.value.trade_id,  # type: ignore[attr-defined]
                info.value.fill_amount) == (D("0.75"), D(1), "t9", D("0.55"))  # type: ignore[attr-defined]
    if kind is ConflictingFill:
        assert info.value.trade_id == "t1"  # type: ignore[attr-defined]


def test_a_restate_cannot_change_what_an_ended_order_filled(book: OrderBook) -> None:
    see(book, answer("0.5", cost="50"), [])
    book.apply("c1", Cancel("gone"))
    with pytest.raises(BadRestate, match="must stay 0.5"):
        book.apply("c1", Restate(["E1:cum:0.5"], [trade("t1", "0.6", "100")]))


def test_trades_without_an_id_get_stable_distinct_keys() -> None:
    raw = {"id": None, "order": "E1", "timestamp": 1_700_000_000_000, "amount": 0.1,
           "price": 100.0, "fee": {"cost": 0.01, "currency": "USDT"}}
    twice = fills_from_ccxt([raw, dict(raw), {**raw, "amount": 0.2}], "E1")
    again = fills_from_ccxt([raw, dict(raw), {**raw, "amount": 0.2}], "E1")
    keys = [f.trade_id for f in twice]
    assert len(set(keys)) == 3 and keys == [f.trade_id for f in again]
    assert all(k.startswith("E1:t:") for k in keys)


def test_an_id_less_trade_has_one_key_whether_or_not_the_answer_gives_its_time(
        book: OrderBook) -> None:
    # ccxt's order answer may carry its trades without a time, the trade list with one: the
    # same trade seen both ways must not count twice (and another one must not be dropped).
    a = {"id": None, "order": "E1", "amount": 0.1, "price": 100.0,
         "fee": {"cost": 0.01, "currency": "USDT"}}
    b = {**a, "amount": 0.2, "price": 101.0}
    in_answer = fills_from_ccxt([{**a, "timestamp": None}], "E1")
    order = see(book, answer("0.1", cost="10", trades=tuple(in_answer)), [])
    listed = fills_from_ccxt([{**a, "timestamp": 1_700_000_000_000},
                              {**b, "timestamp": 1_700_000_001_000}], "E1")
    order = see(book, answer("0.3", cost="30.2"), listed)
    assert money(order) == (D("0.3"), D("30.2"), {"USDT": D("0.02")})
    assert len(order.fills) == 2


def test_two_id_less_trades_fill_an_order_without_a_conflict(book: OrderBook) -> None:
    raw = {"id": None, "order": "E1", "timestamp": 1_700_000_000_000, "amount": 0.5,
           "price": 100.0, "fee": {"cost": -0.01, "currency": "USDT"}}
    order = see(book, answer("1", "closed", cost="100"), fills_from_ccxt([raw, raw], "E1"))
    assert order.state is State.FILLED and len(order.fills) == 2
    assert order.fees == {"USDT": D("-0.02")}


def test_audit_names_an_order_whose_cost_or_fees_are_not_its_fills(book: OrderBook) -> None:
    order = see(book, answer("0.5", cost="50", fees={"USDT": "0.05"}), [])
    assert _invariants(order) == []
    order.cost += 1
    order.fees = {"USDT": D("0.06")}
    problems = " | ".join(_invariants(order))
    assert "cost 51 is not the sum" in problems and "fees {'USDT'" in problems


def test_a_trade_recorded_with_its_time_and_listed_without_or_at_another_time(
        book: OrderBook) -> None:
    def conflicts() -> int:
        return [e.data().get("kind") for e in book.journal.entries_after(0)].count(
            "conflicting_trade")

    timed = Fill("t1", "0.5", "100", "0", "USDT", 1_700_000_000.0)
    see(book, answer("0.5", cost="50"), [timed])
    see(book, answer("0.5", cost="50"), [Fill("t1", "0.5", "100", "0", "USDT")])
    assert conflicts() == 0  # an answer that leaves the time out says nothing against it
    see(book, answer("0.5", cost="50"), [Fill("t1", "0.5", "100", "0", "USDT", 1.7e9 + 5)])
    assert conflicts() == 1  # two times for one trade: the record is kept, the clash noted
    assert book.get("c1").fills["t1"] == timed


def test_an_answer_corrects_inferred_fees_and_cost_only_with_figures_it_gives(
        book: OrderBook) -> None:
    def restates() -> int:
        return [e.trigger for e in book.journal.entries_after(0)].count("restate")

    see(book, answer("0.5", cost="50", fees={"USDT": "0.05"}), [])
    see(book, answer("0.5", cost="50", fees={"USDT": "0.06"}), [])  # the fee corrected
    assert restates() == 1 and money(book.get("c1")) == (D("0.5"), D(50), {"USDT": D("0.06")})
    see(book, answer("0.5", cost="50"), [])  # no fees said: none corrected away
    see(book, answer("0.5"), [])  # no cost said: the price stays the one the cost gave
    assert restates() == 1 and money(book.get("c1")) == (D("0.5"), D(50), {"USDT": D("0.06")})
    see(book, answer("0.5", cost="49.5", fees={"USDT": "0.06"}), [])  # the cost corrected
    assert restates() == 2 and money(book.get("c1")) == (D("0.5"), D("49.5"),
                                                         {"USDT": D("0.06")})


def test_a_fee_currency_named_twice_is_summed_and_survives_the_journal(
        book: OrderBook, journal_path: Path) -> None:
    fill = Fill("t1", "0.5", "100", "0.05", "USDT",
                more_fees=(("BNB", D("0.001")), ("BNB", D("0.002"))))
    assert fill.more_fees == (("BNB", D("0.003")),)
    assert Fill.from_payload(fill.to_payload()) == fill
    order = book.apply("c1", fill)
    assert order.fees == {"USDT": D("0.05"), "BNB": D("0.003")}
    assert replay(journal_path)["c1"] == order


def test_a_trade_seen_with_and_without_its_time_is_no_conflict(
        book: OrderBook, journal_path: Path) -> None:
    order = see(book, answer("0.5", cost="50", trades=(trade("t1", "0.5", "100"),)), [])
    timed = Fill("t1", "0.5", "100", "0", "USDT", 1_700_000_000.0)
    see(book, answer("0.5", cost="50"), [timed])
    assert "conflicting_trade" not in [e.data().get("kind") for e in
                                       book.journal.entries_after(0)]
    other = Fill("t1", "0.5", "101", "0", "USDT", 1_700_000_000.0)
    see(book, answer("0.5", cost="50"), [other])
    assert [e.data().get("kind") for e in book.journal.entries_after(0)].count(
        "conflicting_trade") == 1
    assert money(book.get("c1")) == money(order), "the record is kept"


def test_an_ended_orders_settled_remainder_is_keyed_as_observing_it_would_key_it(
        book: OrderBook) -> None:
    # The same cumulative figure seen again (reconciliation after a restart) must find
    # the same inferred fill: both key it by the exchange's order id.
    see(book, answer("0.4", cost="40"), [])
    order = see(book, answer("0.4", "canceled", cost="40"), [])
    order = book.apply_all("c1", settle(order, [trade("t1", "0.1", "90")]))
    assert [f.trade_id for f in order.fills.values() if f.inferred] == ["E1:cum:0.4"]


def test_a_remainder_whose_cost_was_never_given_keeps_its_price_not_the_books_cost(
        book: OrderBook) -> None:
    # The answers gave no cost: the inferred fill was priced at the order's price (100), and
    # the order's cost is only what that price made. The trade listed later at 90 says
    # nothing of the rest's price: it stays at 100, with no exact cost made up.
    see(book, answer("0.4"), [])
    order = see(book, answer("0.4", "canceled"), [])
    assert order.cost == D(40)
    order = book.apply_all("c1", settle(order, [trade("t1", "0.1", "90")]))
    (rest,) = [f for f in order.fills.values() if f.inferred]
    assert (rest.amount, rest.price, rest.cost) == (D("0.3"), D(100), None)
    assert order.cost == D(39)


def test_a_remainder_whose_fees_were_never_given_is_charged_none(book: OrderBook) -> None:
    # A listed trade carried its fee; the answers gave no fees for the rest. The trade
    # listed later with its own fee leaves the rest charged nothing (not a rebate of what
    # the trades were charged).
    see(book, answer("0.4"), [trade("t0", "0.1", "100", "0.01")])
    order = see(book, answer("0.4", "canceled"), [trade("t0", "0.1", "100", "0.01")])
    assert dict(order.fees) == {"USDT": D("0.01")}
    order = book.apply_all("c1", settle(order, [trade("t0", "0.1", "100", "0.01"),
                                                trade("t1", "0.1", "90", "0.02")]))
    (rest,) = [f for f in order.fills.values() if f.inferred]
    assert rest.fees() == ()
    assert dict(order.fees) == {"USDT": D("0.03")}


def test_an_ended_orders_filled_is_what_it_ended_with_a_restate_may_not_raise_it(
        book: OrderBook) -> None:
    see(book, answer("0.4", cost="40"), [])
    see(book, answer("0.4", "canceled", cost="40"), [])
    with pytest.raises(BadRestate) as refused:
        book.apply("c1", Restate(["E1:cum:0.4"], [trade("t1", "0.5", "100")]))
    assert refused.value.order_id == "c1"
    assert refused.value.why == "the order is cancelled: filled must stay 0.4, not become 0.5"


def test_totals_take_an_inferred_fills_own_cost_and_sum_every_fee_per_currency() -> None:
    # An inferred fill carries the order's exact cost (its price is an estimate) and its
    # further fees; a currency charged by two fills, or twice by one, is summed.
    inferred = Fill("c1:cum:0.3", "0.3", "33.3333", "0.01", "USDT", inferred=True,
                    cost="10", more_fees={"BNB": "0.002", "USDT": "0.02"})
    trade = Fill("t1", "0.2", "30", "0.003", "BNB", more_fees={"BNB": "0.001"})
    amount, cost, fees = totals([inferred, trade])
    assert (amount, cost) == (Decimal("0.5"), Decimal("16.0"))  # 10 + 0.2 x 30
    assert fees == {"USDT": Decimal("0.03"), "BNB": Decimal("0.006")}



@given(st.lists(fills, max_size=6))
def test_totals_are_what_each_fills_value_and_fees_add_up_to(listed: list[Fill]) -> None:
    # totals spells out Fill.value and Fill.fees for audit's speed: it must stay their sum.
    amount, cost, fees = Decimal(0), Decimal(0), {}
    for fill in listed:
        amount, cost = LEDGER.add(amount, fill.amount), LEDGER.add(cost, fill.value)
        for currency, fee in fill.fees():
            fees[currency] = LEDGER.add(fees.get(currency, Decimal(0)), fee)
    assert totals(listed) == (amount, cost, fees)
