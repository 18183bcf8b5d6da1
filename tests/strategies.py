"""Hypothesis strategies, in one place.

Figures come from small pools on purpose: orders then fill up exactly, trade ids repeat (both
as true duplicates and with other figures) and fills overshoot, which wide random Decimals
would almost never do.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import strategies as st

from fsm_executor import (
    Abandon,
    Acknowledge,
    Cancel,
    CancelRejected,
    DeclareAbsent,
    ExchangeFailure,
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
from fsm_executor.core._answers import ExchangeOrder, Kind, Lookup, MarketRules
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


# -- journal payloads, as the book writes them and otherwise (tests/test_canonical.py) ------

#: Values a payload's field might hold in a journal written by anything: wrong types, figures
#: out of range or in odd spellings, and JSON numbers that two decoders read apart (integers
#: beyond 64 bits, which orjson reads as floats; NaN and infinities, which only json reads).
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
    st.floats(), st.sampled_from([1e19, -1e19, 9.2e18, 2.0**63, 1.7e9, 1e-300, -0.0]),
    st.text(max_size=6),
    st.sampled_from(["", " ", "0", "0.0", "-1", "1e30", "1e-30", "1E+2", "abc", "0.50", " 1",
                     "1_0", "NaN", "-Infinity", "sNaN", "\x00", "é", "x" * 61, "BUY", "Limit",
                     "buy", "market", "t1", "BTC"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["BNB", "", "x"]), st.sampled_from(["0.1", 1, None]),
                    max_size=2),
)


@st.composite
def mangled(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as written, or with a field changed, dropped or added."""
    payload = dict(payload)
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 1, 2]))):
        change = draw(st.sampled_from(["value", "value", "drop", "add"]))
        keys = sorted(payload)
        if change == "value" and keys:
            payload[draw(st.sampled_from(keys))] = draw(odd_values)
        elif change == "drop" and keys:
            del payload[draw(st.sampled_from(keys))]
        else:
            key = draw(st.sampled_from(["inferred", "cost", "more_fees", "reason", "extra"]))
            payload[key] = draw(odd_values)
    return payload


#: Payloads of the rows replay reads fast (_canonical.py), as the book writes them.
written_payloads: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "create": order_specs.map(OrderSpec.to_payload),
    "fill": trades.map(Fill.to_payload),
    "acknowledge": EVENTS["acknowledge"].map(Acknowledge.to_payload),
    "submit": st.just({}),
    "resubmit": st.just({}),
}


@st.composite
def payload_texts(draw: st.DrawFn, trigger: str) -> str:
    """The JSON text of a payload of ``trigger``: mostly as the book writes it, else mangled,
    spaced, padded or not JSON at all."""
    payload = draw(written_payloads[trigger].flatmap(mangled))
    compact = draw(st.sampled_from([True, True, True, False]))
    text = json.dumps(payload, separators=(",", ":") if compact else None,
                      ensure_ascii=draw(st.booleans()))
    return draw(st.sampled_from([text] * 20 + [f" {text}", f"{text}\n", text[:-1], "[]", "",
                                               text.replace("{", '{"x":1,', 1)]))


# -- exchange answers, for the order driver (tests/driver_tools.py) ------------------------

_STATUSES = ("open", "open", "closed", "canceled", "cancelled", "expired", "rejected",
             "canceling", "new", "partially_filled", None, "PENDING_NEW")
#: Fractions of the order's amount an answer reports filled (the last one overfills).
_FRACTIONS = (Decimal(0), Decimal("0.25"), Decimal("0.5"), Decimal(1), Decimal("1.25"))


@cache  # built once per argument: validating a strategy costs more than drawing
def exchange_failures(kinds: tuple[Kind, ...] = tuple(Kind)) -> st.SearchStrategy[Any]:
    """ExchangeFailure of any of ``kinds``, refused before execution or not, with a
    Retry-After or not."""
    return st.builds(_failure, st.sampled_from(kinds), st.booleans(),
                     st.none() | st.sampled_from([0.5, 2.0, 7.0]))


def _failure(kind: Kind, unprocessed: bool, retry_after: float | None) -> ExchangeFailure:
    exc = ExchangeFailure(kind.value, f"generated {kind.value}", unprocessed=unprocessed)
    exc.retry_after = retry_after
    return exc


@cache
def order_trades(amount: Decimal) -> st.SearchStrategy[Fill]:
    """Trades of an order of ``amount``: ids from a small pool, so they repeat, with the
    same figures and with others."""
    return st.builds(Fill, trade_id=st.sampled_from(TRADE_IDS[:4]),
                     amount=st.sampled_from([amount / 4, amount / 2]),
                     price=st.sampled_from(["100", "101"]),
                     fee_cost=st.sampled_from(["0", "0.01"]), fee_currency=st.just("USDT"))


@cache
def trade_lists(amount: Decimal) -> st.SearchStrategy[Any]:
    """An answer to a trades listing: None (the exchange lists none), or some trades."""
    return st.none() | st.lists(order_trades(amount), max_size=3)


@cache
def exchange_orders(cid: str, amount: Decimal) -> st.SearchStrategy[ExchangeOrder]:
    """What an exchange may say of order ``cid``: any status (missing and unknown ones
    too), filled missing, going back or past the amount, another exchange id or none."""
    return st.builds(
        ExchangeOrder,
        id=st.sampled_from([f"E-{cid}", f"E-{cid}", f"E-{cid}", None, "E-other"]),
        client_order_id=st.just(cid),
        status=st.sampled_from(_STATUSES),
        amount=st.just(amount),
        filled=st.none() | st.sampled_from([amount * f for f in _FRACTIONS]),
        average=st.none() | st.just(Decimal(100)),
        cost=st.none() | st.sampled_from([Decimal(25), Decimal("100.5")]),
        fee_cost=st.none(), fee_currency=st.none(),
        trades=st.lists(order_trades(amount), max_size=2).map(tuple),
        symbol=st.just("BTC/USDT"), side=st.just("buy"), type=st.just("limit"),
        price=st.just(Decimal(100)),
        fees=st.none() | st.just({"USDT": Decimal("0.01")}),
    )


@cache
def listings(cids: tuple[str, ...], amount: Decimal) -> st.SearchStrategy[Any]:
    """An open or closed orders listing: orders of ``cids`` (ours, and others')."""
    return st.lists(st.sampled_from(cids).flatmap(lambda c: exchange_orders(c, amount)),
                    max_size=2)


@cache
def lookups(cid: str, amount: Decimal) -> st.SearchStrategy[Lookup]:
    """What a lookup by client order id may learn: nothing, the order, or odd answers
    (another order, one without an id) that are no evidence either way."""
    # Not found twice as often as found: runs then reach the grace and the window.
    return st.one_of(
        st.just(Lookup(None)),
        st.builds(Lookup, exchange_orders(cid, amount)),
        st.just(Lookup(None)),
        st.just(Lookup(None, ("answered with another client order id",))),
    )


@cache
def market_rules(symbol: str) -> st.SearchStrategy[MarketRules]:
    return st.builds(MarketRules, symbol=st.just(symbol), base=st.just("BTC"),
                     quote=st.just("USDT"), min_amount=st.none() | st.just(Decimal("0.5")),
                     max_amount=st.none(), min_cost=st.none(), min_price=st.none(),
                     max_price=st.none(), price_tick=st.just(Decimal("0.01")),
                     active=st.sampled_from([True] * 7 + [False]))
