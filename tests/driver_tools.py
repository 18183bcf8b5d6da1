"""A loop for the order driver in memory: no executor, no exchange, no journal file.

``Loop`` plays the part the executors play around core/_driver.py. It keeps each order and
its decision memory as the order book does: an action's rows are planned and applied
through the real lifecycle (_lifecycle.py), all or none, and counted by
_memory.remember. It moves a fake time on ``Wait`` and answers each ``Send`` with
``answer(request, order)``: a value, or an ExchangeFailure raised. Several drivers run
together as asyncio tasks would: a request takes ``latency`` seconds, a wait as long as it
says, and whatever else is due meanwhile runs. Every action is kept in ``trace``, with the
time, the order before and after it and the driver's cool-down then, for tests to read.

Answers come from a ``Script`` (a list per request kind) or are drawn by hypothesis
(``Drawn``, from the strategies in strategies.py).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

import attrs
from hypothesis import strategies as st
from strategies import (
    exchange_failures,
    exchange_orders,
    listings,
    lookups,
    market_rules,
    trade_lists,
)

from fsm_executor import (
    DuplicateOrder,
    ExchangeFailure,
    ExecutionConfig,
    FsmExecutorError,
    InvalidTransition,
    Order,
    OrderSpec,
)
from fsm_executor.core._actions import Action, Op, Open, Record, Request, Send, View, Wait
from fsm_executor.core._answers import ExchangeOrder, Kind, Lookup
from fsm_executor.core._asking import Steps
from fsm_executor.core._driver import Driver
from fsm_executor.core._events import Acknowledge, Event, LoseAnswer, Submit
from fsm_executor.core._lifecycle import apply, plan
from fsm_executor.core._memory import REMEMBERED, Memory, remember
from fsm_executor.core._profiles import PROFILES, ExchangeProfile, Uniqueness

#: Small numbers, so that a run crosses every threshold in a few dozen steps; no jitter,
#: so that times can be asserted exactly.
CONFIG = ExecutionConfig(order_timeout_seconds=6, poll_interval_seconds=1, max_retries=2,
                         retry_delay_seconds=0.5, backoff_cap_seconds=4, jitter=0.0,
                         rate_limit_cooldown_seconds=3, not_found_confirmations=2,
                         not_found_interval_seconds=2, trade_listing_attempts=2)
#: Binance's manners (a reused id refused only while open: never re-sent) on a short scale.
BINANCE = attrs.evolve(PROFILES["binance"], visibility_grace_seconds=5.0,
                       lookup_window_seconds=20.0)
#: The same, on an exchange that refuses a reused client order id forever (re-send safe).
FOREVER = attrs.evolve(BINANCE, id="forever", uniqueness=Uniqueness.FOREVER)

Answer = Callable[[Request, Order | None], Any]


@attrs.define
class Step:
    """One action carried out."""

    cid: str | None
    action: Action
    #: Monotonic time it was carried out (a Send: when its request left).
    mono: float
    #: The driver's cool-down then.
    cool_until: float
    #: The order before and after its rows (None before it is opened).
    before: Order | None
    after: Order | None
    #: The order's decision memory after its rows.
    memory: Memory
    answer: Any = None
    failure: ExchangeFailure | None = None
    #: The trigger that made the order terminal, if one of its rows did.
    ended_by: str | None = None
    #: Which call of ``run_all`` carried it out (each starts new drivers).
    run: int = 0

    @property
    def request(self) -> Request | None:
        return self.action.request if isinstance(self.action, Send) else None

    @property
    def op(self) -> Op | None:
        request = self.request
        return None if request is None else request.op


class Loop:
    """The loop's part, in memory (see the module docstring)."""

    def __init__(self, config: ExecutionConfig = CONFIG, profile: ExchangeProfile = BINANCE,
                 answer: Answer | None = None, *, latency: float = 0.0, seed: int = 0,
                 limit: int = 3_000) -> None:
        self.driver = Driver(config, profile, random.Random(seed))
        self.config, self.profile = config, profile
        self.answer: Answer = answer or _unexpected
        self.latency = latency
        self.wall = 1_700_000_000.0
        #: Far from the wall time, as FakeClock's: mixing the two up shows.
        self.mono = 1_000.0
        self.trace: list[Step] = []
        #: Every row committed, in order: the journal.
        self.journal: list[tuple[str, Event]] = []
        self._orders: dict[str, Order] = {}
        self._memories: dict[str, Memory] = {}
        self._limit = limit
        self.runs = 0

    # -- the order book's part (also what recovery reads: _reconcile.Orders) --------------

    def open(self, spec: OrderSpec, *events: Event) -> Order:
        """Journal a new order, and ``events`` after it (a test's starting point)."""
        if spec.client_order_id in self._orders:
            raise DuplicateOrder(spec.client_order_id)  # as the order book does
        self._orders[spec.client_order_id] = Order.from_spec(spec, self.wall)
        self.commit(spec.client_order_id, events)
        return self.get(spec.client_order_id)

    def commit(self, cid: str, events: Sequence[Event]) -> str | None:
        """Plan every event, then apply them all (nothing if one is refused: raised), as
        ``OrderBook.apply_all``; the trigger that made the order terminal, if one did."""
        order = self._orders[cid]
        shadow = order.snapshot()
        steps = []
        for event in events:
            step = plan(shadow, event)
            if step is not None:
                apply(shadow, step, 0.0)
                steps.append(step)
        ended = None
        for step in steps:
            was_terminal = order.is_terminal
            apply(order, step, self.wall)
            self.journal.append((cid, step.event))
            if step.trigger in REMEMBERED:
                remember(self._memories.setdefault(cid, Memory()), step.trigger, step.event,
                         self.wall)
            if order.is_terminal and not was_terminal:
                ended = step.trigger
        if order.is_terminal:
            self._memories.pop(cid, None)  # as the book: finished orders need no counts
        return ended

    def get(self, client_order_id: str) -> Order:
        return self._orders[client_order_id].snapshot()

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def orders(self) -> Iterator[Order]:
        return (o.snapshot() for o in list(self._orders.values()))

    def unfinished(self) -> list[Order]:
        return [o.snapshot() for o in self._orders.values() if not o.is_terminal]

    def symbols(self) -> set[str]:
        return {o.symbol for o in self._orders.values()}

    def knows_exchange_order(self, client_order_id: str, exchange_order_id: str) -> bool:
        return any(o.exchange_order_id == exchange_order_id
                   and o.client_order_id in (client_order_id,
                                             f"{client_order_id}~{exchange_order_id}")
                   for o in self._orders.values())

    def unsettled(self) -> list[Order]:
        return [o.snapshot() for o in self._orders.values()
                if o.is_terminal and any(f.inferred for f in o.fills.values())]

    def memory(self, cid: str) -> Memory:
        return attrs.evolve(self._memories.get(cid, Memory()))

    # -- time ------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.wall += seconds
            self.mono += seconds

    def view(self, cid: str | None, **outcome: Any) -> View:
        order = self.get(cid) if cid is not None else None
        memory = self.memory(cid) if cid is not None else Memory()
        return View(order, memory, self.wall, self.mono, **outcome)

    # -- running drivers -------------------------------------------------------------------

    def run(self, steps: Steps[Any]) -> Any:
        """Run one driver until it returns; what it raises is raised."""
        (result,) = self.run_all([steps])
        if isinstance(result, BaseException):
            raise result
        return result

    def run_all(self, drivers: Sequence[Steps[Any]]) -> list[Any]:
        """Run drivers together until each returns: each one's return value, or the
        project error it raised. A Send takes ``latency`` (others run meanwhile), a Wait
        lasts what it says; anything else is carried out at once."""
        self.runs += 1
        results: dict[int, Any] = {}
        order = itertools.count()
        due: list[tuple[float, int, int, Callable[[], View] | None]] = [
            (self.mono, next(order), i, None) for i in range(len(drivers))]
        while due:
            at, _, i, resume = heapq.heappop(due)
            self.advance(at - self.mono)
            view = resume() if resume is not None else None
            while True:
                try:
                    action = drivers[i].send(view)  # type: ignore[arg-type]
                except StopIteration as stop:
                    results[i] = stop.value
                    break
                except FsmExecutorError as exc:
                    results[i] = exc
                    break
                assert len(self.trace) < self._limit, "the driver does not stop"
                if isinstance(action, Wait):
                    self._step(action.client_order_id, action, self._maybe(action))
                    heapq.heappush(due, (max(self.mono, action.until), next(order), i,
                                         partial(self.view, action.client_order_id)))
                    break
                if isinstance(action, Send):
                    heapq.heappush(due, (self.mono + self.latency, next(order), i,
                                         self._send(action)))
                    break
                view = self._carry_out(action)
        return [results[i] for i in range(len(drivers))]

    def _maybe(self, action: Action) -> Order | None:
        cid = action.client_order_id
        return self.get(cid) if cid is not None and cid in self else None

    def _step(self, cid: str | None, action: Action, before: Order | None,
              ended: str | None = None, **outcome: Any) -> None:
        self.trace.append(Step(cid, action, self.mono, self.driver.cool_until, before,
                               self._maybe(action), self.memory(cid) if cid else Memory(),
                               ended_by=ended, run=self.runs, **outcome))

    def _send(self, action: Send) -> Callable[[], View]:
        """Commit the Send's rows, then ask: the view to hand back once answered."""
        cid = action.client_order_id
        before = self._maybe(action)
        # A refused Send row is a bug in the driver (the executors raise it too).
        ended = self.commit(cid, action.rows) if cid is not None and action.rows else None
        if action.request.op is Op.CREATE:
            self.driver.leaving(action.request, self.view(cid))
        answer, failure = None, None
        try:
            answer = self.answer(action.request, self._maybe(action))
        except ExchangeFailure as exc:
            failure = exc
        self._step(cid, action, before, ended, answer=answer, failure=failure)
        return lambda: self.view(cid, answer=answer, failure=failure)

    def _carry_out(self, action: Action) -> View:
        cid = action.client_order_id
        before = self._maybe(action)
        if isinstance(action, Open):
            self.open(action.spec)
        elif isinstance(action, Record):
            try:
                ended = self.commit(action.client_order_id, action.rows)
            except FsmExecutorError as exc:
                # Only an answer the lifecycle cannot follow is told back (as the
                # executors do); any other refusal is a bug, raised.
                if not (action.answer and isinstance(exc, InvalidTransition)):
                    raise
                self._step(cid, action, before)
                return self.view(cid, refused=exc)
            self._step(cid, action, before, ended)
            return self.view(cid)
        self._step(cid, action, before)
        return self.view(cid)

    # -- reading the trace -----------------------------------------------------------------

    def sends(self, op: Op | None = None, cid: str | None = None) -> list[Step]:
        return [s for s in self.trace if isinstance(s.action, Send)
                and (op is None or s.op is op) and (cid is None or s.cid == cid)]

    def rows(self, cid: str) -> list[Event]:
        return [event for c, event in self.journal if c == cid]

    def notes(self, cid: str) -> list[str]:
        return [e.kind for e in self.rows(cid) if e.trigger == "note"]  # type: ignore[union-attr]

    def triggers(self, cid: str) -> list[str]:
        return [e.trigger for e in self.rows(cid)]


