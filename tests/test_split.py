"""A journal read in two halves at once (journal/_split.py) finds what one reading finds.

Most tests run the second half in this process (``here``: the very function the other
process runs, its answer pickled as it would be); the last ones start the real process, as
``audit`` and ``replay`` do for a long journal.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_tools import as_schema_1, execute, rows, spec
from strategies import EVENTS, order_specs
from test_properties import REFUSALS

from fsm_executor import (
    Acknowledge,
    FakeClock,
    Fill,
    Note,
    OrderBook,
    Submit,
    audit,
)
from fsm_executor.cli._cli import main
from fsm_executor.core._machine import allowed_triggers
from fsm_executor.journal import _journal, _split
from fsm_executor.journal._journal import Journal, JournalReader
from fsm_executor.journal._pass import Reading, whole
from fsm_executor.journal._split import read_in_halves

MODES = (True, False)  # audit, replay


class Here:
    """The other process, run in this one: ``second_half`` answered as ``main`` would."""

    def __init__(self, path: Path, at: int, end: int, audit: bool, anchors: Any) -> None:
        self.args = (str(path), at, end, audit, anchors)
        self.returncode: int | None = None
        self.out = b""

    def communicate(self) -> tuple[bytes, bytes]:
        if self.returncode is None:
            try:
                self.out = pickle.dumps(_split.second_half(*self.args))
                self.returncode = 0
            except (_split._TooMany, _split.CorruptJournal):
                self.out, self.returncode = b"", 1
        return self.out, b""

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        self.returncode = -9


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch) -> list[Here]:
    started: list[Here] = []

    def start(*args: Any) -> Here:
        started.append(Here(*args))
        return started[-1]

    monkeypatch.setattr(_split, "_start", start)
    return started


def found(reading: Reading) -> dict[str, Any]:
    """What a reading found, comparably (the order of since_create is no finding; where the
    chain ends, only an audit says)."""
    tally = reading.tally
    return {
        "rows": reading.rows, "end": reading.end if reading.audit else None,
        "last_create": reading.last_create,
        "creates": reading.creates, "violations": reading.violations,
        "count": tally.count, "states": {s: n for s, n in tally.states.items() if n},
        "digest": tally.digest, "problems": tally.problems,
        "since_create": sorted(tally.since_create, key=repr),
        "orders": reading.orders, "spans": reading.spans,
    }


def one_reading(path: Path, audit: bool) -> Reading:
    with JournalReader(path) as reader, reader.consistent():
        return whole([reader], audit)


def in_halves(path: Path, audit: bool, at: int) -> Reading | None:
    with JournalReader(path) as reader, reader.consistent():
        return read_in_halves(reader, audit, at=at)


def last_seq(path: Path) -> int:
    with JournalReader(path) as reader:
        return reader.last_seq()


def history(data: st.DataObject, path: Path) -> None:
    """Orders created all along, each driven by events its state allows (sometimes a note
    after its end, a fill delivered again, an event refused): orders open across any
    middle, and notes that bring finished ones back."""
    clock = FakeClock()
    ids: list[str] = []
    with OrderBook.open(path, clock=clock) as book:
        for _ in range(data.draw(st.integers(1, 40), label="steps")):
            clock.advance(data.draw(st.sampled_from([0, 0.5])))
            if not ids or data.draw(st.integers(0, 4)) == 0:
                new = data.draw(order_specs.filter(lambda s: s.client_order_id not in ids
                                                   and s.signal_id not in ids))
                book.create(new)
                ids.append(new.client_order_id)
                continue
            order_id = data.draw(st.sampled_from(ids))
            allowed = sorted(allowed_triggers(book.state_of(order_id)))
            trigger = data.draw(st.sampled_from(allowed)) if allowed else "note"
            with contextlib.suppress(*REFUSALS):
                book.apply(order_id, data.draw(EVENTS[trigger]))


@given(st.data())
def test_every_split_of_a_random_history_finds_what_one_reading_finds(
    data: st.DataObject,
) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(_split, "_start", Here)
        path = Path(tmp) / "journal.db"
        history(data, path)
        end = last_seq(path)
        if end < 2:
            return
        points = data.draw(st.lists(st.integers(1, end - 1), min_size=1, max_size=4,
                                    unique=True), label="split after")
        for audit_mode in MODES:
            one = one_reading(path, audit_mode)
            assert not one.violations
            for at in points:
                halves = in_halves(path, audit_mode, at)
                assert halves is not None, at  # a clean journal is read in halves
                assert found(halves) == found(one), at


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def crossing(path: Path) -> None:
    """o1 open across every middle, o2 and o3 created and finished after it, and a note on
    o2 after o3 is created: rows 1-3 o1's, 4-8 o2's and o3's, then o1 fills, the note."""
    clock = FakeClock()
    with OrderBook.open(path, clock=clock) as book:
        for cid in ("o1", "o2", "o3"):
            book.create(spec(cid))
            if cid == "o1":
                book.apply("o1", Submit())
                book.apply("o1", Acknowledge("x1"))
        for cid in ("o2", "o3"):
            book.apply(cid, Submit())
            book.apply(cid, Acknowledge(f"x{cid}"))
            book.apply(cid, Fill(f"t{cid}", "1", "100"))
        book.apply("o1", Fill("t1", "1", "100"))
        book.apply("o2", Note("checked again"))


