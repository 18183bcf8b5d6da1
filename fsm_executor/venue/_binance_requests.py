"""Binance spot's requests, without I/O: parameters and signatures checked as Binance checks
them, each refusal (``Refusal``) with Binance's HTTP status, error code and message
(errors.md). The answers are _binance_shapes.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

import attrs

T = TypeVar("T")
Params = Mapping[str, str]

_DEFAULT_RECV_WINDOW: Final = Decimal(5000)
_MAX_RECV_WINDOW: Final = Decimal(60000)
_CLIENT_ID: Final = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_LONG: Final = re.compile(r"[0-9]{1,20}")
_TYPES: Final = {"LIMIT": "limit", "MARKET": "market"}
_SIDES: Final = {"BUY": "buy", "SELL": "sell"}
_RESPONSE_TYPES: Final = ("ACK", "RESULT", "FULL")


class Refusal(Exception):
    """A request Binance refuses: HTTP status and the code and msg of its body."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def missing(name: str) -> Refusal:
    return Refusal(400, -1102,
                   f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise missing(name)
    return value


def long_param(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not _LONG.fullmatch(value):
        raise Refusal(400, -1100, f"Illegal characters found in parameter '{name}'; "
                                  "legal range is '^[0-9]{1,20}$'.")
    return int(value)


def client_id(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not _CLIENT_ID.fullmatch(value):
        raise Refusal(400, -1100, f"Illegal characters found in parameter '{name}'; "
                                  "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
    return value


def limit_param(params: Params, default: int, maximum: int) -> int:
    limit = long_param(params, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise Refusal(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def page(items: list[T], limit: int, from_start: bool) -> list[T]:
    """Binance's paging: the first ``limit`` from a starting point, else the newest."""
    return items[:limit] if from_start else items[-limit:]


def _unsigned(text: str) -> str:
    """``text`` (a query string or body) without its signature parameter."""
    return "&".join(p for p in text.split("&") if p and not p.startswith("signature="))


def check_signed(headers: Mapping[str, str], query: str, body: str, params: Params, *,
                 api_key: str, secret: bytes, now_ms: int) -> None:
    """Refuse a SIGNED request as Binance would: the API key (``headers`` named in lower
    case), the HMAC-SHA256 signature, then the timestamp against ``recvWindow``."""
    key = headers.get("x-mbx-apikey")
    if not key:
        raise Refusal(401, -2014, "API-key format invalid.")
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        raise Refusal(401, -2015, "Invalid API-key, IP, or permissions for action.")
    signature = required(params, "signature")
    stamp = required(params, "timestamp")
    # Binance signs the query string followed by the body, without a separator.
    payload = (_unsigned(query) + _unsigned(body)).encode()
    expected = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise Refusal(400, -1022, "Signature for this request is not valid.")
    try:
        sent = int(stamp)
        window = Decimal(params.get("recvWindow", _DEFAULT_RECV_WINDOW))
    except ValueError:
        raise missing("timestamp") from None
    except InvalidOperation:
        raise missing("recvWindow") from None
    if window > _MAX_RECV_WINDOW:
        raise Refusal(400, -1131, "recvWindow must be less than 60000")
    if sent >= now_ms + 1000:
        raise Refusal(400, -1021,
                      "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - sent > window:
        raise Refusal(400, -1021, "Timestamp for this request is outside of the recvWindow.")


@attrs.frozen
class NewOrder:
    """POST /api/v3/order's parameters, checked, in the venue's terms."""

    side: str
    type: str
    quantity: str
    price: str | None
    respond: str  # ACK, RESULT or FULL
    client_order_id: str | None

    @classmethod
    def from_params(cls, params: Params) -> NewOrder:
        side = _SIDES.get(required(params, "side"))
        if side is None:
            raise Refusal(400, -1117, "Invalid side.")
        kind = _TYPES.get(required(params, "type"))
        if kind is None:
            raise Refusal(400, -1116, "Invalid orderType.")
        if "quoteOrderQty" in params:  # not modelled: the venue takes base quantities only
            raise Refusal(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
        quantity = required(params, "quantity")
        tif, price = params.get("timeInForce"), params.get("price")
        if kind == "limit":
            if not tif:
                raise missing("timeInForce")
            if tif != "GTC":
                raise Refusal(400, -1115, "Invalid timeInForce.")
            price = required(params, "price")
        elif tif or price:
            name = "timeInForce" if tif else "price"
            raise Refusal(400, -1106, f"Parameter '{name}' sent when not required.")
        respond = params.get("newOrderRespType", "FULL")
        if respond not in _RESPONSE_TYPES:
            raise Refusal(400, -1100, "Illegal characters found in parameter "
                                      "'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.")
        return cls(side, kind, quantity, price, respond, client_id(params, "newClientOrderId"))


def order_ids(params: Params) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) of a query or cancel: at least one of them."""
    oid = long_param(params, "orderId")
    cid = params.get("origClientOrderId") or None
    if oid is None and cid is None:
        raise Refusal(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                  "but both were empty/null!")
    return oid, cid
