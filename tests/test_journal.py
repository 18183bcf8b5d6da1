"""The journal file: created safely, identified before use, never touched when foreign."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from journal_tools import (
    as_schema_1,
    execute,
    open_order,
    page_holding,
    page_size,
    root_page,
    rows,
    sha256,
    smash_page,
    spec,
)

from fsm_executor import (
    ConcurrentWriter,
    CorruptJournal,
    Entry,
    Fill,
    InvalidInput,
    Journal,
    JournalReader,
    NotAJournal,
    Note,
    OrderBook,
    RequestCancel,
    UnsupportedSchema,
    audit,
    replay,
)
from fsm_executor.journal._file import APPLICATION_ID, FORMAT, SCHEMA_VERSION, check_identity
from fsm_executor.journal._journal import chain_hash, genesis_hash
from fsm_executor.journal._lock import lock_path

ROW = ("o1", "create", "", "created", spec().to_payload(), "live")


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_journal_file_is_readable_by_its_owner_only(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        book.create(spec())
        for name in (journal_path, Path(f"{journal_path}-wal")):
            assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(journal_path).st_mode) == 0o600


def test_creating_a_journal_leaves_no_temporary_files(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    assert sorted(p.name for p in journal_path.parent.iterdir()) == [journal_path.name]


def test_journal_is_in_wal_mode(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    assert query(journal_path, "PRAGMA journal_mode") == [("wal",)]


def test_journal_records_its_format_and_schema_version(journal_path: Path) -> None:
    Journal.open(journal_path, now=123.5).close()
    meta = dict(query(journal_path, "SELECT key, value FROM meta"))
    assert meta["format"] == FORMAT
    assert meta["schema_version"] == str(SCHEMA_VERSION) == "2"
    assert re.fullmatch(r"[0-9a-f]{32}", meta["journal_id"])
    assert meta["created_at"] == "123.5"
    assert query(journal_path, "SELECT version, applied_at FROM migrations") == [(2, 123.5)]
    assert query(journal_path, "PRAGMA application_id") == [(APPLICATION_ID,)]


def test_a_journal_opened_without_a_time_records_the_system_clocks(journal_path: Path) -> None:
    before = time.time()
    Journal.open(journal_path).close()
    after = time.time()
    created = float(dict(query(journal_path, "SELECT key, value FROM meta"))["created_at"])
    [(applied,)] = query(journal_path, "SELECT applied_at FROM migrations")
    assert before <= created == applied <= after


def test_a_journal_another_process_creates_meanwhile_is_opened_not_clobbered(
        journal_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A process that takes no lock links its journal into place between this writer's
    # look for the file and its own creation: the file there is then checked and opened.
    from fsm_executor.journal import _journal

    create = _journal.create
    theirs: list[str] = []

    def raced(path: Path, now: float) -> None:
        create(path, now)  # theirs, first
        theirs.append(check_identity(path)["journal_id"])
        create(path, now)  # ours: the link fails, the file stays theirs

    monkeypatch.setattr(_journal, "create", raced)
    with Journal.open(journal_path, now=1.0) as journal:
        assert journal.journal_id == theirs[0]
        journal.append([ROW], 2.0)
    assert [r[1] for r in rows(journal_path)] == ["o1"]


def test_a_file_sqlite_cannot_open_is_not_a_journal_and_is_named(
        journal_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite's own refusal stood in: as root (CI's containers), no file mode keeps it out.
    Journal.open(journal_path).close()

    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(NotAJournal, match="cannot be opened: unable to open database file"
                       ) as info:
        check_identity(journal_path)
    assert info.value.path == str(journal_path)


def test_a_writer_migrates_a_journal_of_schema_1_in_place(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book)
    as_schema_1(journal_path)
    Journal.open(journal_path, now=77.5).close()
    assert dict(query(journal_path, "SELECT key, value FROM meta"))["schema_version"] == "2"
    assert query(journal_path, "SELECT version, applied_at FROM migrations ORDER BY version"
                 ) == [(1, 0.0), (2, 77.5)]
    assert query(journal_path, "SELECT name FROM sqlite_master WHERE name LIKE 'orders%'"
                 " ORDER BY name") == [("orders",), ("orders_by_signal",), ("orders_open",)]


def test_a_migration_refused_midway_leaves_the_journal_of_schema_1_as_it_was(
        journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        for cid in ("o1", "o2", "o3"):
            open_order(book, cid)
    as_schema_1(journal_path)
    # A name the migration's last statement needs, taken by someone's own index.
    execute(journal_path, ["CREATE INDEX orders_open ON journal (order_id)"])
    with pytest.raises(CorruptJournal, match="unreadable: index orders_open already exists"):
        Journal.open(journal_path)
    with JournalReader(journal_path) as reader:  # none of the migration stayed
        assert (reader.meta["schema_version"], reader.indexed) == ("1", False)
        assert "orders" not in reader.db.table_names()
        assert [r["version"] for r in reader.db["migrations"].rows] == [1]
    assert [o.client_order_id for o in replay(journal_path).values()] == ["o1", "o2", "o3"]


def test_a_writer_opened_in_one_thread_appends_from_another(journal_path: Path) -> None:
    # The sync executor serves signals from its callers' threads, one at a time.
    done: list[int | BaseException] = []

    def append(journal: Journal) -> None:
        try:
            done.append(journal.append([ROW], 2.0))
        except BaseException as exc:  # handed over to the test's thread
            done.append(exc)

    with Journal.open(journal_path, now=1.0) as journal:
        worker = threading.Thread(target=append, args=(journal,))
        worker.start()
        worker.join()
        assert done == [1]
    assert [r[1] for r in rows(journal_path)] == ["o1"]


def test_every_journal_has_its_own_id(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "a.db") as a, Journal.open(tmp_path / "b.db") as b:
        assert a.journal_id != b.journal_id
        assert a.head != b.head


def make_text_file(path: Path) -> None:
    path.write_bytes(b"order,state\no1,filled\n" * 50)


def make_empty_file(path: Path) -> None:
    path.write_bytes(b"")


def make_foreign_sqlite(path: Path) -> None:
    execute(path, ["CREATE TABLE foo (x INTEGER)", "INSERT INTO foo VALUES (1)"])


def make_foreign_sqlite_with_meta(path: Path) -> None:
    execute(path, ["CREATE TABLE meta (key TEXT, value TEXT)",
                   "INSERT INTO meta VALUES ('format', 'something-else')"])


def make_future_journal(path: Path) -> None:
    Journal.open(path).close()
    execute(path, ["UPDATE meta SET value = '99' WHERE key = 'schema_version'"])


NOT_SQLITE = "not a SQLite file, so not an fsm-executor journal"
NOT_OURS = "a SQLite file but not an fsm-executor journal"
FOREIGN_FILES: list[tuple[Callable[[Path], None], type[Exception], str]] = [
    (make_text_file, NotAJournal, NOT_SQLITE),
    (make_empty_file, NotAJournal, NOT_SQLITE),
    (make_foreign_sqlite, NotAJournal, NOT_OURS),
    (make_foreign_sqlite_with_meta, NotAJournal, NOT_OURS),
    (make_future_journal, UnsupportedSchema,
     "journal schema version 99 is not supported by this version"),
]
OPENERS: list[Callable[[Path], object]] = [
    lambda p: Journal.open(p), lambda p: OrderBook.open(p), JournalReader, replay, audit,
]


@pytest.mark.parametrize("opener", OPENERS, ids=["Journal", "OrderBook", "Reader", "replay",
                                                 "audit"])
@pytest.mark.parametrize(("make", "error", "why"), FOREIGN_FILES,
                         ids=["text", "empty", "foreign-sqlite", "foreign-meta", "schema-99"])
def test_a_file_that_is_not_our_journal_is_refused_untouched(
    journal_path: Path, make: Callable[[Path], None], error: type[Exception], why: str,
    opener: Callable[[Path], object],
) -> None:
    make(journal_path)
    digest, mtime = sha256(journal_path), os.stat(journal_path).st_mtime_ns
    with pytest.raises(error) as info:
        opener(journal_path)
    assert type(info.value) is error
    assert info.value.path == str(journal_path)  # type: ignore[attr-defined]
    assert str(info.value) == f"{journal_path}: {why}"
    assert sha256(journal_path) == digest
    assert os.stat(journal_path).st_mtime_ns == mtime


@pytest.mark.parametrize("opener", OPENERS[2:], ids=["Reader", "replay", "audit"])
def test_a_reader_given_no_file_or_a_directory_says_which(
        tmp_path: Path, opener: Callable[[Path], object]) -> None:
    # (A writer creates a missing journal.)
    for path, why in ((tmp_path / "missing.db", "no such file"),
                      (tmp_path, "not a regular file")):
        with pytest.raises(NotAJournal) as info:
            opener(path)
        assert (info.value.path, str(info.value)) == (str(path), f"{path}: {why}")
    assert list(tmp_path.iterdir()) == []


def test_refusing_a_foreign_wal_database_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "places.sqlite"
    execute(path, ["PRAGMA journal_mode = WAL", "CREATE TABLE foo (x)"])
    before = sorted(p.name for p in tmp_path.iterdir())
    assert before == ["places.sqlite"]
    with pytest.raises(NotAJournal):
        Journal.open(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_unsupported_schema_names_the_version(journal_path: Path) -> None:
    make_future_journal(journal_path)
    with pytest.raises(UnsupportedSchema) as info:
        Journal.open(journal_path)
    assert info.value.version == 99
    assert "99" in str(info.value)


def test_a_garbled_schema_version_is_a_corrupt_journal(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    execute(journal_path, ["UPDATE meta SET value = 'one' WHERE key = 'schema_version'"])
    with pytest.raises(CorruptJournal) as info:
        Journal.open(journal_path)
    assert (info.value.path, str(info.value)) == (
        str(journal_path), f"{journal_path}: its schema version is missing or garbled")


@pytest.mark.parametrize("opener", OPENERS, ids=["Journal", "OrderBook", "Reader", "replay",
                                                 "audit"])
def test_a_journal_without_a_schema_version_is_corrupt(
    journal_path: Path, opener: Callable[[Path], object]
) -> None:
    Journal.open(journal_path).close()
    execute(journal_path, ["DELETE FROM meta WHERE key = 'schema_version'"])
    with pytest.raises(CorruptJournal) as info:
        opener(journal_path)
    assert type(info.value) is CorruptJournal
    assert (info.value.path, str(info.value)) == (
        str(journal_path), f"{journal_path}: its schema version is missing or garbled")


def a_journal_of_three_rows(path: Path) -> None:
    with OrderBook.open(path) as book:
        open_order(book)


@pytest.mark.parametrize("opener", OPENERS, ids=["Journal", "OrderBook", "Reader", "replay",
                                                 "audit"])
def test_a_journal_whose_meta_table_is_unreadable_is_corrupt_and_left_untouched(
    journal_path: Path, opener: Callable[[Path], object]
) -> None:
    a_journal_of_three_rows(journal_path)
    smash_page(journal_path, root_page(journal_path, "meta"))
    digest = sha256(journal_path)
    with pytest.raises(CorruptJournal, match="unreadable: database disk image is malformed"
                       ) as info:
        opener(journal_path)
    assert type(info.value) is CorruptJournal and info.value.path == str(journal_path)
    assert sha256(journal_path) == digest


def test_a_meta_page_a_killed_checkpoint_left_half_written_is_read_through_the_wal(
    tmp_path: Path,
) -> None:
    # A copy of a journal with the meta page in its write-ahead log, not yet checkpointed;
    # the main file's copy of that page then damaged, as a checkpoint cut short leaves it.
    path, copy = tmp_path / "j.db", tmp_path / "copy" / "j.db"
    a_journal_of_three_rows(path)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        with conn:  # a real change: SQLite writes no page an update leaves as it was
            conn.execute("UPDATE meta SET value = '1.5' WHERE key = 'created_at'")
        copy.parent.mkdir()
        for suffix in ("", "-wal"):
            copy.with_name(copy.name + suffix).write_bytes(
                path.with_name(path.name + suffix).read_bytes())
    finally:
        conn.close()
    size = page_size(copy)
    with copy.open("r+b") as f:
        f.seek((root_page(path, "meta") - 1) * size)
        f.write(b"\xff" * size)
    assert check_identity(copy)["created_at"] == "1.5"
    assert replay(copy)["o1"].exchange_order_id == "ex-o1"
    # Without its log the page is damage, said as such.
    copy.with_name(copy.name + "-wal").unlink()
    copy.with_name(copy.name + "-shm").unlink(missing_ok=True)
    with pytest.raises(CorruptJournal, match="unreadable"):
        check_identity(copy)
    # Nor with a log that lacks the page (one holding no frame): read through it, the page
    # is damage still, said as such.
    copy.with_name(copy.name + "-wal").write_bytes(b"\0" * 4096)
    with pytest.raises(CorruptJournal, match="^.* unreadable: ") as info:
        check_identity(copy)
    assert info.value.path == str(copy)


@pytest.mark.parametrize("opener", [lambda p: Journal.open(p), lambda p: OrderBook.open(p),
                                    replay, audit], ids=["Journal", "OrderBook", "replay",
                                                         "audit"])
def test_a_journal_whose_journal_table_is_unreadable_is_corrupt_and_left_untouched(
    journal_path: Path, opener: Callable[[Path], object]
) -> None:
    a_journal_of_three_rows(journal_path)
    smash_page(journal_path, root_page(journal_path, "journal"))
    digest = sha256(journal_path)
    with pytest.raises(CorruptJournal, match="unreadable: database disk image is malformed"
                       ) as info:
        opener(journal_path)
    assert type(info.value) is CorruptJournal and info.value.path == str(journal_path)
    assert sha256(journal_path) == digest
    assert not lock_path(journal_path).exists()  # a writer refused let go of its lock


def test_an_orders_rows_are_found_with_or_without_the_orders_index(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book, "o1")
        open_order(book, "o2")
        book.apply("o1", Fill("t1", "0.5", "100"))
    with JournalReader(journal_path) as reader:
        indexed = reader.order_rows("o1", 7)
        assert [r[:3] for r in indexed] == [(1, "o1", "create"), (2, "o1", "submit"),
                                            (3, "o1", "acknowledge")]
        assert reader.hash_at(3) == rows(journal_path)[2][8] and reader.hash_at(99) is None
        assert [r[0] for r in reader.order_rows("o1", 8)] == [1, 2, 3, 7]  # up to 7
    execute(journal_path, [("DELETE FROM orders WHERE order_id = 'o1'", ())])
    with JournalReader(journal_path) as reader:  # the index lost it: every row is read
        assert "o1" not in reader.index
        assert reader.order_rows("o1", 7) == indexed
        assert [r[0] for r in reader.order_rows("o1", 99)] == [1, 2, 3, 7]


def test_a_writers_reading_of_a_damaged_page_names_the_file(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book)
        for i in range(4, 801):
            book.apply("o1", Note("seen", f"row {i:04d} " + "x" * 400))
    smash_page(journal_path, page_holding(journal_path, "row 0600 "))
    writer = unlocked_writer(journal_path)  # the last row and the head are readable
    try:
        for reading in (writer.entries, writer.raw_rows):
            with pytest.raises(CorruptJournal) as info:
                list(reading())
            assert str(info.value) == (
                f"{journal_path}: unreadable: database disk image is malformed")
    finally:
        writer.close()


def test_reading_the_entries_of_an_unreadable_journal_table_names_the_file(
    journal_path: Path,
) -> None:
    a_journal_of_three_rows(journal_path)
    smash_page(journal_path, root_page(journal_path, "journal"))
    with JournalReader(journal_path) as reader:
        # Every way of reading the rows: entries, and audit's and replay's streams.
        for reading in (reader.entries, lambda: reader.rows(True), lambda: reader.rows(False)):
            with pytest.raises(CorruptJournal) as info:
                list(reading())
            assert info.value.path == str(journal_path)
            assert str(info.value) == (
                f"{journal_path}: unreadable: database disk image is malformed")


def test_the_strict_reader_calls_text_that_is_not_utf8_a_corrupt_journal(
    journal_path: Path,
) -> None:
    a_journal_of_three_rows(journal_path)
    execute(journal_path, [("UPDATE journal SET payload = CAST(? AS TEXT) WHERE seq = 2",
                            (b'{"x":"\xff"}',))])
    for strict in (JournalReader(journal_path), JournalReader(journal_path, tolerant=False)):
        with strict, pytest.raises(CorruptJournal, match="unreadable: Could not decode"):
            list(strict.raw_rows())
    # The tolerant reader (audit's second reading) names the damage instead.
    with JournalReader(journal_path, tolerant=True) as tolerant:
        assert [e.payload for e in tolerant.entries()][1] == '{"x":"\ufffd"}'


def test_the_created_schema_keys_rows_by_seq_and_orders_by_their_id(journal_path: Path) -> None:
    Journal.open(journal_path).close()

    def columns(table: str) -> list[tuple[object, ...]]:
        # (name, type, not null, position in the primary key)
        return [(r[1], r[2], r[3], r[5]) for r in query(journal_path,
                                                        f"PRAGMA table_info({table})")]

    # seq INTEGER PRIMARY KEY: the rowid itself, so two rows can never share a seq.
    assert columns("journal") == [
        ("seq", "INTEGER", 0, 1), ("order_id", "TEXT", 1, 0), ("trigger", "TEXT", 1, 0),
        ("source", "TEXT", 1, 0), ("dest", "TEXT", 1, 0), ("payload", "TEXT", 1, 0),
        ("origin", "TEXT", 1, 0), ("ts", "REAL", 1, 0), ("hash", "TEXT", 1, 0)]
    assert columns("orders") == [
        ("order_id", "TEXT", 1, 1), ("signal_id", "TEXT", 0, 0), ("symbol", "TEXT", 1, 0),
        ("open", "INTEGER", 1, 0), ("first_seq", "INTEGER", 1, 0), ("last_seq", "INTEGER", 0, 0)]
    assert columns("meta") == [("key", "TEXT", 0, 1), ("value", "TEXT", 0, 0)]
    assert columns("migrations") == [("version", "INTEGER", 0, 1), ("applied_at", "REAL", 0, 0)]
    assert sorted(r[1] for r in query(journal_path, "PRAGMA index_list(orders)")) == [
        "orders_by_signal", "orders_open", "sqlite_autoindex_orders_1"]
    assert query(journal_path, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master"
                               " WHERE name = 'orders'") == [(1,)]


def test_a_directory_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(NotAJournal):
        Journal.open(tmp_path)


def test_reading_a_missing_journal_does_not_create_it(journal_path: Path) -> None:
    for reader in (JournalReader, replay, audit):
        with pytest.raises(NotAJournal):
            reader(journal_path)
    assert not journal_path.exists()


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
def test_durability_sets_sqlite_synchronous(
    journal_path: Path, durability: str, level: int
) -> None:
    with Journal.open(journal_path, durability=durability) as journal:  # type: ignore[arg-type]
        assert journal.durability == durability
        assert journal._conn.execute("PRAGMA synchronous").fetchone() == (level,)


@pytest.mark.parametrize("durability", ["FULL", "off", "", None])
def test_a_bad_durability_is_invalid_input_and_creates_nothing(
    journal_path: Path, durability: object
) -> None:
    said = f"durability must be 'normal' or 'full', not {durability!r}"
    with pytest.raises(InvalidInput, match=f"^{re.escape(said)}$"):
        Journal.open(journal_path, durability=durability)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=f"^{re.escape(said)}$"):
        OrderBook.open(journal_path, durability=durability)  # type: ignore[arg-type]
    assert not journal_path.exists()


def test_last_ts_is_the_latest_time_of_a_row_while_open_and_never_moves_back(
        journal_path: Path) -> None:
    # What simulated time resumes from (cli/_run.py's behind): a clock set back must not
    # take it along.
    with Journal.open(journal_path) as journal:
        assert journal.last_ts == 0.0
        journal.append([ROW], 10.0)
        assert journal.last_ts == 10.0
        submit = ("o1", "submit", "created", "pending_submit", {}, "live")
        journal.append([submit], 7.0)
        assert journal.last_ts == 10.0
        journal.append([submit], 12.5)
        assert journal.last_ts == 12.5
    with Journal.open(journal_path) as journal:
        assert journal.last_ts == 12.5


def test_head_is_seq_colon_hash_of_the_last_row(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        assert journal.head == f"0:{genesis_hash(journal.journal_id)}"
        assert journal.append([ROW], 10.0) == 1
        assert journal.append([("o1", "submit", "created", "pending_submit", {}, "live")] * 2,
                              11.0) == 3
        head = journal.head
    assert re.fullmatch(r"3:[0-9a-f]{64}", head)
    assert head == f"3:{rows(journal_path)[-1][8]}"
    with Journal.open(journal_path) as journal:
        assert journal.head == head
    with JournalReader(journal_path) as reader:
        assert reader.head() == head


def test_a_reader_of_a_journal_without_rows_says_the_head_its_chain_starts_from(
        journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        genesis = f"0:{genesis_hash(journal.journal_id)}"
    with JournalReader(journal_path) as reader:
        assert reader.head() == genesis
        assert reader.anchor == (0, genesis[2:]) and reader.anchor_seq == 0


def test_the_hashes_try_cpythons_sha256_by_each_version_name_then_openssls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from fsm_executor.journal import _journal

    tried: list[str] = []
    real = importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        tried.append(name)
        if name == "_sha2":
            raise ImportError(name)  # Python 3.11: it is _sha256
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    assert _journal._builtin_sha256() is real("_sha256").sha256
    assert tried == ["_sha2", "_sha256"]
    # Neither there (a build without them): OpenSSL's from the first hash on.
    monkeypatch.setattr(_journal, "_builtin_sha256", lambda: None)
    monkeypatch.setattr(_journal, "_sha256", _journal._first_sha256)
    assert chain_hash(*FIXED_ROW) == reference_hash(*FIXED_ROW)
    assert _journal._sha256 is hashlib.sha256


def test_rows_form_a_hash_chain_from_the_journal_id(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book)
        journal_id = book.journal.journal_id
        entries = list(book.journal.entries())
    prev = genesis_hash(journal_id)
    for seq, entry in enumerate(entries, start=1):
        assert entry.seq == seq
        assert entry.hash == entry.expected_hash(prev)
        prev = entry.hash
    assert [Entry.from_row(r) for r in rows(journal_path)] == entries
    assert entries[0].data() == spec().to_payload()
    assert entries[2].data() == {"exchange_order_id": "ex-o1"}


#: Hashes of rows as fsm-executor 0.1 chained them: journals on disk must keep verifying.
KNOWN_HASHES = [
    ((1, "o1", "create", "", "created", '{"client_order_id":"o1"}', "live", 1700000000.5),
     "3c31fce11d9b77a6fb9b0712f749167f16b53af256666c0a537e5aab77b88a4f"),
    ((2, "o1", "fill", "submitted", "filled", '{"trade_id":"t\u00e9"}', "reconcile",
      1700000000.5), "c8ef6328926cf4797ca8ece6dfad4fb575146a9b23220887354afe724c2c9bb6"),
    # -0.0 equals 0.0 and 1e-07 is repr's exponent form: the text hashed is repr's.
    ((3, "o1", "note", "filled", "filled", "{}", "live", -0.0),
     "5eafdc389d6562b836c89d1482458c2ce3cc9760beda00f935962cbc20c24c84"),
    ((4, "o1", "note", "filled", "filled", "{}", "live", 0.0),
     "6472ec307aff14fe81eadd15e4521ed75a4e4066eb8d7476f5567328c389e319"),
    ((5, "o1", "note", "filled", "filled", "{}", "live", 1e-07),
     "a6421d76e3007a0d4e61848bf37f330f3ac802e7f18cee783ff15376033ff9c0"),
]


def test_the_chain_hash_of_known_rows_never_changes() -> None:
    genesis = genesis_hash("0123456789abcdef0123456789abcdef")
    assert genesis == "88e04204a1cf2f31c41c9e30aa48534c371d39e555739ffea10f6d1730c6bb43"
    for _ in range(2):  # the second time with the ts seen before
        prev = genesis
        for row, expected in KNOWN_HASHES:
            assert chain_hash(prev, *row) == expected
            prev = "f" * 64


GENESIS = "88e04204a1cf2f31c41c9e30aa48534c371d39e555739ffea10f6d1730c6bb43"
#: (prev, seq, order_id, trigger, source, dest, payload, origin, ts): chain_hash's arguments.
FIXED_ROW = (GENESIS, 7, "o1", "fill", "submitted", "partially_filled",
             '{"trade_id":"t1","amount":"0.4","price":"100"}', "live", 1700000123.25)


def reference_hash(*fields: object) -> str:
    """The row hash as the file format defines it, computed apart from the library: sha256
    of the fields' text (ts as repr gives it) joined by the unit separator."""
    text = [repr(f) if isinstance(f, float) else str(f) for f in fields]
    return hashlib.sha256("\x1f".join(text).encode()).hexdigest()


