"""Execution settings: the keys a bot author already has, validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._exceptions import InvalidInput
from ._model import OrderType
from ._values import to_decimal


def _number(name: str, low: float, high: float | None = None, *, integer: bool = False) -> Any:
    def check(inst: object, attribute: object, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise InvalidInput(f"{name} must be a number, not {value!r}")
        if integer and not float(value).is_integer():
            raise InvalidInput(f"{name} must be a whole number, not {value!r}")
        if not low <= value or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise InvalidInput(f"{name} must be {bound}, not {value!r}")

    return check


def _order_type(value: object) -> OrderType:
    try:
        return OrderType(str(value).lower())
    except ValueError:
        raise InvalidInput(f"order_type must be MARKET or LIMIT, not {value!r}") from None


def _prefix(inst: object, attribute: object, value: object) -> None:
    # Alphanumeric only: OKX allows no '-' or '_' in client order ids.
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9]{1,12}", value):
        raise InvalidInput(f"client_order_id_prefix must be 1-12 letters or digits, not {value!r}")


@attrs.frozen
class ExecutionConfig:
    order_type: OrderType = attrs.field(default=OrderType.LIMIT, converter=_order_type)
    #: Percent: 0.1 means 0.1%.
    slippage_tolerance_pct: float = attrs.field(default=0.1, validator=_number(
        "slippage_tolerance_pct", 0, 100))
    order_timeout_seconds: float = attrs.field(default=30, validator=_number(
        "order_timeout_seconds", 0.001))
    max_retries: int = attrs.field(default=3, validator=_number(
        "max_retries", 0, 100, integer=True))
    retry_delay_seconds: float = attrs.field(default=1, validator=_number(
        "retry_delay_seconds", 0))
    poll_interval_seconds: float = attrs.field(default=1, validator=_number(
        "poll_interval_seconds", 0.001))
    backoff_cap_seconds: float = attrs.field(default=30, validator=_number(
        "backoff_cap_seconds", 0))
    #: Fraction of each delay drawn at random either way (0.1: +-10%).
    jitter: float = attrs.field(default=0.1, validator=_number("jitter", 0, 1))
    #: RateLimitExceeded and DDoSProtection wait at least this long.
    rate_limit_cooldown_seconds: float = attrs.field(default=10, validator=_number(
        "rate_limit_cooldown_seconds", 0))
    client_order_id_prefix: str = attrs.field(default="fsmx", validator=_prefix)
    #: Binance allows 36, OKX and others 32.
    client_order_id_max_length: int = attrs.field(default=32, validator=_number(
        "client_order_id_max_length", 20, 64, integer=True))
    #: Definitive not-found answers, spread over time, before a placement whose outcome was
    #: unknown is taken as never placed.
    not_found_confirmations: int = attrs.field(default=2, validator=_number(
        "not_found_confirmations", 1, 100, integer=True))
    not_found_interval_seconds: float = attrs.field(default=2, validator=_number(
        "not_found_interval_seconds", 0))
    #: Once an order has ended, its trades are listed up to this many times, a poll
    #: interval apart, until they account for the exchange's filled and cost (exchanges
    #: list trades late); recover() tries again for those still unaccounted for.
    trade_listing_attempts: int = attrs.field(default=5, validator=_number(
        "trade_listing_attempts", 0, 100, integer=True))

    #: How often ``update()`` looks again at an order it could not settle (in doubt) or
    #: presumed absent: each look is a request.
    watch_interval_seconds: float = attrs.field(default=30, validator=_number(
        "watch_interval_seconds", 0))

    @property
    def slippage(self) -> Decimal:
        """The tolerance as a fraction."""
        return to_decimal(self.slippage_tolerance_pct) / 100

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExecutionConfig:
        """From a plain dict of the keys above; unknown keys are refused by name."""
        fields = {f.name for f in attrs.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InvalidInput(f"unknown config key(s): {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(sorted(fields))}")
        return cls(**data)
