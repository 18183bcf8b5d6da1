"""Binance spot's answers, without I/O: the paper venue's records rendered as Binance's raw
JSON, and the venue's errors as Binance's error bodies and HTTP statuses. The requests are
_binance_requests.py.

Every figure is an exact decimal string of the venue's own record (``PaperOrder``,
``PaperTrade``, ``MarketSpec``), padded to Binance's eight decimals but never rounded: a
fee of 0.0003000301 is written whole. Field names and their order follow Binance's
documented answers (rest-api.md) and what ccxt's binance.py parse_* functions read; error
codes and messages follow errors.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal
from typing import Any, Final

import ccxt

from ._paper_records import MarketSpec, PaperOrder, PaperTrade

#: Binance pads its decimal strings to eight places.
_PLACES: Final = Decimal("1e-8")
#: Room for any figure the venue can hold (its inputs are bounded to 1e24).
_WIDE: Final = Context(prec=100)
#: The venue enforces no maximum; Binance always publishes one, and ccxt would read "0"
#: ("disabled" for Binance) as a maximum of zero. Far beyond anything the venue sees.
_MAX_PRICE: Final = Decimal(10) ** 9
_MAX_QTY: Final = Decimal(10) ** 10
_MAX_NOTIONAL: Final = Decimal(10) ** 13
#: Each status the venue records, for an order with and without fills.
_STATUS: Final[Mapping[str, tuple[str, str]]] = {
    "open": ("NEW", "PARTIALLY_FILLED"), "closed": ("FILLED", "FILLED"),
    "canceled": ("CANCELED", "CANCELED"), "expired": ("EXPIRED", "EXPIRED"),
    "rejected": ("REJECTED", "REJECTED"),
}

dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# -- figures and errors ----------------------------------------------------------------------

def num(value: Decimal) -> str:
    """A Binance decimal string: exactly ``value``, with at least eight decimals."""
    value = value.normalize(_WIDE)  # 0.015001500 -> 0.0150015, then padded back to 8
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -8:
        value = value.quantize(_PLACES, context=_WIDE)  # padding only: never rounds
    return f"{value:f}"


def from_float(value: float) -> Decimal:
    """A float the venue made from a Decimal, back to that Decimal (its shortest repr)."""
    return Decimal(repr(value))


def trade_number(trade_id: str) -> int:
    """Binance's numeric trade id for a venue trade id ("T17" -> 17)."""
    if not (trade_id.startswith("T") and trade_id[1:].isdigit()):
        raise ValueError(f"not a paper venue trade id: {trade_id!r}")
    return int(trade_id[1:])


def error(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg}


def embedded_error(exc: BaseException) -> dict[str, Any] | None:
    """The Binance body a ccxt exception's message carries after its first "{", if any."""
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return None
    try:
        body, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("code"), int) and "msg" in body:
        return {"code": body["code"], "msg": str(body["msg"])}
    return None


def venue_error(exc: ccxt.BaseError) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, Binance body) for an error the venue raised. A 503 goes without a JSON
    body (None: plain text), so ccxt maps it by status alone to ExchangeNotAvailable; a
    code ccxt does not know would make it ExchangeError, which nobody retries.

    RequestTimeout is not answered at all: the caller drops the connection."""
    body = embedded_error(exc)
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return 429, body or error(-1003, "Too many requests.")
    if isinstance(exc, ccxt.NetworkError):
        return 503, None
    if body is not None:
        return 400, body
    if isinstance(exc, ccxt.BadSymbol):
        return 400, error(-1121, "Invalid symbol.")
    return 400, error(-1013, str(exc))


# -- markets ---------------------------------------------------------------------------------

def symbol_info(market_id: str, spec: MarketSpec) -> dict[str, Any]:
    """One entry of exchangeInfo's ``symbols``: only LIMIT and MARKET, GTC, spot."""
    return {
        "symbol": market_id, "status": "TRADING",
        "baseAsset": spec.base, "baseAssetPrecision": 8,
        "quoteAsset": spec.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False, "allowTrailingStop": False,
        "cancelReplaceAllowed": False, "amendAllowed": False,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": num(spec.price_tick),
             "maxPrice": num(_MAX_PRICE), "tickSize": num(spec.price_tick)},
            {"filterType": "LOT_SIZE", "minQty": num(spec.min_amount),
             "maxQty": num(_MAX_QTY), "stepSize": num(spec.amount_tick)},
            {"filterType": "NOTIONAL", "minNotional": num(spec.min_cost),
             "applyMinToMarket": True, "maxNotional": num(_MAX_NOTIONAL),
             "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE", "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(markets: Iterable[tuple[str, MarketSpec]], server_time: int) -> dict[str, Any]:
    return {
        "timezone": "UTC", "serverTime": server_time,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(mid, spec) for mid, spec in markets],
    }


def ticker_24hr(market_id: str, bid: Decimal, ask: Decimal, last: Decimal,
                now: int) -> dict[str, Any]:
    """The 24hr ticker of a venue that keeps no history: open, high and low are the last
    price, volumes are zero."""
    zero = num(Decimal(0))
    return {
        "symbol": market_id, "priceChange": zero, "priceChangePercent": "0.000",
        "weightedAvgPrice": num(last), "prevClosePrice": num(last), "lastPrice": num(last),
        "lastQty": zero, "bidPrice": num(bid), "bidQty": zero, "askPrice": num(ask),
        "askQty": zero, "openPrice": num(last), "highPrice": num(last), "lowPrice": num(last),
        "volume": zero, "quoteVolume": zero, "openTime": now - 86_400_000, "closeTime": now,
        "firstId": -1, "lastId": -1, "count": 0,
    }


