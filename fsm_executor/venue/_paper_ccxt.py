"""The paper venue's ccxt face: requests checked in Binance's words, and the venue's records
in ccxt's unified shapes. Pure functions; the venue (_paper.py) calls them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final, NoReturn

import ccxt

from ..core._exceptions import InvalidInput
from ..core._values import to_decimal
from ._paper_fees import FeeSchedule, fees_by_currency
from ._paper_manners import Answer
from ._paper_records import MarketSpec, PaperOrder, PaperTrade, to_tick

_iso8601 = ccxt.Exchange.iso8601

_BOOK_LEVELS: Final = 5
#: Quote value of the first order-book level; level i holds (i + 1) times as much.
_BOOK_LEVEL_VALUE: Final = Decimal(10_000)


def binance_error(code: int, msg: str) -> str:
    """Error text shaped like Binance's, which most bots have met."""
    return f'paper {{"code":{code},"msg":"{msg}"}}'


def raise_answer(answer: Answer) -> NoReturn:
    raise getattr(ccxt, answer.ccxt_class)(f"paper {answer.body}")


def window(items: list[Any], stamp: str, since: int | None, limit: int | None) -> list[Any]:
    """ccxt's since/limit: the first ``limit`` from ``since``, else the last ``limit``."""
    if since is not None:
        items = [i for i in items if i[stamp] >= since]
    if limit is not None:
        items = items[:limit] if since is not None else items[-limit:] if limit > 0 else []
    return items


def check_request(spec: MarketSpec, type: str, side: str, amount: Any, price: Any,
                  quotes: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal | None, Decimal]:
    """(quantity, limit price, reference price) of a create request, validated as Binance
    does, in its order; ccxt's InvalidOrder with Binance's code otherwise."""
    if type not in ("market", "limit"):
        raise ccxt.InvalidOrder(binance_error(-1116, "Invalid orderType."))
    if side not in ("buy", "sell"):
        raise ccxt.InvalidOrder(binance_error(-1117, "Invalid side."))
    qty = _order_number(amount, "quantity")
    limit = None
    if type == "limit":
        if price is None:
            raise ccxt.InvalidOrder(
                binance_error(-1102, "Mandatory parameter 'price' was not sent."))
        limit = _order_number(price, "price")
        if limit % spec.price_tick:
            raise ccxt.InvalidOrder(binance_error(-1013, "Filter failure: PRICE_FILTER"))
    if qty < spec.min_amount or qty % spec.amount_tick:
        raise ccxt.InvalidOrder(binance_error(-1013, "Filter failure: LOT_SIZE"))
    bid, ask = quotes
    reference = limit if limit is not None else ask if side == "buy" else bid
    if qty * reference < spec.min_cost:
        raise ccxt.InvalidOrder(binance_error(-1013, "Filter failure: NOTIONAL"))
    return qty, limit, reference


def _order_number(value: Any, what: str) -> Decimal:
    try:
        result = to_decimal(value, what)
    except InvalidInput:
        raise ccxt.InvalidOrder(
            binance_error(-1100, f"Illegal characters found in parameter '{what}'.")) from None
    if result <= 0:
        raise ccxt.InvalidOrder(binance_error(-1013, f"Invalid {what}."))
    return result


def market_dict(s: MarketSpec, fees: FeeSchedule) -> dict[str, Any]:
    return {
        "id": s.base + s.quote, "symbol": s.symbol, "base": s.base, "quote": s.quote,
        "baseId": s.base, "quoteId": s.quote, "active": True, "type": "spot", "spot": True,
        "margin": False, "swap": False, "future": False, "option": False,
        "contract": False, "taker": float(fees.taker), "maker": float(fees.maker),
        "percentage": True, "tierBased": False,
        "precision": {"amount": float(s.amount_tick), "price": float(s.price_tick)},
        "limits": {
            "amount": {"min": float(s.min_amount), "max": None},
            "price": {"min": float(s.price_tick), "max": None},
            "cost": {"min": float(s.min_cost), "max": None},
            "leverage": {"min": None, "max": None},
        },
        "info": {"symbol": s.base + s.quote},
    }