@pytest.mark.parametrize("audit_mode", MODES)
def test_rows_of_the_first_halfs_orders_are_handed_back_and_read_in_order(
    journal_path: Path, here: list[Here], audit_mode: bool,
) -> None:
    crossing(journal_path)
    one = one_reading(journal_path, audit_mode)
    assert one.last_create == (5 if audit_mode else 0)  # o3's create row (audit's figure)
    for at in range(1, 13):  # at 4: o1's rows and o2's create; o2's rows and note later
        halves = in_halves(journal_path, audit_mode, at=at)
        assert halves is not None
        assert found(halves) == found(one)
        assert halves.tally.count == 3 and not halves.orders
    assert len(here) == 12


def test_an_order_of_the_first_half_created_again_in_the_second_is_read_the_one_way(
    journal_path: Path, here: list[Here],
) -> None:
    with OrderBook.open(journal_path, clock=FakeClock()) as book:
        book.create(spec("o1"))
        book.create(spec("o2"))
    with Journal.open(journal_path) as journal:  # hash-valid: a writer's bug, not an edit
        journal.append([("o1", "create", "", "created", spec("o1").to_payload(), "live")],
                       0.0)
    assert in_halves(journal_path, True, at=2) is None
    assert in_halves(journal_path, False, at=2) is None
    report = audit(journal_path)
    assert "order 'o1' is created a second time" in [v.message for v in report.violations]


def test_a_finished_order_of_the_first_half_brought_back_and_created_again_is_read_the_one_way(
    journal_path: Path, here: list[Here],
) -> None:
    # o1 ends in the first half (the reader lets it go); the second half notes it, then
    # creates it again: the note is handed back, and brings it back to be found created
    # twice.
    with OrderBook.open(journal_path, clock=FakeClock()) as book:
        book.create(spec("o1"))
        book.apply("o1", Submit())
        book.apply("o1", Acknowledge("x1"))
        book.apply("o1", Fill("t1", "1", "100"))  # row 4: filled
        book.create(spec("o2"))
        book.apply("o1", Note("checked again"))  # row 6
    with Journal.open(journal_path) as journal:
        journal.append([("o1", "create", "", "created", spec("o1").to_payload(), "live")],
                       0.0)  # row 7
    assert in_halves(journal_path, True, at=5) is None
    assert "order 'o1' is created a second time" in [
        v.message for v in audit(journal_path).violations]


def test_a_recorded_hash_in_the_first_half_is_checked_there(
    journal_path: Path, here: list[Here],
) -> None:
    crossing(journal_path)
    real = {seq: hash_ for seq, *_, hash_ in rows(journal_path)}
    with JournalReader(journal_path) as reader, reader.consistent():
        assert read_in_halves(reader, True, {2: real[2]}, at=4) is not None
        assert read_in_halves(reader, True, {2: "0" * 64}, at=4) is None


