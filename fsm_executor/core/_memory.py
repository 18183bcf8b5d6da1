"""What the decisions count, kept in the journal: rebuilt from its rows, like the orders.

A restart must continue the same budgets, not start them over: how many placements were
sent, how many not-found answers a lookup met since the last one, how many cancels were
sent, and when the first placement left (the order's timeout runs from it). Each of these
is a journal row already (``submit``, ``resubmit``, and the notes below), written before
the request it counts, so this is a reading of the rows, never a second record. (A
recovery counts only its own cancels: core/_driver.py's ``bring_up_to_date``.)
"""

from __future__ import annotations

from typing import Final

import attrs

from ._events import Event, Note

#: Notes that count: written before a create sent again after a refusal that placed
#: nothing, after a lookup that found nothing, before each cancel request.
CREATE_REFUSED: Final = "create_refused"
NOT_FOUND: Final = "not_found"
CANCEL_SENT: Final = "cancel_sent"
#: After a cancel, the order could not be seen yet (inside its placement's grace period):
#: that request proves nothing and does not spend the cancel budget.
CANCEL_UNSEEN: Final = "cancel_unseen"
#: The triggers whose rows this module reads (replay asks before calling ``remember``).
REMEMBERED: Final = frozenset({"submit", "resubmit", "note"})


@attrs.define(slots=True)
class Memory:
    """One order's decision counts, as its journal rows say."""

    #: Placement requests sent (or about to be: each is journaled before it leaves).
    sends: int = 0
    #: Wall time of the first placement request: the order's timeout runs from it.
    first_sent_at: float | None = None
    #: Wall time of the last placement request.
    sent_at: float | None = None
    #: Not-found answers to lookups since the last placement request.
    not_found: int = 0
    #: Cancel requests sent.
    cancels: int = 0
    #: Of those, the ones after which the order could not be seen yet.
    cancels_unseen: int = 0

    def copy(self) -> Memory:
        """An independent copy: every view of an order carries one. Spelled out, as
        ``Order.snapshot`` is: a quarter of ``attrs.evolve``'s cost."""
        return Memory(self.sends, self.first_sent_at, self.sent_at, self.not_found,
                      self.cancels, self.cancels_unseen)


def remember(memory: Memory, trigger: str, event: Event, ts: float) -> None:
    """Count the row (``trigger``, ``event``) committed at ``ts``."""
    if trigger == "note":
        assert isinstance(event, Note)
        kind = event.kind
        if kind == NOT_FOUND:
            memory.not_found += 1
        elif kind == CANCEL_SENT:
            memory.cancels += 1
        elif kind == CANCEL_UNSEEN:
            memory.cancels_unseen += 1
        elif kind == CREATE_REFUSED:
            _sent(memory, ts)
    elif trigger in ("submit", "resubmit"):
        _sent(memory, ts)


def _sent(memory: Memory, ts: float) -> None:
    memory.sends += 1
    memory.sent_at = ts
    if memory.first_sent_at is None:
        memory.first_sent_at = ts
    memory.not_found = 0
