"""The order and its values. Money is ``Decimal``; floats are converted through ``str``.

Boundaries are crossed with named constructors (``Fill.from_payload``), so neither ccxt's
nor SQLite's shapes leak into the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, TypeVar

import attrs

from ._exceptions import InvalidInput
from ._states import IN_FLIGHT, OPEN, TERMINAL, State


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


E = TypeVar("E", bound=StrEnum)

# Far past any real amount or price (1e-24 .. 1e24), and well inside Decimal arithmetic:
# a value outside is a bad input, not a reason for decimal.Overflow deep in a fill.
_MIN_EXPONENT, _MAX_EXPONENT = -24, 24
#: With the exponents above and at most this many characters, every sum and product the
#: ledger makes fits in LEDGER's precision: filled, cost and fees are exact, never rounded
#: (the default context keeps 28 digits, and a 29-digit amount could then never complete).
_MAX_CHARS = 60
#: The context of the ledger's arithmetic. Inexact traps: rounding would be a bug here.
LEDGER: Final = Context(prec=250, Emax=999, Emin=-999,
                        traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])
#: Compared with a Decimal, not the int 0: half the cost of each sign check.
_ZERO: Final = Decimal(0)
#: A member read through its Enum class costs ~70 ns on Python 3.11; read once here.
_CREATED: Final = State.CREATED


def to_decimal(value: object, what: str = "value") -> Decimal:
    """A finite Decimal from a Decimal, int, str or float (floats go through ``str``)."""
    if type(value) is str:  # the common case, from JSON and ccxt strings: fast path
        if len(value) > _MAX_CHARS:
            raise InvalidInput(f"{what} has too many digits: {value[:20]!r}...")
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise InvalidInput(f"{what} must be a number, not {value!r}") from None
        if not result.is_finite():
            raise InvalidInput(f"{what} must be finite, not {value!r}")
        if not _MIN_EXPONENT <= result.adjusted() <= _MAX_EXPONENT and result:
            raise InvalidInput(f"{what} is out of range: {value!r}")
        return result
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str | float):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"{what} must be a number, not {value!r}") from None
    else:
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    if not result.is_finite():
        raise InvalidInput(f"{what} must be finite, not {value!r}")
    if not _MIN_EXPONENT <= result.adjusted() <= _MAX_EXPONENT and result:
        raise InvalidInput(f"{what} is out of range: {value!r}")
    if len(str(result)) > _MAX_CHARS:
        raise InvalidInput(f"{what} has too many digits: {value!r}")
    return result


def _positive(value: object, what: str) -> Decimal:
    result = to_decimal(value, what)
    if result <= _ZERO:
        raise _not_positive(value, what)
    return result


def _not_positive(value: object, what: str) -> InvalidInput:
    return InvalidInput(f"{what} must be positive, not {value!r}")


def _non_empty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string, not {value!r}")
    if not value.isprintable() or not value.isascii() and _unencodable(value):
        raise InvalidInput(f"{what} must be printable UTF-8 text, not {value!r}")
    return value


def _unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _enum(cls: type[E], value: object, what: str) -> E:
    try:
        return cls(str(value).lower())
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise InvalidInput(f"{what} must be one of {choices}, not {value!r}") from None


# attrs converters must be named functions for mypy to follow them. The hot ones spell out
# _positive, and take a fast path before _non_empty: ~2% of a replay, which converts
# about 11 values per order.
def amount_converter(value: object) -> Decimal:
    result = to_decimal(value, "amount")
    if result <= _ZERO:
        raise _not_positive(value, "amount")
    return result


def price_converter(value: object) -> Decimal:
    result = to_decimal(value, "price")
    if result <= _ZERO:
        raise _not_positive(value, "price")
    return result


def optional_price_converter(value: object) -> Decimal | None:
    return None if value is None else _positive(value, "price")


def fee_converter(value: object) -> Decimal:
    """A fee; negative is a rebate (a maker rebate credits the account)."""
    return to_decimal(value, "fee")


def optional_cost_converter(value: object) -> Decimal | None:
    return None if value is None else _positive(value, "cost")


def fees_converter(value: object) -> tuple[tuple[str, Decimal], ...]:
    """More fees of one fill, as (currency, cost) pairs, one per currency (a currency named
    twice is summed): from a payload's mapping, or pairs."""
    items = value.items() if isinstance(value, Mapping) else value
    if not isinstance(items, Iterable):
        raise InvalidInput(f"fees must be a mapping of currency to cost, not {value!r}")
    fees: dict[str, Decimal] = {}
    for currency, cost in items:
        key = _non_empty(currency, "fee currency")
        fees[key] = LEDGER.add(fees.get(key, _ZERO), fee_converter(cost))
    return tuple(fees.items())


