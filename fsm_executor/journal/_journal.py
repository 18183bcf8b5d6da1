"""The write-ahead journal: one SQLite file, append-only, one row per transition.

Each row's ``hash`` is sha256 over the previous row's hash and the row's own content, so an
edited, inserted, deleted or reordered row breaks the chain, and ``seq`` has no gaps. Rows cut
off the *end* leave a valid shorter chain: only a head recorded elsewhere (``Journal.head``,
printed by ``fsm-executor run``) shows them, with ``audit(path, expected_head=...)``. Keeping
the head inside the file would cost every append a second page write (about +50% of the raw
INSERT; benchmarks/bench_journal.py), and whoever can delete rows can edit it as well. (The
orders index, written in the same transactions, often shows a cut too: _index.py.)

sqlite-utils creates the schema and records the migrations (_file.py); the append path is a
prepared INSERT on the raw connection, because ``Table.insert`` introspects the table on
every call (about 400 µs against 30 µs; benchmarks/bench_journal.py).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from ..core._exceptions import (
    ConcurrentWriter,
    CorruptJournal,
    InvalidInput,
)
from ._file import FORMAT, SCHEMA_VERSION, check_identity, create, migrate, read_only
from ._index import UPSERT, IndexRow, OrdersIndex, StoredRow, stored

if TYPE_CHECKING:
    from hashlib import _Hash

    # Imported where a journal is created: its import (click, dateutil, pluggy) is 60 ms
    # that a process only reading a journal never needs.
    import sqlite_utils

    from ._lock import WriterLock

Durability = Literal["normal", "full"]
_SYNCHRONOUS: Final = {"normal": "NORMAL", "full": "FULL"}

_COLUMNS: Final = "seq, order_id, trigger, source, dest, payload, origin, ts, hash"
#: The row's hash goes in only if the file ends where this writer thinks (?10, the seq
#: before the row's): otherwise it is NULL, refused by NOT NULL, and nothing is written. So a
#: row someone else appended is caught by the very statement that would fork the chain. The
#: max is one seek down the primary key, through pages the insert reads anyway: about 0.3 us
#: of CPU an append (2 %). INSERT ... SELECT ... WHERE would say it more plainly for about
#: 4 us: SQLite stages the row in a temporary table when the SELECT reads the table it fills.
_APPEND: Final = (f"INSERT INTO journal ({_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                  " CASE WHEN (SELECT coalesce(max(seq), ?11) FROM journal) = ?10 THEN ?9 END)")

#: The hash covers the stored text itself, so the encoding need not be canonical, only compact.
#: ASCII: any text an exchange sends (even a lone surrogate) can be journaled.
dumps: Final = json.JSONEncoder(separators=(",", ":")).encode


#: Hashes taken with CPython's own sha256 before OpenSSL's is loaded (``_first_sha256``).
BUILTIN_HASHES = 3_000


def _builtin_sha256() -> Callable[[bytes], _Hash] | None:
    for name in ("_sha2", "_sha256"):  # Python 3.12 and later, 3.11
        with contextlib.suppress(ImportError):
            builtin: Callable[[bytes], _Hash] = importlib.import_module(name).sha256
            return builtin
    return None


def _openssl_sha256() -> Callable[[bytes], _Hash]:
    import hashlib

    return hashlib.sha256


def _first_sha256(data: bytes) -> _Hash:
    """sha256, loaded where hashes are taken. OpenSSL's (hashlib) hashes a row in half the
    time of CPython's own, but loading it is 2-3 ms of a command's start-up: ``orders``,
    ``export`` and ``replay`` take no hash, and a short journal's audit takes too few to
    repay it. So the first ``BUILTIN_HASHES`` are CPython's sha256 (the same digest of the
    same bytes), and then hashlib's replaces it."""
    global _sha256
    builtin = _builtin_sha256()
    if builtin is None:
        _sha256 = _openssl_sha256()
        return _sha256(data)
    left = BUILTIN_HASHES

    def counted(data: bytes) -> _Hash:
        global _sha256
        nonlocal left
        left -= 1
        if left <= 0:
            _sha256 = _openssl_sha256()
        return builtin(data)

    _sha256 = counted
    return counted(data)