def book_ticker(market_id: str, bid: Sequence[Decimal], ask: Sequence[Decimal]) -> dict[str, Any]:
    """``bid``/``ask``: (price, quantity) of the best level."""
    return {"symbol": market_id, "bidPrice": num(bid[0]), "bidQty": num(bid[1]),
            "askPrice": num(ask[0]), "askQty": num(ask[1])}


def depth(update_id: int, bids: Iterable[Sequence[Decimal]],
          asks: Iterable[Sequence[Decimal]]) -> dict[str, Any]:
    return {"lastUpdateId": update_id,
            "bids": [[num(p), num(q)] for p, q in bids],
            "asks": [[num(p), num(q)] for p, q in asks]}


# -- orders and trades -----------------------------------------------------------------------

def status(order: PaperOrder) -> str:
    return _STATUS[order.status][1 if order.filled else 0]


def _head(order: PaperOrder, market_id: str) -> dict[str, Any]:
    return {"symbol": market_id, "orderId": int(order.id), "orderListId": -1,
            "clientOrderId": order.client_order_id}


def _figures(order: PaperOrder) -> dict[str, Any]:
    return {
        "price": num(order.price if order.price is not None else Decimal(0)),
        "origQty": num(order.amount), "executedQty": num(order.filled),
        "origQuoteOrderQty": num(Decimal(0)), "cummulativeQuoteQty": num(order.cost),
        "status": status(order), "timeInForce": "GTC", "type": order.type.upper(),
        "side": order.side.upper(),
    }


def order_query(order: PaperOrder, market_id: str) -> dict[str, Any]:
    """GET /api/v3/order, openOrders and allOrders: no fills, no commission."""
    zero = num(Decimal(0))
    return {
        **_head(order, market_id), **_figures(order), "stopPrice": zero, "icebergQty": zero,
        "time": order.created, "updateTime": order.updated or order.created,
        "isWorking": True, "workingTime": order.created, "selfTradePreventionMode": "NONE",
    }


def order_ack(order: PaperOrder, market_id: str) -> dict[str, Any]:
    return {**_head(order, market_id), "transactTime": order.created}


def order_result(order: PaperOrder, market_id: str) -> dict[str, Any]:
    return {**order_ack(order, market_id), **_figures(order), "workingTime": order.created,
            "selfTradePreventionMode": "NONE"}


def fill(trade: PaperTrade, with_id: bool = True) -> dict[str, Any]:
    """One entry of a FULL answer's ``fills``; a rebate is a negative commission. Without
    ``with_id``, no ``tradeId`` (an exchange that gives its trades none)."""
    answer = {"price": num(trade.price), "qty": num(trade.amount),
              "commission": num(trade.fee), "commissionAsset": trade.fee_currency,
              "tradeId": trade_number(trade.id)}
    if not with_id:
        del answer["tradeId"]
    return answer


def order_full(order: PaperOrder, market_id: str, fills: Sequence[dict[str, Any]]
               ) -> dict[str, Any]:
    """The FULL answer: RESULT plus the fills of the moment."""
    return {**order_result(order, market_id), "fills": list(fills)}


def cancel_answer(order: PaperOrder, market_id: str, cancel_client_id: str) -> dict[str, Any]:
    """DELETE /api/v3/order: ``clientOrderId`` names the cancel request itself; the
    order's own is ``origClientOrderId`` (what ccxt reads as clientOrderId is not ours)."""
    return {
        "symbol": market_id, "origClientOrderId": order.client_order_id,
        "orderId": int(order.id), "orderListId": -1, "clientOrderId": cancel_client_id,
        "transactTime": order.updated or order.created, **_figures(order),
        "selfTradePreventionMode": "NONE",
    }


def my_trade(trade: PaperTrade, market_id: str, with_id: bool = True) -> dict[str, Any]:
    """One entry of GET /api/v3/myTrades; a rebate is a negative commission. Without
    ``with_id``, no ``id`` (an exchange that gives its trades none)."""
    answer = {
        "symbol": market_id, "id": trade_number(trade.id), "orderId": int(trade.order_id),
        "orderListId": -1, "price": num(trade.price), "qty": num(trade.amount),
        "quoteQty": num(trade.cost), "commission": num(trade.fee),
        "commissionAsset": trade.fee_currency, "time": trade.timestamp,
        "isBuyer": trade.side == "buy", "isMaker": trade.maker, "isBestMatch": True,
    }
    if not with_id:
        del answer["id"]
    return answer


def account(balances: Iterable[tuple[str, Decimal, Decimal]], maker: Decimal, taker: Decimal,
            update_time: int) -> dict[str, Any]:
    """GET /api/v3/account; ``balances``: (asset, free, locked); ``maker`` and ``taker``:
    the fee rates (Binance's ``*Commission`` are in basis points)."""
    zero = num(Decimal(0))
    return {
        "makerCommission": int(maker * 10_000), "takerCommission": int(taker * 10_000),
        "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": num(maker), "taker": num(taker), "buyer": zero,
                            "seller": zero},
        "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": update_time,
        "accountType": "SPOT",
        "balances": [{"asset": a, "free": num(f), "locked": num(u)} for a, f, u in balances],
        "permissions": ["SPOT"], "uid": 1,
    }
