"""Each order's placement time and deadline in monotonic time, read from the journal.

The journal stamps rows with wall time, which can jump; deadlines and intervals must not.
A time the journal holds (written by this process or an earlier one) is turned into
monotonic time once, when first needed, and kept: from then on a wall-clock jump moves
nothing. Times this process sets itself (a placement leaving) are read monotonic directly.
"""

from __future__ import annotations

from ..core._clock import Clock, monotonic_of
from ..core._model import Order
from ..journal._book import OrderBook


class Timers:
    """When each order's last placement left and when it times out, in monotonic time."""

    def __init__(self, book: OrderBook, clock: Clock, timeout: float) -> None:
        self._book, self._clock, self._timeout = book, clock, timeout
        self._sent: dict[str, float] = {}
        self._deadline: dict[str, float] = {}

    def now(self) -> float:
        return monotonic_of(self._clock)

    def sending(self, client_order_id: str) -> None:
        """A placement leaves now (its row is journaled); the order's timeout runs from its
        first one, which an earlier process may have sent."""
        self._sent[client_order_id] = self.now()
        if client_order_id not in self._deadline:
            first = self._book.memory(client_order_id).first_sent_at
            start = self.now() if first is None else self._from_wall(first)
            self._deadline[client_order_id] = start + self._timeout

    def sent_at(self, order: Order) -> float:
        """When the placement last left. Sent by an earlier process: its journaled time
        (or, for a journal without one, the order's creation, the earliest it can have
        been), converted once."""
        cid = order.client_order_id
        sent = self._sent.get(cid)
        if sent is None:
            wall = self._book.memory(cid).sent_at
            sent = self._sent[cid] = self._from_wall(order.created_at if wall is None else wall)
        return sent

    def deadline(self, order: Order) -> float:
        """When the order times out: ``timeout`` after its first placement left, as the
        journal says, whichever process sent it."""
        cid = order.client_order_id
        deadline = self._deadline.get(cid)
        if deadline is None:
            first = self._book.memory(cid).first_sent_at
            deadline = self._deadline[cid] = self._from_wall(
                order.created_at if first is None else first) + self._timeout
        return deadline

    def _from_wall(self, wall: float) -> float:
        return self.now() - (self._clock.now() - wall)
