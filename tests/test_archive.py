"""Journal retention: the oldest finished orders' rows move into an archive whose chain the
live journal continues; audit verifies the archive and the live file together; an archived
order's signal stays known, so it is never placed again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from journal_tools import execute, rows

from fsm_executor import (
    Acknowledge,
    FakeClock,
    Fill,
    OrderArchived,
    OrderBook,
    OrderSpec,
    Submit,
    audit,
    replay,
)
from fsm_executor.cli._cli import main
from fsm_executor.journal._archive import archive


def order(book: OrderBook, clock: FakeClock, i: int, finish: bool = True) -> None:
    """Order ``o{i}`` (signal ``s{i}``): created, acknowledged and, with ``finish``, filled,
    then ten seconds pass."""
    cid = f"o{i}"
    book.create(OrderSpec(cid, "BTC/USDT", "buy", "limit", "1", "100", f"s{i}"))
    book.apply(cid, Submit())
    book.apply(cid, Acknowledge(f"x{i}"))
    if finish:
        book.apply(cid, Fill(f"t{i}", "1", "100"))
    clock.advance(10)


@pytest.fixture
def history(journal_path: Path) -> tuple[Path, FakeClock]:
    """o0..o4 filled (rows 1-20, t=1000..1040), o5 resting (rows 21-23, t=1050), o6 and o7
    filled after it (rows 24-31)."""
    clock = FakeClock(1000)
    with OrderBook.open(journal_path, clock=clock) as book:
        for i in range(5):
            order(book, clock, i)
        order(book, clock, 5, finish=False)
        for i in (6, 7):
            order(book, clock, i)
    return journal_path, clock


def test_archiving_moves_a_prefix_of_finished_orders_and_both_files_audit_as_one(
        history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    everything = replay(path)
    # o5, still open, pins the cut: its rows and every later row stay live, although o6
    # finished before the date.
    done = archive(path, before=1075, clock=clock)
    assert (done.first_seq, done.last_seq, done.rows, done.orders) == (1, 20, 20, 5)
    assert done.into == path.with_name(f"{path.stem}.archive-1-20{path.suffix}")
    assert [r[0] for r in rows(path)] == list(range(21, 32)) and done.live_rows == 11
    assert set(replay(path)) == {"o5", "o6", "o7"}
    assert set(replay(done.into)) == {f"o{i}" for i in range(5)}
    assert replay(done.into) | replay(path) == everything
    live, archived = audit(path), audit(done.into)
    assert live.ok and archived.ok, live.render() + archived.render()
    together = audit(path, archives=[done.into])
    assert together.ok, together.render()
    assert (together.rows, together.order_count) == (31, 8)
    assert together.by_state == {"submitted": 1, "filled": 7}


def test_an_archived_signal_is_still_known_and_the_journal_goes_on(
        history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    done = archive(path, before=1075, clock=clock)
    with OrderBook.open(path, clock=clock) as book:
        assert book.index_rebuilt is None
        assert [o.client_order_id for o in book.unfinished()] == ["o5"]
        with pytest.raises(OrderArchived) as archived:
            book.by_signal("s0")  # known: a bot running s0 again places nothing
        assert archived.value.order_id == "o0"
        with pytest.raises(OrderArchived) as archived:
            book.get("o1")
        assert archived.value.order_id == "o1"
        assert "o0" in book
        book.apply("o5", Fill("t5", "1", "100"))
        order(book, clock, 8)
    assert audit(path, archives=[done.into]).ok


def test_everything_archived_leaves_a_live_file_that_continues_the_chain(
        history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    first = archive(path, before=1075, clock=clock)
    with OrderBook.open(path, clock=clock) as book:
        book.apply("o5", Fill("t5", "1", "100"))
    second = archive(path, before=5000, clock=clock)
    assert (second.first_seq, second.last_seq, second.live_rows) == (21, 32, 0)
    with OrderBook.open(path, clock=clock) as book:
        order(book, clock, 9)  # row 33: chained to the archived row 32
    assert [r[0] for r in rows(path)] == [33, 34, 35, 36]
    assert audit(path, archives=[first.into, second.into]).ok
    # An archive left out is named, not silently skipped.
    missing = audit(path, archives=[second.into])
    assert str(missing.violations[0]) == (
        f"{Path(second.into).name} continues row {rows(second.into)[0][0] - 1}: the archive "
        "before it is missing")


def test_nothing_to_archive_changes_nothing(history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    before = rows(path)
    done = archive(path, before=1000, clock=clock)  # every row is from 1000 on
    assert (done.into, done.rows) == (None, 0)
    assert rows(path) == before


def test_audit_catches_an_edited_archive_and_one_of_another_journal(
        history: tuple[Path, FakeClock], tmp_path: Path) -> None:
    path, clock = history
    done = archive(path, before=1075, clock=clock)
    assert done.into is not None
    execute(done.into, ["UPDATE journal SET payload = replace(payload, '\"1\"', '\"2\"')"
                        " WHERE seq = 1"])
    report = audit(path, archives=[done.into])
    assert [v.seq for v in report.violations][:1] == [1]
    other = tmp_path / "other.db"
    with OrderBook.open(other, clock=FakeClock(1000)) as book:
        order(book, FakeClock(1000), 0)
    stranger = audit(path, archives=[other])
    assert str(stranger.violations[0]) == "the files given are of different journals"


def test_audit_reads_every_file_past_an_archive_that_breaks(
        history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    done = archive(path, before=1075, clock=clock)
    assert done.into is not None
    for file, seq in ((done.into, 7), (path, 26)):  # acknowledgements
        execute(file, [f"UPDATE journal SET payload = replace(payload, '\"x', '\"y')"
                       f" WHERE seq = {seq}"])
    report = audit(path, archives=[done.into])
    # An edit in each file: the archive's does not end the audit.
    assert [v.seq for v in report.violations if v.seq is not None] == [7, 26]
    assert report.rows == 31


def test_the_command_line_archives_and_audits_both(
        history: tuple[Path, FakeClock], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = history
    date = datetime.fromtimestamp(1075, UTC).isoformat()
    assert main(["journal", "archive", str(path), "--before", date, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["first_seq"], done["last_seq"], done["orders"]) == (1, 20, 5)
    assert main(["audit", str(path), "--with", done["archive"]]) == 0
    out = capsys.readouterr().out
    assert "orders   8" in out and "violations 0" in out
    assert main(["journal", "archive", str(path), "--before", "yesterday"]) == 2
    assert "ISO date" in capsys.readouterr().err


def test_archiving_a_journal_a_bot_is_writing_is_refused(
        history: tuple[Path, FakeClock], capsys: pytest.CaptureFixture[str]) -> None:
    path, clock = history
    with OrderBook.open(path, clock=clock):
        assert main(["journal", "archive", str(path), "--before", "2030-01-01"]) == 4
    assert "open for writing" in capsys.readouterr().err
    assert len(rows(path)) == 31


def test_an_old_order_still_open_keeps_every_later_row_live(journal_path: Path) -> None:
    clock = FakeClock(1000)
    with OrderBook.open(journal_path, clock=clock) as book:
        order(book, clock, 0, finish=False)  # resting since the start
        for i in range(1, 4):
            order(book, clock, i)
    done = archive(journal_path, before=5000, clock=clock)
    assert (done.into, done.live_rows) == (None, 15)


def test_an_audit_across_archives_tells_its_progress_over_every_file_and_names_a_gap(
        history: tuple[Path, FakeClock]) -> None:
    path, clock = history
    first = archive(path, before=1025, clock=clock)  # o0-o2: rows 1-12
    second = archive(path, before=1075, clock=clock)  # o3, o4: rows 13-20
    assert (first.last_seq, second.last_seq) == (12, 20)
    assert first.into is not None and second.into is not None
    told: list[tuple[int, int]] = []
    report = audit(path, archives=[first.into, second.into],
                   progress=lambda done, total: told.append((done, total)))
    assert report.ok and report.rows == 31
    assert {(12, 31), (20, 31)} <= set(told) and told[-1] == (31, 31)
    assert told == sorted(told)
    gap = audit(path, archives=[first.into])  # the second archive left out
    assert [str(v) for v in gap.violations][:1] == [
        f"{path.name} continues row 20, and the file before it ends at row 12, another chain"]
