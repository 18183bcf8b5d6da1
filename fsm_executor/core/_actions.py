"""The driver's vocabulary: what it asks its loop to do, and what the loop tells it back.

The order driver (_driver.py) is a generator that does no I/O. It yields actions; the loop
that runs it (the sync ``TradeExecutor`` or the asyncio ``AsyncTradeExecutor``) carries
each out and sends back a ``View``: the order and its decision memory as the journal now
holds them, the time, and the answer to the request if there was one.

Write-ahead is in the shape of ``Send``: the rows it carries are committed before its
request leaves, by every loop, so no driver can send first and journal later.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._events import Event
from ._exceptions import ExchangeFailure, FsmExecutorError
from ._memory import Memory
from ._model import Order, OrderSpec


class Op(enum.Enum):
    """The requests an exchange is asked."""

    CREATE = "create"
    #: Look an order up by its client order id (its placement's answer was lost).
    FIND = "find"
    #: Fetch an acknowledged order by its exchange id.
    FETCH = "fetch"
    CANCEL = "cancel"
    #: The order's trades.
    TRADES = "trades"
    #: A market's rules (precision, limits): no request once the markets are loaded.
    RULES = "rules"
    #: The price a taker would pay now (``side``).
    QUOTE = "quote"
    #: Open orders of ``symbol`` (every market if None).
    OPEN_ORDERS = "open_orders"
    #: Recently closed orders of ``symbol``.
    CLOSED_ORDERS = "closed_orders"


@attrs.frozen
class Request:
    op: Op
    #: The order it concerns (CREATE, FIND, FETCH, CANCEL, TRADES).
    client_order_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    #: A routine look at an open order: a loop polling many orders of one market may answer
    #: it from one open-orders listing of that market, and sends it only for the orders the
    #: listing does not hold.
    listable: bool = False


@attrs.frozen
class Send:
    """Commit ``rows`` (for the request's order) to the journal, then send ``request``."""

    request: Request
    rows: tuple[Event, ...] = ()

    @property
    def client_order_id(self) -> str | None:
        return self.request.client_order_id


@attrs.frozen
class Record:
    """Commit ``rows`` for the order. ``answer``: they follow an exchange answer, and the
    journal refusing them (the lifecycle cannot follow it) is told back in
    ``View.refused``, not raised."""

    client_order_id: str
    rows: tuple[Event, ...]
    answer: bool = False


@attrs.frozen
class Wait:
    """Nothing to do for ``seconds`` from ``at`` (monotonic): the time of the view it was
    decided on."""

    client_order_id: str | None
    at: float
    seconds: float

    @property
    def until(self) -> float:
        return self.at + self.seconds


@attrs.frozen
class Open:
    """Journal a new order (its ``create`` row)."""

    spec: OrderSpec

    @property
    def client_order_id(self) -> str:
        return self.spec.client_order_id


@attrs.frozen
class Look:
    """Only the view: of an order (a driver turning to another one), or of the time."""

    client_order_id: str | None


Action = Send | Record | Wait | Open | Look


@attrs.frozen
class View:
    """What the loop sends back after each action."""

    order: Order | None
    memory: Memory
    #: Wall-clock and monotonic seconds now.
    wall: float
    mono: float
    #: The request's answer (after a ``Send``), or why it failed.
    answer: Any = None
    failure: ExchangeFailure | None = None
    #: After a ``Record(answer=True)``: the journal refused its rows.
    refused: FsmExecutorError | None = None

    @property
    def current(self) -> Order:
        assert self.order is not None, "no order journaled yet"
        return self.order