# The fast path of _non_empty: a printable str holds no surrogate (category Cs is not
# printable), so it encodes as UTF-8, and its only possible whitespace is the ASCII space,
# so strip() is empty exactly when it is blank. Anything else gets the full, worded checks.
def id_converter(value: object) -> str:
    if type(value) is str and value.isprintable() and value.strip():
        return value
    return _non_empty(value, "id")


def symbol_converter(value: object) -> str:
    if type(value) is str and value.isprintable() and value.strip():
        return value
    return _non_empty(value, "symbol")


# The exact lower-case values, looked up before ``_enum``: Enum.__call__ cost ~0.4 µs, twice
# per created order on replay's path. Anything else still goes through ``_enum``.
_SIDES: Final = {m.value: m for m in Side}
_ORDER_TYPES: Final = {m.value: m for m in OrderType}


def side_converter(value: object) -> Side:
    member = _SIDES.get(value) if type(value) is str else None
    return _enum(Side, value, "side") if member is None else member


def order_type_converter(value: object) -> OrderType:
    member = _ORDER_TYPES.get(value) if type(value) is str else None
    return _enum(OrderType, value, "order type") if member is None else member


def decimal_payload(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@attrs.frozen
class Fill:
    """One trade against an order, keyed by ``trade_id``; the event of the ``fill`` trigger.

    ``inferred``: not a trade the exchange listed but the part of its cumulative filled
    that its trades do not account for yet. Provisional: a ``restate`` replaces it with
    the trades once they are listed. Its ``cost`` (and ``more_fees``) carry the order's
    own figures exactly, where ``amount * price`` could not: its price is an estimate.
    """

    trigger: ClassVar[str] = "fill"
    trade_id: str = attrs.field(converter=id_converter)
    amount: Decimal = attrs.field(converter=amount_converter)
    price: Decimal = attrs.field(converter=price_converter)
    #: Negative: a rebate.
    fee_cost: Decimal = attrs.field(default=Decimal(0), converter=fee_converter)
    fee_currency: str | None = None
    timestamp: float | None = None
    inferred: bool = False
    #: The exact cost when it is not ``amount * price`` (inferred fills only).
    cost: Decimal | None = attrs.field(default=None, converter=optional_cost_converter)
    #: Fees in further currencies, as (currency, cost) pairs (an order-level figure).
    more_fees: tuple[tuple[str, Decimal], ...] = attrs.field(default=(),
                                                             converter=fees_converter)

    @property
    def value(self) -> Decimal:
        """What the fill cost in the quote currency: ``cost``, else ``amount * price``."""
        cost = self.cost
        return LEDGER.multiply(self.amount, self.price) if cost is None else cost

    def fees(self) -> Iterator[tuple[str, Decimal]]:
        """Each (currency, cost) this fill was charged; a fee without a currency is none."""
        if self.fee_cost and self.fee_currency:
            yield self.fee_currency, self.fee_cost
        yield from self.more_fees

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Fill:
        trade_id, amount, price = payload["trade_id"], payload["amount"], payload["price"]
        fee_cost, fee_currency = payload.get("fee_cost", "0"), payload.get("fee_currency")
        timestamp = payload.get("timestamp")
        # What __init__ does (these converters, in this order), but each slot is set through
        # its descriptor: a frozen __init__ calls object.__setattr__ per field. Two rows in
        # five of a replay are fills: 1.85 -> 1.5 µs each, ~3% of a replay.
        fill = _new(cls)
        (set_id, set_amount, set_price, set_fee, set_currency, set_timestamp, set_inferred,
         set_cost, set_more) = _FILL_SLOTS
        set_id(fill, id_converter(trade_id))
        set_amount(fill, amount_converter(amount))
        set_price(fill, price_converter(price))
        set_fee(fill, fee_converter(fee_cost))
        set_currency(fill, fee_currency)
        set_timestamp(fill, timestamp)
        # A trade's payload has none of these three (an inferred fill's has them all).
        inferred = payload.get("inferred")
        if inferred is None:
            set_inferred(fill, False)
            set_cost(fill, None)
            set_more(fill, ())
        else:
            set_inferred(fill, inferred is True)
            set_cost(fill, optional_cost_converter(payload.get("cost")))
            set_more(fill, fees_converter(payload.get("more_fees") or {}))
        return fill

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "trade_id": self.trade_id, "amount": str(self.amount), "price": str(self.price),
            "fee_cost": str(self.fee_cost), "fee_currency": self.fee_currency,
            "timestamp": self.timestamp,
        }
        if self.inferred or self.cost is not None or self.more_fees:
            payload["inferred"] = self.inferred
            payload["cost"] = decimal_payload(self.cost)
            payload["more_fees"] = {c: str(v) for c, v in self.more_fees}
        return payload


