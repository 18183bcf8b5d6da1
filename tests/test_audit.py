"""Audit: proof from the journal alone that nothing was edited, moved, lost or illegal.

Every tampering here is done with plain sqlite3, as someone with the file would do it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from journal_tools import (
    COLUMNS,
    build_scenario,
    execute,
    open_order,
    page_holding,
    root_page,
    rows,
    sha256,
    smash_page,
    spec,
)

from fsm_executor import (
    Cancel,
    CorruptJournal,
    FakeClock,
    Fill,
    InvalidInput,
    Journal,
    Note,
    Order,
    OrderBook,
    Submit,
    audit,
    replay,
)
from fsm_executor.cli._cli import main
from fsm_executor.core._lifecycle import Step
from fsm_executor.journal import _replay
from fsm_executor.journal._audit import timeline
from fsm_executor.journal._journal import chain_hash, dumps

D = Decimal

ROWS = 20  # build_scenario's


@pytest.fixture
def journal(journal_path: Path, clock: FakeClock) -> tuple[Path, str]:
    """A good journal of ROWS rows, closed, and the head recorded when it was written."""
    with OrderBook.open(journal_path, clock=clock) as book:
        build_scenario(book, clock)
        head = book.journal.head
    return journal_path, head


def seqs_of(report: Any) -> set[int | None]:
    return {v.seq for v in report.violations}


def test_audit_of_a_good_journal_is_clean(journal: tuple[Path, str]) -> None:
    path, head = journal
    digest = sha256(path)
    report = audit(path, expected_head=head)
    assert report.ok, report.render()
    assert report.violations == ()
    assert report.rows == ROWS
    assert report.head == head
    assert report.order_count == len(replay(path)) == 3
    assert report.by_state == {"filled": 1, "failed": 1, "expired": 1}
    assert report.in_flight == ()
    assert "violations 0" in report.render()
    data = json.loads(json.dumps(report.to_json()))
    assert (data["ok"], data["rows"], data["orders"], data["head"]) == (True, ROWS, 3, head)
    assert sha256(path) == digest


def test_audit_says_every_field_in_json_and_lists_twenty_orders_in_flight_then_counts(
        journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        for i in range(21):
            book.create(spec(f"o{i:02d}"))
            book.apply(f"o{i:02d}", Submit())
        head = book.journal.head
    execute(journal_path, [("UPDATE journal SET origin = 'recovery' WHERE seq = 2", ())])
    report = audit(journal_path)
    assert report.to_json() == {
        "path": str(journal_path), "ok": False, "rows": 42, "head": head, "orders": 21,
        "by_state": {"pending_submit": 21},
        "in_flight": [{"client_order_id": f"o{i:02d}", "state": "pending_submit"}
                      for i in range(21)],
        "violations": [{"seq": 2, "message": "hash does not match its content and the row "
                                             "before it: edited, inserted or moved"}],
    }
    lines = report.render().splitlines()
    at = lines.index("in flight 21")
    assert lines[at + 1:at + 23] == [
        *(f"  o{i:02d}  pending_submit" for i in range(20)), "  ... and 1 more",
        "violations 1"]
    twenty = journal_path.with_name("twenty.db")
    with OrderBook.open(twenty, clock=clock) as book:
        for i in range(20):
            book.create(spec(f"o{i:02d}"))
            book.apply(f"o{i:02d}", Submit())
    lines = audit(twenty).render().splitlines()
    at = lines.index("in flight 20")
    assert lines[at + 20:] == [  # all twenty, no "more" line
        "  o19  pending_submit",
        "violations 0: the hash chain, every transition and every order hold"]


def test_audit_lists_orders_in_flight(journal_path: Path, clock: FakeClock) -> None:
    with OrderBook.open(journal_path, clock=clock) as book:
        book.create(spec("o1"))
        book.apply("o1", Submit())
    report = audit(journal_path)
    assert report.ok
    assert [o.client_order_id for o in report.in_flight] == ["o1"]
    assert report.to_json()["in_flight"] == [{"client_order_id": "o1", "state": "pending_submit"}]


def changed(value: Any) -> Any:
    if isinstance(value, float):
        return value + 0.001
    if value == "":  # the create row's source
        return "created"
    # Change one character in the middle, keeping the text otherwise intact.
    i = len(value) // 2
    return value[:i] + ("X" if value[i] != "X" else "Y") + value[i + 1:]


@pytest.mark.parametrize("column", ["order_id", "trigger", "source", "dest", "payload", "origin",
                                    "ts", "hash"])
@pytest.mark.parametrize("seq", [1, 7, 15, ROWS])
def test_audit_reports_a_changed_character_in_any_column(
    journal: tuple[Path, str], column: str, seq: int
) -> None:
    path, _ = journal
    value = rows(path)[seq - 1][COLUMNS.index(column)]
    execute(path, [(f"UPDATE journal SET {column} = ? WHERE seq = ?", (changed(value), seq))])
    report = audit(path)
    assert not report.ok
    assert seq in seqs_of(report)
    assert "edited" in report.render()


def stored_otherwise(value: Any) -> Any:
    """The value as SQL from outside could store it: text as a BLOB (the same bytes), a ts as
    text (a number as text would be stored as a number again: the column's affinity)."""
    return "yesterday" if isinstance(value, float) else value.encode()


@pytest.mark.parametrize("column", ["order_id", "trigger", "source", "dest", "payload", "origin",
                                    "ts", "hash"])
@pytest.mark.parametrize("seq", [1, 7, ROWS])
def test_audit_names_a_column_stored_with_another_type_instead_of_raising(
    journal: tuple[Path, str], column: str, seq: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLite keeps a BLOB in a TEXT column and text in a REAL one: the same characters, so
    # only the type tells, and the hash must not be taken of them as if nothing happened.
    path, _ = journal
    value = rows(path)[seq - 1][COLUMNS.index(column)]
    execute(path, [(f"UPDATE journal SET {column} = ? WHERE seq = ?",
                    (stored_otherwise(value), seq))])
    report = audit(path)
    expected = "str" if column == "ts" else "bytes"
    assert [str(v) for v in report.violations if v.seq == seq][0] == (
        f"row {seq}: hash does not match, and {column} is {expected}, not what the journal "
        "writes: edited outside it")
    if column == "hash" and seq < ROWS:
        assert any("the hash of the row before is bytes" in str(v) for v in report.violations
                   if v.seq == seq + 1)
    assert main(["audit", str(path)]) == 1
    assert f"row {seq}: hash does not match, and {column}" in capsys.readouterr().out


def test_audit_names_every_column_of_a_row_stored_with_another_type(
        journal: tuple[Path, str]) -> None:
    path, _ = journal
    order_id, payload = rows(path)[6][1], rows(path)[6][5]
    execute(path, [("UPDATE journal SET order_id = ?, payload = ?, ts = 'noon' WHERE seq = 7",
                    (order_id.encode(), payload.encode()))])
    assert str(next(v for v in audit(path).violations if v.seq == 7)) == (
        "row 7: hash does not match, and order_id is bytes, payload is bytes, ts is str, not "
        "what the journal writes: edited outside it")


def test_audit_reports_an_edit_the_table_allows(journal: tuple[Path, str]) -> None:
    # A legal-looking edit: the fill's price, so replay alone would accept the journal.
    path, _ = journal
    original = replay(path)["o1"].average
    payload = json.loads(rows(path)[3][5])
    payload["price"] = "90"
    execute(path, [("UPDATE journal SET payload = ? WHERE seq = 4", (dumps(payload),))])
    assert replay(path)["o1"].average != original  # replay alone accepts it
    report = audit(path)
    assert seqs_of(report) == {4}


def test_audit_reports_a_changed_seq(journal: tuple[Path, str]) -> None:
    path, _ = journal
    execute(path, [f"UPDATE journal SET seq = 99 WHERE seq = {ROWS}"])
    report = audit(path)
    assert not report.ok
    assert 99 in seqs_of(report)


def test_audit_reports_a_deleted_middle_row(journal: tuple[Path, str]) -> None:
    path, _ = journal
    execute(path, ["DELETE FROM journal WHERE seq = 9"])
    report = audit(path)
    assert not report.ok
    assert 10 in seqs_of(report)
    assert ("follows row 8: rows are missing, inserted or reordered"
            in [v.message for v in report.violations if v.seq == 10])


@pytest.mark.parametrize(("a", "b"), [(4, 5), (1, ROWS), (6, 11)])
def test_audit_reports_two_swapped_rows(journal: tuple[Path, str], a: int, b: int) -> None:
    path, _ = journal
    content = ", ".join(f"{c} = ?" for c in COLUMNS[1:])
    by_seq = {r[0]: r[1:] for r in rows(path)}
    execute(path, [(f"UPDATE journal SET {content} WHERE seq = ?", (*by_seq[b], a)),
                   (f"UPDATE journal SET {content} WHERE seq = ?", (*by_seq[a], b))])
    report = audit(path)
    assert not report.ok
    assert {a, b} <= seqs_of(report)


def test_audit_reports_an_inserted_row_even_when_its_own_hash_is_right(
    journal: tuple[Path, str],
) -> None:
    path, _ = journal
    at = 10
    before = rows(path)[at - 2]
    forged = (at, "o1", "note", "filled", "filled", dumps({"kind": "k", "detail": ""}), "live",
              before[7])
    forged_hash = chain_hash(before[8], *forged[:7], forged[7])
    execute(path, [
        f"UPDATE journal SET seq = seq + 1000 WHERE seq >= {at}",
        "UPDATE journal SET seq = seq - 999 WHERE seq >= 1000",
        (f"INSERT INTO journal ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
         (*forged, forged_hash)),
    ])
    assert len(rows(path)) == ROWS + 1
    report = audit(path)
    assert not report.ok
    assert at not in seqs_of(report)  # the forgery itself chains correctly...
    assert at + 1 in seqs_of(report)  # ...but the row after it no longer does


def test_audit_reports_a_row_appended_by_hand(journal: tuple[Path, str]) -> None:
    path, _ = journal
    last = rows(path)[-1]
    execute(path, [(f"INSERT INTO journal ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                    "?)", (ROWS + 1, *last[1:]))])
    report = audit(path)
    assert seqs_of(report) >= {ROWS + 1}


def test_a_cut_off_tail_is_reported_when_the_head_is_known(journal: tuple[Path, str]) -> None:
    path, head = journal
    execute(path, [f"DELETE FROM journal WHERE seq > {ROWS - 2}"])
    # Without a recorded head a shorter chain is a valid chain (the documented limit), but
    # the orders index, written in the same transactions as the rows cut off, tells.
    assert [str(v) for v in audit(path).violations] == [
        "the orders index disagrees with the rows (a writer rebuilds it when it opens the "
        "journal)"]
    report = audit(path, expected_head=head)
    assert not report.ok
    assert any("cut off" in v.message for v in report.violations)


def test_a_rehashed_edit_of_the_last_row_is_caught_by_the_recorded_head(
    journal: tuple[Path, str],
) -> None:
    path, head = journal
    prev, last = rows(path)[-2], rows(path)[-1]
    payload = dumps({"kind": "nothing_to_see", "detail": ""})
    new_hash = chain_hash(prev[8], last[0], last[1], last[2], last[3], last[4], payload, last[6],
                          last[7])
    execute(path, [("UPDATE journal SET payload = ?, hash = ? WHERE seq = ?",
                    (payload, new_hash, last[0]))])
    assert audit(path).ok  # a consistent rewrite: only a head kept elsewhere shows it
    report = audit(path, expected_head=head)
    assert seqs_of(report) == {ROWS}
    assert [v.message for v in report.violations] == ["differs from the recorded head"]


def test_audit_reports_a_changed_journal_id(journal: tuple[Path, str]) -> None:
    path, _ = journal
    execute(path, ["UPDATE meta SET value = 'ffff' WHERE key = 'journal_id'"])
    assert 1 in seqs_of(audit(path))


def test_a_row_whose_hash_was_blanked_and_origin_made_a_blob_is_still_a_mismatch(
        journal: tuple[Path, str]) -> None:
    # The origin is hashed, not replayed: only the hash check can see this edit.
    path, _ = journal
    execute(path, [("UPDATE journal SET hash = '', origin = CAST(origin AS BLOB) WHERE seq = 3",
                    ())])
    assert 3 in seqs_of(audit(path))


def test_audit_reports_undecodable_text_instead_of_raising(journal: tuple[Path, str]) -> None:
    path, _ = journal
    execute(path, [("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq = 3",
                    (b"\xff\xfe{",))])
    report = audit(path)
    assert not report.ok
    assert report.violations[0].seq == 3  # the damaged row is named, not the whole file


def test_audit_read_again_for_undecodable_text_still_tells_its_progress(
        journal: tuple[Path, str]) -> None:
    path, _ = journal
    execute(path, [("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq = 3",
                    (b"\xff\xfe{",))])
    told: list[tuple[int, int]] = []
    report = audit(path, progress=lambda done, total: told.append((done, total)))
    assert 3 in seqs_of(report)
    # The second reading, which names the row, tells up to the last row.
    assert told and told[-1] == (ROWS, ROWS)


def test_audit_names_an_unreadable_row_and_checks_the_rows_before_it(
    journal: tuple[Path, str],
) -> None:
    path, _ = journal
    execute(path, [("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq = 3",
                    (b"\xff\xfe{",))])
    report = audit(path)
    assert 3 in seqs_of(report)
    assert report.rows >= 2


def test_audit_reports_a_hash_valid_illegal_transition(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.append([("o1", "create", "", "created", spec().to_payload(), "live")], 1.0)
        journal.append([("o1", "cancel", "created", "cancelled", {"reason": ""}, "live")], 2.0)
        journal.append([("o1", "note", "cancelled", "cancelled",
                         {"kind": "k", "detail": ""}, "live")], 3.0)
    report = audit(journal_path)
    # Row 3 is about an order that never got cancelled; None: rows appended through the
    # journal alone leave its orders index behind.
    assert seqs_of(report) == {2, 3, None}
    assert "not allowed" in report.render()


def partly_filled_then_cancelled(book: OrderBook) -> None:
    open_order(book)
    book.apply("o1", Fill("t1", "0.4", "100"))
    book.apply("o1", Cancel("enough"))


def partly_filled(book: OrderBook) -> None:
    open_order(book)
    book.apply("o1", Fill("t1", "0.4", "100"))


def fully_filled(book: OrderBook) -> None:
    open_order(book)
    book.apply("o1", Fill("t1", "1", "100"))


def filled_more_than_its_fills(order: Order) -> None:
    order.filled += D("0.1")


def a_fill_beyond_the_amount(order: Order) -> None:
    fills = {**order.fills, "t9": Fill("t9", "0.7", "100")}
    order.fills, order.filled, order.cost = fills, D("1.1"), D("110")


def a_fill_below_zero(order: Order) -> None:
    negative = Fill("t1", "0.4", "100")
    object.__setattr__(negative, "amount", D("-0.4"))  # past the converter, which refuses it
    order.fills, order.filled, order.cost = {"t1": negative}, D("-0.4"), D("-40")


def an_amount_of_two(order: Order) -> None:
    order.amount = D("2")


def no_exchange_id(order: Order) -> None:
    order.exchange_order_id = None


# Each journal is legal and hash-valid, written by the order book; the table makes an order
# that breaks an invariant unreachable through legal rows, so replay's ``apply`` is patched
# to break the rebuilt order after the row named. Audit's reporting path runs end to end:
# the order finished and handed to the tally as the rows stream (cancelled, filled), or
# still open at the end of the rows (partially filled, submitted).
BROKEN: dict[str, tuple[Callable[[OrderBook], None], str, Callable[[Order], None], str]] = {
    "filled-is-not-its-fills": (partly_filled_then_cancelled, "cancel",
                                filled_more_than_its_fills,
                                "filled 0.5 is not the sum of its fills 0.4"),
    "filled-beyond-the-amount": (partly_filled_then_cancelled, "cancel",
                                 a_fill_beyond_the_amount, "filled 1.1 is outside 0..1"),
    "filled-below-zero": (partly_filled_then_cancelled, "cancel", a_fill_below_zero,
                          "filled -0.4 is outside 0..1"),
    "open-filled-beyond-the-amount": (partly_filled, "fill", a_fill_beyond_the_amount,
                                      "filled 1.1 is outside 0..1"),
    "filled-short": (fully_filled, "fill", an_amount_of_two, "is filled with only 1 of 2"),
    "open-without-exchange-id": (partly_filled, "acknowledge", no_exchange_id,
                                 "is partially_filled without an exchange order id"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_audit_reports_an_order_its_rows_rebuild_broken(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    write, trigger, breaking, problem = BROKEN[name]
    with OrderBook.open(journal_path) as book:
        write(book)
    assert audit(journal_path).ok
    real_apply = _replay.apply

    def apply(order: Order, step: Step, now: float) -> None:
        real_apply(order, step, now)
        if step.trigger == trigger:
            breaking(order)

    monkeypatch.setattr(_replay, "apply", apply)
    report = audit(journal_path)
    assert [(v.seq, v.message) for v in report.violations] == [(None, f"order 'o1' {problem}")]
    assert not report.ok and f"order 'o1' {problem}" in report.render()


def test_audit_reports_a_page_it_cannot_read_and_the_rows_before_it(journal_path: Path) -> None:
    # Long rows of one order over many pages; a page in the middle overwritten, as a bad
    # disk leaves it: SQLite's own error, not text that fails to decode.
    with OrderBook.open(journal_path) as book:
        open_order(book)
        for i in range(4, 801):
            book.apply("o1", Note("seen", f"row {i:04d} " + "x" * 400))
    smash_page(journal_path, page_holding(journal_path, "row 0600 "))
    report = audit(journal_path)
    assert [(v.seq, v.message) for v in report.violations] == [
        (None, f"{journal_path}: unreadable: database disk image is malformed")]
    # Every row before the damaged page was read and checked (in batches of 256).
    assert 512 <= report.rows < 600
    assert report.order_count == 1 and report.by_state == {"submitted": 1}
    assert main(["audit", str(journal_path)]) == 1  # violations, not a traceback


def test_an_orders_timeline_over_a_damaged_page_is_corrupt_journal_naming_the_file(
        journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book)
        for i in range(4, 801):
            book.apply("o1", Note("seen", f"row {i:04d} " + "x" * 400))
    smash_page(journal_path, page_holding(journal_path, "row 0600 "))
    with pytest.raises(CorruptJournal) as raised:
        timeline(journal_path, "o1")
    assert str(raised.value) == (
        f"{journal_path}: unreadable: database disk image is malformed")


def test_audit_reports_an_orders_index_it_cannot_read(journal_path: Path) -> None:
    # The rows are sound; the derived table's only page is overwritten.
    with OrderBook.open(journal_path) as book:
        open_order(book)
    smash_page(journal_path, root_page(journal_path, "orders"))
    report = audit(journal_path)
    assert [v.message for v in report.violations] == [
        "the orders index cannot be read: database disk image is malformed"]
    assert report.rows == 3 and report.by_state == {"submitted": 1}
    assert main(["audit", str(journal_path)]) == 1  # a violation, not a traceback


@pytest.mark.parametrize("head", ["", "3", "x:" + "0" * 64, "3:abc", "-1:" + "0" * 64])
def test_a_malformed_expected_head_is_invalid_input(
    journal: tuple[Path, str], head: str
) -> None:
    with pytest.raises(InvalidInput):
        audit(journal[0], expected_head=head)


def test_a_head_of_another_empty_journal_is_reported(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "a.db") as a, Journal.open(tmp_path / "b.db") as b:
        other_head = b.head
        assert a.head != other_head
    assert [str(v) for v in audit(tmp_path / "a.db", expected_head=other_head).violations] == [
        "the recorded head is row 0 of another journal"]


# -- the command line ---------------------------------------------------------------------


def test_cli_audit_of_a_good_journal_exits_0(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, head = journal
    assert main(["audit", str(path)]) == 0
    out = capsys.readouterr().out
    assert "violations 0" in out
    assert f"rows     {ROWS}" in out
    assert main(["audit", str(path), "--expect-head", head]) == 0


def test_cli_audit_exits_1_and_lists_violations(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, head = journal
    execute(path, ["UPDATE journal SET dest = 'filled' WHERE seq = 15"])
    assert main(["audit", str(path)]) == 1
    out = capsys.readouterr().out
    assert "row 15:" in out
    execute(path, ["DELETE FROM journal WHERE seq >= 15"])
    assert main(["audit", str(path), "--expect-head", head]) == 1
    assert "cut off" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"not a database\n" * 10, b""], ids=["text", "empty"])
def test_cli_audit_of_a_foreign_file_exits_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    assert main(["audit", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("fsm-executor: ")
    assert "not a SQLite file" in captured.err
    assert "Traceback" not in captured.err
    assert path.read_bytes() == content


def test_cli_audit_of_a_foreign_sqlite_database_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.sqlite"
    execute(path, ["CREATE TABLE foo (x)"])
    digest = sha256(path)
    assert main(["audit", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an fsm-executor journal" in err
    assert sha256(path) == digest


def test_cli_audit_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(tmp_path / "nope.db")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_cli_audit_rejects_a_malformed_head_with_exit_2(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(journal[0]), "--expect-head", "latest"]) == 2
    assert "SEQ:HASH" in capsys.readouterr().err


@pytest.mark.parametrize("head", [
    "latest", "7", "x:" + "a" * 64, "7:" + "a" * 63, "7:" + "g" * 64,
    "7:" + "a" * 30 + ":" + "b" * 33,
])
def test_a_recorded_head_must_be_a_row_number_and_its_hash(journal: tuple[Path, str],
                                                             head: str) -> None:
    with pytest.raises(InvalidInput, match="expected head must be SEQ:HASH"):
        audit(journal[0], expected_head=head)


def test_a_recorded_head_copied_in_upper_case_is_the_same_head(
        journal: tuple[Path, str]) -> None:
    path, head = journal
    seq, _, digest = head.partition(":")
    assert audit(path, expected_head=f"{seq}:{digest.upper()}").ok


def test_cli_audit_json_parses(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, head = journal
    assert main(["audit", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["ok"], data["rows"], data["head"], data["violations"]) == (True, ROWS, head, [])
    execute(path, ["UPDATE journal SET trigger = 'cancel' WHERE seq = 14"])
    assert main(["audit", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert 14 in {v["seq"] for v in data["violations"]}


def test_cli_audit_order_prints_its_timeline(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = journal
    assert main(["audit", str(path), "--order", "o3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    o3 = [r for r in rows(path) if r[1] == "o3"]
    assert len(lines) == len(o3) == 9
    for line, row in zip(lines, o3, strict=True):
        assert line.split()[0] == str(row[0])
        assert row[2] in line
        assert row[5] in line
    assert "pending_cancel -> partially_filled" in lines[5]
    assert "2023-11-14T" in lines[0]  # FakeClock's default start, in UTC ISO form


def test_cli_audit_order_json_parses(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = journal
    assert main(["audit", str(path), "--order", "o1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["order"]["state"] == "filled"
    assert data["order"]["fees"] == {"BTC": "0.0001", "USDT": "0.04"}
    assert [e["trigger"] for e in data["timeline"]] == [
        "create", "submit", "acknowledge", "fill", "fill", "note"]
    assert data["timeline"][3]["payload"]["trade_id"] == "t1"
    assert data["violations"] == []


def test_cli_audit_of_an_unknown_order_exits_2(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(journal[0]), "--order", "o404"]) == 2
    assert "no order 'o404'" in capsys.readouterr().err


def test_cli_audit_order_on_a_damaged_row_exits_cleanly(
    journal: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = journal
    execute(path, [("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq = 2",
                    (b"\xff\xfe{",))])
    assert main(["audit", str(path), "--order", "o1"]) in (1, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_audit_does_not_modify_the_journal(journal: tuple[Path, str]) -> None:
    path, head = journal
    digest, mtime = sha256(path), os.stat(path).st_mtime_ns
    audit(path, expected_head=head)
    main(["audit", str(path), "--order", "o1"])
    assert (sha256(path), os.stat(path).st_mtime_ns) == (digest, mtime)
