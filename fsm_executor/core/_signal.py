"""A validated trading signal: what the bot wants; the executor decides how."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._exceptions import InvalidInput
from ._model import OrderType, Side, side_converter
from ._values import (
    amount_converter,
    id_converter,
    optional_price_converter,
    symbol_converter,
)


def _optional_type(value: object) -> OrderType | None:
    if value is None or value == "":
        return None
    try:
        return OrderType(str(value).lower())
    except ValueError:
        raise InvalidInput(f"order_type must be market or limit, not {value!r}") from None


@attrs.frozen
class Signal:
    """``id`` is the caller's idempotency key: a signal id already journaled places nothing."""

    id: str = attrs.field(converter=id_converter)
    symbol: str = attrs.field(converter=symbol_converter)
    side: Side = attrs.field(converter=side_converter)
    amount: Decimal = attrs.field(converter=amount_converter)
    #: Reference price: the limit is derived from it, and market orders are checked against it.
    price: Decimal | None = attrs.field(default=None, converter=optional_price_converter)
    #: Overrides the config's order type for this signal.
    order_type: OrderType | None = attrs.field(default=None, converter=_optional_type)

    KEYS = frozenset({"id", "symbol", "side", "amount", "price", "order_type"})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signal:
        """From a CSV row or JSON object; unknown keys are refused, blanks mean absent."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a signal must be an object, not {type(data).__name__}")
        unknown = set(data) - cls.KEYS
        if unknown:
            raise InvalidInput(f"unknown signal field(s): {', '.join(sorted(unknown))}")
        missing = [k for k in ("id", "symbol", "side", "amount") if data.get(k) in (None, "")]
        if missing:
            raise InvalidInput(f"signal is missing {', '.join(missing)}")
        price = data.get("price")
        return cls(
            data["id"], data["symbol"], data["side"], data["amount"],
            None if price in (None, "") else price, data.get("order_type"),
        )