_new: Final = object.__new__


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    """The ``__set__`` of each of ``cls``'s slots, which must be all its fields, in order."""
    if names != tuple(a.name for a in attrs.fields(cls)):
        raise TypeError(f"{cls.__name__}.from_payload is out of step with its fields")
    return tuple(cls.__dict__[name].__set__ for name in names)


_FILL_SLOTS: Final = _slot_setters(
    Fill, "trade_id", "amount", "price", "fee_cost", "fee_currency", "timestamp", "inferred",
    "cost", "more_fees",
)


@attrs.frozen
class OrderSpec:
    """What to place: everything an order is created with, validated."""

    client_order_id: str = attrs.field(converter=id_converter)
    symbol: str = attrs.field(converter=symbol_converter)
    side: Side = attrs.field(converter=side_converter)
    type: OrderType = attrs.field(converter=order_type_converter)
    amount: Decimal = attrs.field(converter=amount_converter)
    #: The limit price, or for a market order the reference price (optional). A limit order
    #: without one can be journaled (refused for want of a price) but never sent.
    price: Decimal | None = attrs.field(default=None, converter=optional_price_converter)
    signal_id: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OrderSpec:
        # Built as Fill.from_payload is (one row in five): 2.0 -> 1.5 µs.
        client_order_id, symbol, side, order_type, amount, price, signal_id = (
            _spec_values(payload)
        )
        spec = _new(cls)
        set_id, set_symbol, set_side, set_type, set_amount, set_price, set_signal = _SPEC_SLOTS
        set_id(spec, client_order_id)
        set_symbol(spec, symbol)
        set_side(spec, side)
        set_type(spec, order_type)
        set_amount(spec, amount)
        set_price(spec, price)
        set_signal(spec, signal_id)
        return spec

    def to_payload(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id, "symbol": self.symbol,
            "side": self.side.value, "type": self.type.value, "amount": str(self.amount),
            "price": decimal_payload(self.price), "signal_id": self.signal_id,
        }


_SpecValues = tuple[str, str, Side, OrderType, Decimal, Decimal | None, str | None]


def _spec_values(payload: Mapping[str, Any]) -> _SpecValues:
    """OrderSpec's fields from a payload, in field order, each through its converter (the
    payload read first, as a call to __init__ would)."""
    client_order_id, symbol = payload["client_order_id"], payload["symbol"]
    side, order_type, amount = payload["side"], payload["type"], payload["amount"]
    price, signal_id = payload.get("price"), payload.get("signal_id")
    return (
        id_converter(client_order_id), symbol_converter(symbol), side_converter(side),
        order_type_converter(order_type), amount_converter(amount),
        optional_price_converter(price), signal_id,
    )