_sha256: Callable[[bytes], _Hash] = _first_sha256


#: The last ts hashed, and its repr: the rows of a commit share their ts, and ``repr`` of a
#: float is 0.15 µs of a hash's 1 µs (audit hashes every row). One tuple, replaced whole, so
#: threads cannot pair one ts with another's text.
_last_ts: tuple[float, str] = (1.0, "1.0")


def chain_hash(prev: str, seq: int, order_id: str, trigger: str, source: str, dest: str,
               payload: str, origin: str, ts: float) -> str:
    global _last_ts
    last, text = _last_ts
    # Not for 0.0: it equals -0.0, whose repr differs (and a ts that is no float is rare).
    if ts != last or not ts or type(ts) is not float:
        text = repr(ts)
        _last_ts = (ts, text)
    content = "\x1f".join((prev, str(seq), order_id, trigger, source, dest, payload, origin,
                           text))
    return _sha256(content.encode()).hexdigest()


def genesis_hash(journal_id: str) -> str:
    """The chain starts from the journal's own id, so rows cannot move between journals."""
    return _sha256(f"{FORMAT}:{journal_id}".encode()).hexdigest()


def anchor_seq_of(meta: dict[str, str]) -> int:
    """The seq of ``anchor_of``, without hashing anything."""
    anchor = meta.get("anchor")
    return 0 if anchor is None else int(anchor.partition(":")[0])


def anchor_of(meta: dict[str, str]) -> tuple[int, str]:
    """(seq, hash) the file's chain continues from: row 0, the journal's genesis, or, once
    its first rows are archived (_archive.py), the last row archived."""
    anchor = meta.get("anchor")
    if anchor is None:
        return 0, genesis_hash(meta["journal_id"])
    seq, _, hash_ = anchor.partition(":")
    return int(seq), hash_


@attrs.frozen
class Entry:
    """One committed journal row."""

    seq: int
    order_id: str
    trigger: str
    #: "" for the ``create`` row, which has no source state.
    source: str
    dest: str
    payload: str
    #: "live" for the executor's own doing, "reconcile" for what recovery learned.
    origin: str
    ts: float
    hash: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Entry:
        return cls(*row)

    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.payload)
        return result

    def expected_hash(self, prev: str) -> str:
        return chain_hash(prev, self.seq, self.order_id, self.trigger, self.source, self.dest,
                          self.payload, self.origin, self.ts)


#: A row to append: (order_id, trigger, source, dest, payload, origin); the journal assigns
#: seq, ts and hash.
NewRow = tuple[str, str, str, str, dict[str, Any], str]


