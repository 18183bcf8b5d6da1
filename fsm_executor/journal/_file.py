"""The journal file: what makes a SQLite file a journal (its format, its id, its schema
version), how one is created all at once, and the migrations a writer applies when it
opens an older one. Nothing here writes to a file it did not create or was not asked to
migrate."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final
from urllib.parse import quote

from ..core._exceptions import CorruptJournal, NotAJournal, UnsupportedSchema
from ._index import SCHEMA
from ._sqlite_file import create_atomically

FORMAT: Final = "fsm-executor-journal"
SCHEMA_VERSION: Final = 2
#: Schema versions a journal may have on disk: 1 lacks the orders index (_index.py), which
#: a writer adds when it opens it.
READABLE_VERSIONS: Final = (1, 2)
#: PRAGMA application_id: "FSMX".
APPLICATION_ID: Final = 0x46534D58
SQLITE_HEADER: Final = b"SQLite format 3\x00"


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _meta(path: Path, immutable: bool) -> dict[str, str]:
    """The meta table's rows. ``immutable``: read the main file alone, so that a foreign
    WAL database gets no -wal or -shm file beside it (a journal's meta is checkpointed at
    creation and never changes). NotAJournal if the file has no meta table or cannot be
    opened; sqlite3.DatabaseError if it cannot be read."""
    name = str(path)
    mode = "ro&immutable=1" if immutable else "ro"
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode={mode}", uri=True)
    except sqlite3.Error as exc:
        raise NotAJournal(name, f"cannot be opened: {exc}") from None
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            raise NotAJournal(name, "a SQLite file but not an fsm-executor journal") from None
        raise
    finally:
        conn.close()


def check_identity(path: Path) -> dict[str, str]:
    """The journal's meta rows, or NotAJournal / UnsupportedSchema. Never writes to the file."""
    name = str(path)
    if not path.is_file():
        raise NotAJournal(name, "no such file" if not path.exists() else "not a regular file")
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise NotAJournal(name, "not a SQLite file, so not an fsm-executor journal")
    try:
        meta = _meta(path, immutable=True)
    except sqlite3.DatabaseError as exc:
        if not Path(f"{path}-wal").exists():
            raise CorruptJournal(name, f"unreadable: {exc}") from None
        # Killed in the middle of a checkpoint: the main file alone is half written, and
        # only with its write-ahead log (which SQLite reads through) is it whole.
        try:
            meta = _meta(path, immutable=False)
        except sqlite3.DatabaseError as again:
            raise CorruptJournal(name, f"unreadable: {again}") from None
    if meta.get("format") != FORMAT:
        raise NotAJournal(name, "a SQLite file but not an fsm-executor journal")
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise CorruptJournal(name, "its schema version is missing or garbled") from None
    if version not in READABLE_VERSIONS:
        raise UnsupportedSchema(name, version)
    return meta


def migrate(conn: sqlite3.Connection, meta: dict[str, str], now: float) -> None:
    """Schema 1 to 2: the orders index's tables, empty (the order book fills them: they
    then disagree with the rows)."""
    if meta["schema_version"] == str(SCHEMA_VERSION):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION),))
        conn.execute("INSERT INTO migrations VALUES (?, ?)", (SCHEMA_VERSION, now))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def create(path: Path, clock_now: float,
           fill: Callable[[sqlite3.Connection], dict[str, str]] | None = None) -> None:
    """A new journal at ``path``, all at once. ``fill``: an archive's (_archive.py): it
    copies the rows in and says the meta rows that differ (the journal id, the anchor)."""
    # Imported here, as create_atomically's uuid: a process that only reads pays neither.
    import uuid

    import sqlite_utils

    def build(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db = sqlite_utils.Database(conn)
        with db.conn:
            db.table("meta").create({"key": str, "value": str}, pk="key")
            db.table("migrations").create({"version": int, "applied_at": float}, pk="version")
            conn.execute(
                "CREATE TABLE journal (seq INTEGER PRIMARY KEY,"
                " order_id TEXT NOT NULL, trigger TEXT NOT NULL, source TEXT NOT NULL,"
                " dest TEXT NOT NULL, payload TEXT NOT NULL, origin TEXT NOT NULL,"
                " ts REAL NOT NULL, hash TEXT NOT NULL)"
            )
            for statement in SCHEMA:
                conn.execute(statement)
            meta = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION),
                    "journal_id": uuid.uuid4().hex, "created_at": repr(clock_now)}
            if fill is not None:
                meta.update(fill(conn))
            db.table("meta").insert_all([{"key": k, "value": v} for k, v in meta.items()])
            db.table("migrations").insert({"version": SCHEMA_VERSION, "applied_at": clock_now})
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # meta in the main file, for good

    create_atomically(path, build)


