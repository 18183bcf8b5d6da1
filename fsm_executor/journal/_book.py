"""The order book: the only way to change an order, and it journals first.

``apply`` plans the transition (pure, may raise), commits its journal row, and only then
changes the order and hands back a snapshot. There is no other public way to move an order,
so a state change without its committed row cannot be written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from ..core._clock import Clock, SystemClock
from ..core._events import Event
from ..core._exceptions import (
    DuplicateOrder,
    FsmExecutorError,
    InvalidInput,
    InvalidTransition,
    UnknownOrder,
)
from ..core._lifecycle import Step, apply, plan
from ..core._memory import REMEMBERED, Memory, remember
from ..core._model import Order, OrderSpec
from ..core._states import CREATE, LEGACY, State
from ._journal import Durability, Journal, NewRow
from ._replay import rebuild_all


class OrderBook:
    """Every order of one journal, kept in step with it."""

    def __init__(self, journal: Journal, clock: Clock | None = None) -> None:
        self.journal = journal
        self.clock: Clock = clock or SystemClock()
        rebuilt = rebuild_all(journal.raw_rows(), str(journal.path))
        self._orders: dict[str, Order] = rebuilt.orders
        #: The orders not yet terminal, oldest first: every executor call asks for them
        #: (recovery's check, update()), and a scan of every order would cost more with
        #: each one ever journaled. Terminal states have no exits, so an order leaves this
        #: once, when its row takes it to one (``_applied``).
        self._unfinished: dict[str, Order] = {
            cid: o for cid, o in self._orders.items() if not o.is_terminal
        }
        #: Decision counts of unfinished orders (those of finished ones are not needed).
        self._memories: dict[str, Memory] = {
            cid: m for cid, m in rebuilt.memories.items() if not self._orders[cid].is_terminal
        }
        self._by_signal: dict[str, str] = {
            o.signal_id: o.client_order_id for o in self._orders.values() if o.signal_id
        }

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, durability: Durability = "normal",
             clock: Clock | None = None) -> OrderBook:
        """Open (or create) the journal at ``path`` and rebuild every order from it."""
        clock = clock or SystemClock()
        return cls(Journal.open(path, durability=durability, now=clock.now()), clock)

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> OrderBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def get(self, client_order_id: str) -> Order:
        return self._live(client_order_id).snapshot()

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __len__(self) -> int:
        return len(self._orders)

    def by_signal(self, signal_id: str) -> Order | None:
        order_id = self._by_signal.get(signal_id)
        return None if order_id is None else self.get(order_id)

    def orders(self) -> Iterator[Order]:
        return (o.snapshot() for o in list(self._orders.values()))

    def unfinished(self) -> list[Order]:
        """Orders not yet terminal, oldest first."""
        return [o.snapshot() for o in self._unfinished.values()]

    def unsettled(self) -> list[Order]:
        """Ended orders whose fills are partly inferred, not yet the exchange's trades."""
        return [o.snapshot() for o in self._orders.values()
                if o.is_terminal and any(f.inferred for f in o.fills.values())]

    @property
    def last_ts(self) -> float:
        """The time of the newest journal row (0 for an empty journal)."""
        return max((o.updated_at for o in self._orders.values()), default=0.0)

    def memory(self, client_order_id: str) -> Memory:
        """The order's decision counts as its journal rows say (a copy)."""
        self._live(client_order_id)
        memory = self._memories.get(client_order_id)
        return Memory() if memory is None else memory.copy()

    def state_of(self, client_order_id: str) -> State:
        return self._live(client_order_id).state

    # -- changing --------------------------------------------------------------------------

    def create(self, spec: OrderSpec, origin: str = "live") -> Order:
        """Journal a new order in state ``created``; nothing is sent anywhere."""
        if spec.client_order_id in self._orders:
            raise DuplicateOrder(spec.client_order_id)
        now = self.clock.now()
        self.journal.append(
            [(spec.client_order_id, CREATE, "", State.CREATED.value, spec.to_payload(), origin)],
            now,
        )
        order = Order.from_spec(spec, now)
        self._orders[order.client_order_id] = order
        self._unfinished[order.client_order_id] = order
        if spec.signal_id:
            self._by_signal[spec.signal_id] = order.client_order_id
        return order.snapshot()

    def apply(self, client_order_id: str, event: Event, origin: str = "live") -> Order:
        """Journal ``event``'s transition, then apply it; returns the order after it.

        A fill already applied (same trade id, same figures) changes and journals nothing.
        """
        order = self._live(client_order_id)
        step = plan(order, event)
        if step is not None:
            self._commit(order, [step], origin)
        return order.snapshot()

    def apply_all(self, client_order_id: str, events: Iterable[Event],
                  origin: str = "live") -> Order:
        """Several events in one commit (an answer that acknowledges and fills at once).

        All are planned before anything is committed: if one is refused, none is journaled.
        """
        order = self._live(client_order_id)
        steps = self._plan_all(order, events)
        if steps:
            now = self.clock.now()
            self.journal.append(self._rows(steps, origin), now)
            self._applied(order, steps, now)
        return order.snapshot()

    def apply_many(self, changes: Iterable[tuple[str, Iterable[Event]]],
                   origin: str = "live") -> dict[str, Order | FsmExecutorError]:
        """Group commit: the events of many orders, each order's planned as ``apply_all``
        plans them, committed together in one transaction (one fsync where there would be
        one per order). An order whose events are refused gets its error in the result and
        journals nothing; the others commit. When this returns, every row in it is
        committed: each order's request may leave (write-ahead holds per order).

        Returns each order's snapshot after its events, or the error that refused them.
        """
        result: dict[str, Order | FsmExecutorError] = {}
        planned: list[tuple[Order, list[Step]]] = []
        for client_order_id, events in changes:
            if client_order_id in result:
                raise InvalidInput(f"order {client_order_id!r} appears twice in one group "
                                   "commit: give its events together")
            try:
                order = self._live(client_order_id)
                steps = self._plan_all(order, events)
            except FsmExecutorError as exc:
                result[client_order_id] = exc
                continue
            result[client_order_id] = order  # replaced by its snapshot once applied
            if steps:
                planned.append((order, steps))
        if planned:
            now = self.clock.now()
            self.journal.append([row for _, steps in planned
                                 for row in self._rows(steps, origin)], now)
            for order, steps in planned:
                self._applied(order, steps, now)
        return {cid: r if isinstance(r, FsmExecutorError) else r.snapshot()
                for cid, r in result.items()}

    def _plan_all(self, order: Order, events: Iterable[Event]) -> list[Step]:
        """The steps of ``events`` in turn, each planned on a copy the earlier ones were
        applied to: raises, changing nothing, when one is refused. (``plan`` changes
        nothing, so the copy is made only once a later event needs it: most commits hold
        one event.)"""
        events = tuple(events)
        last = len(events) - 1
        shadow = order
        steps: list[Step] = []
        for i, event in enumerate(events):
            step = plan(shadow, event)
            if step is not None:
                if (step.source, step.trigger) in LEGACY:  # old journals' moves replay only
                    raise InvalidTransition(step.order_id, step.source.value, step.trigger)
                if i < last:
                    if shadow is order:
                        shadow = order.snapshot()
                    apply(shadow, step, 0.0)
                steps.append(step)
        return steps

    @staticmethod
    def _rows(steps: Sequence[Step], origin: str) -> list[NewRow]:
        return [(s.order_id, s.trigger, s.source.value, s.dest.value, s.payload(), origin)
                for s in steps]

    def _commit(self, order: Order, steps: Sequence[Step], origin: str) -> None:
        for s in steps:
            if (s.source, s.trigger) in LEGACY:  # old journals' moves replay, never written
                raise InvalidTransition(s.order_id, s.source.value, s.trigger)
        now = self.clock.now()
        self.journal.append(self._rows(steps, origin), now)
        self._applied(order, steps, now)

    def _applied(self, order: Order, steps: Sequence[Step], now: float) -> None:
        """Change ``order`` as its committed ``steps`` say, and count what they count."""
        for step in steps:
            apply(order, step, now)
            if step.trigger in REMEMBERED:
                memory = self._memories.get(step.order_id)
                if memory is None:
                    memory = self._memories[step.order_id] = Memory()
                remember(memory, step.trigger, step.event, now)
        if order.is_terminal:
            self._memories.pop(order.client_order_id, None)
            self._unfinished.pop(order.client_order_id, None)

    def _live(self, client_order_id: str) -> Order:
        try:
            return self._orders[client_order_id]
        except KeyError:
            raise UnknownOrder(client_order_id) from None
