"""The paper venue's faults: which exist, where each applies, and how each is raised.

Faults come from their own ``Random(seed + 1)``, apart from the market's generator, so turning
them on or off never changes which orders fill when. A scripted fault (``inject``) wins over
the rates and consumes no random draw.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Final, NoReturn

import ccxt

#: Every fault, in the fixed order the rates are drawn in.
FAULTS: Final = (
    "timeout_before", "timeout_after", "unavailable", "rate_limit",
    "insufficient_funds", "invalid_order", "cancel_race",
)

#: The venue's methods that go through latency and faults.
METHODS: Final = (
    "create_order", "fetch_order", "cancel_order", "fetch_open_orders", "fetch_closed_orders",
    "fetch_orders",
    "fetch_my_trades", "fetch_ticker", "fetch_order_book", "fetch_balance",
)

#: Faults that only make sense for some methods; the others apply to every method.
#: A *scripted* timeout_after is allowed anywhere (elsewhere than create_order it is a plain
#: timeout: a read has no effect to lose the answer of).
_ONLY: Final[Mapping[str, frozenset[str]]] = {
    "timeout_after": frozenset({"create_order"}),
    "insufficient_funds": frozenset({"create_order"}),
    "invalid_order": frozenset({"create_order"}),
    "cancel_race": frozenset({"cancel_order"}),
}

_TIMEOUT_ANYWHERE: Final = "timeout_after"


def check_rates(faults: Mapping[str, float] | None) -> dict[str, float]:
    """The fault rates, validated: known names, probabilities in [0, 1]."""
    rates: dict[str, float] = {}
    for name, rate in (faults or {}).items():
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; valid faults: {', '.join(FAULTS)}")
        p = float(rate)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"the rate of fault {name!r} must be within [0, 1], not {rate!r}")
        rates[name] = p
    return rates


def _applies(fault: str, method: str) -> bool:
    only = _ONLY.get(fault)
    return only is None or method in only


class FaultPlan:
    """The faults still to come: scripted ones queued per method, then seeded rates."""

    def __init__(self, rates: Mapping[str, float], seed: int) -> None:
        self.rates = dict(rates)
        self.rng = random.Random(seed + 1)
        self.scripted: dict[str, list[str]] = {}
        #: (method, fault) for every fault fired, in order.
        self.log: list[tuple[str, str]] = []

    def inject(self, method: str, fault: str, times: int = 1) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; valid faults: {', '.join(FAULTS)}")
        if fault != _TIMEOUT_ANYWHERE and not _applies(fault, method):
            raise ValueError(f"fault {fault!r} does not apply to {method}")
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times!r}")
        self.scripted.setdefault(method, []).extend([fault] * times)

    def draw(self, method: str) -> str | None:
        """The fault for this call of ``method``, if any (and log it)."""
        queue = self.scripted.get(method)
        fault: str | None = None
        if queue:
            fault = queue.pop(0)
            if not queue:
                del self.scripted[method]
        else:
            for name in FAULTS:
                rate = self.rates.get(name, 0.0)
                # Draw only for rates that are on, so adding a zero rate changes nothing.
                if rate > 0.0 and _applies(name, method) and self.rng.random() < rate:
                    fault = name
                    break
        if fault is not None:
            self.log.append((method, fault))
        return fault

    def to_json(self) -> dict[str, Any]:
        version, internal, gauss_next = self.rng.getstate()
        return {
            "rng": [version, list(internal), gauss_next],
            "scripted": self.scripted,
            "log": [list(entry) for entry in self.log],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        self.rng.setstate(rng_state(data["rng"]))
        self.scripted = {k: list(v) for k, v in data["scripted"].items()}
        self.log[:] = [(m, f) for m, f in data["log"]]  # in place: the venue shares it


def rng_state(data: Any) -> tuple[Any, ...]:
    """``Random.getstate()`` back from its JSON form (lists for tuples)."""
    version, internal, gauss_next = data
    return (version, tuple(internal), gauss_next)


def raise_fault(method: str, fault: str) -> NoReturn:
    """Raise the ccxt exception of a fault that leaves the venue untouched.

    Both timeouts raise the same message: a client cannot tell them apart, nor should it.
    """
    if fault in ("timeout_before", "timeout_after"):
        raise ccxt.RequestTimeout(f"paper {method} request timed out")
    if fault == "unavailable":
        raise ccxt.ExchangeNotAvailable(f"paper {method} 503 Service Unavailable")
    if fault == "rate_limit":
        raise ccxt.RateLimitExceeded('paper 429 {"code":-1003,"msg":"Too many requests."}')
    if fault == "insufficient_funds":
        raise ccxt.InsufficientFunds(
            'paper {"code":-2010,"msg":"Account has insufficient balance for requested action."}'
        )
    if fault == "invalid_order":
        raise ccxt.InvalidOrder(
            'paper {"code":-2010,"msg":"Order would immediately match and take."}')
    if fault == "cancel_race":
        raise ccxt.OrderNotFound('paper {"code":-2011,"msg":"Unknown order sent."}')
    raise AssertionError(f"unhandled fault {fault!r}")  # pragma: no cover
