"""Hypothesis strategies, in one place.

Figures come from small pools on purpose: orders then fill up exactly, trade ids repeat (both
as true duplicates and with other figures) and fills overshoot, which wide random Decimals
would almost never do.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from fsm_executor import (
    Abandon,
    Acknowledge,
    Cancel,
    CancelRejected,
    DeclareAbsent,
    Expire,
    Fill,
    LoseAnswer,
    Note,
    OrderSpec,
    PresumeAbsent,
    Refuse,
    Reject,
    RequestCancel,
    Restate,
    Resubmit,
    Submit,
    Withdraw,
)
from fsm_executor.core._states import TRIGGERS

ORDER_AMOUNTS = ("0.3", "0.5", "1", "1.5", "2.5")
FILL_AMOUNTS = ("0.05", "0.1", "0.2", "0.25", "0.5", "1", "1.5", "3")
PRICES = ("99.5", "100", "100.25", "101")
TRADE_IDS = tuple(f"t{i}" for i in range(6))
FEE_CURRENCIES = (None, "BTC", "USDT")

# st.text() leaves out surrogates by default: a lone surrogate cannot be journaled as UTF-8
# (see test_book.py for what happens then).
reasons = st.one_of(
    st.sampled_from(["", "timeout", "InsufficientFunds: balance too low", "sans réponse ✓"]),
    st.text(max_size=12),
)
ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,12}", fullmatch=True)

order_specs = st.builds(
    OrderSpec,
    client_order_id=ids,
    symbol=st.sampled_from(["BTC/USDT", "ETH/USDT"]),
    side=st.sampled_from(["buy", "sell", "BUY", "Sell"]),
    type=st.sampled_from(["market", "limit"]),
    amount=st.sampled_from(ORDER_AMOUNTS),
    price=st.sampled_from(PRICES),
    signal_id=st.none() | ids,
)

trades = st.builds(
    Fill,
    trade_id=st.sampled_from(TRADE_IDS),
    amount=st.sampled_from(FILL_AMOUNTS),
    price=st.sampled_from(PRICES),
    # Negative: a maker rebate.
    fee_cost=st.sampled_from(["0", "0.01", "0.0001", "-0.0002"]),
    fee_currency=st.sampled_from(FEE_CURRENCIES),
)
#: Fills inferred from cumulative figures: an exact cost, fees in several currencies.
inferred_fills = st.builds(
    Fill,
    trade_id=st.sampled_from(TRADE_IDS),
    amount=st.sampled_from(FILL_AMOUNTS),
    price=st.sampled_from(PRICES),
    fee_cost=st.sampled_from(["0", "0.01"]),
    fee_currency=st.sampled_from(FEE_CURRENCIES),
    inferred=st.just(True),
    cost=st.none() | st.sampled_from(["0.3", "1234.5678901"]),
    more_fees=st.sampled_from([(), (("BNB", Decimal("0.002")),)]),
)
fills = trades | inferred_fills
restates = st.builds(
    Restate,
    st.lists(st.sampled_from(TRADE_IDS), max_size=2, unique=True).map(tuple),
    st.lists(fills, max_size=3, unique_by=lambda f: f.trade_id).map(tuple),
)

#: One strategy per trigger of the table: every event the library knows.
EVENTS: dict[str, st.SearchStrategy] = {
    "submit": st.just(Submit()),
    "resubmit": st.just(Resubmit()),
    "refuse": st.builds(Refuse, reasons, st.booleans()),
    "withdraw": st.builds(Withdraw, reasons),
    "reject": st.builds(Reject, reasons, st.booleans()),
    "lose_answer": st.builds(LoseAnswer, reasons),
    "presume_absent": st.builds(PresumeAbsent, reasons),
    "declare_absent": st.builds(DeclareAbsent, reasons, st.booleans()),
    "abandon": st.builds(Abandon, reasons, st.booleans()),
    "acknowledge": st.builds(Acknowledge, st.sampled_from(["ex-1", "ex-2"])),
    "fill": fills,
    "request_cancel": st.builds(RequestCancel, reasons),
    "cancel_rejected": st.builds(CancelRejected, reasons),
    "cancel": st.builds(Cancel, reasons),
    "expire": st.builds(Expire, reasons),
    "restate": restates,
    "note": st.builds(Note, st.sampled_from(["odd_answer", "overfill_refused"]), reasons),
}
assert set(EVENTS) == set(TRIGGERS), "a trigger of the table has no event strategy"

events = st.one_of(*EVENTS.values())

#: Big, tiny and long Decimals that are still valid amounts and prices.
positive_decimals = st.decimals(
    min_value=Decimal("1e-12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False,
    places=None,
).filter(lambda d: d > 0)
