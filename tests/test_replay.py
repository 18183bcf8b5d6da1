"""Replay: every order rebuilt from the journal alone, every transition re-validated.

Rows are forged with ``Journal.append``, which chains hashes but checks nothing: a journal
whose hash chain is intact yet describes illegal transitions is exactly what replay must refuse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from journal_tools import as_schema_1, build_scenario, execute, open_order, sha256, spec

from fsm_executor import (
    Cancel,
    CorruptJournal,
    FakeClock,
    Journal,
    NotAJournal,
    OrderBook,
    OrderSpec,
    State,
    replay,
)
from fsm_executor.core._canonical import created

CREATE = ("o1", "create", "", "created", spec().to_payload(), "live")


def test_replay_equals_the_live_book(journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        build_scenario(book, clock)
        live = {o.client_order_id: o for o in book.orders()}
        # Replay runs beside the open writer (WAL readers do not block it).
        assert replay(journal_path) == live
    replayed = replay(journal_path)
    assert replayed == live
    assert {k: v.state for k, v in replayed.items()} == {
        "o1": State.FILLED, "o2": State.FAILED, "o3": State.EXPIRED}
    assert replayed["o1"].fees == live["o1"].fees
    assert replayed["o3"].reason == "end of session"


def test_replay_of_a_new_journal_is_empty(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    assert replay(journal_path) == {}


def test_replay_does_not_write_to_the_journal(journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        build_scenario(book, clock)
    digest, mtime = sha256(journal_path), os.stat(journal_path).st_mtime_ns
    replay(journal_path)
    assert sha256(journal_path) == digest
    assert os.stat(journal_path).st_mtime_ns == mtime


def test_replay_of_a_missing_file_is_not_a_journal_and_creates_nothing(
    journal_path: Path,
) -> None:
    with pytest.raises(NotAJournal):
        replay(journal_path)
    assert not journal_path.exists()


def forge(path: Path, *rows: tuple[str, str, str, str, Any, str]) -> None:
    with Journal.open(path) as journal:
        for row in rows:
            journal.append([row], 1.0)


FORGED = {
    "fill-before-submit": [
        CREATE, ("o1", "fill", "created", "filled",
                 {"trade_id": "t", "amount": "1", "price": "1"}, "live")],
    "wrong-destination": [CREATE, ("o1", "submit", "created", "submitted", {}, "live")],
    "wrong-source": [CREATE, ("o1", "submit", "submitted", "pending_submit", {}, "live")],
    "unknown-trigger": [CREATE, ("o1", "teleport", "created", "filled", {}, "live")],
    "never-created": [("o9", "submit", "created", "pending_submit", {}, "live")],
    "created-twice": [CREATE, CREATE],
    "malformed-payload": [CREATE, ("o1", "acknowledge", "created", "submitted", {}, "live")],
    "create-of-another-order": [("o2", *CREATE[1:])],
    "bad-amount-in-create": [
        ("o1", "create", "", "created", {**spec().to_payload(), "amount": "-1"}, "live")],
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_replay_refuses_an_illegal_row_naming_it(journal_path: Path, name: str) -> None:
    forge(journal_path, *FORGED[name])
    bad_seq = len(FORGED[name])
    with pytest.raises(CorruptJournal) as info:
        replay(journal_path)
    assert info.value.seq == bad_seq and info.value.path == str(journal_path)
    assert str(info.value).startswith(f"{journal_path}: ")
    assert str(info.value).endswith(f"(row {bad_seq})")
    with pytest.raises(CorruptJournal) as opening:
        OrderBook.open(journal_path)
    assert str(opening.value) == str(info.value)


#: The create payload as the book writes it (replay's fast path reads it), and one the fast
#: path declines (the amount a JSON number), read by the general path (Rebuilder._create).
CANONICAL_CREATE = spec().to_payload()
GENERAL_CREATE = {**spec().to_payload(), "amount": 1}


def test_the_general_create_payload_is_declined_by_the_fast_path_and_read_by_the_general(
    journal_path: Path,
) -> None:
    assert created(GENERAL_CREATE, 1.0) is None
    assert created(CANONICAL_CREATE, 1.0) is not None
    forge(journal_path, ("o1", "create", "", "created", GENERAL_CREATE, "live"))
    assert replay(journal_path)["o1"].amount == 1


@pytest.mark.parametrize("payload", [CANONICAL_CREATE, GENERAL_CREATE],
                         ids=["fast-path", "general-path"])
def test_each_create_row_is_counted_and_held_where_it_lies_either_path(
        payload: dict[str, Any]) -> None:
    # The count is what audit compares with the orders index: a create row that the
    # index lacks (an order created again) shows there.
    from fsm_executor.journal._journal import dumps
    from fsm_executor.journal._replay import Rebuilder

    rebuilder = Rebuilder(spans=True)
    for seq, cid in ((3, "o1"), (9, "o2")):
        assert rebuilder.feed((seq, cid, "create", "", "created",
                               dumps({**payload, "client_order_id": cid}), 0.0)) is None
    assert rebuilder.creates == 2
    assert rebuilder.spans == {"o1": [3, 3], "o2": [9, 9]}
    again = rebuilder.feed((12, "o1", "create", "", "created",
                            dumps({**GENERAL_CREATE, "client_order_id": "o1"}), 0.0))
    assert again == "order 'o1' is created a second time" and rebuilder.creates == 3
    refused = rebuilder.feed((13, "o3", "create", "", "created",
                              dumps({**payload, "client_order_id": "o3", "amount": -1}), 0.0))
    assert refused == "amount must be positive, not -1"
    assert "o3" not in rebuilder.orders
    # An event's figure refused the same way: the converter's words, the order unchanged.
    fill = {"trade_id": "t1", "amount": "-1", "price": "100", "fee_cost": "0",
            "fee_currency": None, "timestamp": None}
    before = rebuilder.orders["o2"].snapshot()
    assert rebuilder.feed((14, "o2", "fill", "created", "partially_filled", dumps(fill),
                           0.0)) == "amount must be positive, not '-1'"
    assert rebuilder.orders["o2"] == before


@pytest.mark.parametrize("payload", [CANONICAL_CREATE, GENERAL_CREATE],
                         ids=["fast-path", "general-path"])
@pytest.mark.parametrize(("source", "dest"), [("x", "created"), ("", "submitted")],
                         ids=["source-wrong", "dest-wrong"])
def test_replay_refuses_a_create_row_with_only_its_source_or_its_dest_wrong(
    journal_path: Path, payload: dict[str, Any], source: str, dest: str
) -> None:
    forge(journal_path, ("o1", "create", source, dest, payload, "live"))
    with pytest.raises(CorruptJournal, match="create row of 'o1' does not match its payload"
                       ) as info:
        replay(journal_path)
    assert info.value.seq == 1


def test_replay_refuses_a_fill_journaled_twice(journal_path: Path) -> None:
    fill = {"trade_id": "t1", "amount": "0.5", "price": "100"}
    forge(journal_path, CREATE,
          ("o1", "submit", "created", "pending_submit", {}, "live"),
          ("o1", "acknowledge", "pending_submit", "submitted", {"exchange_order_id": "x"}, "live"),
          ("o1", "fill", "submitted", "partially_filled", fill, "live"),
          ("o1", "fill", "partially_filled", "partially_filled", fill, "live"))
    with pytest.raises(CorruptJournal) as info:
        replay(journal_path)
    assert info.value.seq == 5


def test_replay_refuses_an_overfill_row(journal_path: Path) -> None:
    forge(journal_path, CREATE,
          ("o1", "submit", "created", "pending_submit", {}, "live"),
          ("o1", "acknowledge", "pending_submit", "submitted", {"exchange_order_id": "x"}, "live"),
          ("o1", "fill", "submitted", "filled",
           {"trade_id": "t1", "amount": "2", "price": "100"}, "live"))
    with pytest.raises(CorruptJournal) as info:
        replay(journal_path)
    assert info.value.seq == 4


def test_replay_reports_a_payload_that_is_not_json(journal_path: Path) -> None:
    forge(journal_path, CREATE)
    execute(journal_path, ["UPDATE journal SET payload = '{not json' WHERE seq = 1"])
    with pytest.raises(CorruptJournal) as info:
        replay(journal_path)
    assert info.value.seq == 1


@pytest.mark.parametrize("seq", [1, 2])
def test_replay_reports_a_payload_stored_as_bytes(journal_path: Path, seq: int) -> None:
    forge(journal_path, CREATE, ("o1", "submit", "created", "pending_submit", {}, "live"))
    execute(journal_path, [f"UPDATE journal SET payload = CAST(payload AS BLOB) WHERE seq = {seq}"])
    with pytest.raises(CorruptJournal, match="malformed: TypeError") as info:
        replay(journal_path)
    assert info.value.seq == seq


def test_replay_reports_a_missing_journal_table(journal_path: Path) -> None:
    forge(journal_path, CREATE)
    execute(journal_path, ["DROP TABLE journal"])
    with pytest.raises(CorruptJournal):
        replay(journal_path)


def test_replay_keeps_what_reconcile_rows_say(journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        open_order(book)
        book.apply("o1", Cancel("cancelled on the exchange's UI"), origin="reconcile")
        live = book.get("o1")
    assert replay(journal_path)["o1"] == live
    assert live.reason == "cancelled on the exchange's UI"


@pytest.mark.parametrize("payload", ["[1]", '"text"', "{} trailing", "1"])
def test_a_payload_that_is_not_one_json_object_is_reported_not_raised(payload: str) -> None:
    from fsm_executor.journal._replay import Rebuilder

    rebuilder = Rebuilder()
    create = ('{"client_order_id":"o1","symbol":"X/Y","side":"buy","type":"limit",'
              '"amount":"1","price":"1","signal_id":null}')
    assert rebuilder.feed((1, "o1", "create", "", "created", create, 0.0)) is None
    problem = rebuilder.feed((2, "o1", "reject", "created", "failed", payload, 0.0))
    assert problem is not None and "malformed" in problem


def test_journals_of_version_0_1_with_its_resubmit_and_abandon_still_replay_and_audit(
        journal_path: Path, clock: FakeClock) -> None:
    from fsm_executor import Abandon, InvalidTransition, LoseAnswer, Resubmit, Submit, audit

    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(OrderSpec("old1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("old1", Submit())
        book.apply("old1", LoseAnswer("timeout"))
        # What 0.1 wrote after not-found answers: a re-send, then the end by absence.
        book.journal.append([("old1", "resubmit", "submit_unknown", "pending_submit",
                              Resubmit().to_payload(), "live")], clock.now())
        book.journal.append([("old1", "lose_answer", "pending_submit", "submit_unknown",
                              LoseAnswer("timeout").to_payload(), "live")], clock.now())
        book.journal.append([("old1", "abandon", "submit_unknown", "failed",
                              Abandon("not found", False).to_payload(), "live")], clock.now())
    as_schema_1(journal_path)  # as 0.1 left it
    order = replay(journal_path)["old1"]
    assert order.state is State.FAILED and order.failure == "abandoned"
    assert audit(journal_path).ok
    with OrderBook.open(journal_path, clock=clock) as book:  # opens: the book replays it too
        assert book.index_rebuilt is not None  # and adds the orders index
        book.create(OrderSpec("new1", "BTC/USDT", "buy", "limit", "1", "100"))
        book.apply("new1", Submit())
        book.apply("new1", LoseAnswer("timeout"))
        with pytest.raises(InvalidTransition):  # nothing writes the old moves any more
            book.apply("new1", Resubmit())  # (test_book.py: what the refusal says)


def test_a_payload_that_is_not_one_json_object_is_named_with_its_row_in_jsons_own_words(
) -> None:
    import json

    from fsm_executor.journal._journal import dumps
    from fsm_executor.journal._replay import Rebuilder

    try:
        json.loads("not json")
    except json.JSONDecodeError as exc:
        said = repr(exc)  # what json itself says of it
    created = dumps(spec("o1").to_payload())
    rebuilder = Rebuilder()
    for payload, why in [
        ("not json", said),
        ("[1]", "not one JSON object"),
        (created + " x", "not one JSON object"),  # more after the object
        (b"{}", "TypeError('first argument must be a string, not bytes')"),  # a BLOB
    ]:
        assert rebuilder.feed((1, "o1", "create", "", "created", payload, 0.0)) == (
            f"payload of 'create' for order 'o1' is malformed: {why}")
    assert rebuilder.feed((1, "o1", "create", "", "created", created, 0.0)) is None
    for payload, why in [("nope", said), ("[]", "not one JSON object")]:
        assert rebuilder.feed((2, "o1", "submit", "created", "pending_submit", payload,
                               0.0)) == f"payload of 'submit' for order 'o1' is malformed: {why}"


def test_a_reader_keeps_neither_decision_counts_nor_spans_unless_asked(
) -> None:
    # What only a writer (counts) or an index rebuild (spans) reads: a replay of a year of
    # history holds neither.
    from fsm_executor.journal._journal import dumps
    from fsm_executor.journal._replay import Rebuilder

    rows = [(4, "o1", "create", "", "created", dumps(spec("o1").to_payload()), 0.0),
            (5, "o1", "submit", "created", "pending_submit", "{}", 1.0)]
    plain, asked = Rebuilder(), Rebuilder(remember=True, spans=True)
    for row in rows:
        assert plain.feed(row) is None and asked.feed(row) is None
    assert plain.orders["o1"] == asked.orders["o1"]
    assert (plain.memories, plain.spans) == ({}, None)
    assert asked.memories["o1"].sends == 1
    assert asked.spans == {"o1": [4, 5]}


def test_a_row_of_an_order_held_elsewhere_goes_to_foreign_not_called_never_created(
) -> None:
    # The second half of a split reading (_split.py): the first half holds the order.
    from fsm_executor.journal._replay import Rebuilder

    row = (7, "o1", "submit", "created", "pending_submit", "{}", 1.0)
    seen: list[int] = []
    assert Rebuilder(foreign=seen.append).feed(row) is None
    assert seen == [7]
    assert Rebuilder().feed(row) == "'submit' for order 'o1', which was never created"
