"""The ``transitions`` machine built from the table in _states.py, and what is compiled from it.

One machine is built for the whole process, when first asked for, and holds no orders. Orders
are not ``transitions`` models: ``add_model`` costs about 5 KB and 90 µs per order, and a
``Machine`` per order about 14 KB and 125 µs (benchmarks/bench_orders.py measures all three).
Instead the table is compiled once, as the machine reads it, into a lookup from (state,
trigger) to its candidate transitions, with their conditions; ``resolve`` walks those
candidates exactly as ``transitions`` does (first transition whose conditions hold wins).
tests/test_machine.py checks that the lookup is the one the machine's own events give, and,
for every state, trigger and condition outcome, that ``resolve`` and firing the real machine
agree. So replaying or auditing a journal never imports ``transitions`` (5 ms of a
command's start-up); only building the machine does.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from ._exceptions import InvalidTransition, UnknownTrigger
from ._states import INITIAL, TRANSITIONS, TRIGGERS, State, Transition

if TYPE_CHECKING:
    from transitions import Machine

#: Predicates that table conditions may name, evaluated on (filled after the event, amount).
PREDICATES: Final[dict[str, Callable[[Decimal, Decimal], bool]]] = {
    "is_complete": lambda filled, amount: filled == amount,
    "has_fills": lambda filled, amount: filled > 0,
}


def machine_arguments() -> dict[str, Any]:
    """The keyword arguments of a ``transitions`` machine for the order lifecycle."""
    transitions = []
    for t in TRANSITIONS:
        transitions.append({
            "trigger": t.trigger,
            "source": [s.value for s in t.sources],
            "dest": None if t.dest is None else t.dest.value,
            "conditions": list(t.conditions),
            "unless": list(t.unless),
        })
    return {
        "states": [s.value for s in State],
        "transitions": transitions,
        "initial": INITIAL.value,
        # Every trigger must be declared in the table; an illegal one raises.
        "auto_transitions": False,
        "ignore_invalid_triggers": False,
    }


def build_machine(model: Any = None) -> Machine:
    """A plain ``transitions.Machine`` for ``model`` (or none)."""
    from transitions import Machine

    return Machine(model=model, **machine_arguments())


def __getattr__(name: str) -> Machine:
    """``MACHINE``, the process's one machine, built when first asked for."""
    if name != "MACHINE":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    machine = globals()["MACHINE"] = build_machine()
    return machine


Predicate = Callable[[Decimal, Decimal], bool]
#: A transition's destination (None: internal) and its conditions as (predicate, expected).
Candidate = tuple[State | None, tuple[tuple[Predicate, bool], ...]]


def _compile(table: tuple[Transition, ...]) -> dict[tuple[State, str], tuple[Candidate, ...]]:
    """``table`` as the machine holds it: per (source, trigger), the transitions in the order
    listed, each with its conditions and then its ``unless`` ones (expected False)."""
    compiled: dict[tuple[State, str], list[Candidate]] = {}
    for t in table:
        # The predicate itself, not its name: one dict lookup less per condition on every
        # fill.
        conditions = (*((PREDICATES[c], True) for c in t.conditions),
                      *((PREDICATES[c], False) for c in t.unless))
        for source in t.sources:
            compiled.setdefault((source, t.trigger), []).append((t.dest, conditions))
    return {key: tuple(candidates) for key, candidates in compiled.items()}


_LOOKUP: Final = _compile(TRANSITIONS)
_KNOWN_TRIGGERS: Final = frozenset(TRIGGERS)


def _unconditional(candidates: tuple[Candidate, ...]) -> State | None:
    dest, conditions = candidates[0]
    return dest if len(candidates) == 1 and not conditions and dest is not None else None


#: Each (state, trigger) pair's destination when it has one transition without conditions
#: (the common case on the hot path), else its candidates: one lookup per event, not two.
_RESOLVED: Final[dict[tuple[State, str], State | tuple[Candidate, ...]]] = {
    key: candidates if (dest := _unconditional(candidates)) is None else dest
    for key, candidates in _LOOKUP.items()
}


def resolve(order_id: str, state: State, trigger: str, filled: Decimal, amount: Decimal) -> State:
    """The state ``trigger`` leads to from ``state``, or InvalidTransition.

    ``filled`` is the order's filled amount with the event applied.
    """
    resolved = _RESOLVED.get((state, trigger))
    # Tested against tuple, not State: isinstance with an Enum class goes through its
    # metaclass's __instancecheck__ (67 ns against 21 for a tuple, on every fill).
    if not isinstance(resolved, tuple):
        if resolved is not None:
            return resolved
    else:
        for dest, conditions in resolved:
            for predicate, target in conditions:
                if predicate(filled, amount) is not target:
                    break
            else:
                return state if dest is None else dest
    if trigger not in _KNOWN_TRIGGERS:
        raise UnknownTrigger(order_id, state.value, trigger)
    raise InvalidTransition(order_id, state.value, trigger)


def allowed_triggers(state: State) -> frozenset[str]:
    return frozenset(trigger for (source, trigger) in _LOOKUP if source is state)
