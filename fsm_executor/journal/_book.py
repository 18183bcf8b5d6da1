"""The order book: the only way to change an order, and it journals first.

``apply`` plans the transition (pure, may raise), commits its journal row, and only then
changes the order and hands back a snapshot. There is no other public way to move an order,
so a state change without its committed row cannot be written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from ..core._clock import Clock, SystemClock
from ..core._events import Event
from ..core._exceptions import (
    DuplicateOrder,
    FsmExecutorError,
    InvalidInput,
    InvalidTransition,
    OrderArchived,
    UnknownOrder,
)
from ..core._lifecycle import Step, apply, plan
from ..core._memory import REMEMBERED, Memory, remember
from ..core._model import Order, OrderSpec
from ..core._states import CREATE, LEGACY, TERMINAL, State
from ._index import IndexRow, StoredRow, is_open, row_of, stored, stored_of
from ._journal import Durability, Journal
from ._replay import rebuild_all

#: Finished orders' index rows deferred before they are written in a commit of their own.
_DEFERRED: Final = 64


class OrderBook:
    """The open orders of one journal, kept in step with it, and every other one on demand.

    Only the orders still open (not terminal, or ended with fills still inferred) are held
    in memory and rebuilt when the journal opens; a finished order is read from the file
    when asked for (``get``, ``by_signal``), through the orders index (_index.py), which
    each commit keeps up to date in its own transaction. So opening a journal costs what
    its open orders cost, not what its history does.
    """

    def __init__(self, journal: Journal, clock: Clock | None = None) -> None:
        self.journal = journal
        self.clock: Clock = clock or SystemClock()
        self._index = journal.index
        name = str(journal.path)
        #: Why the orders index was rebuilt from the rows when the journal opened (None: it
        #: agreed with them, as far as opening checks).
        self.index_rebuilt: str | None = self._index.disagreement()
        #: The orders the index held open though their rows had finished them: an index row
        #: deferred at a finish (``_DEFERRED``) lost with the process, brought up to date.
        self.index_caught_up = 0
        rebuilt = None
        if self.index_rebuilt is None:
            rebuilt = rebuild_all(self._index.open_rows(), name, remember=True, spans=True)
            assert rebuilt.spans is not None
            finished = [stored_of(o, *rebuilt.spans[cid])
                        for cid, o in rebuilt.orders.items() if not is_open(o)]
            if finished:
                journal.settle_index(finished)
                self.index_caught_up = len(finished)
        if self.index_rebuilt is not None:
            # A journal of schema 1, or one written without the index: one full replay.
            rebuilt = rebuild_all(journal.raw_rows(), name, remember=True, spans=True)
            spans = rebuilt.spans
            assert spans is not None
            self._index.rebuild(stored_of(o, *spans[cid])
                                for cid, o in rebuilt.orders.items())
        assert rebuilt is not None
        #: The open orders, oldest first.
        self._orders: dict[str, Order] = {
            cid: o for cid, o in rebuilt.orders.items() if is_open(o)
        }
        #: The index rows of orders finished since the last commit that wrote the index,
        #: with their seqs: written with the next one, or at close.
        self._deferred: dict[str, StoredRow] = {}
        #: Decision counts of unfinished orders (those of finished ones are not needed).
        self._memories: dict[str, Memory] = {
            cid: m for cid, m in rebuilt.memories.items()
            if cid in self._orders and not self._orders[cid].is_terminal
        }

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, durability: Durability = "normal",
             clock: Clock | None = None) -> OrderBook:
        """Open (or create) the journal at ``path`` and rebuild every order from it."""
        clock = clock or SystemClock()
        return cls(Journal.open(path, durability=durability, now=clock.now()), clock)

    def close(self) -> None:
        if self._deferred:
            self.journal.settle_index(self._take_deferred())
        self.journal.close()

    def __enter__(self) -> OrderBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def get(self, client_order_id: str) -> Order:
        return self._live(client_order_id).snapshot()

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders or client_order_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def by_signal(self, signal_id: str) -> Order | None:
        order_id = self._index.by_signal(signal_id)
        return None if order_id is None else self.get(order_id)

    def orders(self) -> Iterator[Order]:
        """Every order of the journal, oldest first, rebuilt from the file (all of them at
        once: for tests and tools, not a bot's loop), each a snapshot as ``get`` gives: the
        rows rebuild what the book holds."""
        rebuilt = rebuild_all(self.journal.raw_rows(), str(self.journal.path))
        return (o.snapshot() for o in rebuilt.orders.values())

    def unfinished(self) -> list[Order]:
        """Orders not yet terminal, oldest first."""
        return [o.snapshot() for o in self._orders.values() if not o.is_terminal]

    def unsettled(self) -> list[Order]:
        """Ended orders whose fills are partly inferred, not yet the exchange's trades."""
        return [o.snapshot() for o in self._orders.values() if o.is_terminal]

    def symbols(self) -> set[str]:
        """The markets of every order the journal holds."""
        return self._index.symbols()

    def knows_exchange_order(self, client_order_id: str, exchange_order_id: str) -> bool:
        """Whether the journal holds the exchange's order ``exchange_order_id`` placed under
        ``client_order_id``: as that order, or adopted as ``CID~EXCHANGE_ID``."""
        if f"{client_order_id}~{exchange_order_id}" in self:
            return True
        if client_order_id not in self:
            return False
        return self._live(client_order_id).exchange_order_id == exchange_order_id

    @property
    def last_ts(self) -> float:
        """The time of the newest journal row (0 for an empty journal)."""
        return self.journal.last_ts

    def memory(self, client_order_id: str) -> Memory:
        """The order's decision counts as its journal rows say (a copy); none for a
        finished order, which is not read for it."""
        memory = self._memories.get(client_order_id)
        if memory is not None:
            return memory.copy()
        if client_order_id not in self:
            raise UnknownOrder(client_order_id)
        return Memory()

    def state_of(self, client_order_id: str) -> State:
        return self._live(client_order_id).state

    # -- changing --------------------------------------------------------------------------

    def create(self, spec: OrderSpec, origin: str = "live") -> Order:
        """Journal a new order in state ``created``; nothing is sent anywhere."""
        if spec.client_order_id in self:
            raise DuplicateOrder(spec.client_order_id)
        now = self.clock.now()
        order = Order.from_spec(spec, now)
        self.journal.append(
            [(spec.client_order_id, CREATE, "", State.CREATED.value, spec.to_payload(), origin)],
            now, [row_of(order)], self._take_deferred(),
        )
        self._orders[order.client_order_id] = order
        return order.snapshot()

    def apply(self, client_order_id: str, event: Event, origin: str = "live") -> Order:
        """Journal ``event``'s transition, then apply it; returns the order after it.

        A fill already applied (same trade id, same figures) changes and journals nothing.
        """
        order = self._live(client_order_id)
        step = plan(order, event)
        if step is not None:
            _written(step)
            self._commit([(order, [step])], origin)
        return order.snapshot()

    def apply_all(self, client_order_id: str, events: Iterable[Event],
                  origin: str = "live") -> Order:
        """Several events in one commit (an answer that acknowledges and fills at once).

        All are planned before anything is committed: if one is refused, none is journaled.
        """
        order = self._live(client_order_id)
        steps = self._plan_all(order, events)
        if steps:
            self._commit([(order, steps)], origin)
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
            self._commit(planned, origin)
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
                _written(step)
                if i < last:
                    if shadow is order:
                        shadow = order.snapshot()
                    apply(shadow, step, 0.0)
                steps.append(step)
        return steps

    def _commit(self, planned: Sequence[tuple[Order, Sequence[Step]]], origin: str) -> None:
        """Journal the planned steps, with the index rows they change, in one transaction;
        then apply them."""
        now = self.clock.now()
        rows = [(s.order_id, s.trigger, s.source.value, s.dest.value, s.payload(), origin)
                for _, steps in planned for s in steps]
        for order, steps in planned:
            row = _index_change(order, steps)
            if row is not None:
                # Finished: its row is deferred, to be written with the next ones (a page or
                # two per commit saved); lost with the process, opening catches it up.
                last = self.journal.seq + max(i for i, r in enumerate(rows, 1)
                                              if r[0] == row[0])
                self._deferred[row[0]] = stored(row, 0, last)
        settled = self._take_deferred() if len(self._deferred) >= _DEFERRED else []
        self.journal.append(rows, now, (), settled)
        for order, steps in planned:
            self._applied(order, steps, now)

    def _take_deferred(self) -> list[StoredRow]:
        rows = list(self._deferred.values())
        self._deferred.clear()
        return rows

    def _applied(self, order: Order, steps: Sequence[Step], now: float) -> None:
        """Change ``order`` as its committed ``steps`` say, and count what they count."""
        for step in steps:
            apply(order, step, now)
            if step.trigger in REMEMBERED:
                memory = self._memories.get(step.order_id)
                if memory is None:
                    memory = self._memories[step.order_id] = Memory()
                remember(memory, step.trigger, step.event, now)
        cid = order.client_order_id
        if order.is_terminal:
            self._memories.pop(cid, None)
            if not is_open(order):
                self._orders.pop(cid, None)  # finished: read from the file from now on

    def _live(self, client_order_id: str) -> Order:
        """The open order, or a finished one rebuilt from its rows (not kept)."""
        order = self._orders.get(client_order_id)
        if order is not None:
            return order
        rows = self._index.order_rows(client_order_id)
        if not rows:
            if client_order_id in self._index:
                raise OrderArchived(client_order_id)
            raise UnknownOrder(client_order_id)
        return rebuild_all(rows, str(self.journal.path)).orders[client_order_id]


def _written(step: Step) -> None:
    """Old journals' moves are replayed, never written."""
    if (step.source, step.trigger) in LEGACY:
        raise InvalidTransition(step.order_id, step.source.value, step.trigger)


def _index_change(order: Order, steps: Sequence[Step]) -> IndexRow | None:
    """The order's index row after ``steps`` when they finish it, or are rows of a finished
    order (its last row moves on). Only an order ending or ended is looked at: the others'
    rows keep the index as it is, and so do an ended order's rows that leave it open (its
    fills still inferred): no step reopens a finished order, since only inferred fills keep
    it open and the one move that adds fills to an ended order (restate) replaces one."""
    if not (order.is_terminal or any(s.dest in TERMINAL for s in steps)):
        return None
    after = order.snapshot()
    for step in steps:
        apply(after, step, 0.0)
    row = row_of(after)
    return None if row[3] else row
