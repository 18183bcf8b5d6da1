"""Tools for testing a bot against the same venue and generated answers this library is
tested with. Needs ``hypothesis`` (``pip install fsm-executor[testing]``).

- ``PaperExchange``: the embedded paper venue (seeded fills, fees, balances, latency on an
  injected clock, seeded fault injection, an optional state file that outlives the bot),
  as unkind as the exchange it imitates (``imitate="binance"``, "okx", "bybit"), with
  maker rebates, fees in more than one currency and trades without an id on request, and
  its ground truth per order (``order_truth``: an ``OrderTruth`` of exact Decimals).
- ``AsyncPaperExchange``: the same venue with ``ccxt.async_support``'s interface (unified
  methods are coroutines, ccxt's sync helpers stay sync); each request takes ``latency``
  seconds of the event loop's time, half on the way to the venue, which acts on arrival,
  half on the way back, so concurrent requests interleave and a lost answer is lost after
  the venue acted. The same seeded faults, exception classes and ground truth.
- ``run_virtual(coro, clock=..., seed=...)``, ``VirtualClock``, ``VirtualEventLoop``: asyncio
  on virtual time. Timers fire at once at their exact times, same-instant ones in the order
  scheduled (or a seeded shuffle); the clock's ``now()`` and ``monotonic()`` are the loop's
  time, so journal stamps, deadlines and ``asyncio.sleep`` agree; a deadlock raises.
- ``BinanceServer`` and ``binance_client``: the paper venue behind a local Binance spot REST
  server, and the real ``ccxt.binance`` client pointed at it (HMAC-signed, Binance's bodies
  and codes, accept-then-drop faults at the HTTP layer); ``async_binance_client``: the real
  ``ccxt.async_support.binance`` (aiohttp, ccxt's rate limiter on) pointed at it, for
  ``AsyncTradeExecutor``.
- ``FakeClock``: time that moves only when slept on or advanced.
- ``GeneratedExchange``: an exchange whose every answer hypothesis draws.
- Strategies: ``ccxt_exceptions()``, ``ccxt_order_dicts()``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .core._clock import FakeClock
from .exchange._errors import ccxt_exception_classes
from .venue._binance_http import BinanceServer, async_binance_client, binance_client
from .venue._generated import REJECT_ERRORS, TRANSIENT_ERRORS, GeneratedExchange, ccxt_errors
from .venue._paper import MarketSpec, OrderTruth, PaperExchange
from .venue._paper_async import AsyncPaperExchange
from .venue._virtual_loop import VirtualClock, VirtualEventLoop, run_virtual

__all__ = [
    "REJECT_ERRORS",
    "TRANSIENT_ERRORS",
    "AsyncPaperExchange",
    "BinanceServer",
    "FakeClock",
    "GeneratedExchange",
    "MarketSpec",
    "OrderTruth",
    "PaperExchange",
    "VirtualClock",
    "VirtualEventLoop",
    "async_binance_client",
    "binance_client",
    "ccxt_errors",
    "ccxt_exceptions",
    "ccxt_order_dicts",
    "run_virtual",
]


def ccxt_exceptions() -> Any:
    """Instances of every class of ccxt's exception tree."""
    return st.sampled_from(ccxt_exception_classes()).map(lambda cls: cls("generated"))


_numbers = st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
                     st.decimals(0, 1_000_000, places=8).map(str))


def ccxt_order_dicts(client_order_id: str | None = None) -> Any:
    """ccxt-shaped order dicts with any status and fill figures, including odd ones
    (status or filled missing, unknown statuses, filled above the amount)."""
    return st.fixed_dictionaries({
        "id": st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=12)),
        "clientOrderId": st.just(client_order_id) if client_order_id else st.none(),
        "status": st.sampled_from([None, "open", "closed", "canceled", "expired", "rejected",
                                   "canceling", "PENDING_NEW"]),
        "symbol": st.just("BTC/USDT"),
        "amount": _numbers,
        "filled": _numbers,
        "average": _numbers,
        "cost": _numbers,
        "fee": st.one_of(st.none(), st.fixed_dictionaries({"cost": _numbers,
                                                           "currency": st.just("USDT")})),
        "trades": st.just([]),
        "timestamp": st.one_of(st.none(), st.integers(0, 2**41)),
    })