_SPEC_SLOTS: Final = _slot_setters(
    OrderSpec, "client_order_id", "symbol", "side", "type", "amount", "price", "signal_id"
)


@attrs.define(slots=True, eq=True)
class Order:
    """An order as the journal knows it.

    The executor's own copy changes only through _lifecycle.apply, after the journal row
    describing the change is committed. Everything handed to callers is a ``snapshot()``,
    which never changes under them: ``fills`` and ``fees`` are replaced, never mutated, so a
    snapshot shares them safely and costs the same whatever the number of fills.
    """

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None
    signal_id: str | None
    state: State
    created_at: float
    updated_at: float
    exchange_order_id: str | None = None
    filled: Decimal = Decimal(0)
    #: Sum of amount * price over the fills: ``average`` is derived from it.
    cost: Decimal = Decimal(0)
    fees: Mapping[str, Decimal] = attrs.Factory(dict)
    fills: Mapping[str, Fill] = attrs.Factory(dict)
    #: Why the order failed, was cancelled or expired, in the exchange's words if it gave any.
    reason: str | None = None
    #: How a failed order failed: "refused" (local checks, nothing sent), "rejected" (the
    #: exchange's normal no), "absent" (never placed: not found through the exchange's
    #: lookup window), "fatal" (a person must look).
    failure: str | None = None
    #: A cancel was asked for (possibly while the placement was in doubt): the order is
    #: cancelled as soon as it is known to rest on the exchange.
    cancel_requested: bool = False

    @classmethod
    def from_spec(cls, spec: OrderSpec, now: float) -> Order:
        return cls(
            spec.client_order_id, spec.symbol, spec.side, spec.type, spec.amount, spec.price,
            spec.signal_id, _CREATED, now, now,
        )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], now: float) -> Order:
        """``from_spec(OrderSpec.from_payload(payload), now)``, without the spec in between:
        the same converters and the same fields. Replay creates an order every five rows;
        skipping the spec saves ~3% of a replay."""
        return cls(*_spec_values(payload), _CREATED, now, now)

    @property
    def remaining(self) -> Decimal:
        return LEDGER.subtract(self.amount, self.filled)

    @property
    def average(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def is_in_flight(self) -> bool:
        return self.state in IN_FLIGHT

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Snapshots hold read-only views, which do not pickle: hand pickle and deepcopy
        # plain dicts (a copy is the caller's own anyway).
        values = tuple(dict(v) if isinstance(v, MappingProxyType) else v
                       for v in attrs.astuple(self, recurse=False))
        return Order, values

    def snapshot(self) -> Order:
        """A copy that later changes to this order do not reach."""
        # Spelled out: about 4x faster than copy.copy or attrs.evolve on this hot path.
        return Order(
            self.client_order_id, self.symbol, self.side, self.type, self.amount, self.price,
            self.signal_id, self.state, self.created_at, self.updated_at,
            # Read-only views: a caller cannot reach the book's own (never mutated) dicts.
            self.exchange_order_id, self.filled, self.cost, MappingProxyType(self.fees),
            MappingProxyType(self.fills), self.reason, self.failure, self.cancel_requested,
        )

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON view (Decimals as strings), for the CLI and for auditors."""
        return {
            "client_order_id": self.client_order_id, "symbol": self.symbol,
            "side": self.side.value, "type": self.type.value, "amount": str(self.amount),
            "price": decimal_payload(self.price), "signal_id": self.signal_id,
            "state": self.state.value, "exchange_order_id": self.exchange_order_id,
            "filled": str(self.filled), "remaining": str(self.remaining),
            "average": decimal_payload(self.average),
            "fees": {k: str(v) for k, v in sorted(self.fees.items())},
            "fills": [f.to_payload() for f in self.fills.values()],
            "reason": self.reason, "failure": self.failure,
            "cancel_requested": self.cancel_requested, "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
