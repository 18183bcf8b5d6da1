"""The paper venue's records: its markets (``MarketSpec``), orders (``PaperOrder``) and trades
(``PaperTrade``) with exact Decimals, an order's booked figures (``OrderTruth``), what a saved
venue holds (``SavedState``), and each record as plain JSON. The rules that change them are
_paper_store.py; the file that keeps them is _paper_file.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ..core._values import to_decimal
from ._paper_fees import fees_by_currency

R = TypeVar("R", bound=attrs.AttrsInstance)


def _serialize(_inst: Any, _field: Any, value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def to_json(record: Any) -> dict[str, Any]:
    """An attrs record as plain JSON: Decimals as strings."""
    result: dict[str, Any] = attrs.asdict(record, value_serializer=_serialize)
    return result


def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
    """The record back from ``to_json``; fields typed Decimal get their Decimal back."""
    return cls(**{  # the field types are strings (postponed annotations)
        f.name: Decimal(data[f.name]) if "Decimal" in str(f.type) and data[f.name] is not None
        else data[f.name] for f in attrs.fields(cls)
    })


def _positive(value: object) -> Decimal:
    result = to_decimal(value, "a market's tick, minimum or price")
    if result <= 0:
        raise ValueError(f"market ticks, minimum amount and mid must be positive, not {value!r}")
    return result


def _not_negative(value: object) -> Decimal:
    result = to_decimal(value, "min_cost")
    if result < 0:
        raise ValueError(f"min_cost must not be negative, not {value!r}")
    return result


@attrs.frozen
class MarketSpec:
    """One spot market of the paper venue; ``mid`` is its starting mid price."""

    symbol: str
    base: str
    quote: str
    price_tick: Decimal = attrs.field(converter=_positive)
    amount_tick: Decimal = attrs.field(converter=_positive)
    min_amount: Decimal = attrs.field(converter=_positive)
    min_cost: Decimal = attrs.field(converter=_not_negative)
    mid: Decimal = attrs.field(converter=_positive)


@attrs.define
class PaperOrder:
    """An order as the venue knows it. Times are epoch milliseconds, as ccxt's."""

    id: str
    client_order_id: str
    symbol: str
    type: str
    side: str
    amount: Decimal
    price: Decimal | None
    created: int
    status: str = "open"
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    #: What is still held for this order: quote for a buy (fees included), base for a sell.
    reserved: Decimal = Decimal(0)
    updated: int | None = None
    last_trade: int | None = None
    expires_at: float | None = None
    trade_ids: list[str] = attrs.Factory(list)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


@attrs.frozen
class PaperTrade:
    """One fill. ``fee`` is in ``fee_currency``; negative, it was credited (a rebate)."""

    id: str
    order_id: str
    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    timestamp: int
    maker: bool
    fee_currency: str

    @property
    def cost(self) -> Decimal:
        return self.price * self.amount


@attrs.frozen
class OrderTruth:
    """An order as the venue booked it, exact: what a journal of it must equal.

    ``filled`` and ``cost`` are the sums of its trades' amounts and costs (price * amount);
    ``fees`` its trades' non-zero fees summed per currency, in the order the currencies
    first appear, negative for a rebate (empty without fees, as a journal keeps no zero
    fee). A snapshot: it does not follow the order afterwards.
    """

    id: str
    client_order_id: str
    symbol: str
    side: str
    status: str
    amount: Decimal
    filled: Decimal
    cost: Decimal
    fees: Mapping[str, Decimal]
    trades: tuple[PaperTrade, ...]

    @classmethod
    def of(cls, order: PaperOrder, trades: Iterable[PaperTrade]) -> OrderTruth:
        trades = tuple(trades)
        return cls(order.id, order.client_order_id, order.symbol, order.side, order.status,
                   order.amount, sum((t.amount for t in trades), Decimal(0)),
                   sum((t.cost for t in trades), Decimal(0)),
                   fees_by_currency(t for t in trades if t.fee), trades)


@attrs.frozen
class SavedState:
    kv: dict[str, Any]
    orders: list[PaperOrder]
    trades: list[PaperTrade]


def to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """``value`` rounded to a whole number of ``tick`` (a market's price or amount tick)."""
    return (value / tick).to_integral_value(rounding=rounding) * tick


def ms(seconds: float) -> int:
    """Epoch seconds as the records keep time: milliseconds, as ccxt's."""
    return round(seconds * 1000)
