"""ccxt's unified shapes (orders, trades, markets as dicts of floats) translated into the
core's vocabulary (_answers.py, _fill.Fill): floats become Decimals through ``str``, a
trade without an id gets a key made of what it is. Part of the exchange edge; nothing past
it sees a ccxt shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..core._answers import ExchangeOrder, MarketRules
from ..core._exceptions import InvalidInput
from ..core._fill import Fill
from ..core._values import to_decimal


def decimal_or_none(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return to_decimal(value)
    except InvalidInput:
        return None


def order_from_ccxt(data: Mapping[str, Any]) -> ExchangeOrder:
    """A ccxt order (a dict in ccxt's unified shape) as the core's ExchangeOrder."""
    fee = data.get("fee") or {}
    fee_given = _is_mapping(fee)
    ts = data.get("timestamp")
    oid = data.get("id")
    listed = data.get("trades")
    trades = tuple(fills_from_ccxt(listed, str(oid))) if listed else ()
    return ExchangeOrder(
        None if oid in (None, "") else str(oid),
        data.get("clientOrderId"),
        data.get("status"),
        decimal_or_none(data.get("amount")),
        decimal_or_none(data.get("filled")),
        decimal_or_none(data.get("average")),
        decimal_or_none(data.get("cost")),
        decimal_or_none(fee.get("cost")) if fee_given else None,
        fee.get("currency") if fee_given else None,
        trades,
        ts / 1000 if isinstance(ts, int | float) else None,
        data.get("symbol"), data.get("side"), data.get("type"), decimal_or_none(data.get("price")),
        _fees(data),
    )


def _fees(data: Mapping[str, Any]) -> dict[str, Decimal] | None:
    """Per currency, from ccxt's ``fees`` list (or its single ``fee``); None if neither
    says anything. A fee without a currency or a figure says nothing."""
    listed = data.get("fees") or ([data["fee"]] if data.get("fee") else [])
    total: dict[str, Decimal] = {}
    for fee in listed if isinstance(listed, list) else ():
        if not _is_mapping(fee):
            continue
        cost, currency = decimal_or_none(fee.get("cost")), fee.get("currency")
        if cost is not None and isinstance(currency, str) and currency:
            total[currency] = total.get(currency, Decimal(0)) + cost
    return total or None


def _is_mapping(value: object) -> bool:
    # ccxt's shapes are dicts: checked before the ABC, which costs ~0.3 µs.
    return type(value) is dict or isinstance(value, Mapping)


def fill_from_ccxt(data: Mapping[str, Any], trade_id: str | None = None) -> Fill | None:
    """A ccxt trade as a Fill, or None when it lacks the figures a fill needs. ``trade_id``
    stands in for a missing id (see fills_from_ccxt)."""
    try:
        fee = data.get("fee") or {}
        fee_cost, fee_currency = fee.get("cost"), fee.get("currency")
        listed = data.get("fees")
        more = [f for f in listed if _is_mapping(f) and f.get("currency") != fee_currency
                and f.get("cost") is not None] if listed else ()
        ts = data.get("timestamp")
        given = data.get("id")
        return Fill(
            str(given) if given not in (None, "") else trade_id,
            data["amount"], data["price"], fee_cost if fee_cost is not None else 0,
            fee_currency, ts / 1000 if isinstance(ts, int | float) else None,
            more_fees=tuple((str(f["currency"]), f["cost"]) for f in more) if more else (),
        )
    except (KeyError, TypeError, AttributeError, InvalidInput):
        return None


def fills_from_ccxt(trades: Sequence[Mapping[str, Any]], order_id: str) -> list[Fill]:
    """ccxt trades as Fills. A trade without an id (some exchanges list them so) is keyed
    by what it is: its order, amount, price and fee, plus its rank among identical ones in
    the listing, so the same trade gets the same key from any answer. Not its time: an
    order answer's trades may carry none where the trade list has one. (Identical trades
    are interchangeable: which one is ranked first changes no figure.)"""
    fills: list[Fill] = []
    ranks: dict[str, int] = {}
    for trade in trades:
        if not _is_mapping(trade):
            continue
        key = None
        if trade.get("id") in (None, ""):
            fee = trade.get("fee") or {}
            content = "|".join(str(v) for v in (
                order_id, trade.get("amount"), trade.get("price"),
                fee.get("cost") if isinstance(fee, Mapping) else None,
                fee.get("currency") if isinstance(fee, Mapping) else None))
            digest = hashlib.sha256(content.encode()).hexdigest()[:16]
            ranks[digest] = ranks.get(digest, 0) + 1
            key = f"{order_id}:t:{digest}:{ranks[digest]}"
        fill = fill_from_ccxt(trade, key)
        if fill is not None:
            fills.append(fill)
    return fills


def rules_from_ccxt(market: Mapping[str, Any], price_tick: Decimal | None) -> MarketRules:
    """A ccxt market structure as the core's MarketRules."""
    limits = market.get("limits") or {}

    def limit(kind: str, end: str) -> Decimal | None:
        return decimal_or_none((limits.get(kind) or {}).get(end))

    return MarketRules(
        market["symbol"], market.get("base") or "", market.get("quote") or "",
        limit("amount", "min"), limit("amount", "max"), limit("cost", "min"),
        limit("price", "min"), limit("price", "max"), price_tick,
        market.get("active") is not False,
    )
