"""The model's values, validated on the way in: money as exact ``Decimal`` (floats converted
through ``str``, bounded so that the ledger's arithmetic never rounds, in the ``LEDGER``
context) and text (ids, symbols, currencies: printable, not blank).

Each converter is a named function, as attrs converters must be for mypy to follow them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Final

from ._exceptions import InvalidInput

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
#: Floats already converted. ccxt's answers are floats, and the same few figures (an
#: order's amount, price, filled, its trades') come back at every poll: ``str`` and the
#: parse cost ~0.7 µs each, a lookup 0.05. Emptied when full, so it stays small. Zero is
#: not kept there: 0.0 and -0.0 are one key but two Decimals.
_FLOATS: dict[float, Decimal] = {}
_FLOATS_KEPT: Final = 4096
_FLOAT_ZERO: Final = Decimal("0.0")
_FLOAT_MINUS_ZERO: Final = Decimal("-0.0")


#: Strings already converted, as _FLOATS: a journal's figures repeat (an order's amount and
#: price, its fills' prices and fees), and replay converts about 8 of them a create and fill
#: (a lookup 40 ns, the parse and its checks 250). Only conversions that succeeded are kept,
#: so every refusal still goes through the checks below and says what is wrong.
_TEXTS: dict[str, Decimal] = {}
#: The kept strings whose value is also positive: an amount, price or cost in one lookup.
_POSITIVES: dict[str, Decimal] = {}
_TEXTS_KEPT: Final = 4096


def to_decimal(value: object, what: str = "value") -> Decimal:
    """A finite Decimal from a Decimal, int, str or float (floats go through ``str``)."""
    if type(value) is str:  # the common case, from JSON and ccxt strings: fast path
        known = _TEXTS.get(value)
        if known is not None:
            return known
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
        if len(_TEXTS) >= _TEXTS_KEPT:
            _TEXTS.clear()
            _POSITIVES.clear()
        _TEXTS[value] = result
        if result > _ZERO:
            _POSITIVES[value] = result
        return result
    if type(value) is float:  # ccxt's numbers
        known = _FLOATS.get(value)
        if known is not None:
            return known
        if value == 0.0:  # str(0.0), str(-0.0)
            return _FLOAT_MINUS_ZERO if math.copysign(1.0, value) < 0 else _FLOAT_ZERO
        result = _number(value, what)
        if len(_FLOATS) >= _FLOATS_KEPT:
            _FLOATS.clear()
        _FLOATS[value] = result
        return result
    return _number(value, what)


def _number(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float):  # (to_decimal reads text itself)
        result = Decimal(str(value))  # every int and float has a text Decimal reads
    else:
        raise InvalidInput(f"{what} must be a number, not {value!r}")
    if not result.is_finite():
        raise InvalidInput(f"{what} must be finite, not {value!r}")
    if not _MIN_EXPONENT <= result.adjusted() <= _MAX_EXPONENT and result:
        raise InvalidInput(f"{what} is out of range: {value!r}")
    if len(str(result)) > _MAX_CHARS:
        raise InvalidInput(f"{what} has too many digits: {value!r}")
    return result


def decimal_payload(value: Decimal | None) -> str | None:
    """A Decimal as JSON keeps it: a string (None stays None)."""
    return None if value is None else str(value)


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
    # Printable text encodes as UTF-8: the only characters that cannot (lone surrogates)
    # are not printable.
    if not value.isprintable():
        raise InvalidInput(f"{what} must be printable UTF-8 text, not {value!r}")
    return value


# The hot converters spell out _positive, and take a fast path before _non_empty: ~2% of a
# replay, which converts about 11 values per order.
def amount_converter(value: object) -> Decimal:
    if type(value) is str and (known := _POSITIVES.get(value)) is not None:
        return known
    result = to_decimal(value, "amount")
    if result <= _ZERO:
        raise _not_positive(value, "amount")
    return result


def price_converter(value: object) -> Decimal:
    if type(value) is str and (known := _POSITIVES.get(value)) is not None:
        return known
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
    if type(value) is tuple and not value:  # most fills: none (before the ABCs, ~1 µs)
        return ()
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