def _unexpected(request: Request, order: Order | None) -> Any:
    raise AssertionError(f"no answer for {request}")


class Script:
    """Answers from a list per request kind (``create=[...]``, ``find=[...]``), in turn;
    the last of each list repeats. An item is the answer, an ExchangeFailure (raised), or
    a function of the request and the order giving either."""

    def __init__(self, **answers: Sequence[Any]) -> None:
        self._queues = {Op[name.upper()]: list(items) for name, items in answers.items()}

    def __call__(self, request: Request, order: Order | None) -> Any:
        queue = self._queues.get(request.op)
        if not queue:
            raise AssertionError(f"unexpected request {request}")
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(item):
            item = item(request, order)
        if isinstance(item, ExchangeFailure):
            raise item
        return item


_TENTHS = st.integers(0, 9)


class Drawn:
    """Every answer drawn by hypothesis: ``failures`` in ten fail (any kind), the others
    are any answer the exchange may give to that request (strategies.py). ``lose_creates``:
    every create's answer is lost (a transient failure), so runs go the ways of doubt."""

    def __init__(self, draw: Callable[[Any], Any], failures: int = 3,
                 kinds: Sequence[Kind] = tuple(Kind), listed: tuple[str, ...] = ("c1",),
                 lose_creates: bool = False) -> None:
        self.draw, self.failures, self.kinds = draw, failures, tuple(kinds)
        #: The client order ids listings show orders of.
        self.listed = listed
        self.lose_creates = lose_creates

    def __call__(self, request: Request, order: Order | None) -> Any:
        draw = self.draw
        if self.lose_creates and request.op is Op.CREATE:
            raise ExchangeFailure(Kind.TRANSIENT.value, "generated: the answer was lost")
        if draw(_TENTHS) < self.failures:
            raise draw(exchange_failures(self.kinds))
        op = request.op
        if op is Op.CANCEL:
            return None
        if op is Op.RULES:
            return draw(market_rules(request.symbol or ""))
        if op is Op.QUOTE:
            return Decimal(100)
        if op in (Op.OPEN_ORDERS, Op.CLOSED_ORDERS):
            return draw(listings(self.listed, Decimal(1)))
        assert order is not None
        if op is Op.FIND:
            return draw(lookups(order.client_order_id, order.amount))
        if op is Op.TRADES:
            return draw(trade_lists(order.amount))
        return draw(exchange_orders(order.client_order_id, order.amount))


