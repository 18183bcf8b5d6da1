"""A tally summed with another (Tally.merge): two halves of a journal read at once count
what one reading counts. The property test (test_split.py) checks it over random histories;
these pin the sums themselves."""

from __future__ import annotations

import pytest

from fsm_executor.core._states import State
from fsm_executor.journal._index import DIGEST_MODULUS, StoredRow, fingerprint
from fsm_executor.journal._tally import Tally


def _row(order_id: str, first: int, last: int | None) -> StoredRow:
    return (order_id, None, "BTC/USDT", 0 if last is not None else 1, first, last)


def test_states_add_up_including_those_only_one_half_saw() -> None:
    first, second = Tally(True), Tally(True)
    first.states, first.count = {State.FILLED: 2}, 2
    second.states, second.count = {State.FILLED: 1, State.CANCELLED: 3}, 4
    first.merge(second, last_create=0)
    assert first.states == {State.FILLED: 3, State.CANCELLED: 3}
    assert first.count == 6
    assert first.by_state() == {"filled": 3, "cancelled": 3}


def test_digests_add_modulo_their_modulus_and_problems_are_kept_in_order() -> None:
    first, second = Tally(True), Tally(True)
    first.digest, second.digest = DIGEST_MODULUS - 1, 5
    first.problems, second.problems = ["a"], ["b", "c"]
    first.merge(second, last_create=0)
    assert first.digest == 4
    assert first.problems == ["a", "b", "c"]


def test_only_orders_finished_after_the_last_create_of_all_stay_in_doubt() -> None:
    # The book writes a finished order's index row with its next create: only orders
    # finished after the last create row of the whole journal may lag in the index.
    first, second = Tally(True), Tally(True)
    first.since_create = [("early", _row("early", 1, 7)), ("at", _row("at", 2, 10))]
    second.since_create = [("late", _row("late", 3, 11)), ("open", _row("open", 4, None))]
    first.merge(second, last_create=10)
    assert [order_id for order_id, _ in first.since_create] == ["late"]


class Held:
    """An orders index holding these rows."""

    def __init__(self, rows: dict[str, StoredRow]) -> None:
        self.rows = rows

    def row(self, order_id: str) -> StoredRow | None:
        return self.rows.get(order_id)


def _lagging(*entries: tuple[str, StoredRow], held: dict[str, StoredRow]) -> int:
    """The digest change lag_allowed makes for orders finished since the last create."""
    tally = Tally(True)
    tally.since_create = list(entries)
    tally.lag_allowed(Held(held))  # type: ignore[arg-type]
    return tally.digest


def test_an_order_the_index_still_holds_open_or_ended_earlier_is_counted_as_held() -> None:
    done = _row("a", 1, 9)
    still_open = _row("a", 1, None)
    assert _lagging(("a", done), held={"a": still_open}) == (
        fingerprint(still_open) - fingerprint(done)) % DIGEST_MODULUS
    earlier = _row("a", 1, 5)
    assert _lagging(("a", done), held={"a": earlier}) == (
        fingerprint(earlier) - fingerprint(done)) % DIGEST_MODULUS


def test_every_lagging_order_is_counted_past_one_the_index_lacks() -> None:
    held = _row("b", 2, None)
    assert _lagging(("a", _row("a", 1, 9)), ("b", _row("b", 2, 8)), held={"b": held}) == (
        fingerprint(held) - fingerprint(_row("b", 2, 8))) % DIGEST_MODULUS


@pytest.mark.parametrize("held", [
    ("a", "s1", "BTC/USDT", 1, 1, None),   # another signal: a disagreement
    ("a", None, "ETH/USDT", 1, 1, None),   # another market
    ("a", None, "BTC/USDT", 1, 3, None),   # another first row
    ("a", None, "BTC/USDT", 0, 1, None),   # ended, without a last row
    ("a", None, "BTC/USDT", 0, 1, 12),     # ended after the row that ended it
    ("a", None, "BTC/USDT", 1, 1, 5),      # open, with a last row
])
def test_an_index_row_that_disagrees_otherwise_than_by_lagging_is_left_to_disagree(
        held: StoredRow) -> None:
    assert _lagging(("a", _row("a", 1, 9)), held={"a": held}) == 0
