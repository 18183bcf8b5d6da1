"""The real ccxt client of an exchange, offline: its requests recorded at ccxt's ``fetch``
(the last step before HTTP), with one spot market set and the account set-up questions
some exchanges ask first answered as a classic spot account.

What a test sees is what ccxt would send the exchange: the path, the query and the body,
flattened to (field, value) pairs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ccxt

#: Each exchange's own id of BTC/USDT (Bitfinex's is tBTCUST).
MARKET_IDS = {"binance": "BTCUSDT", "bybit": "BTCUSDT", "okx": "BTC-USDT",
              "kucoin": "BTC-USDT", "gate": "BTC_USDT", "kraken": "XBTUSDT",
              "coinbase": "BTC-USDT", "bitget": "BTCUSDT", "bitfinex": "tBTCUST",
              "htx": "btcusdt", "mexc": "BTCUSDT", "bitstamp": "btcusdt"}

#: Account set-up questions, by a part of their path, answered as a spot account:
#: KuCoin's account mode, HTX's account ids, Bybit's and Gate's and Bitget's settings.
SET_UP = {
    "/account/mode": {"code": "200000", "data": {"selfAccountMode": "CLASSIC"}},
    "/v1/account/accounts": {"status": "ok", "data": [
        {"id": 100001, "type": "spot", "subtype": "", "state": "working"}]},
    "/v5/user/query-api": {"retCode": 0, "retMsg": "OK", "result": {"unified": 0, "uta": 1}},
    "/v5/account/info": {"retCode": 0, "retMsg": "OK", "result": {"unifiedMarginStatus": 5}},
    "/account/detail": {"user_id": 1, "key": {"mode": 1}},
    "/account/settings": {"code": "00000", "msg": "success", "data": {}},
}


class Sent(Exception):
    """Raised where the request would leave: nothing answers it."""


class Wire:
    """A ccxt client of ``name`` whose requests are kept in ``sent``."""

    def __init__(self, name: str) -> None:
        self.exchange: Any = getattr(ccxt, name)({"apiKey": "k", "secret": "c2VjcmV0",
                                                  "password": "p", "uid": "u"})
        tick = self.exchange.precisionMode == ccxt.TICK_SIZE
        self.exchange.set_markets([{
            "id": MARKET_IDS[name], "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
            "baseId": "BTC", "quoteId": "USDT", "type": "spot", "spot": True, "margin": False,
            "swap": False, "future": False, "option": False, "contract": False,
            "active": True, "precision": {"amount": 0.0001 if tick else 4,
                                          "price": 0.01 if tick else 2},
            "limits": {"amount": {}, "price": {}, "cost": {}},
            "info": {"orderTypes": ["LIMIT", "MARKET"]}}])
        if name == "kucoin":  # KuCoin has moved spot accounts to its HF trading system
            self.exchange.options["hf"] = True
        self.sent: list[tuple[str, str, str | None]] = []
        #: An HTTP status and body to answer requests with, through ccxt's own error
        #: handling; None: a request raises Sent.
        self.answer: tuple[int, str] | None = None
        self.exchange.fetch = self._fetch

    def _fetch(self, url: str, method: str = "GET", headers: Any = None,
               body: str | None = None) -> Any:
        for part, answer in SET_UP.items():
            if part in url:
                return answer
        self.sent.append((method, url, body))
        if self.answer is None:
            raise Sent(url)
        # What ccxt's own fetch does with an answer (base/exchange.py): the exchange's
        # handle_errors, then the HTTP status.
        status, text = self.answer
        data = json.loads(text)
        self.exchange.handle_errors(status, "", url, method, {}, text, data, headers, body)
        self.exchange.handle_http_status_code(status, "", url, method, text)
        return data

    def last(self) -> Request:
        method, url, body = self.sent[-1]
        return Request(method, url, body)


class Request:
    """One request as sent: its path, and its query and body as (field, value) pairs."""

    def __init__(self, method: str, url: str, body: str | None) -> None:
        parts = urlsplit(url)
        self.method, self.path = method, parts.path
        self.fields = list(parse_qsl(parts.query))
        if body:
            self.fields += _body_fields(body)

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.fields}"

    def carrying(self, value: str) -> list[str]:
        """The fields (or "path") that carry ``value`` anywhere in them."""
        found = [name for name, held in self.fields if value in held]
        return found + (["path"] if value in self.path else [])


def _body_fields(body: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(body)
    except ValueError:
        return list(parse_qsl(body))
    items = data if isinstance(data, list) else [data]
    return [(str(k), str(v)) for item in items for k, v in item.items()]
