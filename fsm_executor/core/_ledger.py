"""The ledger: which fills make up an order's filled, cost and fees. Pure, no I/O.

The exchange's trades are the truth of which trades happened, at which prices and fees;
its cumulative figures (filled, and cost and fees where the order answer carries them) are
the truth of how much. Trades often lag the cumulative figures (Binance lists them late,
and its order answers carry neither trades nor fees), so whatever the listed trades do not
account for yet is an *inferred* fill, priced and charged from the order's own figures.
Inferred fills are provisional: once trades are listed a ``restate`` replaces them, so
filled, cost and fees converge on the exchange's trades and never count a trade twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal
from typing import Final

import attrs

from ._events import Event, Note, Restate
from ._fill import Fill
from ._model import Order
from ._values import LEDGER

_ZERO: Final = Decimal(0)
#: An inferred fill's price is an estimate for display (cost / amount need not terminate);
#: its ``cost`` carries the exact figure.
_ESTIMATE: Final = Context(prec=28)

Fees = dict[str, Decimal]


@attrs.frozen
class Figures:
    """What one exchange answer says an order's totals are."""

    #: The cumulative filled the ledger must account for (at least what is recorded).
    filled: Decimal
    #: A price for an inferred fill when the cost is unknown (average, then order price).
    fallback_price: Decimal
    #: The order's cumulative cost, where the answer gives it.
    cost: Decimal | None = None
    #: The order's fees per currency, where the answer gives them.
    fees: Mapping[str, Decimal] | None = None
    #: Inferred fills are keyed ``KEY:cum:FILLED``: the same figure seen again (after a
    #: restart, from reconciliation) applies nothing twice. The exchange's id of the order,
    #: else our client order id.
    key: str = attrs.field(kw_only=True)


def fees_of(fills: Iterable[Fill]) -> Fees:
    """Fees per currency of ``fills`` (a currency charged at all is listed, even at 0)."""
    return totals(fills)[2]


def totals(fills: Iterable[Fill]) -> tuple[Decimal, Decimal, Fees]:
    """What ``fills`` add up to: their amount, their cost, and ``fees_of`` them, in one
    pass (audit sums every order's fills)."""
    # ``Fill.value`` and ``Fill.fees`` spelled out: a third of the time, on every order.
    add, multiply = LEDGER.add, LEDGER.multiply
    amount = cost = _ZERO
    fees: Fees = {}
    for fill in fills:
        fill_amount, fill_cost = fill.amount, fill.cost
        amount = add(amount, fill_amount)
        cost = add(cost, multiply(fill_amount, fill.price) if fill_cost is None else fill_cost)
        fee, currency = fill.fee_cost, fill.fee_currency
        if fee and currency:
            fees[currency] = add(fees.get(currency, _ZERO), fee)
        for currency, fee in fill.more_fees:
            fees[currency] = add(fees.get(currency, _ZERO), fee)
    return amount, cost, fees


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = LEDGER.add(total, value)
    return total


