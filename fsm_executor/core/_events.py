"""What can happen to an order: one event class per trigger of the table.

Each event knows its trigger and converts to and from the JSON payload of its journal row.
``Fill`` (_fill.py) is the event of the ``fill`` trigger.

An event that adds no field to its base (``Submit``, ``Cancel``, ...) is a plain subclass
with no slot of its own, not an attrs class again: it shares its base's methods, whose
equality asks for the same class and whose repr names the instance's own, and the reading
commands' start-up does not pay an attrs class build (a third of a millisecond) for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from ._fill import Fill
from ._slots import new, slot_setters
from ._values import id_converter


@attrs.frozen
class _Bare:
    trigger: ClassVar[str]

    def to_payload(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> _Bare:
        # No field to convert: the frozen __init__ would only fetch object.__setattr__.
        bare: _Bare = new(cls)
        return bare


@attrs.frozen
class Reasoned:
    """An event whose only data is why it happened (in the exchange's words if any)."""

    trigger: ClassVar[str]
    reason: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"reason": self.reason}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Reasoned:
        return cls(str(payload.get("reason", "")))


class Submit(_Bare):
    """The placement request is about to leave (journaled first)."""

    __slots__ = ()
    trigger = "submit"


class Resubmit(_Bare):
    """A re-send, with the same client order id, of an order presumed absent: only on an
    exchange that refuses a reused client order id forever."""

    __slots__ = ()
    trigger = "resubmit"


@attrs.frozen
class Failing:
    """An end in failure. ``fatal``: not a normal outcome for this order but a problem a
    person must fix (keys, permissions, a bad symbol)."""

    trigger: ClassVar[str]
    reason: str = ""
    fatal: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {"reason": self.reason, "fatal": self.fatal}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Failing:
        return cls(str(payload.get("reason", "")), bool(payload.get("fatal")))


class Refuse(Failing):
    """Local checks (precision, limits, slippage) said no: nothing was sent."""

    __slots__ = ()
    trigger = "refuse"


class Withdraw(Reasoned):
    __slots__ = ()
    trigger = "withdraw"


class Reject(Failing):
    """The exchange's definitive no (InsufficientFunds, InvalidOrder, ...)."""

    __slots__ = ()
    trigger = "reject"


class LoseAnswer(Reasoned):
    __slots__ = ()
    trigger = "lose_answer"


class PresumeAbsent(Reasoned):
    """Lookups answered "no such order" past the exchange's visibility grace period: the
    order is presumed never placed, and still watched."""

    __slots__ = ()
    trigger = "presume_absent"


class DeclareAbsent(Failing):
    """Still not found once the exchange's lookup window has passed: never placed. The
    reason carries the evidence (how many not-found answers, over how long)."""

    __slots__ = ()
    trigger = "declare_absent"


class Abandon(Failing):
    """fsm-executor 0.1's end of an order not found after a lost answer: replayed from old
    journals, never written now (``declare_absent`` replaced it)."""

    __slots__ = ()
    trigger = "abandon"


class RequestCancel(Reasoned):
    __slots__ = ()
    trigger = "request_cancel"


class CancelRejected(Reasoned):
    __slots__ = ()
    trigger = "cancel_rejected"


class Cancel(Reasoned):
    __slots__ = ()
    trigger = "cancel"


class Expire(Reasoned):
    __slots__ = ()
    trigger = "expire"


@attrs.frozen
class Acknowledge:
    """The exchange has the order under ``exchange_order_id``."""

    trigger: ClassVar[str] = "acknowledge"
    exchange_order_id: str = attrs.field(converter=id_converter)

    def to_payload(self) -> dict[str, Any]:
        return {"exchange_order_id": self.exchange_order_id}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Acknowledge:
        # Built as Fill.from_payload is (one row in five of a replay).
        ack: Acknowledge = new(cls)
        _set_exchange_order_id(ack, id_converter(payload["exchange_order_id"]))
        return ack


(_set_exchange_order_id,) = slot_setters(Acknowledge, "exchange_order_id")


def _fills(value: object) -> tuple[Fill, ...]:
    return tuple(f if isinstance(f, Fill) else Fill.from_payload(f)
                 for f in value)  # type: ignore[attr-defined]


def _ids(value: object) -> tuple[str, ...]:
    return tuple(id_converter(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class Restate:
    """The exchange's trades replace fills inferred from its cumulative figures.

    ``retract`` names inferred fills (only those), ``fills`` are what replaces them: the
    listed trades, and an inferred fill for what they still do not account for. The
    filled amount never goes down, and once the order is terminal it stays the same:
    only which trades, at which prices and fees, change.
    """

    trigger: ClassVar[str] = "restate"
    retract: tuple[str, ...] = attrs.field(converter=_ids)
    fills: tuple[Fill, ...] = attrs.field(converter=_fills)

    def to_payload(self) -> dict[str, Any]:
        return {"retract": list(self.retract), "fills": [f.to_payload() for f in self.fills]}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Restate:
        return cls(payload["retract"], payload["fills"])


@attrs.frozen
class Note:
    """An observation that changes nothing but the record: an odd answer, a refused overfill."""

    trigger: ClassVar[str] = "note"
    kind: str = attrs.field(converter=id_converter)
    detail: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Note:
        return cls(payload["kind"], str(payload.get("detail", "")))


Event = (
    Submit | Resubmit | Refuse | Withdraw | Reject | LoseAnswer | PresumeAbsent | DeclareAbsent
    | Abandon | RequestCancel | CancelRejected | Cancel | Expire | Acknowledge | Note | Fill
    | Restate
)

EVENT_TYPES: dict[str, Any] = {
    cls.trigger: cls
    for cls in (Submit, Resubmit, Refuse, Withdraw, Reject, LoseAnswer, PresumeAbsent,
                DeclareAbsent, Abandon, RequestCancel, CancelRejected, Cancel, Expire, Acknowledge,
                Note, Fill, Restate)
}

#: Triggers whose reason becomes the order's ``reason``.
REASON_TRIGGERS = frozenset(
    {"refuse", "withdraw", "reject", "presume_absent", "declare_absent", "abandon",
     "request_cancel", "cancel", "expire"}
)


def trigger_of(event: Event) -> str:
    return event.trigger


def payload_of(event: Event) -> dict[str, Any]:
    return event.to_payload()


def event_from_payload(trigger: str, payload: Mapping[str, Any]) -> Event:
    """Rebuild an event from its journal row; raises KeyError for an unknown trigger."""
    result: Event = EVENT_TYPES[trigger].from_payload(payload)
    return result
