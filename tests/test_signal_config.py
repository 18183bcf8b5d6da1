"""Signals and the execution config: a bad value is a clear error."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fsm_executor import ExecutionConfig, InvalidInput, OrderType, Signal


def test_a_signal_from_a_csv_row_converts_and_validates() -> None:
    s = Signal.from_dict({"id": "a", "symbol": "BTC/USDT", "side": "BUY", "amount": "0.5",
                          "price": "", "order_type": "Market"})
    assert s.amount == Decimal("0.5") and s.price is None and s.order_type is OrderType.MARKET


@pytest.mark.parametrize("bad, message", [
    ({"id": "a", "symbol": "X/Y", "side": "buy"}, "missing amount"),
    ({"id": "a", "symbol": "X/Y", "side": "hold", "amount": "1"}, "side"),
    ({"id": "a", "symbol": "X/Y", "side": "buy", "amount": "-1"}, "positive"),
    ({"id": "a", "symbol": "X/Y", "side": "buy", "amount": "NaN"}, "finite"),
    ({"id": "a", "symbol": "X/Y", "side": "buy", "amount": "1", "price": "0"}, "positive"),
    ({"id": "a", "symbol": "X/Y", "side": "buy", "amount": "1", "qty": "2"}, "unknown"),
    ({"id": "a", "symbol": "X/Y", "side": "buy", "amount": "1", "order_type": "stop"}, "market"),
])
def test_bad_signals_are_refused_with_a_clear_error(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Signal.from_dict(bad)


def test_the_config_defaults_are_the_documented_ones() -> None:
    c = ExecutionConfig.from_dict({})
    assert (c.order_type, c.slippage_tolerance_pct, c.order_timeout_seconds, c.max_retries,
            c.retry_delay_seconds) == (OrderType.LIMIT, 0.1, 30, 3, 1)
    assert c.slippage == Decimal("0.001")


@pytest.mark.parametrize("bad", [
    {"order_type": "STOP"}, {"slippage_tolerance_pct": -1}, {"order_timeout_seconds": 0},
    {"max_retries": 2.5}, {"max_retries": True}, {"retry_delay_seconds": "1"},
    {"jitter": 1.5}, {"client_order_id_prefix": "has-dash"}, {"unknown_key": 1},
])
def test_bad_config_values_are_clear_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        ExecutionConfig.from_dict(bad)
