"""Replay's fast path: the orders and events of the commonest rows (create, submit,
acknowledge, a trade's fill), built from payloads exactly as ``to_payload`` writes them.

Each reader gives what ``from_payload`` gives for the same payload, or None when it cannot
vouch for that: a key more or fewer, a value of another type, an unknown spelling. Then
``from_payload`` reads it, converting it or saying what is wrong, so a refusal is always the
general path's, in its words. The figures and ids still go through the converters' checks
(a figure converted before is one lookup in their kept conversions); only the calls through
the general ``from_payload`` and attrs are skipped. tests/test_canonical.py holds each
reader to ``from_payload`` on generated payloads.

The payload comes from orjson (journal/_replay.py), so every value must be of a flat type
that orjson and json read alike: text, null, an int, a float only below 2**63 in size
(orjson reads a JSON integer beyond 64 bits as a float, where json keeps the int). And no
key more than ``to_payload`` writes: one the general path does not read could still hold a
structure deeper than json's scanner goes, which fails the row there.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, Final

from ._events import Acknowledge, Event, Resubmit, Submit, _set_exchange_order_id
from ._fill import _FILL_SLOTS, Fill
from ._model import _CREATED, _ORDER_TYPES, _SIDES, Order
from ._slots import new
from ._values import _POSITIVES, _TEXTS, amount_converter, fee_converter, price_converter

#: Floats beyond this size may have been JSON integers (see above).
_FLOAT_LIMIT: Final = 2.0**63
_NO_FEES: Final[tuple[tuple[str, Any], ...]] = ()


#: Exactly the keys each ``to_payload`` writes, read in one call (KeyError if one is missing).
_CREATED_KEYS: Final = itemgetter("client_order_id", "symbol", "side", "type", "amount", "price",
                                  "signal_id")
_TRADE_KEYS: Final = itemgetter("trade_id", "amount", "price", "fee_cost", "fee_currency",
                                "timestamp")


def created(payload: dict[str, Any], now: float) -> Order | None:
    """``Order.from_payload(payload, now)`` for an ``OrderSpec.to_payload``, else None
    (or KeyError, or the converters' InvalidInput)."""
    if len(payload) != 7:
        return None
    order_id, symbol, side, order_type, amount, price, signal_id = _CREATED_KEYS(payload)
    # Ids as id_converter's fast path takes them (spelled out: a call is 60 ns).
    if (type(side) is not str or type(order_type) is not str or type(amount) is not str
            or type(order_id) is not str or not order_id.isprintable()
            or not order_id.strip() or type(symbol) is not str
            or not symbol.isprintable() or not symbol.strip()
            or signal_id is not None and type(signal_id) is not str):
        return None
    side, order_type = _SIDES.get(side), _ORDER_TYPES.get(order_type)
    if side is None or order_type is None:
        return None
    if price is not None:
        if type(price) is not str:
            return None
        price = _POSITIVES.get(price) or price_converter(price)
    return Order(order_id, symbol, side, order_type,
                 _POSITIVES.get(amount) or amount_converter(amount), price, signal_id,
                 _CREATED, now, now)


def trade(payload: dict[str, Any]) -> Fill | None:
    """``Fill.from_payload(payload)`` for a trade's ``Fill.to_payload`` (not inferred), else
    None (or KeyError, or the converters' InvalidInput)."""
    if len(payload) != 6:
        return None
    trade_id, amount, price, fee, currency, timestamp = _TRADE_KEYS(payload)
    if (type(amount) is not str or type(price) is not str or type(fee) is not str
            or type(trade_id) is not str or not trade_id.isprintable()
            or not trade_id.strip() or currency is not None and type(currency) is not str):
        return None
    if timestamp is not None:
        kind = type(timestamp)
        if kind is float:
            if not -_FLOAT_LIMIT < timestamp < _FLOAT_LIMIT:
                return None
        elif kind is not int:
            return None
    fee_cost = _TEXTS.get(fee)
    fill = new(Fill)
    (set_id, set_amount, set_price, set_fee, set_currency, set_timestamp, set_inferred,
     set_cost, set_more) = _FILL_SLOTS
    set_id(fill, trade_id)
    set_amount(fill, _POSITIVES.get(amount) or amount_converter(amount))
    set_price(fill, _POSITIVES.get(price) or price_converter(price))
    set_fee(fill, fee_converter(fee) if fee_cost is None else fee_cost)
    set_currency(fill, currency)
    set_timestamp(fill, timestamp)
    set_inferred(fill, False)
    set_cost(fill, None)
    set_more(fill, _NO_FEES)
    return fill


def acknowledge(payload: dict[str, Any]) -> Acknowledge | None:
    """``Acknowledge.from_payload(payload)`` for its ``to_payload``, else None."""
    exchange_order_id = payload.get("exchange_order_id")
    if (len(payload) != 1 or type(exchange_order_id) is not str
            or not exchange_order_id.isprintable() or not exchange_order_id.strip()):
        return None
    ack: Acknowledge = new(Acknowledge)
    _set_exchange_order_id(ack, exchange_order_id)
    return ack


def _bare(cls: type[Submit] | type[Resubmit]) -> Callable[[dict[str, Any]], Event | None]:
    def read(payload: dict[str, Any]) -> Event | None:
        return None if payload else new(cls)
    return read


#: The event readers, by trigger (``created`` is the create row's).
EVENTS: Final[dict[str, Callable[[dict[str, Any]], Event | None]]] = {
    "fill": trade, "acknowledge": acknowledge, "submit": _bare(Submit),
    "resubmit": _bare(Resubmit),
}
