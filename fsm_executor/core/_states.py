"""Everything that affects the order state machine lives here.

The states and the transition table are data, declared once. The ``transitions`` machine
(_machine.py), the documentation and ``diagrams/`` are all generated from ``TRANSITIONS``.

Why the states beyond the backbone ``created → submitted → partially_filled → filled /
cancelled / failed``:

- ``pending_submit``: the placement is journaled and may have left. A crash here means
  nobody knows whether the exchange has the order, so recovery must look it up.
- ``submit_unknown``: the placement's answer was lost (a timeout, a dropped connection).
  Ambiguity is a state, not a failure: only a lookup by client order id resolves it.
- ``presumed_absent``: lookups answered "no such order" for longer than the exchange's
  visibility grace period (Binance, for one, cannot see an order it has just accepted).
  "Not found" is evidence, not a verdict: the order is still watched, is acknowledged if
  it appears late, and fails (``declare_absent``) only once the exchange's lookup window
  has passed. A re-send (``resubmit``, same client order id) leaves from here, and only on
  exchanges that refuse a reused client order id forever (_profiles.py).
- ``pending_cancel``: a cancel is requested but not confirmed. Fills still arrive here
  (the cancel raced them); the exchange may also refuse the cancel (``cancel_rejected``).
- ``expired``: the exchange ended the order by itself (time in force, session end). It
  is terminal like ``cancelled`` and may carry fills.

Destinations that depend on the order's figures are expressed with conditions evaluated
on the order *after* the event's data is applied: a fill leads to ``filled`` only when it
completes the amount. Terminal states have no exits; ``note`` is an internal transition
(no state change) that records what was seen, in any state, and ``restate`` one that
corrects a terminal order's ledger (its trades, listed late, replace inferred fills).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import attrs


class State(StrEnum):
    CREATED = "created"
    PENDING_SUBMIT = "pending_submit"
    SUBMIT_UNKNOWN = "submit_unknown"
    PRESUMED_ABSENT = "presumed_absent"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"


INITIAL: Final = State.CREATED
TERMINAL: Final = frozenset({State.FILLED, State.CANCELLED, State.FAILED, State.EXPIRED})
#: States in which a request may be on the wire: the exchange may know more than we do.
IN_FLIGHT: Final = frozenset({State.PENDING_SUBMIT, State.SUBMIT_UNKNOWN, State.PRESUMED_ABSENT,
                              State.PENDING_CANCEL})
#: States in which the exchange may hold an order we have no exchange id for: only a
#: lookup by client order id can tell.
IN_DOUBT: Final = frozenset({State.PENDING_SUBMIT, State.SUBMIT_UNKNOWN, State.PRESUMED_ABSENT})
#: States in which the order rests on the exchange's book as far as we know.
OPEN: Final = frozenset({State.SUBMITTED, State.PARTIALLY_FILLED, State.PENDING_CANCEL})

#: The pseudo-trigger of an order's first journal row (no source state).
CREATE: Final = "create"


@attrs.frozen
class Transition:
    """``trigger`` moves an order from each of ``sources`` to ``dest``.

    ``conditions`` and ``unless`` name predicates of _machine.Predicates, evaluated on the
    order with the event applied. The first transition listed whose conditions hold wins.
    ``dest`` None means an internal transition: the state does not change.
    """

    trigger: str
    sources: tuple[State, ...]
    dest: State | None
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    #: Only journals written before this version hold it: replay accepts it, nothing
    #: writes it any more (the order book refuses it).
    legacy: bool = False


def _t(trigger: str, sources: str, dest: State | None, *, when: str = "",
       unless: str = "", legacy: bool = False) -> Transition:
    return Transition(
        trigger,
        tuple(State(s) for s in sources.split()),
        dest,
        tuple(when.split()),
        tuple(unless.split()),
        legacy,
    )


S = State
_NON_TERMINAL = " ".join(s for s in State if s not in TERMINAL)

TRANSITIONS: Final[tuple[Transition, ...]] = (
    # The request is journaled before it leaves (write-ahead).
    _t("submit", "created", S.PENDING_SUBMIT),
    # Local checks (precision, limits, slippage) said no: nothing was sent.
    _t("refuse", "created", S.FAILED),
    # Cancelled before anything was sent.
    _t("withdraw", "created", S.CANCELLED),
    # The exchange has it, with its own order id (late, from presumed_absent, too).
    _t("acknowledge", "pending_submit submit_unknown presumed_absent", S.SUBMITTED),
    # The exchange's definitive no (InsufficientFunds, InvalidOrder, status rejected).
    _t("reject", "pending_submit submit_unknown presumed_absent", S.FAILED),
    # The answer was lost in flight: outcome unknown.
    _t("lose_answer", "pending_submit", S.SUBMIT_UNKNOWN),
    # Not found through the exchange's visibility grace period: presumed, still watched.
    _t("presume_absent", "submit_unknown", S.PRESUMED_ABSENT),
    # Send again, same client order id: only where the exchange refuses a reused id forever.
    _t("resubmit", "presumed_absent", S.PENDING_SUBMIT),
    # Still not found once the exchange's lookup window has passed: never placed.
    _t("declare_absent", "presumed_absent", S.FAILED),
    # A trade, keyed by trade id; the destination depends on whether it completes the order.
    _t("fill", "submitted partially_filled pending_cancel", S.FILLED, when="is_complete"),
    _t("fill", "submitted partially_filled", S.PARTIALLY_FILLED),
    _t("fill", "pending_cancel", S.PENDING_CANCEL),
    # The exchange's trades replace fills inferred from its cumulative figures: filled
    # may grow while the order is open; once it is terminal, only the ledger changes.
    _t("restate", "partially_filled pending_cancel", S.FILLED, when="is_complete"),
    _t("restate", "partially_filled", S.PARTIALLY_FILLED),
    _t("restate", "pending_cancel", S.PENDING_CANCEL),
    _t("restate", "filled cancelled expired", None),
    _t("request_cancel", "submitted partially_filled", S.PENDING_CANCEL),
    # Asked while the placement is in doubt: recorded; carried out once the order shows up.
    _t("request_cancel", "submit_unknown presumed_absent", None),
    # The exchange refused the cancel and the order is still open (seen by a fetch).
    _t("cancel_rejected", "pending_cancel", S.PARTIALLY_FILLED, when="has_fills"),
    _t("cancel_rejected", "pending_cancel", S.SUBMITTED),
    # Cancelled: by our request, or by the exchange or a person on their own.
    _t("cancel", "submitted partially_filled pending_cancel", S.CANCELLED),
    _t("expire", "submitted partially_filled pending_cancel", S.EXPIRED),
    # Records an observation (an odd answer, an overfill refused) without changing state.
    _t("note", " ".join(State), None),
    # fsm-executor 0.1 re-sent after not-found answers, and failed an order by them alone:
    # its journals still replay.
    _t("resubmit", "submit_unknown", S.PENDING_SUBMIT, legacy=True),
    _t("abandon", "submit_unknown", S.FAILED, legacy=True),
)

#: (state, trigger) pairs only old journals hold (see Transition.legacy).
LEGACY: Final = frozenset((s, t.trigger) for t in TRANSITIONS if t.legacy for s in t.sources)

TRIGGERS: Final = tuple(dict.fromkeys(t.trigger for t in TRANSITIONS))