def test_the_row_hash_is_sha256_of_the_fields_joined_by_the_unit_separator() -> None:
    # Hard-coded (computed once with hashlib alone): a change of format orphans every
    # journal on disk, and writer and verifier share chain_hash, so only this would tell.
    assert genesis_hash("0123456789abcdef0123456789abcdef") == GENESIS == hashlib.sha256(
        b"fsm-executor-journal:0123456789abcdef0123456789abcdef").hexdigest()
    expected = "94c72bf5084fe7cd32233acca2f564f64f19afc0c63587374a74970fa25e6f6c"
    assert reference_hash(*FIXED_ROW) == expected
    assert chain_hash(*FIXED_ROW) == expected


def test_the_row_hash_is_the_same_before_and_after_hashlib_takes_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The first hashes are CPython's own sha256, then OpenSSL's (start-up): one chain.
    from fsm_executor.journal import _journal

    monkeypatch.setattr(_journal, "BUILTIN_HASHES", 3)
    monkeypatch.setattr(_journal, "_sha256", _journal._first_sha256)
    used = []
    prev = GENESIS
    for seq in range(1, 7):
        row = (prev, seq, *FIXED_ROW[2:])
        used.append(_journal._sha256)
        prev = chain_hash(*row)  # type: ignore[arg-type]
        assert prev == reference_hash(*row)
    assert used[0] is _journal._first_sha256
    assert used[1] is used[2] is not hashlib.sha256  # counting down CPython's own
    assert used[3] is used[5] is hashlib.sha256


