"""Events: one class per trigger, each converting to and from its journal payload."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import EVENTS, events

from fsm_executor import Acknowledge, InvalidInput, Note, Reject, Submit
from fsm_executor.core._events import EVENT_TYPES, event_from_payload
from fsm_executor.core._states import TRIGGERS
from fsm_executor.journal._journal import dumps


def test_there_is_one_event_class_per_trigger_of_the_table() -> None:
    assert set(EVENT_TYPES) == set(TRIGGERS)
    for trigger, cls in EVENT_TYPES.items():
        assert cls.trigger == trigger


@given(events)
def test_every_event_round_trips_through_its_journal_payload(event: object) -> None:
    payload = json.loads(dumps(event.to_payload()))  # type: ignore[attr-defined]
    assert event_from_payload(event.trigger, payload) == event  # type: ignore[attr-defined]


@given(st.data())
def test_event_strategies_build_the_class_of_their_trigger(data: st.DataObject) -> None:
    trigger = data.draw(st.sampled_from(sorted(EVENTS)))
    assert isinstance(data.draw(EVENTS[trigger]), EVENT_TYPES[trigger])


def test_an_unknown_trigger_has_no_event() -> None:
    with pytest.raises(KeyError):
        event_from_payload("teleport", {})


def test_missing_optional_payload_fields_take_their_defaults() -> None:
    assert event_from_payload("reject", {}) == Reject()
    assert event_from_payload("cancel", {}).reason == ""  # type: ignore[union-attr]
    assert event_from_payload("submit", {"extra": 1}) == Submit()
    assert event_from_payload("note", {"kind": "k"}) == Note("k", "")


@pytest.mark.parametrize("value", ["", "  ", None])
def test_ids_of_events_must_be_non_empty(value: object) -> None:
    with pytest.raises(InvalidInput):
        Acknowledge(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Note(value)  # type: ignore[arg-type]


def test_events_are_immutable_values() -> None:
    ack = Acknowledge("ex-1")
    assert ack == Acknowledge("ex-1")
    assert hash(ack) == hash(Acknowledge("ex-1"))
    with pytest.raises(AttributeError):
        ack.exchange_order_id = "ex-2"  # type: ignore[misc]


def test_events_of_two_triggers_differ_even_with_the_same_fields() -> None:
    # Most event classes only name a trigger: they share their base's methods, which must
    # still tell the classes apart, name the right one, and keep every instance frozen.
    same = [EVENT_TYPES[t].from_payload({"reason": "r"}) for t in sorted(EVENT_TYPES)
            if t not in ("acknowledge", "restate", "note", "fill")]
    assert len(same) >= 13
    for i, event in enumerate(same):
        assert [other == event for other in same] == [j == i for j in range(len(same))]
        assert repr(event).startswith(f"{type(event).__name__}(")
        assert event == EVENT_TYPES[event.trigger].from_payload({"reason": "r"})
        assert not hasattr(event, "__dict__")  # slotted: replay builds one per row
        with pytest.raises(AttributeError):
            event.reason = "changed"  # type: ignore[union-attr]
