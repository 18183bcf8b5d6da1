"""For generated fill sequences and answers in any order, the journal's filled, cost and fees
equal the exchange's ground truth once the order has ended and its trades are listed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fsm_executor import Acknowledge, OrderBook, OrderSpec, State, Submit, audit, replay
from fsm_executor.core._answers import ExchangeOrder
from fsm_executor.core._decide import observe
from fsm_executor.core._ledger import settle
from fsm_executor.exchange._ccxt_shapes import fills_from_ccxt

D = Decimal
AMOUNT = D(1)

raw_trades = st.lists(
    st.fixed_dictionaries({
        "id": st.none() | st.sampled_from(["t1", "t2", "t3", "t4", "t5", "t6"]),
        "amount": st.sampled_from(["0.05", "0.1", "0.25", "0.3", "0.5"]),
        "price": st.sampled_from(["99.5", "100", "100.01", "101", "33.333333"]),
        # Negative: a maker rebate. BNB: fees paid in another currency.
        "fee": st.sampled_from(["0", "0.001", "-0.0002", "0.00035"]),
        "currency": st.sampled_from(["USDT", "BNB"]),
        "timestamp": st.sampled_from([1_700_000_000_000, 1_700_000_000_500]),
    }),
    min_size=1, max_size=6,
)


def executed(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trades in ccxt's shape, within the order's amount and with distinct ids."""
    out, total, ids = [], D(0), set()
    for t in raw:
        if total + D(t["amount"]) > AMOUNT or (t["id"] is not None and t["id"] in ids):
            continue
        ids.add(t["id"])
        total += D(t["amount"])
        out.append({"id": t["id"], "order": "E1", "timestamp": t["timestamp"],
                    "amount": t["amount"], "price": t["price"],
                    "fee": {"cost": t["fee"], "currency": t["currency"]}})
    return out


def truth(trades: list[dict[str, Any]]) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    filled, cost, fees = D(0), D(0), {}
    for t in trades:
        filled += D(t["amount"])
        cost += D(t["amount"]) * D(t["price"])
        if D(t["fee"]["cost"]):
            currency = t["fee"]["currency"]
            fees[currency] = fees.get(currency, D(0)) + D(t["fee"]["cost"])
    return filled, cost, fees


def order_answer(trades: list[dict[str, Any]], k: int, status: str, with_cost: bool,
                 with_fees: bool) -> ExchangeOrder:
    filled, cost, fees = truth(trades[:k])
    return ExchangeOrder("E1", "c1", status, AMOUNT, filled, None,
                         cost if with_cost else None, None, None,
                         fees=fees if with_fees and fees else None)


answers = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.booleans(),
                             st.booleans()), max_size=8)


@given(raw=raw_trades, seen=answers, last_listed=st.integers(0, 6),
       final_cost=st.booleans(), final_fees=st.booleans())
def test_the_ledger_ends_equal_to_the_exchanges_trades(
        tmp_path_factory: Any, raw: list[dict[str, Any]], seen: list[tuple[int, int, bool, bool]],
        last_listed: int, final_cost: bool, final_fees: bool) -> None:
    path: Path = tmp_path_factory.mktemp("ledger") / "journal.db"
    trades = executed(raw)
    n = len(trades)
    with OrderBook.open(path) as book:
        book.create(OrderSpec("c1", "BTC/USDT", "buy", "limit", str(AMOUNT), "100"))
        book.apply("c1", Submit())
        book.apply("c1", Acknowledge("E1"))
        # Polls: the order answer at some point of its life (stale answers included), the
        # trade list lagging it or ahead of it.
        for k, listed, with_cost, with_fees in seen:
            k, listed = min(k, n), min(listed, n)
            status = "closed" if k and truth(trades[:k])[0] == AMOUNT else "open"
            book.apply_all("c1", observe(book.get("c1"), order_answer(
                trades, k, status, with_cost, with_fees), fills_from_ccxt(trades[:listed], "E1")))
        # It ends: filled, or the rest cancelled.
        end = "closed" if truth(trades)[0] == AMOUNT else "canceled"
        order = book.apply_all("c1", observe(book.get("c1"), order_answer(
            trades, n, end, final_cost, final_fees),
            fills_from_ccxt(trades[:min(last_listed, n)], "E1")))
        assert order.state is (State.FILLED if end == "closed" else State.CANCELLED)
        assert order.filled == truth(trades)[0]
        # Its trades are listed at last.
        order = book.apply_all("c1", settle(order, fills_from_ccxt(trades, "E1")))
        assert (order.filled, order.cost, dict(order.fees)) == truth(trades)
        assert not [f for f in order.fills.values() if f.inferred]
        assert settle(order, fills_from_ccxt(trades, "E1")) == []
    assert replay(path)["c1"] == order
    assert audit(path).ok