def order_dict(o: PaperOrder, quote: str, trades: Sequence[PaperTrade], *, with_trades: bool,
               with_fee: bool, trade_ids: bool) -> dict[str, Any]:
    """ccxt's order shape, from the order and all its ``trades``; ``with_trades`` and
    ``with_fee``: whether this answer carries them. The fees, per currency, are ccxt's
    ``fees``; ``fee`` is the one of them, or None when there are several (as ccxt's
    safe_order leaves it). Without trades, a zero fee in the quote currency."""
    fees = [{"cost": float(cost), "currency": cur}
            for cur, cost in fees_by_currency(trades).items()]
    fees = fees or [{"cost": 0.0, "currency": quote}]
    average = float(o.cost / o.filled) if o.filled else None
    price = float(o.price) if o.price is not None else average
    return {
        "info": {"orderId": o.id, "clientOrderId": o.client_order_id, "status": o.status},
        "id": o.id, "clientOrderId": o.client_order_id, "timestamp": o.created,
        "datetime": _iso8601(o.created), "lastTradeTimestamp": o.last_trade,
        "lastUpdateTimestamp": o.updated, "symbol": o.symbol, "type": o.type,
        "timeInForce": "GTC" if o.type == "limit" else "IOC", "postOnly": False,
        "reduceOnly": None, "side": o.side, "price": price, "triggerPrice": None,
        "stopPrice": None, "takeProfitPrice": None, "stopLossPrice": None,
        "amount": float(o.amount), "filled": float(o.filled),
        "remaining": float(o.remaining), "cost": float(o.cost), "average": average,
        "status": o.status,
        "fee": (fees[0] if len(fees) == 1 else None) if with_fee else None,
        "fees": fees if with_fee else [],
        "trades": [trade_dict(t, o.type, trade_ids) for t in trades] if with_trades else [],
    }


def trade_dict(t: PaperTrade, order_type: str, with_id: bool) -> dict[str, Any]:
    """ccxt's trade shape; without ``with_id`` the exchange gave no id (ccxt's is None)."""
    fee = {"cost": float(t.fee), "currency": t.fee_currency}
    info = {"id": t.id, "orderId": t.order_id} if with_id else {"orderId": t.order_id}
    return {
        "info": info, "id": t.id if with_id else None, "order": t.order_id,
        "timestamp": t.timestamp, "datetime": _iso8601(t.timestamp),
        "symbol": t.symbol, "type": order_type, "side": t.side,
        "takerOrMaker": "maker" if t.maker else "taker", "price": float(t.price),
        "amount": float(t.amount), "cost": float(t.cost), "fee": fee, "fees": [fee],
    }


def ticker_dict(symbol: str, bid: Decimal, ask: Decimal, mid: float, now: int) -> dict[str, Any]:
    """ccxt's ticker of a venue that keeps no history: the mid is the last price."""
    return {
        "symbol": symbol, "timestamp": now, "datetime": _iso8601(now),
        "bid": float(bid), "bidVolume": None, "ask": float(ask), "askVolume": None,
        "last": mid, "close": mid, "average": mid, "open": None, "high": None,
        "low": None, "previousClose": None, "change": None, "percentage": None,
        "vwap": None, "baseVolume": None, "quoteVolume": None, "info": {},
    }


def order_book_dict(spec: MarketSpec, bid: Decimal, ask: Decimal, mid: Decimal,
                    limit: int | None, now: int) -> dict[str, Any]:
    """ccxt's order book: a few levels of made-up depth around the bid and ask, a tick
    apart (drawing nothing random)."""
    size = max(to_tick(_BOOK_LEVEL_VALUE / mid, spec.amount_tick, ROUND_FLOOR),
               spec.min_amount)
    depth = _BOOK_LEVELS if limit is None else max(0, min(int(limit), 100))
    tick = spec.price_tick
    bids = [[float(bid - i * tick), float(size * (i + 1))]
            for i in range(depth) if bid - i * tick > 0]
    asks = [[float(ask + i * tick), float(size * (i + 1))] for i in range(depth)]
    return {"symbol": spec.symbol, "bids": bids, "asks": asks, "timestamp": now,
            "datetime": _iso8601(now), "nonce": None}


def balance_dict(free: Mapping[str, Decimal], used: Mapping[str, Decimal],
                 now: int) -> dict[str, Any]:
    """ccxt's balance: each currency's free, used and total, by currency and by kind."""
    result: dict[str, Any] = {"info": {}, "timestamp": now, "datetime": _iso8601(now),
                              "free": {}, "used": {}, "total": {}}
    for cur in sorted(free):
        entry = {"free": float(free[cur]), "used": float(used[cur]),
                 "total": float(free[cur] + used[cur])}
        result[cur] = entry
        for key, value in entry.items():
            result[key][cur] = value
    return result