def test_a_recorded_hash_in_the_second_half_is_checked_there(
    journal_path: Path, here: list[Here],
) -> None:
    crossing(journal_path)
    real = {seq: hash_ for seq, *_, hash_ in rows(journal_path)}
    with JournalReader(journal_path) as reader, reader.consistent():
        assert read_in_halves(reader, True, {10: real[10]}, at=4) is not None
        assert read_in_halves(reader, True, {10: "0" * 64}, at=4) is None


@pytest.mark.parametrize("audit_mode", MODES)
def test_rows_written_while_a_journal_is_read_in_halves_are_left_to_the_next_reading(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch, audit_mode: bool,
) -> None:
    # A bot writes on while its journal is read: the other process reads up to the last
    # row this one sees, not whatever is there when it gets to it.
    crossing(journal_path)
    one = one_reading(journal_path, audit_mode)

    def start(*args: Any) -> Here:
        with OrderBook.open(journal_path, clock=FakeClock()) as book:
            book.create(spec("later"))
        return Here(*args)

    monkeypatch.setattr(_split, "_start", start)
    halves = in_halves(journal_path, audit_mode, at=4)
    assert halves is not None and found(halves) == found(one)
    assert one_reading(journal_path, audit_mode).creates == one.creates + 1


def test_the_other_process_imports_this_copy_of_the_package_and_is_told_what_to_read(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From a source tree that is not installed (or another copy than the installed one),
    # the other process must read with the same code as this one.
    started: list[tuple[list[str], dict[str, str]]] = []

    def popen(command: list[str], **options: Any) -> Any:
        started.append((command, options["env"]))
        return None

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    root = str(Path(_split.__file__).resolve().parents[2])
    _split._start(journal_path, 4, 9, True, {2: "ab"})
    _split._start(journal_path, 4, 9, False, {})
    (audit_command, env), (replay_command, _) = started
    assert env["PYTHONPATH"] == os.pathsep.join((root, "/elsewhere"))
    assert (Path(root) / "fsm_executor" / "journal" / "_split.py").is_file()
    assert audit_command == [sys.executable, "-m", "fsm_executor.journal._split",
                             str(journal_path), "4", "9", "audit", '{"2": "ab"}']
    assert replay_command[-2:] == ["replay", "{}"]


def test_the_first_half_takes_the_index_figures_while_the_other_reads(
    journal_path: Path, here: list[Here],
) -> None:
    crossing(journal_path)
    with JournalReader(journal_path) as reader, reader.consistent():
        halves = read_in_halves(reader, True, at=4)
        assert halves is not None
        assert halves.indexed == (reader.index.count(0), reader.index.digest(0)) != (0, 0)
        assert read_in_halves(reader, False, at=4).indexed is None  # type: ignore[union-attr]


def test_a_second_half_that_chains_from_another_row_is_read_the_one_way(
    journal_path: Path, here: list[Here], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its first row chains from the hash it read of row ``at``: another than this reading
    # ended with means the two did not read one file.
    crossing(journal_path)
    real = _split.second_half

    def from_elsewhere(*args: Any) -> Any:
        start, reading, handed_back = real(*args)
        return "f" * 64, reading, handed_back

    monkeypatch.setattr(_split, "second_half", from_elsewhere)
    assert in_halves(journal_path, True, at=4) is None


def test_a_row_of_an_order_never_created_in_the_second_half_is_read_the_one_way(
    journal_path: Path, here: list[Here],
) -> None:
    with OrderBook.open(journal_path, clock=FakeClock()) as book:
        book.create(spec("o1"))
        book.create(spec("o2"))
    with Journal.open(journal_path) as journal:
        journal.append([("ghost", "submit", "created", "pending_submit", {}, "live")], 0.0)
    for audit_mode in MODES:
        assert in_halves(journal_path, audit_mode, at=1) is None
    assert [v.seq for v in audit(journal_path).violations] == [3]


@pytest.mark.parametrize("edited", [2, 6])  # in the first half, in the second
def test_an_edited_row_in_either_half_is_read_the_one_way(
    journal_path: Path, here: list[Here], edited: int,
) -> None:
    crossing(journal_path)
    execute(journal_path, [("UPDATE journal SET ts = ts + 1 WHERE seq = ?", (edited,))])
    assert in_halves(journal_path, True, at=4) is None
    # Edited in the first half: the other process is stopped, not waited for (Here.kill);
    # in the second, it has answered already.
    assert here[0].returncode == (-9 if edited == 2 else 0)
    report = audit(journal_path)
    assert [v.seq for v in report.violations] == [edited]


@pytest.mark.parametrize("audit_mode", MODES)
def test_a_split_with_an_empty_half_or_a_journal_without_the_index_is_not_made(
    journal_path: Path, here: list[Here], audit_mode: bool,
) -> None:
    # An empty half splits nothing; without the orders index (schema 1) a reader cannot
    # bring back an order the other half's rows name: the journal is read the one way.
    crossing(journal_path)
    for at in (0, 13):  # the rows are 1-13
        assert in_halves(journal_path, audit_mode, at=at) is None
    as_schema_1(journal_path)
    assert in_halves(journal_path, audit_mode, at=4) is None
    assert not here  # no other process started
    assert len(one_reading(journal_path, audit_mode).orders) == 3  # held, none handed over


def test_too_many_rows_handed_back_is_read_the_one_way(
    journal_path: Path, here: list[Here], monkeypatch: pytest.MonkeyPatch,
) -> None:
    crossing(journal_path)
    monkeypatch.setattr(_split, "HANDED_BACK_MAX", 0)  # after row 3: o1's fill, one row
    assert in_halves(journal_path, True, at=3) is None
    monkeypatch.setattr(_split, "HANDED_BACK_MAX", 1)
    assert in_halves(journal_path, True, at=3) is not None


def test_a_journal_shorter_than_the_split_is_read_the_one_way(
    journal_path: Path, here: list[Here],
) -> None:
    crossing(journal_path)
    with JournalReader(journal_path) as reader, reader.consistent():
        assert read_in_halves(reader, True) is None  # 13 rows, far below SPLIT_MIN
    assert not here


def test_one_core_is_read_the_one_way_and_cores_are_those_this_process_may_use(
    journal_path: Path, here: list[Here], monkeypatch: pytest.MonkeyPatch,
) -> None:
    crossing(journal_path)
    monkeypatch.setattr(_split, "SPLIT_MIN", 4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert _split._cores() == 1
    with JournalReader(journal_path) as reader, reader.consistent():
        assert read_in_halves(reader, True) is None  # a second process would wait its turn
    assert not here
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5, 7})
    assert _split._cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # not Linux
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _split._cores() == 1


def filled_orders(path: Path, count: int, clock: FakeClock | None = None) -> None:
    """``count`` orders, each created, submitted, acknowledged and filled: 4 rows each."""
    with OrderBook.open(path, clock=clock or FakeClock()) as book:
        for i in range(count):
            cid = f"o{i}"
            book.create(spec(cid))
            book.apply(cid, Submit())
            book.apply(cid, Acknowledge(f"x{i}"))
            book.apply(cid, Fill(f"t{i}", "1", "100"))
            if clock is not None:
                clock.advance(10)


def archived_before_row_9(path: Path) -> None:
    """Six orders, the first two's rows archived: the live file continues row 8."""
    from fsm_executor.journal._archive import archive

    clock = FakeClock(1000)
    filled_orders(path, 6, clock)
    assert archive(path, before=1015, clock=clock).last_seq == 8


@pytest.mark.parametrize(("audit_mode", "at"), [(True, 8 + 9 - 4), (False, 8 + 9)])
def test_the_first_half_is_the_longer_by_the_head_start_and_audit_leaves_the_other_more(
    journal_path: Path, here: list[Here], monkeypatch: pytest.MonkeyPatch, audit_mode: bool,
    at: int,
) -> None:
    # Rows 9-24 (a live file whose first rows are archived): the middle of its 16 rows and
    # the head start of 2, (16 + 2) // 2 = 9 rows; audit leaves a quarter of the 16 to the
    # other process, which does not digest the index.
    archived_before_row_9(journal_path)
    monkeypatch.setattr(_split, "SPLIT_MIN", 16)  # a journal of exactly SPLIT_MIN rows splits
    monkeypatch.setattr(_split, "HEAD_START", 2)
    monkeypatch.setattr(_split, "AUDIT_LEAD", 0.25)
    monkeypatch.setattr(_split, "_cores", lambda: 2)
    with JournalReader(journal_path) as reader, reader.consistent():
        halves = read_in_halves(reader, audit_mode)
        assert halves is not None and (halves.creates, halves.tally.count) == (4, 4)
        monkeypatch.setattr(_split, "SPLIT_MIN", 17)
        assert read_in_halves(reader, audit_mode) is None
    assert len(here) == 1 and here[0].args[1:3] == (at, 24)


def test_the_first_halfs_progress_counts_for_both_halves_up_to_the_rows_of_the_file(
    journal_path: Path, here: list[Here],
) -> None:
    # 150 orders after the 8 rows archived: rows 9-608. The first half, rows 9-300, is told
    # batch by batch (256 rows at first), each count scaled by 600 / 292, up to 600.
    from fsm_executor.journal._archive import archive

    clock = FakeClock(1000)
    filled_orders(journal_path, 152, clock)
    assert archive(journal_path, before=1015, clock=clock).last_seq == 8
    told: list[tuple[int, int]] = []
    with JournalReader(journal_path) as reader, reader.consistent():
        halves = read_in_halves(reader, True, at=300,
                                progress=lambda done, total: told.append((done, total)))
    assert halves is not None and halves.rows == 600
    assert _journal.BATCH < 292
    assert told[0] == (int(_journal.BATCH * 600 / 292), 600) and set(told[1:]) == {(600, 600)}


@pytest.fixture
def split_early(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """``audit`` and ``replay`` split a journal of a few rows, in real processes."""
    monkeypatch.setattr(_split, "SPLIT_MIN", 4)
    monkeypatch.setattr(_split, "HEAD_START", 0)
    monkeypatch.setattr(_split, "_cores", lambda: 2)
    started: list[Any] = []
    real = _split._start

    def start(*args: Any) -> Any:
        started.append(real(*args))
        return started[-1]

    monkeypatch.setattr(_split, "_start", start)
    yield started


def test_audit_of_a_long_journal_reads_its_second_half_in_another_process(
    journal_path: Path, split_early: list[subprocess.Popen[bytes]],
) -> None:
    crossing(journal_path)
    report = audit(journal_path)
    assert len(split_early) == 1 and split_early[0].returncode == 0
    assert split_early[0].args[:3] == [sys.executable, "-m", "fsm_executor.journal._split"]
    with JournalReader(journal_path) as reader, reader.consistent():
        halves = read_in_halves(reader, True)
    assert halves is not None and found(halves) == found(one_reading(journal_path, True))
    assert report.ok and report.rows == 13 and report.by_state == {"filled": 3}


def test_the_other_process_checks_a_recorded_head_in_its_half(
    journal_path: Path, split_early: list[subprocess.Popen[bytes]],
) -> None:
    crossing(journal_path)
    real = {seq: hash_ for seq, *_, hash_ in rows(journal_path)}
    assert audit(journal_path, expected_head=f"11:{real[11]}").ok
    assert not audit(journal_path, expected_head=f"11:{'0' * 64}").ok
    # Each half read in a real process to its end: the mismatch was the other's to find.
    assert [p.returncode for p in split_early] == [0, 0]


def test_replay_of_a_long_journal_counts_as_one_reading(
    journal_path: Path, split_early: list[subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    crossing(journal_path)
    assert main(["replay", str(journal_path), "--json"]) == 0
    assert len(split_early) == 1 and split_early[0].returncode == 0
    assert '"filled": 3' in capsys.readouterr().out


def test_a_second_process_that_fails_leaves_the_reading_to_this_one(
    journal_path: Path, split_early: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crossing(journal_path)
    python = sys.executable
    monkeypatch.setattr(sys, "executable", python + "-missing")
    report = audit(journal_path)
    assert split_early == [None]  # it could not start
    assert report.ok and report.rows == 13 and report.by_state == {"filled": 3}
    monkeypatch.setattr(sys, "executable", python)
    monkeypatch.setattr(_split, "__name__", "no.such.module")
    with JournalReader(journal_path) as reader, reader.consistent():
        assert read_in_halves(reader, True) is None
    assert split_early[-1].returncode != 0


def test_audit_tells_its_progress_up_to_every_row_in_one_reading_or_two(
    journal_path: Path, split_early: list[subprocess.Popen[bytes]],
) -> None:
    crossing(journal_path)
    told: list[tuple[int, int]] = []
    assert audit(journal_path, progress=lambda done, total: told.append((done, total))).ok
    assert len(split_early) == 1  # in two halves: the first half's rows count double
    assert told[-1] == (13, 13) and told == sorted(told)
    told.clear()
    with JournalReader(journal_path) as reader, reader.consistent():
        whole([reader], True, progress=lambda done, total: told.append((done, total)))
    assert told[-1] == (13, 13) and told == sorted(told)


# -- audit and replay as they split a long journal (the other half run here) ---------------

@pytest.fixture
def split_here(monkeypatch: pytest.MonkeyPatch) -> list[Here]:
    """``audit`` splits a journal of a few rows, the other half run in this process."""
    monkeypatch.setattr(_split, "SPLIT_MIN", 4)
    monkeypatch.setattr(_split, "HEAD_START", 0)
    monkeypatch.setattr(_split, "_cores", lambda: 2)
    started: list[Here] = []

    def start(*args: Any) -> Here:
        started.append(Here(*args))
        return started[-1]

    monkeypatch.setattr(_split, "_start", start)
    return started


def test_audit_in_halves_checks_the_chain_and_a_recorded_head_in_the_second_half(
    journal_path: Path, split_here: list[Here],
) -> None:
    crossing(journal_path)
    real = {seq: hash_ for seq, *_, hash_ in rows(journal_path)}
    report = audit(journal_path, expected_head=f"11:{real[11]}")
    assert len(split_here) == 1 and split_here[0].args[3] is True  # an audit's half
    assert split_here[0].args[4] == {11: real[11]}
    assert report.ok and report.head == f"13:{real[13]}" and report.rows == 13
    assert not audit(journal_path, expected_head=f"11:{'0' * 64}").ok
    execute(journal_path, [("UPDATE journal SET payload = replace(payload, '100', '101')"
                            " WHERE seq = 12", ())])
    assert 12 in {v.seq for v in audit(journal_path).violations}


def test_audit_in_halves_tells_its_progress_up_to_every_row(
    journal_path: Path, split_here: list[Here],
) -> None:
    crossing(journal_path)
    told: list[tuple[int, int]] = []
    assert audit(journal_path, progress=lambda done, total: told.append((done, total))).ok
    assert len(split_here) == 1 and told and told[-1] == (13, 13)


def test_a_journal_with_its_archives_is_read_the_one_way_every_file_in_it(
    journal_path: Path, split_here: list[Here],
) -> None:
    from fsm_executor.journal._archive import archive

    clock = FakeClock(1000)
    with OrderBook.open(journal_path, clock=clock) as book:
        for cid in ("o1", "o2", "o3"):
            book.create(spec(cid))
            book.apply(cid, Submit())
            book.apply(cid, Acknowledge(f"x{cid}"))
            book.apply(cid, Fill(f"t{cid}", "1", "100"))
            clock.advance(10)
    done = archive(journal_path, before=1015, clock=clock)
    report = audit(journal_path, archives=[done.into])
    assert report.ok and (report.rows, report.order_count) == (12, 3)
    assert not split_here  # two files: no halves
