"""What a reading of the journal keeps of the orders it has seen: their count by state and,
for audit, each finished order's invariants and its share of the orders index's digest.

Constant memory: the orders themselves are let go as they finish (_replay.streaming). A
tally is summed with another (``merge``): a journal read in two parts at once
(_split.py) counts what one reading would.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import attrs

from ..core._ledger import totals
from ..core._model import Order
from ..core._states import OPEN, State
from ._index import DIGEST_MODULUS, OrdersIndex, StoredRow, fingerprint, stored_of

_ZERO: Final = Decimal(0)

#: A span of seqs: an order's create row's and its last row's (_replay.Span).
Span = list[int]


@attrs.frozen
class Violation:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.message}" if self.seq is not None else self.message


def invariants(order: Order) -> list[str]:
    """The ledger's and the lifecycle's invariants, recomputed from the order's fills."""
    problems = []
    total, cost, fees = totals(order.fills.values())
    if total != order.filled:
        problems.append(f"filled {order.filled} is not the sum of its fills {total}")
    if cost != order.cost:
        problems.append(f"cost {order.cost} is not the sum of its fills' amount x price "
                        f"{cost}")
    if fees != dict(order.fees):
        problems.append(f"fees {dict(order.fees)} are not the sum of its fills' fees per "
                        f"currency {fees}")
    if not _ZERO <= order.filled <= order.amount:
        problems.append(f"filled {order.filled} is outside 0..{order.amount}")
    state = order.state
    if state is State.FILLED and order.filled != order.amount:
        problems.append(f"is filled with only {order.filled} of {order.amount}")
    if state in OPEN and order.exchange_order_id is None:
        problems.append(f"is {state.value} without an exchange order id")
    return [f"order {order.client_order_id!r} {p}" for p in problems] if problems else problems


class Tally:
    """Counts by state; with ``check`` (audit), each order's invariants and the digest of
    the index rows the orders make.

    ``since_create``: the orders finished since the last create row, and their index row.
    The book writes a finished order's index row with its next create (or at close): after
    a crash, only these may still be held open by the index, which is no disagreement (the
    next writer catches them up)."""

    def __init__(self, check: bool) -> None:
        self.check = check
        self.states: dict[State, int] = {}
        self.count = 0
        self.digest = 0
        self.problems: list[str] = []
        self.since_create: list[tuple[str, StoredRow]] = []

    def finished(self, order: Order, span: Span,
                 before: tuple[Order, Span] | None = None) -> None:
        states = self.states
        if before is None:
            self.count += 1
        else:  # brought back by a later row: its earlier share is taken out
            earlier, earlier_span = before
            states[earlier.state] -= 1
            if self.check:
                self.digest -= fingerprint(stored_of(earlier, *earlier_span))
        states[order.state] = states.get(order.state, 0) + 1
        if not self.check:
            return
        row = stored_of(order, span[0], span[1])
        self.digest = (self.digest + fingerprint(row)) % DIGEST_MODULUS
        problems = invariants(order)
        if problems:
            self.problems.extend(problems)
        if not row[3]:
            self.since_create.append((order.client_order_id, row))

    def merge(self, other: Tally, last_create: int) -> None:
        """Add the tally of rows read apart from this one's (_split.py); ``last_create``:
        the seq of the last create row of all, which ends ``since_create``."""
        for state, n in other.states.items():
            self.states[state] = self.states.get(state, 0) + n
        self.count += other.count
        self.digest = (self.digest + other.digest) % DIGEST_MODULUS
        self.problems.extend(other.problems)
        self.since_create = [e for e in (*self.since_create, *other.since_create)
                             if e[1][5] is not None and e[1][5] > last_create]

    def lag_allowed(self, index: OrdersIndex) -> None:
        """Count the orders finished since the last create as the index holds them when it
        holds them still open, or ended at an earlier row (their row deferred: not written
        yet, or lost with the process)."""
        for order_id, row in self.since_create:
            held = index.row(order_id)
            if held is None or held == row or held[:3] != row[:3] or held[4] != row[4]:
                continue
            still_open = held[3] == 1 and held[5] is None
            last = row[5]
            last_moved_on = (held[3] == 0 and held[5] is not None and last is not None
                             and held[5] < last)
            if still_open or last_moved_on:
                self.digest = (self.digest - fingerprint(row) + fingerprint(held)
                               ) % DIGEST_MODULUS

    def by_state(self) -> dict[str, int]:
        return {s.value: n for s in State if (n := self.states.get(s))}
