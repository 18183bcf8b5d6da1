"""The orders index (journal/_index.py) and what it buys: a journal opens at the cost of its
open orders, finished ones are read from the file when asked for, the index is rebuilt
from the rows when missing or caught disagreeing, and audit checks it against the rows
while holding only the open orders."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_tools import as_schema_1, build_scenario, execute, open_order, rows, spec

from fsm_executor import (
    CorruptJournal,
    FakeClock,
    Fill,
    Journal,
    Note,
    OrderBook,
    State,
    Submit,
    UnknownOrder,
    Withdraw,
    audit,
    replay,
)
from fsm_executor.journal._index import DIGEST_MODULUS, fingerprint
from fsm_executor.journal._journal import JournalReader, dumps
from fsm_executor.journal._replay import streaming

INDEX_BEHIND = ("the orders index disagrees with the rows (a writer rebuilds it when it "
                "opens the journal)")


def finished_and_open(book: OrderBook) -> None:
    """o1 filled (with a signal id), o2 failed, o3 resting."""
    open_order(book, "o1", signal_id="sig-1")
    book.apply("o1", Fill("t1", "1", "100"))
    book.create(spec("o2", signal_id="sig-2"))
    book.apply("o2", Submit())
    open_order(book, "o3", signal_id="sig-3")


def index_rows(path: Path) -> list[tuple[object, ...]]:
    with JournalReader(path) as reader:
        return sorted(reader.index.rows())


def test_the_index_holds_each_order_as_its_rows_leave_it(book: OrderBook,
                                                         journal_path: Path) -> None:
    finished_and_open(book)
    # (order, signal, market, open, first row, last row once finished)
    assert index_rows(journal_path) == [
        ("o1", "sig-1", "BTC/USDT", 0, 1, 4),      # filled at row 4
        ("o2", "sig-2", "BTC/USDT", 1, 5, None),   # its placement under way
        ("o3", "sig-3", "BTC/USDT", 1, 7, None),   # resting
    ]
    book.apply("o1", Note("after_end", "the exchange says otherwise"))  # row 10
    # A finished order's row is written with the next create, or at close: one commit
    # fewer per order. Until then audit allows the lag, and opening catches it up.
    assert index_rows(journal_path)[0] == ("o1", "sig-1", "BTC/USDT", 0, 1, 4)
    assert audit(journal_path).ok
    book.close()
    assert index_rows(journal_path)[0] == ("o1", "sig-1", "BTC/USDT", 0, 1, 10)


def test_an_index_row_appended_with_its_orders_rows_spans_them_from_create_to_last(
        journal_path: Path) -> None:
    # The journal's own API takes an order's rows and its index row in one commit (as an
    # import of history would): the span runs from its create row to the last of them.
    with Journal.open(journal_path) as journal:
        journal.append([("o0", "create", "", "created", spec("o0").to_payload(), "live")],
                       1.0, [("o0", None, "BTC/USDT", 1)])
        journal.append([
            ("o1", "create", "", "created", spec("o1").to_payload(), "live"),
            ("o1", "submit", "created", "pending_submit", {}, "live"),
            ("o0", "submit", "created", "pending_submit", {}, "live"),
            ("o1", "acknowledge", "pending_submit", "submitted",
             {"exchange_order_id": "E1"}, "live"),
            ("o1", "cancel", "submitted", "cancelled", {"reason": "gone"}, "live"),
        ], 2.0, [("o1", None, "BTC/USDT", 0)])
    assert index_rows(journal_path) == [("o0", None, "BTC/USDT", 1, 1, None),
                                        ("o1", None, "BTC/USDT", 0, 2, 6)]
    assert audit(journal_path).ok


def test_opening_rebuilds_the_open_orders_only_and_finds_finished_ones_in_the_file(
        book: OrderBook, journal_path: Path, clock: FakeClock) -> None:
    finished_and_open(book)
    filled = book.get("o1")
    book.close()
    # A finished order's row damaged on disk: opening never reads it, replay does.
    execute(journal_path, ["UPDATE journal SET payload = 'garbage' WHERE seq = 4"])
    with pytest.raises(CorruptJournal):
        replay(journal_path)
    with OrderBook.open(journal_path, clock=clock) as reopened:
        assert reopened.index_rebuilt is None
        assert [o.client_order_id for o in reopened.unfinished()] == ["o2", "o3"]
        assert "o1" in reopened and "nope" not in reopened and len(reopened) == 3
        assert reopened.by_signal("sig-3") == reopened.get("o3")
        with pytest.raises(CorruptJournal):
            reopened.get("o1")  # read from the file when asked for: the damage shows
        with pytest.raises(UnknownOrder):
            reopened.get("nope")
    execute(journal_path, ["UPDATE journal SET payload = "
                           f"'{dumps(Fill('t1', '1', '100').to_payload())}' WHERE seq = 4"])
    with OrderBook.open(journal_path, clock=clock) as reopened:
        assert reopened.get("o1") == filled
        assert reopened.by_signal("sig-1") == filled
        assert reopened.knows_exchange_order("o1", "ex-o1")
        assert not reopened.knows_exchange_order("o1", "x")
        assert not reopened.knows_exchange_order("o9", "ex-o1")


def test_a_finished_order_given_a_row_is_read_changed_and_let_go(
        book: OrderBook, journal_path: Path) -> None:
    finished_and_open(book)
    noted = book.apply("o1", Note("after_end", "the exchange says otherwise"))
    assert noted.state is State.FILLED
    assert [o.client_order_id for o in book.unfinished()] == ["o2", "o3"]
    assert book.unsettled() == []  # not kept: the book holds open orders only
    assert rows(journal_path)[-1][2] == "note"
    assert audit(journal_path).ok


def test_a_journal_of_schema_1_gets_its_index_when_a_writer_opens_it(
        book: OrderBook, journal_path: Path, clock: FakeClock) -> None:
    finished_and_open(book)
    book.close()
    before = index_rows(journal_path)
    as_schema_1(journal_path)
    assert audit(journal_path).ok  # read as it is: a reader changes nothing
    clock.advance(5)
    with OrderBook.open(journal_path, clock=clock) as reopened:
        assert reopened.index_rebuilt == ("the orders index is empty, and the rows create "
                                          "orders")
        assert [o.client_order_id for o in reopened.unfinished()] == ["o2", "o3"]
    assert index_rows(journal_path) == before
    with JournalReader(journal_path) as reader:
        assert reader.meta["schema_version"] == "2"
        assert reader.indexed
    assert audit(journal_path).ok


@pytest.mark.parametrize(("tamper", "why", "caught_up"), [
    ("UPDATE orders SET open = 1, last_seq = NULL WHERE order_id = 'o1'", None, 1),
    ("DELETE FROM orders WHERE order_id = 'o3'", "newest order 'o3' is not in the orders", 0),
])
def test_an_index_caught_disagreeing_when_the_journal_opens_is_rebuilt_from_the_rows(
        book: OrderBook, journal_path: Path, clock: FakeClock, tamper: str, why: str | None,
        caught_up: int) -> None:
    finished_and_open(book)
    book.close()
    before = index_rows(journal_path)
    execute(journal_path, [tamper])
    # (o1 finished before o2 was created: its row cannot be a deferred one.)
    assert [str(v) for v in audit(journal_path).violations] == [INDEX_BEHIND]
    with OrderBook.open(journal_path, clock=clock) as reopened:
        # An order held open that its rows finish is caught up alone; anything else, the
        # whole index rebuilt from the rows.
        assert (reopened.index_rebuilt is None) == (why is None)
        assert why is None or why in (reopened.index_rebuilt or "")
        assert reopened.index_caught_up == caught_up
        assert reopened.by_signal("sig-1") is not None
    assert index_rows(journal_path) == before
    assert audit(journal_path).ok


@pytest.mark.parametrize("tamper", [
    "UPDATE orders SET open = 0 WHERE order_id = 'o2'",  # o2 hidden from recovery
    "DELETE FROM orders WHERE order_id = 'o1'",  # sig-1 forgotten: it could be placed again
    "UPDATE orders SET last_seq = 2 WHERE order_id = 'o1'",  # o1 read without its fills
    # sig-1 renamed: +1, -2, +1 on three letters keeps its row's Adler-32, not its CRC-32.
    "UPDATE orders SET signal_id = 'tgh-1' WHERE order_id = 'o1'",
])
def test_audit_catches_the_edits_opening_cannot_see_without_reading_the_history(
        book: OrderBook, journal_path: Path, tamper: str) -> None:
    finished_and_open(book)
    book.close()
    execute(journal_path, [tamper])
    assert [str(v) for v in audit(journal_path).violations] == [INDEX_BEHIND]


def test_rows_of_a_never_created_order_appended_by_hand_are_caught_at_opening(
        book: OrderBook, journal_path: Path) -> None:
    finished_and_open(book)
    book.close()
    with Journal.open(journal_path) as journal:  # the journal alone: no index row
        journal.append([("ghost", "submit", "created", "pending_submit", {}, "live")], 9.0)
    with pytest.raises(CorruptJournal, match="never created"):
        OrderBook.open(journal_path)


def test_audit_holds_only_the_open_orders_and_brings_a_finished_one_back_for_a_late_row(
        journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        build_scenario(book, clock)  # row 20: a note on o1, filled at row 5
    handed: list[tuple[str, str | None]] = []
    held: list[int] = []
    with JournalReader(journal_path) as reader:
        rebuilder = streaming(reader, lambda o, span, before: handed.append(
            (o.client_order_id, before and before[0].state.value)))
        for row in reader.raw_rows():
            assert rebuilder.feed(row) is None
            held.append(len(rebuilder.orders))
    # Each order handed over as it finished, o1 a second time after its late note.
    assert handed == [("o1", None), ("o2", None), ("o3", None), ("o1", "filled")]
    assert max(held) == 1 and held[-1] == 0  # one order open at a time, then none
    report = audit(journal_path)
    assert report.ok, report.render()
    assert report.order_count == 3
    assert report.by_state == {"filled": 1, "failed": 1, "expired": 1}


def test_audit_still_refuses_an_illegal_row_of_an_order_it_had_let_go(
        book: OrderBook, journal_path: Path) -> None:
    finished_and_open(book)
    book.close()
    with Journal.open(journal_path) as journal:
        journal.append([("o1", "fill", "filled", "filled",
                         Fill("t9", "1", "100").to_payload(), "live")], 9.0)
    report = audit(journal_path)
    assert any(v.seq == len(rows(journal_path)) and "o1" in v.message
               for v in report.violations), report.render()


def test_audit_refuses_an_order_created_again_after_it_finished(
        book: OrderBook, journal_path: Path) -> None:
    finished_and_open(book)
    book.close()
    with Journal.open(journal_path) as journal:
        journal.append([("o1", "create", "", "created", spec("o1").to_payload(), "live")],
                       9.0)
    report = audit(journal_path)
    again = len(rows(journal_path))  # the create row appended last
    assert ("order 'o1' is created a second time", again) in [
        (v.message, v.seq) for v in report.violations]


def test_a_finished_orders_row_lost_with_the_process_is_no_disagreement_and_is_caught_up(
        tmp_path: Path, clock: FakeClock) -> None:
    journal_path = tmp_path / "crashed.db"
    book = OrderBook.open(journal_path, clock=clock)
    finished_and_open(book)
    book.apply("o3", Fill("t3", "1", "100"))  # o3 filled: its index row deferred
    book.journal.close()  # the process dies: the deferred row is never written
    assert index_rows(journal_path)[2] == ("o3", "sig-3", "BTC/USDT", 1, 7, None)
    assert audit(journal_path).ok  # finished after the last create: it may lag
    with OrderBook.open(journal_path, clock=clock) as reopened:
        assert (reopened.index_rebuilt, reopened.index_caught_up) == (None, 1)
        assert [o.client_order_id for o in reopened.unfinished()] == ["o2"]
    assert index_rows(journal_path)[2] == ("o3", "sig-3", "BTC/USDT", 0, 7, 10)
    assert audit(journal_path).ok


def test_the_index_digest_sqlite_reads_equals_the_fingerprints_of_its_rows(
    journal_path: Path,
) -> None:
    # SQLite writes each row's text for the digest (_index._TEXT); the tally makes it from
    # the order rebuilt: the two must agree on a missing signal id and a missing last seq.
    with OrderBook.open(journal_path, clock=FakeClock()) as book:
        book.create(spec("o1", signal_id=None))
        book.create(spec("o2", signal_id="sig-2"))
        book.apply("o2", Withdraw("gone"))
    with JournalReader(journal_path) as reader:
        stored = list(reader.index.rows())
        assert {row[1] for row in stored} >= {None} and {row[5] for row in stored} >= {None}
        assert reader.index.digest() == sum(map(fingerprint, stored)) % DIGEST_MODULUS
        changed = [(*stored[0][:3], 1 - stored[0][3], *stored[0][4:]), *stored[1:]]
        assert reader.index.digest() != sum(map(fingerprint, changed)) % DIGEST_MODULUS


def test_a_fingerprint_is_the_crc_32_above_the_adler_32_of_the_rows_text() -> None:
    # Known answers, as its docstring builds them: fields between unit separators, a record
    # separator for no signal id, nothing for no last seq. Both sides share the function,
    # so only a known answer notices it taking fewer bits of either checksum.
    finished = ("o1", "sig-1", "BTC/USDT", 0, 3, 7)
    text = b"o1\x1fsig-1\x1fBTC/USDT\x1f0\x1f3\x1f7"
    assert fingerprint(finished) == zlib.crc32(text) << 32 | zlib.adler32(text)
    assert fingerprint(finished) == 0xCF3BFF74_4B9A05BF
    unsigned = ("o2", None, "ETH/USDT", 1, 9, None)
    text = b"o2\x1f\x1e\x1fETH/USDT\x1f1\x1f9\x1f"
    assert fingerprint(unsigned) == zlib.crc32(text) << 32 | zlib.adler32(text)


def test_a_rebuild_cut_short_leaves_the_index_as_it_was_and_says_why(
        book: OrderBook, journal_path: Path) -> None:
    finished_and_open(book)
    book.close()
    before = index_rows(journal_path)
    with Journal.open(journal_path) as journal:
        index, conn = journal.index, journal._conn

        def rows_then_a_failure() -> Iterator[tuple[object, ...]]:
            yield ("o9", None, "BTC/USDT", 1, 11, None)
            raise OSError("the disk went away")

        with pytest.raises(OSError, match="the disk went away"):
            index.rebuild(rows_then_a_failure())  # type: ignore[arg-type]
        assert not conn.in_transaction  # rolled back, the connection free for the next
    assert index_rows(journal_path) == before