def other_value(value: object) -> object:
    if isinstance(value, float):
        return value + 0.25
    if isinstance(value, int):
        return value + 1
    return f"{value}x"


@pytest.mark.parametrize("field", range(len(FIXED_ROW)), ids=[
    "prev", "seq", "order_id", "trigger", "source", "dest", "payload", "origin", "ts"])
def test_the_row_hash_covers_every_field_the_seq_included(field: int) -> None:
    changed = list(FIXED_ROW)
    changed[field] = other_value(changed[field])
    assert chain_hash(*changed) != chain_hash(*FIXED_ROW)  # type: ignore[arg-type]
    assert chain_hash(*changed) == reference_hash(*changed)  # type: ignore[arg-type]


def test_the_row_hash_keeps_its_fields_apart() -> None:
    # The separator: a character moved across a field boundary is another row.
    a = chain_hash(GENESIS, 1, "o1", "note", "filled", "filled", "{}", "live", 1.0)
    b = chain_hash(GENESIS, 1, "o1", "note", "filledf", "illed", "{}", "live", 1.0)
    assert a != b


def test_the_row_hash_covers_the_text_of_the_ts_it_is_given() -> None:
    # The text of the ts seen last is kept (the rows of a commit share it); a ts equal to it
    # but of another type (an int) or sign (-0.0) is hashed as its own repr all the same.
    row = (GENESIS, 7, "o1", "note", "filled", "filled", "{}", "live")
    assert chain_hash(*row, 5.0) == reference_hash(*row, 5.0) == (
        "7e5424c455474836e87faa3e996ef8857e45f855f1798c7888759251805e1c15")
    assert chain_hash(*row, 5) == hashlib.sha256(  # type: ignore[arg-type]
        "\x1f".join((*map(str, row), "5")).encode()).hexdigest() == (
        "6e9f880ab788709a6681f07a76b706feddbb6050276bd8fd274c213eda5eaaca")
    assert chain_hash(*row, 0.0) == reference_hash(*row, 0.0)
    assert chain_hash(*row, -0.0) == reference_hash(*row, -0.0) != reference_hash(*row, 0.0)