class Journal:
    """An open journal file. Appends are atomic and committed when ``append`` returns:
    durable against a killed process with durability "normal" (the default), against power
    loss or an OS crash too with "full".

    One writer per file, held to by an OS lock (_lock.py) and checked again by every
    append. Not thread-safe.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str],
                 durability: Durability, lock: WriterLock | None = None) -> None:
        self.path = path
        self.durability = durability
        self.journal_id = meta["journal_id"]
        self._conn = conn
        self._lock = lock
        #: The orders index of this file (_index.py), which the order book keeps.
        self.index = OrdersIndex(conn)
        last = conn.execute("SELECT seq, hash, ts FROM journal ORDER BY seq DESC LIMIT 1"
                            ).fetchone()
        #: The seq and hash the file's chain continues from (``anchor_of``).
        self.anchor = anchor_of(meta)
        self._seq: int = last[0] if last else self.anchor[0]
        self._head: str = last[1] if last else self.anchor[1]
        #: The latest time of a row: the last row's when it opened, and each appended
        #: since (0.0 for an empty journal).
        self.last_ts: float = last[2] if last else 0.0

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, durability: Durability = "normal",
             now: float | None = None) -> Journal:
        """Open ``path`` for appending, creating it if it does not exist. ``now``: the time
        recorded as the file's creation (or its migration's), the system clock's if None.

        One writer per journal: while it is open, opening it again for writing, in this
        process or another, raises JournalLocked (readers are not affected). A file that is
        not a journal, or of an unknown schema version, is refused untouched.
        """
        if durability not in _SYNCHRONOUS:
            raise InvalidInput(f"durability must be 'normal' or 'full', not {durability!r}")
        p = Path(path)
        if now is None:
            now = time.time()
        # Locked before anything is created or read: a second writer touches nothing.
        from ._lock import WriterLock  # here: a reader never takes it

        lock = WriterLock.acquire(p)
        try:
            if not p.exists():
                # A process that does not lock may create it first; it is then checked like
                # any other file.
                with contextlib.suppress(FileExistsError):
                    create(p, now)
            meta = check_identity(p)
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[durability]}")
                migrate(conn, meta, now)
                return cls(p, conn, meta, durability, lock)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise CorruptJournal(str(p), f"unreadable: {exc}") from None
        except BaseException:
            lock.release()
            raise

    @property
    def head(self) -> str:
        """``SEQ:HASH`` of the last row: record it to detect a journal cut short later."""
        return f"{self._seq}:{self._head}"

    @property
    def seq(self) -> int:
        """The seq of the last row (the anchor's for a file without rows)."""
        return self._seq

    def append(self, rows: Sequence[NewRow], ts: float, index: Sequence[IndexRow] = (),
               settled: Sequence[StoredRow] = ()) -> int:
        """Append ``rows`` in one transaction, with ``index``: the orders index's rows they
        change (written or brought up to date), and ``settled``: index rows of earlier rows
        (``settle_index``); when this returns, they are committed.

        Returns the seq of the last row.
        """
        ts = float(ts)  # the hash covers repr(ts) as SQLite's REAL will give it back
        seq, head = self._seq, self._head
        values = []
        for order_id, trigger, source, dest, payload_data, origin in rows:
            seq += 1
            payload = dumps(payload_data)
            head = chain_hash(head, seq, order_id, trigger, source, dest, payload, origin, ts)
            values.append((seq, order_id, trigger, source, dest, payload, origin, ts, head,
                           seq - 1, self.anchor[0]))
        located = [*self._located(index, values), *settled] if index or settled else []
        conn = self._conn
        try:
            if len(values) == 1 and not located:
                conn.execute(_APPEND, values[0])  # autocommit: one statement, one transaction
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_APPEND, values)
                    conn.executemany(UPSERT, located)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.IntegrityError:
            self._check_end()
            raise
        self._seq, self._head = seq, head
        self.last_ts = max(self.last_ts, ts)
        return seq

    @staticmethod
    def _located(index: Sequence[IndexRow], values: Sequence[tuple[Any, ...]]
                 ) -> list[StoredRow]:
        """The index rows with where their orders' rows lie among those appended (a create
        row first: the order's first seq; the last of them: its last, once finished)."""
        spans: dict[str, list[int]] = {}
        for value in values:
            seq, order_id = value[0], value[1]
            span = spans.get(order_id)
            if span is None:
                spans[order_id] = [seq, seq]
            else:
                span[1] = seq
        return [stored(row, *spans[row[0]]) for row in index]

    def settle_index(self, rows: Sequence[StoredRow]) -> None:
        """Bring index rows up to date in a transaction of their own (rows whose seqs are
        already known: the order book's deferred ones, at close)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(UPSERT, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _check_end(self) -> None:
        """ConcurrentWriter if the file no longer ends at this writer's last row."""
        found = self._conn.execute("SELECT coalesce(max(seq), ?) FROM journal",
                                   (self.anchor[0],)).fetchone()[0]
        if found != self._seq:
            raise ConcurrentWriter(str(self.path), self._seq, found) from None

    def entries(self) -> Iterator[Entry]:
        return read_entries(self._conn, str(self.path))

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        return read_raw_rows(self._conn, str(self.path))

    def entries_after(self, seq: int) -> list[Entry]:
        """The rows after ``seq``, in order."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM journal WHERE seq > ? ORDER BY seq",
                                  (seq,)).fetchall()
        return [Entry(*row) for row in rows]

    def close(self) -> None:
        """Close the file, then let go of its lock (idempotent)."""
        self._conn.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Rows fetched at a time by ``_select``: a list of 4,096 rows costs ~0.15 µs a row more,
#: by its memory alone.
BATCH: Final = 256


def _select(conn: sqlite3.Connection, name: str, sql: str,
            progress: Callable[[int], None] | None = None, *,
            params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` (with ``params``), fetched in batches; a damaged file is
    CorruptJournal, never a bare sqlite3 error. ``progress``: called with the count of rows
    fetched so far, batch by batch.

    Chained in C, with no generator frame resumed per row (replay reads millions), in
    batches of ``BATCH``.
    """
    try:
        cursor = conn.execute(sql, params)
    except sqlite3.DatabaseError as exc:
        raise CorruptJournal(name, f"unreadable: {exc}") from None
    fetched = [0]

    def batch() -> list[tuple[Any, ...]]:
        try:
            rows = cursor.fetchmany(BATCH)
        except sqlite3.DatabaseError as exc:
            raise CorruptJournal(name, f"unreadable: {exc}") from None
        if progress is not None:
            fetched[0] += len(rows)
            progress(fetched[0])
        return rows

    return chain.from_iterable(iter(batch, []))


