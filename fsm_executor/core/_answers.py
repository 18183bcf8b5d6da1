"""The vocabulary of exchange answers, owned by the core: an order as the exchange reports
it, a market's rules, what a lookup learned, and the kinds of error.

No ccxt and no I/O here: the exchange edge (_exchange.py, translating ccxt's shapes through
_ccxt_shapes.py and its exceptions through _errors.py) speaks ccxt and hands the decisions
(_decide.py, _ledger.py) these values, so they can be driven by generated answers alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

import attrs

from ._fill import Fill


class Kind(StrEnum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FATAL = "fatal"
    CLOCK = "clock"


@attrs.frozen
class ExchangeOrder:
    """What the exchange said about one order, in its own terms but our types."""

    id: str | None
    client_order_id: str | None
    status: str | None
    amount: Decimal | None
    filled: Decimal | None
    average: Decimal | None
    cost: Decimal | None
    fee_cost: Decimal | None
    fee_currency: str | None
    trades: tuple[Fill, ...] = ()
    timestamp: float | None = None
    symbol: str | None = None
    side: str | None = None
    type: str | None = None
    price: Decimal | None = None
    #: The order's fees per currency (ccxt's ``fees``, else ``fee``); None when the
    #: answer carries none (Binance's order answers do not).
    fees: Mapping[str, Decimal] | None = None


@attrs.frozen
class MarketRules:
    """What the exchange allows on one market, from ccxt's market structure."""

    symbol: str
    base: str
    quote: str
    min_amount: Decimal | None
    max_amount: Decimal | None
    min_cost: Decimal | None
    min_price: Decimal | None
    max_price: Decimal | None
    #: The price step; None when the exchange publishes no usable one.
    price_tick: Decimal | None
    active: bool = True


@attrs.frozen
class Lookup:
    """What a lookup by client order id learned: the order, or None when the exchange
    answered that it has none; ``odd`` names answers that were neither (another order, an
    order without an id), which count as no evidence either way."""

    found: ExchangeOrder | None
    odd: tuple[str, ...] = ()
