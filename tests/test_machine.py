"""_machine.resolve against the real ``transitions`` machine built from the same table."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from transitions.core import MachineError

from fsm_executor import InvalidTransition, State, UnknownTrigger
from fsm_executor.core import _machine
from fsm_executor.core._machine import (
    MACHINE,
    PREDICATES,
    allowed_triggers,
    build_machine,
    machine_arguments,
    resolve,
)
from fsm_executor.core._states import TERMINAL, TRANSITIONS, TRIGGERS

#: (is_complete, has_fills) -> (filled after the event, amount) making the predicates say so.
#: (True, False) needs amount 0: no real order has it, but resolve is pure and must still agree.
FIGURES = {
    (True, True): (Decimal("1"), Decimal("1")),
    (False, True): (Decimal("0.5"), Decimal("1")),
    (False, False): (Decimal("0"), Decimal("1")),
    (True, False): (Decimal("0"), Decimal("0")),
}


class Model:
    """A ``transitions`` model whose condition methods return fixed answers."""

    def __init__(self, is_complete: bool, has_fills: bool) -> None:
        self._is_complete = is_complete
        self._has_fills = has_fills

    def is_complete(self) -> bool:
        return self._is_complete

    def has_fills(self) -> bool:
        return self._has_fills


def test_figures_realise_the_condition_outcomes_they_stand_for() -> None:
    for (complete, has_fills), (filled, amount) in FIGURES.items():
        assert PREDICATES["is_complete"](filled, amount) is complete
        assert PREDICATES["has_fills"](filled, amount) is has_fills


def test_predicates_cover_every_condition_named_in_the_table() -> None:
    named = {c for t in TRANSITIONS for c in (*t.conditions, *t.unless)}
    assert named <= set(PREDICATES)
    assert set(PREDICATES) <= set(dir(Model))


def test_the_lookup_resolve_walks_is_the_machines_own_events() -> None:
    # Compiled from the table (so that reading a journal never imports transitions), it
    # must hold what the machine makes of that table: the same candidates, in the same
    # order, with the same conditions and expected outcomes.
    held = {
        (State(source), trigger): tuple(
            (None if t.dest is None else State(t.dest),
             tuple((PREDICATES[str(c.func)], bool(c.target)) for c in t.conditions))
            for t in candidates)
        for trigger, event in MACHINE.events.items()
        for source, candidates in event.transitions.items()
    }
    assert held == _machine._LOOKUP


@pytest.mark.parametrize(("complete", "has_fills"), sorted(FIGURES))
@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("state", list(State))
def test_resolve_agrees_with_the_transitions_machine(
    state: State, trigger: str, complete: bool, has_fills: bool
) -> None:
    model = Model(complete, has_fills)
    machine = build_machine(model)
    machine.set_state(state.value, model)
    filled, amount = FIGURES[(complete, has_fills)]
    try:
        fired = model.trigger(trigger)
    except MachineError:
        with pytest.raises(InvalidTransition) as info:
            resolve("o1", state, trigger, filled, amount)
        assert type(info.value) is InvalidTransition
        assert (info.value.order_id, info.value.state, info.value.trigger) == (
            "o1", state.value, trigger)
        return
    if not fired:  # every candidate's conditions failed: transitions stays put quietly
        assert model.state == state.value
        with pytest.raises(InvalidTransition):
            resolve("o1", state, trigger, filled, amount)
        return
    assert resolve("o1", state, trigger, filled, amount).value == model.state


def test_every_trigger_is_allowed_from_some_state_and_refused_from_another() -> None:
    # Guards the exhaustive test above against a table where everything passes or fails.
    for trigger in TRIGGERS:
        allowed = {s for s in State if trigger in allowed_triggers(s)}
        assert allowed, trigger
        if trigger != "note":
            assert allowed != set(State), trigger


@pytest.mark.parametrize("state", list(State))
def test_unknown_trigger_raises_unknown_trigger_with_order_state_and_trigger(
    state: State,
) -> None:
    with pytest.raises(UnknownTrigger) as info:
        resolve("order-7", state, "teleport", Decimal(0), Decimal(1))
    assert isinstance(info.value, InvalidTransition)
    assert (info.value.order_id, info.value.state, info.value.trigger) == (
        "order-7", state.value, "teleport")
    assert "teleport" in str(info.value)


def test_the_create_pseudo_trigger_is_not_a_machine_trigger() -> None:
    with pytest.raises(UnknownTrigger):
        resolve("o1", State.CREATED, "create", Decimal(0), Decimal(1))


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_allow_only_internal_note_and_restate(state: State) -> None:
    # A failed order never filled: there is no ledger to restate.
    internal = {"note"} if state is State.FAILED else {"note", "restate"}
    assert allowed_triggers(state) == internal
    for trigger in TRIGGERS:
        for filled, amount in FIGURES.values():
            if trigger in internal:
                assert resolve("o1", state, trigger, filled, amount) is state
            else:
                with pytest.raises(InvalidTransition):
                    resolve("o1", state, trigger, filled, amount)


@pytest.mark.parametrize("state", list(State))
def test_note_is_an_internal_transition_in_every_state(state: State) -> None:
    assert resolve("o1", state, "note", Decimal(0), Decimal(1)) is state


def test_non_terminal_states_have_an_exit() -> None:
    for state in set(State) - TERMINAL:
        assert allowed_triggers(state) - {"note"}, state


def test_machine_has_no_auto_transitions_and_never_ignores_invalid_triggers() -> None:
    arguments = machine_arguments()
    assert arguments["auto_transitions"] is False
    assert arguments["ignore_invalid_triggers"] is False
    model = Model(False, False)
    machine = build_machine(model)
    for m in (machine, MACHINE):
        assert m.auto_transitions is False
        assert not m.ignore_invalid_triggers
        assert set(m.events) == set(TRIGGERS)
    assert not [name for name in dir(model) if name.startswith("to_")]
    with pytest.raises(AttributeError):
        model.trigger("to_filled")


def test_machine_states_and_initial_state_come_from_the_table() -> None:
    model = Model(False, False)
    machine = build_machine(model)
    assert set(machine.states) == {s.value for s in State}
    assert model.state == State.CREATED.value


def test_first_transition_whose_conditions_hold_wins() -> None:
    # fill from submitted: "filled when is_complete" is listed before the unconditional one.
    assert resolve("o1", State.SUBMITTED, "fill", Decimal(1), Decimal(1)) is State.FILLED
    assert resolve("o1", State.SUBMITTED, "fill", Decimal("0.4"), Decimal(1)) is (
        State.PARTIALLY_FILLED)
    assert resolve("o1", State.PENDING_CANCEL, "fill", Decimal("0.4"), Decimal(1)) is (
        State.PENDING_CANCEL)
    assert resolve("o1", State.PENDING_CANCEL, "cancel_rejected", Decimal("0.4"),
                   Decimal(1)) is State.PARTIALLY_FILLED
    assert resolve("o1", State.PENDING_CANCEL, "cancel_rejected", Decimal(0),
                   Decimal(1)) is State.SUBMITTED


def test_allowed_triggers_match_the_table_sources() -> None:
    for state in State:
        expected = {t.trigger for t in TRANSITIONS if state in t.sources}
        assert allowed_triggers(state) == expected


def test_every_state_is_reachable_from_created() -> None:
    reached = {State.CREATED}
    frontier = [State.CREATED]
    while frontier:
        state = frontier.pop()
        for trigger, figures in itertools.product(allowed_triggers(state), FIGURES.values()):
            dest = resolve("o1", state, trigger, *figures)
            if dest not in reached:
                reached.add(dest)
                frontier.append(dest)
    assert reached == set(State)


def test_the_machine_is_built_once_and_other_names_are_refused_by_name() -> None:
    assert _machine.MACHINE is _machine.MACHINE is MACHINE
    with pytest.raises(AttributeError,
                       match="^module 'fsm_executor.core._machine' has no attribute 'MACHINES'$"):
        _machine.MACHINES  # noqa: B018 - the lookup is the test


def test_a_rows_unless_predicates_are_compiled_expected_false() -> None:
    # No row of the table says unless yet; the table's language has it (diagram.py draws it).
    from fsm_executor.core._states import Transition

    row = Transition("expire", (State.SUBMITTED, State.PENDING_CANCEL), State.EXPIRED,
                     conditions=("has_fills",), unless=("is_complete",))
    compiled = _machine._compile((row,))
    expected = (State.EXPIRED, ((PREDICATES["has_fills"], True),
                                (PREDICATES["is_complete"], False)))
    assert compiled == {(State.SUBMITTED, "expire"): (expected,),
                        (State.PENDING_CANCEL, "expire"): (expected,)}


def test_only_a_lone_unconditional_move_to_a_state_is_resolved_ahead() -> None:
    unconditional = _machine._unconditional
    guard = ((PREDICATES["has_fills"], True),)
    assert unconditional(((State.FILLED, ()),)) is State.FILLED
    assert unconditional(((State.FILLED, guard),)) is None  # a condition to evaluate
    assert unconditional(((State.FILLED, ()), (State.CANCELLED, ()))) is None
    assert unconditional(((None, ()),)) is None  # internal: the order is still applied to
    # The table as resolved: a move without choice is its state, the others their rows.
    assert _machine._RESOLVED[(State.CREATED, "submit")] is State.PENDING_SUBMIT
    assert isinstance(_machine._RESOLVED[(State.SUBMITTED, "fill")], tuple)
