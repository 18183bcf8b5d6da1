"""A tally summed with another (Tally.merge): two halves of a journal read at once count
what one reading counts. The property test (test_split.py) checks it over random histories;
these pin the sums themselves."""

from __future__ import annotations

from fsm_executor.core._states import State
from fsm_executor.journal._index import DIGEST_MODULUS, StoredRow
from fsm_executor.journal._tally import Tally


def _row(order_id: str, first: int, last: int | None) -> StoredRow:
    return (order_id, None, "BTC/USDT", 0 if last is not None else 1, first, last)


def test_states_add_up_including_those_only_one_half_saw() -> None:
    first, second = Tally(), Tally()
    first.states, first.count = {State.FILLED: 2}, 2
    second.states, second.count = {State.FILLED: 1, State.CANCELLED: 3}, 4
    first.merge(second, last_create=0)
    assert first.states == {State.FILLED: 3, State.CANCELLED: 3}
    assert first.count == 6
    assert first.by_state() == {"filled": 3, "cancelled": 3}


def test_digests_add_modulo_their_modulus_and_problems_are_kept_in_order() -> None:
    first, second = Tally(), Tally()
    first.digest, second.digest = DIGEST_MODULUS - 1, 5
    first.problems, second.problems = ["a"], ["b", "c"]
    first.merge(second, last_create=0)
    assert first.digest == 4
    assert first.problems == ["a", "b", "c"]


def test_only_orders_finished_after_the_last_create_of_all_stay_in_doubt() -> None:
    # The book writes a finished order's index row with its next create: only orders
    # finished after the last create row of the whole journal may lag in the index.
    first, second = Tally(), Tally()
    first.since_create = [("early", _row("early", 1, 7)), ("at", _row("at", 2, 10))]
    second.since_create = [("late", _row("late", 3, 11)), ("open", _row("open", 4, None))]
    first.merge(second, last_create=10)
    assert [order_id for order_id, _ in first.since_create] == ["late"]