def test_a_multi_row_append_is_all_or_nothing(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        journal.append([ROW], 1.0)
        execute(journal_path, ["CREATE TRIGGER second BEFORE INSERT ON journal WHEN NEW.seq = 3 "
                               "BEGIN SELECT RAISE(ABORT, 'no'); END"])
        head = journal.head
        batch = [("o1", "note", "created", "created", {"kind": "k", "detail": ""}, "live")] * 2
        with pytest.raises(sqlite3.DatabaseError):
            journal.append(batch, 2.0)
        assert journal.head == head
        assert len(rows(journal_path)) == 1
        execute(journal_path, ["DROP TRIGGER second"])
        assert journal.append(batch, 3.0) == 3
    # Rows appended through the journal alone leave its orders index behind them, and the
    # order book rebuilds it when it opens the file.
    assert [str(v) for v in audit(journal_path).violations] == [INDEX_BEHIND]
    with OrderBook.open(journal_path) as book:
        assert book.index_rebuilt is not None
    assert audit(journal_path).ok


INDEX_BEHIND = ("the orders index disagrees with the rows (a writer rebuilds it when it "
                "opens the journal)")


def test_reader_is_read_only(journal_path: Path) -> None:
    with OrderBook.open(journal_path) as book:
        open_order(book)
    digest = sha256(journal_path)
    with JournalReader(journal_path) as reader:
        assert len(list(reader.entries())) == 3
        with pytest.raises(sqlite3.OperationalError):
            reader._conn.execute("DELETE FROM journal")
    assert sha256(journal_path) == digest


@pytest.mark.parametrize("name", ["with space.db", "q?x=1.db", "hash#1.db", "pct%20.db",
                                  "ünï.db"])
def test_paths_with_uri_characters_open_and_audit(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with OrderBook.open(path) as book:
        open_order(book)
    assert audit(path).ok
    assert replay(path)["o1"].exchange_order_id == "ex-o1"


def unlocked_writer(path: Path) -> Journal:
    """A second writer that went around the lock (a deleted lock file, a filesystem whose
    locks do not work): only the append's own check stands between it and a fork."""
    return Journal(path, sqlite3.connect(path, isolation_level=None), check_identity(path),
                   "normal")


NOTE = ("o1", "note", "submitted", "submitted", {"kind": "k", "detail": ""}, "live")


def test_an_append_behind_another_writers_row_is_refused_and_forks_nothing(
    book: OrderBook, journal_path: Path
) -> None:
    open_order(book)
    other = unlocked_writer(journal_path)
    assert other.append([NOTE], 5.0) == 4  # the other writer goes first
    other.close()
    before, head, order = rows(journal_path), book.journal.head, book.get("o1")
    for attempt in (lambda: book.apply("o1", Fill("t1", "0.5", "100")),
                    lambda: book.apply_all("o1", [Fill("t1", "0.5", "100"), RequestCancel()]),
                    lambda: book.create(spec("o2")),
                    lambda: book.journal.append([NOTE], 6.0)):
        with pytest.raises(ConcurrentWriter) as info:
            attempt()
        assert (info.value.expected, info.value.found) == (3, 4)
        assert info.value.path == str(journal_path)
        assert "another writer changed this journal" in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert rows(journal_path) == before
    assert book.journal.head == head
    assert book.get("o1") == order and "o2" not in book
    assert audit(journal_path).ok  # one chain: the other writer's row, none of ours


def raw_next_row(path: Path) -> None:
    # No seq given: SQLite takes max(seq) + 1, as a careless script would.
    execute(path, ["INSERT INTO journal (order_id, trigger, source, dest, payload, origin, ts,"
                   " hash) VALUES ('x', 'note', 'submitted', 'submitted', '{}', 'live', 9,"
                   " 'forged')"])


def raw_row_past_a_gap(path: Path) -> None:
    execute(path, ["INSERT INTO journal VALUES (9, 'x', 'note', 'submitted', 'submitted',"
                   " '{}', 'live', 9, 'forged')"])


def raw_delete_of_the_last_row(path: Path) -> None:
    execute(path, ["DELETE FROM journal WHERE seq = 3"])


def raw_delete_of_every_row(path: Path) -> None:
    execute(path, ["DELETE FROM journal"])  # the file ends where its chain starts: row 0


@pytest.mark.parametrize(("tamper", "found", "first_bad"), [
    (raw_next_row, 4, [4]), (raw_row_past_a_gap, 9, [9]), (raw_delete_of_the_last_row, 2, []),
    # No row left: the orders index still holds o1, which no row creates.
    (raw_delete_of_every_row, 0, [None]),
], ids=["next-row", "past-a-gap", "last-row-deleted", "every-row-deleted"])
def test_an_append_to_a_file_changed_by_raw_sql_is_refused_and_writes_nothing(
    book: OrderBook, journal_path: Path, tamper: Callable[[Path], None], found: int,
    first_bad: list[int | None],
) -> None:
    open_order(book)
    tamper(journal_path)
    before = rows(journal_path)
    with pytest.raises(ConcurrentWriter) as info:
        book.apply("o1", Fill("t1", "0.5", "100"))
    assert (info.value.expected, info.value.found) == (3, found)
    with pytest.raises(ConcurrentWriter):
        book.apply_all("o1", [Fill("t1", "0.5", "100"), Fill("t2", "0.5", "100")])
    assert rows(journal_path) == before
    assert book.get("o1").filled == 0
    # The chain is sound up to the foreign row, which audit names.
    report = audit(journal_path)
    assert [v.seq for v in report.violations][:1] == first_bad


def test_an_index_update_refused_midway_changes_nothing_and_the_journal_goes_on(
        journal_path: Path) -> None:
    import sqlite3

    from fsm_executor import Journal

    with OrderBook.open(journal_path) as book:
        open_order(book, "o1")
    with Journal.open(journal_path) as journal:
        before = list(journal._conn.execute("SELECT * FROM orders"))
        good = ("o1", None, "BTC/USDT", 0, 1, 3)
        with pytest.raises(sqlite3.IntegrityError):
            journal.settle_index([good, ("o2", None, None, 0, 4, 5)])  # no symbol
        assert not journal._conn.in_transaction
        assert list(journal._conn.execute("SELECT * FROM orders")) == before
        journal.settle_index([good])  # the journal is still usable
        assert journal._conn.execute(
            "SELECT open, last_seq FROM orders WHERE order_id = 'o1'").fetchone() == (0, 3)
