"""The transition table itself: data that the machine, the docs and the diagrams share."""

from __future__ import annotations

from fsm_executor import IN_FLIGHT, TERMINAL, TRANSITIONS, State
from fsm_executor.core._states import IN_DOUBT, INITIAL, OPEN, TRIGGERS


def test_terminal_states_are_left_by_nothing_only_note_and_restate_touch_them() -> None:
    for t in TRANSITIONS:
        if set(t.sources) & TERMINAL:
            assert t.trigger in ("note", "restate") and t.dest is None, t


def test_internal_transitions_are_note_a_cancel_asked_in_doubt_and_a_terminal_restate() -> None:
    internal = {t.trigger: set(t.sources) for t in TRANSITIONS if t.dest is None}
    assert internal == {"note": set(State),
                        "request_cancel": {State.SUBMIT_UNKNOWN, State.PRESUMED_ABSENT},
                        "restate": {State.FILLED, State.CANCELLED, State.EXPIRED}}


def test_state_groups_are_consistent() -> None:
    assert INITIAL is State.CREATED
    assert not TERMINAL & IN_FLIGHT
    assert not TERMINAL & OPEN
    assert {State.FILLED, State.CANCELLED, State.FAILED, State.EXPIRED} == TERMINAL


def test_conditional_transitions_have_an_unconditional_fallback() -> None:
    # transitions would otherwise quietly stay put when no condition holds.
    for t in TRANSITIONS:
        if t.conditions or t.unless:
            for source in t.sources:
                assert any(u.trigger == t.trigger and source in u.sources
                           and not u.conditions and not u.unless for u in TRANSITIONS), (t, source)


def test_triggers_are_listed_once_in_table_order() -> None:
    assert len(TRIGGERS) == len(set(TRIGGERS))
    assert TRIGGERS[0] == "submit"
    assert {t.trigger for t in TRANSITIONS} == set(TRIGGERS)


def after(state: State) -> set[State]:
    """Every state an order in ``state`` can reach through the table (legacy moves too)."""
    reached, todo = {state}, [state]
    while todo:
        here = todo.pop()
        for t in TRANSITIONS:
            if here in t.sources and t.dest is not None and t.dest not in reached:
                reached.add(t.dest)
                todo.append(t.dest)
    return reached


def test_an_acknowledged_order_never_returns_to_a_state_acknowledge_leaves_from() -> None:
    # So no order is ever given a second exchange id: _lifecycle.plan relies on it (the
    # guard it kept for that case was unreachable). A table change that breaks this must
    # bring such a guard back.
    acknowledged_from = {s for t in TRANSITIONS if t.trigger == "acknowledge" for s in t.sources}
    assert acknowledged_from == IN_DOUBT
    [to] = {t.dest for t in TRANSITIONS if t.trigger == "acknowledge"}
    assert to is not None and not after(to) & acknowledged_from