def read_entries(conn: sqlite3.Connection, name: str) -> Iterator[Entry]:
    """Every row in seq order."""
    return (Entry(*row) for row in _select(conn, name,
                                           f"SELECT {_COLUMNS} FROM journal ORDER BY seq"))


RAW_COLUMNS: Final = "seq, order_id, trigger, source, dest, payload, ts"


def read_raw_rows(conn: sqlite3.Connection, name: str) -> Iterator[tuple[Any, ...]]:
    """(RAW_COLUMNS) tuples in seq order, without building Entry objects: replay's hot path."""
    return _select(conn, name, f"SELECT {RAW_COLUMNS} FROM journal ORDER BY seq")


class JournalReader:
    """A read-only view of a journal file, for replay and audit."""

    def __init__(self, path: str | os.PathLike[str], tolerant: bool = False) -> None:
        """``tolerant``: text that is not UTF-8 is read with replacement characters instead
        of failing the whole read, so an audit can name the damaged row and go on (its
        hash no longer matches). Slower: replay's hot path stays strict."""
        self.path = Path(path)
        self.meta = check_identity(self.path)
        self.journal_id = self.meta["journal_id"]
        #: The seq the file's chain continues from (``anchor`` adds its hash).
        self.anchor_seq = anchor_seq_of(self.meta)
        #: Whether the file has the orders index (_index.py): schema 2.
        self.indexed = self.meta["schema_version"] == str(SCHEMA_VERSION)
        self._conn = read_only(self.path)
        #: The orders index (schema 2), read-only here.
        self.index = OrdersIndex(self._conn)
        if tolerant:
            self._conn.text_factory = lambda raw: raw.decode("utf-8", "replace")

    @functools.cached_property
    def anchor(self) -> tuple[int, str]:
        """The seq and hash the file's chain continues from (``anchor_of``), hashed when
        first asked: only a reading that checks the chain needs it."""
        return anchor_of(self.meta)

    @property
    def db(self) -> sqlite_utils.Database:
        import sqlite_utils

        return sqlite_utils.Database(self._conn)

    def entries(self) -> Iterator[Entry]:
        return read_entries(self._conn, str(self.path))

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        return read_raw_rows(self._conn, str(self.path))

    def rows(self, audit: bool, after: int = 0, upto: int = 2**62,
             progress: Callable[[int], None] | None = None) -> Iterator[tuple[Any, ...]]:
        """The rows with seq in (``after``, ``upto``], in order: every column (audit), or
        RAW_COLUMNS (replay). ``progress``: told how many are read so far (_select)."""
        columns = _COLUMNS if audit else RAW_COLUMNS
        return _select(self._conn, str(self.path),
                       f"SELECT {columns} FROM journal WHERE seq > {int(after)}"
                       f" AND seq <= {int(upto)} ORDER BY seq", progress)

    def order_entries(self, order_id: str) -> list[Entry]:
        """Every row of one order, in order (a damaged file: CorruptJournal)."""
        return [Entry(*row) for row in _select(
            self._conn, str(self.path),
            f"SELECT {_COLUMNS} FROM journal WHERE order_id = ? ORDER BY seq",
            params=(order_id,))]

    def rows_at(self, seqs: Sequence[int]) -> Iterator[tuple[Any, ...]]:
        """The rows (RAW_COLUMNS) with these seqs, in seq order."""
        ordered = sorted(seqs)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i:i + 500]
            yield from self._conn.execute(
                f"SELECT {RAW_COLUMNS} FROM journal WHERE seq IN"
                f" ({','.join('?' * len(chunk))}) ORDER BY seq", chunk)

    def created_among(self, after: int, order_ids: Iterable[str]) -> bool:
        """Whether a row after seq ``after`` creates one of ``order_ids``."""
        found = self._conn.execute(
            "SELECT 1 FROM journal WHERE seq > ? AND trigger = 'create' AND order_id IN"
            " (SELECT value FROM json_each(?)) LIMIT 1", (after, json.dumps(list(order_ids)))
        ).fetchone()
        return found is not None

    def hash_at(self, seq: int) -> str | None:
        found = self._conn.execute("SELECT hash FROM journal WHERE seq = ?", (seq,)).fetchone()
        return None if found is None else str(found[0])

    def order_rows(self, order_id: str, before: int) -> list[tuple[Any, ...]]:
        """One order's rows before seq ``before`` (RAW_COLUMNS), from its span in the
        orders index; an order the index lacks, by reading every row before."""
        if order_id in self.index:
            return self.index.order_rows(order_id, before)
        return self._conn.execute(f"SELECT {RAW_COLUMNS} FROM journal WHERE order_id = ?"
                                  " AND seq < ? ORDER BY seq", (order_id, before)).fetchall()

    def created_twice(self) -> list[tuple[int, str]]:
        """(seq, order id) of every create row after an order's first (none, in a sound
        journal)."""
        return self._conn.execute(
            "SELECT seq, order_id FROM journal WHERE trigger = 'create' AND seq NOT IN"
            " (SELECT min(seq) FROM journal WHERE trigger = 'create' GROUP BY order_id)"
            " ORDER BY seq").fetchall()

    def last_seq(self) -> int:
        """The seq of the last row (the anchor's, for a file without rows)."""
        try:
            return int(self._conn.execute("SELECT coalesce(max(seq), ?) FROM journal",
                                          (self.anchor_seq,)).fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise CorruptJournal(str(self.path), f"unreadable: {exc}") from None

    def head(self) -> str:
        """``SEQ:HASH`` of the last row (``Journal.head``)."""
        last = self._conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1"
                                  ).fetchone()
        return f"{last[0]}:{last[1]}" if last else f"{self.anchor_seq}:{self.anchor[1]}"

    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Every read inside sees the journal as of one moment, whatever a writer appends
        meanwhile (one read transaction)."""
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            # Not COMMIT: after SQLite has met a damaged page, COMMIT fails with that error
            # again, and a reading that reported the damage would raise it. A read
            # transaction has nothing to commit.
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