def reconcile(order: Order, figures: Figures, trades: Sequence[Fill]) -> list[Event]:
    """The events that make ``order``'s fills account for ``figures`` with ``trades``.

    A listed trade is taken while the listed trades fit within the cumulative filled
    (a listing ahead of the order answer waits for the next one, rather than count a
    trade twice); what they leave unaccounted for is inferred.
    """
    fills = order.fills
    events: list[Event] = []
    real = [f for f in fills.values() if not f.inferred]
    inferred = [f for f in fills.values() if f.inferred]
    real_filled = _sum(f.amount for f in real)
    new: list[Fill] = []
    taken: set[str] = set()
    ahead: list[str] = []
    for trade in trades:
        if trade.trade_id in taken:
            continue
        known = fills.get(trade.trade_id)
        if known is not None:
            if not _same_trade(known, trade):
                events.append(Note("conflicting_trade", f"trade {trade.trade_id!r} listed "
                                   f"as {trade!r}, recorded as {known!r}: kept the record"))
            continue
        after = LEDGER.add(real_filled, trade.amount)
        if after > figures.filled:
            ahead.append(trade.trade_id)
            continue
        taken.add(trade.trade_id)
        new.append(trade)
        real_filled = after
    if ahead and order.is_terminal:
        events.append(Note("trades_beyond_filled", f"trades {', '.join(ahead)} would take "
                           f"filled past the {figures.filled} the order ended with"))
    gap = LEDGER.subtract(figures.filled, real_filled)
    inferred_filled = _sum(f.amount for f in inferred)
    accounted = [*real, *new]
    if new:
        piece = _piece(figures, gap, accounted)
        replacement = [*new, *([piece] if piece is not None else [])]
        if inferred:
            events.append(Restate(tuple(f.trade_id for f in inferred), replacement))
        else:
            events.extend(replacement)
        return events
    if gap > inferred_filled:
        piece = _piece(figures, LEDGER.subtract(gap, inferred_filled), [*real, *inferred])
        if piece is not None:
            events.append(piece)
    elif inferred and gap == inferred_filled:
        # Nothing new listed: the order's own cost and fees may still correct the price and
        # fees the inferred fills were given.
        piece = _piece(figures, gap, real)
        if piece is not None and _differs(piece, inferred, figures):
            events.append(Restate(tuple(f.trade_id for f in inferred), [piece]))
    return events


def _same_trade(known: Fill, listed: Fill) -> bool:
    """The same figures; a time one answer gives and another leaves out (an order answer's
    trades may carry none) is no conflict."""
    if known.timestamp is None or listed.timestamp is None:
        return attrs.evolve(known, timestamp=None) == attrs.evolve(listed, timestamp=None)
    return known == listed


def _piece(figures: Figures, amount: Decimal, accounted: Sequence[Fill]) -> Fill | None:
    """An inferred fill of ``amount``, charged what the order's figures leave once
    ``accounted`` is taken off (or priced at the fallback, free of fees, without them)."""
    if amount <= 0:
        return None
    cost: Decimal | None = None
    price = figures.fallback_price
    if figures.cost is not None:
        rest = LEDGER.subtract(figures.cost, _sum(f.value for f in accounted))
        if rest > 0:
            cost, price = rest, _ESTIMATE.divide(rest, amount)
    fees: list[tuple[str, Decimal]] = []
    if figures.fees is not None:
        charged = fees_of(accounted)
        for currency, total in sorted(figures.fees.items()):
            rest = LEDGER.subtract(total, charged.get(currency, _ZERO))
            if rest:
                fees.append((currency, rest))
    first = fees[0] if fees else (None, _ZERO)
    return Fill(f"{figures.key}:cum:{figures.filled}", amount, price,
                first[1], first[0], None, True, cost, tuple(fees[1:]))


def _differs(piece: Fill, inferred: Sequence[Fill], figures: Figures) -> bool:
    """Whether the order's own figures (those this answer gives) say other than what the
    inferred fills were charged."""
    if piece.cost is not None and piece.value != _sum(f.value for f in inferred):
        return True
    return figures.fees is not None and (
        fees_of([piece]) != {c: v for c, v in fees_of(inferred).items() if v})


def unsettled(order: Order) -> bool:
    """Whether some of the order's fills are still inferred, not the exchange's trades."""
    # A loop, not any() over a generator: asked of every order that ends (replay, audit).
    for fill in order.fills.values():  # noqa: SIM110
        if fill.inferred:
            return True
    return False


def settle(order: Order, trades: Sequence[Fill]) -> list[Event]:
    """The events that replace an ended order's inferred fills with ``trades``, within the
    filled it ended with. The totals the inferred fills were charged stand for the order's
    own figures where they came from them (an exact cost, fees), so what the trades still
    leave unaccounted for keeps its share."""
    inferred = [f for f in order.fills.values() if f.inferred]
    if not inferred:
        return []
    known_cost = all(f.cost is not None for f in inferred)
    known_fees = any(True for f in inferred for _ in f.fees())
    figures = Figures(order.filled, inferred[0].price,
                      cost=order.cost if known_cost else None,
                      fees=dict(order.fees) if known_fees else None,
                      key=order.exchange_order_id or order.client_order_id)
    return reconcile(order, figures, trades)
