"""Each order's placement time and deadline in monotonic time, read from the journal.

The journal stamps rows with wall time, which can jump; deadlines and intervals must not.
A time the journal holds (written by this process or an earlier one) is turned into
monotonic time once, when first needed, and kept: from then on a wall-clock jump moves
nothing. A placement leaving now is stamped in monotonic time directly.
"""

from __future__ import annotations

from ._actions import View


class Timers:
    """When each order's last placement left and when it times out, in monotonic time."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._sent: dict[str, float] = {}
        self._deadline: dict[str, float] = {}

    def sending(self, view: View) -> None:
        """The order's placement leaves now (its row is journaled); the order's timeout runs
        from its first one, which an earlier process may have sent."""
        cid = view.current.client_order_id
        self._sent[cid] = view.mono
        if cid not in self._deadline:
            first = view.memory.first_sent_at
            start = view.mono if first is None else _from_wall(view, first)
            self._deadline[cid] = start + self._timeout

    def sent_at(self, view: View) -> float:
        """When the placement last left. Sent by an earlier process: its journaled time
        (or, for a journal without one, the order's creation, the earliest it can have
        been), converted once."""
        order = view.current
        sent = self._sent.get(order.client_order_id)
        if sent is None:
            wall = view.memory.sent_at
            sent = _from_wall(view, order.created_at if wall is None else wall)
            self._sent[order.client_order_id] = sent
        return sent

    def deadline(self, view: View) -> float:
        """When the order times out: ``timeout`` after its first placement left, as the
        journal says, whichever process sent it."""
        order = view.current
        deadline = self._deadline.get(order.client_order_id)
        if deadline is None:
            first = view.memory.first_sent_at
            deadline = _from_wall(view, order.created_at if first is None else first)
            deadline += self._timeout
            self._deadline[order.client_order_id] = deadline
        return deadline


def _from_wall(view: View, wall: float) -> float:
    return view.mono - (view.wall - wall)