# -- building answers ----------------------------------------------------------------------

def spec(cid: str = "c1", amount: str = "1", price: str = "100") -> OrderSpec:
    return OrderSpec(cid, "BTC/USDT", "buy", "limit", amount, price)


def exchange_id(cid: str) -> str:
    return f"E-{cid}"


def seen(cid: str = "c1", status: str | None = "open", filled: str | None = "0",
         amount: str = "1", *, id: str | None = "", cost: str | None = None) -> ExchangeOrder:
    """An order as the exchange reports it (``id`` "": the usual one, ``exchange_id``)."""
    return ExchangeOrder(exchange_id(cid) if id == "" else id, cid, status, Decimal(amount),
                         None if filled is None else Decimal(filled), None,
                         None if cost is None else Decimal(cost), None, None,
                         symbol="BTC/USDT", side="buy", type="limit", price=Decimal(100))


def failure(kind: Kind, *, unprocessed: bool = False,
            retry_after: float | None = None) -> ExchangeFailure:
    exc = ExchangeFailure(kind.value, f"generated {kind.value}", unprocessed=unprocessed)
    exc.retry_after = retry_after
    return exc


NOT_FOUND = Lookup(None)


def found(cid: str = "c1", status: str = "open", filled: str = "0") -> Lookup:
    return Lookup(seen(cid, status, filled))


def acknowledged(loop: Loop, cid: str = "c1", amount: str = "1") -> Order:
    """An order placed and acknowledged now (its submit row stamped now)."""
    return loop.open(spec(cid, amount), Submit(), Acknowledge(exchange_id(cid)))


def lost(loop: Loop, cid: str = "c1", amount: str = "1") -> Order:
    """An order whose placement's answer was lost now."""
    return loop.open(spec(cid, amount), Submit(), LoseAnswer("generated: answer lost"))


class Precision:
    """The exchange's rounding, as ``Driver.place`` asks for it."""

    def amount_to_precision(self, symbol: str, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal("0.0001"))

    def price_to_precision(self, symbol: str, price: Decimal) -> Decimal:
        return price.quantize(Decimal("0.01"))
